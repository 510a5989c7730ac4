//! Reading a whole topic in order and writing records to chosen partitions, byte for byte.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use rdkafka::consumer::StreamConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use topology::replay::{self, CatchUp, ReplayError};
use topology::KafkaSettings;

/// Records per partition.
pub type Counts = BTreeMap<i32, u64>;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("reading {topic}: {source}")]
    Replay {
        topic: String,
        source: Box<ReplayError>,
    },
    #[error("reading {topic}: {source}")]
    Consume { topic: String, source: KafkaError },
    #[error(
        "reading {topic}: no progress for {waited:?}, still behind at {behind} (an open \
         transaction of a producer still running, or one not yet aborted by the broker?)"
    )]
    Stalled {
        topic: String,
        waited: Duration,
        behind: String,
    },
    #[error("creating a producer: {0}")]
    Producer(KafkaError),
    #[error("writing to {topic}: {source}")]
    Produce { topic: String, source: KafkaError },
}

/// How long a read may see no progress before it is reported as stuck. A transaction left
/// open by a killed producer blocks `read_committed` readers until the broker aborts it
/// (the producer's `transaction.timeout.ms`, 60 s by default), so this must be longer.
const STALL_TIMEOUT: Duration = Duration::from_secs(150);
const POLL: Duration = Duration::from_millis(300);

/// Every committed record of a topic, each partition in offset order, up to the high
/// watermarks seen when opened (records written later are not part of the copy).
pub struct TopicReader {
    topic: String,
    consumer: StreamConsumer,
    catch_up: CatchUp,
    ends: BTreeMap<i32, i64>,
    partitions: Vec<i32>,
    last_progress: Instant,
}

impl TopicReader {
    pub fn open(
        settings: &KafkaSettings,
        topic: &str,
        timeout: Duration,
    ) -> Result<TopicReader, CopyError> {
        let replay_error = |source| CopyError::Replay {
            topic: topic.to_string(),
            source: Box::new(source),
        };
        let consumer = settings
            .replay_consumer(None)
            .map_err(|e| replay_error(ReplayError::Client(e)))?;
        let partitions: Vec<(&str, i32)> = replay::end_offsets(&consumer, &[topic], timeout)
            .map_err(replay_error)?
            .iter()
            .map(|end| (topic, end.partition))
            .collect();
        // High watermarks, not the last stable offsets: a transaction still open is waited for,
        // so its records are copied if it commits.
        let ends = replay::high_watermarks(settings, &partitions, timeout).map_err(replay_error)?;
        replay::assign_from_beginning(&consumer, &ends).map_err(replay_error)?;
        Ok(TopicReader {
            topic: topic.to_string(),
            catch_up: CatchUp::new(&ends),
            partitions: ends.iter().map(|e| e.partition).collect(),
            ends: ends.iter().map(|e| (e.partition, e.end)).collect(),
            consumer,
            last_progress: Instant::now(),
        })
    }

    /// The partition ids of the topic.
    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }

    /// The next record, or `None` once every partition has reached its end.
    pub async fn next(&mut self) -> Result<Option<OwnedMessage>, CopyError> {
        loop {
            if self.catch_up.is_caught_up() {
                return Ok(None);
            }
            match tokio::time::timeout(POLL, self.consumer.recv()).await {
                Ok(Ok(message)) => {
                    self.last_progress = Instant::now();
                    let partition = message.partition();
                    let offset = message.offset();
                    self.catch_up.observe(&self.topic, partition, offset + 1);
                    let end = self.ends.get(&partition).copied().unwrap_or(0);
                    if offset < end {
                        return Ok(Some(message.detach()));
                    }
                }
                Ok(Err(source)) => {
                    return Err(CopyError::Consume {
                        topic: self.topic.clone(),
                        source,
                    })
                }
                Err(_quiet) => self.observe_positions()?,
            }
        }
    }

    /// Transaction markers take offsets but are never delivered: only the consumer position
    /// passes a trailing one.
    fn observe_positions(&mut self) -> Result<(), CopyError> {
        let positions = replay::positions(&self.consumer).map_err(|source| CopyError::Replay {
            topic: self.topic.clone(),
            source: Box::new(source),
        })?;
        let before: Vec<_> = self.catch_up.behind().map(|(_, p, _)| p).collect();
        self.catch_up.observe_all(&positions);
        let after = self.catch_up.behind().count();
        if after < before.len() {
            self.last_progress = Instant::now();
        } else if self.last_progress.elapsed() > STALL_TIMEOUT {
            let behind: Vec<String> = self
                .catch_up
                .behind()
                .map(|(topic, partition, end)| format!("{topic}/{partition} (end {end})"))
                .collect();
            return Err(CopyError::Stalled {
                topic: self.topic.clone(),
                waited: self.last_progress.elapsed(),
                behind: behind.join(", "),
            });
        }
        Ok(())
    }
}

