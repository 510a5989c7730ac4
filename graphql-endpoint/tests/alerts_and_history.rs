//! Alerts and the bank at any moment, against the real suite (command handler, projector,
//! endpoint on a real broker + registry): rules set through GraphQL fire exactly once on
//! `alert_events` and on the `alerts` subscription, also when the projector is SIGKILLed
//! between a rule change and the debit it judges; transactions carry their time, an account
//! can be asked as it was, and its statement reconciles and is valid camt.053.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::{
    start_command_handler, start_graphql_endpoint, start_projector_as, unique, Client, Protocol,
    Subscription, WAIT,
};
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message;
use serde_json::{json, Value};
use topology::{AlertEvent, AlertKind, AlertTriggeredEvent, Id};

const PASSWORD: &str = common::STRONG_PASSWORD;
const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: \"e2e\") { success reason } }";
const SET_ALERT: &str =
    "mutation($i: String!, $u: String!, $t: String!, $k: AlertKind!, $th: Int) {
  set_alert(iban: $i, username: $u, token: $t, kind: $k, threshold: $th) { success reason } }";
const REMOVE_ALERT: &str = "mutation($i: String!, $u: String!, $t: String!, $k: AlertKind!) {
  remove_alert(iban: $i, username: $u, token: $t, kind: $k) { success reason } }";
const RULES: &str = "query($i: String!, $u: String!, $t: String!) {
  alert_rules(iban: $i, username: $u, token: $t) { kind threshold } }";
const ALERTS: &str = "subscription($i: String!, $u: String!, $t: String!) {
  alerts(iban: $i, username: $u, token: $t) { kind iban message transaction_id at } }";
const TRANSACTIONS: &str =
    "query($i: String!) { transactions_by_iban(iban: $i, max_items: 10) { id new_balance at } }";
const ACCOUNT_AT: &str = "query($i: String!, $at: String!) {
  account_at(iban: $i, at: $at) { iban at balance transactions(max_items: 10) { id new_balance at } } }";
const HISTORY: &str = "query($i: String!, $f: String!, $to: String!, $n: Int!) {
  balance_history(iban: $i, from: $f, to: $to, points: $n) { at balance balance_cents } }";
const DESCRIBED_TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { success reason } }";
const STATEMENT: &str = "query($i: String!, $f: String!, $to: String!) {
  statement(iban: $i, from: $f, to: $to) {
    iban from to opening_balance closing_balance credits debits
    transaction_count transactions { id changed_by new_balance from_to descr direction } } }";

struct Customer {
    name: String,
    iban: String,
    token: String,
}

