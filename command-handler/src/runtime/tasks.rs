//! The partitions this instance decides for, one [`PartitionTask`] each, and how an assignment
//! change moves them, as Kafka Streams' task manager does: the tasks of revoked partitions are
//! closed, the tasks of new ones opened (rebuilt from the state store and the log), and the
//! kept ones go on untouched ([`Tasks::reassign`]).
//!
//! A task's aggregates and sagas live in the instance's one [`Handler`], because a transfer
//! between two partitions this instance owns is decided start to end in one go. A task's part of
//! the handler is found by key (`topology::routing::partition_of`): [`Handler::release`] and
//! [`Handler::adopt`] move exactly the aggregates and sagas of the partitions they name. The task
//! itself holds its transaction state: the input offsets committed for it, and where its event
//! partitions end after this instance's last write.
//!
//! A kept task is checked against the log before it goes on: its event partitions must end
//! exactly where this instance left them. Anything else (the instance was out of the group long
//! enough for another one to write there) closes and reopens it. After a transaction that could
//! not be written every task is closed and reopened ([`Tasks::take_over_all`]): the in-memory
//! state then holds events the log does not.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::time::Instant;
use topology::codec::Codec;
use topology::kafka::ADMIN_TIMEOUT;
use topology::proofs::SagaKey;
use topology::replay::{self, PartitionEnd};
use topology::topic_names::{BANK_EVENTS, USER_EVENTS};
use topology::transactions::Written;
use topology::{Id, Settings};

mod due;

use super::assignment;
use super::health::Status;
use super::metrics;
use super::pump::Pump;
use super::rebalance::RebalanceListener;
use super::transactions::WriteError;
use super::{RuntimeError, CONSUMED_TOPICS};
use crate::handling::{Handler, Output, Ownership};
use crate::rebuild::{rebuild, RebuildError};
use crate::store::{Changes, Store};

/// Takeovers in a row that may fail to write what the rebuilt sagas need before giving up.
const MAX_TAKEOVER_ATTEMPTS: u32 = 5;
/// A credit another instance has not answered for this long is asked for again: well within
/// the 60 s retention of the command topics, so an instance that was away for longer than that
/// still gets the question when it is back.
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(20);
/// How often the waiting credits are looked at.
const ASK_AGAIN_CHECK: Duration = Duration::from_secs(5);
/// How often the owned accounts are looked at for expired holds and due standing orders: each
/// is decided at most this much (and a loop tick) after its time.
const DUE_CHECK: Duration = Duration::from_secs(1);
/// The topics a task writes its events to.
const EVENT_TOPICS: [&str; 2] = [USER_EVENTS, BANK_EVENTS];

/// The group member every input comes from.
pub type Member = StreamConsumer<RebalanceListener>;

/// One partition this instance decides for: the transaction state of its inputs and events.
#[derive(Debug, Clone, Default)]
pub struct PartitionTask {
    /// Consumed topic → the next offset committed for this partition. Sent with transactions
    /// that consume nothing, so the group fences them like any other once it moved on.
    committed: BTreeMap<&'static str, i64>,
    /// Event topic → where this partition ends after what this instance replayed or wrote: the
    /// high watermark a rebuild replayed to, or the offset after the commit marker of the last
    /// transaction that wrote here.
    events_end: BTreeMap<&'static str, i64>,
}

impl PartitionTask {
    fn commit(&mut self, topic: &'static str, next: i64) {
        let previous = self.committed.insert(topic, next);
        debug_assert!(
            previous.is_none_or(|previous| previous <= next),
            "{topic}: the committed offset went back from {previous:?} to {next}"
        );
    }

    fn ended_at(&mut self, topic: &'static str, end: i64) {
        let previous = self.events_end.insert(topic, end);
        debug_assert!(
            previous.is_none_or(|previous| previous <= end),
            "{topic}: the event partition's end went back from {previous:?} to {end}"
        );
    }

