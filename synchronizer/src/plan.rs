//! The difference between the topology and what a cluster + registry hold: a pure function,
//! so every rule is unit-tested without Kafka.

use std::collections::BTreeMap;
use std::fmt;

use topology::catalogue::is_internal_topic;
use topology::TopicSpec;

use crate::observed::{ClusterState, RegistryState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    CreateTopic {
        name: String,
        partitions: i32,
        replication: i32,
        config: BTreeMap<String, String>,
    },
    AddPartitions {
        name: String,
        from: i32,
        to: i32,
    },
    /// The partition count differs on a topic whose records must stay in the partition their
    /// key chose (see [`Pinned`]). Never applied, and it makes `apply` refuse everything.
    PartitionCountPinned {
        name: String,
        actual: i32,
        wanted: i32,
        why: Pinned,
    },
    /// Kafka cannot remove partitions; reported, never applied.
    TooManyPartitions {
        name: String,
        actual: i32,
        wanted: i32,
    },
    /// Changing replication needs a partition reassignment; reported, never applied.
    ReplicationDiffers {
        name: String,
        actual: i32,
        wanted: i32,
    },
    /// Sets the topic's configs to exactly `config`; keys in `reset` fall back to defaults.
    AlterConfig {
        name: String,
        differences: Vec<ConfigDifference>,
        config: BTreeMap<String, String>,
    },
    DeleteTopic {
        name: String,
    },
    /// A topic outside the topology, kept because `--delete-unknown` was not given.
    UnknownTopic {
        name: String,
    },
    RegisterSchema {
        subject: String,
        schema: &'static str,
        first_version: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDifference {
    pub key: String,
    pub actual: Option<String>,
    pub wanted: Option<String>,
}

/// Why a topic's partition count must never change in place: a record's partition is
/// `murmur2(key) % partitions`, so another count sends a key's next records to another
/// partition than its earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinned {
    /// Kept forever (`retention.ms = -1`): the event history. Re-homed keys would split an
    /// account's history over two partitions, and its events would no longer be read in order.
    pub keeps_history: bool,
    /// Shares the `[bank]` partition count with the other per-account topics, so that
    /// partition `p` of each holds the same accounts; one count alone cannot change.
    pub co_partitioned: bool,
}

impl Pinned {
    /// `Some` for a topic whose partition count must not change in place.
    pub fn of(topic: &TopicSpec) -> Option<Pinned> {
        let pinned = Pinned {
            keeps_history: keeps_history(topic),
            co_partitioned: topic.co_partitioned,
        };
        (pinned.keeps_history || pinned.co_partitioned).then_some(pinned)
    }
}

impl fmt::Display for Pinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.keeps_history, self.co_partitioned) {
            (true, true) => f.write_str("event history kept forever, co-partitioned"),
            (true, false) => f.write_str("event history kept forever"),
            (false, _) => f.write_str("co-partitioned"),
        }
    }
}

/// An event topic: its records are kept forever (`retention.ms = -1` in the topology).
pub fn keeps_history(topic: &TopicSpec) -> bool {
    topic
        .config
        .iter()
        .any(|(key, value)| *key == "retention.ms" && *value == "-1")
}

impl Change {
    /// Whether `apply` acts on this change (the rest are only reported).
    pub fn is_applicable(&self) -> bool {
        !matches!(
            self,
            Change::PartitionCountPinned { .. }
                | Change::TooManyPartitions { .. }
                | Change::ReplicationDiffers { .. }
                | Change::UnknownTopic { .. }
        )
    }

