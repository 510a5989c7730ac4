//! Rebuilding the in-memory state of the partitions an instance takes over: every
//! `user_events` and `bank_events` record of those partitions from the beginning, into the
//! [`BankState`] and (without sending anything) the [`Saga`].
//!
//! The replay ends at each partition's *high watermark* read when it starts, and reads with
//! `read_committed` (see `topology::replay::high_watermarks`): it therefore also waits until a
//! transaction the partition's previous owner still had open is committed or aborted. Only then
//! is the history final, and only then may this instance decide for those accounts. A
//! transaction begun later by a stale owner carries offsets its consumer group no longer
//! accepts, so it can only be aborted (see [`crate::runtime`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fastbloom::BloomFilter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use topology::codec::{Codec, CodecError};
use topology::kafka::ADMIN_TIMEOUT;
use topology::replay::{self, CatchUp, PartitionEnd, ReplayError};
use topology::topic_names::{BANK_EVENTS, USER_EVENTS};
use topology::{BankEvent, Id, KafkaSettings, UserEvent, BANK_PARTITIONS};

use crate::domain::saga::{transfer_id, Saga, SagaInput};
use crate::domain::BankState;
use crate::handling::{Handler, Ownership};
use crate::store::{Changes, Identity, Loaded, Store, StoreError};

/// How long no record may arrive before the consumer position is asked instead: it moves past
/// transaction markers, which are never delivered (see [`topology::replay`]).
const IDLE: Duration = Duration::from_millis(200);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("creating the replay consumer: {0}")]
    Client(KafkaError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("replaying {topic}: {source}")]
    Consume { topic: String, source: KafkaError },
    /// An event that cannot be read would leave the state wrong, so starting is refused; a
    /// restart retries (the registry may have been unreachable).
    #[error("event at {topic}/{partition}@{offset} cannot be decoded: {source}")]
    Event {
        topic: String,
        partition: i32,
        offset: i64,
        source: Box<CodecError>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The state store does not match the log, and emptying it was not allowed: it still
    /// holds the history of partitions this instance keeps deciding for.
    #[error("the state store does not match the log: {0}")]
    StoreStale(String),
}

/// The handler of the rebuilt partitions, and where each of their event partitions ended.
pub struct Rebuilt {
    pub handler: Handler,
    pub ends: Vec<PartitionEnd>,
}

/// Rows written to the state store at a time during a replay: bounds the memory a long replay
/// holds before it can forget history.
const ROWS_PER_WRITE: usize = 100_000;

/// Rebuilds the handler for the partitions of `owned`; `replayed` counts the records read, for
/// `/health`. With a `store`, the live data of those partitions comes from it and only what
/// was written after its offsets is replayed; the replayed state is written back to it. A store
/// that does not match the log is emptied only if `may_empty_store` (else
/// [`RebuildError::StoreStale`]).
pub async fn rebuild(
    settings: &KafkaSettings,
    codec: &Codec,
    owned: Ownership,
    replayed: &AtomicU64,
    store: Option<&Store>,
    may_empty_store: bool,
) -> Result<Rebuilt, RebuildError> {
    let started = Instant::now();
    let mut state = BankState::default();
    let mut saga = Saga::default();
    let partitions: Vec<(&str, i32)> = [USER_EVENTS, BANK_EVENTS]
        .iter()
        .flat_map(|&topic| owned.partitions().map(move |p| (topic, p)))
        .collect();
    let mut count = 0u64;
    let mut loaded = None;
    let mut ends = Vec::new();
    if !partitions.is_empty() {
        ends = tokio::task::block_in_place(|| {
            replay::high_watermarks(settings, &partitions, ADMIN_TIMEOUT)
        })?;
        let consumer = settings
            .replay_consumer(None)
            .map_err(RebuildError::Client)?;
        let mut positions = BTreeMap::new();
        if let Some(store) = store {
            let restored = tokio::task::block_in_place(|| {
                restore(store, &consumer, &owned, &ends, may_empty_store)
            })?;
            (state, saga) = restored.handler.into_parts();
            loaded = Some((restored.rows, started.elapsed()));
            positions = restored.positions;
        }
        let mut recallable = match store {
            Some(store) => {
                let empty = tokio::task::block_in_place(|| store.holds_no_transfers())?;
                Recallable::of(empty, records_to_replay(&ends, &positions))
            }
            None => Recallable::Any,
        };
        let mut events = Replay::start(consumer, &ends, &positions)?;
        let mut changes = Changes::default();
        let mut recalled = HashSet::new();
        while let Some(message) = events.next().await? {
            replayed.fetch_add(1, Ordering::Relaxed);
            count += 1;
            let at = |source| RebuildError::Event {
                topic: message.topic().to_string(),
                partition: message.partition(),
                offset: message.offset(),
                source: Box::new(source),
            };
            if message.topic() == USER_EVENTS {
                let event: UserEvent = codec.decode(message.payload()).await.map_err(at)?;
                state.evolve_user_event(&event);
                changes.user_event(&event);
            } else {
                let event: BankEvent = codec.decode(message.payload()).await.map_err(at)?;
                if let (Some(store), Some(transfer)) = (store, transfer_id(&event)) {
                    if recalled.insert(transfer) && recallable.may_be_stored(transfer) {
                        let facts = tokio::task::block_in_place(|| store.facts(transfer))?;
                        state.recall(transfer, facts);
                    }
                }
                state.evolve_bank_event(&event);
                saga.apply(SagaInput::Event(&event));
                // Nothing is keyed during a replay, so a settled transfer can go at once.
                saga.forget_settled();
                changes.bank_event(&event);
            }
            changes.position(message.topic(), message.partition(), message.offset() + 1);
            drop(message);
            if let Some(store) = store {
                if changes.len() >= ROWS_PER_WRITE {
                    let written = std::mem::take(&mut changes);
                    recallable.written(&written);
                    tokio::task::block_in_place(|| store.write(&state, &saga, &written, true))?;
                    state.forget_history(|transfer| saga.contains(transfer));
                    recalled.clear();
                }
            }
        }
        if let Some(store) = store {
            tokio::task::block_in_place(|| store.write(&state, &saga, &changes, true))?;
            state.forget_history(|transfer| saga.contains(transfer));
        }
    }
    let (restored, load_ms) =
        loaded.map_or((0, 0), |(rows, elapsed)| (rows, elapsed.as_millis() as u64));
    tracing::info!(
        partitions = ?owned.partitions().collect::<Vec<_>>(),
        restored,
        load_ms,
        events = count,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "state rebuilt"
    );
    topology::process::give_freed_memory_back();
    Ok(Rebuilt {
        handler: Handler::new(state, saga, owned),
        ends,
    })
}

