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
