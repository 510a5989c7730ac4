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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{ConsumerContext, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::TopicPartitionList;

use crate::consistency::{Positions, WRITTEN_HEADER};
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
/// The timeout given to librdkafka's blocking transactional calls. A call that times out is
/// handled like any other failure: a commit is retried, anything else aborted and retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// How much longer than [`CALL_TIMEOUT`] a call may take before it is abandoned with its
/// producer: `send_offsets_to_transaction` ignores its timeout and can wait forever for a group
/// coordinator on a broker that died (librdkafka #5456, #5511; seen in the broker-loss test).
const ABANDON_AFTER: Duration = Duration::from_secs(10);
/// How long `send_offsets_to_transaction` may take, soon after trouble with a broker, before
/// its producer is abandoned. That is when it hangs: the producer still names the lost broker
/// as the group's coordinator, and once the cluster has dropped that broker nothing makes
/// librdkafka look the coordinator up again until some other broker connection changes state
/// (librdkafka #5511), which under load may be never, or when the lost broker is back. A call
/// that does not hang takes two round trips, a few milliseconds, plus the new coordinator's
/// load of the group (well under a second in the broker-loss test). Abandoning costs a new
/// producer and a takeover of the partitions from the state store, about 2 s; waiting the full
/// [`ABANDON_AFTER`] cost 10 s of no answers in the broker-loss test.
const ABANDON_SEND_OFFSETS_IN_TROUBLE: Duration = Duration::from_secs(3);
/// How many abandoned producers may be blocked in their calls at once. Each holds a whole
/// librdkafka client (its threads, connections and buffers) that only the call's return frees;
/// past this, [`TransactionalWriter::start`] refuses to add another, so the process ends and
/// its restart frees them all, instead of a long-lived process piling them up.
pub const MAX_ABANDONED: usize = 2;
/// Abandoned producers whose call has not returned yet (see [`abandonable`]).
static ABANDONED: AtomicUsize = AtomicUsize::new(0);
/// A fencing this soon after trouble with a broker is taken for librdkafka's own confusion,
/// not a newer instance (see [`TransactionalWriter::write`]).
const TROUBLE_WINDOW: Duration = Duration::from_secs(60);

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
    /// A call did not return in time (see [`ABANDON_AFTER`]): the producer is abandoned, still
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

/// When a transactional producer of this process last heard of trouble with a broker (a lost
/// connection, a timed-out request): kept across producers, since a new one replaces a failed
/// one in the middle of such trouble.
static LAST_BROKER_TROUBLE: Mutex<Option<Instant>> = Mutex::new(None);

/// A context for the process's Kafka clients (the transactional producers, and consumers
/// through [`note_client_error`]): notes the errors librdkafka reports that mean a broker is out
/// of reach or a coordinator moved, never a fencing itself.
pub struct BrokerTrouble;

/// For a client context's `error`: notes broker trouble (see [`BrokerTrouble`]) and logs the
/// error as librdkafka's default context does. Often only a consumer of the process hears of
/// it, not the producer.
pub fn note_client_error(error: &KafkaError, reason: &str) {
    if is_broker_trouble(error) {
        note_broker_trouble();
    }
    tracing::error!("librdkafka: {error}: {reason}");
}

fn note_broker_trouble() {
    *LAST_BROKER_TROUBLE
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
}

/// librdkafka logs every failed or lost broker connection (refused, reset, closed by the
/// peer, a failed TLS handshake) under the facility `FAIL`, and nothing else.
fn is_broker_failure(facility: &str) -> bool {
    facility == "FAIL"
}

impl BrokerTrouble {
    fn seen_within(window: Duration) -> bool {
        let last = LAST_BROKER_TROUBLE
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.is_some_and(|at| at.elapsed() < window)
    }
}

impl ClientContext for BrokerTrouble {
    fn error(&self, error: KafkaError, reason: &str) {
        note_client_error(&error, reason);
    }

    /// Logs as librdkafka's default context does, and notes a lost broker connection as
    /// trouble: the producer hears of a broker that died only through this log line (`FAIL`,
    /// "Disconnected"), seconds before any error reaches [`ClientContext::error`], and a
    /// transaction waiting on that broker must know it then (see [`Patience`]).
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if is_broker_failure(facility) {
            note_broker_trouble();
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
        }
    }

    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        crate::telemetry::record_consumer_lag(&statistics);
    }
}

