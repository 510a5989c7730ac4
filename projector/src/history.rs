//! The bank at any moment: an account's balance and transactions as they were at an instant,
//! and its balance over a period, from its transactions walked newest first.
//!
//! Every transaction carries the time its money event was written (`at_millis`, the record's
//! timestamp). An account's transactions follow one partition's order, so walking them newest
//! first, the first one written at or before an instant holds the balance of that instant
//! (`new_balance` is the balance right after it); an account without one had balance 0 then.
//! A transaction without a time (derived before times were kept) counts as older than any
//! instant. The walks stop as soon as they know the answer, so asking about last week does not
//! read a year of history.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::query_results::Transaction;
pub use crate::query_results::{AccountAt, BalancePoint};

/// The most points one balance series may have.
pub const MAX_POINTS: i32 = 500;

fn written_by(transaction: &Transaction, instant: i64) -> bool {
    transaction.at_millis.is_none_or(|at| at <= instant)
}

/// Collects an account's state at `instant` from its transactions, visited newest first.
#[derive(Debug)]
pub struct AsOf {
    instant: i64,
    max_items: usize,
    balance: Option<i64>,
    transactions: Vec<Transaction>,
}

impl AsOf {
    pub fn new(instant: i64, max_items: usize) -> Self {
        Self {
            instant,
            max_items,
            balance: None,
            transactions: Vec::new(),
        }
    }

