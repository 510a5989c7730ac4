use std::sync::Arc;

use super::*;
use crate::projection::{BankProjector, DerivedTransaction};
use crate::read_model::ReadModel;
use crate::source::Source;
use crate::test_events::*;

fn derived(partition: i32, offset: i64) -> Derived {
    Derived::Transaction(DerivedTransaction {
        source: Source::at(partition, offset),
        event: topology::TransactionHappenedEvent {
            iban: A.into(),
            new_balance: 0,
            changed_by: 0,
            from_to: CASH.into(),
            description: String::new(),
            transaction_id: 1,
            at_millis: None,
        },
        alerts: Vec::new(),
        traceparent: None,
    })
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
    let published =
        PublishedPositions::from_committed([(0, Some(8)), (3, None), (5, Some(0)), (7, Some(2))]);
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
            .and_then(Derived::transaction)
        {
            let derived = Derived::Transaction(derived);
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
    let published = published
        .into_iter()
        .filter_map(Derived::transaction)
        .collect();
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

/// One projector instance of the simulation below: its own projection of every partition,
/// in its own interleaving, and its queue.
struct Instance<'a> {
    projector: BankProjector,
    queue: PublishQueue,
    delivered: Vec<Delivered<'a>>,
    next: usize,
    /// The partitions Kafka assigned to it, once it has read their committed offsets.
    owned: BTreeSet<i32>,
}

impl<'a> Instance<'a> {
    fn start(delivered: Vec<Delivered<'a>>, partitions: i32, committed: &Committed) -> Self {
        Self {
            projector: BankProjector::new(Arc::new(ReadModel::new()), partitions),
            queue: PublishQueue::new(PublishedPositions::from_committed(
                committed.iter().map(|(&p, &o)| (p, Some(o))),
            )),
            delivered,
            next: 0,
            owned: BTreeSet::new(),
        }
    }

    fn project_some(&mut self, count: usize) {
        for &(partition, offset, event) in self.delivered.iter().skip(self.next).take(count) {
            if let Some(derived) = self
                .projector
                .project(Source::at(partition, offset), event)
                .unwrap()
            {
                self.queue.offer(derived);
            }
        }
        self.next = self.next.saturating_add(count).min(self.delivered.len());
    }

    /// Takes `owned` over, as the runtime does after an assignment: the committed offsets
    /// first, then publishing.
    fn take(&mut self, owned: BTreeSet<i32>, committed: &Committed) {
        for &partition in &owned {
            self.queue
                .learn_committed(partition, committed.get(&partition).copied());
        }
        self.owned = owned;
    }

    /// One transaction of at most `max` events, with their offsets.
    fn publish(
        &mut self,
        max: usize,
        out: &mut Vec<DerivedTransaction>,
        committed: &mut Committed,
    ) {
        let batch = self.queue.next_batch(&self.owned, max);
        committed.extend(offsets_to_commit(&batch));
        self.queue.published(&batch);
        out.extend(batch.into_iter().filter_map(Derived::transaction));
    }
}

#[test]
fn instances_handing_partitions_over_publish_every_derived_event_exactly_once() {
    const P: i32 = 12;
    let history = busy_history(16, 60);
    let histories = partition_histories(&history, P);
    let (uninterrupted, _) = run(
        P,
        &shuffled(&histories, 1),
        &Committed::new(),
        1,
        usize::MAX,
    );
    let mut expected = uninterrupted;
    expected.sort_by_key(|d| d.event.transaction_id);

    for seed in 0..20u64 {
        let mut committed = Committed::new();
        let mut out = Vec::new();
        let mut instances = [
            Instance::start(shuffled(&histories, 10 + seed), P, &committed),
            Instance::start(shuffled(&histories, 100 + seed), P, &committed),
        ];
        let mut random = seed;
        let mut step = || {
            random = random
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            usize::try_from(random >> 33).unwrap()
        };
        for round in 0..400 {
            let which = step() % 2;
            match step() % 10 {
                // A rebalance: every partition to one side or the other, at random. The
                // losers stop first (an eager rebalance revokes before it assigns).
                0 => {
                    let to_first: BTreeSet<i32> = (0..P).filter(|_| step() % 2 == 0).collect();
                    let to_second = (0..P).filter(|p| !to_first.contains(p)).collect();
                    instances[0].owned.clear();
                    instances[1].owned.clear();
                    instances[0].take(to_first, &committed);
                    instances[1].take(to_second, &committed);
                }
                // A kill and a restart: rebuilt from nothing, owning nothing until assigned.
                1 if round % 3 == 0 => {
                    let order = shuffled(&histories, 1000 + seed * 7 + round);
                    instances[which] = Instance::start(order, P, &committed);
                }
                // A refresh of the committed offsets of every partition.
                2 => {
                    for partition in 0..P {
                        let offset = committed.get(&partition).copied();
                        instances[which].queue.learn_committed(partition, offset);
                    }
                }
                _ => {
                    let count = step() % 40;
                    instances[which].project_some(count);
                    let max = 1 + step() % 5;
                    instances[which].publish(max, &mut out, &mut committed);
                }
            }
        }
        // In the end one instance owns everything and catches up.
        instances[1].owned.clear();
        instances[0].take((0..P).collect(), &committed);
        instances[0].project_some(usize::MAX);
        instances[0].publish(usize::MAX, &mut out, &mut committed);

        out.sort_by_key(|d| d.event.transaction_id);
        let ids = sorted_ids(&out);
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique, "published twice (seed {seed})");
        assert_eq!(out, expected, "seed {seed}");
        let waiting: usize = instances.iter().map(|i| i.queue.len()).sum();
        assert!(
            waiting <= instances[1].queue.len(),
            "the owner of everything keeps nothing"
        );
    }
}

#[test]
fn a_queue_keeps_only_what_is_not_known_to_be_published() {
    let mut queue = PublishQueue::new(PublishedPositions::from_committed([(0, Some(5))]));
    queue.offer(derived(0, 4));
    queue.offer(derived(0, 5));
    queue.offer(derived(0, 6));
    queue.offer(derived(1, 0));
    assert_eq!(queue.len(), 3);
    let owned = BTreeSet::from([0]);
    let batch = queue.next_batch(&owned, 10);
    assert_eq!(batch, [derived(0, 5), derived(0, 6)]);
    assert_eq!(queue.next_batch(&owned, 1), [derived(0, 5)]);

    // Another instance published partition 1 up to offset 0; an older read changes nothing.
    queue.learn_committed(1, Some(1));
    queue.learn_committed(0, Some(2));
    assert_eq!(queue.len(), 2);
    queue.published(&batch[..1]);
    assert_eq!(queue.next_batch(&owned, 10), [derived(0, 6)]);
    assert_eq!(queue.positions().last_published(0), Some(5));
    queue.offer(derived(0, 5));
    assert_eq!(queue.len(), 1, "what is published is not taken again");
}
