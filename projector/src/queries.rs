//! Answers to `user_queries` and `bank_queries` from the [`ReadModel`] (SPEC §5).
//!
//! A success carries the result as JSON text in the shapes of [`crate::query_results`]; a
//! failure carries one of the reasons below, byte for byte.
//!
//! | query | success | failure |
//! | --- | --- | --- |
//! | `FindUserQuery` | user | [`USERNAME_DOES_NOT_EXIST`] |
//! | `FindBankAccountQuery` | account | [`IBAN_IS_NOT_VALID`], [`IBAN_DOES_NOT_EXIST`] |
//! | `FindBankAccountsForUserQuery` | array of accounts | [`USERNAME_DOES_NOT_HAVE_ACCOUNTS`] |
//! | `TransactionByIdQuery` | transaction | [`TRANSACTION_DOES_NOT_EXIST`] |
//! | `TransactionsByIbanQuery` | array, newest first, `[]` when none | [`IBAN_IS_NOT_VALID`], [`MAX_ITEMS_OUT_OF_RANGE`] |
//! | `AllLastTransactionsQuery` | array, newest of every IBAN, sorted by IBAN, `[]` when none | — |
//!
//! Input checks beyond §5: an IBAN that is not an open IBAN (a valid Dutch IBAN with bank code
//! `OPEN`, electronic form) can never name an account of this bank, so it fails with
//! [`IBAN_IS_NOT_VALID`] rather than looking like an account that merely has no transactions.
//! `max_items` must lie in `1..=`[`MAX_ITEMS_CAP`]: zero or negative is a caller error, and the
//! cap bounds the size of one answer on the feedback topic. The IBAN is checked first.

use serde::Serialize;
use topology::{
    values::is_open_iban, BankQuery, BankQueryFeedback, Id, QueryFailed, QueryName, QuerySucceeded,
    UserQuery, UserQueryFeedback,
};

use crate::query_results::{Transaction, TransferStatus, User};
use crate::read_model::ReadModel;

pub const USERNAME_DOES_NOT_EXIST: &str = "username does not exist";
pub const IBAN_DOES_NOT_EXIST: &str = "iban does not exist";
pub const USERNAME_DOES_NOT_HAVE_ACCOUNTS: &str = "username does not have accounts";
pub const TRANSACTION_DOES_NOT_EXIST: &str = "transaction does not exist";
pub const IBAN_IS_NOT_VALID: &str = "iban is not valid";
pub const TRANSFER_DOES_NOT_EXIST: &str = "transfer does not exist";
/// The largest `max_items` of a `TransactionsByIbanQuery`.
pub const MAX_ITEMS_CAP: i32 = 1_000;
/// Must name [`MAX_ITEMS_CAP`] (a test checks it).
pub const MAX_ITEMS_OUT_OF_RANGE: &str = "max_items should be between 1 and 1000";

/// The feedback to a query: goes to the feedback topic of the query's topic, keyed by
/// [`QueryAnswer::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryAnswer {
    Succeeded(QuerySucceeded),
    Failed(QueryFailed),
}

impl QueryAnswer {
    pub fn id(&self) -> Id {
        match self {
            QueryAnswer::Succeeded(succeeded) => succeeded.id,
            QueryAnswer::Failed(failed) => failed.id,
        }
    }

    /// The key on the feedback topic: the query id as a UUID string.
    pub fn key(&self) -> String {
        self.id().to_uuid_string()
    }
}

impl From<QueryAnswer> for UserQueryFeedback {
    fn from(answer: QueryAnswer) -> Self {
        match answer {
            QueryAnswer::Succeeded(succeeded) => succeeded.into(),
            QueryAnswer::Failed(failed) => failed.into(),
        }
    }
}

impl From<QueryAnswer> for BankQueryFeedback {
    fn from(answer: QueryAnswer) -> Self {
        match answer {
            QueryAnswer::Succeeded(succeeded) => succeeded.into(),
            QueryAnswer::Failed(failed) => failed.into(),
        }
    }
}

/// A query the projector answers: [`UserQuery`] and [`BankQuery`].
pub trait Query {
    fn id(&self) -> Id;
    fn name(&self) -> QueryName;
    /// The result as JSON text, or the reason it failed.
    fn evaluate(&self, model: &ReadModel) -> Result<String, String>;
}

/// Answers `query` from what `model` holds now.
pub fn answer<Q: Query + ?Sized>(model: &ReadModel, query: &Q) -> QueryAnswer {
    let (id, query_name) = (query.id(), query.name());
    match query.evaluate(model) {
        Ok(query_result) => QueryAnswer::Succeeded(QuerySucceeded {
            id,
            query_name,
            query_result,
        }),
        Err(reason) => QueryAnswer::Failed(QueryFailed {
            id,
            query_name,
            reason,
        }),
    }
}