    /// Whether the log still ends where this task left it, so its state is the log's.
    fn matches(&self, topic: &str, end: i64) -> bool {
        self.events_end.get(topic) == Some(&end)
    }
}

pub struct Tasks<'a> {
    tasks: BTreeMap<i32, PartitionTask>,
    /// The state of every task's partitions; `None` until the first assignment is taken over.
    handler: Option<Handler>,
    /// The local state store once opened (see [`crate::store`]).
    store: Option<Store>,
    /// Where the state store is, if one is configured.
    store_path: Option<std::path::PathBuf>,
    /// Committed batches not written to the store yet (its background fsync held it): their
    /// history stays in memory until they are.
    unwritten: Changes,
    /// The rebalance count the tasks were last arranged for.
    acted_on_changes: u64,
    /// Transfers waiting for another instance's credit, and since when.
    awaiting: HashMap<Id, Instant>,
    last_ask_check: Instant,
    last_due_check: Instant,
    settings: &'a Settings,
    codec: Arc<Codec>,
    /// Signs and checks the credits that cross between instances.
    saga_key: &'a SagaKey,
    status: &'a Status,
}

impl<'a> Tasks<'a> {
    pub fn new(
        settings: &'a Settings,
        codec: Arc<Codec>,
        saga_key: &'a SagaKey,
        status: &'a Status,
        store_path: Option<std::path::PathBuf>,
    ) -> Self {
        Self {
            tasks: BTreeMap::new(),
            handler: None,
            store: None,
            store_path,
            unwritten: Changes::default(),
            acted_on_changes: 0,
            awaiting: HashMap::new(),
            last_ask_check: Instant::now(),
            last_due_check: Instant::now(),
            settings,
            codec,
            saga_key,
            status,
        }
    }

    pub fn rebalanced(&self, consumer: &Member) -> bool {
        consumer.context().changes() != self.acted_on_changes
    }

    /// Before a new group member: whatever it is assigned is taken over from scratch.
    pub fn forget_assignment(&mut self) {
        self.close_all();
        self.acted_on_changes = 0;
    }

    /// The handler and the store to decide `partition`'s inputs with; `None` when no task of
    /// this instance owns that partition (an input read across a rebalance).
    pub fn for_partition(&mut self, partition: i32) -> Option<(&mut Handler, Option<&Store>)> {
        if !self.tasks.contains_key(&partition) {
            return None;
        }
        let handler = self.handler.as_mut()?;
        debug_assert!(
            handler.ownership().partitions().any(|p| p == partition),
            "partition {partition} has a task but the handler does not own it"
        );
        Some((handler, self.store.as_ref()))
    }

    pub fn handler(&self) -> Option<&Handler> {
        self.handler.as_ref()
    }

    pub fn handler_mut(&mut self) -> Option<&mut Handler> {
        self.handler.as_mut()
    }

    /// The offsets committed for every task, for a transaction that consumes nothing.
    pub fn committed_offsets(&self) -> Result<TopicPartitionList, WriteError> {
        let mut list = TopicPartitionList::new();
        for (partition, task) in &self.tasks {
            for (topic, next) in &task.committed {
                list.add_partition_offset(topic, *partition, Offset::Offset(*next))
                    .map_err(WriteError::Offsets)?;
            }
        }
        Ok(list)
    }

    fn close_all(&mut self) {
        self.handler = None;
        self.tasks.clear();
        self.awaiting.clear();
    }

    /// Opens the configured state store if it is not open yet. One that cannot be opened (an
    /// older process of this instance still holds it, before it notices it was fenced) is
    /// done without until a later takeover: the state then lives in memory, which costs memory
    /// and replay time, never correctness.
    fn open_store(&mut self) {
        let Some(path) = self.store_path.as_deref().filter(|_| self.store.is_none()) else {
            return;
        };
        match tokio::task::block_in_place(|| Store::open(path)) {
            Ok(store) => self.store = Some(store),
            Err(error) => {
                tracing::warn!(%error, "the state store cannot be opened; keeping the state in memory until the next takeover")
            }
        }
    }

