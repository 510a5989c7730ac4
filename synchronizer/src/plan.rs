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
mod tests;
