use super::*;
use crate::domain::fixtures::*;

fn completed(transfer: u8) -> BankEvent {
    TransferCompletedEvent { id: id(transfer) }.into()
}

fn failed(transfer: u8, reason: &str) -> BankEvent {
    TransferFailedEvent {
        id: id(transfer),
        reason: reason.into(),
    }
    .into()
}

fn start_event(transfer: u8, from: &str, to: &str, amount: i64) -> BankEvent {
    started(transfer, from, to, amount).into()
}

/// An owned command, so a table row can hold it; `Command` only borrows.
enum Cmd {
    Transfer(MoneyTransferCommand),
    Complete(u8),
    Fail(u8),
}

type Row = (
    &'static str,
    Vec<BankEvent>,
    Cmd,
    Result<Vec<BankEvent>, &'static str>,
);

fn run(rows: Vec<Row>) {
    for (name, given, command, expected) in rows {
        let state = state_after(&given);
        let complete;
        let fail;
        let command = match &command {
            Cmd::Transfer(c) => Command::MoneyTransfer(c, NOW),
            Cmd::Complete(transfer) => {
                complete = MarkTransferCompletedCommand { id: id(*transfer) };
                Command::MarkTransferCompleted(&complete)
            }
            Cmd::Fail(transfer) => {
                fail = MarkTransferFailedCommand {
                    id: id(*transfer),
                    reason: "iban not known".into(),
                };
                Command::MarkTransferFailed(&fail)
            }
        };
        let outcome = decide(state.transfers(), state.accounts(), command);
        let outcome = outcome.map_err(|reason| reason.to_string());
        assert_eq!(outcome, expected.map_err(String::from), "{name}");
    }
}

fn transfer(transfer: u8, from: &str, to: &str, amount: i64) -> Cmd {
    Cmd::Transfer(transfer_command(transfer, from, to, amount))
}

/// A deposit by `username` with (the hash of) `token`.
fn deposit_by(username: &str, token: &str, to: &str) -> Cmd {
    let mut command = transfer_command(1, CASH_FROM, to, 500);
    command.username = username.into();
    command.token = hash(token);
    Cmd::Transfer(command)
}

/// A deposit by alice carrying her token itself instead of its hash.
fn deposit_in_clear(to: &str) -> Cmd {
    let mut command = transfer_command(1, CASH_FROM, to, 500);
    command.token = "t-a".into();
    Cmd::Transfer(command)
}

#[test]
fn money_transfer() {
    let alice_owns_a = || vec![created(IBAN_A, "alice", "t-a")];
    let with = |more: Vec<BankEvent>| [alice_owns_a(), more].concat();
    run(vec![
        (
            "a new transfer starts",
            vec![],
            transfer(1, IBAN_A, IBAN_B, 500),
            Ok(vec![start_event(1, IBAN_A, IBAN_B, 500)]),
        ),
        (
            "a started id is refused",
            vec![start_event(1, IBAN_A, IBAN_B, 500)],
            transfer(1, IBAN_A, IBAN_B, 500),
            Err("transfer was already started, current status: started"),
        ),
        (
            "a completed id is refused",
            vec![start_event(1, IBAN_A, IBAN_B, 500), completed(1)],
            transfer(1, IBAN_A, IBAN_C, 700),
            Err("transfer was already started, current status: complete"),
        ),
        (
            "a failed id is refused",
            vec![start_event(1, IBAN_A, IBAN_B, 500), failed(1, "no")],
            transfer(1, IBAN_A, IBAN_B, 500),
            Err("transfer was already started, current status: failed"),
        ),
        (
            "a seen id is judged before the amount",
            vec![start_event(1, IBAN_A, IBAN_B, 500)],
            transfer(1, IBAN_A, IBAN_B, 0),
            Err("transfer was already started, current status: started"),
        ),
        (
            "zero amount",
            vec![],
            transfer(1, IBAN_A, IBAN_B, 0),
            Err("amount should be positive"),
        ),
        (
            "negative amount",
            vec![],
            transfer(1, IBAN_A, IBAN_B, -500),
            Err("amount should be positive"),
        ),
        (
            "negative deposit",
            alice_owns_a(),
            transfer(1, CASH_FROM, IBAN_A, -500),
            Err("amount should be positive"),
        ),
        (
            "a deposit into the depositor's own account starts",
            alice_owns_a(),
            transfer(1, CASH_FROM, IBAN_A, 500),
            Ok(vec![start_event(1, CASH_FROM, IBAN_A, 500)]),
        ),
        (
            "a deposit into an unknown account",
            alice_owns_a(),
            transfer(1, CASH_FROM, IBAN_B, 500),
            Err("iban not known"),
        ),
        (
            "a deposit into an IBAN outside the bank",
            alice_owns_a(),
            transfer(1, CASH_FROM, FOREIGN_IBAN, 500),
            Err("iban not known"),
        ),
        (
            "a deposit into someone else's account",
            with(vec![created(IBAN_B, "bob", "t-b")]),
            transfer(1, CASH_FROM, IBAN_B, 500),
            Err("user is no owner of bank account"),
        ),
        (
            "a deposit with a wrong token",
            alice_owns_a(),
            deposit_by("alice", "t-b", IBAN_A),
            Err("token is not valid"),
        ),
        (
            "a deposit with the token in clear instead of its hash",
            alice_owns_a(),
            deposit_in_clear(IBAN_A),
            Err("token is not valid"),
        ),
        (
            "a deposit by a co-owner",
            with(vec![added(IBAN_A, "bob", "t-b")]),
            deposit_by("bob", "t-b", IBAN_A),
            Ok(vec![TransferStartedEvent {
                username: "bob".into(),
                token_hash: Some(hash("t-b")),
                ..started(1, CASH_FROM, IBAN_A, 500)
            }
            .into()]),
        ),
        (
            "a deposit into an account created with a token hash",
            vec![created_hashed(IBAN_A, "alice", "t-a")],
            transfer(1, CASH_FROM, IBAN_A, 500),
            Ok(vec![start_event(1, CASH_FROM, IBAN_A, 500)]),
        ),
        (
            "a deposit by a co-owner added with a token hash",
            with(vec![added_hashed(IBAN_A, "bob", "t-b")]),
            deposit_by("bob", "t-b", IBAN_A),
            Ok(vec![TransferStartedEvent {
                username: "bob".into(),
                token_hash: Some(hash("t-b")),
                ..started(1, CASH_FROM, IBAN_A, 500)
            }
            .into()]),
        ),
        (
            "cash to cash is left to the saga, which names the real problem",
            vec![],
            transfer(1, CASH_FROM, CASH_FROM, 500),
            Ok(vec![start_event(1, CASH_FROM, CASH_FROM, 500)]),
        ),
        (
            "a normal transfer defers the owner check to the debit",
            vec![],
            transfer(1, IBAN_B, IBAN_A, 500),
            Ok(vec![start_event(1, IBAN_B, IBAN_A, 500)]),
        ),
    ]);
}

