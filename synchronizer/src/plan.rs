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

impl Change {
    /// Whether `apply` acts on this change (the rest are only reported).
    pub fn is_applicable(&self) -> bool {
        !matches!(
            self,
            Change::TooManyPartitions { .. }
                | Change::ReplicationDiffers { .. }
                | Change::UnknownTopic { .. }
        )
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
        if observed.partitions < topic.partitions {
            changes.push(Change::AddPartitions {
                name: topic.name.to_string(),
                from: observed.partitions,
                to: topic.partitions,
            });
        } else if observed.partitions > topic.partitions {
            changes.push(Change::TooManyPartitions {
                name: topic.name.to_string(),
                actual: observed.partitions,
                wanted: topic.partitions,
            });
        }
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

    #[test]
    fn raises_partitions_but_never_lowers_them() {
        let (mut cluster, registry) = observed_exactly(1);
        if let Some(t) = cluster.topics.get_mut("bank_commands") {
            t.partitions = 10;
        }
        if let Some(t) = cluster.topics.get_mut("bank_events") {
            t.partitions = 4;
        }
        let changes = plan(TOPICS, &cluster, &registry, false);
        assert!(changes.contains(&Change::AddPartitions {
            name: "bank_commands".into(),
            from: 10,
            to: 24
        }));
        assert!(changes.contains(&Change::TooManyPartitions {
            name: "bank_events".into(),
            actual: 4,
            wanted: 1
        }));
        assert!(changes.iter().filter(|c| c.is_applicable()).count() == 1);
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
