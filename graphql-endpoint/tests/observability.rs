//! What an operator sees of the running bank: every service's `/metrics` (Prometheus text)
//! has its families, and a transfer moves the counters it should, against the real suite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::{Client, Suite, STRONG_PASSWORD, WAIT};
use serde_json::json;
use topology::telemetry::sample_values;
use topology::Id;

const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: \"metrics\") { success reason } }";

/// Where a deposit leaves records: its command, its events, its feedback, its derived
/// transaction.
const CAUSED_TOPICS: [&str; 4] = [
    "bank_commands",
    "bank_events",
    "bank_command_feedback",
    "transaction_events",
];

/// Reads what the deposit wrote (its records are keyed by the account's IBAN or the transfer's
/// id; others may use the cluster meanwhile) and checks that each one's `traceparent` header
/// carries the mutation's trace id: 1 command, 3 events (started, credited, completed),
/// 2 feedback (started, completed) and 1 derived transaction.
async fn every_record_caused_carries_the_trace(
    consumer: &rdkafka::consumer::StreamConsumer,
    keys: &[&str],
    trace_id: &str,
) {
    use rdkafka::message::Message;
    let expected = [
        ("bank_commands", 1),
        ("bank_events", 3),
        ("bank_command_feedback", 2),
        ("transaction_events", 1),
    ];
    let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while expected
        .iter()
        .any(|(topic, count)| seen.get(*topic).copied().unwrap_or(0) < *count)
    {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("records of the transfer in time; seen {seen:?}"))
            .expect("a record");
        let key = message.key().and_then(|k| std::str::from_utf8(k).ok());
        if !key.is_some_and(|key| keys.contains(&key)) {
            continue;
        }
        let traceparent = topology::trace_context::traceparent_header(message.headers())
            .unwrap_or_else(|| panic!("a traceparent on {}@{}", message.topic(), message.offset()));
        assert_eq!(
            traceparent.split('-').nth(1),
            Some(trace_id),
            "{}: {traceparent}",
            message.topic()
        );
        *seen.entry(message.topic().to_string()).or_default() += 1;
    }
}

