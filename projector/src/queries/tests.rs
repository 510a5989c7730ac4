//! Each query's answer and failure reasons over a projected history, and the same answers
//! whatever order the partitions are read in.

use std::sync::Arc;

use serde_json::{json, Value};
use topology::proofs::token_hash;
use topology::{
    AllBankAccountsQuery, AllLastTransactionsQuery, BankFiguresQuery, FindBankAccountQuery,
    FindBankAccountsForUserQuery, FindUserQuery, TransactionByIdQuery, TransactionsByIbanQuery,
    TransferStatusQuery,
};

use super::*;
use crate::projection::{project_user_event, BankProjector};
use crate::query_results::Account;
use crate::source::Source;
use crate::test_events::*;

const QUERY_ID: Id = Id([42; 16]);

/// The model of `events` in one partition: transaction ids 1, 2, 3, … in order.
fn model_with(events: &[topology::BankEvent]) -> Arc<ReadModel> {
    model_of_delivered(1, &one_partition_after_another(&[events.to_vec()], [0]))
}

/// The model of events delivered from a `bank_events` of `partitions` partitions.
fn model_of_delivered(partitions: i32, delivered: &[Delivered<'_>]) -> Arc<ReadModel> {
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), partitions);
    for user in users() {
        project_user_event(projector.read_model(), &user);
    }
    for &(partition, offset, event) in delivered {
        projector
            .project(Source::at(partition, offset), event)
            .unwrap();
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
            {"username": "bob", "token_hash": token_hash("tb"), "token_nonce": null},
            {"username": "alice", "token_hash": token_hash("tb2"), "token_nonce": null}
        ], "holds": [], "standing_orders": [], "failed_runs": []}),
        "owners as hashes, never tokens"
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
               "description": "Cancelled transaction with id 4 because iban not known",
               "at_millis": null})
    );
    assert_eq!(
        succeeded(by_id(3)),
        json!({"id": 3, "iban": B, "new_balance": 2_500, "changed_by": 2_500, "from_to": A,
               "description": "rent", "at_millis": null})
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
               "from_to": EXTERNAL, "description": "books", "at_millis": null})
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
        (all_accounts(0, 1, None), QueryName::AllBankAccountsQuery),
        (all_accounts(-1, 1, None), QueryName::AllBankAccountsQuery),
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
    for (offset, max_items, search) in [(0, 10, None), (1, 1, Some("ali")), (-1, 0, None)] {
        queries.push(
            AllBankAccountsQuery {
                id: QUERY_ID,
                offset,
                max_items,
                search: search.map(Into::into),
            }
            .into(),
        );
    }
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
    // 1 to 6 with one partition; with 12, A's are 6, 18, 30, 42 and B's 8, 20.
    for transaction_id in 0..=50 {
        queries.push(
            TransactionByIdQuery {
                id: QUERY_ID,
                transaction_id,
            }
            .into(),
        );
    }
    for transfer in 1..=5 {
        queries.push(
            TransferStatusQuery {
                id: QUERY_ID,
                transfer_id: id(transfer),
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
fn answers_are_identical_whatever_order_the_partitions_are_read_in() {
    const P: i32 = 12;
    let histories = partition_histories(&mixed_history(), P);
    let models = [
        model_of_delivered(P, &one_partition_after_another(&histories, 0..P)),
        model_of_delivered(P, &one_partition_after_another(&histories, (0..P).rev())),
        model_of_delivered(P, &shuffled(&histories, 11)),
    ];
    let first = all_answers(&models[0]);
    for model in &models[1..] {
        assert_eq!(all_answers(model), first);
    }
    // A (partition 5) has ids 6, 18, 30, 42 (its fourth is the return of the third);
    // B's credit (partition 7) came from A with the transfer's description.
    let ids_of = |iban: &str| -> Vec<i32> {
        models[2]
            .newest_transactions(iban, 10)
            .iter()
            .map(|t| t.id)
            .collect()
    };
    assert_eq!(ids_of(A), [42, 30, 18, 6]);
    assert_eq!(ids_of(B), [20, 8]);
    let by_id = |transaction_id| {
        succeeded(answer::<BankQuery>(
            &models[2],
            &TransactionByIdQuery {
                id: QUERY_ID,
                transaction_id,
            }
            .into(),
        ))
    };
    assert_eq!(by_id(8)["from_to"], A);
    assert_eq!(by_id(8)["description"], "rent");
    assert_eq!(
        by_id(42)["description"],
        "Cancelled transaction with id 30 because iban not known"
    );
    let status = |transfer_id| {
        succeeded(answer::<BankQuery>(
            &models[2],
            &TransferStatusQuery {
                id: QUERY_ID,
                transfer_id,
            }
            .into(),
        ))["status"]
            .clone()
    };
    assert_eq!(
        [status(id(1)), status(id(2)), status(id(3)), status(id(4))],
        ["complete", "complete", "failed", "complete"]
    );
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
        json!({"transfer_id": started.to_uuid_string(), "status": "started", "reason": null, "initiator": "someone"})
    );
    assert_eq!(succeeded(status(complete))["status"], "complete");
    assert_eq!(
        succeeded(status(failed_transfer)),
        json!({
            "transfer_id": failed_transfer.to_uuid_string(),
            "status": "failed",
            "reason": "token is not valid",
            "initiator": "someone"
        })
    );
    assert_eq!(failed(status(id(103))), TRANSFER_DOES_NOT_EXIST);
}

#[test]
fn bank_figures_count_accounts_and_transactions_only() {
    let model = model_with(&[
        account_created("NL66OPEN0000000000", "alice", "token"),
        account_created("NL39OPEN0000000001", "bob", "token"),
        transfer_started(id(1), "cash", "NL66OPEN0000000000", "deposit"),
        credited(id(1), "NL66OPEN0000000000", 100),
    ]);
    let query: BankQuery = BankFiguresQuery { id: QUERY_ID }.into();
    assert_eq!(
        succeeded(answer(&model, &query)),
        json!({"accounts": 2, "transactions": 1})
    );
}

fn all_accounts(offset: i32, max_items: i32, search: Option<&str>) -> QueryAnswer {
    bank(AllBankAccountsQuery {
        id: QUERY_ID,
        offset,
        max_items,
        search: search.map(Into::into),
    })
}

mod all_bank_accounts;
