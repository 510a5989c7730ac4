//! Writing to and reading from the shared cluster.

use std::time::{Duration, Instant};

use rdkafka::consumer::StreamConsumer;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use topology::codec::Codec;
use topology::{replay, TopicMessage};

use crate::{codec, settings, TIMEOUT};

/// The topics the command handler consumes (its answers from other instances included).
pub const COMMAND_TOPICS: [&str; 4] = [
    "user_commands",
    "bank_commands",
    "transfer_commands",
    "transfer_command_feedback",
];

/// Writes records the way the services do: Avro through the registry, idempotent producer.
pub struct Sender {
    producer: FutureProducer,
    codec: Codec,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    pub fn new() -> Self {
        Self {
            producer: settings().kafka.producer().expect("producer"),
            codec: codec(),
        }
    }

    /// The codec it encodes with, also good for decoding the answers.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Encodes `message` and writes it on its topic under `key`.
    pub async fn send<M: TopicMessage>(&self, key: &str, message: &M) {
        let payload = self.codec.encode(message).await.expect("encode");
        self.send_raw(M::TOPIC, key, &payload).await;
    }

    /// Writes `payload` as it is, e.g. bytes a service must skip as undecodable.
    pub async fn send_raw(&self, topic: &str, key: &str, payload: &[u8]) {
        self.producer
            .send(FutureRecord::to(topic).key(key).payload(payload), TIMEOUT)
            .await
            .map_err(|(e, _)| e)
            .expect("sent");
    }
}

/// A consumer of `topics` from their current end: it sees only what is written after this
/// returns (e.g. the answers to requests sent afterwards), not what earlier tests left there.
pub fn consumer_at_end(topics: &[&str]) -> StreamConsumer {
    let consumer = settings().kafka.replay_consumer(None).expect("consumer");
    replay::assign_at_end(&consumer, topics, TIMEOUT).expect("assign at the end");
    consumer
}

/// Commits `group`'s offsets at the current end of `topics`, so a service starting with that
/// group skips what earlier tests left there (harmless to handle again, but slow).
pub fn start_group_at_end(group: &str, topics: &[&str]) {
    replay::commit_group_at_end(&settings().kafka, group, topics, TIMEOUT)
        .expect("commit the start offsets");
}

/// Every committed record of `topic` from the beginning up to its end at the time of the
/// call (`read_committed`); fails the test when that takes longer than `within`.
pub async fn read_to_end(topic: &str, within: Duration) -> Vec<OwnedMessage> {
    let consumer = settings().kafka.replay_consumer(None).expect("consumer");
    let mut catch_up = replay::start(&consumer, &[topic], TIMEOUT).expect("replay");
    let mut messages = Vec::new();
    let deadline = Instant::now() + within;
    while !catch_up.is_caught_up() {
        assert!(
            Instant::now() < deadline,
            "{topic} not read within {within:?}"
        );
        match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            Ok(message) => {
                let message = message.expect("message");
                catch_up.observe(message.topic(), message.partition(), message.offset() + 1);
                messages.push(message.detach());
            }
            Err(_) => {
                // A topic may end with transaction markers or aborted records, which are never
                // delivered: only the consumer's position shows that they were passed.
                let positions = replay::positions(&consumer).expect("positions");
                catch_up.observe_all(&positions);
            }
        }
    }
    messages
}
