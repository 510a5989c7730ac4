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
//! ([`DerivedTransaction::source`] has the partition and offset).
//!
//! # Runtime design
//!
//! - One consumer of every `bank_events` partition, manually assigned and started at offset 0,
//!   with `enable.auto.commit=false` and `isolation.level=read_committed`. Its consumer group
//!   (e.g. `projector`) is used only to store the publishing position, never to subscribe.
//! - One transactional producer with a stable `transactional.id` (e.g. `projector-transactions`):
//!   `init_transactions` at start fences a previous instance that might still be publishing.
//! - At start, after fencing: read the group's committed offset of every `bank_events`
//!   partition into a [`PublishedPositions`]. Those committed offsets are the source of truth;
//!   `transaction_events` is not: it keeps records for 60 s only, so after a longer stop it
//!   would look as if nothing had ever been published.
//! - For every event: [`crate::projection::BankProjector::project`]; a derived transaction
//!   with [`PublishedPositions::should_publish`] true joins the batch. In one producer
//!   transaction: produce the batch to `transaction_events` keyed by
//!   [`DerivedTransaction::key`] (the IBAN), `send_offsets_to_transaction` with
//!   [`offsets_to_commit`] of the batch (for *each* partition in the batch, the offset after
//!   its last derived event there) for the group, and commit. Partitions without a derived
//!   event in the batch keep their committed offset; events that derive nothing need no
//!   commit.
//! - If a commit fails with an abortable error: abort and send the same batch again (the
//!   derived events are still in hand; the read model must not be fed the events twice). If
//!   the producer is fenced or fails fatally: exit, and let the restart rebuild.
//! - Queries should be answered only once the replay has reached the end offsets seen at
//!   start; before that "does not exist" answers would be wrong, not merely stale.
//! - Only the instance holding the transactional id publishes. Other instances may rebuild and
//!   answer queries; their derived events are the same and are simply not published.
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

use std::collections::BTreeMap;