impl Query for UserQuery {
    fn id(&self) -> Id {
        match self {
            UserQuery::FindUserQuery(query) => query.id,
        }
    }

    fn name(&self) -> QueryName {
        match self {
            UserQuery::FindUserQuery(_) => QueryName::FindUserQuery,
        }
    }

    fn evaluate(&self, model: &ReadModel) -> Result<String, String> {
        match self {
            UserQuery::FindUserQuery(query) => {
                let password = model
                    .password_hash(&query.username)
                    .ok_or(USERNAME_DOES_NOT_EXIST)?;
                to_json(&User {
                    username: query.username.clone(),
                    password,
                })
            }
        }
    }
}

impl Query for BankQuery {
    fn id(&self) -> Id {
        match self {
            BankQuery::FindBankAccountQuery(query) => query.id,
            BankQuery::FindBankAccountsForUserQuery(query) => query.id,
            BankQuery::TransactionByIdQuery(query) => query.id,
            BankQuery::TransactionsByIbanQuery(query) => query.id,
            BankQuery::AllLastTransactionsQuery(query) => query.id,
            BankQuery::TransferStatusQuery(query) => query.id,
        }
    }

    fn name(&self) -> QueryName {
        match self {
            BankQuery::FindBankAccountQuery(_) => QueryName::FindBankAccountQuery,
            BankQuery::FindBankAccountsForUserQuery(_) => QueryName::FindBankAccountsForUserQuery,
            BankQuery::TransactionByIdQuery(_) => QueryName::TransactionByIdQuery,
            BankQuery::TransactionsByIbanQuery(_) => QueryName::TransactionsByIbanQuery,
            BankQuery::AllLastTransactionsQuery(_) => QueryName::AllLastTransactionsQuery,
            BankQuery::TransferStatusQuery(_) => QueryName::TransferStatusQuery,
        }
    }

    fn evaluate(&self, model: &ReadModel) -> Result<String, String> {
        match self {
            BankQuery::FindBankAccountQuery(query) => {
                check_iban(&query.iban)?;
                to_json(&model.account(&query.iban).ok_or(IBAN_DOES_NOT_EXIST)?)
            }
            BankQuery::FindBankAccountsForUserQuery(query) => {
                // An IBAN listed for the user always has an account: owners are only added
                // together with the account, and accounts are never removed.
                let accounts: Vec<_> = model
                    .ibans_of_user(&query.username)
                    .iter()
                    .filter_map(|iban| model.account(iban))
                    .collect();
                if accounts.is_empty() {
                    return Err(USERNAME_DOES_NOT_HAVE_ACCOUNTS.to_string());
                }
                to_json(&accounts)
            }
            BankQuery::TransactionByIdQuery(query) => {
                let transaction = model
                    .transaction(query.transaction_id)
                    .ok_or(TRANSACTION_DOES_NOT_EXIST)?;
                to_json(&*transaction)
            }
            BankQuery::TransactionsByIbanQuery(query) => {
                check_iban(&query.iban)?;
                let max_items = check_max_items(query.max_items)?;
                let newest = model.newest_transactions(&query.iban, max_items);
                to_json(&newest.iter().map(|t| &**t).collect::<Vec<&Transaction>>())
            }
            BankQuery::AllLastTransactionsQuery(_) => {
                let last = model.last_transactions();
                to_json(&last.iter().map(|t| &**t).collect::<Vec<&Transaction>>())
            }
            BankQuery::TransferStatusQuery(query) => {
                let (status, reason) = model
                    .transfer_outcome(&query.transfer_id)
                    .ok_or(TRANSFER_DOES_NOT_EXIST)?;
                to_json(&TransferStatus {
                    transfer_id: query.transfer_id.to_uuid_string(),
                    status,
                    reason,
                })
            }
        }
    }
}

fn check_iban(iban: &str) -> Result<(), String> {
    if is_open_iban(iban) {
        Ok(())
    } else {
        Err(IBAN_IS_NOT_VALID.to_string())
    }
}

fn check_max_items(max_items: i32) -> Result<usize, String> {
    if (1..=MAX_ITEMS_CAP).contains(&max_items) {
        usize::try_from(max_items).map_err(|_| MAX_ITEMS_OUT_OF_RANGE.to_string())
    } else {
        Err(MAX_ITEMS_OUT_OF_RANGE.to_string())
    }
}

