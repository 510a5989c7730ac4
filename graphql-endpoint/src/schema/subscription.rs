use std::sync::Arc;

use async_graphql::{Context, Result, Subscription};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::errors::invalid;
use super::filter::TransactionFilter;
use super::types::{Direction, Transaction};
use crate::feed::TransactionFeed;
use crate::validation;

pub struct SubscriptionRoot;

#[Subscription(rename_fields = "snake_case", rename_args = "snake_case")]
impl SubscriptionRoot {
    /// Transactions as they happen, optionally only those of one `iban`, with an amount (in
    /// cents, without sign) between `min_amount` and `max_amount`, in one `direction`, or whose
    /// description contains `descr_includes` (case-insensitive).
    async fn stream_transactions(
        &self,
        ctx: &Context<'_>,
        iban: Option<String>,
        min_amount: Option<i32>,
        max_amount: Option<i32>,
        direction: Option<Direction>,
        descr_includes: Option<String>,
    ) -> Result<impl Stream<Item = Transaction>> {
        let (min_amount, max_amount) = (min_amount.map(i64::from), max_amount.map(i64::from));
        validation::amount_range(min_amount, max_amount).map_err(invalid)?;
        let filter =
            TransactionFilter::new(iban, min_amount, max_amount, direction, descr_includes);
        let feed = ctx.data::<Arc<TransactionFeed>>()?;
        let stream = BroadcastStream::new(feed.subscribe()).filter_map(move |received| {
            let passed = match received {
                Ok(transaction) => filter
                    .matches(&transaction)
                    .then(|| Transaction::clone(&transaction)),
                Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a subscriber fell behind and skipped transactions");
                    None
                }
            };
            std::future::ready(passed)
        });
        Ok(stream)
    }
}