    /// Whether this difference makes `apply` refuse to change anything at all.
    pub fn blocks_apply(&self) -> bool {
        matches!(self, Change::PartitionCountPinned { .. })
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::CreateTopic {
                name,
                partitions,
                replication,
                config,
            } => {
                write!(f, "+ create topic {name}: {partitions} partitions, replication {replication}")?;
                for (key, value) in config {
                    write!(f, ", {key}={value}")?;
                }
                Ok(())
            }
            Change::AddPartitions { name, from, to } => {
                write!(f, "~ raise partitions of {name}: {from} -> {to}")
            }
            Change::PartitionCountPinned {
                name,
                actual,
                wanted,
                why,
            } => write!(
                f,
                "! {name} has {actual} partitions, the topology wants {wanted} ({why}): must not change in place, apply refuses"
            ),
            Change::TooManyPartitions {
                name,
                actual,
                wanted,
            } => write!(
                f,
                "! {name} has {actual} partitions, the topology wants {wanted}: Kafka cannot lower them, left as is"
            ),
            Change::ReplicationDiffers {
                name,
                actual,
                wanted,
            } => write!(
                f,
                "! {name} has replication {actual}, the topology wants {wanted}: needs a partition reassignment, left as is"
            ),
            Change::AlterConfig {
                name, differences, ..
            } => {
                write!(f, "~ alter config of {name}:")?;
                for d in differences {
                    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(default)".into());
                    write!(f, " {}: {} -> {};", d.key, show(&d.actual), show(&d.wanted))?;
                }
                Ok(())
            }
            Change::DeleteTopic { name } => write!(f, "- delete topic {name} (not in the topology)"),
            Change::UnknownTopic { name } => write!(
                f,
                "? topic {name} is not in the topology (kept; --delete-unknown deletes it)"
            ),
            Change::RegisterSchema {
                subject,
                first_version,
                ..
            } => {
                if *first_version {
                    write!(f, "+ register schema {subject}")
                } else {
                    write!(f, "~ register new version of schema {subject}")
                }
            }
        }
    }
}

/// Everything that differs, topics first (in topology order), then unknown topics, then schemas.
pub fn plan(
    topics: &[TopicSpec],
    cluster: &ClusterState,
    registry: &RegistryState,
    delete_unknown: bool,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for topic in topics {
        let wanted_config: BTreeMap<String, String> = topic
            .config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let replication = topic.replication_for(cluster.brokers);
        let Some(observed) = cluster.topics.get(topic.name) else {
            changes.push(Change::CreateTopic {
                name: topic.name.to_string(),
                partitions: topic.partitions,
                replication,
                config: wanted_config,
            });
            continue;
        };
        changes.extend(partition_change(topic, observed.partitions));
        if observed.replication != replication {
            changes.push(Change::ReplicationDiffers {
                name: topic.name.to_string(),
                actual: observed.replication,
                wanted: replication,
            });
        }
        let mut differences: Vec<ConfigDifference> = wanted_config
            .iter()
            .filter(|(key, value)| observed.config.get(*key) != Some(value))
            .map(|(key, value)| ConfigDifference {
                key: key.clone(),
                actual: observed.config.get(key).cloned(),
                wanted: Some(value.clone()),
            })
            .collect();
        differences.extend(
            observed
                .overridden
                .iter()
                .filter(|key| !wanted_config.contains_key(*key))
                .map(|key| ConfigDifference {
                    key: key.clone(),
                    actual: observed.config.get(key).cloned(),
                    wanted: None,
                }),
        );
        if !differences.is_empty() {
            changes.push(Change::AlterConfig {
                name: topic.name.to_string(),
                differences,
                config: wanted_config,
            });
        }
    }
    for name in cluster.topics.keys() {
        let owned = topics.iter().any(|t| t.name == name);
        if owned || is_internal_topic(name) {
            continue;
        }
        changes.push(if delete_unknown {
            Change::DeleteTopic { name: name.clone() }
        } else {
            Change::UnknownTopic { name: name.clone() }
        });
    }
    for topic in topics {
        for (subject, record) in topic.subjects() {
            let latest = registry.get(&subject).cloned().flatten();
            if latest
                .as_deref()
                .is_some_and(|s| same_schema(s, record.schema))
            {
                continue;
            }
            changes.push(Change::RegisterSchema {
                first_version: latest.is_none(),
                subject,
                schema: record.schema,
            });
        }
    }
    changes
}