/// A deposit into alice's account started at `at_millis`.
fn deposited(transfer: u8, amount: i64, at_millis: i64) -> BankEvent {
    TransferStartedEvent {
        at_millis: Some(at_millis),
        ..started(transfer, CASH_FROM, IBAN_A, amount)
    }
    .into()
}

#[test]
fn cash_deposits_are_bounded_per_deposit_and_per_day() {
    const DAY: i64 = 86_400_000;
    let today = |events: Vec<BankEvent>| [vec![created(IBAN_A, "alice", "t-a")], events].concat();
    let two_million_today = || {
        today(vec![
            deposited(7, 1_000_000, NOW - 1),
            deposited(8, 1_000_000, NOW - 2),
        ])
    };
    run(vec![
        (
            "a deposit of exactly € 10.000,00",
            today(vec![]),
            transfer(1, CASH_FROM, IBAN_A, 1_000_000),
            Ok(vec![start_event(1, CASH_FROM, IBAN_A, 1_000_000)]),
        ),
        (
            "one cent more",
            today(vec![]),
            transfer(1, CASH_FROM, IBAN_A, 1_000_001),
            Err("a cash deposit may be at most € 10.000,00"),
        ),
        (
            "the owner is checked before the amount, so a stranger learns nothing",
            vec![created(IBAN_B, "bob", "t-b")],
            transfer(1, CASH_FROM, IBAN_B, 5_000_000),
            Err("user is no owner of bank account"),
        ),
        (
            "up to € 25.000,00 a day",
            two_million_today(),
            transfer(1, CASH_FROM, IBAN_A, 500_000),
            Ok(vec![start_event(1, CASH_FROM, IBAN_A, 500_000)]),
        ),
        (
            "one cent over the day's total",
            two_million_today(),
            transfer(1, CASH_FROM, IBAN_A, 500_001),
            Err("cash deposits into this account may be at most € 25.000,00 a day"),
        ),
        (
            "yesterday's deposits do not count",
            today(vec![
                deposited(7, 1_000_000, NOW - DAY),
                deposited(8, 1_000_000, NOW - DAY),
                deposited(9, 500_000, NOW - DAY),
            ]),
            transfer(1, CASH_FROM, IBAN_A, 1_000_000),
            Ok(vec![start_event(1, CASH_FROM, IBAN_A, 1_000_000)]),
        ),
        (
            "deposits from before their time was recorded count for no day",
            today(vec![TransferStartedEvent {
                at_millis: None,
                ..started_legacy(7, CASH_FROM, IBAN_A, 2_500_000)
            }
            .into()]),
            transfer(1, CASH_FROM, IBAN_A, 1_000_000),
            Ok(vec![start_event(1, CASH_FROM, IBAN_A, 1_000_000)]),
        ),
        (
            "transfers between accounts are no cash and not limited",
            two_million_today(),
            transfer(1, IBAN_A, IBAN_B, 5_000_000),
            Ok(vec![start_event(1, IBAN_A, IBAN_B, 5_000_000)]),
        ),
    ]);
}