/// The transfers whose facts a replay may find in the state store, to recall them when one of
/// their events comes again after they were written and forgotten.
///
/// Looking every transfer up took a third of a rebuild from offset 0 (a profile of 4,000,000
/// events: `Store::facts`, nearly all of it reading B-tree pages of transfers that were not
/// there). A store that held no transfer when the replay began can only hold those the replay
/// itself wrote since, so those are kept in a Bloom filter: a transfer it does not contain is
/// certainly not stored, and a false positive costs only the lookup every transfer used to
/// cost.
enum Recallable {
    /// The store held transfers before: any transfer may be there.
    Any,
    WrittenSince(BloomFilter),
}

/// The false positive rate of [`Recallable::WrittenSince`] while it holds at most as many
/// transfers as it was sized for: 1 % costs about 1.2 bytes per record to replay.
const FALSE_POSITIVES: f64 = 0.01;
/// Records a filter is sized for at most (about 19 MB): a longer history only makes false
/// positives, that is lookups, more frequent.
const MAX_FILTERED: u64 = 16_000_000;

impl Recallable {
    /// For a replay of `records` records into a store that held no transfer (`empty`) or some.
    fn of(empty: bool, records: u64) -> Self {
        if !empty {
            return Self::Any;
        }
        // Every transfer has at least one record of its own in the replayed partitions.
        let expected = usize::try_from(records.clamp(1, MAX_FILTERED)).unwrap_or(1);
        Self::WrittenSince(BloomFilter::with_false_pos(FALSE_POSITIVES).expected_items(expected))
    }

    fn may_be_stored(&self, transfer: Id) -> bool {
        match self {
            Self::Any => true,
            Self::WrittenSince(filter) => filter.contains(&transfer),
        }
    }

    /// `changes` are about to be written to the store.
    fn written(&mut self, changes: &Changes) {
        if let Self::WrittenSince(filter) = self {
            for transfer in changes.transfers_written() {
                filter.insert(&transfer);
            }
        }
    }
}

/// How many records a replay from `positions` (else the first offset) to `ends` reads, at most.
fn records_to_replay(ends: &[PartitionEnd], positions: &BTreeMap<(String, i32), i64>) -> u64 {
    ends.iter()
        .map(|end| {
            let from = positions
                .get(&(end.topic.clone(), end.partition))
                .copied()
                .unwrap_or(end.first);
            u64::try_from(end.end.saturating_sub(from)).unwrap_or(0)
        })
        .sum()
}