    pub fn visit(&mut self, transaction: &Arc<Transaction>) -> ControlFlow<()> {
        if !written_by(transaction, self.instant) {
            return ControlFlow::Continue(());
        }
        self.balance.get_or_insert(transaction.new_balance);
        if self.transactions.len() < self.max_items {
            self.transactions.push(Transaction::clone(transaction));
        }
        if self.transactions.len() < self.max_items {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    pub fn finish(self, iban: &str) -> AccountAt {
        AccountAt {
            iban: iban.to_string(),
            at_millis: self.instant,
            balance: self.balance.unwrap_or(0),
            transactions: self.transactions,
        }
    }
}

/// `points` instants from `since` to `until`, both included, evenly spaced (rounded down to
/// the millisecond). Needs `2 <= points` and `since < until`.
pub fn instants(since: i64, until: i64, points: i32) -> Vec<i64> {
    let steps = i128::from(points.max(2) - 1);
    let span = i128::from(until) - i128::from(since);
    (0..=steps)
        .map(|step| {
            let offset = span * step / steps;
            // since + offset lies between since and until, so it fits an i64.
            i64::try_from(i128::from(since) + offset).unwrap_or(until)
        })
        .collect()
}

/// Collects the balance at each of a series of instants from an account's transactions,
/// visited newest first.
#[derive(Debug)]
pub struct Series {
    instants: Vec<i64>,
    /// The balances found so far, for the latest instants first.
    balances: Vec<i64>,
}

impl Series {
    pub fn new(instants: Vec<i64>) -> Self {
        let balances = Vec::with_capacity(instants.len());
        Self { instants, balances }
    }

    fn next_instant(&self) -> Option<i64> {
        let answered = self.balances.len();
        (answered < self.instants.len()).then(|| self.instants[self.instants.len() - 1 - answered])
    }

    pub fn visit(&mut self, transaction: &Arc<Transaction>) -> ControlFlow<()> {
        while let Some(instant) = self.next_instant() {
            if !written_by(transaction, instant) {
                return ControlFlow::Continue(());
            }
            self.balances.push(transaction.new_balance);
        }
        ControlFlow::Break(())
    }

    /// The series, oldest first; instants before every transaction have balance 0.
    pub fn finish(mut self) -> Vec<BalancePoint> {
        self.balances.resize(self.instants.len(), 0);
        self.instants
            .iter()
            .zip(self.balances.iter().rev())
            .map(|(&at_millis, &balance)| BalancePoint { at_millis, balance })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IBAN: &str = "NL66OPEN0000000000";

    /// Transactions at times 100, 200, 300 with balances 10, 30, 5: newest first.
    fn history() -> Vec<Arc<Transaction>> {
        [(1, 100, 10, 10), (2, 200, 20, 30), (3, 300, -25, 5)]
            .into_iter()
            .rev()
            .map(|(id, at, changed_by, new_balance)| {
                Arc::new(Transaction {
                    id,
                    iban: IBAN.into(),
                    new_balance,
                    changed_by,
                    from_to: "cash".into(),
                    description: String::new(),
                    at_millis: Some(at),
                })
            })
            .collect()
    }

    fn as_of(instant: i64, max_items: usize) -> (AccountAt, usize) {
        let mut as_of = AsOf::new(instant, max_items);
        let mut visited = 0;
        for transaction in history() {
            visited += 1;
            if as_of.visit(&transaction).is_break() {
                break;
            }
        }
        (as_of.finish(IBAN), visited)
    }

    fn ids(at: &AccountAt) -> Vec<i32> {
        at.transactions.iter().map(|t| t.id).collect()
    }

    #[test]
    fn before_the_first_transaction_the_balance_is_zero_and_there_are_none() {
        let (at, _) = as_of(99, 10);
        assert_eq!((at.balance, ids(&at)), (0, vec![]));
    }

    #[test]
    fn exactly_at_a_transaction_it_counts() {
        let (at, _) = as_of(200, 10);
        assert_eq!((at.balance, ids(&at)), (30, vec![2, 1]));
        let (at, _) = as_of(199, 10);
        assert_eq!((at.balance, ids(&at)), (10, vec![1]));
    }

    #[test]
    fn after_the_last_transaction_it_is_the_balance_of_now() {
        let (at, _) = as_of(i64::MAX, 10);
        assert_eq!((at.balance, ids(&at)), (5, vec![3, 2, 1]));
        assert_eq!(at.at_millis, i64::MAX);
    }

    #[test]
    fn the_walk_stops_once_it_has_max_items() {
        let (at, visited) = as_of(250, 1);
        assert_eq!((at.balance, ids(&at), visited), (30, vec![2], 2));
    }

    #[test]
    fn a_transaction_without_a_time_counts_as_older_than_any_instant() {
        let mut as_of = AsOf::new(i64::MIN, 5);
        let untimed = Arc::new(Transaction {
            at_millis: None,
            ..Transaction::clone(&history()[0])
        });
        let _ = as_of.visit(&untimed);
        assert_eq!(as_of.finish(IBAN).balance, 5);
    }

    #[test]
    fn instants_are_evenly_spaced_and_include_both_ends() {
        assert_eq!(instants(0, 300, 4), [0, 100, 200, 300]);
        assert_eq!(instants(0, 10, 3), [0, 5, 10]);
        assert_eq!(instants(1, 2, 2), [1, 2]);
        let wide = instants(i64::MIN, i64::MAX, 500);
        assert_eq!((wide[0], wide[499], wide.len()), (i64::MIN, i64::MAX, 500));
        assert!(wide.windows(2).all(|pair| pair[0] < pair[1]));
    }

    fn series(since: i64, until: i64, points: i32) -> (Vec<(i64, i64)>, usize) {
        let mut series = Series::new(instants(since, until, points));
        let mut visited = 0;
        for transaction in history() {
            visited += 1;
            if series.visit(&transaction).is_break() {
                break;
            }
        }
        let points = series
            .finish()
            .into_iter()
            .map(|p| (p.at_millis, p.balance))
            .collect();
        (points, visited)
    }

    #[test]
    fn a_series_spans_before_the_first_exactly_at_and_after_the_last_transaction() {
        let (points, _) = series(0, 400, 5);
        assert_eq!(points, [(0, 0), (100, 10), (200, 30), (300, 5), (400, 5)]);
    }

    #[test]
    fn a_series_of_the_recent_past_reads_only_what_it_needs() {
        let (points, visited) = series(250, 350, 2);
        assert_eq!(points, [(250, 30), (350, 5)]);
        assert_eq!(
            visited, 2,
            "stops at the first transaction before the period"
        );
    }
}
