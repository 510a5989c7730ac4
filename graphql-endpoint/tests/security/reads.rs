//! Every read of a customer's data is for the account's owners and employees only, and every
//! refusal is one error with a stable code, never partial data.

use std::time::Duration;

use serde_json::{json, Value};

use super::common::{Suite, EMPLOYEE};
use super::{endpoint_settings, Caller, Customer};

const EMPLOYEE_LOGIN: &str =
    "mutation($u: String!, $p: String!) { employee_login(username: $u, password: $p) { token } }";

/// The transactions of `iban` as its owner sees them, once the projector shows `count`.
async fn transactions(owner: &Caller, iban: &str, count: usize) -> Vec<Value> {
    let query =
        "query($i: String!) { transactions_by_iban(iban: $i, max_items: 10) { id iban descr } }";
    for _ in 0..100 {
        let seen = owner
            .data(query, json!({"i": iban}), "transactions_by_iban")
            .await;
        let seen = seen.as_array().cloned().unwrap_or_default();
        if seen.len() >= count {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{count} transactions of {iban} never showed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn customers_read_their_own_accounts_only_and_employees_read_all() {
    let suite = Suite::start(&endpoint_settings(&[])).await;
    let port = suite.endpoint.port();
    let alice = Customer::sign_up(port, "sec-read-alice").await;
    let bob = Customer::sign_up(port, "sec-read-bob").await;
    let carol = Customer::sign_up(port, "sec-read-carol").await;
    assert_eq!(alice.deposit(50_000).await["success"], true);
    let (payment, paid) = alice.pay(12_345, &bob.iban, "a private note to bob").await;
    assert_eq!(paid["success"], true, "{paid}");
    let alices = transactions(&alice.caller, &alice.iban, 2).await;
    let transaction_id = alices[0]["id"].clone();
    let anonymous = Caller::new(port);
    let employee = {
        let login = anonymous
            .data(
                EMPLOYEE_LOGIN,
                json!({"u": EMPLOYEE.0, "p": EMPLOYEE.1}),
                "employee_login",
            )
            .await;
        anonymous.with_session(login["token"].as_str().expect("token"))
    };

    let about_alice = json!({"i": alice.iban, "id": transaction_id, "t": payment});
    let reads = [
        "query($i: String!) { transactions_by_iban(iban: $i, max_items: 5) { id descr } }",
        "query($id: Int!) { transaction_by_id(id: $id) { id descr } }",
        r#"query($i: String!) { account_at(iban: $i, at: "2030-01-01T00:00:00Z") { balance } }"#,
        r#"query($i: String!) { balance_history(iban: $i, from: "2026-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z", points: 3) { balance } }"#,
        "query($i: String!) { alert_rules(iban: $i) { kind threshold } }",
        "query($t: String!) { transfer_status(uuid: $t) { status } }",
    ];
    for query in reads {
        let (code, message) = anonymous.refusal(query, about_alice.clone()).await;
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("UNAUTHENTICATED", "login required"),
            "{query}"
        );
        let (code, _) = carol.caller.refusal(query, about_alice.clone()).await;
        assert_eq!(code, "FORBIDDEN", "a stranger: {query}");
        for reader in [&alice.caller, &employee] {
            let answer = reader.post(query, about_alice.clone()).await;
            assert!(answer.get("errors").is_none(), "{query}: {answer}");
        }
    }
    // The receiver of a transfer sees it on their own account, not its status nor the payer's.
    let (code, message) = bob
        .caller
        .refusal(
            "query($t: String!) { transfer_status(uuid: $t) { status } }",
            about_alice.clone(),
        )
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("FORBIDDEN", "user did not start this transfer")
    );
    let bobs = transactions(&bob.caller, &bob.iban, 1).await;
    assert_eq!(bobs[0]["descr"], "a private note to bob");
    let (code, _) = bob.caller.refusal(reads[0], about_alice.clone()).await;
    assert_eq!(code, "FORBIDDEN");
    // A forged IBAN tells a stranger nothing either.
    let (code, _) = carol
        .caller
        .refusal(reads[0], json!({"i": "NL66OPEN0000000001"}))
        .await;
    assert_eq!(code, "FORBIDDEN");

    // Bank-wide lists are the employees'; anyone sees bank-wide figures, never an account.
    let all = "{ all_last_transactions { iban new_balance } }";
    assert_eq!(anonymous.refusal(all, json!({})).await.0, "UNAUTHENTICATED");
    assert_eq!(
        alice.caller.refusal(all, json!({})).await,
        ("FORBIDDEN".to_string(), "employees only".to_string())
    );
    assert!(employee.post(all, json!({})).await.get("errors").is_none());
    let figures = anonymous
        .data(
            "{ bank_figures { accounts transactions transactions_last_minute } }",
            json!({}),
            "bank_figures",
        )
        .await;
    assert!(figures["accounts"].as_i64() >= Some(3), "{figures}");
    assert!(figures["transactions"].as_i64() >= Some(3), "{figures}");
    assert!(!figures.to_string().contains("OPEN"), "no IBAN: {figures}");

    // my_accounts with a session shows the caller's own accounts only.
    let mine = carol
        .caller
        .data(
            "{ my_accounts { accounts { iban } } }",
            json!({}),
            "my_accounts",
        )
        .await;
    assert_eq!(mine["accounts"], json!([{"iban": carol.iban}]));

    // Acting on someone else's account with one's own session moves nothing.
    let transfer = "mutation($u: String!, $from: String!, $to: String!) { money_transfer(uuid: $u, amount: 100, from: $from, to: $to, descr: \"x\") { success reason } }";
    let variables =
        json!({"u": topology::Id::random().to_uuid_string(), "from": alice.iban, "to": carol.iban});
    let taken = carol
        .caller
        .data(transfer, variables, "money_transfer")
        .await;
    assert_eq!(
        taken,
        json!({"success": false, "reason": "user is no owner of bank account"})
    );
    let posing = "mutation($u: String!, $i: String!) { set_alert(iban: $i, username: $u, kind: ANY_CREDIT) { success } }";
    let (code, message) = carol
        .caller
        .refusal(posing, json!({"u": alice.name, "i": alice.iban}))
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("FORBIDDEN", "username is not the logged-in user")
    );
    let rules =
        "mutation($i: String!) { set_alert(iban: $i, kind: ANY_CREDIT) { success reason } }";
    let refused = carol
        .caller
        .data(rules, json!({"i": alice.iban}), "set_alert")
        .await;
    assert_eq!(refused["reason"], "user is no owner of bank account");
    // The seed contract's token still works without a session.
    let seeded = "query($i: String!, $u: String!, $t: String!) { alert_rules(iban: $i, username: $u, token: $t) { kind } }";
    let answer = anonymous
        .post(
            seeded,
            json!({"i": alice.iban, "u": alice.name, "t": alice.token}),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
}
