//! Every rule and reason of holds, one table row each, and what a hold does to the balances.

use super::*;
use crate::domain::fixtures::*;
use crate::domain::{BankState, TransferStatus};
use topology::values::HOLD_EXPIRES_IN_MILLIS;
use topology::{DebitMoneyCommand, TransferCommand};

const HOUR: i64 = 3_600_000;

fn hold_command(hold: u8, from: &str, to: &str, amount: i64) -> HoldMoneyCommand {
    HoldMoneyCommand {
        id: id(hold),
        token: hash("t-a"),
        amount,
        from: from.into(),
        to: to.into(),
        description: "hotel".into(),
        username: "alice".into(),
        expires_in: HOUR,
    }
}

fn capture_command(hold: u8, iban: &str, amount: i64) -> CaptureHoldCommand {
    CaptureHoldCommand {
        id: id(hold),
        iban: iban.into(),
        amount,
        username: "alice".into(),
        token: hash("t-a"),
    }
}

fn void_command(hold: u8, iban: &str) -> VoidHoldCommand {
    VoidHoldCommand {
        id: id(hold),
        iban: iban.into(),
        username: "alice".into(),
        token: hash("t-a"),
    }
}

/// Alice's account A with € 10,00, and B of bob.
fn funded() -> BankState {
    state_after(&[
        created_hashed(IBAN_A, "alice", "t-a"),
        created_hashed(IBAN_B, "bob", "t-b"),
        credited(IBAN_A, 1_000, 90),
    ])
}

fn held(hold: u8, amount: i64) -> BankEvent {
    MoneyHeldEvent {
        id: id(hold),
        iban: IBAN_A.into(),
        to: IBAN_B.into(),
        amount,
        description: "hotel".into(),
        username: "alice".into(),
        at_millis: Some(NOW),
        expires_at: NOW + HOUR,
    }
    .into()
}

#[test]
fn a_hold_is_refused_for_each_rule_in_order() {
    let mut state = funded();
    apply(&mut state, hold_command(1, IBAN_A, IBAN_B, 100)).ok();
    let cases: Vec<(HoldMoneyCommand, Reason)> = vec![
        (
            hold_command(1, IBAN_A, IBAN_B, 100),
            Reason::TransferWasAlreadyStarted(TransferStatus::Held),
        ),
        (
            hold_command(2, IBAN_A, IBAN_B, 0),
            Reason::AmountShouldBePositive,
        ),
        (
            HoldMoneyCommand {
                expires_in: 999,
                ..hold_command(2, IBAN_A, IBAN_B, 100)
            },
            Reason::HoldExpiryOutOfRange,
        ),
        (
            HoldMoneyCommand {
                expires_in: HOLD_EXPIRES_IN_MILLIS.end() + 1,
                ..hold_command(2, IBAN_A, IBAN_B, 100)
            },
            Reason::HoldExpiryOutOfRange,
        ),
        (
            hold_command(2, IBAN_A, IBAN_A, 100),
            Reason::FromAndToAreTheSame,
        ),
        (hold_command(2, IBAN_C, IBAN_B, 100), Reason::IbanNotKnown),
        (
            HoldMoneyCommand {
                username: "mallory".into(),
                ..hold_command(2, IBAN_A, IBAN_B, 100)
            },
            Reason::UserIsNoOwnerOfBankAccount,
        ),
        (
            HoldMoneyCommand {
                token: hash("wrong"),
                ..hold_command(2, IBAN_A, IBAN_B, 100)
            },
            Reason::TokenIsNotValid,
        ),
        // € 10,00 − € 1,00 held = € 9,00 available; the limit is € -500,00.
        (
            hold_command(2, IBAN_A, IBAN_B, 50_900),
            Reason::InsufficientFunds { limit: -50_000 },
        ),
    ];
    for (command, reason) in cases {
        assert_eq!(
            state.decide_bank_command(&command.clone().into(), &fresh()),
            Err(reason),
            "{command:?}"
        );
    }
    assert_eq!(
        state.decide_bank_command(&hold_command(2, IBAN_A, IBAN_B, 50_899).into(), &fresh()),
        Ok(vec![MoneyHeldEvent {
            amount: 50_899,
            id: id(2),
            ..match held(2, 0) {
                BankEvent::MoneyHeldEvent(e) => e,
                _ => unreachable!(),
            }
        }
        .into()])
    );
}

