//! An account's statement for a period, one page at a time (`StatementQuery`).
//!
//! | rule (first failing wins) | reason |
//! | --- | --- |
//! | the IBAN is an open IBAN | [`IBAN_IS_NOT_VALID`](crate::queries::IBAN_IS_NOT_VALID) |
//! | `1 <= max_items <=` [`MAX_PAGE_ITEMS`] | [`MAX_ITEMS_OUT_OF_RANGE`] |
//! | `since < until` | [`PERIOD_IS_EMPTY`] |
//! | `until - since` at most [`LONGEST_PERIOD_DAYS`] days | [`PERIOD_TOO_LONG`] |
//! | the account exists | [`IBAN_DOES_NOT_EXIST`] |
//!
//! The period is `[since, until)`. Walking the account's transactions newest first, the
//! statement begins at the first one written before `until` and ends at the first one written
//! before `since`, whose balance is the opening balance (0 when there is none). The
//! transactions in between are one unbroken run of the account's history, so each one's
//! `new_balance` is the one before's plus its `changed_by`, and the statement reconciles to the
//! cent whatever the clocks that stamped the records did. A later page (`before`) continues
//! under the previous page's last transaction.
//!
//! A page holds at most `max_items` transactions and at most [`PAGE_BYTES`] of them as JSON,
//! so an answer stays far below the size Kafka accepts for a record, whatever the descriptions.

use std::ops::ControlFlow;
use std::sync::Arc;

use topology::query_results::{StatementPage, Transaction};
use topology::reasons::Refusal;
use topology::StatementQuery;

use crate::account_queries::PERIOD_IS_EMPTY;
use crate::queries::{check_iban, IBAN_DOES_NOT_EXIST};
use crate::read_model::ReadModel;

/// The most transactions one page may hold.
pub const MAX_PAGE_ITEMS: i32 = 10_000;
/// Must name [`MAX_PAGE_ITEMS`] (a test checks it).
pub const MAX_ITEMS_OUT_OF_RANGE: &str = "max_items should be between 1 and 10000";
/// The most JSON bytes of transactions one page holds: Kafka's default largest record is 1 MB.
pub const PAGE_BYTES: usize = 512 * 1024;
pub const LONGEST_PERIOD_DAYS: i64 = 366;
/// Names [`LONGEST_PERIOD_DAYS`] (a test checks it).
pub const PERIOD_TOO_LONG: &str = Refusal::StatementPeriodTooLong.text();

const DAY_MILLIS: i64 = 24 * 3600 * 1000;

/// One page of the statement of `query.iban`, or the reason there is none.
pub fn statement_page(model: &ReadModel, query: &StatementQuery) -> Result<StatementPage, String> {
    check_iban(&query.iban)?;
    if !(1..=MAX_PAGE_ITEMS).contains(&query.max_items) {
        return Err(MAX_ITEMS_OUT_OF_RANGE.to_string());
    }
    if query.since >= query.until {
        return Err(PERIOD_IS_EMPTY.to_string());
    }
    if i128::from(query.until) - i128::from(query.since)
        > i128::from(LONGEST_PERIOD_DAYS * DAY_MILLIS)
    {
        return Err(PERIOD_TOO_LONG.to_string());
    }
    if model.account(&query.iban).is_none() {
        return Err(IBAN_DOES_NOT_EXIST.to_string());
    }
    let mut page = PageWalk::new(query);
    model.walk_below(&query.iban, query.before, &mut |transaction| {
        page.visit(transaction)
    });
    Ok(page.finish(&query.iban))
}

/// Collects one page from an account's transactions visited newest first.
#[derive(Debug)]
pub struct PageWalk {
    since: i64,
    until: i64,
    max_items: usize,
    /// Inside the period: a later page starts there, the first once a transaction was
    /// written before `until`.
    inside: bool,
    transactions: Vec<Transaction>,
    bytes: usize,
    next_before: Option<i32>,
    opening_balance: Option<i64>,
}

impl PageWalk {
    pub fn new(query: &StatementQuery) -> Self {
        Self {
            since: query.since,
            until: query.until,
            max_items: usize::try_from(query.max_items).unwrap_or(1).max(1),
            inside: query.before.is_some(),
            transactions: Vec::new(),
            bytes: 0,
            next_before: None,
            opening_balance: None,
        }
    }

    pub fn visit(&mut self, transaction: &Arc<Transaction>) -> ControlFlow<()> {
        // A transaction without a time is older than any instant (see crate::history).
        let written_before = |instant: i64| transaction.at_millis.is_none_or(|at| at < instant);
        if !self.inside {
            if !written_before(self.until) {
                return ControlFlow::Continue(());
            }
            self.inside = true;
        }
        if written_before(self.since) {
            self.opening_balance = Some(transaction.new_balance);
            return ControlFlow::Break(());
        }
        let bytes = serde_json::to_vec(&**transaction).map_or(0, |json| json.len() + 1);
        let full = self.transactions.len() >= self.max_items
            || (!self.transactions.is_empty() && self.bytes + bytes > PAGE_BYTES);
        if full {
            self.next_before = self.transactions.last().map(|last| last.id);
            return ControlFlow::Break(());
        }
        self.bytes += bytes;
        self.transactions.push(Transaction::clone(transaction));
        ControlFlow::Continue(())
    }

    pub fn finish(self, iban: &str) -> StatementPage {
        let opening_balance = match self.next_before {
            Some(_) => None,
            // The walk ran out of transactions: the period began before the first one.
            None => Some(self.opening_balance.unwrap_or(0)),
        };
        StatementPage {
            iban: iban.to_string(),
            transactions: self.transactions,
            next_before: self.next_before,
            opening_balance,
        }
    }
}

#[cfg(test)]
mod tests;
