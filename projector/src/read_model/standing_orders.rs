//! Standing orders on the read side: an account shows its orders under way and when each runs
//! next (by `topology::schedules`, as the command handler decides the runs), and its latest
//! runs that failed. An order's events, and each run's transfer (its TransferStarted right
//! after the StandingOrderRan, its end later), are keyed by the paying IBAN, so they follow the
//! order of one partition.

use serde::{Deserialize, Serialize};
use topology::schedules::{run_at, run_transfer_id};
use topology::values::format_euro;
use topology::{
    Id, StandingOrderEndedEvent, StandingOrderRanEvent, StandingOrderRunFailedEvent,
    StandingOrderSchedule, StandingOrderSetEvent,
};

use super::{ReadModel, Transfer};
use crate::query_results::{Account, FailedRun, StandingOrder};
use crate::source::Source;

/// The schedule as the answers name it.
pub fn schedule_name(schedule: StandingOrderSchedule) -> &'static str {
    match schedule {
        StandingOrderSchedule::Once => "once",
        StandingOrderSchedule::Weekly => "weekly",
        StandingOrderSchedule::Monthly => "monthly",
    }
}

fn schedule_of(name: &str) -> Option<StandingOrderSchedule> {
    [
        StandingOrderSchedule::Once,
        StandingOrderSchedule::Weekly,
        StandingOrderSchedule::Monthly,
    ]
    .into_iter()
    .find(|schedule| schedule_name(*schedule) == name)
}

/// When run `run` of `order` is due, unless the order has no such run.
fn next_at(order: &StandingOrder, run: u32) -> Option<i64> {
    let within_runs = order
        .runs
        .is_none_or(|runs| i64::from(run) < i64::from(runs));
    let schedule = schedule_of(&order.schedule)?;
    within_runs
        .then(|| run_at(schedule, order.first_at, run))
        .flatten()
}

impl ReadModel {
    pub(crate) fn set_standing_order(&self, set: &StandingOrderSetEvent) {
        let id = set.id.to_uuid_string();
        {
            let mut account = self
                .accounts
                .entry(set.iban.clone())
                .or_insert_with(|| Account::new(&set.iban));
            if account.standing_orders.iter().any(|order| order.id == id) {
                return;
            }
            let mut order = StandingOrder {
                id,
                to: set.to.clone(),
                amount: set.amount,
                description: set.description.clone(),
                schedule: schedule_name(set.schedule).to_string(),
                first_at: set.first_at,
                runs: set.runs,
                next_run: 0,
                next_at: None,
            };
            order.next_at = next_at(&order, 0);
            account.standing_orders.push(order);
        }
        self.history.record_account(&set.iban);
    }

    pub(crate) fn standing_order_ran(&self, ran: &StandingOrderRanEvent) {
        let id = ran.id.to_uuid_string();
        if let Some(mut account) = self.accounts.get_mut(&ran.iban) {
            if let Some(order) = account.standing_orders.iter_mut().find(|o| o.id == id) {
                let next = u32::try_from(ran.run).unwrap_or(0).saturating_add(1);
                order.next_run = order.next_run.max(next);
                order.next_at = next_at(order, order.next_run);
            }
        }
        self.history.record_account(&ran.iban);
    }

    pub(crate) fn end_standing_order(&self, ended: &StandingOrderEndedEvent) {
        let id = ended.id.to_uuid_string();
        if let Some(mut account) = self.accounts.get_mut(&ended.iban) {
            account.standing_orders.retain(|order| order.id != id);
        }
        self.history.record_account(&ended.iban);
    }
}

impl ReadModel {
    /// The order (and amount) of which transfer `transfer` from `iban` is the latest run: its
    /// TransferStarted follows the order's StandingOrderRan, which moved the order's next run
    /// on, so it is the run before that.
    pub(super) fn run_of(&self, iban: &str, transfer: Id) -> Option<(String, i64)> {
        let account = self.accounts.get(iban)?;
        account.standing_orders.iter().find_map(|order| {
            let id: Id = order.id.parse().ok()?;
            let run = order.next_run.checked_sub(1)?;
            (run_transfer_id(id, run) == transfer).then(|| (order.id.clone(), order.amount))
        })
    }

    /// A run's transfer failed, by the event at `source`: the paying account keeps it among its
    /// latest failed runs, and its owner gets the alert this answers (kept with the round, so
    /// one not yet published when the projector stops goes out after the restart).
    pub(super) fn run_failed(
        &self,
        transfer_id: &Id,
        transfer: &Transfer,
        reason: &str,
        source: Source,
    ) -> Option<StandingOrderRunFailedEvent> {
        let (order, amount) = transfer.standing_order.as_ref()?;
        let run = FailedRun {
            order: order.clone(),
            transfer: transfer_id.to_uuid_string(),
            to: transfer.to.clone(),
            amount: *amount,
            description: transfer.description.clone(),
            reason: reason.to_string(),
            at_millis: source.timestamp_ms,
        };
        if let Some(mut account) = self.accounts.get_mut(&transfer.from) {
            account.failed_runs.insert(0, run.clone());
            account.failed_runs.truncate(FailedRun::KEPT);
        }
        self.history.record_account(&transfer.from);
        let failure = RunFailure {
            iban: transfer.from.clone(),
            run,
        };
        let alert = failure.alert();
        self.history.record_run_failure(source, failure);
        alert
    }
}

/// A failed run of a standing order from `iban`, as the state store keeps it until its alert is
/// published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    pub iban: String,
    pub run: FailedRun,
}

impl RunFailure {
    /// The alert its owner gets (`None` only for ids that are not uuids, which the projection
    /// never keeps).
    pub fn alert(&self) -> Option<StandingOrderRunFailedEvent> {
        let run = &self.run;
        let message = format!(
            "Standing order payment of {} from {} to {} ({}) failed: {}",
            format_euro(run.amount),
            self.iban,
            run.to,
            run.description,
            run.reason
        );
        Some(StandingOrderRunFailedEvent {
            id: run.order.parse().ok()?,
            iban: self.iban.clone(),
            transfer_id: run.transfer.parse().ok()?,
            to: run.to.clone(),
            amount: run.amount,
            description: run.description.clone(),
            reason: run.reason.clone(),
            message,
            at_millis: run.at_millis,
        })
    }
}