impl ConsumerContext for BrokerTrouble {}

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
        let in_trouble = || BrokerTrouble::seen_within(TROUBLE_WINDOW);
        match abandonable(patience, in_trouble, move || call(&producer)).await {
            Some(result) => Ok(result?),
            None => {
                tracing::error!(
                    call = name,
                    waited = ?patience.waited(),
                    abandoned = abandoned_producers(),
                    "a transactional call did not return; abandoning the producer"
                );
                self.stuck.store(true, Ordering::SeqCst);
                Err(Failure::Stuck(name, patience.waited()))
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

/// Producers abandoned in a call that has not returned yet: each still holds its client.
pub fn abandoned_producers() -> usize {
    ABANDONED.load(Ordering::SeqCst)
}

/// Ends the process with `code` at once while abandoned producers are still blocked (see
/// [`MAX_ABANDONED`]): returning from `main` would drop the tokio runtime, which waits forever
/// for its blocking threads, so the restart that frees them would never come. Call it on the
/// way out of `main`.
pub fn exit_if_calls_are_blocked(code: i32) {
    let blocked = abandoned_producers();
    if blocked > 0 {
        tracing::error!(
            blocked,
            "abandoned producers are still blocked in their calls; exiting without waiting for them"
        );
        eprintln!("{blocked} abandoned Kafka producers still blocked; exiting with code {code}");
        std::process::exit(code);
    }
}

/// Whether the process may create another producer (see [`MAX_ABANDONED`]).
fn room_for_another_producer() -> Result<(), TransactionError> {
    match abandoned_producers() {
        abandoned if abandoned >= MAX_ABANDONED => {
            Err(TransactionError::TooManyAbandoned(abandoned))
        }
        _ => Ok(()),
    }
}

/// Where a blocking call stands, between the thread that runs it and the one that waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Running,
    Returned,
    Abandoned,
}

/// How long a blocking call is waited for before it is abandoned.
#[derive(Debug, Clone, Copy)]
struct Patience {
    /// At most this long.
    usual: Duration,
    /// Only this long when trouble with a broker was heard of by then (it may come after the
    /// call began: the broker that dies is often the one the call waits for).
    in_trouble: Duration,
}

impl Patience {
    const USUAL: Patience = Patience {
        usual: ABANDON_AFTER,
        in_trouble: ABANDON_AFTER,
    };
    const SEND_OFFSETS: Patience = Patience {
        usual: ABANDON_AFTER,
        in_trouble: ABANDON_SEND_OFFSETS_IN_TROUBLE,
    };

    /// How long a call was waited for once abandoned.
    fn waited(self) -> Duration {
        if BrokerTrouble::seen_within(TROUBLE_WINDOW) {
            self.in_trouble
        } else {
            self.usual
        }
    }
}

/// Runs `work` on a blocking thread and waits for it as `patience` says: `None` when it did
/// not return by then. It is then counted in [`abandoned_producers`] until it does return
/// (which may be never), so the process knows how much it leaves behind.
async fn abandonable<T: Send + 'static>(
    patience: Patience,
    in_trouble: impl Fn() -> bool,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let state = Arc::new(Mutex::new(CallState::Running));
    let on_return = Arc::clone(&state);
    let mut running = tokio::task::spawn_blocking(move || {
        let result = work();
        let mut state = on_return.lock().unwrap_or_else(PoisonError::into_inner);
        if *state == CallState::Abandoned {
            ABANDONED.fetch_sub(1, Ordering::SeqCst);
        }
        *state = CallState::Returned;
        result
    });
    let early = patience.in_trouble.min(patience.usual);
    let waited = match tokio::time::timeout(early, &mut running).await {
        Err(_waited) if !in_trouble() => {
            tokio::time::timeout(patience.usual - early, &mut running).await
        }
        waited => waited,
    };
    match waited {
        Ok(Ok(result)) => Some(result),
        // A panicking call: nothing is left running.
        Ok(Err(_panicked)) => None,
        Err(_waited) => {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            if *state == CallState::Running {
                *state = CallState::Abandoned;
                ABANDONED.fetch_add(1, Ordering::SeqCst);
            }
            None
        }
    }
}

