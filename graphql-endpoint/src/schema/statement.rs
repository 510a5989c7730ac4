//! The GraphQL side of statements: `statement(iban, from, to)` and its type, with the CSV and
//! camt.053 renderings computed only when asked for.

use async_graphql::{ComplexObject, Error, ErrorExtensions, Result, SimpleObject};
use topology::values::format_euro;

use super::errors::{graphql_error, invalid};
use super::types::Transaction;
use crate::statements::{self, Statement as Read, StatementError};
use crate::validation::InvalidInput;

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
    /// Oldest first.
    pub transactions: Vec<Transaction>,
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
            transactions: read
                .transactions
                .iter()
                .map(Transaction::from_read)
                .collect(),
            read,
        }
    }
}

#[ComplexObject(rename_fields = "snake_case")]
impl Statement {
    /// The statement as CSV (a header, then opening, booked and closing rows; amounts like
    /// `-12.34`).
    async fn csv(&self) -> Result<String> {
        statements::csv::write(&self.read).map_err(internal)
    }

    /// The statement as ISO 20022 camt.053.001.02 XML, for bookkeeping programs.
    #[graphql(name = "camt053")]
    async fn camt053(&self) -> Result<String> {
        let now = crate::instants::now_millis();
        statements::camt053::write(&self.read, now).map_err(internal)
    }
}

/// What a statement that cannot be read or shown becomes.
pub fn statement_error(error: StatementError) -> Error {
    match error {
        StatementError::Read(read) => graphql_error(read.into()),
        StatementError::TooLong => invalid(InvalidInput(statements::TOO_LONG.to_string())),
        StatementError::DoesNotReconcile { .. } => internal(error),
    }
}

fn internal(error: impl std::fmt::Display) -> Error {
    tracing::error!(%error, "a statement could not be written");
    Error::new(error.to_string()).extend_with(|_, e| e.set("code", "INTERNAL"))
}
