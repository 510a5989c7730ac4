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
    /// A hold (see [`super::holds`]) not captured yet: captured, it becomes Started.
    Held,
    /// A hold voided or expired: its id stays used, like a finished transfer's.
    Released,
    /// A standing order's id (see [`super::standing_orders`]) while it runs…
    Ordered,
    /// …and once it ended: its id stays used, so its runs' transfer ids are never reused.
    OrderEnded,
}

/// The words of the public reason strings.
impl fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferStatus::Started => "started",
            TransferStatus::Complete => "complete",
            TransferStatus::Failed => "failed",
            TransferStatus::Held => "held",
            TransferStatus::Released => "released",
            TransferStatus::Ordered => "ordered",
            TransferStatus::OrderEnded => "ended",
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
            TransferStatus::Held => 3,
            TransferStatus::Released => 4,
            TransferStatus::Ordered => 5,
            TransferStatus::OrderEnded => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(TransferStatus::Started),
            1 => Some(TransferStatus::Complete),
            2 => Some(TransferStatus::Failed),
            3 => Some(TransferStatus::Held),
            4 => Some(TransferStatus::Released),
            5 => Some(TransferStatus::Ordered),
            6 => Some(TransferStatus::OrderEnded),
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
                let known = self.status.entry(e.id).or_insert(Known {
                    status: TransferStatus::Started,
                    home: Some(home),
                });
                // A captured hold goes on as a transfer of the same id.
                if known.status == TransferStatus::Held {
                    *known = Known {
                        status: TransferStatus::Started,
                        home: Some(home),
                    };
                }
            }
            BankEvent::MoneyHeldEvent(e) => {
                self.status.entry(e.id).or_insert(Known {
                    status: TransferStatus::Held,
                    home: Some(partition_of(&e.iban)),
                });
            }
            BankEvent::StandingOrderSetEvent(e) => {
                self.status.entry(e.id).or_insert(Known {
                    status: TransferStatus::Ordered,
                    home: Some(partition_of(&e.iban)),
                });
            }
            BankEvent::StandingOrderEndedEvent(e) => {
                // Like an expiry, decided without recalling the order's status.
                let known = self.status.entry(e.id).or_insert(Known {
                    status: TransferStatus::OrderEnded,
                    home: Some(partition_of(&e.iban)),
                });
                if known.status == TransferStatus::Ordered {
                    known.status = TransferStatus::OrderEnded;
                }
            }
            BankEvent::HoldReleasedEvent(e) => {
                // An expiry is decided without recalling the hold's status: it may be known
                // only to the state store, which then learns "released" from here.
                let known = self.status.entry(e.id).or_insert(Known {
                    status: TransferStatus::Released,
                    home: Some(partition_of(&e.iban)),
                });
                if known.status == TransferStatus::Held {
                    known.status = TransferStatus::Released;
                }
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
    new_and_positive(transfers, c.id, c.amount)?;
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

/// The first two rules of whatever starts under a client's id (a transfer, a hold, a standing
/// order; they share one set of ids): the id is new, and the amount above zero.
pub(super) fn new_and_positive(transfers: &Transfers, id: Id, amount: i64) -> Result<(), Reason> {
    if let Some(status) = transfers.status(id) {
        return Err(Reason::TransferWasAlreadyStarted(status));
    }
    if amount <= 0 {
        return Err(Reason::AmountShouldBePositive);
    }
    Ok(())
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
mod tests;
