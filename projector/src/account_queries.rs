//! Answers about one account beyond SPEC §5: as it was at an instant, its balance over a
//! period, and its alert rules. [`crate::queries`] dispatches to them.
//!
//! | query | success | failure |
//! | --- | --- | --- |
//! | `AccountAtQuery` | `{iban, at_millis, balance, transactions}` | [`IBAN_IS_NOT_VALID`](crate::queries::IBAN_IS_NOT_VALID), [`MAX_ITEMS_OUT_OF_RANGE`](crate::queries::MAX_ITEMS_OUT_OF_RANGE), [`IBAN_DOES_NOT_EXIST`] (also when it was opened after the instant) |
//! | `BalanceHistoryQuery` | `[{at_millis, balance}]`, oldest first | [`IBAN_IS_NOT_VALID`](crate::queries::IBAN_IS_NOT_VALID), [`POINTS_OUT_OF_RANGE`], [`PERIOD_IS_EMPTY`], [`IBAN_DOES_NOT_EXIST`] |
//! | `AlertRulesQuery` | `[{kind, threshold}]` in kind order | `iban not known`, `user is no owner of bank account`, `token is not valid` |
//!
//! `AlertRulesQuery` checks owner and token with the words of a debit, like the commands that
//! set and remove the rules, since a rule shows what moves on the account.

use std::sync::Arc;

use topology::reasons::Refusal;
use topology::{AccountAtQuery, AlertRulesQuery, BalanceHistoryQuery};

use crate::alerts::AlertRule;
use crate::history::{instants, AccountAt, AsOf, BalancePoint, Series, MAX_POINTS};
use crate::queries::{check_iban, check_max_items, IBAN_DOES_NOT_EXIST};
use crate::read_model::ReadModel;

/// Must name [`MAX_POINTS`] (a test checks it).
pub const POINTS_OUT_OF_RANGE: &str = "points should be between 2 and 500";
pub const PERIOD_IS_EMPTY: &str = "from should be before to";
pub const IBAN_NOT_KNOWN: &str = Refusal::IbanNotKnown.text();
pub const USER_IS_NO_OWNER: &str = Refusal::UserIsNoOwnerOfBankAccount.text();
pub const TOKEN_IS_NOT_VALID: &str = Refusal::TokenIsNotValid.text();

/// Was `iban` open at `instant`? An account whose creation had no time always was.
fn existed_at(model: &ReadModel, iban: &str, instant: i64) -> bool {
    model.account(iban).is_some() && model.opened_at(iban).is_none_or(|opened| opened <= instant)
}

pub fn account_at(model: &ReadModel, query: &AccountAtQuery) -> Result<AccountAt, String> {
    check_iban(&query.iban)?;
    let max_items = check_max_items(query.max_items)?;
    if !existed_at(model, &query.iban, query.instant) {
        return Err(IBAN_DOES_NOT_EXIST.to_string());
    }
    let mut as_of = AsOf::new(query.instant, max_items);
    model.walk_newest(&query.iban, &mut |transaction: &Arc<_>| {
        as_of.visit(transaction)
    });
    Ok(as_of.finish(&query.iban))
}

pub fn balance_history(
    model: &ReadModel,
    query: &BalanceHistoryQuery,
) -> Result<Vec<BalancePoint>, String> {
    check_iban(&query.iban)?;
    if !(2..=MAX_POINTS).contains(&query.points) {
        return Err(POINTS_OUT_OF_RANGE.to_string());
    }
    if query.since >= query.until {
        return Err(PERIOD_IS_EMPTY.to_string());
    }
    if model.account(&query.iban).is_none() {
        return Err(IBAN_DOES_NOT_EXIST.to_string());
    }
    let mut series = Series::new(instants(query.since, query.until, query.points));
    model.walk_newest(&query.iban, &mut |transaction: &Arc<_>| {
        series.visit(transaction)
    });
    Ok(series.finish())
}

