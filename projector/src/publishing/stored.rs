//! After a restart: what the state store holds that the publishing group has not published.

use crate::projection::{Derived, DerivedRunFailure, DerivedTransaction};
use crate::store::{Store, StoreError};

/// What the state store holds of `partition` (of `partitions`) past the published offset
/// `after`, in offset order, to publish after a restart: its transactions (of the `issued` ids
/// there) with their alerts, and its failed standing-order runs.
pub fn stored_news(
    store: &Store,
    partitions: i32,
    partition: i32,
    issued: i64,
    after: Option<i64>,
) -> Result<Vec<Derived>, StoreError> {
    let transactions = store
        .derived_after(partitions, partition, issued, after)?
        .into_iter()
        .map(|stored| {
            Derived::Transaction(DerivedTransaction {
                event: (&stored.transaction).into(),
                alerts: stored
                    .alerts
                    .iter()
                    .map(|alert| alert.event(&stored.transaction))
                    .collect(),
                source: stored.source,
                traceparent: None,
            })
        });
    let run_failures = store
        .run_failures_after(partition, after)?
        .into_iter()
        .filter_map(|stored| {
            Some(Derived::RunFailure(DerivedRunFailure {
                event: stored.failure.alert()?,
                source: stored.source,
                traceparent: None,
            }))
        });
    let mut news: Vec<Derived> = transactions.chain(run_failures).collect();
    news.sort_by_key(|derived| derived.source().offset);
    Ok(news)
}
