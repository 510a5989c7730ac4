//! Twelve partitions read in different interleavings: the same ids, lists, balances and
//! descriptions whatever the order.

use std::collections::HashSet;

use topology::routing::partition_for;

use super::*;

/// Twelve partitions, like the topology's `bank_events`.
const P: i32 = 12;

#[test]
fn ids_are_identical_whatever_order_the_partitions_are_read_in() {
    let history = busy_history(16, 60);
    let histories = partition_histories(&history, P);
    let used = histories.iter().filter(|h| !h.is_empty()).count();
    assert!(used >= 6, "the history should spread: {used} partitions");

    let ascending = one_partition_after_another(&histories, 0..P);
    let descending = one_partition_after_another(&histories, (0..P).rev());
    let (first, first_derived) = project_delivered(P, &ascending);
    let first_derived = by_id(first_derived);
    // 16 deposits; 60 debits; 36 credits and 12 returns (every fifth transfer leaves the bank).
    assert_eq!(first_derived.len(), 16 + 60 + 36 + 12);
    for other in [
        descending,
        shuffled(&histories, 1),
        shuffled(&histories, 4242),
    ] {
        assert_ne!(other, ascending, "a different interleaving");
        let (again, derived) = project_delivered(P, &other);
        assert_eq!(by_id(derived), first_derived);
        for d in &first_derived {
            let iban = &d.event.iban;
            assert_eq!(
                again.read_model().newest_transactions(iban, 1_000),
                first.read_model().newest_transactions(iban, 1_000)
            );
            assert_eq!(
                again.read_model().transaction(d.event.transaction_id),
                first.read_model().transaction(d.event.transaction_id)
            );
        }
        assert_eq!(
            again.read_model().last_transactions(),
            first.read_model().last_transactions()
        );
    }

    // Balances do not depend on the partitioning: the same as in one partition.
    let mut one = projector();
    project_all(&mut one, &history);
    for d in &first_derived {
        assert_eq!(balance(&first, &d.event.iban), balance(&one, &d.event.iban));
    }
}

#[test]
fn ids_are_unique_follow_the_rule_and_are_found_by_id() {
    let history = busy_history(16, 60);
    let histories = partition_histories(&history, P);
    let (projector, derived) = project_delivered(P, &shuffled(&histories, 7));
    let model = projector.read_model();

    let ids: HashSet<i32> = derived.iter().map(|d| d.event.transaction_id).collect();
    assert_eq!(ids.len(), derived.len(), "every id once");
    assert_eq!(model.transaction_count(), derived.len());
    for d in &derived {
        let stored = model.transaction(d.event.transaction_id).unwrap();
        assert_eq!(TransactionHappenedEvent::from(&*stored), d.event);
    }
    // Per partition: p + 1, p + 1 + P, p + 1 + 2P, … in offset order.
    for p in 0..P {
        let mut own: Vec<&DerivedTransaction> =
            derived.iter().filter(|d| d.source.partition == p).collect();
        own.sort_by_key(|d| d.source.offset);
        let expected: Vec<i32> = (0..).map(|k| k * P + p + 1).take(own.len()).collect();
        let got: Vec<i32> = own.iter().map(|d| d.event.transaction_id).collect();
        assert_eq!(got, expected, "partition {p}");
    }
}

#[test]
fn a_return_names_the_debit_of_its_own_partition() {
    let history = busy_history(16, 60);
    let histories = partition_histories(&history, P);
    let (projector, derived) = project_delivered(P, &shuffled(&histories, 3));
    let returns: Vec<&DerivedTransaction> = derived
        .iter()
        .filter(|d| d.event.description.starts_with("Cancelled"))
        .collect();
    assert_eq!(returns.len(), 12);
    for r in returns {
        let named = r
            .event
            .description
            .strip_prefix("Cancelled transaction with id ")
            .and_then(|rest| rest.strip_suffix(" because iban not known"))
            .and_then(|id| id.parse::<i32>().ok())
            .unwrap_or_else(|| panic!("{}", r.event.description));
        let debit = projector.read_model().transaction(named).unwrap();
        assert_eq!(debit.iban, r.event.iban);
        assert_eq!(debit.changed_by, -r.event.changed_by);
        assert_ne!(debit.from_to, UNKNOWN_COUNTERPARTY);
        // A return's counterparty is the transfer's `from`: the account itself.
        assert_eq!(r.event.from_to, r.event.iban);
        assert_eq!((named - 1) % P, r.source.partition);
        assert!(named < r.event.transaction_id);
    }
}

#[test]
fn a_credit_read_before_its_transfer_starts_takes_from_and_description_from_the_event() {
    let rent = id(1);
    let history = [
        account_created(A, "alice", "ta"),
        account_created(B, "bob", "tb"),
        transfer_started(rent, A, B, "rent"),
        debited(rent, A, 2_500),
        credited_from(rent, B, 2_500, A, "rent"),
        transfer_completed(rent),
    ];
    let histories = partition_histories(&history, P);
    let (home, other) = (partition_for(A, P), partition_for(B, P));
    assert_ne!(home, other, "A and B should be in different partitions");
    // B's partition (the credit) first, the transfer's home after it.
    let delivered = one_partition_after_another(&histories, [other, home]);
    let (projector, derived) = project_delivered(P, &delivered);

    let shown: Vec<(&str, i64, &str, &str)> = derived
        .iter()
        .map(|d| {
            let e = &d.event;
            (
                e.iban.as_str(),
                e.changed_by,
                e.from_to.as_str(),
                e.description.as_str(),
            )
        })
        .collect();
    assert_eq!(shown, [(B, 2_500, A, "rent"), (A, -2_500, B, "rent")]);
    assert_eq!(derived[0].event.transaction_id, other + 1);
    assert_eq!(derived[1].event.transaction_id, home + 1);
    assert_eq!(balance(&projector, B), 2_500);
}
