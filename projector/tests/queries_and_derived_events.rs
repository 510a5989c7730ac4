//! Events in → every query answered as SPEC §5 says, and the derived transactions on
//! `transaction_events`, against a real broker + registry (see `common` for the setup).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::{start_projector, Answer, EventWriter, ProjectorIds, QueryClient};
use serde_json::{json, Value};
use topology::topic_names::BANK_QUERIES;
use topology::values::{new_open_iban, CASH};
use topology::{
    AllBankAccountsQuery, AllLastTransactionsQuery, BankAccountCreatedEvent, BankEvent,
    FindBankAccountQuery, FindBankAccountsForUserQuery, FindUserQuery, Id, MoneyCreditedEvent,
    MoneyDebitedEvent, MoneyReturnedEvent, TransactionByIdQuery, TransactionsByIbanQuery,
    TransferCompletedEvent, TransferFailedEvent, TransferStartedEvent, UserAccountCreatedEvent,
    UserEvent,
};

fn started(id: Id, from: &str, to: &str, amount: i64, description: &str) -> BankEvent {
    TransferStartedEvent {
        id,
        token: "token".into(),
        amount,
        from: from.into(),
        to: to.into(),
        description: description.into(),
        username: "someone".into(),
        at_millis: None,
        token_hash: None,
    }
    .into()
}

fn account_created(iban: &str, token: &str, username: &str) -> BankEvent {
    BankAccountCreatedEvent {
        iban: iban.into(),
        token: token.into(),
        username: username.into(),
        token_hash: None,
        token_nonce: None,
    }
    .into()
}

fn debited(id: Id, iban: &str, amount: i64) -> BankEvent {
    MoneyDebitedEvent {
        iban: iban.into(),
        amount,
        id,
    }
    .into()
}

/// A credit as the command handler writes it: with its transfer's `from` and description,
/// which the projector needs when it reads the credit (in the `to` account's partition) before
/// the transfer's start (in the `from` account's).
fn credited(id: Id, iban: &str, amount: i64, from: &str, description: &str) -> BankEvent {
    MoneyCreditedEvent {
        iban: iban.into(),
        amount,
        id,
        transfer_from: Some(from.into()),
        transfer_description: Some(description.into()),
    }
    .into()
}

/// A credit as written before it carried those fields: the projector looks its transfer up
/// (right for a deposit, whose start is in the same partition, before it).
fn legacy_credited(id: Id, iban: &str, amount: i64) -> BankEvent {
    MoneyCreditedEvent {
        iban: iban.into(),
        amount,
        id,
        transfer_from: None,
        transfer_description: None,
    }
    .into()
}

async fn transactions_of(queries: &QueryClient, iban: &str, max_items: i32) -> Answer {
    let query = TransactionsByIbanQuery {
        id: Id::random(),
        iban: iban.into(),
        max_items,
    };
    queries.bank(query).await.map(timed)
}

/// `answer` with each transaction's `at_millis` checked (the time its money event was written,
/// so a recent instant) and taken out, so the rest compares with [`transaction`].
fn timed(mut answer: Value) -> Value {
    fn untime(transaction: &mut Value) {
        let at = transaction
            .as_object_mut()
            .and_then(|fields| fields.remove("at_millis"))
            .and_then(|at| at.as_i64());
        assert!(
            at.is_some_and(|at| at > 1_700_000_000_000),
            "a write time in {transaction}"
        );
    }
    match &mut answer {
        Value::Array(transactions) => transactions.iter_mut().for_each(untime),
        transaction => untime(transaction),
    }
    answer
}

async fn find_user(queries: &QueryClient, username: &str) -> Answer {
    let id = Id::random();
    let query = FindUserQuery {
        id,
        username: username.into(),
    };
    queries.user(id, query.into()).await
}

async fn find_account(queries: &QueryClient, iban: &str) -> Answer {
    let query = FindBankAccountQuery {
        id: Id::random(),
        iban: iban.into(),
    };
    queries.bank(query).await
}

async fn accounts_of_user(queries: &QueryClient, username: &str) -> Answer {
    let query = FindBankAccountsForUserQuery {
        id: Id::random(),
        username: username.into(),
    };
    queries.bank(query).await
}

