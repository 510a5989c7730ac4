//! The GraphQL side of statements: `statement(iban, from, to)` and its type. The same statement
//! as a CSV or camt.053 file is `GET /statement` (see [`crate::statement_download`]).

use async_graphql::{ComplexObject, Error, ErrorExtensions, Result, SimpleObject};
use topology::values::format_euro;

use super::errors::{graphql_error, invalid};
use super::types::Transaction;
use crate::statements::{self, Statement as Read, StatementError};
use crate::validation::{self, InvalidInput};

/// An account's statement for a period: the balance when it began, every booked transaction
/// in it, and the balance when it ended; the opening balance plus the transactions' amounts
/// is the closing balance, to the cent.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex, rename_fields = "snake_case")]
pub struct Statement {
    pub iban: String,
    /// The start of the period (included): RFC 3339 in UTC.
    pub from: String,
    /// The end of the period (excluded): RFC 3339 in UTC.
    pub to: String,
    /// Dutch euros.
    pub opening_balance: String,
    /// Dutch euros.
    pub closing_balance: String,
    /// The sum of the credits, in Dutch euros.
    pub credits: String,
    /// The sum of the debits, in Dutch euros, without sign.
    pub debits: String,
    /// How many transactions the period has.
    pub transaction_count: i32,
    #[graphql(skip)]
    pub read: Read,
}

impl Statement {
    pub fn from_read(read: Read) -> Self {
        Self {
            iban: read.iban.clone(),
            from: crate::instants::format(read.since),
            to: crate::instants::format(read.until),
            opening_balance: format_euro(read.opening_balance),
            closing_balance: format_euro(read.closing_balance()),
            credits: format_euro(read.credits()),
            debits: format_euro(read.debits()),
            transaction_count: i32::try_from(read.transactions.len()).unwrap_or(i32::MAX),
            read,
        }
    }
}

#[ComplexObject(rename_fields = "snake_case", rename_args = "snake_case")]
impl Statement {
    /// At most `max_items` (1–1000) of the period's transactions from position `offset` on,
    /// oldest first; the whole statement is a file: `GET /statement`.
    async fn transactions(
        &self,
        #[graphql(default = 0)] offset: i32,
        #[graphql(default = 1000)] max_items: i32,
    ) -> Result<Vec<Transaction>> {
        validation::max_items(max_items).map_err(invalid)?;
        validation::offset(offset).map_err(invalid)?;
        let skip = usize::try_from(offset).unwrap_or(0);
        let take = usize::try_from(max_items).unwrap_or(0);
        Ok(self
            .read
            .transactions
            .iter()
            .skip(skip)
            .take(take)
            .map(Transaction::from_read)
            .collect())
    }
}

/// What a statement that cannot be read becomes.
pub fn statement_error(error: StatementError) -> Error {
    match error {
        StatementError::Read(read) => graphql_error(read.into()),
        StatementError::TooLong => invalid(InvalidInput(statements::TOO_LONG.to_string())),
        StatementError::DoesNotReconcile { .. } => {
            tracing::error!(%error, "a statement could not be read");
            Error::new(error.to_string()).extend_with(|_, e| e.set("code", "INTERNAL"))
        }
    }
}
