//! The GraphQL types of the bank at any moment: an account as it was, and a balance series.

use async_graphql::{ComplexObject, Lookahead, Result, SimpleObject, Value};
use topology::values::format_euro;

use super::errors::invalid;
use super::types::Transaction;
use crate::reads;
use crate::validation::{self, MAX_ITEMS};

/// An account as it was at an instant.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex, rename_fields = "snake_case")]
pub struct AccountAt {
    pub iban: String,
    /// The instant asked for: RFC 3339 in UTC.
    pub at: String,
    /// The balance then, in Dutch euros.
    pub balance: String,
    /// Newest first, as many as the largest `transactions(max_items:)` asked for.
    #[graphql(skip)]
    pub newest: Vec<reads::Transaction>,
}

impl AccountAt {
    pub fn from_read(read: reads::AccountAt) -> Self {
        Self {
            iban: read.iban,
            at: crate::instants::format(read.at_millis),
            balance: format_euro(read.balance),
            newest: read.transactions,
        }
    }
}

/// How many transactions the `transactions` fields of one `account_at` ask for, so that one
/// query answers the account and all of them (aliases may ask twice): the largest `max_items`,
/// at most [`MAX_ITEMS`] (the field itself refuses one out of range); 0 when none is selected.
pub fn transactions_wanted(transactions: &Lookahead<'_>) -> i32 {
    transactions
        .selection_fields()
        .iter()
        .filter_map(|field| field.arguments().ok())
        .flatten()
        .filter(|(name, _)| name.as_str() == "max_items")
        .filter_map(|(_, value)| match value {
            Value::Number(number) => number.as_i64(),
            _ => None,
        })
        .map(|n| n.clamp(0, i64::from(MAX_ITEMS)))
        .max()
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(0)
}

#[ComplexObject(rename_fields = "snake_case", rename_args = "snake_case")]
impl AccountAt {
    /// At most `max_items` (1–1000) of its transactions up to that instant, newest first.
    async fn transactions(&self, max_items: i32) -> Result<Vec<Transaction>> {
        validation::max_items(max_items).map_err(invalid)?;
        let count = usize::try_from(max_items).unwrap_or(0);
        Ok(self
            .newest
            .iter()
            .take(count)
            .map(Transaction::from_read)
            .collect())
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
