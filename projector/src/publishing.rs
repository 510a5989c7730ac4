//! Exactly-once publishing of derived `TransactionHappenedEvent`s, per `bank_events` partition.
//!
//! The read model lives in memory, so at every start the projector replays every partition of
//! `bank_events` (kept forever) from offset 0. Replaying history must rebuild the model, yet
//! must not publish history's derived events a second time, nor skip one. Derived events are
//! deterministic per partition: what an event derives, transaction id included, depends only on
//! the events before it in its own partition (see [`crate::projection`]), never on how Kafka
//! interleaved the partitions. So the only question is *which* derived events are already out,
//! and since a partition is always read in offset order, the answer per partition is one
//! number: the source offset of the last derived event published from it
//! ([`Derived::source`] has the partition and offset).
//!
//! # Runtime design
//!
//! - Every instance reads every `bank_events` partition from offset 0 with a consumer of its
//!   own (`read_committed`, in no group) and derives every partition's events.
//! - Each instance has one transactional producer with a stable `transactional.id` of its own:
//!   `init_transactions` at start fences that instance's previous process.
//! - Publishing assignment: each instance has a static member of the publishing group (e.g.
//!   `projector`) subscribed to `bank_events`; its assignment is what the instance publishes
//!   (see `runtime::assignment`). It joins once the instance has caught up.
//! - The group's committed offset of each partition is the publishing position. Those committed
//!   offsets are the source of truth; `transaction_events` is not: it keeps records for 60 s
//!   only, so after a longer stop it would look as if nothing had ever been published.
//! - Every derived event past the known position of its partition waits in a
//!   [`PublishQueue`]. The known positions come from the committed offsets read at start, every
//!   second, after every assignment change, and from this instance's own commits.
//! - Per round, the waiting events of the owned partitions go out in one producer transaction:
//!   produce them to `transaction_events` (a transaction) and `alert_events` (its alerts, or a
//!   standing order's failed run), keyed by the IBAN, `send_offsets_to_transaction` with
//!   [`offsets_to_commit`] of the batch (for *each* partition in the batch, the offset after
//!   its last derived event there) and the member's group metadata, and commit. Partitions without a derived event in the batch keep their committed
//!   offset; events that derive nothing need no commit.
//! - After an assignment change, nothing is published until the committed offsets were read
//!   again (a stable read, which waits for open transactions with offsets of the group).
//! - A transaction that fails abortably is aborted and its events stay queued; one the group
//!   refuses (a generation that is over) publishes nothing, and the assignment is read again. If
//!   the producer is fenced or fails fatally: exit, and let the restart rebuild.
//! - Queries should be answered only once the replay has reached the end offsets seen at
//!   start; before that "does not exist" answers would be wrong, not merely stale.
//!
//! # Why exactly once
//!
//! Take partition `p` and the derived events of its money events in offset order
//! `d₁, d₂, …`. A transaction publishes a contiguous run of them together with `p`'s committed
//! offset just past the last one of the run, atomically: after any crash the committed offset
//! of `p` is past `dₙ` exactly when `d₁ … dₙ` are on `transaction_events`, and no later one is
//! (batches go out in the order they were built, and a partition is projected in offset
//! order). A restart rebuilds `d₁, d₂, …` identically (determinism per partition) and
//! publishes exactly those past the committed offset: none twice, none skipped. Other
//! partitions never enter this argument, so the interleaving Kafka chose before and after the
//! restart does not matter.
//!
//! With several instances, the same holds per partition across owners: a transaction commits
//! `p`'s offset only with the group metadata of the generation that assigned `p` to its
//! instance, so after a handover the old owner's transactions either committed before the new
//! owner's stable read of `p`'s offset (which then shows them) or are refused and publish
//! nothing. The new owner publishes exactly what follows that offset, which its queue still
//! holds, since it drops only what committed offsets show as published.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::projection::Derived;

mod stored;
pub use stored::stored_news;

/// Whether the derived event of `source_offset` must be published, given the last source
/// offset of the same partition whose derived event is already out (`None`: nothing published
/// yet from that partition).
pub fn should_publish(source_offset: i64, last_published: Option<i64>) -> bool {
    last_published.is_none_or(|last| source_offset > last)
}

/// The last published source offset of a partition from the group's committed offset of it.
///
/// Kafka commits the *next* offset to read, so the last published one is one less. `None` (no
/// committed offset, which rdkafka reports as `Offset::Invalid`) and `0` both mean nothing was
/// published yet.
pub fn last_published_offset(committed: Option<i64>) -> Option<i64> {
    committed.filter(|&next| next > 0).map(|next| next - 1)
}

