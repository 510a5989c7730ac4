//! Every rule of standing orders, and their runs: due at their time, each once, missed ones
//! made up once, ended after the last.

use super::*;
use crate::domain::fixtures::*;
use crate::domain::{BankState, TransferStatus};
use topology::values::MAX_STANDING_ORDER_RUNS;
use topology::StandingOrderSchedule;

const WEEK: i64 = 7 * 86_400_000;

fn order(
    id_byte: u8,
    schedule: StandingOrderSchedule,
    runs: Option<i32>,
) -> SetStandingOrderCommand {
    SetStandingOrderCommand {
        id: id(id_byte),
        token: hash("t-a"),
        amount: 1_500,
        from: IBAN_A.into(),
        to: IBAN_B.into(),
        description: "rent".into(),
        username: "alice".into(),
        schedule,
        first_at: NOW + 60_000,
        runs,
    }
}

fn funded() -> BankState {
    state_after(&[
        created_hashed(IBAN_A, "alice", "t-a"),
        created_hashed(IBAN_B, "bob", "t-b"),
        credited(IBAN_A, 100_000, 90),
    ])
}

/// Decides what is due at `now` and evolves the state with it; returns the runs' numbers and
/// whether the order ended.
fn tick(state: &mut BankState, now: i64) -> (Vec<i32>, Vec<String>) {
    let events = state.decide_due(now);
    events
        .iter()
        .for_each(|event| state.evolve_bank_event(event));
    let runs = events
        .iter()
        .filter_map(|event| match event {
            BankEvent::StandingOrderRanEvent(ran) => Some(ran.run),
            _ => None,
        })
        .collect();
    let ends = events
        .iter()
        .filter_map(|event| match event {
            BankEvent::StandingOrderEndedEvent(ended) => Some(ended.reason.clone()),
            _ => None,
        })
        .collect();
    (runs, ends)
}

#[test]
fn an_order_is_refused_for_each_rule_in_order() {
    let mut state = funded();
    apply(&mut state, order(1, StandingOrderSchedule::Weekly, None)).ok();
    let cases: Vec<(SetStandingOrderCommand, Reason)> = vec![
        (
            order(1, StandingOrderSchedule::Weekly, None),
            Reason::TransferWasAlreadyStarted(TransferStatus::Ordered),
        ),
        (
            SetStandingOrderCommand {
                amount: 0,
                ..order(2, StandingOrderSchedule::Weekly, None)
            },
            Reason::AmountShouldBePositive,
        ),
        (
            order(2, StandingOrderSchedule::Weekly, Some(0)),
            Reason::StandingOrderRunsOutOfRange,
        ),
        (
            order(
                2,
                StandingOrderSchedule::Weekly,
                Some(MAX_STANDING_ORDER_RUNS + 1),
            ),
            Reason::StandingOrderRunsOutOfRange,
        ),
        (
            SetStandingOrderCommand {
                first_at: NOW - 60_001,
                ..order(2, StandingOrderSchedule::Once, None)
            },
            Reason::FirstRunOutOfRange,
        ),
        (
            SetStandingOrderCommand {
                first_at: NOW + 367 * 86_400_000,
                ..order(2, StandingOrderSchedule::Once, None)
            },
            Reason::FirstRunOutOfRange,
        ),
        (
            SetStandingOrderCommand {
                to: IBAN_A.into(),
                ..order(2, StandingOrderSchedule::Once, None)
            },
            Reason::FromAndToAreTheSame,
        ),
        (
            SetStandingOrderCommand {
                from: IBAN_C.into(),
                ..order(2, StandingOrderSchedule::Once, None)
            },
            Reason::IbanNotKnown,
        ),
        (
            SetStandingOrderCommand {
                username: "bob".into(),
                ..order(2, StandingOrderSchedule::Once, None)
            },
            Reason::UserIsNoOwnerOfBankAccount,
        ),
        (
            SetStandingOrderCommand {
                token: hash("t-b"),
                ..order(2, StandingOrderSchedule::Once, None)
            },
            Reason::TokenIsNotValid,
        ),
    ];
    for (command, reason) in cases {
        assert_eq!(
            state.decide_bank_command(&command.clone().into(), &fresh()),
            Err(reason),
            "{command:?}"
        );
    }
    for n in 2..=20 {
        assert!(apply(&mut state, order(n, StandingOrderSchedule::Weekly, None)).is_ok());
    }
    assert_eq!(
        apply(&mut state, order(21, StandingOrderSchedule::Weekly, None)),
        Err(Reason::TooManyStandingOrders)
    );
}

