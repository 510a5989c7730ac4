//! The alerts the projection derives: judged by the rules as they stood at each money event in
//! its partition, whatever order the partitions are read in, and never twice.

use std::sync::Arc;

use topology::routing::partition_for;
use topology::{AlertKind, AlertTriggeredEvent, BankEvent};

use crate::projection::{BankProjector, Derived, DerivedTransaction};
use crate::read_model::ReadModel;
use crate::source::Source;
use crate::test_events::*;

/// Projects `events` at offsets 0, 1, … of one partition; returns every alert derived.
fn alerts_of(events: &[BankEvent]) -> Vec<AlertTriggeredEvent> {
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 1);
    (0..)
        .zip(events)
        .filter_map(|(offset, event)| {
            projector
                .project(Source::at(0, offset), event)
                .unwrap()
                .and_then(Derived::transaction)
        })
        .flat_map(|derived| derived.alerts)
        .collect()
}

/// Alice's account A with € 100 on it: a deposit from cash.
fn funded() -> Vec<BankEvent> {
    vec![
        account_created(A, "alice", "ta"),
        transfer_started(id(1), CASH, A, "salary"),
        credited_from(id(1), A, 10_000, CASH, "salary"),
    ]
}

fn with(mut events: Vec<BankEvent>, more: impl IntoIterator<Item = BankEvent>) -> Vec<BankEvent> {
    events.extend(more);
    events
}

/// A debit of `amount` from A to B.
fn debit(n: u8, amount: i64) -> [BankEvent; 2] {
    [
        transfer_started(id(n), A, B, "rent"),
        debited(id(n), A, amount),
    ]
}

#[test]
fn a_rule_set_just_before_a_debit_judges_it_and_one_set_just_after_does_not() {
    let [start, debit_event] = debit(2, 6_000);
    let before = with(
        funded(),
        [
            start.clone(),
            alert_set(A, AlertKind::LargeDebit, Some(5_000)),
            debit_event.clone(),
        ],
    );
    let fired = alerts_of(&before);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].alert_kind, AlertKind::LargeDebit);
    assert_eq!(
        fired[0].transaction_id, 2,
        "the debit, the account's second transaction"
    );
    assert_eq!(fired[0].iban, A);

    let after = with(
        funded(),
        [
            start,
            debit_event,
            alert_set(A, AlertKind::LargeDebit, Some(5_000)),
        ],
    );
    assert!(alerts_of(&after).is_empty());
}

#[test]
fn the_latest_change_before_the_debit_wins() {
    let raised = with(
        funded(),
        [
            alert_set(A, AlertKind::LargeDebit, Some(1_000)),
            alert_set(A, AlertKind::LargeDebit, Some(9_000)),
        ],
    );
    assert!(alerts_of(&with(raised, debit(2, 6_000))).is_empty());

    let lowered = with(
        funded(),
        [
            alert_set(A, AlertKind::LargeDebit, Some(9_000)),
            alert_set(A, AlertKind::LargeDebit, Some(1_000)),
        ],
    );
    assert_eq!(alerts_of(&with(lowered, debit(2, 6_000))).len(), 1);

    let removed = with(
        funded(),
        [
            alert_set(A, AlertKind::LargeDebit, Some(1_000)),
            alert_removed(A, AlertKind::LargeDebit),
        ],
    );
    assert!(alerts_of(&with(removed, debit(2, 6_000))).is_empty());
}

#[test]
fn each_kind_fires_on_its_own_movements() {
    let rules = [
        alert_set(A, AlertKind::BalanceBelow, Some(5_000)),
        alert_set(A, AlertKind::AnyCredit, None),
    ];
    let events = with(with(funded(), rules), debit(2, 6_000));
    let events = with(events, [returned(id(2), A, 6_000, "iban not known")]);
    let kinds: Vec<AlertKind> = alerts_of(&events).iter().map(|a| a.alert_kind).collect();
    // The debit takes € 100 to € 40 (below € 50); the return brings money in.
    assert_eq!(kinds, [AlertKind::BalanceBelow, AlertKind::AnyCredit]);
}

#[test]
fn rules_of_one_account_never_fire_on_another() {
    let events = with(
        funded(),
        [
            account_created(B, "bob", "tb"),
            alert_set(B, AlertKind::AnyCredit, None),
            transfer_started(id(2), CASH, A, "gift"),
            credited_from(id(2), A, 1, CASH, "gift"),
        ],
    );
    assert!(alerts_of(&events).is_empty());
}

/// Two accounts in two partitions, each with rules and money moving between them.
fn two_partitions() -> (i32, Vec<Vec<BankEvent>>) {
    let partitions = 12;
    let (pa, pb) = (partition_for(A, partitions), partition_for(B, partitions));
    assert_ne!(pa, pb, "the test needs A and B in different partitions");
    let mut histories = vec![Vec::new(); 12];
    histories[usize::try_from(pa).unwrap()] = with(
        funded(),
        [
            alert_set(A, AlertKind::LargeDebit, Some(100)),
            transfer_started(id(2), A, B, "one"),
            debited(id(2), A, 200),
            alert_set(A, AlertKind::BalanceBelow, Some(9_700)),
            transfer_started(id(3), A, B, "two"),
            debited(id(3), A, 200),
        ],
    );
    histories[usize::try_from(pb).unwrap()] = vec![
        account_created(B, "bob", "tb"),
        alert_set(B, AlertKind::AnyCredit, None),
        credited_from(id(2), B, 200, A, "one"),
        credited_from(id(3), B, 200, A, "two"),
    ];
    (partitions, histories)
}

fn derive(partitions: i32, delivered: &[Delivered<'_>]) -> Vec<DerivedTransaction> {
    by_id(project_delivered(partitions, delivered).1)
}

#[test]
fn every_replay_derives_the_same_alerts_whatever_the_interleaving() {
    let (partitions, histories) = two_partitions();
    let first = derive(partitions, &one_partition_after_another(&histories, 0..12));
    let alerts: usize = first.iter().map(|d| d.alerts.len()).sum();
    // A: two large debits, the second also crossing € 97; B: two credits.
    assert_eq!(alerts, 5);
    for seed in 1..20 {
        assert_eq!(
            derive(partitions, &shuffled(&histories, seed)),
            first,
            "seed {seed}"
        );
    }
    assert_eq!(
        derive(
            partitions,
            &one_partition_after_another(&histories, (0..12).rev())
        ),
        first
    );
}

#[test]
fn a_redelivered_debit_fires_nothing_again() {
    let events = with(
        with(funded(), [alert_set(A, AlertKind::LargeDebit, Some(100))]),
        debit(2, 200),
    );
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 1);
    let mut alerts = 0;
    for (offset, event) in (0..).zip(&events) {
        let derived = projector.project(Source::at(0, offset), event).unwrap();
        if let Some(derived) = derived.and_then(Derived::transaction) {
            alerts += derived.alerts.len();
        }
    }
    let last = i64::try_from(events.len()).unwrap() - 1;
    let again = projector
        .project(Source::at(0, last), &events[events.len() - 1])
        .unwrap();
    assert_eq!((alerts, again), (1, None));
}
