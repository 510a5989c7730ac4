//! Writing one batch's records and consumed offsets in one Kafka transaction.
//!
//! Either all of a batch is visible to read_committed readers — events, feedback, saga
//! commands and the group's committed offsets — or none is. A restart therefore resumes
//! exactly after the last committed batch, with a state rebuilt from exactly the events of the
//! committed batches.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::TopicPartitionList;
use topology::codec::{Codec, CodecError};
use topology::{KafkaSettings, TopicMessage};

use crate::handling::Output;

/// `init_transactions` may wait until the broker aborted a previous instance's open
/// transaction.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Abortable failures (e.g. a broker restart) are retried with the same records; after that
/// many attempts the process exits and its restart retries from the committed state.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("creating the transactional producer: {0}")]
    Client(KafkaError),
    #[error("init_transactions for transactional id {transactional_id}: {source}")]
    Init {
        transactional_id: String,
        source: KafkaError,
    },
    #[error("encoding a record: {0}")]
    Encode(Box<CodecError>),
    #[error(
        "fenced: a newer command-handler instance with the same transactional id took over ({0})"
    )]
    Fenced(KafkaError),
    #[error("the transactional producer failed fatally: {0}")]
    Fatal(KafkaError),
    #[error("the consumer has no group metadata, so offsets cannot join the transaction")]
    NoGroupMetadata,
    #[error("transaction failed {attempts} times, last: {last}")]
    GaveUp { attempts: u32, last: KafkaError },
}

/// One encoded record.
pub struct Record {
    topic: &'static str,
    key: String,
    payload: Vec<u8>,
}

pub struct Writer {
    producer: FutureProducer,
    codec: Arc<Codec>,
}

impl Writer {
    /// Creates the producer and calls `init_transactions`, which fences every older producer
    /// with this transactional id and aborts the transaction it may have left open. Must come
    /// before anything is read: only then is the history final.
    pub fn start(
        settings: &KafkaSettings,
        transactional_id: &str,
        codec: Arc<Codec>,
    ) -> Result<Self, WriteError> {
        let producer = settings
            .transactional_producer(transactional_id)
            .map_err(WriteError::Client)?;
        tokio::task::block_in_place(|| producer.init_transactions(INIT_TIMEOUT)).map_err(
            |source| WriteError::Init {
                transactional_id: transactional_id.to_string(),
                source,
            },
        )?;
        Ok(Self { producer, codec })
    }

    pub async fn encode(&self, outputs: &[Output]) -> Result<Vec<Record>, CodecError> {
        let mut records = Vec::with_capacity(outputs.len());
        for output in outputs {
            let record = match output {
                Output::UserEvent(key, m) => self.record(key, m).await?,
                Output::BankEvent(key, m) => self.record(key, m).await?,
                Output::UserFeedback(key, m) => self.record(key, m).await?,
                Output::BankFeedback(key, m) => self.record(key, m).await?,
                Output::TransferFeedback(key, m) => self.record(key, m).await?,
                Output::BankCommand(key, m) => self.record(key, m).await?,
                Output::TransferCommand(key, m) => self.record(key, m).await?,
            };
            records.push(record);
        }
        Ok(records)
    }

    async fn record<M: TopicMessage>(&self, key: &str, message: &M) -> Result<Record, CodecError> {
        Ok(Record {
            topic: M::TOPIC,
            key: key.to_string(),
            payload: self.codec.encode(message).await?,
        })
    }

    /// Writes `records` and, if given, commits `offsets` for `consumer`'s group, in one
    /// transaction. Abortable failures are retried; fencing and fatal errors are returned.
    pub async fn write(
        &self,
        records: &[Record],
        offsets: Option<(&TopicPartitionList, &StreamConsumer)>,
    ) -> Result<(), WriteError> {
        let mut attempt = 1;
        loop {
            let error = match self.try_write(records, offsets).await {
                Ok(()) => return Ok(()),
                Err(TryError::NoGroupMetadata) => return Err(WriteError::NoGroupMetadata),
                Err(TryError::Kafka(error)) => error,
            };
            if is_fenced(&error) {
                return Err(WriteError::Fenced(error));
            }
            if is_fatal(&error) {
                return Err(WriteError::Fatal(error));
            }
            tracing::warn!(%error, attempt, "transaction failed; aborting it");
            tokio::task::block_in_place(|| self.producer.abort_transaction(Timeout::Never))
                .map_err(|abort| {
                    if is_fenced(&abort) {
                        WriteError::Fenced(abort)
                    } else {
                        WriteError::Fatal(abort)
                    }
                })?;
            if attempt >= MAX_ATTEMPTS {
                return Err(WriteError::GaveUp {
                    attempts: attempt,
                    last: error,
                });
            }
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            attempt += 1;
        }
    }

    async fn try_write(
        &self,
        records: &[Record],
        offsets: Option<(&TopicPartitionList, &StreamConsumer)>,
    ) -> Result<(), TryError> {
        tokio::task::block_in_place(|| self.producer.begin_transaction())?;
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            let future_record = FutureRecord::to(record.topic)
                .key(&record.key)
                .payload(&record.payload);
            let delivery = self
                .producer
                .send_result(future_record)
                .map_err(|(error, _record)| error)?;
            deliveries.push(delivery);
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _message))) => return Err(error.into()),
                Err(_canceled) => return Err(KafkaError::Canceled.into()),
            }
        }
        if let Some((offsets, consumer)) = offsets {
            // Fetched per attempt: a rebalance changes the generation it carries.
            let metadata = consumer.group_metadata().ok_or(TryError::NoGroupMetadata)?;
            tokio::task::block_in_place(|| {
                // Timeout::Never: librdkafka then bounds the call by the transaction timeout.
                self.producer
                    .send_offsets_to_transaction(offsets, &metadata, Timeout::Never)
            })?;
        }
        tokio::task::block_in_place(|| self.producer.commit_transaction(Timeout::Never))?;
        Ok(())
    }
}

impl From<CodecError> for WriteError {
    fn from(error: CodecError) -> Self {
        WriteError::Encode(Box::new(error))
    }
}

enum TryError {
    Kafka(KafkaError),
    NoGroupMetadata,
}

impl From<KafkaError> for TryError {
    fn from(error: KafkaError) -> Self {
        TryError::Kafka(error)
    }
}

/// Another producer with our transactional id exists: a newer instance took over.
pub fn is_fenced(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::Fenced
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
        )
    )
}

/// Only a new producer (a restart) can go on.
fn is_fatal(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(error) => error.is_fatal(),
        _ => false,
    }
}
