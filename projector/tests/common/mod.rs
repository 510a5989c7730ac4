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
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde_json::Value;
use topology::codec::Codec;
use topology::replay;
use topology::topic_names::{
    BANK_EVENTS, BANK_QUERIES_FEEDBACK, TRANSACTION_EVENTS, USER_EVENTS, USER_QUERIES_FEEDBACK,
};
use topology::{
    BankEvent, BankQuery, BankQueryFeedback, Id, Identified, Settings, TopicMessage,
    TransactionEvent, TransactionHappenedEvent, UserEvent, UserQuery, UserQueryFeedback,
};

pub const TIMEOUT: Duration = Duration::from_secs(10);

pub fn settings() -> Settings {
    Settings::from_env()
}

pub fn codec() -> Codec {
    Codec::new(&settings().registry).expect("codec")
}

/// A suffix unique to this test run, for names on the shared cluster.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Id::random().to_uuid_string())
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// The projector binary as a child process, killed when dropped.
pub struct Projector {
    child: Child,
    pub health_port: u16,
    pub log: PathBuf,
}

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

impl Projector {
    pub fn start(ids: &ProjectorIds, name: &str) -> Self {
        Self::start_with(ids, name, &[])
    }

    /// With extra environment, e.g. `KAFKA_*` client settings.
    pub fn start_with(ids: &ProjectorIds, name: &str, env: &[(&str, &str)]) -> Self {
        let health_port = free_port();
        let log = std::env::temp_dir().join(format!("{name}-{health_port}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_projector"))
            .env("PROJECTOR_HEALTH_PORT", health_port.to_string())
            .env("PROJECTOR_HEALTH_HOST", "127.0.0.1")
            .env("PROJECTOR_GROUP", &ids.group)
            .env("PROJECTOR_QUERY_GROUP", &ids.query_group)
            .env("PROJECTOR_TRANSACTIONAL_ID", &ids.transactional_id)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("start the projector binary");
        eprintln!(
            "projector {name} on health port {health_port}, log {}",
            log.display()
        );
        Self {
            child,
            health_port,
            log,
        }
    }

    /// GET /health: (status code, JSON body), or None while nothing listens.
    pub async fn health(&self) -> Option<(u16, Value)> {
        let url = format!("http://127.0.0.1:{}/health", self.health_port);
        let response = reqwest::get(url).await.ok()?;
        let code = response.status().as_u16();
        Some((code, response.json().await.ok()?))
    }

