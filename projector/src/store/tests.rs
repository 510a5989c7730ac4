use std::collections::BTreeMap;

use topology::values::open_iban_for_account;
use topology::BankEvent;

use super::*;
use crate::projection::{BankProjector, Derived, DerivedTransaction};
use crate::publishing::stored_news;
use crate::read_model::ReadModel;
use crate::test_events::*;

const TOPIC: &str = "bank_events";
const PARTITIONS: i32 = 3;

fn identity(cluster: &str) -> Identity {
    Identity {
        cluster_id: cluster.into(),
        bank_events_topic: TOPIC.into(),
        user_events_topic: None,
        partitions: PARTITIONS,
    }
}

fn ends(histories: &[Vec<BankEvent>]) -> Vec<PartitionEnd> {
    (0..)
        .zip(histories)
        .map(|(partition, history)| PartitionEnd {
            topic: TOPIC.into(),
            partition,
            first: 0,
            end: i64::try_from(history.len()).unwrap(),
        })
        .collect()
}

/// Projects `delivered`, flushing every `round` events as the runtime does; returns the
/// derived events.
fn project(
    projector: &mut BankProjector,
    delivered: &[(i32, i64, &BankEvent)],
    round: usize,
) -> Vec<DerivedTransaction> {
    let mut derived = Vec::new();
    for chunk in delivered.chunks(round) {
        let mut moved = BTreeMap::new();
        for &(partition, offset, event) in chunk {
            derived.extend(
                projector
                    .project(Source::at(partition, offset), event)
                    .unwrap()
                    .and_then(Derived::transaction),
            );
            moved.insert(partition, offset + 1);
        }
        let positions = moved
            .into_iter()
            .map(|(partition, next)| (TOPIC.to_string(), partition, next))
            .collect();
        let issued = projector.issued();
        let model = projector.read_model();
        let round = model.take_round(positions, issued);
        model.store().write(&round, false).unwrap();
        model.written();
    }
    derived
}

/// What the queries read, as comparable text.
fn everything(model: &ReadModel, accounts: u32, transfers: u32) -> Vec<String> {
    let mut seen = Vec::new();
    for n in 0..accounts {
        let iban = open_iban_for_account(n);
        seen.push(format!("{:?}", model.account(&iban)));
        seen.push(format!("{:?}", model.newest_transactions(&iban, 1_000)));
        seen.push(format!("{:?}", model.ibans_of_user(&format!("user-{n}"))));
    }
    seen.push(format!("{:?}", model.last_transactions()));
    for id in 0..=model.transaction_count() + 1 {
        seen.push(format!(
            "{:?}",
            model.transaction(i32::try_from(id).unwrap())
        ));
    }
    for t in 0..transfers {
        seen.push(format!("{:?}", model.transfer_outcome(&numbered_id(2, t))));
    }
    seen.push(format!("{:?}", model.accounts_page(None, 0, 1_000)));
    seen
}

#[test]
fn a_projector_resumed_from_its_store_answers_as_one_that_replayed_everything() {
    let (accounts, transfers) = (7, 60);
    let histories = partition_histories(&busy_history(accounts, transfers), PARTITIONS);
    let delivered = shuffled(&histories, 11);
    let mut full = BankProjector::new(Arc::new(ReadModel::new()), PARTITIONS);
    let all_derived = project(&mut full, &delivered, 1_000_000);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("projector.redb");
    let (store, restored) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
    assert!(restored.is_none());
    let mut first = BankProjector::new(Arc::new(ReadModel::with_store(store)), PARTITIONS);
    let half = delivered.len() / 2;
    let mut derived = project(&mut first, &delivered[..half], 7);
    // A round after the last flush is lost, as in a crash.
    first
        .project(
            Source::at(delivered[half].0, delivered[half].1),
            delivered[half].2,
        )
        .unwrap();
    drop(first);

    let (store, restored) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
    let restored = restored.expect("the store is kept");
    let positions = restored.positions.clone();
    let issued = restored.issued.clone();
    let model = Arc::new(ReadModel::with_store(store));
    model.restore(restored);
    let last_projected = positions
        .iter()
        .map(|((_, partition), next)| (*partition, next - 1))
        .collect();
    let mut resumed = BankProjector::resume(model, PARTITIONS, &issued, &last_projected);
    let rest: Vec<_> = delivered
        .iter()
        .copied()
        .filter(|&(partition, offset, _)| {
            positions
                .get(&(TOPIC.to_string(), partition))
                .is_none_or(|&next| offset >= next)
        })
        .collect();
    // The event projected after the last flush is read again.
    assert_eq!(rest.len(), delivered.len() - half);
    derived.extend(project(&mut resumed, &rest, 5));

    let by_source = |mut d: Vec<DerivedTransaction>| {
        d.sort_by_key(|d| (d.source.partition, d.source.offset));
        d
    };
    assert_eq!(by_source(derived), by_source(all_derived));
    assert_eq!(
        everything(resumed.read_model(), accounts, transfers),
        everything(full.read_model(), accounts, transfers)
    );
}

