//! Integration tests against a real Kafka broker and schema registry (started by
//! `scripts/test.sh`, located by KAFKA_BROKERS and SCHEMA_REGISTRY_URL). Ignored by a plain
//! `cargo test`; `scripts/test.sh` runs them with `--include-ignored`.
//!
//! The tests share one cluster, so they take a lock: the synchronizer test deletes and recreates
//! the topology's topics.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::Duration;

use apache_avro::schema::Schema;
use apache_avro::types::Value;
use rdkafka::admin::{AdminOptions, AlterConfig, ResourceSpecifier};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use test_support::{unique, TIMEOUT};
use topology::codec::{Codec, CodecError};
use topology::registry::{RegistryClient, RegistryError};
use topology::{Settings, TopicMessage, TOPICS};

static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn synchronizer(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_synchronizer"))
        .args(args)
        .output()
        .expect("the synchronizer binary runs");
    eprintln!(
        "$ synchronizer {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `synchronizer --timeout 2s plan` with `variable` pointing somewhere nothing answers.
fn plan_against_nothing(variable: &str, unreachable: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synchronizer"))
        .args(["--timeout", "2s", "plan"])
        .env(variable, unreachable)
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every topic on the cluster with its partition count.
fn cluster_topics(settings: &Settings) -> Vec<(String, usize)> {
    let admin = settings.kafka.admin().expect("admin client");
    let metadata = admin
        .inner()
        .fetch_metadata(None, TIMEOUT)
        .expect("metadata");
    metadata
        .topics()
        .iter()
        .map(|t| (t.name().to_string(), t.partitions().len()))
        .collect()
}

fn owned_topics(settings: &Settings) -> BTreeSet<String> {
    cluster_topics(settings)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !topology::catalogue::is_internal_topic(name))
        .collect()
}

fn expected_topics() -> BTreeSet<String> {
    TOPICS.iter().map(|t| t.name.to_string()).collect()
}

fn expected_subjects() -> BTreeSet<String> {
    TOPICS
        .iter()
        .flat_map(|t| t.subjects().map(|(subject, _)| subject))
        .collect()
}

async fn delete_topology_topics(settings: &Settings) {
    let admin = settings.kafka.admin().expect("admin client");
    let present: Vec<String> = owned_topics(settings).into_iter().collect();
    if present.is_empty() {
        return;
    }
    let names: Vec<&str> = present.iter().map(String::as_str).collect();
    admin
        .delete_topics(&names, &AdminOptions::new())
        .await
        .expect("delete topics");
    for _ in 0..150 {
        if owned_topics(settings).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("topics were not deleted within 30 s");
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn apply_creates_the_topology_and_a_second_apply_does_nothing() {
    let _cluster = CLUSTER.lock().await;
    let settings = test_support::settings();
    delete_topology_topics(&settings).await;

    let plan = synchronizer(&["plan"]);
    assert!(plan.status.success());
    for topic in TOPICS {
        assert!(
            stdout(&plan).contains(&format!("+ create topic {}:", topic.name)),
            "plan lists {}",
            topic.name
        );
    }

    let apply = synchronizer(&["apply"]);
    assert!(apply.status.success());
    assert_eq!(owned_topics(&settings), expected_topics());
    let cluster_topics = cluster_topics(&settings);
    for topic in TOPICS {
        let partitions = cluster_topics
            .iter()
            .find(|(name, _)| name == topic.name)
            .map(|(_, p)| *p);
        assert_eq!(
            partitions,
            Some(topic.partitions as usize),
            "{}",
            topic.name
        );
    }

    let registry = RegistryClient::new(&settings.registry).expect("registry client");
    let subjects: BTreeSet<String> = registry
        .subjects()
        .await
        .expect("subjects")
        .into_iter()
        .filter(|s| {
            TOPICS
                .iter()
                .any(|t| s.starts_with(&format!("{}-", t.name)))
        })
        .collect();
    assert_eq!(subjects, expected_subjects());
    assert_eq!(subjects.len(), 66);

    let again = synchronizer(&["apply"]);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("nothing to do"),
        "second apply changes nothing"
    );
    let plan = synchronizer(&["plan"]);
    assert!(stdout(&plan).contains("nothing to do"));

    // A config changed by hand shows in the plan, and apply puts it back.
    let admin = settings.kafka.admin().expect("admin");
    let alter =
        AlterConfig::new(ResourceSpecifier::Topic("bank_commands")).set("retention.ms", "1234");
    admin
        .alter_configs([&alter], &AdminOptions::new())
        .await
        .expect("alter config");
    let plan = synchronizer(&["plan"]);
    assert!(plan.status.success());
    assert!(
        stdout(&plan).contains("~ alter config of bank_commands: retention.ms: 1234 -> 60000;"),
        "plan shows the manual change"
    );
    assert!(synchronizer(&["apply"]).status.success());
    assert!(stdout(&synchronizer(&["plan"])).contains("nothing to do"));

    // Unknown topics are kept unless asked.
    let extra = topology::TopicSpec {
        name: "scratch_unknown_topic",
        partitions: 1,
        co_partitioned: false,
        replication: 1,
        config: &[],
        records: &[],
        readers: &[],
        writers: &[],
    };
    let new_topic = rdkafka::admin::NewTopic::new(
        extra.name,
        extra.partitions,
        rdkafka::admin::TopicReplication::Fixed(extra.replication),
    );
    admin
        .create_topics([&new_topic], &AdminOptions::new())
        .await
        .expect("create scratch topic");
    let plan = synchronizer(&["plan"]);
    assert!(stdout(&plan).contains("? topic scratch_unknown_topic is not in the topology"));
    assert!(stdout(&plan).contains("nothing to do"));
    let delete = synchronizer(&["apply", "--delete-unknown"]);
    assert!(delete.status.success());
    assert!(stdout(&delete).contains("- delete topic scratch_unknown_topic"));
    assert_eq!(owned_topics(&settings), expected_topics());

    // The partition count of an event topic never changes in place: with user_events as it
    // was before co-partitioning (1 partition), apply refuses with exit 1, says which topic,
    // both counts, why and what to do, and changes nothing at all (not even a config).
    recreate_topic(&settings, "user_events", 1, &[("retention.ms", "-1")]).await;
    admin
        .alter_configs([&alter], &AdminOptions::new())
        .await
        .expect("alter config");
    let refused = synchronizer(&["apply"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for needle in [
        "error: refusing to apply, nothing was changed".to_string(),
        format!(
            "user_events  1 on the cluster, {} in the topology (event history kept forever, co-partitioned)",
            topology::BANK_PARTITIONS
        ),
        "re-homes keys".to_string(),
        "scripts/infra.sh reset".to_string(),
        "synchronizer migrate".to_string(),
    ] {
        assert!(stderr.contains(&needle), "{needle:?} in {stderr}");
    }
    assert_eq!(partitions(&settings, "user_events"), Some(1));
    let plan = synchronizer(&["plan"]);
    assert!(plan.status.success());
    assert!(stdout(&plan).contains("! user_events has 1 partitions"));
    assert!(stdout(&plan).contains("~ alter config of bank_commands: retention.ms: 1234 -> 60000;"));
    // Recreated in the topology's layout, everything applies again.
    delete_topics(&settings, &["user_events"]).await;
    assert!(synchronizer(&["apply"]).status.success());
    assert!(stdout(&synchronizer(&["plan"])).contains("nothing to do"));
}

fn partitions(settings: &Settings, topic: &str) -> Option<usize> {
    cluster_topics(settings)
        .into_iter()
        .find(|(name, _)| name == topic)
        .map(|(_, partitions)| partitions)
}

async fn delete_topics(settings: &Settings, names: &[&str]) {
    let admin = settings.kafka.admin().expect("admin client");
    admin
        .delete_topics(names, &AdminOptions::new())
        .await
        .expect("delete topics");
    for _ in 0..150 {
        if names.iter().all(|n| partitions(settings, n).is_none()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{names:?} not deleted within 30 s");
}

/// Deletes `name` and creates it again with `partitions` and `config`.
async fn recreate_topic(settings: &Settings, name: &str, partitions: i32, config: &[(&str, &str)]) {
    delete_topics(settings, &[name]).await;
    let mut topic =
        rdkafka::admin::NewTopic::new(name, partitions, rdkafka::admin::TopicReplication::Fixed(1));
    for (key, value) in config {
        topic = topic.set(key, value);
    }
    let admin = settings.kafka.admin().expect("admin client");
    admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topic");
    for _ in 0..100 {
        if self::partitions(settings, name) == Some(partitions as usize) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} not created");
}

#[test]
fn usage_errors_exit_2_and_help_explains() {
    let wrong = synchronizer(&["sideways"]);
    assert_eq!(wrong.status.code(), Some(2));
    let help = synchronizer(&["--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("TopicRecordNameStrategy"));
}

#[test]
fn unreachable_broker_is_one_clear_line_and_exit_1() {
    let output = plan_against_nothing("KAFKA_BROKERS", "127.0.0.1:1");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{stderr}");
    assert!(
        error_lines[0].contains("Kafka at 127.0.0.1:1 is not reachable"),
        "{stderr}"
    );
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn unreachable_registry_is_one_clear_line_and_exit_1() {
    let output = plan_against_nothing("SCHEMA_REGISTRY_URL", "http://127.0.0.1:1/apis/ccompat/v7");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("schema registry at http://127.0.0.1:1/apis/ccompat/v7 is not reachable"),
        "{stderr}"
    );
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn incompatible_schema_change_is_refused_with_subject_and_reason() {
    let settings = test_support::settings();
    let registry = RegistryClient::new(&settings.registry).expect("registry client");
    let subject = unique("scratch");
    let v1 = r#"{"type":"record","name":"Scratch","namespace":"nl.openweb.data","fields":[{"name":"a","type":"string"}]}"#;
    let v2 = r#"{"type":"record","name":"Scratch","namespace":"nl.openweb.data","fields":[{"name":"a","type":"string"},{"name":"b","type":"long"}]}"#;
    registry
        .register(&subject, v1)
        .await
        .expect("first version");
    assert_eq!(
        registry.register(&subject, v1).await.ok(),
        registry.latest(&subject).await.ok().flatten().map(|v| v.id)
    );
    match registry.register(&subject, v2).await {
        Err(RegistryError::Incompatible { subject: s, reason }) => {
            assert_eq!(s, subject);
            assert!(!reason.is_empty());
        }
        other => panic!("expected an incompatibility, got {other:?}"),
    }
}

/// A value of `schema` with every field filled, varied by `seed`.
fn sample(schema: &Schema, seed: i64) -> Value {
    sample_named(schema, seed, &mut Vec::new())
}

/// `named` collects the named types seen so far, as a later field may refer to one by name.
fn sample_named(schema: &Schema, seed: i64, named: &mut Vec<Schema>) -> Value {
    if matches!(schema, Schema::Fixed(_) | Schema::Enum(_)) {
        named.push(schema.clone());
    }
    match schema {
        Schema::Ref { name } => {
            let target = named
                .iter()
                .find(|s| s.name() == Some(name))
                .cloned()
                .unwrap_or_else(|| panic!("{name:?} is used before it is defined"));
            sample_named(&target, seed, named)
        }
        Schema::Record(record) => Value::Record(
            record
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let value = sample_named(&f.schema, seed + i as i64, named);
                    (f.name.clone(), value)
                })
                .collect(),
        ),
        Schema::Null => Value::Null,
        Schema::String => Value::String(format!("value €{seed}")),
        Schema::Long => Value::Long(seed * 1_000_003 - 7),
        Schema::Int => Value::Int(seed as i32),
        Schema::Fixed(fixed) => Value::Fixed(
            fixed.size,
            (0..fixed.size).map(|i| (i as i64 + seed) as u8).collect(),
        ),
        Schema::Enum(e) => {
            let index = seed.unsigned_abs() as usize % e.symbols.len();
            Value::Enum(index as u32, e.symbols[index].clone())
        }
        Schema::Union(union) => {
            let index = seed.unsigned_abs() as usize % union.variants().len();
            Value::Union(
                index as u32,
                Box::new(sample_named(&union.variants()[index], seed, named)),
            )
        }
        other => panic!("no sample for {other:?}"),
    }
}

async fn round_trip_topic<M: TopicMessage + PartialEq + std::fmt::Debug>(
    settings: &Settings,
    codec: &Codec,
) {
    let topic = topology::catalogue::topic(M::TOPIC).expect("topic in catalogue");
    let producer = settings.kafka.producer().expect("producer");
    let consumer = settings
        .kafka
        .consumer(&unique("round-trip"))
        .expect("consumer");
    // Every record of the topic is produced first, then all are read back: one assignment per
    // topic rather than one per record.
    let mut sent = std::collections::HashMap::new();
    let mut starts = std::collections::BTreeMap::new();
    for (seed, full_name) in topic.records.iter().enumerate() {
        let record = topology::catalogue::record(full_name).expect("record");
        let schema = Schema::parse_str(record.schema).expect("schema");
        let message = M::from_avro(full_name, sample(&schema, seed as i64 + 3)).expect("typed");
        let bytes = codec
            .encode(&message)
            .await
            .expect("encode through the registry");
        assert_eq!(bytes[0], 0, "Confluent magic byte");
        let key = topology::Id::random().to_uuid_string();
        let delivery = producer
            .send(
                FutureRecord::to(M::TOPIC).key(&key).payload(&bytes),
                TIMEOUT,
            )
            .await
            .expect("produced");
        let start = starts.entry(delivery.partition).or_insert(delivery.offset);
        *start = (*start).min(delivery.offset);
        sent.insert(key, (full_name, bytes, message));
    }
    let mut assignment = TopicPartitionList::new();
    for (partition, offset) in starts {
        assignment
            .add_partition_offset(M::TOPIC, partition, Offset::Offset(offset))
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    while !sent.is_empty() {
        let received = tokio::time::timeout(Duration::from_secs(20), consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("{} more records within 20 s", sent.len()))
            .expect("consumed");
        // Records of other tests may follow ours on a partition.
        let Some(key) = received.key().and_then(|key| std::str::from_utf8(key).ok()) else {
            continue;
        };
        let Some((full_name, bytes, message)) = sent.remove(key) else {
            continue;
        };
        assert_eq!(
            received.payload(),
            Some(bytes.as_slice()),
            "{full_name}: byte-exact"
        );
        let decoded: M = codec.decode(received.payload()).await.expect("decode");
        assert_eq!(decoded, message, "{full_name}");
    }
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn every_record_round_trips_through_kafka_and_the_registry() {
    let _cluster = CLUSTER.lock().await;
    assert!(synchronizer(&["apply"]).status.success());
    let settings = test_support::settings();
    let codec = test_support::codec();
    use topology::*;
    round_trip_topic::<UserEvent>(&settings, &codec).await;
    round_trip_topic::<BankEvent>(&settings, &codec).await;
    round_trip_topic::<UserCommand>(&settings, &codec).await;
    round_trip_topic::<BankCommand>(&settings, &codec).await;
    round_trip_topic::<TransferCommand>(&settings, &codec).await;
    round_trip_topic::<UserCommandFeedback>(&settings, &codec).await;
    round_trip_topic::<BankCommandFeedback>(&settings, &codec).await;
    round_trip_topic::<TransferCommandFeedback>(&settings, &codec).await;
    round_trip_topic::<UserQuery>(&settings, &codec).await;
    round_trip_topic::<BankQuery>(&settings, &codec).await;
    round_trip_topic::<UserQueryFeedback>(&settings, &codec).await;
    round_trip_topic::<BankQueryFeedback>(&settings, &codec).await;
    round_trip_topic::<TransactionEvent>(&settings, &codec).await;

    // A record read from the wrong topic is refused, not misread.
    let event = BankEvent::from(TransferCompletedEvent { id: Id::random() });
    let bytes = codec.encode(&event).await.expect("encode");
    match codec.decode::<UserEvent>(Some(&bytes)).await {
        Err(CodecError::Shape {
            source: topology::AvroShapeError::NotOnTopic { .. },
            ..
        }) => {}
        other => panic!("expected NotOnTopic, got {other:?}"),
    }
    assert!(matches!(
        codec.decode::<UserEvent>(Some(b"not avro")).await,
        Err(CodecError::Decode { .. })
    ));
}
