//! Standing orders through GraphQL against the real suite: an owner sets one, sees it with its
//! next run, the bank runs it at its time (the payee is paid, the order is gone), one that
//! cannot be paid fails and the owner sees why (on the account and as an alert), another is
//! cancelled, and what cannot be right is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use common::{Client, Protocol, Subscription};
use serde_json::{json, Value};
use topology::Id;

const SET: &str = "mutation($uuid: String!, $a: Int!, $f: String!, $to: String!, $s: Schedule!, $at: String!, $n: Int) {
  set_standing_order(uuid: $uuid, amount: $a, from: $f, to: $to, descr: \"rent\", schedule: $s, first_run: $at, runs: $n) {
    success reason } }";
const CANCEL: &str = "mutation($uuid: String!, $i: String!) {
  cancel_standing_order(uuid: $uuid, iban: $i) { success reason } }";
const DEPOSIT: &str = "mutation($uuid: String!, $a: Int!, $to: String!) {
  money_transfer(uuid: $uuid, amount: $a, from: \"cash\", to: $to, descr: \"cash\") { success reason } }";
const ALERTS: &str = "subscription($i: String!) {
  alerts(iban: $i) { kind iban message transaction_id transfer_id at } }";
/// What the tests read of an account.
const ACCOUNT: &str = "balance
  standing_orders { uuid to amount amount_cents descr schedule first_run runs runs_done next_run }
  failed_standing_order_runs { order_uuid transfer_uuid to amount descr reason at }";

fn in_seconds(seconds: i64) -> String {
    graphql_endpoint::instants::format(graphql_endpoint::instants::now_millis() + seconds * 1_000)
}

async fn set(owner: &Client, variables: Value) -> Value {
    owner.data(SET, variables, "set_standing_order").await
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn a_standing_order_runs_at_its_time_and_a_cancelled_one_never() {
    let suite = common::Suite::start(&[]).await;
    let client = suite.client();
    let (alice, from) = client.new_customer("orderer").await;
    let (bob, payee) = client.new_customer("landlord").await;
    let deposit = alice
        .data(
            DEPOSIT,
            json!({"uuid": Id::random().to_uuid_string(), "a": 10_000, "to": from}),
            "money_transfer",
        )
        .await;
    assert_eq!(deposit["success"], true, "{deposit}");

    let past = set(
        &alice,
        json!({"uuid": Id::random().to_uuid_string(), "a": 100, "f": from, "to": payee,
               "s": "ONCE", "at": in_seconds(-3_600)}),
    )
    .await;
    assert_eq!(
        past["reason"],
        "the first run must be within the next 366 days, not in the past"
    );

    let weekly = Id::random().to_uuid_string();
    let answer = set(
        &alice,
        json!({"uuid": weekly, "a": 2_500, "f": from, "to": payee, "s": "WEEKLY",
               "at": in_seconds(86_400), "n": 4}),
    )
    .await;
    assert_eq!(answer, json!({"success": true, "reason": null}));
    let once = Id::random().to_uuid_string();
    let answer = set(
        &alice,
        json!({"uuid": once, "a": 1_250, "f": from, "to": payee, "s": "ONCE", "at": in_seconds(4)}),
    )
    .await;
    assert_eq!(answer, json!({"success": true, "reason": null}));
    // One that cannot be paid: its run fails, and the owner sees why.
    let mut alerts = Subscription::start_as(
        suite.endpoint.port(),
        Protocol::TransportWs,
        alice.session().expect("logged in"),
        ALERTS,
        json!({"i": from}),
    )
    .await;
    let unpaid = Id::random().to_uuid_string();
    let answer = set(
        &alice,
        json!({"uuid": unpaid, "a": 1_000_000, "f": from, "to": payee, "s": "ONCE",
               "at": in_seconds(4)}),
    )
    .await;
    assert_eq!(answer, json!({"success": true, "reason": null}));
    let account = alice
        .my_account_when(ACCOUNT, &from, |a| {
            a["standing_orders"][0]["uuid"] == weekly
        })
        .await;
    let shown = &account["standing_orders"][0];
    assert_eq!(
        (
            &shown["uuid"],
            &shown["to"],
            &shown["amount"],
            &shown["schedule"],
            &shown["runs"],
            &shown["runs_done"]
        ),
        (
            &json!(weekly),
            &json!(payee),
            &json!("€ 25,00"),
            &json!("weekly"),
            &json!(4),
            &json!(0)
        ),
        "{account}"
    );
    assert_eq!(shown["next_run"], shown["first_run"]);

    let cancelled = alice
        .data(
            CANCEL,
            json!({"uuid": weekly, "i": from}),
            "cancel_standing_order",
        )
        .await;
    assert_eq!(cancelled, json!({"success": true, "reason": null}));
    let again = alice
        .data(
            CANCEL,
            json!({"uuid": weekly, "i": from}),
            "cancel_standing_order",
        )
        .await;
    assert_eq!(again["reason"], "standing order not known");

    // The one-off order runs within seconds of its time and is gone.
    let account = alice
        .my_account_when(ACCOUNT, &from, |a| {
            a["standing_orders"] == json!([])
                && a["balance"] == "€ 87,50"
                && a["failed_standing_order_runs"]
                    .as_array()
                    .is_some_and(|runs| runs.len() == 1)
        })
        .await;
    let failed = &account["failed_standing_order_runs"][0];
    assert_eq!(
        (&failed["order_uuid"], &failed["amount"], &failed["reason"]),
        (
            &json!(unpaid),
            &json!("€ 10.000,00"),
            &json!("insufficient funds would be below the limit of € -500,00")
        ),
        "{account}"
    );
    bob.my_account_when(ACCOUNT, &payee, |a| a["balance"] == "€ 12,50")
        .await;

    // The owner is alerted, once, with the run's transfer.
    let streamed = alerts.next_payload().await;
    let alert = &streamed["data"]["alerts"];
    assert_eq!(
        (&alert["kind"], &alert["iban"], &alert["transaction_id"]),
        (&json!("STANDING_ORDER_FAILED"), &json!(from), &Value::Null),
        "{streamed}"
    );
    assert_eq!(alert["transfer_id"], failed["transfer_uuid"], "{streamed}");
    assert_eq!(
        alert["message"],
        format!(
            "Standing order payment of € 10.000,00 from {from} to {payee} (rent) failed: \
             insufficient funds would be below the limit of € -500,00"
        )
    );
}
