//! Helpers for the projector's integration tests against a real broker + registry.
//!
//! The tests need the topology applied (topics + subjects). `scripts/test.sh` runs
//! `target/debug/synchronizer apply` before the integration tests; by hand:
//! `eval "$(scripts/infra.sh env)" && cargo run -p synchronizer -- apply`.
//!
//! The cluster is shared (other tests, other services), so every test uses unique usernames,
//! IBANs, consumer groups and transactional ids, and asserts only on its own data.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde_json::Value;
use topology::codec::Codec;
use topology::routing::TransferHomes;
use topology::topic_names::{
    BANK_EVENTS, BANK_QUERIES_FEEDBACK, TRANSACTION_EVENTS, USER_EVENTS, USER_QUERIES_FEEDBACK,
};
use topology::{
    BankEvent, BankQuery, BankQueryFeedback, Id, Identified, QueryFailed, QuerySucceeded,
    TopicMessage, TransactionEvent, TransactionHappenedEvent, UserEvent, UserQuery,
    UserQueryFeedback,
};

pub use test_support::{codec, settings, unique, Sender, ServiceProcess, TIMEOUT};

/// The ids that make a projector instance: the same ids again mean "the same service, restarted".
#[derive(Clone)]
pub struct ProjectorIds {
    pub group: String,
    pub query_group: String,
    pub transactional_id: String,
}

impl ProjectorIds {
    pub fn unique() -> Self {
        Self {
            group: unique("projector-test"),
            query_group: unique("projector-test-queries"),
            transactional_id: unique("projector-test-tx"),
        }
    }
}

/// The projector binary with `ids` and the extra environment `env` (e.g. `KAFKA_*` client
/// settings), as a child process killed when dropped; its log is `<temp dir>/<name>-<port>.log`.
pub fn start_projector(ids: &ProjectorIds, name: &str, env: &[(&str, &str)]) -> ServiceProcess {
    let state_dir = test_support::state_dir();
    let own: [(&str, &str); 4] = [
        ("PROJECTOR_GROUP", &ids.group),
        ("PROJECTOR_QUERY_GROUP", &ids.query_group),
        ("PROJECTOR_TRANSACTIONAL_ID", &ids.transactional_id),
        ("PROJECTOR_STATE_DIR", state_dir.to_str().unwrap_or("/tmp")),
    ];
    ServiceProcess::start(
        name,
        env!("CARGO_BIN_EXE_projector"),
        ("PROJECTOR_HEALTH_PORT", "PROJECTOR_HEALTH_HOST"),
        own.iter().chain(env).copied(),
    )
}

/// Writes events in one Kafka transaction, as the command handler does: the topics then end
/// with a commit marker, which the projector's catch-up must step over. Events are keyed as
/// the command handler keys them (`topology::routing`), so they spread over the partitions
/// and the projector reads them in whatever interleaving Kafka delivers.
pub struct EventWriter {
    producer: FutureProducer,
    codec: Codec,
    /// Transfer id → its home IBAN, the key of its completed / failed events.
    homes: Mutex<TransferHomes>,
}

impl EventWriter {
    pub fn new() -> Self {
        let producer = settings()
            .kafka
            .transactional_producer(&unique("projector-test-writer"), DefaultClientContext)
            .expect("transactional producer");
        producer
            .init_transactions(TIMEOUT)
            .expect("init transactions");
        Self {
            producer,
            codec: codec(),
            homes: Mutex::new(TransferHomes::default()),
        }
    }

    pub async fn write(&self, users: &[UserEvent], bank: &[BankEvent]) {
        self.producer.begin_transaction().expect("begin");
        let mut deliveries = Vec::new();
        for event in users {
            let key = topology::routing::user_event_key(event).to_string();
            let payload = self.codec.encode(event).await.expect("encode");
            deliveries.push(self.send(USER_EVENTS, &key, payload));
        }
        for event in bank {
            let key = self.key_of(event);
            let payload = self.codec.encode(event).await.expect("encode");
            deliveries.push(self.send(BANK_EVENTS, &key, payload));
        }
        for delivery in deliveries {
            delivery
                .await
                .expect("delivery")
                .map_err(|(e, _)| e)
                .expect("delivered");
        }
        self.producer.commit_transaction(TIMEOUT).expect("commit");
    }

    /// The key the command handler writes `event` under: account and money events by their
    /// IBAN, a transfer's own events by its home.
    fn key_of(&self, event: &BankEvent) -> String {
        let mut homes = self.homes.lock().expect("homes lock");
        homes.key_next(event)
    }

    fn send(&self, topic: &str, key: &str, payload: Vec<u8>) -> rdkafka::producer::DeliveryFuture {
        self.producer
            .send_result(FutureRecord::to(topic).key(key).payload(&payload))
            .map_err(|(e, _)| e)
            .expect("enqueue")
    }
}

