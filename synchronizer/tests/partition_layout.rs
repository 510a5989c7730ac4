//! The partition layout against a real broker + registry (located by KAFKA_BROKERS and
//! SCHEMA_REGISTRY_URL, as in `against_cluster.rs`; ignored by a plain `cargo test`).
//!
//! These tests never touch the topology's own topics: they run `apply` and `migrate` through
//! the library on a catalogue of uniquely named scratch topics, so they are safe on a cluster
//! that other tests or a running suite use.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use synchronizer::migrate::{self, EventKind, Migration, MigrationTopic, Step};
use synchronizer::plan::Pinned;
use synchronizer::refusal::PinnedDifference;
use synchronizer::synchronize::{synchronize, Clients, Mode, SyncError};
use test_support::{read_to_end, unique, TIMEOUT};
use topology::registry::RegistryClient;
use topology::values::CASH;
use topology::{
    routing, BankAccountCreatedEvent, BankEvent, Id, MoneyCreditedEvent, MoneyDebitedEvent,
    TopicMessage, TopicSpec, TransferCompletedEvent, TransferFailedEvent, TransferStartedEvent,
    UserAccountCreatedEvent, UserEvent,
};

const HISTORY: &[(&str, &str)] = &[("retention.ms", "-1"), ("cleanup.policy", "delete")];
const TRANSIENT: &[(&str, &str)] = &[("retention.ms", "60000")];

/// A catalogue entry for a scratch topic; leaked, as a catalogue is `'static` data.
fn scratch_spec(
    name: &str,
    partitions: i32,
    co_partitioned: bool,
    config: &'static [(&'static str, &'static str)],
) -> TopicSpec {
    TopicSpec {
        name: Box::leak(name.to_string().into_boxed_str()),
        partitions,
        co_partitioned,
        replication: 1,
        config,
        records: &[],
        readers: &[],
        writers: &[],
    }
}

async fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    config: &[(&str, &str)],
) {
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (key, value) in config {
        topic = topic.set(key, value);
    }
    let results = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topic");
    for result in results {
        result.expect("topic created");
    }
    for _ in 0..100 {
        if partitions_of(admin, name) == Some(partitions as usize) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} not visible with {partitions} partitions");
}

async fn delete_topics(admin: &AdminClient<DefaultClientContext>, names: &[&str]) {
    // Cleanup only: a topic that is already gone is fine.
    let _ = admin.delete_topics(names, &AdminOptions::new()).await;
}

fn partitions_of(admin: &AdminClient<DefaultClientContext>, name: &str) -> Option<usize> {
    let metadata = admin
        .inner()
        .fetch_metadata(Some(name), TIMEOUT)
        .expect("metadata");
    metadata
        .topics()
        .iter()
        .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len())
}

