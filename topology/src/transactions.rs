//! Writing records and consumed offsets in one Kafka transaction, for every service that does
//! (the command handler's batches, the projector's derived events).
//!
//! Either all of a transaction is visible to read_committed readers — its records and the
//! group's committed offsets — or none is. The offsets join the transaction with the consumer
//! group's metadata (KIP-447): the group coordinator refuses them once the group has moved to a
//! newer generation, so an instance that lost its partitions (rebalance, long pause, network
//! cut) can never commit for them, and its transaction is aborted. A retry reuses the metadata
//! it was given; retrying with a newer generation could commit offsets of partitions that are
//! now someone else's. Every record is acknowledged before the offsets are sent, so whatever a
//! transaction wrote precedes the moment the coordinator accepted its offsets.
//!
//! librdkafka's transactional calls block, so they run in `block_in_place`: the caller must be
//! on a multi-threaded tokio runtime.

use std::time::Duration;

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::TopicPartitionList;

use crate::KafkaSettings;

/// `init_transactions` may wait until the broker aborted a previous instance's open
/// transaction.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Abortable failures (e.g. a broker restart) are retried with the same records that many
/// times; then the caller decides (rebuild, restart).
const MAX_ATTEMPTS: u32 = 5;
/// A commit that failed with a retriable error (e.g. it timed out) is retried, never aborted:
/// it may have been decided already.
const MAX_COMMIT_ATTEMPTS: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    #[error("creating the transactional producer: {0}")]
    Client(KafkaError),
    #[error("init_transactions for transactional id {transactional_id}: {source}")]
    Init {
        transactional_id: String,
        source: KafkaError,
    },
    #[error("fenced: a newer instance with the same transactional id took over ({0})")]
    Fenced(KafkaError),
    #[error("the transactional producer failed fatally: {0}")]
    Fatal(KafkaError),
    /// The group moved on without this instance: its offsets were refused and the transaction
    /// aborted. Not an error of the process; what it owns must be found out again.
    #[error(
        "the consumer group no longer accepts this instance's offsets ({0}); transaction aborted"
    )]
    LostOwnership(KafkaError),
    #[error("transaction failed {attempts} times, last: {last}")]
    GaveUp { attempts: u32, last: KafkaError },
}

/// One encoded record.
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: &'static str,
    pub key: String,
    pub payload: Vec<u8>,
}

pub struct TransactionalWriter {
    producer: FutureProducer,
}

impl TransactionalWriter {
    /// Creates the producer and calls `init_transactions`, which fences every older producer
    /// with this transactional id and aborts the transaction it may have left open. Must come
    /// before anything is read that such a transaction could still change.
    pub fn start(
        settings: &KafkaSettings,
        transactional_id: &str,
    ) -> Result<Self, TransactionError> {
        let producer = settings
            .transactional_producer(transactional_id)
            .map_err(TransactionError::Client)?;
        tokio::task::block_in_place(|| producer.init_transactions(INIT_TIMEOUT)).map_err(
            |source| TransactionError::Init {
                transactional_id: transactional_id.to_string(),
                source,
            },
        )?;
        Ok(Self { producer })
    }

    /// Writes `records` and commits `offsets` for the group of `group`, in one transaction.
    /// Abortable failures are retried; a refusal by the group, fencing and fatal errors are
    /// returned.
    pub async fn write(
        &self,
        records: &[Record],
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        let mut attempt = 1;
        loop {
            let error = match self.try_write(records, offsets, group).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            if is_fenced(&error) {
                return Err(TransactionError::Fenced(error));
            }
            if is_fatal(&error) {
                return Err(TransactionError::Fatal(error));
            }
            let lost = is_group_refusal(&error);
            tracing::warn!(%error, attempt, "transaction failed; aborting it");
            tokio::task::block_in_place(|| self.producer.abort_transaction(Timeout::Never))
                .map_err(|abort| {
                    if is_fenced(&abort) {
                        TransactionError::Fenced(abort)
                    } else {
                        TransactionError::Fatal(abort)
                    }
                })?;
            if lost {
                return Err(TransactionError::LostOwnership(error));
            }
            if attempt >= MAX_ATTEMPTS {
                return Err(TransactionError::GaveUp {
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
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), KafkaError> {
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
                Ok(Err((error, _message))) => return Err(error),
                Err(_canceled) => return Err(KafkaError::Canceled),
            }
        }
        if offsets.count() > 0 {
            tokio::task::block_in_place(|| {
                // Timeout::Never: librdkafka then bounds the call by the transaction timeout.
                self.producer
                    .send_offsets_to_transaction(offsets, group, Timeout::Never)
            })?;
        }
        self.commit().await
    }

    /// Commits, retrying a commit whose outcome is unknown (e.g. timed out): aborting it could
    /// contradict a commit the coordinator already decided.
    async fn commit(&self) -> Result<(), KafkaError> {
        let mut attempt = 1;
        loop {
            match tokio::task::block_in_place(|| self.producer.commit_transaction(Timeout::Never)) {
                Ok(()) => return Ok(()),
                Err(KafkaError::Transaction(error))
                    if error.is_retriable() && attempt < MAX_COMMIT_ATTEMPTS =>
                {
                    tracing::warn!(%error, attempt, "commit not confirmed; retrying it");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(error) => return Err(error),
            }
        }
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

/// The group coordinator refused the offsets: this instance's generation is over (a rebalance
/// it missed, a long pause, a replaced static member).
fn is_group_refusal(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::FencedInstanceId
                | RDKafkaErrorCode::RebalanceInProgress
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
