//! The GraphQL types of the bank at any moment: an account as it was, and a balance series.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use topology::values::format_euro;

use super::errors::{graphql_error, invalid};
use super::types::Transaction;
use crate::bank::Bank;
use crate::reads;
use crate::validation;

/// An account as it was at an instant.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex, rename_fields = "snake_case")]
pub struct AccountAt {
    pub iban: String,
    /// The instant asked for: RFC 3339 in UTC.
    pub at: String,
    /// The balance then, in Dutch euros.
    pub balance: String,
    #[graphql(skip)]
    pub at_millis: i64,
}

impl AccountAt {
    pub fn from_read(read: &reads::AccountAt) -> Self {
        Self {
            iban: read.iban.clone(),
            at: crate::instants::format(read.at_millis),
            balance: format_euro(read.balance),
            at_millis: read.at_millis,
        }
    }
}

#[ComplexObject(rename_fields = "snake_case", rename_args = "snake_case")]
impl AccountAt {
    /// At most `max_items` of its transactions up to that instant, newest first.
    async fn transactions(&self, ctx: &Context<'_>, max_items: i32) -> Result<Vec<Transaction>> {
        validation::max_items(max_items).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let then = bank
            .queries
            .account_at(&self.iban, self.at_millis, max_items)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(then
            .map(|then| {
                then.transactions
                    .iter()
                    .map(Transaction::from_read)
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The balance at one instant of a series.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
#[graphql(rename_fields = "snake_case")]
pub struct BalancePoint {
    /// RFC 3339 in UTC.
    pub at: String,
    /// Dutch euros.
    pub balance: String,
    /// The same balance in cents, as a number for charts (exact up to 2^53 cents).
    pub balance_cents: f64,
}

impl From<reads::BalancePoint> for BalancePoint {
    fn from(point: reads::BalancePoint) -> Self {
        Self {
            at: crate::instants::format(point.at_millis),
            balance: format_euro(point.balance),
            // Balances beyond 2^53 cents (€ 90 trillion) would round; none is near.
            balance_cents: point.balance as f64,
        }
    }
}