#[test]
fn a_days_deposits_survive_a_state_store() {
    let state = state_after(&[
        created(IBAN_A, "alice", "t-a"),
        deposited(7, 1_000_000, NOW - 1),
        deposited(8, 1_000_000, NOW - 2),
    ]);
    let record = state
        .accounts()
        .get(IBAN_A)
        .map(|a| a.record())
        .expect("alice's account");
    let mut restored = crate::domain::BankState::default();
    restored.restore_account(IBAN_A.into(), record);
    assert_eq!(
        restored.accounts().get(IBAN_A).map(|a| a.deposited_on(NOW)),
        Some(2_000_000)
    );
    let over = transfer_command(1, CASH_FROM, IBAN_A, 500_001);
    let decided = decide(
        restored.transfers(),
        restored.accounts(),
        Command::MoneyTransfer(&over, NOW),
    );
    assert_eq!(
        decided.map_err(|reason| reason.to_string()),
        Err("cash deposits into this account may be at most € 25.000,00 a day".to_string())
    );
}

#[test]
fn a_started_transfer_records_the_hash_it_was_asked_with_never_a_token() {
    let state = state_after(&[created(IBAN_A, "alice", "t-a")]);
    for (from, to) in [(IBAN_A, IBAN_B), (CASH_FROM, IBAN_A)] {
        let command = transfer_command(1, from, to, 500);
        let decided = decide(
            state.transfers(),
            state.accounts(),
            Command::MoneyTransfer(&command, NOW),
        );
        let Ok(events) = decided else {
            panic!("{from} → {to}: {decided:?}");
        };
        let [BankEvent::TransferStartedEvent(started)] = events.as_slice() else {
            panic!("{from} → {to}: {events:?}");
        };
        assert_eq!(started.token, "", "{from} → {to}");
        assert_eq!(started.token_hash.as_deref(), Some(hash("t-a").as_str()));
        assert_eq!(started.at_millis, Some(NOW));
    }
}

#[test]
fn mark_transfer_completed() {
    let start = || start_event(1, IBAN_A, IBAN_B, 500);
    run(vec![
        (
            "unknown",
            vec![],
            Cmd::Complete(1),
            Err("transfer not known"),
        ),
        (
            "another transfer is unknown",
            vec![start()],
            Cmd::Complete(2),
            Err("transfer not known"),
        ),
        (
            "started",
            vec![start()],
            Cmd::Complete(1),
            Ok(vec![completed(1)]),
        ),
        (
            "started before the token hashes",
            vec![started_legacy(1, IBAN_A, IBAN_B, 500).into()],
            Cmd::Complete(1),
            Ok(vec![completed(1)]),
        ),
        (
            "already complete",
            vec![start(), completed(1)],
            Cmd::Complete(1),
            Err("state of transfer was complete so could not be completed"),
        ),
        (
            "already failed",
            vec![start(), failed(1, "no")],
            Cmd::Complete(1),
            Err("state of transfer was failed so could not be completed"),
        ),
    ]);
}

#[test]
fn mark_transfer_failed() {
    let start = || start_event(1, IBAN_A, IBAN_B, 500);
    run(vec![
        ("unknown", vec![], Cmd::Fail(1), Err("transfer not known")),
        (
            "started",
            vec![start()],
            Cmd::Fail(1),
            Ok(vec![failed(1, "iban not known")]),
        ),
        (
            "already complete",
            vec![start(), completed(1)],
            Cmd::Fail(1),
            Err("state of transfer was complete so could not be failed"),
        ),
        (
            "already failed",
            vec![start(), failed(1, "no")],
            Cmd::Fail(1),
            Err("state of transfer was failed so could not be failed"),
        ),
    ]);
}

#[test]
fn a_final_status_never_changes() {
    let mut transfers = Transfers::default();
    for event in [
        start_event(1, IBAN_A, IBAN_B, 500),
        completed(1),
        failed(1, "late"),
        start_event(1, IBAN_A, IBAN_B, 500),
        completed(2),
    ] {
        transfers.evolve(&event);
    }
    assert_eq!(transfers.status(id(1)), Some(TransferStatus::Complete));
    assert_eq!(transfers.status(id(2)), None);
}
