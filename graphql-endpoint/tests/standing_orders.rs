//! Standing orders through GraphQL against the real suite: an owner sets one, sees it with its
//! next run, the bank runs it at its time (the payee is paid, the order is gone), another is
//! cancelled, and what cannot be right is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use common::Client;
use serde_json::{json, Value};
use topology::Id;

const SET: &str = "mutation($uuid: String!, $a: Int!, $f: String!, $to: String!, $s: Schedule!, $at: String!, $n: Int) {
  set_standing_order(uuid: $uuid, amount: $a, from: $f, to: $to, descr: \"rent\", schedule: $s, first_run: $at, runs: $n) {
    success reason } }";
const CANCEL: &str = "mutation($uuid: String!, $i: String!) {
  cancel_standing_order(uuid: $uuid, iban: $i) { success reason } }";
const DEPOSIT: &str = "mutation($uuid: String!, $a: Int!, $to: String!) {
  money_transfer(uuid: $uuid, amount: $a, from: \"cash\", to: $to, descr: \"cash\") { success reason } }";
/// What the tests read of an account.
const ACCOUNT: &str = "balance
  standing_orders { uuid to amount amount_cents descr schedule first_run runs runs_done next_run }";

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
    let account = alice
        .my_account_when(ACCOUNT, &from, |a| {
            a["standing_orders"]
                .as_array()
                .is_some_and(|o| o.len() == 2)
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
            a["standing_orders"] == json!([]) && a["balance"] == "€ 87,50"
        })
        .await;
    assert_eq!(account["balance"], "€ 87,50");
    bob.my_account_when(ACCOUNT, &payee, |a| a["balance"] == "€ 12,50")
        .await;
}