/// A fencing: a newer instance, unless brokers were in trouble just before (see
/// [`TransactionalWriter::write`]).
fn fenced(error: KafkaError) -> TransactionError {
    if BrokerTrouble::seen_within(TROUBLE_WINDOW) {
        tracing::warn!(%error, "fenced while brokers were in trouble; taken for librdkafka's confusion");
        TransactionError::Fatal(error)
    } else {
        TransactionError::Fenced(error)
    }
}

fn is_broker_trouble(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::CoordinatorLoadInProgress
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::NotCoordinator
        )
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A call that never returns is counted as abandoned until it does return, so a process
    /// knows how many clients it still holds, and makes no new producer while
    /// [`MAX_ABANDONED`] are blocked; a call that returns in time is never counted. (The only
    /// test of this binary that abandons calls: the count is the process's.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_calls_are_counted_until_they_return_and_bound_new_producers() {
        assert_eq!(abandoned_producers(), 0);
        let patience = |after| Patience {
            usual: after,
            in_trouble: after,
        };
        let calm = || false;
        let quick = abandonable(patience(Duration::from_secs(5)), calm, || 7).await;
        assert_eq!((quick, abandoned_producers()), (Some(7), 0));
        assert!(room_for_another_producer().is_ok());

        let mut releases = Vec::new();
        for stuck in 1..=MAX_ABANDONED {
            let (release, blocked) = std::sync::mpsc::channel::<()>();
            releases.push(release);
            let call = abandonable(patience(Duration::from_millis(50)), calm, move || {
                blocked.recv().is_ok()
            });
            assert_eq!(call.await, None);
            assert_eq!(abandoned_producers(), stuck);
        }
        assert!(matches!(
            room_for_another_producer(),
            Err(TransactionError::TooManyAbandoned(MAX_ABANDONED))
        ));

        for release in releases {
            release.send(()).ok();
        }
        until_none_abandoned("returned calls are still counted").await;
        assert!(room_for_another_producer().is_ok());

        // Trouble with a broker, heard of while a call waits, shortens the wait; without it, a
        // call slower than the short wait is waited for.
        let patience = Patience {
            usual: Duration::from_secs(5),
            in_trouble: Duration::from_millis(50),
        };
        let slow = abandonable(patience, calm, || {
            std::thread::sleep(Duration::from_millis(200));
            8
        });
        assert_eq!(slow.await, Some(8));
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let began = Instant::now();
        let hung = abandonable(patience, || true, move || blocked.recv().is_ok());
        assert_eq!(hung.await, None);
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{:?}",
            began.elapsed()
        );
        assert_eq!(abandoned_producers(), 1);
        release.send(()).ok();
        until_none_abandoned("the returned call is still counted").await;
    }

    async fn until_none_abandoned(failure: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while abandoned_producers() > 0 {
            assert!(Instant::now() < deadline, "{failure}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn a_lost_broker_is_trouble_and_a_fencing_is_not() {
        let global = KafkaError::Global;
        assert!(is_broker_trouble(&global(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(is_broker_trouble(&global(RDKafkaErrorCode::NotCoordinator)));
        assert!(is_broker_trouble(&KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageTimedOut
        )));
        assert!(is_broker_failure("FAIL"));
        assert!(!is_broker_failure("TXNERR"));
        // The fencing itself is reported through the same callback: counting it would make a
        // real newer instance look like librdkafka's confusion.
        assert!(!is_broker_trouble(&global(RDKafkaErrorCode::Fenced)));
        assert!(!is_broker_trouble(&global(
            RDKafkaErrorCode::FencedInstanceId
        )));
        assert!(!is_broker_trouble(&global(
            RDKafkaErrorCode::InvalidTransactionalState
        )));
    }
}