/// The handler of `owned` as `store` keeps it (see [`Store::load`]), after emptying a store
/// that does not match the log (`ends`).
fn restore(
    store: &Store,
    consumer: &StreamConsumer,
    owned: &Ownership,
    ends: &[PartitionEnd],
    may_empty_store: bool,
) -> Result<Loaded, RebuildError> {
    let identity = match consumer.client().fetch_cluster_id(ADMIN_TIMEOUT) {
        Some(cluster_id) => Identity {
            cluster_id,
            partitions: BANK_PARTITIONS,
        },
        // E.g. a takeover while a broker is lost. Emptying the store for that would cost a
        // replay from offset 0; its offsets are still checked against the log.
        None => {
            tracing::warn!(
                "the cluster id is unknown; the state store is checked by its offsets only"
            );
            store.identity()?.unwrap_or(Identity {
                cluster_id: String::new(),
                partitions: BANK_PARTITIONS,
            })
        }
    };
    if let Some(stale) = store.check(&identity, ends)? {
        if !may_empty_store {
            return Err(RebuildError::StoreStale(stale));
        }
        tracing::info!(path = %store.path().display(), stale, "state store emptied; the partitions are replayed from offset 0");
        store.reset(&identity)?;
    }
    Ok(store.load(owned)?)
}

/// A replay of some partitions from their positions (else the beginning) up to the high
/// watermarks read at start.
struct Replay {
    consumer: StreamConsumer,
    catch_up: CatchUp,
    topics: String,
    last_progress: Instant,
}

impl Replay {
    fn start(
        consumer: StreamConsumer,
        ends: &[PartitionEnd],
        positions: &BTreeMap<(String, i32), i64>,
    ) -> Result<Self, RebuildError> {
        replay::assign_from(&consumer, ends, positions)?;
        let mut catch_up = CatchUp::new(ends);
        for ((topic, partition), next) in positions {
            catch_up.observe(topic, *partition, *next);
        }
        let mut topics: Vec<&str> = ends.iter().map(|end| end.topic.as_str()).collect();
        topics.dedup();
        Ok(Self {
            consumer,
            catch_up,
            topics: topics.join(","),
            last_progress: Instant::now(),
        })
    }

    /// The next record of the history, or `None` once every partition reached its end.
    async fn next(&mut self) -> Result<Option<BorrowedMessage<'_>>, RebuildError> {
        loop {
            if self.catch_up.is_caught_up() {
                return Ok(None);
            }
            if self.last_progress.elapsed() >= PROGRESS_EVERY {
                self.last_progress = Instant::now();
                let behind: Vec<String> = self
                    .catch_up
                    .behind()
                    .map(|(topic, partition, end)| format!("{topic}/{partition} → {end}"))
                    .collect();
                tracing::info!(topics = %self.topics, ?behind, "still replaying");
            }
            match tokio::time::timeout(IDLE, self.consumer.recv()).await {
                Ok(Ok(message)) => {
                    let next = message.offset() + 1;
                    self.catch_up
                        .observe(message.topic(), message.partition(), next);
                    return Ok(Some(message));
                }
                Ok(Err(error @ KafkaError::MessageConsumptionFatal(_))) => {
                    return Err(RebuildError::Consume {
                        topic: self.topics.clone(),
                        source: error,
                    })
                }
                // Transient (e.g. a broker connection dropped): librdkafka retries by itself.
                Ok(Err(error)) => tracing::warn!(%error, topics = %self.topics, "replay error"),
                Err(_idle) => {
                    let positions = replay::positions(&self.consumer)?;
                    self.catch_up.observe_all(&positions);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topology::TransferCompletedEvent;

    #[test]
    fn a_store_that_held_transfers_is_asked_about_every_transfer() {
        let recallable = Recallable::of(false, 10);
        assert!(recallable.may_be_stored(Id::random()));
    }

    #[test]
    fn an_empty_store_is_asked_about_the_transfers_written_to_it_and_rarely_others() {
        let mut recallable = Recallable::of(true, 2_000);
        let ids: Vec<Id> = (0..2_000).map(|_| Id::random()).collect();
        let (written, others) = ids.split_at(1_000);
        let mut changes = Changes::default();
        for &id in written {
            changes.bank_event(&TransferCompletedEvent { id }.into());
        }
        recallable.written(&changes);
        assert!(
            written.iter().all(|&id| recallable.may_be_stored(id)),
            "a written transfer is always looked up"
        );
        let false_positives = others
            .iter()
            .filter(|&&id| recallable.may_be_stored(id))
            .count();
        assert!(false_positives < 50, "{false_positives} of 1,000");
    }

    #[test]
    fn the_records_to_replay_run_from_the_stored_position_or_the_first_offset() {
        let end = |partition, first, end| PartitionEnd {
            topic: "bank_events".into(),
            partition,
            first,
            end,
        };
        let ends = [end(0, 0, 100), end(1, 40, 50), end(2, 0, 0)];
        let positions = BTreeMap::from([(("bank_events".to_string(), 0), 90)]);
        assert_eq!(records_to_replay(&ends, &positions), 10 + 10);
        assert_eq!(records_to_replay(&ends, &BTreeMap::new()), 100 + 10);
    }
}