async fn sign_up(client: &Client, prefix: &str) -> Customer {
    let name = format!("{prefix}-{}", &Id::random().to_uuid_string()[..8]);
    let account = client
        .data(LOGIN, json!({"u": name, "p": PASSWORD}), "get_account")
        .await;
    assert!(account["reason"].is_null(), "{account}");
    Customer {
        name,
        iban: text(&account["iban"]),
        token: text(&account["token"]),
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string, got {value}"))
        .to_string()
}

async fn transfer(client: &Client, who: &Customer, amount: i64, from: &str, to: &str) -> Value {
    client
        .data(
            TRANSFER,
            json!({"uuid": Id::random().to_uuid_string(), "u": who.name, "t": who.token,
                   "a": amount, "f": from, "to": to}),
            "money_transfer",
        )
        .await
}

async fn deposit(client: &Client, who: &Customer, amount: i64) {
    let deposited = transfer(client, who, amount, "cash", &who.iban).await;
    assert_eq!(deposited["success"], true, "{deposited}");
}

async fn set_alert(client: &Client, who: &Customer, kind: &str, threshold: Option<i64>) -> Value {
    client
        .data(
            SET_ALERT,
            json!({"i": who.iban, "u": who.name, "t": who.token, "k": kind, "th": threshold}),
            "set_alert",
        )
        .await
}

async fn rules(client: &Client, who: &Customer) -> Value {
    client
        .data(
            RULES,
            json!({"i": who.iban, "u": who.name, "t": who.token}),
            "alert_rules",
        )
        .await
}

/// `alert_rules`, asked again (10 s at most) until it equals `expected`: the projector reads
/// the rule's event a moment after the command.
async fn rules_become(client: &Client, who: &Customer, expected: Value) {
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = rules(client, who).await;
        if seen == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("alert rules {seen}, expected {expected}");
}

/// Every alert for `iban` on `alert_events` that `consumer` reads within `quiet` after the
/// last one it read (so "exactly one" also waits for a late duplicate).
async fn alerts_on_topic(
    consumer: &StreamConsumer,
    iban: &str,
    expected: usize,
    quiet: Duration,
) -> Vec<AlertTriggeredEvent> {
    let codec = test_support::codec();
    let mut alerts = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let wait = if alerts.len() < expected {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        } else {
            quiet
        };
        let Ok(message) = tokio::time::timeout(wait, consumer.recv()).await else {
            return alerts;
        };
        let message = message.expect("a record");
        if message.key() != Some(iban.as_bytes()) {
            continue;
        }
        // Failed standing-order runs share the topic; none happen here.
        if let AlertEvent::AlertTriggeredEvent(alert) = codec
            .decode::<AlertEvent>(message.payload())
            .await
            .expect("an alert record")
        {
            alerts.push(alert);
        }
    }
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn an_alert_fires_exactly_once_across_a_projector_killed_between_rule_and_debit() {
    let mut handler = start_command_handler();
    // The projector's ids are kept, so the restarted one takes the killed one's place.
    let (group, query_group, transactional_id) = (
        unique("projector-e2e-alerts"),
        unique("projector-e2e-alerts-queries"),
        unique("projector-e2e-alerts-tx"),
    );
    test_support::start_group_at_end(&group, &["bank_events"]);
    let mut projector = start_projector_as(&group, &query_group, &transactional_id);
    handler.wait_healthy(WAIT).await;
    projector.wait_healthy(WAIT).await;
    let mut endpoint = start_graphql_endpoint(&[("GRAPHQL_COMMAND_TIMEOUT", "20".to_string())]);
    endpoint.wait_healthy(WAIT).await;
    let client = Client::new(endpoint.port());

    let alice = sign_up(&client, "alerted").await;
    let bob = sign_up(&client, "payee").await;
    deposit(&client, &alice, 10_000).await;

    // Refusals: the reasons of a debit for strangers, clear words for thresholds.
    let refused = set_alert(&client, &alice, "LARGE_DEBIT", None).await;
    assert_eq!(
        refused["reason"], "threshold should be positive",
        "{refused}"
    );
    let refused = set_alert(&client, &alice, "ANY_CREDIT", Some(1)).await;
    assert_eq!(refused["reason"], "threshold does not apply to ANY_CREDIT");
    let stranger = Customer {
        name: bob.name.clone(),
        iban: alice.iban.clone(),
        token: bob.token.clone(),
    };
    let refused = set_alert(&client, &stranger, "ANY_CREDIT", None).await;
    assert_eq!(refused["reason"], "user is no owner of bank account");
    let error = client
        .error(
            RULES,
            json!({"i": alice.iban, "u": bob.name, "t": bob.token}),
        )
        .await;
    assert_eq!(error, "user is no owner of bank account");

    let mut subscription = Subscription::start(
        endpoint.port(),
        Protocol::TransportWs,
        ALERTS,
        json!({"i": alice.iban, "u": alice.name, "t": alice.token}),
    )
    .await;
    let topic = test_support::consumer_at_end(&["alert_events"]);

    // A rule, raised just before a debit it would have caught: the debit is judged by the
    // raised one, so nothing fires.
    let set = set_alert(&client, &alice, "LARGE_DEBIT", Some(1_000)).await;
    assert_eq!(set["success"], true, "{set}");
    let set = set_alert(&client, &alice, "LARGE_DEBIT", Some(5_000)).await;
    assert_eq!(set["success"], true, "{set}");
    let paid = transfer(&client, &alice, 2_000, &alice.iban, &bob.iban).await;
    assert_eq!(paid["success"], true, "{paid}");
    rules_become(
        &client,
        &alice,
        json!([{"kind": "LARGE_DEBIT", "threshold": 5_000}]),
    )
    .await;

    // The projector has read the rule; it dies before the debit that breaks it.
    projector.kill();
    let paid = transfer(&client, &alice, 6_000, &alice.iban, &bob.iban).await;
    assert_eq!(paid["success"], true, "{paid}");
    let mut projector = start_projector_as(&group, &query_group, &transactional_id);
    projector.wait_healthy(WAIT).await;

    let on_topic = alerts_on_topic(&topic, &alice.iban, 1, Duration::from_secs(8)).await;
    assert_eq!(on_topic.len(), 1, "exactly one alert: {on_topic:?}");
    assert_eq!(on_topic[0].alert_kind, AlertKind::LargeDebit);
    assert_eq!(
        on_topic[0].message,
        format!("Debit of € 60,00 from {} to {}: e2e", alice.iban, bob.iban)
    );
    let streamed = subscription.next_payload().await;
    let alert = &streamed["data"]["alerts"];
    assert_eq!(alert["kind"], "LARGE_DEBIT", "{streamed}");
    assert_eq!(alert["iban"], alice.iban.as_str());
    assert_eq!(alert["transaction_id"], on_topic[0].transaction_id);
    assert!(text(&alert["at"]).ends_with('Z'), "{alert}");

    // Removed, it fires no more; another kind fires on its own movement.
    let removed = client
        .data(
            REMOVE_ALERT,
            json!({"i": alice.iban, "u": alice.name, "t": alice.token, "k": "LARGE_DEBIT"}),
            "remove_alert",
        )
        .await;
    assert_eq!(removed["success"], true, "{removed}");
    let set = set_alert(&client, &alice, "ANY_CREDIT", None).await;
    assert_eq!(set["success"], true, "{set}");
    let paid = transfer(&client, &alice, 6_000, &alice.iban, &bob.iban).await;
    assert_eq!(paid["success"], true, "{paid}");
    deposit(&client, &alice, 1).await;
    let on_topic = alerts_on_topic(&topic, &alice.iban, 1, Duration::from_secs(3)).await;
    let kinds: Vec<AlertKind> = on_topic.iter().map(|a| a.alert_kind).collect();
    assert_eq!(kinds, [AlertKind::AnyCredit], "{on_topic:?}");
    let streamed = subscription.next_payload().await;
    assert_eq!(
        streamed["data"]["alerts"]["kind"], "ANY_CREDIT",
        "{streamed}"
    );
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn an_account_is_answered_as_it_was_at_any_moment() {
    let suite = common::Suite::start(&[]).await;
    let client = suite.client();
    let alice = sign_up(&client, "historic").await;
    // Reading an account's history needs its owner's (or an employee's) session.
    let owner = client.with_session(&client.customer_session(&alice.name, PASSWORD).await);
    deposit(&client, &alice, 1_000).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    deposit(&client, &alice, 500).await;

    // Both transactions carry the time their money event was written.
    let mut transactions = Value::Null;
    for _ in 0..50 {
        transactions = owner
            .data(
                TRANSACTIONS,
                json!({"i": alice.iban}),
                "transactions_by_iban",
            )
            .await;
        if transactions.as_array().is_some_and(|list| list.len() == 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (newest, first) = (&transactions[0], &transactions[1]);
    let first_at = text(&first["at"]);
    assert!(first_at <= text(&newest["at"]), "{transactions}");

    // Exactly at the first deposit: € 10 and that deposit only.
    let then = owner
        .data(
            ACCOUNT_AT,
            json!({"i": alice.iban, "at": first_at}),
            "account_at",
        )
        .await;
    assert_eq!(then["balance"], "€ 10,00", "{then}");
    assert_eq!(then["at"], first_at.as_str());
    assert_eq!(then["transactions"].as_array().map(Vec::len), Some(1));
    assert_eq!(then["transactions"][0]["id"], first["id"]);
    // Not without a session.
    let anonymous = client
        .post(ACCOUNT_AT, json!({"i": alice.iban, "at": first_at}))
        .await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anonymous}"
    );

    // Later: both deposits, newest first; one query serves fields that ask for different counts.
    let now = owner
        .data(
            "query($i: String!) { account_at(iban: $i, at: \"2100-01-01T00:00:00+01:00\") {
               at balance newest: transactions(max_items: 1) { id } transactions(max_items: 10) { id } } }",
            json!({"i": alice.iban}),
            "account_at",
        )
        .await;
    assert_eq!(now["balance"], "€ 15,00", "{now}");
    assert_eq!(now["at"], "2099-12-31T23:00:00.000Z");
    assert_eq!(now["newest"], json!([{"id": newest["id"]}]));
    assert_eq!(now["transactions"].as_array().map(Vec::len), Some(2));

    // Long before the account existed it did not; a malformed instant is a clear error.
    let error = owner
        .error(
            ACCOUNT_AT,
            json!({"i": alice.iban, "at": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(error, "iban does not exist");
    let error = owner
        .error(ACCOUNT_AT, json!({"i": alice.iban, "at": "yesterday"}))
        .await;
    assert!(
        error.starts_with("at is not an RFC 3339 instant"),
        "{error}"
    );

    // A series from before the account to after the last deposit: 0 first, € 15 last.
    let series = owner
        .data(
            HISTORY,
            json!({"i": alice.iban, "f": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "n": 3}),
            "balance_history",
        )
        .await;
    assert_eq!(series[0]["balance_cents"], 0.0, "{series}");
    assert_eq!(series[2]["balance"], "€ 15,00", "{series}");
    assert_eq!(series[2]["at"], "2100-01-01T00:00:00.000Z");
    let error = owner
        .error(
            HISTORY,
            json!({"i": alice.iban, "f": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "n": 501}),
        )
        .await;
    assert_eq!(error, "points should be between 2 and 500");
}

/// A transfer with description `descr`; it must succeed.
async fn described(
    client: &Client,
    who: &Customer,
    amount: i64,
    from: &str,
    to: &str,
    descr: &str,
) {
    let answer = client
        .data(
            DESCRIBED_TRANSFER,
            json!({"uuid": Id::random().to_uuid_string(), "u": who.name, "t": who.token,
                   "a": amount, "f": from, "to": to, "d": descr}),
            "money_transfer",
        )
        .await;
    assert_eq!(answer["success"], true, "{answer}");
}

#[tokio::test]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn a_statement_reconciles_and_is_valid_camt_053() {
    let suite = common::Suite::start(&[]).await;
    let client = suite.client();
    let alice = sign_up(&client, "statement").await;
    let bob = sign_up(&client, "payee").await;
    let owner = client.with_session(&client.customer_session(&alice.name, PASSWORD).await);
    // Descriptions a customer may type: markup, a formula, quotes, and 300 characters of é.
    let long = "é".repeat(300);
    described(
        &client,
        &alice,
        100_000,
        "cash",
        &alice.iban,
        "salary <b>&amp;</b>",
    )
    .await;
    described(
        &client,
        &alice,
        2_550,
        &alice.iban,
        &bob.iban,
        "=HYPERLINK(\"x\")",
    )
    .await;
    described(&client, &alice, 1, &alice.iban, &bob.iban, &long).await;

    // Yesterday to tomorrow: a statement covers at most 366 days.
    let day = 24 * 3600 * 1000;
    let now = graphql_endpoint::instants::now_millis();
    let from = graphql_endpoint::instants::format(now - day);
    let to = graphql_endpoint::instants::format(now + day);
    let period = json!({"i": alice.iban, "f": from, "to": to});
    let mut statement = Value::Null;
    for _ in 0..50 {
        statement = owner.data(STATEMENT, period.clone(), "statement").await;
        if statement["transactions"]
            .as_array()
            .is_some_and(|t| t.len() == 3)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(statement["opening_balance"], "€ 0,00", "{statement}");
    assert_eq!(statement["closing_balance"], "€ 974,49");
    assert_eq!(statement["credits"], "€ 1.000,00");
    assert_eq!(statement["debits"], "€ 25,51");
    assert_eq!(statement["transactions"][1]["direction"], "DEBIT");

    assert_eq!(statement["transaction_count"], 3);

    // The same statement as files, sent as they are written.
    let file = |format: &str| {
        format!(
            "/graphql/statement?iban={}&from={}&to={}&format={format}",
            alice.iban,
            from.replace('+', "%2B"),
            to.replace('+', "%2B")
        )
    };
    // The CSV: a header, the opening row, three booked rows, the closing row; the formula inert.
    let (status, content_type, csv) = owner.get(&file("csv")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/csv; charset=utf-8"),
        "{csv}"
    );
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 6, "{csv}");
    assert!(rows[1].starts_with(&format!("opening,{from},")), "{csv}");
    assert!(
        rows[3].contains("\"'=HYPERLINK(\"\"x\"\")\",-25.50,"),
        "{csv}"
    );
    assert!(rows[5].ends_with(",974.49,974.49"), "{csv}");

    // The camt.053 XML is valid against the official schema.
    let (status, _, xml) = owner.get(&file("camt053")).await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains("<Ustrd>salary &lt;b&gt;&amp;amp;&lt;/b&gt;</Ustrd>"),
        "{xml}"
    );
    let path = std::env::temp_dir().join(format!("statement-{}.xml", alice.name));
    std::fs::write(&path, &xml).unwrap();
    let checked = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/camt053-check.sh"
    ))
    .arg(&path)
    .output()
    .expect("scripts/camt053-check.sh runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        checked.status.success(),
        "camt.053 not valid: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    // Files need the same rights: none without a session, none of another's account.
    assert_eq!(client.get(&file("csv")).await.0, 401);
    let stranger = client.with_session(&client.customer_session(&bob.name, PASSWORD).await);
    assert_eq!(stranger.get(&file("camt053")).await.0, 403);
    let (status, _, body) = owner.get(&file("pdf")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("format should be csv or camt053"), "{body}");

    // Somebody else's statement is forbidden, and so is one without a session.
    let refused = stranger.post(STATEMENT, period.clone()).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let anonymous = client.post(STATEMENT, period).await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    // Periods that are empty or longer than 366 days are refused with the reason.
    let error = owner
        .error(
            STATEMENT,
            json!({"i": alice.iban, "f": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(error, "from should be before to");
    let error = owner
        .error(
            STATEMENT,
            json!({"i": alice.iban, "f": "2025-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}),
        )
        .await;
    assert_eq!(error, "a statement covers at most 366 days");
}