async fn config_value(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    key: &str,
) -> Option<String> {
    let results = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("describe configs");
    results
        .into_iter()
        .flatten()
        .flat_map(|resource| resource.entries)
        .find(|entry| entry.name == key)
        .and_then(|entry| entry.value)
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn apply_refuses_to_change_the_partition_count_of_an_event_topic_and_changes_nothing() {
    let settings = test_support::settings();
    let admin = settings.kafka.admin().expect("admin");
    let registry = RegistryClient::new(&settings.registry).expect("registry client");
    let clients = Clients {
        admin: &admin,
        registry: &registry,
        brokers: &settings.kafka.brokers,
        timeout: TIMEOUT,
    };
    // An event topic as it was before co-partitioning (1 partition), and a 60 s topic keyed
    // by id whose partitions apply may raise, with a config apply would correct.
    let events_name = unique("scratch-events");
    let queries_name = unique("scratch-queries");
    create_topic(&admin, &events_name, 1, HISTORY).await;
    create_topic(&admin, &queries_name, 1, &[("retention.ms", "1234")]).await;
    let events = scratch_spec(&events_name, 12, true, HISTORY);
    let queries = scratch_spec(&queries_name, 3, false, TRANSIENT);
    let catalogue = [events, queries];

    let mut out = Vec::new();
    let refused = synchronize(&catalogue, &clients, Mode::Apply, false, &mut out).await;
    let Err(SyncError::Refused(refusal)) = refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    assert_eq!(
        refusal.differences,
        vec![PinnedDifference {
            topic: events_name.clone(),
            actual: 1,
            wanted: 12,
            why: Pinned {
                keeps_history: true,
                co_partitioned: true
            }
        }]
    );
    let message = refusal.to_string();
    eprintln!("{}\nerror: {message}", String::from_utf8_lossy(&out));
    for needle in [
        "nothing was changed",
        &format!("{events_name}  1 on the cluster, 12 in the topology"),
        "re-homes keys",
        "scripts/infra.sh reset",
        "synchronizer migrate",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    // Nothing was touched, not even what apply could have done.
    assert_eq!(partitions_of(&admin, &events_name), Some(1));
    assert_eq!(partitions_of(&admin, &queries_name), Some(1));
    assert_eq!(
        config_value(&admin, &queries_name, "retention.ms")
            .await
            .as_deref(),
        Some("1234")
    );

    // plan reports the same and succeeds.
    let mut out = Vec::new();
    let planned = synchronize(&catalogue, &clients, Mode::Plan, false, &mut out).await;
    assert!(planned.is_ok(), "{planned:?}");
    let report = String::from_utf8_lossy(&out);
    assert!(
        report.contains(&format!(
            "! {events_name} has 1 partitions, the topology wants 12 (event history kept forever, co-partitioned)"
        )),
        "{report}"
    );
    assert!(report.contains("`synchronizer apply` refuses"), "{report}");

    // Without the event topic, the 60 s topic is raised and its config corrected as before.
    let [_, queries] = catalogue;
    let applied = synchronize(
        std::slice::from_ref(&queries),
        &clients,
        Mode::Apply,
        false,
        &mut Vec::new(),
    )
    .await;
    assert!(applied.is_ok(), "{applied:?}");
    assert_eq!(partitions_of(&admin, &queries_name), Some(3));
    assert_eq!(
        config_value(&admin, &queries_name, "retention.ms")
            .await
            .as_deref(),
        Some("60000")
    );
    assert_eq!(partitions_of(&admin, &events_name), Some(1));

    delete_topics(&admin, &[&events_name, &queries_name]).await;
}

/// Registers the schemas of the event topics (what `apply` registers), so the test can encode.
async fn register_event_schemas(registry: &RegistryClient) {
    for name in [UserEvent::TOPIC, BankEvent::TOPIC] {
        let topic = topology::catalogue::topic(name).expect("event topic");
        for (subject, record) in topic.subjects() {
            registry
                .register(&subject, record.schema)
                .await
                .expect("register");
        }
    }
}

/// Writes `records` (key, payload) to partition 0 of `topic` in one transaction.
async fn write_transaction(
    producer: &FutureProducer,
    topic: &str,
    records: &[(String, Vec<u8>)],
    commit: bool,
) {
    producer.begin_transaction().expect("begin");
    for (key, payload) in records {
        producer
            .send(
                FutureRecord::to(topic)
                    .partition(0)
                    .key(key)
                    .payload(payload),
                TIMEOUT,
            )
            .await
            .map_err(|(e, _)| e)
            .expect("sent");
    }
    if commit {
        producer.commit_transaction(TIMEOUT).expect("commit");
    } else {
        producer.abort_transaction(TIMEOUT).expect("abort");
    }
}

/// The history the old layout held, in order, with the key each record must get.
struct History {
    users: Vec<(String, Vec<u8>)>,
    bank: Vec<(String, Vec<u8>)>,
}

async fn sample_history(codec: &topology::codec::Codec) -> History {
    let alice = "NL66OPEN0000000001";
    let bob = "NL66OPEN0000000002";
    let outside = "NL20INGB0001234567";
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let event = UserEvent::from(UserAccountCreatedEvent {
            username: name.into(),
            password: "hash".into(),
        });
        users.push((
            name.to_string(),
            codec.encode(&event).await.expect("encode"),
        ));
    }
    let (transfer, deposit, failed) = (Id::random(), Id::random(), Id::random());
    let started = |id, from: &str, to: &str| {
        BankEvent::from(TransferStartedEvent {
            id,
            token: "token".into(),
            amount: 500,
            from: from.into(),
            to: to.into(),
            description: "test".into(),
            username: "alice".into(),
            at_millis: None,
            token_hash: None,
        })
    };
    let events: Vec<(&str, BankEvent)> = vec![
        (
            alice,
            BankEvent::from(BankAccountCreatedEvent {
                iban: alice.into(),
                token: "t".into(),
                username: "alice".into(),
                token_hash: None,
                token_nonce: None,
            }),
        ),
        (
            bob,
            BankEvent::from(BankAccountCreatedEvent {
                iban: bob.into(),
                token: "t".into(),
                username: "bob".into(),
                token_hash: None,
                token_nonce: None,
            }),
        ),
        (bob, started(deposit, CASH, bob)),
        (
            bob,
            BankEvent::from(MoneyCreditedEvent {
                iban: bob.into(),
                amount: 500,
                id: deposit,
                transfer_from: Some(CASH.into()),
                transfer_description: None,
            }),
        ),
        (bob, BankEvent::from(TransferCompletedEvent { id: deposit })),
        (bob, started(transfer, bob, alice)),
        (
            bob,
            BankEvent::from(MoneyDebitedEvent {
                iban: bob.into(),
                amount: 500,
                id: transfer,
            }),
        ),
        (
            alice,
            BankEvent::from(MoneyCreditedEvent {
                iban: alice.into(),
                amount: 500,
                id: transfer,
                transfer_from: Some(bob.into()),
                transfer_description: None,
            }),
        ),
        (
            bob,
            BankEvent::from(TransferCompletedEvent { id: transfer }),
        ),
        (alice, started(failed, alice, outside)),
        (
            alice,
            BankEvent::from(TransferFailedEvent {
                id: failed,
                reason: "insufficient funds".into(),
            }),
        ),
    ];
    let mut bank = Vec::new();
    for (key, event) in events {
        bank.push((key.to_string(), codec.encode(&event).await.expect("encode")));
    }
    History { users, bank }
}

/// Checks that `topic` holds exactly `history`, each record under its key in the partition
/// the routing gives it, every key's records in their original order.
async fn assert_rekeyed(topic: &str, partitions: i32, history: &[(String, Vec<u8>)]) {
    let messages: Vec<OwnedMessage> = read_to_end(topic, Duration::from_secs(60)).await;
    assert_eq!(messages.len(), history.len(), "{topic}: every record, once");
    let mut by_key: BTreeMap<String, Vec<(i32, i64, Vec<u8>)>> = BTreeMap::new();
    for message in &messages {
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        assert_eq!(
            message.partition(),
            routing::partition_for(&key, partitions),
            "{topic}: {key} in its routed partition"
        );
        by_key.entry(key).or_default().push((
            message.partition(),
            message.offset(),
            message.payload().unwrap_or_default().to_vec(),
        ));
    }
    let mut expected: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (key, payload) in history {
        expected
            .entry(key.clone())
            .or_default()
            .push(payload.clone());
    }
    for (key, mut found) in by_key {
        found.sort_by_key(|(_, offset, _)| *offset);
        let payloads: Vec<Vec<u8>> = found.into_iter().map(|(_, _, p)| p).collect();
        assert_eq!(
            Some(&payloads),
            expected.get(&key),
            "{topic}: {key}'s records byte for byte, in order"
        );
    }
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn migrate_moves_the_history_to_the_co_partitioned_layout_without_losing_an_event() {
    let settings = test_support::settings();
    let admin = settings.kafka.admin().expect("admin");
    let registry = RegistryClient::new(&settings.registry).expect("registry client");
    let codec = test_support::codec();
    register_event_schemas(&registry).await;
    let clients = Clients {
        admin: &admin,
        registry: &registry,
        brokers: &settings.kafka.brokers,
        timeout: TIMEOUT,
    };
    let prefix = unique("scratch-migrate");
    let users_name = format!("{prefix}-user_events");
    let bank_name = format!("{prefix}-bank_events");
    let commands_name = format!("{prefix}-bank_commands");
    let wanted = 4;
    // The old layout: events on one partition, commands on more than the shared count.
    create_topic(&admin, &users_name, 1, HISTORY).await;
    create_topic(&admin, &bank_name, 1, HISTORY).await;
    create_topic(&admin, &commands_name, 6, TRANSIENT).await;

    let history = sample_history(&codec).await;
    let producer = settings
        .kafka
        .transactional_producer(&unique("migrate-test"), DefaultClientContext)
        .expect("producer");
    producer
        .init_transactions(TIMEOUT)
        .expect("init transactions");
    // Old keys (the transfer id, say) do not matter: migrate computes new ones.
    let old_keys = |records: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
        records
            .iter()
            .map(|(_, payload)| (Id::random().to_uuid_string(), payload.clone()))
            .collect()
    };
    write_transaction(&producer, &users_name, &old_keys(&history.users), true).await;
    let (first, rest) = history.bank.split_at(5);
    write_transaction(&producer, &bank_name, &old_keys(first), true).await;
    // An aborted transaction is not history and must not come back.
    write_transaction(&producer, &bank_name, &old_keys(&history.bank[..2]), false).await;
    write_transaction(&producer, &bank_name, &old_keys(rest), true).await;
    write_transaction(&producer, &commands_name, &old_keys(&history.users), true).await;

    let catalogue = [
        scratch_spec(&users_name, wanted, true, HISTORY),
        scratch_spec(&bank_name, wanted, true, HISTORY),
        scratch_spec(&commands_name, wanted, true, TRANSIENT),
    ];
    let kinds = [Some(EventKind::User), Some(EventKind::Bank), None];
    let topics: Vec<MigrationTopic> = catalogue
        .iter()
        .zip(kinds)
        .map(|(spec, kind)| MigrationTopic { spec, kind })
        .collect();
    let idle_group = unique("idle-group");
    let groups = [idle_group.clone()];
    let migration = Migration {
        clients: &clients,
        kafka: &settings.kafka,
        codec: &codec,
        groups: &groups,
    };

    // apply refuses all three; migrate moves them.
    let refused = synchronize(&catalogue, &clients, Mode::Apply, false, &mut Vec::new()).await;
    assert!(matches!(&refused, Err(SyncError::Refused(r)) if r.differences.len() == 3));
    let mut out = Vec::new();
    let steps = migrate::migrate(&topics, &migration, &mut out).await;
    eprintln!("{}", String::from_utf8_lossy(&out));
    let steps = steps.expect("migrated");
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(steps.iter().any(
        |s| matches!(s, Step::MoveHistory { topic, from: 1, to: 4, .. } if *topic == bank_name)
    ));
    assert!(steps
        .iter()
        .any(|s| matches!(s, Step::Recreate { topic, from: 6, to: 4 } if *topic == commands_name)));

    for name in [&users_name, &bank_name, &commands_name] {
        assert_eq!(partitions_of(&admin, name), Some(wanted as usize), "{name}");
    }
    assert_rekeyed(&users_name, wanted, &history.users).await;
    assert_rekeyed(&bank_name, wanted, &history.bank).await;
    assert!(read_to_end(&commands_name, Duration::from_secs(30))
        .await
        .is_empty());
    let bank_backup = migrate::backup_name(&bank_name);
    assert_eq!(partitions_of(&admin, &bank_backup), Some(1));
    assert_eq!(
        read_to_end(&bank_backup, Duration::from_secs(30))
            .await
            .len(),
        history.bank.len()
    );
    let ok = synchronize(&catalogue, &clients, Mode::Apply, false, &mut Vec::new()).await;
    assert!(ok.is_ok(), "apply accepts the new layout: {ok:?}");

    // Run again: recognised as done, nothing copied twice.
    let mut out = Vec::new();
    let again = migrate::migrate(&topics, &migration, &mut out).await;
    let report = String::from_utf8_lossy(&out).into_owned();
    assert!(again.is_ok(), "{again:?}");
    assert!(report.contains("already migrated"), "{report}");
    assert_rekeyed(&bank_name, wanted, &history.bank).await;

    // Interrupted after the original was deleted: the backup finishes the job.
    delete_topics(&admin, &[&bank_name]).await;
    for _ in 0..100 {
        if partitions_of(&admin, &bank_name).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = migrate::migrate(&topics, &migration, &mut Vec::new()).await;
    assert!(
        matches!(&resumed, Ok(steps) if steps.iter().any(|s| matches!(s, Step::ResumeFromBackup { topic_exists: false, .. }))),
        "{resumed:?}"
    );
    assert_rekeyed(&bank_name, wanted, &history.bank).await;

    // A consumer group with a member blocks it, before anything changes.
    let busy_group = unique("busy-group");
    let member: StreamConsumer = settings.kafka.consumer(&busy_group).expect("consumer");
    member
        .subscribe(&[commands_name.as_str()])
        .expect("subscribe");
    for _ in 0..100 {
        let _ = tokio::time::timeout(Duration::from_millis(100), member.recv()).await;
        if member.assignment().map(|a| a.count() > 0).unwrap_or(false) {
            break;
        }
    }
    let busy = [busy_group.clone()];
    let blocked = migrate::migrate(
        &topics,
        &Migration {
            groups: &busy,
            ..migration
        },
        &mut Vec::new(),
    )
    .await;
    let message = blocked
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(message.contains("refusing to migrate"), "{blocked:?}");
    assert!(message.contains(&busy_group), "{message}");
    drop(member);

    let all: BTreeSet<String> = [
        users_name.clone(),
        bank_name.clone(),
        commands_name.clone(),
        migrate::backup_name(&users_name),
        bank_backup,
    ]
    .into_iter()
    .collect();
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    delete_topics(&admin, &names).await;
}