/// The result shapes are plain structs of strings and integers, so this cannot fail in
/// practice; a failure still becomes a `QueryFailed` rather than a panic.
fn to_json<T: Serialize + ?Sized>(result: &T) -> Result<String, String> {
    serde_json::to_string(result)
        .map_err(|error| format!("could not serialize the result: {error}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};
    use topology::{
        AllLastTransactionsQuery, FindBankAccountQuery, FindBankAccountsForUserQuery,
        FindUserQuery, TransactionByIdQuery, TransactionsByIbanQuery, TransferStatusQuery,
    };

    use super::*;
    use crate::projection::{project_user_event, BankProjector};
    use crate::query_results::Account;
    use crate::test_events::*;

    const QUERY_ID: Id = Id([42; 16]);

    fn model_with(events: &[topology::BankEvent]) -> Arc<ReadModel> {
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()));
        for user in users() {
            project_user_event(projector.read_model(), &user);
        }
        for (offset, event) in (0..).zip(events) {
            projector.project(offset, event).unwrap();
        }
        Arc::clone(projector.read_model())
    }

    fn bank(query: impl Into<BankQuery>) -> QueryAnswer {
        answer(&model_with(&mixed_history()), &query.into())
    }

    fn succeeded(answer: QueryAnswer) -> Value {
        match answer {
            QueryAnswer::Succeeded(succeeded) => {
                assert_eq!(succeeded.id, QUERY_ID);
                serde_json::from_str(&succeeded.query_result).unwrap()
            }
            QueryAnswer::Failed(failed) => panic!("expected success, got {failed:?}"),
        }
    }

    fn failed(answer: QueryAnswer) -> String {
        match answer {
            QueryAnswer::Failed(failed) => {
                assert_eq!(failed.id, QUERY_ID);
                failed.reason
            }
            QueryAnswer::Succeeded(succeeded) => panic!("expected failure, got {succeeded:?}"),
        }
    }

    fn by_iban(iban: &str, max_items: i32) -> QueryAnswer {
        bank(TransactionsByIbanQuery {
            id: QUERY_ID,
            iban: iban.into(),
            max_items,
        })
    }

    fn ids(value: &Value) -> Vec<i64> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    }

    fn find_user(username: &str) -> QueryAnswer {
        let query: UserQuery = FindUserQuery {
            id: QUERY_ID,
            username: username.into(),
        }
        .into();
        answer(&model_with(&[]), &query)
    }

    #[test]
    fn find_user_returns_the_stored_hash() {
        assert_eq!(
            succeeded(find_user("alice")),
            json!({"username": "alice", "password": "hash-a"})
        );
        assert_eq!(failed(find_user("mallory")), "username does not exist");
    }

    #[test]
    fn find_bank_account_returns_balance_limit_and_owners() {
        let account = succeeded(bank(FindBankAccountQuery {
            id: QUERY_ID,
            iban: B.into(),
        }));
        assert_eq!(
            account,
            json!({"iban": B, "balance": 2_000, "limit": -50_000, "owners": [
                {"username": "bob", "token": "tb"},
                {"username": "alice", "token": "tb2"}
            ]})
        );
    }

    #[test]
    fn find_bank_account_fails_for_unknown_and_invalid_ibans() {
        let find = |iban: &str| {
            failed(bank(FindBankAccountQuery {
                id: QUERY_ID,
                iban: iban.into(),
            }))
        };
        assert_eq!(find(D), "iban does not exist");
        for invalid in [
            "",
            "cash",
            EXTERNAL,
            "NL67OPEN0000000000",
            "nl66open0000000000",
        ] {
            assert_eq!(find(invalid), "iban is not valid", "{invalid}");
        }
    }

    #[test]
    fn find_bank_accounts_for_user_lists_them_in_the_order_the_user_got_them() {
        let accounts = succeeded(bank(FindBankAccountsForUserQuery {
            id: QUERY_ID,
            username: "alice".into(),
        }));
        let accounts: Vec<Account> = serde_json::from_value(accounts).unwrap();
        let summary: Vec<(&str, i64)> = accounts
            .iter()
            .map(|a| (a.iban.as_str(), a.balance))
            .collect();
        assert_eq!(summary, [(A, 7_500), (B, 2_000)]);
    }

    #[test]
    fn find_bank_accounts_for_user_fails_without_accounts() {
        let model = model_with(&[account_created(A, "alice", "ta"), user_removed(A, "alice")]);
        for username in ["alice", "nobody"] {
            let query: BankQuery = FindBankAccountsForUserQuery {
                id: QUERY_ID,
                username: username.into(),
            }
            .into();
            assert_eq!(
                failed(answer(&model, &query)),
                "username does not have accounts"
            );
        }
    }

    #[test]
    fn transaction_by_id_returns_it_or_fails() {
        let by_id = |transaction_id| {
            bank(TransactionByIdQuery {
                id: QUERY_ID,
                transaction_id,
            })
        };
        assert_eq!(
            succeeded(by_id(5)),
            json!({"id": 5, "iban": A, "new_balance": 7_500, "changed_by": 1_000, "from_to": A,
                   "description": "Cancelled transaction with id 4 because iban not known"})
        );
        assert_eq!(
            succeeded(by_id(3)),
            json!({"id": 3, "iban": B, "new_balance": 2_500, "changed_by": 2_500, "from_to": A,
                   "description": "rent"})
        );
        for missing in [0, -1, 7, i32::MAX] {
            assert_eq!(failed(by_id(missing)), "transaction does not exist");
        }
    }

    #[test]
    fn transactions_by_iban_are_newest_first_and_at_most_max_items() {
        assert_eq!(ids(&succeeded(by_iban(A, 10))), [5, 4, 2, 1]);
        assert_eq!(ids(&succeeded(by_iban(A, 2))), [5, 4]);
        assert_eq!(ids(&succeeded(by_iban(A, 1))), [5]);
        assert_eq!(ids(&succeeded(by_iban(B, MAX_ITEMS_CAP))), [6, 3]);
        let newest = &succeeded(by_iban(B, 1))[0];
        assert_eq!(
            *newest,
            json!({"id": 6, "iban": B, "new_balance": 2_000, "changed_by": -500,
                   "from_to": EXTERNAL, "description": "books"})
        );
    }

    #[test]
    fn transactions_by_iban_is_empty_for_an_account_without_transactions() {
        assert_eq!(succeeded(by_iban(C, 10)), json!([]));
        assert_eq!(succeeded(by_iban(D, 10)), json!([]));
    }

    #[test]
    fn transactions_by_iban_checks_the_iban_then_max_items() {
        assert_eq!(failed(by_iban(EXTERNAL, 10)), "iban is not valid");
        assert_eq!(failed(by_iban("cash", 0)), "iban is not valid");
        for out_of_range in [0, -1, MAX_ITEMS_CAP + 1, i32::MAX, i32::MIN] {
            assert_eq!(
                failed(by_iban(A, out_of_range)),
                "max_items should be between 1 and 1000",
                "{out_of_range}"
            );
        }
        assert_eq!(
            MAX_ITEMS_OUT_OF_RANGE,
            format!("max_items should be between 1 and {MAX_ITEMS_CAP}")
        );
    }

    #[test]
    fn max_items_up_to_the_cap_is_served_in_full() {
        let mut events = vec![account_created(A, "alice", "ta")];
        events.extend((0..1_100).map(|_| credited(id(1), A, 1)));
        let model = model_with(&events);
        let query: BankQuery = TransactionsByIbanQuery {
            id: QUERY_ID,
            iban: A.into(),
            max_items: MAX_ITEMS_CAP,
        }
        .into();
        let served = ids(&succeeded(answer(&model, &query)));
        assert_eq!(served.len(), 1_000);
        assert_eq!(served.first(), Some(&1_100));
        assert_eq!(served.last(), Some(&101));
    }

    #[test]
    fn all_last_transactions_has_the_newest_of_every_iban_sorted_by_iban() {
        let last = succeeded(bank(AllLastTransactionsQuery { id: QUERY_ID }));
        let pairs: Vec<(&str, i64)> = last
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["iban"].as_str().unwrap(), t["id"].as_i64().unwrap()))
            .collect();
        // B (NL39…) sorts before A (NL66…); C has no transaction.
        assert_eq!(pairs, [(B, 6), (A, 5)]);
    }

    #[test]
    fn all_last_transactions_is_empty_without_transactions() {
        let model = model_with(&[account_created(A, "alice", "ta")]);
        let query: BankQuery = AllLastTransactionsQuery { id: QUERY_ID }.into();
        assert_eq!(succeeded(answer(&model, &query)), json!([]));
    }

    #[test]
    fn answers_carry_the_query_id_and_name_and_fit_their_feedback_topic() {
        let success = bank(AllLastTransactionsQuery { id: QUERY_ID });
        assert_eq!(success.key(), QUERY_ID.to_uuid_string());
        let QueryAnswer::Succeeded(ref record) = success else {
            panic!("expected success");
        };
        assert_eq!(record.query_name, QueryName::AllLastTransactionsQuery);
        assert!(matches!(
            BankQueryFeedback::from(success.clone()),
            BankQueryFeedback::QuerySucceeded(_)
        ));

        let failure = find_user("nobody");
        assert_eq!(failure.id(), QUERY_ID);
        let QueryAnswer::Failed(ref record) = failure else {
            panic!("expected failure");
        };
        assert_eq!(record.query_name, QueryName::FindUserQuery);
        assert!(matches!(
            UserQueryFeedback::from(failure),
            UserQueryFeedback::QueryFailed(_)
        ));

        let names = [
            (
                bank(FindBankAccountQuery {
                    id: QUERY_ID,
                    iban: A.into(),
                }),
                QueryName::FindBankAccountQuery,
            ),
            (
                bank(FindBankAccountsForUserQuery {
                    id: QUERY_ID,
                    username: "x".into(),
                }),
                QueryName::FindBankAccountsForUserQuery,
            ),
            (
                bank(TransactionByIdQuery {
                    id: QUERY_ID,
                    transaction_id: 1,
                }),
                QueryName::TransactionByIdQuery,
            ),
            (by_iban(A, 1), QueryName::TransactionsByIbanQuery),
        ];
        for (answer, expected) in names {
            let name = match answer {
                QueryAnswer::Succeeded(s) => s.query_name,
                QueryAnswer::Failed(f) => f.query_name,
            };
            assert_eq!(name, expected);
        }
    }

    /// Every query of the suite over one model, as the strings that would be published.
    fn all_answers(model: &ReadModel) -> Vec<QueryAnswer> {
        let mut queries: Vec<BankQuery> = vec![AllLastTransactionsQuery { id: QUERY_ID }.into()];
        for iban in [A, B, C, D, EXTERNAL] {
            queries.push(
                FindBankAccountQuery {
                    id: QUERY_ID,
                    iban: iban.into(),
                }
                .into(),
            );
            for max_items in [0, 1, 3, 1_000] {
                queries.push(
                    TransactionsByIbanQuery {
                        id: QUERY_ID,
                        iban: iban.into(),
                        max_items,
                    }
                    .into(),
                );
            }
        }
        for username in ["alice", "bob", "carol", "nobody"] {
            queries.push(
                FindBankAccountsForUserQuery {
                    id: QUERY_ID,
                    username: username.into(),
                }
                .into(),
            );
        }
        for transaction_id in 0..=7 {
            queries.push(
                TransactionByIdQuery {
                    id: QUERY_ID,
                    transaction_id,
                }
                .into(),
            );
        }
        let mut answers: Vec<QueryAnswer> = queries.iter().map(|q| answer(model, q)).collect();
        for username in ["alice", "bob", "carol", "nobody"] {
            let query: UserQuery = FindUserQuery {
                id: QUERY_ID,
                username: username.into(),
            }
            .into();
            answers.push(answer(model, &query));
        }
        answers
    }

    #[test]
    fn rebuilding_from_the_same_events_gives_identical_answers() {
        let history = mixed_history();
        let first = all_answers(&model_with(&history));
        let rebuilt = all_answers(&model_with(&history));
        assert_eq!(first, rebuilt);
        assert!(first.iter().any(|a| matches!(a, QueryAnswer::Succeeded(_))));
        assert!(first.iter().any(|a| matches!(a, QueryAnswer::Failed(_))));
    }

    #[test]
    fn transfer_status_tells_started_complete_and_failed_with_reason() {
        let started = id(100);
        let complete = id(101);
        let failed_transfer = id(102);
        let model = model_with(&[
            account_created("NL66OPEN0000000000", "alice", "token"),
            transfer_started(started, "cash", "NL66OPEN0000000000", "pending"),
            transfer_started(complete, "cash", "NL66OPEN0000000000", "done"),
            credited(complete, "NL66OPEN0000000000", 100),
            transfer_completed(complete),
            transfer_started(
                failed_transfer,
                "NL66OPEN0000000000",
                "NL91ABNA0417164300",
                "no",
            ),
            transfer_failed(failed_transfer, "token is not valid"),
        ]);
        let status = |transfer_id: Id| -> QueryAnswer {
            let query: BankQuery = TransferStatusQuery {
                id: QUERY_ID,
                transfer_id,
            }
            .into();
            answer(&model, &query)
        };
        assert_eq!(
            succeeded(status(started)),
            json!({"transfer_id": started.to_uuid_string(), "status": "started", "reason": null})
        );
        assert_eq!(succeeded(status(complete))["status"], "complete");
        assert_eq!(
            succeeded(status(failed_transfer)),
            json!({
                "transfer_id": failed_transfer.to_uuid_string(),
                "status": "failed",
                "reason": "token is not valid"
            })
        );
        assert_eq!(failed(status(id(103))), TRANSFER_DOES_NOT_EXIST);
    }
}
