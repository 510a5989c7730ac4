//! Standing orders: transfers an owner sets up once to run later, once or every week or month
//! (see `topology::schedules` for when each run is due). An order lives on its paying account,
//! in the account's partition. Rules, first failing rule wins:
//!
//! - SetStandingOrder: id seen before (a transfer, hold or order) → `transfer was already
//!   started, current status: <status>`; amount ≤ 0 → `amount should be positive`; runs given
//!   and outside 1 ..= 1200 → `runs should be 1 to 1200`; first run more than a minute in the
//!   past or more than 366 days ahead → `the first run must be within the next 366 days, not in
//!   the past`; from = to → `from and to can't be same for transfer`; unknown `from` → `iban
//!   not known`; not an owner → `user is no owner of bank account`; wrong token → `token is not
//!   valid`; 20 orders on the account already → `an account may have at most 20 standing
//!   orders`; else StandingOrderSet, with the hash of the token it was set with.
//! - CancelStandingOrder: unknown IBAN → `iban not known`; no such order on it → `standing
//!   order not known`; not an owner, wrong token as above; else StandingOrderEnded(`cancelled`).
//! - Runs: each run whose time has come → StandingOrderRan(run n, its transfer's id) and the
//!   TransferStarted of that id (the order's payee, amount and description, asked by the owner
//!   who set it, with that owner's token hash): the saga debits and credits it like any
//!   transfer, and the debit checks then that this owner still owns the account with that
//!   token, and judges the available balance. A refused run fails like a transfer and is not
//!   tried again; the next run comes at its own time. After the last run (`runs`, or a `Once`
//!   order's only one) → StandingOrderEnded(`completed`).
//!
//! Why a run is never paid twice: its transfer's id is derived from the order's id and the
//! run's number (`topology::schedules::run_transfer_id`), and which run is next is part of the
//! account's state, moved on by the StandingOrderRan event written in the same transaction as
//! the run's transfer. The instance that owns the account's partition decides due runs on its
//! tick, in a Kafka transaction with its group's metadata (a stale instance is fenced), so one
//! run is decided once whatever crashes, restarts or hand-overs happen; a second instance sees
//! the StandingOrderRan in the state it rebuilds. A run missed while no command handler ran
//! is due as soon as one runs again, and is made up then, once (each missed run its own
//! transfer, at most [`MAX_RUNS_PER_TICK`] per order and tick).

use topology::schedules::{run_at, run_transfer_id};
use topology::values::MAX_STANDING_ORDER_RUNS;
use topology::{
    BankEvent, CancelStandingOrderCommand, Id, SetStandingOrderCommand, StandingOrderEndedEvent,
    StandingOrderRanEvent, StandingOrderSetEvent, TransferStartedEvent,
};

use super::bank_account::{BankAccounts, StandingOrder};
use super::{Reason, Transfers};

/// The most standing orders one account may have under way.
pub const MAX_ORDERS: usize = 20;
/// How far in the past a first run may lie: a client's clock a little behind the bank's.
const FIRST_RUN_GRACE_MILLIS: i64 = 60_000;
/// How far ahead a first run may lie.
const FIRST_RUN_HORIZON_MILLIS: i64 = 366 * 86_400_000;
/// The most runs of one order one tick decides: a long outage is made up over a few ticks.
pub const MAX_RUNS_PER_TICK: u32 = 10;

/// The reasons a StandingOrderEnded gives.
pub const COMPLETED: &str = "completed";
pub const CANCELLED: &str = "cancelled";