#[test]
fn a_hold_lowers_the_available_balance_not_the_booked_one() {
    let mut state = funded();
    let events = apply(&mut state, hold_command(1, IBAN_A, IBAN_B, 300));
    assert_eq!(events, Ok(vec![held(1, 300)]));
    let account = state.accounts().get(IBAN_A);
    assert_eq!(
        account.map(|a| (a.balance(), a.available())),
        Some((1_000, 700))
    );
    assert_eq!(state.transfers().status(id(1)), Some(TransferStatus::Held));

    // A debit may only use what is not held: € 7,00 + € 500,00 of credit, strictly above.
    let debit = |amount| DebitMoneyCommand {
        id: id(7),
        iban: IBAN_A.into(),
        amount,
        token: hash("t-a"),
        username: "alice".into(),
    };
    let decide =
        |amount| state.decide_transfer_command(&TransferCommand::DebitMoneyCommand(debit(amount)));
    assert_eq!(
        decide(50_700),
        Err(Reason::InsufficientFunds { limit: -50_000 })
    );
    assert!(decide(50_699).is_ok());
}

#[test]
fn a_capture_starts_a_transfer_of_the_captured_part_and_releases_the_rest() {
    let mut state = funded();
    apply(&mut state, hold_command(1, IBAN_A, IBAN_B, 300)).ok();
    let events = apply(&mut state, capture_command(1, IBAN_A, 250));
    let started_event = TransferStartedEvent {
        amount: 250,
        description: "hotel".into(),
        ..started(1, IBAN_A, IBAN_B, 250)
    };
    assert_eq!(
        events,
        Ok(vec![
            HoldCapturedEvent {
                id: id(1),
                iban: IBAN_A.into(),
                amount: 250,
            }
            .into(),
            started_event.into(),
        ])
    );
    let account = state.accounts().get(IBAN_A);
    assert_eq!(
        account.map(|a| (a.balance(), a.available())),
        Some((1_000, 1_000))
    );
    assert_eq!(
        state.transfers().status(id(1)),
        Some(TransferStatus::Started)
    );
    // Captured once: the id is a transfer now.
    assert_eq!(
        apply(&mut state, capture_command(1, IBAN_A, 10)),
        Err(Reason::HoldIsNotOpen(TransferStatus::Started))
    );
    assert_eq!(
        apply(&mut state, void_command(1, IBAN_A)),
        Err(Reason::HoldIsNotOpen(TransferStatus::Started))
    );
}

#[test]
fn a_capture_is_refused_for_each_rule_in_order() {
    let mut state = funded();
    apply(&mut state, hold_command(1, IBAN_A, IBAN_B, 300)).ok();
    let cases: Vec<(CaptureHoldCommand, Reason)> = vec![
        (
            capture_command(1, IBAN_A, 0),
            Reason::AmountShouldBePositive,
        ),
        (capture_command(1, IBAN_C, 100), Reason::IbanNotKnown),
        (capture_command(1, IBAN_B, 100), Reason::HoldNotKnown),
        (capture_command(2, IBAN_A, 100), Reason::HoldNotKnown),
        (
            CaptureHoldCommand {
                username: "bob".into(),
                ..capture_command(1, IBAN_A, 100)
            },
            Reason::UserIsNoOwnerOfBankAccount,
        ),
        (
            CaptureHoldCommand {
                token: hash("t-b"),
                ..capture_command(1, IBAN_A, 100)
            },
            Reason::TokenIsNotValid,
        ),
        (
            capture_command(1, IBAN_A, 301),
            Reason::AmountIsMoreThanHeld { held: 300 },
        ),
    ];
    for (command, reason) in cases {
        assert_eq!(
            state.decide_bank_command(&command.clone().into(), &fresh()),
            Err(reason),
            "{command:?}"
        );
    }
}

