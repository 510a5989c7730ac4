use std::sync::Arc;

use async_graphql::{Context, Result, Subscription};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::alerts::Alert;
use super::auth::require_employee;
use super::errors::{invalid, owner_read_error};
use super::filter::TransactionFilter;
use super::operations_view::{snapshot, OperationsView, Watching, REFRESH};
use super::types::{Direction, Transaction};
use crate::bank::Bank;
use crate::feed::{AlertFeed, TransactionFeed};
use crate::validation;

pub struct SubscriptionRoot;

/// Counts itself in `open_bank_graphql_subscriptions_open` while its stream lives: the stream
/// is dropped when the client stops it or goes away.
struct OpenSubscription;

impl OpenSubscription {
    fn counted() -> Self {
        metrics::gauge!("open_bank_graphql_subscriptions_open").increment(1.0);
        Self
    }
}

impl Drop for OpenSubscription {
    fn drop(&mut self) {
        metrics::gauge!("open_bank_graphql_subscriptions_open").decrement(1.0);
    }
}

#[Subscription(rename_fields = "snake_case", rename_args = "snake_case")]
impl SubscriptionRoot {
    /// For employees only (the session in the `connection_init` payload): `operations`, now
    /// and then every 2 s.
    async fn operations_live(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = OperationsView>> {
        require_employee(ctx)?;
        let watching = Arc::clone(ctx.data::<Arc<Watching>>()?);
        let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(REFRESH));
        Ok(ticks.then(move |_| {
            let watching = Arc::clone(&watching);
            async move { snapshot(&watching).await }
        }))
    }

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
        let open = OpenSubscription::counted();
        let stream = BroadcastStream::new(feed.subscribe()).filter_map(move |received| {
            let _open = &open;
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

    /// The alerts of account `iban` as they fire, for its owner `username` proven by `token`
    /// (checked once, when the subscription starts).
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: String,
        #[graphql(secret)] token: String,
    ) -> Result<impl Stream<Item = Alert>> {
        validation::account_command(&iban, &username, &token).map_err(invalid)?;
        // Subscribe before the check, so no alert slips between the two.
        let receiver = ctx.data::<Arc<AlertFeed>>()?.subscribe();
        let bank = ctx.data::<Arc<Bank>>()?;
        bank.queries
            .alert_rules(&iban, &username, &token)
            .await
            .map_err(owner_read_error)?;
        let open = OpenSubscription::counted();
        let stream = BroadcastStream::new(receiver).filter_map(move |received| {
            let _open = &open;
            let passed = match received {
                Ok(alert) => (alert.iban == iban).then(|| Alert::clone(&alert)),
                Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                    tracing::warn!(
                        skipped,
                        "an alert subscriber fell behind and skipped alerts"
                    );
                    None
                }
            };
            std::future::ready(passed)
        });
        Ok(stream)
    }
}