async fn transaction_by_id(queries: &QueryClient, transaction_id: i32) -> Answer {
    let query = TransactionByIdQuery {
        id: Id::random(),
        transaction_id,
    };
    queries.bank(query).await.map(timed)
}

fn transaction(
    id: i64,
    iban: &str,
    new_balance: i64,
    changed_by: i64,
    from_to: &str,
    description: &str,
) -> Value {
    json!({
        "id": id, "iban": iban, "new_balance": new_balance, "changed_by": changed_by,
        "from_to": from_to, "description": description,
    })
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn events_in_queries_answered_and_transactions_derived() {
    // One tag in every username of this run: searching for it finds exactly our accounts.
    let run = Id::random().to_uuid_string();
    let alice = format!("alice-{run}");
    let bob = format!("bob-{run}");
    let carol = format!("carol-{run}");
    let nobody = common::unique("nobody");
    let (a, b, c, elsewhere, unused) = (
        new_open_iban(),
        new_open_iban(),
        new_open_iban(),
        new_open_iban(),
        new_open_iban(),
    );
    let (token_a, token_b, token_c) = (
        "11111111111111111111",
        "22222222222222222222",
        "33333333333333333333",
    );
    let (deposit, rent, failed_credit, refused) =
        (Id::random(), Id::random(), Id::random(), Id::random());
    let writer = EventWriter::new();

    // History before the projector starts: replayed, published once.
    let users: Vec<UserEvent> = [(&alice, "hash-a"), (&bob, "hash-b"), (&carol, "hash-c")]
        .into_iter()
        .map(|(username, password)| {
            UserAccountCreatedEvent {
                username: username.clone(),
                password: password.into(),
            }
            .into()
        })
        .collect();
    let history: Vec<BankEvent> = vec![
        account_created(&a, token_a, &alice),
        account_created(&b, token_b, &bob),
        // Carol's account never has a transaction.
        account_created(&c, token_c, &carol),
        started(deposit, CASH, &a, 10_000, "deposit"),
        legacy_credited(deposit, &a, 10_000),
        TransferCompletedEvent { id: deposit }.into(),
    ];
    writer.write(&users, &history).await;

    let ids = ProjectorIds::unique();
    let mut projector = start_projector(&ids, "projector-queries-test", &[]);
    projector.wait_ready(Duration::from_secs(120)).await;

    // News after catch-up: projected live.
    let news: Vec<BankEvent> = vec![
        started(rent, &a, &b, 2_500, "rent"),
        debited(rent, &a, 2_500),
        credited(rent, &b, 2_500, &a, "rent"),
        TransferCompletedEvent { id: rent }.into(),
        started(failed_credit, &a, &elsewhere, 1_000, "oops"),
        debited(failed_credit, &a, 1_000),
        MoneyReturnedEvent {
            iban: a.clone(),
            amount: 1_000,
            id: failed_credit,
            reason: "iban not known".into(),
        }
        .into(),
        TransferFailedEvent {
            id: failed_credit,
            reason: "iban not known".into(),
        }
        .into(),
        started(refused, &a, &b, 99_999_999, "too much"),
        TransferFailedEvent {
            id: refused,
            reason: "insufficient funds would be below the limit of € -500,00".into(),
        }
        .into(),
    ];
    writer.write(&[], &news).await;

    let queries = QueryClient::new();
    // A query that cannot be decoded is skipped; the ones after it are still answered.
    queries
        .send_raw(BANK_QUERIES, "garbage", b"\x00\x00\x00\x00\x01not avro")
        .await;
    queries.send_raw(BANK_QUERIES, "empty", b"").await;

    // The live events may still be in flight: wait until the last one shows.
    let mut a_transactions = Value::Null;
    for _ in 0..100 {
        a_transactions = transactions_of(&queries, &a, 10)
            .await
            .expect("transactions of a");
        if a_transactions.as_array().map(Vec::len) == Some(4) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = a_transactions.as_array().expect("an array").clone();
    assert_eq!(list.len(), 4, "{a_transactions}");
    // Ids are numbered per bank_events partition (k-th money event of partition p of P:
    // k·P + p + 1); all of an account's are in its partition, newest first, increasing.
    let id_of = |t: &Value| t["id"].as_i64().expect("id");
    let (t_return, t_debit_oops, t_rent, t_deposit) = (
        id_of(&list[0]),
        id_of(&list[1]),
        id_of(&list[2]),
        id_of(&list[3]),
    );
    assert!(t_deposit < t_rent && t_rent < t_debit_oops && t_debit_oops < t_return);
    assert_eq!(
        a_transactions,
        json!([
            transaction(
                t_return,
                &a,
                7_500,
                1_000,
                &a,
                &format!("Cancelled transaction with id {t_debit_oops} because iban not known")
            ),
            transaction(t_debit_oops, &a, 6_500, -1_000, &elsewhere, "oops"),
            transaction(t_rent, &a, 7_500, -2_500, &b, "rent"),
            transaction(t_deposit, &a, 10_000, 10_000, CASH, "deposit"),
        ])
    );
    let b_transactions = transactions_of(&queries, &b, 10)
        .await
        .expect("transactions of b");
    let b_list = b_transactions.as_array().expect("an array");
    assert_eq!(b_list.len(), 1);
    let t_credit_b = id_of(&b_list[0]);
    let partitions = common::bank_events_partitions();
    for (iban, id) in [
        (&a, t_deposit),
        (&a, t_rent),
        (&a, t_debit_oops),
        (&a, t_return),
        (&b, t_credit_b),
    ] {
        let partition = topology::routing::partition_for(iban, partitions);
        assert_eq!(
            (id - 1) % i64::from(partitions),
            i64::from(partition),
            "id {id} of {iban} (partition {partition} of {partitions})"
        );
    }
    assert_eq!(
        b_list[0],
        transaction(t_credit_b, &b, 2_500, 2_500, &a, "rent")
    );

    // max_items cuts from the newest; an open IBAN without transactions has none.
    let two = transactions_of(&queries, &a, 2).await;
    assert_eq!(two, Ok(Value::Array(list[..2].to_vec())));
    let none = transactions_of(&queries, &unused, 5).await;
    assert_eq!(none, Ok(json!([])));

    // FindUser
    assert_eq!(
        find_user(&queries, &alice).await,
        Ok(json!({"username": alice, "password": "hash-a"}))
    );
    assert_eq!(
        find_user(&queries, &nobody).await,
        Err("username does not exist".to_string())
    );

    // FindBankAccount
    let account_a = json!({
        "iban": a, "balance": 7_500, "limit": -50_000,
        // Written before the hashes (the token in clear), read as its hash: never the token.
        "owners": [{"username": alice, "token_hash": topology::proofs::token_hash(token_a), "token_nonce": null}],
        "holds": [], "standing_orders": [], "failed_runs": [],
    });
    assert_eq!(find_account(&queries, &a).await, Ok(account_a.clone()));
    assert_eq!(
        find_account(&queries, &unused).await,
        Err("iban does not exist".to_string())
    );

    // FindBankAccountsForUser
    assert_eq!(
        accounts_of_user(&queries, &alice).await,
        Ok(json!([account_a]))
    );
    assert_eq!(
        accounts_of_user(&queries, &nobody).await,
        Err("username does not have accounts".to_string())
    );

    // TransactionById
    let rent_id = i32::try_from(t_rent).expect("int");
    assert_eq!(
        transaction_by_id(&queries, rent_id).await,
        Ok(list[2].clone())
    );
    let credit_b_id = i32::try_from(t_credit_b).expect("int");
    assert_eq!(
        transaction_by_id(&queries, credit_b_id).await,
        Ok(b_list[0].clone())
    );
    assert_eq!(
        transaction_by_id(&queries, -1).await,
        Err("transaction does not exist".to_string())
    );

    // AllLastTransactions: sorted by IBAN, and ours are the newest of a and of b.
    let all = queries
        .bank(AllLastTransactionsQuery { id: Id::random() })
        .await
        .map(timed)
        .expect("all last transactions");
    let all = all.as_array().expect("an array");
    let ibans: Vec<&str> = all
        .iter()
        .map(|t| t["iban"].as_str().expect("iban"))
        .collect();
    assert!(
        ibans.windows(2).all(|w| w[0] < w[1]),
        "sorted by IBAN, one each"
    );
    let last_of = |iban: &str| all.iter().find(|t| t["iban"] == iban).cloned();
    assert_eq!(last_of(&a), Some(list[0].clone()));
    assert_eq!(last_of(&b), Some(b_list[0].clone()));

    // AllBankAccounts: every account, also one without transactions, sorted by IBAN, paged,
    // searched by username or IBAN part; owners are usernames, never tokens.
    let page = |offset: i32, max_items: i32, search: Option<&str>| {
        queries.bank(AllBankAccountsQuery {
            id: Id::random(),
            offset,
            max_items,
            search: search.map(str::to_string),
        })
    };
    assert_eq!(
        page(0, 10, Some(&carol)).await,
        Ok(json!({"total": 1, "offset": 0, "accounts": [
            {"iban": c, "balance": 0, "owners": [carol]}
        ]}))
    );
    let mut ours = vec![
        json!({"iban": a, "balance": 7_500, "owners": [alice]}),
        json!({"iban": b, "balance": 2_500, "owners": [bob]}),
        json!({"iban": c, "balance": 0, "owners": [carol]}),
    ];
    ours.sort_by(|x, y| x["iban"].as_str().cmp(&y["iban"].as_str()));
    let all_ours = page(0, 10, Some(&run.to_uppercase())).await;
    assert_eq!(
        all_ours,
        Ok(json!({"total": 3, "offset": 0, "accounts": ours}))
    );
    let text = all_ours.expect("a page").to_string();
    for secret in [token_a, token_b, token_c, "hash-a", "token"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(
        page(1, 1, Some(&run)).await,
        Ok(json!({"total": 3, "offset": 1, "accounts": [ours[1]]}))
    );
    assert_eq!(
        page(2, 5, Some(&run)).await,
        Ok(json!({"total": 3, "offset": 2, "accounts": [ours[2]]}))
    );
    assert_eq!(
        page(3, 10, Some(&run)).await,
        Ok(json!({"total": 3, "offset": 3, "accounts": []}))
    );
    // Part of an IBAN, in lower case with spaces, as people type it.
    let spaced: String = b
        .to_lowercase()
        .chars()
        .collect::<Vec<char>>()
        .chunks(4)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<String>>()
        .join(" ");
    assert_eq!(
        page(0, 10, Some(&format!(" {spaced} "))).await,
        Ok(json!({"total": 1, "offset": 0, "accounts": [ours.iter().find(|x| x["iban"] == b)]}))
    );
    // Without a search: every account of the bank, ours among them, sorted.
    let everything = page(0, 1_000, None).await.expect("every account");
    let total = everything["total"].as_u64().expect("total");
    assert!(total >= 3, "{everything}");
    let listed: Vec<&str> = everything["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|x| x["iban"].as_str().expect("iban"))
        .collect();
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "sorted by IBAN");
    assert_eq!(listed.len() as u64, total.min(1_000));
    assert_eq!(
        page(0, 0, None).await,
        Err("max_items should be between 1 and 1000".to_string())
    );
    assert_eq!(
        page(0, 1_001, Some(&run)).await,
        Err("max_items should be between 1 and 1000".to_string())
    );
    assert_eq!(
        page(-1, 10, None).await,
        Err("offset should not be negative".to_string())
    );

    // Derived events: exactly our five transactions, once each, equal to the answers.
    let ours = vec![a.clone(), b.clone()];
    common::wait_for_derived(&ours, 5, Duration::from_secs(60)).await;
    let (events, counts) = common::derived_events(&ours).await;
    assert!(
        counts.values().all(|&n| n == 1),
        "published once: {counts:?}"
    );
    let as_json: Vec<Value> = events
        .iter()
        .map(|e| {
            assert!(e.at_millis.is_some(), "a write time on {e:?}");
            transaction(
                i64::from(e.transaction_id),
                &e.iban,
                e.new_balance,
                e.changed_by,
                &e.from_to,
                &e.description,
            )
        })
        .collect();
    for expected in list.iter().chain(b_list) {
        assert!(
            as_json.contains(expected),
            "{expected} not derived: {as_json:?}"
        );
    }
    assert_eq!(as_json.len(), 5);

    // Bad input did not stop it, and SIGTERM stops it cleanly.
    assert!(projector.is_running(), "{}", projector.log_text());
    assert!(projector
        .log_text()
        .contains("skipping a query that cannot be decoded"));
    let status = projector
        .terminate()
        .expect("projector did not stop on SIGTERM");
    assert!(
        status.success(),
        "exit {status}; log:\n{}",
        projector.log_text()
    );
}
