//! When the runs of a standing order are due, and the id of each run's transfer: the command
//! handler decides runs by it and the projector shows the next one, so both must compute the
//! same instants from the same fields.
//!
//! Run `n` (0, 1, …) of an order whose first run is `first_at`:
//! - `Once`: only run 0, at `first_at`;
//! - `Weekly`: `first_at` + n weeks;
//! - `Monthly`: n months after `first_at`, on the same day of the month at the same time of day
//!   (UTC), or on the month's last day when it has fewer days (an order of the 31st runs on
//!   30 April and on 28 or 29 February).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use uuid::Uuid;

use crate::{Id, StandingOrderSchedule};

const WEEK_MILLIS: i64 = 7 * 86_400_000;

/// When run `run` of an order is due, in milliseconds since the epoch; `None` when the
/// schedule has no such run (or it would lie beyond the calendar).
pub fn run_at(schedule: StandingOrderSchedule, first_at: i64, run: u32) -> Option<i64> {
    match schedule {
        StandingOrderSchedule::Once => (run == 0).then_some(first_at),
        StandingOrderSchedule::Weekly => i64::from(run)
            .checked_mul(WEEK_MILLIS)
            .and_then(|later| first_at.checked_add(later)),
        StandingOrderSchedule::Monthly => monthly(first_at, run),
    }
}

fn monthly(first_at: i64, run: u32) -> Option<i64> {
    let first = DateTime::<Utc>::from_timestamp_millis(first_at)?;
    let month_start = NaiveDate::from_ymd_opt(first.year(), first.month(), 1)?
        .checked_add_months(Months::new(run))?;
    let next_month = month_start.checked_add_months(Months::new(1))?;
    let days_in_month = next_month.signed_duration_since(month_start).num_days();
    let day = i64::from(first.day()).min(days_in_month);
    let date = month_start.checked_add_days(chrono::Days::new(u64::try_from(day - 1).ok()?))?;
    Some(date.and_time(first.time()).and_utc().timestamp_millis())
}

/// The id of run `run`'s transfer: a name-based (v5) UUID of the run's number under the
/// order's id, so every instance, restart and replay gives one run one transfer, which the
/// transfer aggregate starts at most once.
pub fn run_transfer_id(order: Id, run: u32) -> Id {
    Uuid::new_v5(&Uuid::from(order), &run.to_be_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .map(|time| time.timestamp_millis())
            .unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    #[test]
    fn once_runs_once_weekly_every_seven_days() {
        let first = at("2026-12-07T09:30:00Z");
        assert_eq!(run_at(StandingOrderSchedule::Once, first, 0), Some(first));
        assert_eq!(run_at(StandingOrderSchedule::Once, first, 1), None);
        assert_eq!(
            run_at(StandingOrderSchedule::Weekly, first, 3),
            Some(at("2026-12-28T09:30:00Z"))
        );
    }

    #[test]
    fn monthly_keeps_the_day_or_takes_the_last_day_of_a_shorter_month() {
        let first = at("2027-01-31T08:00:00Z");
        let runs: Vec<Option<i64>> = (0..4)
            .map(|run| run_at(StandingOrderSchedule::Monthly, first, run))
            .collect();
        assert_eq!(
            runs,
            [
                Some(at("2027-01-31T08:00:00Z")),
                Some(at("2027-02-28T08:00:00Z")),
                Some(at("2027-03-31T08:00:00Z")),
                Some(at("2027-04-30T08:00:00Z")),
            ]
        );
        let leap = at("2028-01-29T00:00:00Z");
        assert_eq!(
            run_at(StandingOrderSchedule::Monthly, leap, 1),
            Some(at("2028-02-29T00:00:00Z"))
        );
        assert_eq!(
            run_at(
                StandingOrderSchedule::Monthly,
                at("2026-12-15T12:00:00Z"),
                1
            ),
            Some(at("2027-01-15T12:00:00Z")),
            "across the year"
        );
    }

    #[test]
    fn each_run_has_its_own_stable_transfer_id() {
        let order = Id([7; 16]);
        assert_eq!(run_transfer_id(order, 0), run_transfer_id(order, 0));
        assert_ne!(run_transfer_id(order, 0), run_transfer_id(order, 1));
        assert_ne!(run_transfer_id(order, 0), run_transfer_id(Id([8; 16]), 0));
    }
}