/// Counts the committed records of each partition of `topic`.
pub async fn count_records(
    settings: &KafkaSettings,
    topic: &str,
    timeout: Duration,
) -> Result<Counts, CopyError> {
    let mut reader = TopicReader::open(settings, topic, timeout)?;
    let mut counts: Counts = reader.partitions().iter().map(|p| (*p, 0)).collect();
    while let Some(message) = reader.next().await? {
        *counts.entry(message.partition()).or_default() += 1;
    }
    Ok(counts)
}

/// How many deliveries may be outstanding before the writer waits for them: well below
/// librdkafka's queue (100,000 messages), large enough to keep the broker busy.
const IN_FLIGHT: usize = 5_000;

/// Writes records to explicit partitions of one topic through an idempotent producer:
/// retries neither duplicate nor reorder records, so each partition receives its records
/// exactly once, in the order they were sent.
pub struct Writer {
    topic: String,
    producer: FutureProducer,
    pending: VecDeque<DeliveryFuture>,
    delivered: Counts,
}

/// One record to write: the original bytes, with the key and partition chosen by the caller.
pub struct Outgoing<'a> {
    pub partition: i32,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    /// The original create time, kept so the copy reads as the history did.
    pub timestamp: Option<i64>,
    pub headers: Option<OwnedHeaders>,
}

impl Writer {
    pub fn new(settings: &KafkaSettings, topic: &str) -> Result<Writer, CopyError> {
        Ok(Writer {
            topic: topic.to_string(),
            producer: settings.producer().map_err(CopyError::Producer)?,
            pending: VecDeque::new(),
            delivered: Counts::new(),
        })
    }

    pub async fn send(&mut self, record: Outgoing<'_>) -> Result<(), CopyError> {
        // A copy of the name, as waiting for deliveries below needs `self` mutably.
        let topic = self.topic.clone();
        let mut future_record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&topic).partition(record.partition);
        if let Some(key) = record.key {
            future_record = future_record.key(key);
        }
        if let Some(payload) = record.payload {
            future_record = future_record.payload(payload);
        }
        if let Some(timestamp) = record.timestamp {
            future_record = future_record.timestamp(timestamp);
        }
        if let Some(headers) = record.headers {
            future_record = future_record.headers(headers);
        }
        loop {
            match self.producer.send_result(future_record) {
                Ok(delivery) => {
                    self.pending.push_back(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    future_record = returned;
                    if !self.await_oldest().await? {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                Err((source, _)) => return Err(self.produce_error(source)),
            }
        }
        if self.pending.len() >= IN_FLIGHT {
            while self.await_oldest().await? {}
        }
        Ok(())
    }

    /// Waits for every record sent; returns how many landed in each partition.
    pub async fn finish(mut self) -> Result<Counts, CopyError> {
        while self.await_oldest().await? {}
        Ok(self.delivered)
    }

    /// Waits for the oldest outstanding delivery; `false` when none was outstanding.
    async fn await_oldest(&mut self) -> Result<bool, CopyError> {
        let Some(delivery) = self.pending.pop_front() else {
            return Ok(false);
        };
        match delivery.await {
            Ok(Ok(delivered)) => {
                *self.delivered.entry(delivered.partition).or_default() += 1;
                Ok(true)
            }
            Ok(Err((source, _))) => Err(self.produce_error(source)),
            Err(_canceled) => Err(self.produce_error(KafkaError::Canceled)),
        }
    }

    fn produce_error(&self, source: KafkaError) -> CopyError {
        CopyError::Produce {
            topic: self.topic.clone(),
            source,
        }
    }
}

/// The parts of a read record a copy keeps.
pub fn timestamp_of(message: &OwnedMessage) -> Option<i64> {
    message.timestamp().to_millis()
}

pub fn headers_of(message: &OwnedMessage) -> Option<OwnedHeaders> {
    message.headers().cloned()
}
