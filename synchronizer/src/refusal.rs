//! Why `apply` refuses a plan, in words a person can act on.
//!
//! One difference makes `apply` change nothing at all: a partition count that differs on a topic
//! whose count must never change in place (event history, co-partitioned topics; see
//! [`Pinned`]). Applying the rest (schemas, configs, other topics) first would leave the
//! services running against a half-new layout, so the refusal is all or nothing.

use std::fmt;

use crate::plan::{Change, Pinned};

/// One topic whose partition count differs and must not be changed in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedDifference {
    pub topic: String,
    /// Partitions on the cluster.
    pub actual: i32,
    /// Partitions in the topology.
    pub wanted: i32,
    pub why: Pinned,
}

/// The error `apply` returns instead of touching anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    pub differences: Vec<PinnedDifference>,
    /// The topology's `[bank] partitions`, which every co-partitioned topic shares.
    pub bank_partitions: i32,
}

impl Refusal {
    /// The refusal a plan calls for, if any of its changes blocks `apply`.
    pub fn of(changes: &[Change], bank_partitions: i32) -> Option<Refusal> {
        let differences: Vec<PinnedDifference> = changes
            .iter()
            .filter_map(|change| match change {
                Change::PartitionCountPinned {
                    name,
                    actual,
                    wanted,
                    why,
                } => Some(PinnedDifference {
                    topic: name.clone(),
                    actual: *actual,
                    wanted: *wanted,
                    why: *why,
                }),
                _ => None,
            })
            .collect();
        (!differences.is_empty()).then_some(Refusal {
            differences,
            bank_partitions,
        })
    }

    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.differences.iter().map(|d| d.topic.as_str())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.topics().collect();
        writeln!(
            f,
            "refusing to apply, nothing was changed: the partition count of {} differs from the \
             topology and must never be changed in place:",
            names.join(", ")
        )?;
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
        for d in &self.differences {
            writeln!(
                f,
                "  {:width$}  {} on the cluster, {} in the topology ({})",
                d.topic, d.actual, d.wanted, d.why
            )?;
        }
        writeln!(
            f,
            "why: a record's partition is murmur2(key) % partitions, so another count re-homes \
             keys: an account's (or user's) new events would land in another partition than its \
             history, splitting that history across partitions and losing its order. \
             Co-partitioned topics must also share one count (topology.toml [bank] partitions = \
             {}), so that partition p of each holds the same accounts.",
            self.bank_partitions
        )?;
        writeln!(f, "what to do:")?;
        writeln!(
            f,
            "  - local data you can lose: `scripts/infra.sh reset` (wipes the broker's topics and \
             the registry's schemas), then apply again;"
        )?;
        write!(
            f,
            "  - data to keep: stop the command handler(s) and the projector, then run \
             `synchronizer migrate`: it copies each event topic to <topic>.pre-migration, \
             recreates the topics with the topology's layout, copies every event back re-keyed \
             per account, and applies the rest."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(keeps_history: bool) -> Pinned {
        Pinned {
            keeps_history,
            co_partitioned: true,
        }
    }

    #[test]
    fn only_pinned_differences_refuse() {
        let changes = vec![
            Change::AddPartitions {
                name: "user_queries".into(),
                from: 1,
                to: 24,
            },
            Change::UnknownTopic { name: "old".into() },
        ];
        assert_eq!(Refusal::of(&changes, 12), None);
    }

    #[test]
    fn names_every_topic_with_both_counts_the_reason_and_the_ways_out() {
        let changes = vec![
            Change::PartitionCountPinned {
                name: "user_events".into(),
                actual: 1,
                wanted: 12,
                why: pinned(true),
            },
            Change::PartitionCountPinned {
                name: "bank_commands".into(),
                actual: 24,
                wanted: 12,
                why: pinned(false),
            },
        ];
        let refusal = Refusal::of(&changes, 12).map(|r| r.to_string());
        let text = refusal.as_deref().unwrap_or_default();
        assert!(text.contains("nothing was changed"), "{text}");
        assert!(
            text.contains("of user_events, bank_commands differs"),
            "{text}"
        );
        assert!(
            text.contains(
                "user_events    1 on the cluster, 12 in the topology (event history kept forever, co-partitioned)"
            ),
            "{text}"
        );
        assert!(
            text.contains("bank_commands  24 on the cluster, 12 in the topology (co-partitioned)"),
            "{text}"
        );
        assert!(text.contains("re-homes keys"), "{text}");
        assert!(text.contains("[bank] partitions = 12"), "{text}");
        assert!(text.contains("scripts/infra.sh reset"), "{text}");
        assert!(text.contains("synchronizer migrate"), "{text}");
    }
}