/// The metrics of the service serving `/metrics` on `port`.
async fn scrape(client: &Client, port: u16) -> String {
    let response = client
        .http()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .timeout(WAIT)
        .send()
        .await
        .expect("GET /metrics");
    assert!(response.status().is_success(), "{}", response.status());
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

/// The sum of `family`'s samples whose labels contain every one of `labels` (`key="value"`).
fn total(text: &str, family: &str, labels: &[&str]) -> f64 {
    sample_values(text, family)
        .into_iter()
        .filter(|(series, _)| labels.iter().all(|label| series.contains(label)))
        .map(|(_, value)| value)
        .sum()
}

fn has_family(text: &str, family: &str) -> bool {
    text.lines().any(|line| {
        line.strip_prefix("# TYPE ")
            .is_some_and(|rest| rest.split(' ').next() == Some(family))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn every_service_serves_metrics_and_a_transfer_moves_them() {
    let suite = Suite::start(&[]).await;
    let client = suite.client();
    let ports = [
        suite.handler.port(),
        suite.projector.port(),
        suite.endpoint.port(),
    ];

    let name = format!("metrics-{}", &Id::random().to_uuid_string()[..8]);
    let account = client
        .data(
            LOGIN,
            json!({"u": name, "p": STRONG_PASSWORD}),
            "get_account",
        )
        .await;
    let (iban, token) = (account["iban"].clone(), account["token"].clone());
    // The owner reads the account's transactions with a session.
    let owner = client.with_session(&client.customer_session(&name, STRONG_PASSWORD).await);
    let before: Vec<String> = futures::future::join_all(ports.map(|p| scrape(&client, p))).await;
    let caused = test_support::consumer_at_end(&CAUSED_TOPICS);

    let uuid = Id::random().to_uuid_string();
    let transfer = json!({
        "uuid": uuid, "u": name, "t": token, "a": 1_000, "f": "cash", "to": iban,
    });
    let response = client.post(TRANSFER, transfer).await;
    let done = &response["data"]["money_transfer"];
    assert_eq!(done["success"], true, "{response}");
    let trace_id = response["extensions"]["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a trace id in the extensions: {response}"))
        .to_string();
    assert_eq!(trace_id.len(), 32, "{trace_id}");
    let keys = [iban.as_str().unwrap_or_default(), uuid.as_str()];
    every_record_caused_carries_the_trace(&caused, &keys, &trace_id).await;
    let seen = owner
        .data(
            "query($i: String!) { transactions_by_iban(iban: $i, max_items: 5) { id } }",
            json!({"i": iban}),
            "transactions_by_iban",
        )
        .await;
    assert_eq!(seen.as_array().map(Vec::len), Some(1), "{seen}");
    // The consumers report their lag every 5 s, and the projector derives the transaction
    // right after the credit.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after: Vec<String> = futures::future::join_all(ports.map(|p| scrape(&client, p))).await;
    let moved = |service: usize, family: &str, labels: &[&str]| {
        total(&after[service], family, labels) - total(&before[service], family, labels)
    };

    // Command handler: the transfer's commands, each answered once, in committed transactions
    // (a deposit's credit is decided in the same transaction as its start, without feedback).
    let (ch, pr, gql) = (0, 1, 2);
    for command in ["MoneyTransferCommand", "MarkTransferCompletedCommand"] {
        let label = format!("command=\"{command}\"");
        let succeeded = [label.as_str(), "outcome=\"succeeded\""];
        assert_eq!(
            moved(ch, "open_bank_commands_handled_total", &succeeded),
            1.0,
            "{command}:\n{}",
            after[ch]
        );
    }
    assert!(moved(ch, "open_bank_transaction_commit_seconds_count", &[]) >= 1.0);
    assert!(moved(ch, "open_bank_transaction_batch_records_sum", &[]) >= 1.0);
    for family in [
        "open_bank_rebuild_seconds",
        "open_bank_replayed_records_total",
        "open_bank_open_transfers",
        "open_bank_consumer_lag_records",
    ] {
        assert!(has_family(&after[ch], family), "{family}:\n{}", after[ch]);
    }

    // Projector: the credit projected and derived, the queries answered and timed.
    assert!(moved(pr, "open_bank_events_projected_total", &[]) >= 3.0);
    assert_eq!(moved(pr, "open_bank_transactions_derived_total", &[]), 1.0);
    assert!(moved(pr, "open_bank_transaction_commit_seconds_count", &[]) >= 1.0);
    let by_iban = ["query=\"TransactionsByIbanQuery\"", "outcome=\"succeeded\""];
    assert_eq!(moved(pr, "open_bank_queries_answered_total", &by_iban), 1.0);
    assert!(
        moved(
            pr,
            "open_bank_query_seconds_count",
            &["query=\"TransactionsByIbanQuery\""]
        ) >= 1.0
    );
    for family in [
        "open_bank_consumer_lag_records",
        "open_bank_rebuild_seconds",
    ] {
        assert!(has_family(&after[pr], family), "{family}:\n{}", after[pr]);
    }

    // Endpoint: the operations by root field, the transfer's latency, its consumers' lag.
    let transfers = ["operation=\"money_transfer\"", "outcome=\"ok\""];
    assert_eq!(
        moved(gql, "open_bank_graphql_operations_total", &transfers),
        1.0
    );
    let succeeded = ["outcome=\"succeeded\""];
    assert_eq!(
        moved(gql, "open_bank_transfer_seconds_count", &succeeded),
        1.0
    );
    assert!(
        moved(
            gql,
            "open_bank_graphql_operation_seconds_count",
            &["operation=\"transactions_by_iban\""]
        ) >= 1.0
    );
    assert!(
        has_family(&after[gql], "open_bank_consumer_lag_records"),
        "{}",
        after[gql]
    );
    assert!(
        after[gql].contains("consumer=\"graphql-endpoint-bank_command_feedback\""),
        "{}",
        after[gql]
    );
}
