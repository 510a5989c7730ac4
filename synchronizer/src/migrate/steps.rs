//! What `migrate` must do to each topic, from what the cluster holds: a pure function, so the
//! decisions (including resuming an interrupted migration) are unit-tested without Kafka.

use std::fmt;

use topology::TopicSpec;

use crate::observed::ClusterState;
use crate::plan::keeps_history;

use super::rekey::EventKind;

/// A topic `migrate` may move, with how to re-key its history.
#[derive(Debug, Clone, Copy)]
pub struct MigrationTopic<'a> {
    pub spec: &'a TopicSpec,
    /// How to compute the key of each record; required for a topic that keeps history.
    pub kind: Option<EventKind>,
}

impl<'a> MigrationTopic<'a> {
    /// The topics of a catalogue, each event topic with the re-keying rule of its records.
    pub fn of_catalogue(topics: &'a [TopicSpec]) -> Vec<MigrationTopic<'a>> {
        topics
            .iter()
            .map(|spec| MigrationTopic {
                spec,
                kind: EventKind::of_topic(spec.name),
            })
            .collect()
    }
}

/// Where the history of `topic` is kept while its layout changes.
pub fn backup_name(topic: &str) -> String {
    format!("{topic}.pre-migration")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Copy the history to the backup (replacing a stale, unverified backup), delete the
    /// topic, create it with `to` partitions and copy the history back, re-keyed.
    MoveHistory {
        topic: String,
        kind: EventKind,
        from: i32,
        to: i32,
        replace_backup: bool,
    },
    /// An earlier migration deleted the topic after verifying the backup: the backup holds the
    /// history. Copy it back, unless the topic already holds all of it (then it is done).
    ResumeFromBackup {
        topic: String,
        kind: EventKind,
        to: i32,
        topic_exists: bool,
    },
    /// A co-partitioned topic that is not kept forever (commands, feedback: 60 s): deleted and
    /// created with `to` partitions. Records still in it are dropped, which is why the
    /// services must be stopped.
    Recreate { topic: String, from: i32, to: i32 },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::MoveHistory {
                topic, from, to, ..
            } => write!(
                f,
                "{topic}: move the history from {from} to {to} partitions, through {}",
                backup_name(topic)
            ),
            Step::ResumeFromBackup { topic, to, .. } => write!(
                f,
                "{topic}: finish an earlier migration to {to} partitions from {}",
                backup_name(topic)
            ),
            Step::Recreate { topic, from, to } => write!(
                f,
                "{topic}: recreate with {to} partitions instead of {from} (transient records are dropped)"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepsError {
    #[error("{topic} keeps its history but migrate has no re-keying rule for its records")]
    NoRekeyRule { topic: String },
}

/// The steps that bring every topic of `topics` to its topology layout, in catalogue order.
/// Topics whose count may change in place, or that are missing (`apply` creates them), are
/// left to `apply`.
pub fn steps(topics: &[MigrationTopic], cluster: &ClusterState) -> Result<Vec<Step>, StepsError> {
    let mut steps = Vec::new();
    for topic in topics {
        let spec = topic.spec;
        let name = spec.name.to_string();
        let wanted = spec.partitions;
        let actual = cluster.topics.get(spec.name).map(|t| t.partitions);
        if keeps_history(spec) {
            let backup_exists = cluster.topics.contains_key(&backup_name(spec.name));
            let needs_move = actual.is_some_and(|a| a != wanted);
            if !needs_move && !backup_exists {
                continue;
            }
            let kind = topic.kind.ok_or_else(|| StepsError::NoRekeyRule {
                topic: name.clone(),
            })?;
            steps.push(match actual {
                Some(from) if from != wanted => Step::MoveHistory {
                    topic: name,
                    kind,
                    from,
                    to: wanted,
                    // The original still has its old layout, so it was never deleted: it is
                    // the complete history, and any backup is from an interrupted copy.
                    replace_backup: backup_exists,
                },
                _ => Step::ResumeFromBackup {
                    topic: name,
                    kind,
                    to: wanted,
                    topic_exists: actual.is_some(),
                },
            });
        } else if spec.co_partitioned {
            if let Some(from) = actual.filter(|a| *a != wanted) {
                steps.push(Step::Recreate {
                    topic: name,
                    from,
                    to: wanted,
                });
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::ObservedTopic;
    use topology::TOPICS;

    fn cluster(topics: &[(&str, i32)]) -> ClusterState {
        ClusterState {
            brokers: 1,
            topics: topics
                .iter()
                .map(|(name, partitions)| {
                    (
                        name.to_string(),
                        ObservedTopic {
                            partitions: *partitions,
                            ..ObservedTopic::default()
                        },
                    )
                })
                .collect(),
        }
    }

    /// Every topology topic with its topology count, then `changes` applied.
    fn topology_cluster(changes: &[(&str, i32)]) -> ClusterState {
        let mut all: Vec<(&str, i32)> = TOPICS.iter().map(|t| (t.name, t.partitions)).collect();
        for (name, partitions) in changes {
            match all.iter_mut().find(|(n, _)| n == name) {
                Some(entry) => entry.1 = *partitions,
                None => all.push((name, *partitions)),
            }
        }
        cluster(&all)
    }

    fn topology_steps(cluster: &ClusterState) -> Vec<Step> {
        steps(&MigrationTopic::of_catalogue(TOPICS), cluster).unwrap_or_default()
    }

    #[test]
    fn a_cluster_in_the_topology_layout_needs_nothing() {
        assert_eq!(topology_steps(&topology_cluster(&[])), vec![]);
        assert_eq!(
            topology_steps(&cluster(&[])),
            vec![],
            "apply creates missing topics"
        );
    }

    /// History moves first, then recreations, each in the order the test lists them.
    fn step_rank(step: &Step) -> (u8, usize) {
        let order = [
            "user_events",
            "bank_events",
            "user_commands",
            "bank_commands",
            "transfer_commands",
            "transfer_command_feedback",
        ];
        let (kind, topic) = match step {
            Step::MoveHistory { topic, .. } => (0, topic),
            Step::ResumeFromBackup { topic, .. } => (1, topic),
            Step::Recreate { topic, .. } => (2, topic),
        };
        (
            kind,
            order.iter().position(|t| t == topic).unwrap_or(usize::MAX),
        )
    }

    #[test]
    fn the_old_layout_moves_both_histories_and_recreates_the_command_topics() {
        let old = topology_cluster(&[
            ("user_events", 1),
            ("bank_events", 1),
            ("user_commands", 24),
            ("bank_commands", 24),
            ("transfer_commands", 24),
            ("transfer_command_feedback", 24),
        ]);
        let mut steps = topology_steps(&old);
        // Catalogue order is by name; what matters here is the step per topic.
        steps.sort_by_key(step_rank);
        let wanted = topology::BANK_PARTITIONS;
        assert_eq!(
            steps,
            vec![
                Step::MoveHistory {
                    topic: "user_events".into(),
                    kind: EventKind::User,
                    from: 1,
                    to: wanted,
                    replace_backup: false
                },
                Step::MoveHistory {
                    topic: "bank_events".into(),
                    kind: EventKind::Bank,
                    from: 1,
                    to: wanted,
                    replace_backup: false
                },
                Step::Recreate {
                    topic: "user_commands".into(),
                    from: 24,
                    to: wanted
                },
                Step::Recreate {
                    topic: "bank_commands".into(),
                    from: 24,
                    to: wanted
                },
                Step::Recreate {
                    topic: "transfer_commands".into(),
                    from: 24,
                    to: wanted
                },
                Step::Recreate {
                    topic: "transfer_command_feedback".into(),
                    from: 24,
                    to: wanted
                },
            ]
        );
    }

    #[test]
    fn topics_that_are_not_pinned_are_left_to_apply() {
        let steps = topology_steps(&topology_cluster(&[("user_queries", 1)]));
        assert_eq!(steps, vec![]);
    }

    #[test]
    fn an_interrupted_migration_resumes_from_what_is_left() {
        let backup = backup_name("bank_events");
        // Died while copying to the backup: the original is intact, the backup is redone.
        let steps = topology_steps(&topology_cluster(&[("bank_events", 1), (&backup, 1)]));
        assert!(matches!(
            steps.as_slice(),
            [Step::MoveHistory {
                replace_backup: true,
                ..
            }]
        ));
        // Died after deleting the original: the backup is the history.
        let mut gone = topology_cluster(&[(&backup, 1)]);
        gone.topics.remove("bank_events");
        assert_eq!(
            topology_steps(&gone),
            vec![Step::ResumeFromBackup {
                topic: "bank_events".into(),
                kind: EventKind::Bank,
                to: topology::BANK_PARTITIONS,
                topic_exists: false
            }]
        );
        // Died while copying back, or finished: decided by counting at run time.
        assert!(matches!(
            topology_steps(&topology_cluster(&[(&backup, 1)])).as_slice(),
            [Step::ResumeFromBackup {
                topic_exists: true,
                ..
            }]
        ));
    }

    #[test]
    fn a_history_topic_without_a_rekeying_rule_is_refused() {
        let spec = TOPICS
            .iter()
            .find(|t| t.name == "bank_events")
            .map(|spec| MigrationTopic { spec, kind: None });
        let topics: Vec<MigrationTopic> = spec.into_iter().collect();
        assert_eq!(
            steps(&topics, &cluster(&[("bank_events", 1)])),
            Err(StepsError::NoRekeyRule {
                topic: "bank_events".into()
            })
        );
    }
}