pub fn alert_rules(model: &ReadModel, query: &AlertRulesQuery) -> Result<Vec<AlertRule>, String> {
    let account = model.account(&query.iban).ok_or(IBAN_NOT_KNOWN)?;
    match account.owners.iter().find(|o| o.username == query.username) {
        None => Err(USER_IS_NO_OWNER.to_string()),
        Some(owner) if !topology::proofs::same_hash(&query.token, &owner.token_hash) => {
            Err(TOKEN_IS_NOT_VALID.to_string())
        }
        Some(_) => Ok(model.alert_rules(&query.iban).list()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::BankProjector;
    use crate::queries::{IBAN_IS_NOT_VALID, MAX_ITEMS_OUT_OF_RANGE};
    use crate::source::Source;
    use crate::test_events::*;
    use topology::{AlertKind, BankEvent, Id};

    /// Alice's account A opened at 1000, deposits of 10 € at 2000 and 3000, a rule at 4000.
    fn model() -> Arc<ReadModel> {
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 1);
        let events: Vec<(i64, BankEvent)> = vec![
            (1_000, account_created(A, "alice", "ta")),
            (2_000, credited(id(1), A, 1_000)),
            (3_000, credited(id(2), A, 1_000)),
            (4_000, alert_set(A, AlertKind::LargeDebit, Some(500))),
        ];
        for (offset, (at, event)) in (0..).zip(&events) {
            projector
                .project(Source::written(0, offset, Some(*at)), event)
                .expect("projects");
        }
        Arc::clone(projector.read_model())
    }

    fn at(instant: i64) -> Result<AccountAt, String> {
        account_at(
            &model(),
            &AccountAtQuery {
                id: Id([1; 16]),
                iban: A.into(),
                instant,
                max_items: 10,
            },
        )
    }

    #[test]
    fn before_the_account_was_opened_it_does_not_exist() {
        assert_eq!(at(999), Err(IBAN_DOES_NOT_EXIST.into()));
        let opened = at(1_000).expect("open at its creation");
        assert_eq!((opened.balance, opened.transactions.len()), (0, 0));
    }

    #[test]
    fn the_balance_at_an_instant_counts_what_was_written_by_then() {
        let between = at(2_500).expect("open");
        assert_eq!(between.balance, 1_000);
        assert_eq!(between.transactions[0].at_millis, Some(2_000));
        assert_eq!(at(3_000).expect("open").balance, 2_000);
    }

    #[test]
    fn unknown_and_malformed_ibans_and_bad_sizes_are_refused() {
        let query = |iban: &str, max_items| AccountAtQuery {
            id: Id([1; 16]),
            iban: iban.into(),
            instant: 5_000,
            max_items,
        };
        let model = model();
        assert_eq!(
            account_at(&model, &query(C, 1)),
            Err(IBAN_DOES_NOT_EXIST.into())
        );
        assert_eq!(
            account_at(&model, &query("nonsense", 1)),
            Err(IBAN_IS_NOT_VALID.into())
        );
        assert_eq!(
            account_at(&model, &query(A, 0)),
            Err(MAX_ITEMS_OUT_OF_RANGE.into())
        );
    }

    #[test]
    fn a_balance_history_samples_the_period() {
        let history = |since, until, points| {
            balance_history(
                &model(),
                &BalanceHistoryQuery {
                    id: Id([1; 16]),
                    iban: A.into(),
                    since,
                    until,
                    points,
                },
            )
        };
        let points: Vec<(i64, i64)> = history(0, 4_000, 5)
            .expect("a series")
            .into_iter()
            .map(|p| (p.at_millis, p.balance))
            .collect();
        assert_eq!(
            points,
            [
                (0, 0),
                (1_000, 0),
                (2_000, 1_000),
                (3_000, 2_000),
                (4_000, 2_000)
            ]
        );
        assert_eq!(history(0, 4_000, 1), Err(POINTS_OUT_OF_RANGE.into()));
        assert_eq!(history(0, 4_000, 501), Err(POINTS_OUT_OF_RANGE.into()));
        assert_eq!(history(0, 4_000, 500).map(|p| p.len()), Ok(500));
        assert_eq!(history(4_000, 4_000, 2), Err(PERIOD_IS_EMPTY.into()));
        assert!(POINTS_OUT_OF_RANGE.contains(&MAX_POINTS.to_string()));
    }

    #[test]
    fn alert_rules_are_for_owners_with_their_token() {
        let rules = |iban: &str, username: &str, token: &str| {
            alert_rules(
                &model(),
                &AlertRulesQuery {
                    id: Id([1; 16]),
                    iban: iban.into(),
                    username: username.into(),
                    // Queries carry the hash of the token, as commands do.
                    token: topology::proofs::token_hash(token),
                },
            )
        };
        assert_eq!(
            rules(A, "alice", "ta"),
            Ok(vec![AlertRule {
                kind: crate::alerts::Kind::LargeDebit,
                threshold: Some(500)
            }])
        );
        assert_eq!(rules(A, "bob", "ta"), Err(USER_IS_NO_OWNER.into()));
        assert_eq!(rules(A, "alice", "tb"), Err(TOKEN_IS_NOT_VALID.into()));
        assert_eq!(rules(B, "alice", "ta"), Err(IBAN_NOT_KNOWN.into()));
    }
}
