//! What the projector counts and times, in Prometheus terms (served on `/metrics`; see
//! `topology::telemetry`).

use std::time::Duration;

use metrics::{counter, histogram};

use crate::queries::QueryAnswer;

/// `open_bank_queries_answered_total{query, outcome}` and `open_bank_query_seconds{query}`.
pub fn query_answered(answer: &QueryAnswer, took: Duration) {
    let (query, outcome) = match answer {
        QueryAnswer::Succeeded(succeeded) => (succeeded.query_name.symbol().1, "succeeded"),
        QueryAnswer::Failed(failed) => (failed.query_name.symbol().1, "failed"),
    };
    counter!("open_bank_queries_answered_total", "query" => query, "outcome" => outcome)
        .increment(1);
    histogram!("open_bank_query_seconds", "query" => query).record(took.as_secs_f64());
}

/// `open_bank_queries_read_after_total{outcome}`: a query named positions to read after, and
/// they were applied already (`at_once`), after a wait (`waited`), or not in time
/// (`not_caught_up`).
pub fn read_after(outcome: &'static str) {
    counter!("open_bank_queries_read_after_total", "outcome" => outcome).increment(1);
}

pub fn event_projected() {
    counter!("open_bank_events_projected_total").increment(1);
}

pub fn transaction_derived() {
    counter!("open_bank_transactions_derived_total").increment(1);
}

/// `open_bank_alerts_derived_total{kind="STANDING_ORDER_FAILED"}`: a standing order's run failed.
pub fn run_failure_derived() {
    counter!("open_bank_alerts_derived_total", "kind" => "STANDING_ORDER_FAILED").increment(1);
}

/// `open_bank_alerts_derived_total{kind}`: alerts a money event fired, by kind.
pub fn alerts_derived(alerts: &[topology::AlertTriggeredEvent]) {
    for alert in alerts {
        let kind = crate::alerts::Kind::from(alert.alert_kind).name();
        counter!("open_bank_alerts_derived_total", "kind" => kind).increment(1);
    }
}

/// A publishing transaction committed `records` derived events in `took`.
pub fn transaction_committed(took: Duration, records: usize) {
    histogram!("open_bank_transaction_commit_seconds").record(took.as_secs_f64());
    histogram!("open_bank_transaction_batch_records").record(records as f64);
}

/// The start caught up with the log: `records` events replayed (after the state store's
/// positions) in `took`.
pub fn caught_up(took: Duration, records: u64) {
    histogram!("open_bank_rebuild_seconds").record(took.as_secs_f64());
    counter!("open_bank_replayed_records_total").increment(records);
}