    pub async fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        let mut seen_catching_up = false;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                panic!("projector exited with {status}; log:\n{}", self.log_text());
            }
            match self.health().await {
                Some((200, body)) => {
                    assert_eq!(body["status"], "ready");
                    return;
                }
                Some((503, body)) => {
                    assert_eq!(body["status"], "catching_up");
                    if !seen_catching_up {
                        eprintln!("health: 503 {body}");
                        seen_catching_up = true;
                    }
                }
                Some((code, body)) => panic!("unexpected health answer {code} {body}"),
                None => {}
            }
            assert!(
                Instant::now() < deadline,
                "projector not ready within {within:?}; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("child status").is_none()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "projector did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Projector {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes events in one Kafka transaction, as the command handler does: the topics then end
/// with a commit marker, which the projector's catch-up must step over.
pub struct EventWriter {
    producer: FutureProducer,
    codec: Codec,
}

impl EventWriter {
    pub fn new() -> Self {
        let producer = settings()
            .kafka
            .transactional_producer(&unique("projector-test-writer"))
            .expect("transactional producer");
        producer
            .init_transactions(TIMEOUT)
            .expect("init transactions");
        Self {
            producer,
            codec: codec(),
        }
    }

    pub async fn write(&self, users: &[UserEvent], bank: &[BankEvent]) {
        self.producer.begin_transaction().expect("begin");
        let mut deliveries = Vec::new();
        for event in users {
            let payload = self.codec.encode(event).await.expect("encode");
            deliveries.push(self.send(USER_EVENTS, "user", payload));
        }
        for event in bank {
            let payload = self.codec.encode(event).await.expect("encode");
            deliveries.push(self.send(BANK_EVENTS, "bank", payload));
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

    fn send(&self, topic: &str, key: &str, payload: Vec<u8>) -> rdkafka::producer::DeliveryFuture {
        self.producer
            .send_result(FutureRecord::to(topic).key(key).payload(&payload))
            .map_err(|(e, _)| e)
            .expect("enqueue")
    }
}

/// Asks queries on the query topics and waits for the answers with their ids.
pub struct QueryClient {
    producer: FutureProducer,
    codec: Codec,
    user_feedback: StreamConsumer,
    bank_feedback: StreamConsumer,
}

/// A feedback topic read from its current end: answers to queries sent afterwards all arrive.
fn feedback_consumer(topic: &str) -> StreamConsumer {
    let consumer = settings().kafka.replay_consumer(None).expect("consumer");
    replay::assign_at_end(&consumer, &[topic], TIMEOUT).expect("assign at the end");
    consumer
}

/// The answer to one query: Ok(JSON result) or Err(reason).
pub type Answer = Result<Value, String>;

impl QueryClient {
    pub fn new() -> Self {
        Self {
            producer: settings().kafka.producer().expect("producer"),
            codec: codec(),
            user_feedback: feedback_consumer(USER_QUERIES_FEEDBACK),
            bank_feedback: feedback_consumer(BANK_QUERIES_FEEDBACK),
        }
    }

    pub async fn send_raw(&self, topic: &str, key: &str, payload: &[u8]) {
        self.producer
            .send(FutureRecord::to(topic).key(key).payload(payload), TIMEOUT)
            .await
            .map_err(|(e, _)| e)
            .expect("sent");
    }

    async fn send<M: TopicMessage>(&self, id: Id, query: &M) {
        let payload = self.codec.encode(query).await.expect("encode query");
        self.send_raw(M::TOPIC, &id.to_uuid_string(), &payload)
            .await;
    }

    pub async fn user(&self, id: Id, query: UserQuery) -> Answer {
        assert_eq!(query.id(), id);
        self.send(id, &query).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let message = tokio::time::timeout_at(deadline.into(), self.user_feedback.recv())
                .await
                .expect("an answer within 30 s")
                .expect("feedback message");
            if message.key() != Some(id.to_uuid_string().as_bytes()) {
                continue;
            }
            let feedback: UserQueryFeedback = self
                .codec
                .decode(message.payload())
                .await
                .expect("decode feedback");
            return match feedback {
                UserQueryFeedback::QuerySucceeded(s) => {
                    assert_eq!(s.id, id);
                    Ok(serde_json::from_str(&s.query_result).expect("JSON result"))
                }
                UserQueryFeedback::QueryFailed(f) => {
                    assert_eq!(f.id, id);
                    Err(f.reason)
                }
            };
        }
    }

    pub async fn bank(&self, query: BankQuery) -> Answer {
        let id = query.id();
        self.send(id, &query).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let message = tokio::time::timeout_at(deadline.into(), self.bank_feedback.recv())
                .await
                .expect("an answer within 30 s")
                .expect("feedback message");
            if message.key() != Some(id.to_uuid_string().as_bytes()) {
                continue;
            }
            let feedback: BankQueryFeedback = self
                .codec
                .decode(message.payload())
                .await
                .expect("decode feedback");
            return match feedback {
                BankQueryFeedback::QuerySucceeded(s) => {
                    assert_eq!(s.id, id);
                    Ok(serde_json::from_str(&s.query_result).expect("JSON result"))
                }
                BankQueryFeedback::QueryFailed(f) => {
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
    let consumer = settings().kafka.replay_consumer(None).expect("consumer");
    let mut catch_up = replay::start(&consumer, &[TRANSACTION_EVENTS], TIMEOUT).expect("replay");
    let codec = codec();
    let mut events = Vec::new();
    let mut counts = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !catch_up.is_caught_up() {
        assert!(
            Instant::now() < deadline,
            "transaction_events not read within 60 s"
        );
        match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            Ok(message) => {
                let message = message.expect("message");
                catch_up.observe(message.topic(), message.partition(), message.offset() + 1);
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
            Err(_) => {
                let positions = replay::positions(&consumer).expect("positions");
                catch_up.observe_all(&positions);
            }
        }
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