/// The commands this module decides.
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    /// With the decision's time, in milliseconds since the epoch.
    Set(&'a SetStandingOrderCommand, i64),
    Cancel(&'a CancelStandingOrderCommand),
}

pub fn decide(
    transfers: &Transfers,
    accounts: &BankAccounts,
    command: Command<'_>,
) -> Result<Vec<BankEvent>, Reason> {
    match command {
        Command::Set(c, now_millis) => set(transfers, accounts, c, now_millis),
        Command::Cancel(c) => {
            let account = accounts.known(&c.iban)?;
            if !account.standing_orders().iter().any(|o| o.id == c.id) {
                return Err(Reason::StandingOrderNotKnown);
            }
            account.check_owner(&c.username, &c.token, Reason::UserIsNoOwnerOfBankAccount)?;
            Ok(vec![ended(c.id, &c.iban, CANCELLED)])
        }
    }
}

/// The standing order a standing-order event is about.
pub fn order_id(event: &BankEvent) -> Option<Id> {
    match event {
        BankEvent::StandingOrderSetEvent(e) => Some(e.id),
        BankEvent::StandingOrderRanEvent(e) => Some(e.id),
        BankEvent::StandingOrderEndedEvent(e) => Some(e.id),
        _ => None,
    }
}

fn set(
    transfers: &Transfers,
    accounts: &BankAccounts,
    c: &SetStandingOrderCommand,
    now_millis: i64,
) -> Result<Vec<BankEvent>, Reason> {
    super::transfer::new_and_positive(transfers, c.id, c.amount)?;
    if c.runs
        .is_some_and(|runs| !(1..=MAX_STANDING_ORDER_RUNS).contains(&runs))
    {
        return Err(Reason::StandingOrderRunsOutOfRange);
    }
    let earliest = now_millis.saturating_sub(FIRST_RUN_GRACE_MILLIS);
    let latest = now_millis.saturating_add(FIRST_RUN_HORIZON_MILLIS);
    if !(earliest..=latest).contains(&c.first_at) {
        return Err(Reason::FirstRunOutOfRange);
    }
    if c.from == c.to {
        return Err(Reason::FromAndToAreTheSame);
    }
    let account = accounts.known(&c.from)?;
    account.check_owner(&c.username, &c.token, Reason::UserIsNoOwnerOfBankAccount)?;
    if account.standing_orders().len() >= MAX_ORDERS {
        return Err(Reason::TooManyStandingOrders);
    }
    Ok(vec![StandingOrderSetEvent {
        id: c.id,
        iban: c.from.clone(),
        to: c.to.clone(),
        amount: c.amount,
        description: c.description.clone(),
        username: c.username.clone(),
        token_hash: Some(c.token.clone()),
        schedule: c.schedule,
        first_at: c.first_at,
        runs: c.runs,
    }
    .into()])
}

/// The runs due at `now_millis` on the accounts in `accounts` (the partitions this instance
/// owns), each with its transfer, and the ends of the orders whose last run that was.
pub fn due(accounts: &BankAccounts, transfers: &Transfers, now_millis: i64) -> Vec<BankEvent> {
    let mut events = Vec::new();
    for (iban, account) in accounts.iter() {
        for order in account.standing_orders() {
            runs_due(iban, order, transfers, now_millis, &mut events);
        }
    }
    events
}

fn runs_due(
    iban: &str,
    order: &StandingOrder,
    transfers: &Transfers,
    now_millis: i64,
    events: &mut Vec<BankEvent>,
) {
    let last = order.next_run.saturating_add(MAX_RUNS_PER_TICK);
    for run in order.next_run..=last {
        let at = (!is_exhausted(order, run))
            .then(|| run_at(order.schedule, order.first_at, run))
            .flatten();
        let Some(at) = at else {
            events.push(ended(order.id, iban, COMPLETED));
            return;
        };
        if at > now_millis || run == last {
            return;
        }
        let transfer = run_transfer_id(order.id, run);
        events.push(
            StandingOrderRanEvent {
                id: order.id,
                iban: iban.to_string(),
                run: i32::try_from(run).unwrap_or(i32::MAX),
                transfer_id: transfer,
            }
            .into(),
        );
        // A run whose transfer exists already (a log not written by this handler) moves on
        // without starting it again.
        if transfers.status(transfer).is_none() {
            events.push(
                TransferStartedEvent {
                    id: transfer,
                    token: String::new(),
                    token_hash: Some(order.token_hash.clone()),
                    amount: order.amount,
                    from: iban.to_string(),
                    to: order.to.clone(),
                    description: order.description.clone(),
                    username: order.username.clone(),
                    at_millis: Some(now_millis),
                }
                .into(),
            );
        }
    }
}

fn is_exhausted(order: &StandingOrder, run: u32) -> bool {
    order.runs.is_some_and(|runs| run >= runs)
}

/// When the next run (or end) of an order of `accounts` is due, if any.
pub fn next_due(accounts: &BankAccounts) -> Option<i64> {
    accounts
        .iter()
        .flat_map(|(_, account)| account.standing_orders())
        .map(|order| {
            if is_exhausted(order, order.next_run) {
                return i64::MIN;
            }
            run_at(order.schedule, order.first_at, order.next_run).unwrap_or(i64::MIN)
        })
        .min()
}

fn ended(id: Id, iban: &str, reason: &str) -> BankEvent {
    StandingOrderEndedEvent {
        id,
        iban: iban.to_string(),
        reason: reason.to_string(),
    }
    .into()
}

#[cfg(test)]
mod tests;