#[test]
fn the_derived_events_after_a_published_offset_are_read_back_in_order() {
    let histories = partition_histories(&busy_history(4, 30), PARTITIONS);
    let delivered = one_partition_after_another(&histories, 0..PARTITIONS);
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), PARTITIONS);
    let derived = project(&mut projector, &delivered, 4);
    let store = projector.read_model().store();
    for (partition, issued) in projector.issued() {
        let of_partition: Vec<&DerivedTransaction> = derived
            .iter()
            .filter(|d| d.source.partition == partition)
            .collect();
        let middle = of_partition
            .get(of_partition.len() / 2)
            .map(|d| d.source.offset);
        for after in [None, Some(0), middle, Some(i64::MAX)] {
            let expected: Vec<(i64, i32)> = of_partition
                .iter()
                .filter(|d| after.is_none_or(|after| d.source.offset > after))
                .map(|d| (d.source.offset, d.event.transaction_id))
                .collect();
            let read: Vec<(i64, i32)> = store
                .derived_after(PARTITIONS, partition, issued, after)
                .unwrap()
                .iter()
                .map(|s| (s.source.offset, s.transaction.id))
                .collect();
            assert_eq!(read, expected, "partition {partition} after {after:?}");
        }
    }
}

#[test]
fn a_failed_standing_order_run_not_yet_published_is_read_back_in_offset_order() {
    let order = id(7);
    let run = topology::schedules::run_transfer_id(order, 0);
    let history = [
        account_created(A, "alice", "ta"),
        standing_order_set(order, A, B),
        standing_order_ran(order, A, 0),
        transfer_started(run, A, B, "rent"),
        transfer_failed(run, "insufficient funds"),
        credited(id(9), A, 5),
    ];
    let delivered: Vec<(i32, i64, &BankEvent)> = history
        .iter()
        .zip(0..)
        .map(|(event, offset)| (0, offset, event))
        .collect();
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 1);
    project(&mut projector, &delivered, 2);
    let store = projector.read_model().store();
    let issued = projector.issued()[0].1;
    let news = |after| -> Vec<(i64, &'static str)> {
        stored_news(store, 1, 0, issued, after)
            .unwrap()
            .iter()
            .map(|derived| match derived {
                Derived::Transaction(derived) => (derived.source.offset, "transaction"),
                Derived::RunFailure(failure) => {
                    assert_eq!(failure.event.transfer_id, run);
                    assert_eq!(failure.event.reason, "insufficient funds");
                    (failure.source.offset, "failed run")
                }
            })
            .collect()
    };
    assert_eq!(news(None), [(4, "failed run"), (5, "transaction")]);
    assert_eq!(news(Some(3)), [(4, "failed run"), (5, "transaction")]);
    assert_eq!(news(Some(4)), [(5, "transaction")]);
    assert_eq!(news(Some(5)), []);
}

#[test]
fn a_store_that_does_not_match_the_log_is_rebuilt() {
    let histories = partition_histories(&busy_history(3, 10), PARTITIONS);
    let delivered = shuffled(&histories, 5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("projector.redb");
    let fill = || {
        let (store, _) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
        let mut projector = BankProjector::new(Arc::new(ReadModel::with_store(store)), PARTITIONS);
        project(&mut projector, &delivered, 10);
    };
    fill();
    let reopened = |identity: &Identity, ends: &[PartitionEnd]| {
        Store::open(&path, identity, ends).unwrap().1.is_some()
    };
    assert!(reopened(&identity("c1"), &ends(&histories)));
    // Another cluster.
    assert!(!reopened(&identity("c2"), &ends(&histories)));
    fill();
    // Another partition count.
    let mut other = identity("c1");
    other.partitions = PARTITIONS + 1;
    assert!(!reopened(&other, &ends(&histories)));
    fill();
    // The log ends before what the store reflects.
    let mut shorter = ends(&histories);
    shorter[1].end -= 1;
    assert!(!reopened(&identity("c1"), &shorter));
    fill();
    // Retention removed records the store has not read.
    let mut trimmed = ends(&histories);
    trimmed[2].first = trimmed[2].end + 1;
    trimmed[2].end += 2;
    assert!(!reopened(&identity("c1"), &trimmed));
    // A rebuilt store holds nothing of the old one.
    let (store, restored) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
    let restored = restored.unwrap();
    assert!(restored.positions.is_empty() && restored.accounts.is_empty());
    assert_eq!(store.transaction_count().unwrap(), 0);
}
