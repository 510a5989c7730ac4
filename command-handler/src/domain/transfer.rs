//! Transfers: the life cycle of one money transfer, keyed by its id (the id of the
//! MoneyTransferCommand). Status: started → complete | failed, and a final status never
//! changes. Rules (SPEC §4 plus the hardening of the issue), first failing rule wins:
//!
//! - MoneyTransfer: id seen before → `transfer was already started, current status:
//!   <started|complete|failed>`; amount ≤ 0 → `amount should be positive`; a deposit (`from` =
//!   `cash`, `to` ≠ `cash`) into an account that username + token do not own → the DebitMoney
//!   reasons (`iban not known`, `user is no owner of bank account`, `token is not valid`); a
//!   deposit above € 10.000,00 → `a cash deposit may be at most € 10.000,00`; a deposit that
//!   would take the account's cash deposits of this UTC day above € 25.000,00 → `cash deposits
//!   into this account may be at most € 25.000,00 a day`; else TransferStarted, stamped with the
//!   decision's time.
//! - MarkTransferCompleted / MarkTransferFailed: unknown id → `transfer not known`; status not
//!   started → `state of transfer was <status> so could not be completed` / `… failed`; else
//!   TransferCompleted / TransferFailed.
//!
//! Why the deposit check lives here and not in the saga: the saga only sees transfers, and
//! CreditMoney carries no username or token, so the only place that knows both the depositor's
//! credentials and the account's owners is this decision, which can read the bank accounts.
//! Deciding it here also means a refused deposit never becomes a started transfer: no
//! TransferStarted and no CreditMoney exist that a replay or a redelivery could act on later,
//! and the sender gets the reason straight away as the CommandFailed of its
//! MoneyTransferCommand (the same way it learns about a duplicate id). `cash` → `cash` is left
//! to the saga so that it fails with its own, more precise `from and to can't be same for
//! transfer`.
//! The ownership of `from` in a normal transfer is deliberately not checked here: DebitMoney
//! checks it at the moment the money moves.
//!
//! Why the deposit limits are counted from TransferStarted: cash is the only way money enters
//! the bank, so it is bounded per deposit and per account and day. A deposit's TransferStarted
//! lives in its `to` account's partition (a deposit's home) and carries when it was decided, so
//! the day's total is the fold of those events: the same after a restart or a replay, and
//! decided one deposit at a time like a debit against its balance. A started deposit is then
//! credited (the account exists and is owned), so counting it at its start counts what came in.

use std::collections::HashMap;
use std::fmt;

use topology::routing::{home, partition_of};
use topology::values::CASH;
use topology::{
    BankEvent, Id, MarkTransferCompletedCommand, MarkTransferFailedCommand, MoneyTransferCommand,
    TransferCompletedEvent, TransferFailedEvent, TransferStartedEvent,
};

use super::{BankAccounts, Reason};

/// The commands this aggregate decides.
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    /// With the decision's time, in milliseconds since the epoch.
    MoneyTransfer(&'a MoneyTransferCommand, i64),
    MarkTransferCompleted(&'a MarkTransferCompletedCommand),
    MarkTransferFailed(&'a MarkTransferFailedCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferStatus {
    Started,
    Complete,
    Failed,
}

/// The words of the public reason strings.
impl fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferStatus::Started => "started",
            TransferStatus::Complete => "complete",
            TransferStatus::Failed => "failed",
        })
    }
}

/// The status of every transfer ever started. Kept forever: a transfer id must stay "seen"
/// so that a retried MoneyTransferCommand never moves money twice.
#[derive(Debug, Clone, Default)]
pub struct Transfers {
    status: HashMap<Id, Known>,
}

/// A transfer's status, and the partition of its home account when it was seen starting: a
/// partition handed to another instance takes its transfers along. One recalled from a state
/// store has no partition; it is history, dropped at any hand-over and recalled when needed.
#[derive(Debug, Clone, Copy)]
struct Known {
    status: TransferStatus,
    home: Option<i32>,
}

impl TransferStatus {
    pub fn code(self) -> u8 {
        match self {
            TransferStatus::Started => 0,
            TransferStatus::Complete => 1,
            TransferStatus::Failed => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(TransferStatus::Started),
            1 => Some(TransferStatus::Complete),
            2 => Some(TransferStatus::Failed),
            _ => None,
        }
    }
}

