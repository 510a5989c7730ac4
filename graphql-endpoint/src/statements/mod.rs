//! Account statements: the projector's pages put together, checked to reconcile, and written
//! as CSV ([`csv`]) and ISO 20022 camt.053 XML ([`camt053`]).
//!
//! The projector answers a statement one page at a time, newest first (see
//! `projector/src/statements.rs`); [`Statement::read`] asks page after page, at most
//! [`MAX_TRANSACTIONS`] transactions in all, and turns them oldest first. Before anybody sees
//! it, the statement must reconcile: every transaction's balance is the one before's plus its
//! amount, from the opening balance to the closing balance. A statement that does not is
//! refused with an internal error rather than shown.

pub mod camt053;
pub mod csv;

use topology::reasons::Refusal;

use crate::bus::QueryBus;
use crate::reads::{ReadError, StatementPage, Transaction};

/// The most transactions one statement holds: a year of a busy account (100,000) and more.
pub const MAX_TRANSACTIONS: usize = 200_000;
/// Names [`MAX_TRANSACTIONS`] (a test checks it).
pub const TOO_LONG: &str = Refusal::StatementTooLong.text();
/// Booked lines per chunk of a file being sent: the file is written as it goes out.
pub const CHUNK_LINES: usize = 1_000;
/// Transactions asked for per page; the projector may answer fewer (its byte budget).
const PAGE_ITEMS: i32 = 10_000;

/// An account's statement for the period `[since, until)`, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub iban: String,
    pub since: i64,
    pub until: i64,
    /// Cents, when the period began.
    pub opening_balance: i64,
    /// Oldest first.
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{}", TOO_LONG)]
    TooLong,
    /// A bug or a damaged read model: never shown as a statement.
    #[error("the statement does not reconcile at transaction {transaction}")]
    DoesNotReconcile { transaction: i32 },
}

impl Statement {
    /// Asks the projector page after page and checks that the result reconciles.
    pub async fn read(
        queries: &QueryBus,
        iban: &str,
        since: i64,
        until: i64,
    ) -> Result<Self, StatementError> {
        let mut pages = Vec::new();
        let mut before = None;
        let mut count = 0;
        loop {
            let page = queries
                .statement_page(iban, since, until, before, PAGE_ITEMS)
                .await?;
            count += page.transactions.len();
            if count > MAX_TRANSACTIONS {
                return Err(StatementError::TooLong);
            }
            before = page.next_before;
            pages.push(page);
            if before.is_none() {
                break;
            }
        }
        Self::from_pages(iban, since, until, pages)
    }

    /// The statement of `pages`, newest first as the projector answered them.
    pub fn from_pages(
        iban: &str,
        since: i64,
        until: i64,
        pages: Vec<StatementPage>,
    ) -> Result<Self, StatementError> {
        let opening_balance = pages
            .last()
            .and_then(|page| page.opening_balance)
            .unwrap_or(0);
        let mut transactions: Vec<Transaction> = pages
            .into_iter()
            .flat_map(|page| page.transactions)
            .collect();
        transactions.reverse();
        let statement = Self {
            iban: iban.to_string(),
            since,
            until,
            opening_balance,
            transactions,
        };
        statement.reconcile()?;
        Ok(statement)
    }

    /// Every balance follows from the one before: opening + amounts = closing, to the cent.
    fn reconcile(&self) -> Result<(), StatementError> {
        let mut balance = self.opening_balance;
        for transaction in &self.transactions {
            balance = balance
                .checked_add(transaction.changed_by)
                .filter(|&after| after == transaction.new_balance)
                .ok_or(StatementError::DoesNotReconcile {
                    transaction: transaction.id,
                })?;
        }
        Ok(())
    }

    /// Cents, when the period ended.
    pub fn closing_balance(&self) -> i64 {
        self.transactions
            .last()
            .map_or(self.opening_balance, |last| last.new_balance)
    }

    /// The sum of the credits, in cents (positive).
    pub fn credits(&self) -> i64 {
        self.transactions
            .iter()
            .map(|t| t.changed_by.max(0))
            .fold(0, i64::saturating_add)
    }

    /// The sum of the debits, in cents (positive).
    pub fn debits(&self) -> i64 {
        self.transactions
            .iter()
            .map(|t| t.changed_by.min(0).saturating_neg())
            .fold(0, i64::saturating_add)
    }
}

/// Cents as a plain decimal with a point and two digits, `-1234` → `-12.34`: what CSV readers
/// and camt.053 expect (the web app shows Dutch euros instead).
pub fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
pub(crate) mod tests;
