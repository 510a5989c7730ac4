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
//! Records that answer someone (a command's feedback) are written after the others, once their
//! offsets are known, with the event positions the transaction wrote in a header (see
//! [`crate::consistency`]): whoever reads the answer can ask to read its effects.
//!
//! librdkafka's transactional calls block, so they run in `block_in_place`: the caller must be
//! on a multi-threaded tokio runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::TopicPartitionList;

use crate::consistency::{Positions, WRITTEN_HEADER};
use crate::KafkaSettings;

mod abandoning;
mod trouble;

use abandoning::{abandonable, room_for_another_producer, Patience, ABANDON_AFTER};
pub use abandoning::{abandoned_producers, exit_if_calls_are_blocked, MAX_ABANDONED};
pub use trouble::{note_client_error, BrokerTrouble};

/// `init_transactions` may wait until the broker aborted a previous instance's open
/// transaction.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Abortable failures (e.g. a broker restart) are retried with the same records that many
/// times; then the caller decides (rebuild, restart).
const MAX_ATTEMPTS: u32 = 5;
/// A commit that failed with a retriable error (e.g. it timed out) is retried, never aborted:
/// it may have been decided already.
const MAX_COMMIT_ATTEMPTS: u32 = 10;
/// The timeout given to librdkafka's blocking transactional calls. A call that times out is
/// handled like any other failure: a commit is retried, anything else aborted and retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
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
    /// A call did not return in time (see `abandoning::ABANDON_AFTER`): the producer is abandoned, still
    /// blocked on its thread, and only a new one can go on.
    #[error("{call} did not return within {after:?}; the producer is abandoned")]
    Stuck { call: &'static str, after: Duration },
    /// Too many abandoned producers are still blocked (see [`MAX_ABANDONED`]): only a restart
    /// frees them.
    #[error("{0} abandoned producers are still blocked in calls that never returned; restart to free them")]
    TooManyAbandoned(usize),
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
    /// The W3C trace context of what caused the record (see [`crate::trace_context`]).
    pub traceparent: Option<String>,
    /// An answer to an asker: written after every other record of its transaction, with the
    /// positions of the transaction's events (and of what it depends on) in a header.
    pub answer: bool,
}

/// Where a committed transaction's records went: (topic, partition) → the offset after the
/// last of them there.
pub type Written = std::collections::BTreeMap<(String, i32), i64>;

pub struct TransactionalWriter {
    producer: Arc<FutureProducer<BrokerTrouble>>,
    /// A call was abandoned: the producer is unusable.
    stuck: AtomicBool,
}

/// Why a transaction did not commit.
enum Failure {
    Kafka(KafkaError),
    Stuck(&'static str, Duration),
}

impl From<KafkaError> for Failure {
    fn from(error: KafkaError) -> Self {
        Failure::Kafka(error)
    }
}

impl TransactionalWriter {
    /// Creates the producer and calls `init_transactions`, which fences every older producer
    /// with this transactional id and aborts the transaction it may have left open. Must come
    /// before anything is read that such a transaction could still change.
    pub fn start(
        settings: &KafkaSettings,
        transactional_id: &str,
    ) -> Result<Self, TransactionError> {
        room_for_another_producer()?;
        let producer = settings
            .transactional_producer(transactional_id, BrokerTrouble)
            .map_err(TransactionError::Client)?;
        tokio::task::block_in_place(|| producer.init_transactions(INIT_TIMEOUT)).map_err(
            |source| TransactionError::Init {
                transactional_id: transactional_id.to_string(),
                source,
            },
        )?;
        Ok(Self {
            producer: Arc::new(producer),
            stuck: AtomicBool::new(false),
        })
    }

