//! Holds (two-phase transfers): money reserved on an account now, and later either booked to
//! the payee (captured) or given back (voided, or expired). A hold lives on its account, in the
//! account's partition; its id is also the id of the transfer its capture starts. Rules, first
//! failing rule wins:
//!
//! - HoldMoney: id seen before (a transfer or a hold) → `transfer was already started, current
//!   status: <status>`; amount ≤ 0 → `amount should be positive`; `expires_in` outside 1 s ..=
//!   30 days → `a hold expires after 1 s at the earliest and 30 days at the latest`; from = to
//!   → `from and to can't be same for transfer`; unknown `from` → `iban not known`; not an owner
//!   → `user is no owner of bank account`; wrong token → `token is not valid`; 100 holds open
//!   on the account already → `an account may have at most 100 open holds`; available
//!   balance − amount not strictly above the limit → `insufficient funds would be below the
//!   limit of € -500,00`; else MoneyHeld, expiring at the decision's time + `expires_in`.
//! - CaptureHold: amount ≤ 0 → `amount should be positive`; unknown IBAN → `iban not known`; no
//!   open hold of that id on the account → `hold is not open, current status: <status>` when the
//!   id is known (released, or a transfer: captured before), else `hold not known`; not an owner
//!   → `user is no owner of bank account`; wrong token → `token is not valid`; amount above the
//!   hold → `amount is more than the hold of € …`; else HoldCaptured (the rest of the hold is
//!   released with it) and TransferStarted of the same id for the captured amount, to the
//!   hold's payee, asked by the capturing owner. The saga moves the money from there, also to
//!   an account in another partition.
//! - VoidHold: unknown IBAN, not open, not known, not an owner, wrong token as above; else
//!   HoldReleased(`voided`).
//! - Expiry: every open hold whose `expires_at` is not after the decision's time →
//!   HoldReleased(`expired`).
//!
//! Why a capture's debit cannot fail for lack of money: a hold was only placed if the available
//! balance stayed above the limit with it, and every later debit or hold was judged on the
//! available balance, which counted this hold. Capturing releases the hold before its
//! transfer's debit is decided (in the same transaction, on the same account), so that debit
//! finds at least the held amount available. The owner or token may have changed meanwhile;
//! the debit checks them again, as for any transfer.
//!
//! Why expiry is decided like a command: the time comes from the hold's own event (its
//! `expires_at`) and the decision's clock, never from a timer of the process. The instance that
//! owns the account's partition asks for it on its tick and writes the release in a Kafka
//! transaction with the group's metadata, so a stale instance is fenced; once written, the hold
//! is no longer open in the state rebuilt from the log, so it is released exactly once, also
//! after a restart or a hand-over (the new owner releases it on its first tick).

use topology::values::HOLD_EXPIRES_IN_MILLIS;
use topology::{
    BankEvent, CaptureHoldCommand, HoldCapturedEvent, HoldMoneyCommand, HoldReleasedEvent, Id,
    MoneyHeldEvent, TransferStartedEvent, VoidHoldCommand,
};

use super::bank_account::{BankAccount, BankAccounts};
use super::{Reason, Transfers};

/// The most holds one account may have open.
pub const MAX_HOLDS: usize = 100;

/// The reasons a HoldReleased gives.
pub const VOIDED: &str = "voided";
pub const EXPIRED: &str = "expired";