/// Asks queries on the query topics and waits for the answers with their ids.
pub struct QueryClient {
    sender: Sender,
    user_feedback: StreamConsumer,
    bank_feedback: StreamConsumer,
}

/// The answer to one query: Ok(JSON result) or Err(reason).
pub type Answer = Result<Value, String>;

/// The two query feedback topics carry the same two records.
trait QueryFeedback: TopicMessage {
    fn into_result(self) -> Result<QuerySucceeded, QueryFailed>;
}

impl QueryFeedback for UserQueryFeedback {
    fn into_result(self) -> Result<QuerySucceeded, QueryFailed> {
        match self {
            UserQueryFeedback::QuerySucceeded(s) => Ok(s),
            UserQueryFeedback::QueryFailed(f) => Err(f),
        }
    }
}

impl QueryFeedback for BankQueryFeedback {
    fn into_result(self) -> Result<QuerySucceeded, QueryFailed> {
        match self {
            BankQueryFeedback::QuerySucceeded(s) => Ok(s),
            BankQueryFeedback::QueryFailed(f) => Err(f),
        }
    }
}

impl QueryClient {
    pub fn new() -> Self {
        // Read from their current end: answers to queries sent afterwards all arrive.
        Self {
            sender: Sender::new(),
            user_feedback: test_support::consumer_at_end(&[USER_QUERIES_FEEDBACK]),
            bank_feedback: test_support::consumer_at_end(&[BANK_QUERIES_FEEDBACK]),
        }
    }

    pub async fn send_raw(&self, topic: &str, key: &str, payload: &[u8]) {
        self.sender.send_raw(topic, key, payload).await;
    }

    pub async fn user(&self, id: Id, query: UserQuery) -> Answer {
        assert_eq!(query.id(), id);
        self.ask::<_, UserQueryFeedback>(&query, &self.user_feedback)
            .await
    }

    pub async fn bank(&self, query: impl Into<BankQuery>) -> Answer {
        let query: BankQuery = query.into();
        self.ask::<_, BankQueryFeedback>(&query, &self.bank_feedback)
            .await
    }

    /// Sends `query` keyed by its id and waits (30 s at most) for the answer with that key.
    async fn ask<Q: TopicMessage + Identified, F: QueryFeedback>(
        &self,
        query: &Q,
        feedback: &StreamConsumer,
    ) -> Answer {
        let id = query.id();
        self.sender.send(&id.to_uuid_string(), query).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let message = tokio::time::timeout_at(deadline.into(), feedback.recv())
                .await
                .expect("an answer within 30 s")
                .expect("feedback message");
            if message.key() != Some(id.to_uuid_string().as_bytes()) {
                continue;
            }
            let answer: F = self
                .sender
                .codec()
                .decode(message.payload())
                .await
                .expect("decode feedback");
            return match answer.into_result() {
                Ok(s) => {
                    assert_eq!(s.id, id);
                    Ok(serde_json::from_str(&s.query_result).expect("JSON result"))
                }
                Err(f) => {
                    assert_eq!(f.id, id);
                    Err(f.reason)
                }
            };
        }
    }
}

/// Every committed `TransactionHappenedEvent` on `transaction_events` for `ibans`, read from
/// the beginning up to the current end, with how often each (iban, transaction_id) occurs.
pub async fn derived_events(
    ibans: &[String],
) -> (Vec<TransactionHappenedEvent>, HashMap<(String, i32), usize>) {
    let codec = codec();
    let mut events = Vec::new();
    let mut counts = HashMap::new();
    for message in test_support::read_to_end(TRANSACTION_EVENTS, Duration::from_secs(60)).await {
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned());
        let Some(key) = key.filter(|k| ibans.contains(k)) else {
            continue;
        };
        let TransactionEvent::TransactionHappenedEvent(event) = codec
            .decode::<TransactionEvent>(message.payload())
            .await
            .expect("decode a derived event");
        assert_eq!(event.iban, key, "derived events are keyed by IBAN");
        *counts
            .entry((event.iban.clone(), event.transaction_id))
            .or_insert(0) += 1;
        events.push(event);
    }
    (events, counts)
}

/// Waits until `expected` distinct derived events for `ibans` are on `transaction_events`.
pub async fn wait_for_derived(ibans: &[String], expected: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (_, counts) = derived_events(ibans).await;
        if counts.len() >= expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {expected} derived events within {within:?}",
            counts.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The partition count of `bank_events` on the cluster: the `P` of the transaction ids.
pub fn bank_events_partitions() -> i32 {
    let consumer = settings().kafka.replay_consumer(None).expect("a consumer");
    let ends = topology::replay::end_offsets(&consumer, &[BANK_EVENTS], TIMEOUT)
        .expect("the partitions of bank_events");
    i32::try_from(ends.len()).expect("a partition count")
}
