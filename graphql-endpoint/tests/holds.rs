//! Holds through GraphQL against the real suite (command handler, projector, endpoint on a real
//! broker + registry): a hold lowers the available balance and shows on the owner's account, a
//! capture books part of it to the payee and answers like a transfer (also when retried), a
//! void and an expiry give it back, and a stranger cannot touch it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use common::Client;
use serde_json::{json, Value};
use topology::Id;

const HOLD: &str = "mutation($uuid: String!, $a: Int!, $f: String!, $to: String!, $s: Int!) {
  hold_money(uuid: $uuid, amount: $a, from: $f, to: $to, descr: \"hotel\", expires_in_seconds: $s) { success reason } }";
const CAPTURE: &str = "mutation($uuid: String!, $i: String!, $a: Int!) {
  capture_hold(uuid: $uuid, iban: $i, amount: $a) { uuid success reason ended } }";
const VOID: &str = "mutation($uuid: String!, $i: String!) {
  void_hold(uuid: $uuid, iban: $i) { success reason } }";
const DEPOSIT: &str = "mutation($uuid: String!, $a: Int!, $to: String!) {
  money_transfer(uuid: $uuid, amount: $a, from: \"cash\", to: $to, descr: \"cash\") { success reason } }";
/// What the tests read of an account.
const ACCOUNT: &str =
    "balance available_balance holds { uuid to amount amount_cents descr expires_at }";

async fn hold(owner: &Client, from: &str, to: &str, amount: i64, seconds: i64) -> (String, Value) {
    let uuid = Id::random().to_uuid_string();
    let answer = owner
        .data(
            HOLD,
            json!({"uuid": uuid, "a": amount, "f": from, "to": to, "s": seconds}),
            "hold_money",
        )
        .await;
    (uuid, answer)
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn a_hold_is_captured_in_part_voided_or_expires_and_only_its_owner_may_touch_it() {
    let suite = common::Suite::start(&[]).await;
    let client = suite.client();
    let (alice, from) = client.new_customer("holder").await;
    let (bob, payee) = client.new_customer("payee").await;
    let deposit = alice
        .data(
            DEPOSIT,
            json!({"uuid": Id::random().to_uuid_string(), "a": 1_000, "to": from}),
            "money_transfer",
        )
        .await;
    assert_eq!(deposit["success"], true, "{deposit}");

    let (hotel, answer) = hold(&alice, &from, &payee, 300, 3_600).await;
    assert_eq!(answer, json!({"success": true, "reason": null}));
    let account = alice
        .my_account_when(ACCOUNT, &from, |a| {
            a["holds"].as_array().is_some_and(|h| h.len() == 1)
        })
        .await;
    assert_eq!(
        (&account["balance"], &account["available_balance"]),
        (&json!("€ 10,00"), &json!("€ 7,00")),
        "{account}"
    );
    let shown = &account["holds"][0];
    assert_eq!(
        (
            &shown["uuid"],
            &shown["to"],
            &shown["amount"],
            &shown["amount_cents"],
            &shown["descr"]
        ),
        (
            &json!(hotel),
            &json!(payee),
            &json!("€ 3,00"),
            &json!(300),
            &json!("hotel")
        )
    );

    // Not the owner's: the payee may not capture it for herself.
    let refused = bob
        .data(
            CAPTURE,
            json!({"uuid": hotel, "i": from, "a": 300}),
            "capture_hold",
        )
        .await;
    assert_eq!(
        refused["reason"], "user is no owner of bank account",
        "{refused}"
    );
    let capture = |amount: i64| {
        alice.data(
            CAPTURE,
            json!({"uuid": hotel, "i": from, "a": amount}),
            "capture_hold",
        )
    };
    let too_much = capture(301).await;
    assert_eq!(too_much["reason"], "amount is more than the hold of € 3,00");
    let captured = capture(250).await;
    assert_eq!(
        captured,
        json!({"uuid": hotel, "success": true, "reason": null, "ended": true})
    );
    // A retry answers the first capture's outcome and moves nothing.
    assert_eq!(capture(250).await, captured);
    let account = alice
        .my_account_when(ACCOUNT, &from, |a| a["holds"] == json!([]))
        .await;
    assert_eq!(
        (&account["balance"], &account["available_balance"]),
        (&json!("€ 7,50"), &json!("€ 7,50"))
    );
    bob.my_account_when(ACCOUNT, &payee, |a| a["balance"] == "€ 2,50")
        .await;

    let (voided, _) = hold(&alice, &from, &payee, 100, 3_600).await;
    let answer = alice
        .data(VOID, json!({"uuid": voided, "i": from}), "void_hold")
        .await;
    assert_eq!(answer, json!({"success": true, "reason": null}));
    let again = alice
        .data(VOID, json!({"uuid": voided, "i": from}), "void_hold")
        .await;
    assert_eq!(
        again["reason"],
        "hold is not open, current status: released"
    );

    let error = alice
        .error(HOLD, json!({"uuid": Id::random().to_uuid_string(), "a": 100, "f": from, "to": payee, "s": 0}))
        .await;
    assert!(error.contains("expires_in_seconds"), "{error}");
    let (_, answer) = hold(&alice, &from, &payee, 100, 1).await;
    assert_eq!(answer["success"], true, "{answer}");
    alice
        .my_account_when(ACCOUNT, &from, |a| a["available_balance"] == "€ 6,50")
        .await;
    // Released by the command handler by itself, about a second after its time.
    let account = alice
        .my_account_when(ACCOUNT, &from, |a| {
            a["holds"] == json!([]) && a["available_balance"] == "€ 7,50"
        })
        .await;
    assert_eq!(account["balance"], "€ 7,50");
}