/// The commands this module decides, each with the decision's time (milliseconds since the
/// epoch).
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    HoldMoney(&'a HoldMoneyCommand, i64),
    CaptureHold(&'a CaptureHoldCommand, i64),
    VoidHold(&'a VoidHoldCommand),
}

pub fn decide(
    transfers: &Transfers,
    accounts: &BankAccounts,
    command: Command<'_>,
) -> Result<Vec<BankEvent>, Reason> {
    match command {
        Command::HoldMoney(c, now_millis) => hold(transfers, accounts, c, now_millis),
        Command::CaptureHold(c, now_millis) => capture(transfers, accounts, c, now_millis),
        Command::VoidHold(c) => {
            let account = open_hold_on(transfers, accounts, &c.iban, c.id)?;
            account.check_owner(&c.username, &c.token, Reason::UserIsNoOwnerOfBankAccount)?;
            let amount = account.hold(c.id).map_or(0, |hold| hold.amount);
            Ok(vec![released(c.id, &c.iban, amount, VOIDED)])
        }
    }
}

/// The releases of every hold that is due at `now_millis`, on the accounts in `accounts` (the
/// partitions this instance owns).
pub fn expire(accounts: &BankAccounts, now_millis: i64) -> Vec<BankEvent> {
    let mut events = Vec::new();
    for (iban, account) in accounts.iter() {
        for hold in account.holds() {
            if hold.expires_at <= now_millis {
                events.push(released(hold.id, iban, hold.amount, EXPIRED));
            }
        }
    }
    events
}

/// When the next hold of `accounts` is due, if any.
pub fn next_expiry(accounts: &BankAccounts) -> Option<i64> {
    accounts
        .iter()
        .flat_map(|(_, account)| account.holds().iter().map(|hold| hold.expires_at))
        .min()
}

/// The hold a hold event is about.
pub fn hold_id(event: &BankEvent) -> Option<Id> {
    match event {
        BankEvent::MoneyHeldEvent(e) => Some(e.id),
        BankEvent::HoldCapturedEvent(e) => Some(e.id),
        BankEvent::HoldReleasedEvent(e) => Some(e.id),
        _ => None,
    }
}

fn hold(
    transfers: &Transfers,
    accounts: &BankAccounts,
    c: &HoldMoneyCommand,
    now_millis: i64,
) -> Result<Vec<BankEvent>, Reason> {
    super::transfer::new_and_positive(transfers, c.id, c.amount)?;
    if !HOLD_EXPIRES_IN_MILLIS.contains(&c.expires_in) {
        return Err(Reason::HoldExpiryOutOfRange);
    }
    if c.from == c.to {
        return Err(Reason::FromAndToAreTheSame);
    }
    let account = accounts.known(&c.from)?;
    account.check_owner(&c.username, &c.token, Reason::UserIsNoOwnerOfBankAccount)?;
    if account.holds().len() >= MAX_HOLDS {
        return Err(Reason::TooManyHolds);
    }
    let stays_above_limit = account
        .available()
        .checked_sub(c.amount)
        .is_some_and(|after| after > account.limit());
    if !stays_above_limit {
        return Err(Reason::InsufficientFunds {
            limit: account.limit(),
        });
    }
    Ok(vec![MoneyHeldEvent {
        id: c.id,
        iban: c.from.clone(),
        to: c.to.clone(),
        amount: c.amount,
        description: c.description.clone(),
        username: c.username.clone(),
        at_millis: Some(now_millis),
        expires_at: now_millis.saturating_add(c.expires_in),
    }
    .into()])
}

fn capture(
    transfers: &Transfers,
    accounts: &BankAccounts,
    c: &CaptureHoldCommand,
    now_millis: i64,
) -> Result<Vec<BankEvent>, Reason> {
    if c.amount <= 0 {
        return Err(Reason::AmountShouldBePositive);
    }
    let account = open_hold_on(transfers, accounts, &c.iban, c.id)?;
    account.check_owner(&c.username, &c.token, Reason::UserIsNoOwnerOfBankAccount)?;
    let Some(hold) = account.hold(c.id) else {
        return Err(Reason::HoldNotKnown);
    };
    if c.amount > hold.amount {
        return Err(Reason::AmountIsMoreThanHeld { held: hold.amount });
    }
    Ok(vec![
        HoldCapturedEvent {
            id: c.id,
            iban: c.iban.clone(),
            amount: c.amount,
        }
        .into(),
        TransferStartedEvent {
            id: c.id,
            token: String::new(),
            token_hash: Some(c.token.clone()),
            amount: c.amount,
            from: c.iban.clone(),
            to: hold.to.clone(),
            description: hold.description.clone(),
            username: c.username.clone(),
            at_millis: Some(now_millis),
        }
        .into(),
    ])
}

/// The account `iban` when it has an open hold `id`; else why not.
fn open_hold_on<'a>(
    transfers: &Transfers,
    accounts: &'a BankAccounts,
    iban: &str,
    id: Id,
) -> Result<&'a BankAccount, Reason> {
    let account = accounts.known(iban)?;
    if account.hold(id).is_some() {
        return Ok(account);
    }
    match transfers.status(id) {
        // Held, but on another account: not this account's hold.
        None | Some(super::TransferStatus::Held) => Err(Reason::HoldNotKnown),
        Some(status) => Err(Reason::HoldIsNotOpen(status)),
    }
}

fn released(id: Id, iban: &str, amount: i64, reason: &str) -> BankEvent {
    HoldReleasedEvent {
        id,
        iban: iban.to_string(),
        amount,
        reason: reason.to_string(),
    }
    .into()
}

#[cfg(test)]
mod tests;