/// What to do about the partition count of an existing topic.
///
/// Only a topic that is neither kept forever nor co-partitioned is raised in place: queries,
/// command and query feedback keyed by their own id, and `transaction_events` (keyed by IBAN,
/// read whole by every subscriber). After a raise a key's new records may land in another
/// partition than its earlier ones, which for these topics touches at most the records in
/// flight at that moment: answers are matched to requests by id, never by partition, no
/// consumer rebuilds state from them, and nothing stays longer than 60 s.
pub fn partition_change(topic: &TopicSpec, actual: i32) -> Option<Change> {
    let name = topic.name.to_string();
    let wanted = topic.partitions;
    if actual == wanted {
        return None;
    }
    if let Some(why) = Pinned::of(topic) {
        return Some(Change::PartitionCountPinned {
            name,
            actual,
            wanted,
            why,
        });
    }
    Some(if actual < wanted {
        Change::AddPartitions {
            name,
            from: actual,
            to: wanted,
        }
    } else {
        Change::TooManyPartitions {
            name,
            actual,
            wanted,
        }
    })
}

/// Equal in Avro's parsing canonical form: formatting and attribute order do not matter.
fn same_schema(registered: &str, wanted: &str) -> bool {
    match (
        apache_avro::Schema::parse_str(registered),
        apache_avro::Schema::parse_str(wanted),
    ) {
        (Ok(a), Ok(b)) => a.canonical_form() == b.canonical_form(),
        _ => registered == wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::ObservedTopic;
    use topology::TOPICS;

    fn observed_exactly(brokers: usize) -> (ClusterState, RegistryState) {
        let mut cluster = ClusterState {
            brokers,
            ..ClusterState::default()
        };
        let mut registry = RegistryState::new();
        for topic in TOPICS {
            let config: BTreeMap<String, String> = topic
                .config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([("segment.bytes".to_string(), "1073741824".to_string())])
                .collect();
            cluster.topics.insert(
                topic.name.to_string(),
                ObservedTopic {
                    partitions: topic.partitions,
                    replication: topic.replication_for(brokers),
                    overridden: topic.config.iter().map(|(k, _)| k.to_string()).collect(),
                    config,
                },
            );
            for (subject, record) in topic.subjects() {
                registry.insert(subject, Some(record.schema.to_string()));
            }
        }
        (cluster, registry)
    }

    #[test]
    fn empty_cluster_needs_every_topic_and_subject() {
        let changes = plan(
            TOPICS,
            &ClusterState {
                brokers: 1,
                ..Default::default()
            },
            &RegistryState::new(),
            false,
        );
        let creates: Vec<_> = changes
            .iter()
            .filter_map(|c| match c {
                Change::CreateTopic {
                    name, replication, ..
                } => Some((name.as_str(), *replication)),
                _ => None,
            })
            .collect();
        assert_eq!(creates.len(), TOPICS.len());
        assert!(creates.iter().all(|(_, replication)| *replication == 1));
        let subjects = TOPICS.iter().map(|t| t.records.len()).sum::<usize>();
        let registrations = changes
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Change::RegisterSchema {
                        first_version: true,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(registrations, subjects);
    }

    #[test]
    fn matching_cluster_needs_nothing() {
        for brokers in [1, 3, 5] {
            let (cluster, registry) = observed_exactly(brokers);
            assert_eq!(plan(TOPICS, &cluster, &registry, true), vec![]);
        }
    }

    #[test]
    fn replication_is_capped_by_the_brokers() {
        let (cluster, _) = observed_exactly(3);
        assert!(cluster.topics.values().all(|t| t.replication == 3));
        let (cluster, _) = observed_exactly(2);
        assert!(cluster.topics.values().all(|t| t.replication == 2));
    }

    fn spec(name: &'static str, co_partitioned: bool, retention: &'static str) -> TopicSpec {
        let config: &'static [(&'static str, &'static str)] = match retention {
            "-1" => &[("retention.ms", "-1")],
            _ => &[("retention.ms", "60000")],
        };
        TopicSpec {
            name,
            partitions: 12,
            co_partitioned,
            replication: 1,
            config,
            records: &[],
            readers: &[],
            writers: &[],
        }
    }

    #[test]
    fn raises_partitions_of_id_keyed_topics_but_never_lowers_them() {
        let (mut cluster, registry) = observed_exactly(1);
        if let Some(t) = cluster.topics.get_mut("user_queries") {
            t.partitions = 10;
        }
        if let Some(t) = cluster.topics.get_mut("transaction_events") {
            t.partitions = 30;
        }
        let changes = plan(TOPICS, &cluster, &registry, false);
        assert_eq!(
            changes,
            vec![
                Change::TooManyPartitions {
                    name: "transaction_events".into(),
                    actual: 30,
                    wanted: 24
                },
                Change::AddPartitions {
                    name: "user_queries".into(),
                    from: 10,
                    to: 24
                },
            ]
        );
        assert_eq!(changes.iter().filter(|c| c.is_applicable()).count(), 1);
        assert!(!changes.iter().any(Change::blocks_apply));
    }

    #[test]
    fn event_topics_keep_their_partition_count_in_either_direction() {
        let (mut cluster, registry) = observed_exactly(1);
        if let Some(t) = cluster.topics.get_mut("user_events") {
            t.partitions = 1;
        }
        if let Some(t) = cluster.topics.get_mut("bank_events") {
            t.partitions = 30;
        }
        let changes = plan(TOPICS, &cluster, &registry, false);
        let both = Pinned {
            keeps_history: true,
            co_partitioned: true,
        };
        assert_eq!(
            changes,
            vec![
                Change::PartitionCountPinned {
                    name: "bank_events".into(),
                    actual: 30,
                    wanted: topology::BANK_PARTITIONS,
                    why: both
                },
                Change::PartitionCountPinned {
                    name: "user_events".into(),
                    actual: 1,
                    wanted: topology::BANK_PARTITIONS,
                    why: both
                },
            ]
        );
        assert!(changes
            .iter()
            .all(|c| c.blocks_apply() && !c.is_applicable()));
        assert!(changes[1].to_string().contains(
            "! user_events has 1 partitions, the topology wants 12 (event history kept forever, co-partitioned): must not change in place, apply refuses"
        ));
    }

    #[test]
    fn co_partitioned_command_topics_keep_their_count_too() {
        let (mut cluster, registry) = observed_exactly(1);
        for (name, partitions) in [("bank_commands", 24), ("transfer_command_feedback", 6)] {
            if let Some(t) = cluster.topics.get_mut(name) {
                t.partitions = partitions;
            }
        }
        let changes = plan(TOPICS, &cluster, &registry, false);
        let co_partitioned = Pinned {
            keeps_history: false,
            co_partitioned: true,
        };
        assert_eq!(
            changes,
            vec![
                Change::PartitionCountPinned {
                    name: "bank_commands".into(),
                    actual: 24,
                    wanted: 12,
                    why: co_partitioned
                },
                Change::PartitionCountPinned {
                    name: "transfer_command_feedback".into(),
                    actual: 6,
                    wanted: 12,
                    why: co_partitioned
                },
            ]
        );
    }

    #[test]
    fn partition_rule_per_kind_of_topic() {
        let history = spec("history", false, "-1");
        let shared = spec("shared", true, "60000");
        let plain = spec("plain", false, "60000");
        assert_eq!(partition_change(&history, 12), None);
        assert_eq!(
            partition_change(&history, 13),
            Some(Change::PartitionCountPinned {
                name: "history".into(),
                actual: 13,
                wanted: 12,
                why: Pinned {
                    keeps_history: true,
                    co_partitioned: false
                }
            })
        );
        assert!(partition_change(&history, 1).is_some_and(|c| c.blocks_apply()));
        assert!(partition_change(&shared, 24).is_some_and(|c| c.blocks_apply()));
        assert_eq!(
            partition_change(&plain, 3),
            Some(Change::AddPartitions {
                name: "plain".into(),
                from: 3,
                to: 12
            })
        );
        assert!(partition_change(&plain, 24).is_some_and(|c| !c.blocks_apply()));
        assert_eq!(Pinned::of(&plain), None);
        assert!(keeps_history(&history) && !keeps_history(&shared));
    }

    #[test]
    fn a_pinned_difference_refuses_the_whole_plan() {
        let (mut cluster, mut registry) = observed_exactly(1);
        if let Some(t) = cluster.topics.get_mut("user_events") {
            t.partitions = 1;
        }
        if let Some(t) = cluster.topics.get_mut("user_queries") {
            t.partitions = 1;
        }
        registry.clear();
        let changes = plan(TOPICS, &cluster, &registry, false);
        assert!(changes
            .iter()
            .any(|c| matches!(c, Change::AddPartitions { .. })));
        assert!(changes
            .iter()
            .any(|c| matches!(c, Change::RegisterSchema { .. })));
        let refusal = crate::refusal::Refusal::of(&changes, topology::BANK_PARTITIONS);
        assert_eq!(
            refusal.as_ref().map(|r| r.topics().collect::<Vec<_>>()),
            Some(vec!["user_events"])
        );
    }

    #[test]
    fn reports_changed_and_extra_configs() {
        let (mut cluster, registry) = observed_exactly(1);
        if let Some(topic) = cluster.topics.get_mut("user_commands") {
            topic.config.insert("retention.ms".into(), "1000".into());
            topic.config.insert("max.message.bytes".into(), "5".into());
            topic.overridden.push("max.message.bytes".into());
        }
        let changes = plan(TOPICS, &cluster, &registry, false);
        let [Change::AlterConfig {
            name,
            differences,
            config,
        }] = changes.as_slice()
        else {
            panic!("expected one config change, got {changes:?}");
        };
        assert_eq!(name, "user_commands");
        assert_eq!(
            config.get("retention.ms").map(String::as_str),
            Some("60000")
        );
        assert_eq!(
            differences,
            &vec![
                ConfigDifference {
                    key: "retention.ms".into(),
                    actual: Some("1000".into()),
                    wanted: Some("60000".into())
                },
                ConfigDifference {
                    key: "max.message.bytes".into(),
                    actual: Some("5".into()),
                    wanted: None
                },
            ]
        );
        assert!(changes[0]
            .to_string()
            .contains("retention.ms: 1000 -> 60000"));
    }

    #[test]
    fn unknown_topics_are_deleted_only_on_request_and_internal_ones_never() {
        let (mut cluster, registry) = observed_exactly(1);
        for name in [
            "old_topic",
            "__consumer_offsets",
            "_schemas",
            "_apicurio-kafkasql-journal",
            "__transaction_state",
        ] {
            cluster.topics.insert(name.into(), ObservedTopic::default());
        }
        assert_eq!(
            plan(TOPICS, &cluster, &registry, false),
            vec![Change::UnknownTopic {
                name: "old_topic".into()
            }]
        );
        assert_eq!(
            plan(TOPICS, &cluster, &registry, true),
            vec![Change::DeleteTopic {
                name: "old_topic".into()
            }]
        );
    }

    #[test]
    fn schemas_compare_in_canonical_form() {
        let (cluster, mut registry) = observed_exactly(1);
        let subject = "user_events-nl.openweb.data.UserAccountCreatedEvent".to_string();
        let reformatted = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(
                <topology::UserAccountCreatedEvent as topology::AvroRecord>::SCHEMA,
            )
            .unwrap_or_default(),
        )
        .unwrap_or_default();
        registry.insert(subject.clone(), Some(reformatted));
        assert_eq!(plan(TOPICS, &cluster, &registry, false), vec![]);
        registry.insert(
            subject.clone(),
            Some(r#"{"type":"record","name":"UserAccountCreatedEvent","namespace":"nl.openweb.data","fields":[{"name":"username","type":"string"}]}"#.into()),
        );
        let changes = plan(TOPICS, &cluster, &registry, false);
        assert!(
            matches!(changes.as_slice(), [Change::RegisterSchema { subject: s, first_version: false, .. }] if *s == subject)
        );
    }
}