#[test]
fn a_void_releases_the_hold_once_and_its_id_stays_used() {
    let mut state = funded();
    apply(&mut state, hold_command(1, IBAN_A, IBAN_B, 300)).ok();
    assert_eq!(
        apply(
            &mut state,
            VoidHoldCommand {
                token: hash("t-b"),
                ..void_command(1, IBAN_A)
            }
        ),
        Err(Reason::TokenIsNotValid)
    );
    let events = apply(&mut state, void_command(1, IBAN_A));
    assert_eq!(
        events,
        Ok(vec![HoldReleasedEvent {
            id: id(1),
            iban: IBAN_A.into(),
            amount: 300,
            reason: VOIDED.into(),
        }
        .into()])
    );
    assert_eq!(
        state.accounts().get(IBAN_A).map(BankAccount::available),
        Some(1_000)
    );
    let released = Reason::HoldIsNotOpen(TransferStatus::Released);
    assert_eq!(
        apply(&mut state, void_command(1, IBAN_A)),
        Err(released.clone())
    );
    assert_eq!(
        apply(&mut state, capture_command(1, IBAN_A, 1)),
        Err(released)
    );
    assert_eq!(
        apply(&mut state, transfer_command(1, IBAN_A, IBAN_B, 1)),
        Err(Reason::TransferWasAlreadyStarted(TransferStatus::Released))
    );
}

#[test]
fn holds_expire_at_their_time_once() {
    let mut state = funded();
    apply(&mut state, hold_command(1, IBAN_A, IBAN_B, 300)).ok();
    apply(
        &mut state,
        HoldMoneyCommand {
            expires_in: 2 * HOUR,
            ..hold_command(2, IBAN_A, IBAN_B, 200)
        },
    )
    .ok();
    assert_eq!(next_expiry(state.accounts()), Some(NOW + HOUR));
    assert_eq!(state.decide_due(NOW + HOUR - 1), Vec::<BankEvent>::new());
    let due = state.decide_due(NOW + HOUR);
    assert_eq!(
        due,
        vec![HoldReleasedEvent {
            id: id(1),
            iban: IBAN_A.into(),
            amount: 300,
            reason: EXPIRED.into(),
        }
        .into()]
    );
    due.iter().for_each(|event| state.evolve_bank_event(event));
    assert_eq!(state.decide_due(NOW + HOUR), Vec::<BankEvent>::new());
    assert_eq!(next_expiry(state.accounts()), Some(NOW + 2 * HOUR));
    assert_eq!(
        state.accounts().get(IBAN_A).map(BankAccount::available),
        Some(800)
    );
    assert_eq!(
        state.transfers().status(id(1)),
        Some(TransferStatus::Released)
    );
}

#[test]
fn a_replayed_log_holds_what_the_live_state_held() {
    let events = [
        created_hashed(IBAN_A, "alice", "t-a"),
        credited(IBAN_A, 1_000, 90),
        held(1, 300),
        held(1, 300),
        held(2, 100),
        HoldReleasedEvent {
            id: id(2),
            iban: IBAN_A.into(),
            amount: 100,
            reason: EXPIRED.into(),
        }
        .into(),
    ];
    let state = state_after(&events);
    let account = state.accounts().get(IBAN_A);
    assert_eq!(account.map(|a| a.holds().len()), Some(1));
    assert_eq!(account.map(BankAccount::available), Some(700));
    let record = account.map(BankAccount::record);
    let restored = record.map(BankAccount::from_record);
    assert_eq!(restored.as_ref().map(BankAccount::available), Some(700));
}

#[test]
fn an_account_holds_at_most_a_hundred_holds_at_once() {
    let mut state = funded();
    for n in 0..100 {
        let hold = HoldMoneyCommand {
            id: topology::Id([n; 16]),
            ..hold_command(0, IBAN_A, IBAN_B, 1)
        };
        assert!(apply(&mut state, hold).is_ok(), "hold {n}");
    }
    let one_more = HoldMoneyCommand {
        id: topology::Id([200; 16]),
        ..hold_command(0, IBAN_A, IBAN_B, 1)
    };
    assert_eq!(apply(&mut state, one_more), Err(Reason::TooManyHolds));
}