    /// Writes `records` and commits `offsets` for the group of `group`, in one transaction.
    /// Abortable failures are retried; a refusal by the group, fencing and fatal errors are
    /// returned.
    ///
    /// A fencing soon after trouble with a broker comes back as [`TransactionError::Fatal`]:
    /// while a broker is lost, librdkafka bumps the producer's epoch itself (for records that
    /// timed out) and can take that bump, or a coordinator that moved, for a newer instance
    /// (librdkafka #3928). A new producer then goes on. Were it a real newer instance, the
    /// two would fence each other's producers for a while, but never commit for the same
    /// partitions: the group's metadata in every transaction still decides who owns them.
    ///
    /// `depends_on`: event positions written by earlier transactions that the answers among
    /// `records` must name too (e.g. a credit decided by another instance).
    pub async fn write(
        &self,
        records: &[Record],
        depends_on: &Positions,
        offsets: &TopicPartitionList,
        group: &Arc<ConsumerGroupMetadata>,
    ) -> Result<Written, TransactionError> {
        let mut attempt = 1;
        loop {
            if self.stuck.load(Ordering::SeqCst) {
                return Err(TransactionError::Stuck {
                    call: "an earlier call",
                    after: ABANDON_AFTER,
                });
            }
            let error = match self.try_write(records, depends_on, offsets, group).await {
                Ok(written) => return Ok(written),
                Err(Failure::Stuck(call, after)) => {
                    return Err(TransactionError::Stuck { call, after })
                }
                Err(Failure::Kafka(error)) => error,
            };
            if is_fenced(&error) {
                return Err(fenced(error));
            }
            if is_fatal(&error) {
                return Err(TransactionError::Fatal(error));
            }
            let lost = is_group_refusal(&error);
            tracing::warn!(%error, attempt, "transaction failed; aborting it");
            // A failed abort leaves the producer unusable. Records that timed out (e.g. while a
            // broker was lost) make librdkafka bump the producer's epoch for the abort, and when
            // the transaction coordinator moves at the same time it can take its own bump for a
            // fencing (librdkafka #3928); a newer instance fails the abort with a fencing too, and
            // its records fail first, purged.
            match self
                .call("abort_transaction", |producer| {
                    producer.abort_transaction(CALL_TIMEOUT)
                })
                .await
            {
                Ok(()) => {}
                Err(Failure::Kafka(abort)) if is_fenced(&abort) => return Err(fenced(abort)),
                Err(Failure::Kafka(abort)) => return Err(TransactionError::Fatal(abort)),
                Err(Failure::Stuck(call, after)) => {
                    return Err(TransactionError::Stuck { call, after })
                }
            }
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
        depends_on: &Positions,
        offsets: &TopicPartitionList,
        group: &Arc<ConsumerGroupMetadata>,
    ) -> Result<Written, Failure> {
        tokio::task::block_in_place(|| self.producer.begin_transaction())?;
        let (answers, facts): (Vec<&Record>, Vec<&Record>) =
            records.iter().partition(|record| record.answer);
        let mut written = self.produce(&facts, None).await?;
        if !answers.is_empty() {
            let mut positions = depends_on.clone();
            for ((topic, partition), next) in &written {
                positions.note(topic, *partition, *next);
            }
            let header = (!positions.is_empty()).then(|| positions.to_string());
            for (key, next) in self.produce(&answers, header.as_deref()).await? {
                written.insert(key, next);
            }
        }
        if offsets.count() > 0 {
            let (offsets, group) = (offsets.clone(), Arc::clone(group));
            self.call_within(
                Patience::SEND_OFFSETS,
                "send_offsets_to_transaction",
                move |producer| {
                    producer.send_offsets_to_transaction(&offsets, &group, CALL_TIMEOUT)
                },
            )
            .await?;
        }
        self.commit().await?;
        Ok(written)
    }

    /// Produces `records` in the open transaction, each with its trace and the `positions`
    /// header if given, and waits until every one is acknowledged.
    async fn produce(
        &self,
        records: &[&Record],
        positions: Option<&str>,
    ) -> Result<Written, Failure> {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            let mut future_record = FutureRecord::to(record.topic)
                .key(&record.key)
                .payload(&record.payload);
            let written = positions.map(|positions| (WRITTEN_HEADER, positions));
            let headers =
                crate::trace_context::headers_with(record.traceparent.as_deref(), written);
            if let Some(headers) = headers {
                future_record = future_record.headers(headers);
            }
            let delivery = self
                .producer
                .send_result(future_record)
                .map_err(|(error, _record)| error)?;
            deliveries.push((record.topic, delivery));
        }
        let mut written = Written::new();
        for (topic, delivery) in deliveries {
            match delivery.await {
                Ok(Ok(delivered)) => {
                    let next = written
                        .entry((topic.to_string(), delivered.partition))
                        .or_insert(0);
                    *next = (*next).max(delivered.offset + 1);
                }
                Ok(Err((error, _message))) => return Err(error.into()),
                Err(_canceled) => return Err(KafkaError::Canceled.into()),
            }
        }
        Ok(written)
    }

    /// Runs a blocking transactional call on a thread of its own and waits for it at most
    /// [`ABANDON_AFTER`]; then it is left blocked there, with the producer.
    async fn call(
        &self,
        name: &'static str,
        call: impl FnOnce(&FutureProducer<BrokerTrouble>) -> Result<(), KafkaError> + Send + 'static,
    ) -> Result<(), Failure> {
        self.call_within(Patience::USUAL, name, call).await
    }

    /// [`Self::call`], abandoned as `patience` says.
    async fn call_within(
        &self,
        patience: Patience,
        name: &'static str,
        call: impl FnOnce(&FutureProducer<BrokerTrouble>) -> Result<(), KafkaError> + Send + 'static,
    ) -> Result<(), Failure> {
        let producer = Arc::clone(&self.producer);
        let began = Instant::now();
        match abandonable(patience, BrokerTrouble::recently, move || call(&producer)).await {
            Some(result) => Ok(result?),
            None => {
                let waited = began.elapsed();
                tracing::error!(
                    call = name,
                    ?waited,
                    abandoned = abandoned_producers(),
                    "a transactional call did not return; abandoning the producer"
                );
                self.stuck.store(true, Ordering::SeqCst);
                Err(Failure::Stuck(name, waited))
            }
        }
    }

    /// Commits, retrying a commit whose outcome is unknown (e.g. timed out): aborting it could
    /// contradict a commit the coordinator already decided.
    async fn commit(&self) -> Result<(), Failure> {
        let mut attempt = 1;
        loop {
            let committed = self
                .call("commit_transaction", |producer| {
                    producer.commit_transaction(CALL_TIMEOUT)
                })
                .await;
            match committed {
                Ok(()) => return Ok(()),
                Err(Failure::Kafka(KafkaError::Transaction(error)))
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

/// A fencing: a newer instance, unless brokers were in trouble just before (see
/// [`TransactionalWriter::write`]).
fn fenced(error: KafkaError) -> TransactionError {
    if BrokerTrouble::recently() {
        tracing::warn!(%error, "fenced while brokers were in trouble; taken for librdkafka's confusion");
        TransactionError::Fatal(error)
    } else {
        TransactionError::Fenced(error)
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