    /// Closes every task and opens one for each partition of the current assignment: at the
    /// start, and after a transaction that could not be written.
    pub async fn take_over_all(
        &mut self,
        consumer: &Member,
        pump: &mut Pump<'_>,
    ) -> Result<(), RuntimeError> {
        self.open_store();
        // What the store misses of committed batches is in the log after its offsets.
        self.unwritten = Changes::default();
        for attempt in 1..=MAX_TAKEOVER_ATTEMPTS {
            pump.renew_if_failed()?;
            self.acted_on_changes = consumer.context().changes();
            self.close_all();
            self.handler = Some(
                Handler::new(Default::default(), Default::default(), Ownership::default())
                    .with_saga_key(self.saga_key.clone()),
            );
            let assignment = consumer.assignment().map_err(RuntimeError::Consume)?;
            let opening: BTreeSet<i32> = assignment::owned_partitions(&assignment)
                .partitions()
                .collect();
            tracing::info!(partitions = ?opening, attempt, "taking over every assigned partition");
            if self
                .settle(consumer, pump, &assignment, &opening, true)
                .await?
            {
                return Ok(());
            }
        }
        Err(RuntimeError::TakeOver {
            attempts: MAX_TAKEOVER_ATTEMPTS,
        })
    }

    /// After a rebalance: closes the tasks of the partitions this instance lost, opens tasks for
    /// the ones it gained, and lets the kept ones go on (see the module docs).
    pub async fn reassign(
        &mut self,
        consumer: &Member,
        pump: &mut Pump<'_>,
    ) -> Result<(), RuntimeError> {
        if self.handler.is_none() || (self.store_path.is_some() && self.store.is_none()) {
            return self.take_over_all(consumer, pump).await;
        }
        self.acted_on_changes = consumer.context().changes();
        let assignment = consumer.assignment().map_err(RuntimeError::Consume)?;
        let now: BTreeSet<i32> = assignment::owned_partitions(&assignment)
            .partitions()
            .collect();
        let before: BTreeSet<i32> = self.tasks.keys().copied().collect();
        // A released task's history must be in the store before it leaves memory.
        self.write_to_store(true)?;
        let kept: BTreeSet<i32> = before.intersection(&now).copied().collect();
        let stale = match self.moved_on(&kept) {
            Ok(stale) => stale,
            Err(error) => {
                tracing::warn!(%error, "cannot check the kept partitions against the log; taking every partition over again");
                return self.take_over_all(consumer, pump).await;
            }
        };
        let closing: BTreeSet<i32> = before.difference(&now).chain(&stale).copied().collect();
        let opening: BTreeSet<i32> = now.difference(&before).chain(&stale).copied().collect();
        tracing::info!(
            kept = kept.len() - stale.len(),
            closing = ?closing,
            opening = ?opening,
            "partitions reassigned"
        );
        if !stale.is_empty() {
            tracing::warn!(partitions = ?stale, "kept partitions were written by another instance meanwhile; rebuilding them");
        }
        if let Some(handler) = self.handler.as_mut() {
            handler.release(&closing);
        }
        for partition in &closing {
            self.tasks.remove(partition);
        }
        if let Some(handler) = self.handler.as_ref() {
            let waiting: BTreeSet<Id> = handler.awaiting_remote().into_iter().collect();
            self.awaiting
                .retain(|transfer, _| waiting.contains(transfer));
        }
        match self
            .settle(consumer, pump, &assignment, &opening, false)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => self.take_over_all(consumer, pump).await,
            Err(RuntimeError::Rebuild(error)) if matches!(*error, RebuildError::StoreStale(_)) => {
                tracing::info!(%error, "taking every partition over again");
                self.take_over_all(consumer, pump).await
            }
            Err(error) => Err(error),
        }
    }

    /// The kept partitions whose event partitions no longer end where this instance left them.
    fn moved_on(&self, kept: &BTreeSet<i32>) -> Result<BTreeSet<i32>, RuntimeError> {
        if kept.is_empty() {
            return Ok(BTreeSet::new());
        }
        let partitions: Vec<(&str, i32)> = EVENT_TOPICS
            .iter()
            .flat_map(|&topic| kept.iter().map(move |&p| (topic, p)))
            .collect();
        let ends = tokio::task::block_in_place(|| {
            replay::high_watermarks(&self.settings.kafka, &partitions, ADMIN_TIMEOUT)
        })
        .map_err(|error| RuntimeError::Rebuild(Box::new(error.into())))?;
        Ok(ends
            .iter()
            .filter(|end| {
                !self
                    .tasks
                    .get(&end.partition)
                    .is_some_and(|task| task.matches(&end.topic, end.end))
            })
            .map(|end| end.partition)
            .collect())
    }

    /// Opens a task for each partition of `opening` (rebuilt from the store and the log),
    /// rewinds the consumer to the committed offsets of the whole assignment, and finishes what
    /// the opened partitions' sagas left open. `false`: that last write failed, and every
    /// partition must be taken over again.
    async fn settle(
        &mut self,
        consumer: &Member,
        pump: &mut Pump<'_>,
        assignment: &TopicPartitionList,
        opening: &BTreeSet<i32>,
        may_empty_store: bool,
    ) -> Result<bool, RuntimeError> {
        if !opening.is_empty() {
            let started = Instant::now();
            let replayed_before = self.status.records_replayed.load(Ordering::Relaxed);
            let rebuilt = rebuild(
                &self.settings.kafka,
                &self.codec,
                Ownership::new(opening.iter().copied()),
                &self.status.records_replayed,
                self.store.as_ref(),
                may_empty_store,
            )
            .await
            .map_err(|e| RuntimeError::Rebuild(Box::new(e)))?;
            // The opened partitions' sagas may take their next step on an account of a kept
            // partition, whose memory holds no history of them: what the store kept of those
            // transfers (a credit already booked there) comes back first.
            let driven: Vec<Id> = rebuilt.handler.saga().transfer_ids().collect();
            if let Some(handler) = self.handler.as_mut() {
                handler.adopt(rebuilt.handler);
                if let Some(store) = self.store.as_ref() {
                    for transfer in driven {
                        let facts = tokio::task::block_in_place(|| store.facts(transfer))
                            .map_err(|error| RuntimeError::Store(Box::new(error)))?;
                        handler.recall(transfer, facts);
                    }
                }
            }
            self.open_tasks(opening, &rebuilt.ends);
            let replayed = self.status.records_replayed.load(Ordering::Relaxed);
            metrics::rebuilt(
                started.elapsed(),
                opening.len(),
                replayed.saturating_sub(replayed_before),
            );
            self.status
                .partitions_rebuilt
                .fetch_add(opening.len() as u64, Ordering::Relaxed);
        }
        self.rewind(consumer, assignment)?;
        let Some(handler) = self.handler.as_mut() else {
            return Ok(false);
        };
        let resumed = handler.resume_in(opening);
        let now = Instant::now();
        for transfer in handler.awaiting_remote() {
            self.awaiting.entry(transfer).or_insert(now);
        }
        self.count_open_transfers();
        if !resumed.is_empty() {
            tracing::info!(
                records = resumed.len(),
                "finishing transfers the log left open"
            );
            match self.write_unprompted(consumer, pump, &resumed).await? {
                Some(written) => self.after_commit(&resumed, &written, &[])?,
                None => return Ok(false),
            }
        }
        self.status.rebuilds.fetch_add(1, Ordering::Relaxed);
        self.status
            .set_partitions(self.tasks.keys().copied().collect());
        self.status.set_ready();
        Ok(true)
    }

    fn open_tasks(&mut self, opening: &BTreeSet<i32>, ends: &[PartitionEnd]) {
        for &partition in opening {
            self.tasks.insert(partition, PartitionTask::default());
        }
        for end in ends {
            let topic = one_of(&EVENT_TOPICS, &end.topic);
            if let (Some(task), Some(topic)) = (self.tasks.get_mut(&end.partition), topic) {
                task.ended_at(topic, end.end);
            }
        }
    }

    /// Rewinds the consumer to the group's committed offsets (see [`assignment::rewind`]) and
    /// gives each task those of its partition.
    fn rewind(
        &mut self,
        consumer: &Member,
        assignment: &TopicPartitionList,
    ) -> Result<(), RuntimeError> {
        for task in self.tasks.values_mut() {
            task.committed.clear();
        }
        for (topic, partition, next) in assignment::rewind(consumer, assignment)? {
            let consumed = one_of(&CONSUMED_TOPICS, &topic);
            if let (Some(task), Some(topic)) = (self.tasks.get_mut(&partition), consumed) {
                task.commit(topic, next);
            }
        }
        Ok(())
    }

    /// After a transaction committed: the consumed offsets it carried are the tasks' committed
    /// ones now, the event partitions it wrote end after its commit marker, and what it changed
    /// goes to the state store (the rows its events and the transfers of its inputs touched).
    pub fn after_commit(
        &mut self,
        outputs: &[Output],
        written: &Written,
        inputs: &[Id],
    ) -> Result<(), RuntimeError> {
        let mut changes = Changes::of(outputs, inputs);
        for ((topic, partition), next) in written {
            let event_topic = one_of(&EVENT_TOPICS, topic);
            if let (Some(task), Some(topic)) = (self.tasks.get_mut(partition), event_topic) {
                // Only this instance writes its partitions: the commit marker follows its last
                // record, and the log's end follows the marker.
                task.ended_at(topic, next + 1);
                changes.position(topic, *partition, *next);
            }
        }
        self.count_open_transfers();
        self.unwritten.absorb(changes);
        self.write_to_store(false)
    }

    /// Records the consumed offsets a committed batch carried.
    pub fn committed(&mut self, offsets: &BTreeMap<(String, i32), i64>) {
        for ((topic, partition), next) in offsets {
            let consumed = one_of(&CONSUMED_TOPICS, topic);
            if let (Some(task), Some(topic)) = (self.tasks.get_mut(partition), consumed) {
                task.commit(topic, *next);
            }
        }
    }

    /// Writes what committed transactions changed to the state store, with the offsets Kafka
    /// gave their events; then the handler forgets the history the store now holds. Without
    /// `wait`, a write the store's background fsync holds up is put off to the next one.
    fn write_to_store(&mut self, wait: bool) -> Result<(), RuntimeError> {
        let (Some(store), Some(handler)) = (self.store.as_ref(), self.handler.as_mut()) else {
            return Ok(());
        };
        let stored = tokio::task::block_in_place(|| {
            store.write(handler.state(), handler.saga(), &self.unwritten, wait)
        })
        .map_err(|error| RuntimeError::Store(Box::new(error)))?;
        if stored {
            self.unwritten = Changes::default();
            handler.forget_history();
        }
        Ok(())
    }

    fn count_open_transfers(&self) {
        if let Some(handler) = self.handler.as_ref() {
            let open = handler.open_transfers() as u64;
            self.status.open_transfers.store(open, Ordering::Relaxed);
            metrics::open_transfers(open);
        }
    }
}

/// `name` as the static name of one of `topics`, the keys a task's maps use.
fn one_of(topics: &[&'static str], name: &str) -> Option<&'static str> {
    topics.iter().copied().find(|topic| *topic == name)
}