use crate::projection::DerivedTransaction;

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
pub fn offsets_to_commit(batch: &[DerivedTransaction]) -> BTreeMap<i32, i64> {
    let mut offsets = BTreeMap::new();
    for derived in batch {
        let next = offset_to_commit(derived.source.offset);
        offsets
            .entry(derived.source.partition)
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
    pub fn should_publish(&self, derived: &DerivedTransaction) -> bool {
        should_publish(
            derived.source.offset,
            self.last_published(derived.source.partition),
        )
    }

    /// Partitions something was published from, with their last published offset.
    pub fn iter(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.last_published.iter().map(|(&p, &offset)| (p, offset))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::projection::BankProjector;
    use crate::read_model::ReadModel;
    use crate::source::Source;
    use crate::test_events::*;

    fn derived(partition: i32, offset: i64) -> DerivedTransaction {
        DerivedTransaction {
            source: Source::at(partition, offset),
            event: topology::TransactionHappenedEvent {
                iban: A.into(),
                new_balance: 0,
                changed_by: 0,
                from_to: CASH.into(),
                description: String::new(),
                transaction_id: 1,
            },
        }
    }

    #[test]
    fn everything_is_published_when_nothing_was() {
        assert!(should_publish(0, None));
        assert!(should_publish(41, None));
        assert!(PublishedPositions::nothing().should_publish(&derived(7, 0)));
    }

    #[test]
    fn only_offsets_after_the_last_published_one_are_published() {
        assert!(!should_publish(3, Some(7)));
        assert!(!should_publish(7, Some(7)));
        assert!(should_publish(8, Some(7)));
    }

    #[test]
    fn the_committed_offset_is_the_next_to_read() {
        assert_eq!(last_published_offset(None), None);
        assert_eq!(last_published_offset(Some(0)), None);
        assert_eq!(last_published_offset(Some(-1001)), None);
        assert_eq!(last_published_offset(Some(8)), Some(7));
        assert_eq!(offset_to_commit(7), 8);
        assert_eq!(last_published_offset(Some(offset_to_commit(7))), Some(7));
    }

    #[test]
    fn each_partition_has_its_own_position() {
        let published = PublishedPositions::from_committed([
            (0, Some(8)),
            (3, None),
            (5, Some(0)),
            (7, Some(2)),
        ]);
        assert_eq!(published.iter().collect::<Vec<_>>(), [(0, 7), (7, 1)]);
        assert!(!published.should_publish(&derived(0, 7)));
        assert!(published.should_publish(&derived(0, 8)));
        // Nothing was published from 3 and 5, whatever other partitions say.
        assert!(published.should_publish(&derived(3, 0)));
        assert!(published.should_publish(&derived(5, 0)));
        assert!(!published.should_publish(&derived(7, 1)));
        assert!(published.should_publish(&derived(7, 2)));
    }

    #[test]
    fn a_batch_commits_past_its_last_event_of_each_partition() {
        let batch = [derived(2, 10), derived(5, 3), derived(2, 14), derived(5, 4)];
        let offsets = offsets_to_commit(&batch);
        assert_eq!(offsets.into_iter().collect::<Vec<_>>(), [(2, 15), (5, 5)]);
        assert!(offsets_to_commit(&[]).is_empty());
    }

    /// The group's committed offsets, by partition.
    type Committed = BTreeMap<i32, i64>;

    /// One run of the projector as the runtime does it: start from `committed`, project
    /// `delivered` from offset 0 of every partition, publish the news in transactions of
    /// `batch_size` derived events that also commit their offsets. Stops (as if killed) after
    /// `stop_after` delivered events, losing the batch being built.
    fn run(
        partitions: i32,
        delivered: &[Delivered<'_>],
        committed: &Committed,
        batch_size: usize,
        stop_after: usize,
    ) -> (Vec<DerivedTransaction>, Committed) {
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()), partitions);
        let published_before =
            PublishedPositions::from_committed(committed.iter().map(|(&p, &o)| (p, Some(o))));
        let mut committed = committed.clone();
        let mut published = Vec::new();
        let mut batch = Vec::new();
        for &(partition, offset, event) in delivered.iter().take(stop_after) {
            if let Some(derived) = projector
                .project(Source::at(partition, offset), event)
                .unwrap()
            {
                if published_before.should_publish(&derived) {
                    batch.push(derived);
                }
            }
            if batch.len() == batch_size {
                // The transaction: the events and the offsets, together.
                committed.extend(offsets_to_commit(&batch));
                published.append(&mut batch);
            }
        }
        if stop_after >= delivered.len() {
            // Caught up and idle: the runtime publishes what it has.
            committed.extend(offsets_to_commit(&batch));
            published.append(&mut batch);
        }
        (published, committed)
    }

    fn sorted_ids(events: &[DerivedTransaction]) -> Vec<i32> {
        let mut ids: Vec<i32> = events.iter().map(|d| d.event.transaction_id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_restart_publishes_only_what_the_first_run_did_not() {
        let history = mixed_history();
        let delivered = one_partition_after_another(std::slice::from_ref(&history), [0]);
        let crash_after = 13; // the first run saw offsets 0..=12: transactions 1 to 5
        let (first, committed) = run(1, &delivered, &Committed::new(), 1, crash_after);
        let (second, _) = run(1, &delivered, &committed, 1, usize::MAX);
        let (uninterrupted, _) = run(1, &delivered, &Committed::new(), 1, usize::MAX);

        assert_eq!(first.len(), 5);
        assert_eq!(second.len(), 1);
        let together: Vec<DerivedTransaction> = first.into_iter().chain(second).collect();
        assert_eq!(together, uninterrupted);
    }

    #[test]
    fn a_restart_after_everything_was_published_publishes_nothing() {
        let history = mixed_history();
        let delivered = one_partition_after_another(std::slice::from_ref(&history), [0]);
        let (all, committed) = run(1, &delivered, &Committed::new(), 1, usize::MAX);
        assert_eq!(all.len(), 6);
        let (again, _) = run(1, &delivered, &committed, 1, usize::MAX);
        assert!(again.is_empty());
    }

    #[test]
    fn restarts_in_other_interleavings_publish_every_derived_event_exactly_once() {
        const P: i32 = 12;
        let history = busy_history(16, 60);
        let histories = partition_histories(&history, P);
        let everything = shuffled(&histories, 1);
        let (uninterrupted, _) = run(P, &everything, &Committed::new(), 1, usize::MAX);
        assert_eq!(uninterrupted.len(), 124);

        for (crash_a, crash_b) in [(0, 0), (17, 40), (90, 30), (200, 5), (usize::MAX, 0)] {
            // Three runs, each reading the partitions in another order, the first two killed.
            let (first, committed) = run(P, &everything, &Committed::new(), 4, crash_a);
            let second_order = shuffled(&histories, 2);
            let (second, committed) = run(P, &second_order, &committed, 3, crash_b);
            let third_order = one_partition_after_another(&histories, (0..P).rev());
            let (third, _) = run(P, &third_order, &committed, 5, usize::MAX);

            let mut together: Vec<DerivedTransaction> =
                first.into_iter().chain(second).chain(third).collect();
            let ids = sorted_ids(&together);
            let mut unique = ids.clone();
            unique.dedup();
            assert_eq!(
                ids, unique,
                "published twice (crashes {crash_a}, {crash_b})"
            );
            together.sort_by_key(|d| d.event.transaction_id);
            let mut expected = uninterrupted.clone();
            expected.sort_by_key(|d| d.event.transaction_id);
            assert_eq!(together, expected, "crashes {crash_a}, {crash_b}");
        }
    }
}