/// The offset to commit with the derived event of `source_offset`: the next one to read.
pub fn offset_to_commit(source_offset: i64) -> i64 {
    source_offset.saturating_add(1)
}

/// The offsets to commit with `batch`: for every partition with a derived event in it, the
/// offset after its last (highest) one.
pub fn offsets_to_commit(batch: &[Derived]) -> BTreeMap<i32, i64> {
    let mut offsets = BTreeMap::new();
    for derived in batch {
        let next = offset_to_commit(derived.source().offset);
        offsets
            .entry(derived.source().partition)
            .and_modify(|offset: &mut i64| *offset = (*offset).max(next))
            .or_insert(next);
    }
    offsets
}

/// What is already published, per `bank_events` partition: the last source offset of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishedPositions {
    last_published: BTreeMap<i32, i64>,
}

impl PublishedPositions {
    /// Nothing published from any partition.
    pub fn nothing() -> Self {
        Self::default()
    }

    /// From the group's committed offsets: (partition, committed offset or `None`).
    pub fn from_committed(committed: impl IntoIterator<Item = (i32, Option<i64>)>) -> Self {
        let last_published = committed
            .into_iter()
            .filter_map(|(partition, next)| {
                last_published_offset(next).map(|last| (partition, last))
            })
            .collect();
        Self { last_published }
    }

    /// The last published source offset of `partition`, `None` before its first.
    pub fn last_published(&self, partition: i32) -> Option<i64> {
        self.last_published.get(&partition).copied()
    }

    /// Whether `derived` is news: past the last published offset of its partition.
    pub fn should_publish(&self, derived: &Derived) -> bool {
        should_publish(
            derived.source().offset,
            self.last_published(derived.source().partition),
        )
    }

    /// Partitions something was published from, with their last published offset.
    pub fn iter(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.last_published.iter().map(|(&p, &offset)| (p, offset))
    }
}

/// The derived events of one instance that are not known to be published yet, per
/// `bank_events` partition, whoever owns it.
///
/// Every instance projects every partition, but publishes only those of the publishing group
/// that Kafka assigned to it. It keeps the derived events of the others too, because a
/// partition it gains must be published from the previous owner's last commit on, and those
/// events are projected (once) long before the handover. What the group's committed offsets
/// show as published is dropped, so this holds about one refresh interval of each partition
/// it does not own, and what it owns but has not published yet.
#[derive(Debug, Default)]
pub struct PublishQueue {
    published: PublishedPositions,
    waiting: BTreeMap<i32, VecDeque<Derived>>,
}

impl PublishQueue {
    /// A queue that takes what `published` does not show as published.
    pub fn new(published: PublishedPositions) -> Self {
        Self {
            published,
            waiting: BTreeMap::new(),
        }
    }

    /// Keeps `derived` until it is known to be published; drops it if it is already.
    pub fn offer(&mut self, derived: Derived) {
        if self.published.should_publish(&derived) {
            self.waiting
                .entry(derived.source().partition)
                .or_default()
                .push_back(derived);
        }
    }

    /// The group's committed offset of `partition` was read (a stable read, so it includes
    /// every committed transaction): what it covers is published, whoever did it. Committed
    /// offsets only move forward, so an older read never takes back a newer one.
    pub fn learn_committed(&mut self, partition: i32, committed: Option<i64>) {
        if let Some(last) = last_published_offset(committed) {
            self.mark_published(partition, last);
        }
    }

    /// This instance's transaction with `batch` committed.
    pub fn published(&mut self, batch: &[Derived]) {
        for (partition, next) in offsets_to_commit(batch) {
            self.mark_published(partition, next - 1);
        }
    }

    /// What to publish now: the waiting events of `owned` partitions, each partition's in
    /// offset order, at most `max` of them.
    pub fn next_batch(&self, owned: &BTreeSet<i32>, max: usize) -> Vec<Derived> {
        owned
            .iter()
            .filter_map(|partition| self.waiting.get(partition))
            .flatten()
            .take(max)
            .cloned()
            .collect()
    }

    /// How many derived events wait, over all partitions.
    pub fn len(&self) -> usize {
        self.waiting.values().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.values().all(VecDeque::is_empty)
    }

    /// What is known to be published, per partition.
    pub fn positions(&self) -> &PublishedPositions {
        &self.published
    }

    fn mark_published(&mut self, partition: i32, last: i64) {
        let known = self.published.last_published(partition);
        if known.is_some_and(|known| known >= last) {
            return;
        }
        self.published.last_published.insert(partition, last);
        if let Some(waiting) = self.waiting.get_mut(&partition) {
            while waiting.front().is_some_and(|d| d.source().offset <= last) {
                waiting.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests;
