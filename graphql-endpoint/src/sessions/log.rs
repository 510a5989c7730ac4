//! `session_events`: how every endpoint replica learns that a session ended early.
//!
//! A replica reads the topic from the beginning before it serves (so a session logged out
//! yesterday is not accepted by a replica that restarted today), then follows it. Records are
//! kept longer than any session lives (`retention.ms` of the topic, 7 days, against a 12 h
//! default lifetime), and each names when its sessions would have ended anyway, after which
//! it is forgotten.
//!
//! `logout` answers only once the record is in the log (acks from the in-sync replicas), and
//! applies it on its own replica at once; the others read it within the consumer's fetch wait
//! (a few hundred milliseconds).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;
use tokio::task::JoinHandle;
use topology::codec::Codec;
use topology::replay::{self, CatchUp};
use topology::telemetry::LagReporter;
use topology::topic_names::SESSION_EVENTS;
use topology::{KafkaSettings, SessionEvent};

use super::{millis, Revocations};
use crate::bus::{BusError, ListenError};

/// How long reading the end offsets may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// How often ended sessions that would have ended anyway are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(60);

pub struct SessionLog {
    producer: FutureProducer,
    codec: Arc<Codec>,
    revocations: Arc<Mutex<Revocations>>,
    timeout: Duration,
    follower: JoinHandle<()>,
}

impl SessionLog {
    /// Reads `session_events` up to its current end into `revocations`, then follows it in the
    /// background.
    pub async fn start(
        settings: &KafkaSettings,
        codec: Arc<Codec>,
        producer: FutureProducer,
        revocations: Arc<Mutex<Revocations>>,
        timeout: Duration,
    ) -> Result<Self, ListenError> {
        let topic = SESSION_EVENTS;
        let consumer = settings
            .observed_consumer(&format!("graphql-endpoint-{topic}"), None)
            .map_err(|source| ListenError::Consumer { topic, source })?;
        let (consumer, catch_up) = tokio::task::spawn_blocking(move || {
            let catch_up = replay::start(&consumer, &[topic], METADATA_TIMEOUT);
            (consumer, catch_up)
        })
        .await
        .map_err(|_| ListenError::Cancelled { topic })?;
        let catch_up = catch_up.map_err(|source| ListenError::End { topic, source })?;
        let consumer = catch_up_with(consumer, catch_up, &codec, &revocations).await;
        let follower = tokio::spawn(follow(
            consumer,
            Arc::clone(&codec),
            Arc::clone(&revocations),
        ));
        Ok(Self {
            producer,
            codec,
            revocations,
            timeout,
            follower,
        })
    }

    /// Writes `event` (keyed by `username`) and applies it on this replica. Ok once the log
    /// holds it.
    pub async fn publish(&self, username: &str, event: SessionEvent) -> Result<(), BusError> {
        crate::bus::produce(
            &self.producer,
            &self.codec,
            username,
            &event,
            None,
            self.timeout,
        )
        .await?;
        self.revocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(&event);
        Ok(())
    }
}

impl Drop for SessionLog {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// Applies every record up to the ends `catch_up` waits for.
async fn catch_up_with(
    consumer: StreamConsumer<LagReporter>,
    mut catch_up: CatchUp,
    codec: &Codec,
    revocations: &Mutex<Revocations>,
) -> StreamConsumer<LagReporter> {
    let mut applied = 0usize;
    while !catch_up.is_caught_up() {
        match tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await {
            Ok(Ok(message)) => {
                if let Some(event) = decode(codec, &message).await {
                    lock(revocations).apply(&event);
                    applied += 1;
                }
                catch_up.observe(message.topic(), message.partition(), message.offset() + 1);
            }
            Ok(Err(error)) => tracing::warn!(%error, "reading session_events"),
            // Nothing for a while: the position moves past transaction markers too.
            Err(_idle) => {
                if let Ok(positions) = replay::positions(&consumer) {
                    catch_up.observe_all(&positions);
                }
            }
        }
    }
    lock(revocations).forget_before(millis(SystemTime::now()));
    tracing::info!(applied, "sessions ended early are known");
    consumer
}

async fn follow(
    consumer: StreamConsumer<LagReporter>,
    codec: Arc<Codec>,
    revocations: Arc<Mutex<Revocations>>,
) {
    let mut forget = tokio::time::interval(FORGET_EVERY);
    loop {
        tokio::select! {
            received = consumer.recv() => match received {
                Ok(message) => {
                    if let Some(event) = decode(&codec, &message).await {
                        lock(&revocations).apply(&event);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "reading session_events");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            _ = forget.tick() => lock(&revocations).forget_before(millis(SystemTime::now())),
        }
    }
}

async fn decode<M: Message>(codec: &Codec, message: &M) -> Option<SessionEvent> {
    match codec.decode::<SessionEvent>(message.payload()).await {
        Ok(event) => Some(event),
        Err(error) => {
            tracing::warn!(
                partition = message.partition(),
                offset = message.offset(),
                %error,
                "skipping a session_events record that cannot be decoded"
            );
            None
        }
    }
}

fn lock(revocations: &Mutex<Revocations>) -> std::sync::MutexGuard<'_, Revocations> {
    revocations.lock().unwrap_or_else(PoisonError::into_inner)
}