impl Transfers {
    /// A status a state store kept; one in memory is newer and stays.
    pub fn recall(&mut self, transfer: Id, status: TransferStatus) {
        self.status
            .entry(transfer)
            .or_insert(Known { status, home: None });
    }

    /// Drops the status of every transfer but those `keep` names: it is in the state store,
    /// and recalled from there before a command of that transfer is decided.
    pub fn forget(&mut self, keep: impl Fn(Id) -> bool) {
        self.status.retain(|transfer, _| keep(*transfer));
    }

    pub fn status(&self, transfer: Id) -> Option<TransferStatus> {
        self.status.get(&transfer).map(|known| known.status)
    }

    /// Keeps only the transfers homed in a partition `kept` accepts (see [`Known`]).
    pub fn retain_homes(&mut self, kept: impl Fn(i32) -> bool) {
        self.status.retain(|_, known| known.home.is_some_and(&kept));
    }

    /// Takes the transfers of partitions rebuilt apart from these.
    pub fn absorb(&mut self, other: Transfers) {
        self.status.extend(other.status);
    }

    pub fn evolve(&mut self, event: &BankEvent) {
        match event {
            BankEvent::TransferStartedEvent(e) => {
                let home = partition_of(home(&e.from, &e.to));
                self.status.entry(e.id).or_insert(Known {
                    status: TransferStatus::Started,
                    home: Some(home),
                });
            }
            BankEvent::TransferCompletedEvent(e) => self.finish(e.id, TransferStatus::Complete),
            BankEvent::TransferFailedEvent(e) => self.finish(e.id, TransferStatus::Failed),
            _ => {}
        }
    }

    /// Mirrors decide: only a started transfer finishes, so a duplicated or stray final event
    /// in the log cannot flip a finished transfer.
    fn finish(&mut self, transfer: Id, outcome: TransferStatus) {
        if let Some(known) = self.status.get_mut(&transfer) {
            if known.status == TransferStatus::Started {
                known.status = outcome;
            }
        }
    }
}

pub fn decide(
    transfers: &Transfers,
    accounts: &BankAccounts,
    command: Command<'_>,
) -> Result<Vec<BankEvent>, Reason> {
    match command {
        Command::MoneyTransfer(c, now_millis) => start(transfers, accounts, c, now_millis),
        Command::MarkTransferCompleted(c) => {
            finishable(transfers, c.id, Reason::TransferCouldNotBeCompleted)?;
            Ok(vec![TransferCompletedEvent { id: c.id }.into()])
        }
        Command::MarkTransferFailed(c) => {
            finishable(transfers, c.id, Reason::TransferCouldNotBeFailed)?;
            Ok(vec![TransferFailedEvent {
                id: c.id,
                reason: c.reason.clone(),
            }
            .into()])
        }
    }
}

fn start(
    transfers: &Transfers,
    accounts: &BankAccounts,
    c: &MoneyTransferCommand,
    now_millis: i64,
) -> Result<Vec<BankEvent>, Reason> {
    if let Some(status) = transfers.status(c.id) {
        return Err(Reason::TransferWasAlreadyStarted(status));
    }
    if c.amount <= 0 {
        return Err(Reason::AmountShouldBePositive);
    }
    if c.from == CASH && c.to != CASH {
        accounts.authorize(&c.to, &c.username, &c.token)?;
        accounts.check_deposit(&c.to, c.amount, now_millis)?;
    }
    Ok(vec![TransferStartedEvent {
        id: c.id,
        // The hash the command carries: what the debit will compare with the owner's.
        token: String::new(),
        token_hash: Some(c.token.clone()),
        amount: c.amount,
        from: c.from.clone(),
        to: c.to.clone(),
        description: c.description.clone(),
        username: c.username.clone(),
        at_millis: Some(now_millis),
    }
    .into()])
}

fn finishable(
    transfers: &Transfers,
    transfer: Id,
    not_started: fn(TransferStatus) -> Reason,
) -> Result<(), Reason> {
    match transfers.status(transfer) {
        None => Err(Reason::TransferNotKnown),
        Some(TransferStatus::Started) => Ok(()),
        Some(status) => Err(not_started(status)),
    }
}

#[cfg(test)]
mod tests {
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
        let today =
            |events: Vec<BankEvent>| [vec![created(IBAN_A, "alice", "t-a")], events].concat();
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
}