#[test]
fn a_monthly_order_runs_each_month_once_and_ends_after_its_last_run() {
    let mut state = funded();
    let set = order(1, StandingOrderSchedule::Monthly, Some(3));
    let first = set.first_at;
    apply(&mut state, set).ok();
    assert_eq!(tick(&mut state, first - 1), (vec![], vec![]));
    let events = state.decide_due(first);
    assert_eq!(
        events,
        vec![
            StandingOrderRanEvent {
                id: id(1),
                iban: IBAN_A.into(),
                run: 0,
                transfer_id: run_transfer_id(id(1), 0),
            }
            .into(),
            TransferStartedEvent {
                id: run_transfer_id(id(1), 0),
                token: String::new(),
                token_hash: Some(hash("t-a")),
                amount: 1_500,
                from: IBAN_A.into(),
                to: IBAN_B.into(),
                description: "rent".into(),
                username: "alice".into(),
                at_millis: Some(first),
            }
            .into(),
        ]
    );
    assert_eq!(tick(&mut state, first), (vec![0], vec![]));
    assert_eq!(
        tick(&mut state, first + 1_000),
        (vec![], vec![]),
        "once a run"
    );
    let second = run_at(StandingOrderSchedule::Monthly, first, 1).unwrap_or_default();
    assert_eq!(tick(&mut state, second), (vec![1], vec![]));
    let third = run_at(StandingOrderSchedule::Monthly, first, 2).unwrap_or_default();
    assert_eq!(
        tick(&mut state, third),
        (vec![2], vec![COMPLETED.to_string()])
    );
    assert_eq!(state.next_due(), None);
    assert_eq!(
        state.transfers().status(id(1)),
        Some(TransferStatus::OrderEnded)
    );
    assert_eq!(
        state.transfers().status(run_transfer_id(id(1), 2)),
        Some(TransferStatus::Started),
        "each run is a transfer of its own"
    );
}

#[test]
fn runs_missed_while_no_handler_ran_are_made_up_once_a_few_at_a_time() {
    let mut state = funded();
    let set = order(1, StandingOrderSchedule::Weekly, None);
    let first = set.first_at;
    apply(&mut state, set).ok();
    // Three weeks and a bit later: runs 0 to 3 are due, each once.
    assert_eq!(
        tick(&mut state, first + 3 * WEEK + 5),
        (vec![0, 1, 2, 3], vec![])
    );
    assert_eq!(tick(&mut state, first + 3 * WEEK + 6), (vec![], vec![]));
    // Half a year later: ten per tick.
    let (runs, _) = tick(&mut state, first + 26 * WEEK);
    assert_eq!(runs, (4..14).collect::<Vec<_>>());
    let (runs, _) = tick(&mut state, first + 26 * WEEK);
    assert_eq!(runs, (14..24).collect::<Vec<_>>());
    let (runs, _) = tick(&mut state, first + 26 * WEEK);
    assert_eq!(runs, (24..27).collect::<Vec<_>>());
    assert_eq!(state.next_due(), Some(first + 27 * WEEK));
}

#[test]
fn a_once_order_runs_and_ends_in_one_tick_and_a_cancelled_one_never_runs() {
    let mut state = funded();
    let once = order(1, StandingOrderSchedule::Once, None);
    let first = once.first_at;
    apply(&mut state, once).ok();
    apply(&mut state, order(2, StandingOrderSchedule::Weekly, None)).ok();
    let cancel = |n: u8, token: &str| CancelStandingOrderCommand {
        id: id(n),
        iban: IBAN_A.into(),
        username: "alice".into(),
        token: hash(token),
    };
    assert_eq!(
        apply(&mut state, cancel(2, "t-b")),
        Err(Reason::TokenIsNotValid)
    );
    assert_eq!(
        apply(&mut state, cancel(2, "t-a")),
        Ok(vec![StandingOrderEndedEvent {
            id: id(2),
            iban: IBAN_A.into(),
            reason: CANCELLED.into(),
        }
        .into()])
    );
    assert_eq!(
        apply(&mut state, cancel(2, "t-a")),
        Err(Reason::StandingOrderNotKnown)
    );
    assert_eq!(
        tick(&mut state, first + WEEK),
        (vec![0], vec![COMPLETED.to_string()])
    );
    assert_eq!(state.next_due(), None);
    assert_eq!(
        apply(&mut state, order(2, StandingOrderSchedule::Weekly, None)),
        Err(Reason::TransferWasAlreadyStarted(
            TransferStatus::OrderEnded
        )),
        "an order's id is never used again"
    );
}

#[test]
fn a_replayed_log_has_the_live_orders() {
    let mut state = funded();
    let set = order(1, StandingOrderSchedule::Weekly, Some(5));
    let first = set.first_at;
    let mut log = vec![
        created_hashed(IBAN_A, "alice", "t-a"),
        created_hashed(IBAN_B, "bob", "t-b"),
        credited(IBAN_A, 100_000, 90),
    ];
    log.extend(apply(&mut state, set).unwrap_or_default());
    let due = state.decide_due(first + WEEK);
    due.iter().for_each(|event| state.evolve_bank_event(event));
    log.extend(due);
    let replayed = state_after(&log);
    let live = state
        .accounts()
        .get(IBAN_A)
        .map(|a| a.standing_orders().to_vec());
    let again = replayed
        .accounts()
        .get(IBAN_A)
        .map(|a| a.standing_orders().to_vec());
    assert_eq!(live, again);
    assert_eq!(live.map(|orders| orders[0].next_run), Some(2));
    let record = state.accounts().get(IBAN_A).map(|a| a.record());
    assert_eq!(
        record.map(|r| crate::domain::bank_account::BankAccount::from_record(r)
            .standing_orders()
            .to_vec()),
        replayed
            .accounts()
            .get(IBAN_A)
            .map(|a| a.standing_orders().to_vec())
    );
}
