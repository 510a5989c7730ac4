//! Read your own writes across replicas: two command handlers (so some credits cross
//! instances), two projectors sharing the queries and two endpoints. A client writes on one
//! endpoint and reads on the other at once, sending back the answer's `extensions.consistency`:
//! every read holds what the write did, for every outcome of a transfer (success, refusal,
//! failure with the money returned). The same reads without the token are counted, not
//! asserted: how often they miss depends on the machine.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::{Duration, Instant};

use common::{
    start_command_handler_as, start_graphql_endpoint, start_group_at_end, start_projector_as,
    unique, Client, STRONG_PASSWORD, WAIT,
};
use serde_json::{json, Value};
use topology::routing::partition_of;
use topology::Id;

const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { uuid success reason } }";
const BY_IBAN: &str = "query($iban: String!) { transactions_by_iban(iban: $iban, max_items: 100) {
  id new_balance descr direction } }";
const ROUNDS: usize = 8;

struct Customer {
    name: String,
    iban: String,
    token: String,
    /// One per endpoint, each with the customer's session.
    on: [Client; 2],
}

async fn customer(endpoints: &[Client; 2], prefix: &str) -> Customer {
    let name = unique(prefix);
    let account = endpoints[0].sign_up(&name, STRONG_PASSWORD).await;
    let session = endpoints[0].customer_session(&name, STRONG_PASSWORD).await;
    Customer {
        iban: account["iban"].as_str().unwrap().to_string(),
        token: account["token"].as_str().unwrap().to_string(),
        on: [
            endpoints[0].with_session(&session),
            endpoints[1].with_session(&session),
        ],
        name,
    }
}

/// A transfer by `by` on `endpoint`: its result and the answer's consistency token.
async fn transfer(
    by: &Customer,
    endpoint: usize,
    (amount, from, to): (i64, &str, &str),
    descr: &str,
) -> (Value, String) {
    let variables = json!({
        "uuid": Id::random().to_uuid_string(), "u": by.name, "t": by.token, "a": amount,
        "f": from, "to": to, "d": descr,
    });
    let response = by.on[endpoint].post(TRANSFER, variables).await;
    assert!(response.get("errors").is_none(), "{response}");
    let token = response["extensions"]["consistency"]
        .as_str()
        .unwrap_or_else(|| panic!("a token in {response}"))
        .to_string();
    (response["data"]["money_transfer"].clone(), token)
}

async fn transactions(client: &Client, iban: &str) -> Vec<Value> {
    let all = client
        .data(BY_IBAN, json!({"iban": iban}), "transactions_by_iban")
        .await;
    all.as_array().unwrap().clone()
}

/// What a read must hold after the transfer described `descr`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Its one movement of this account.
    Moved,
    /// Nothing at all.
    Nothing,
    /// Its debit, and the debit cancelled: the money returned.
    Returned,
}

fn holds(transactions: &[Value], descr: &str, effect: Effect) -> bool {
    let moved: Vec<&Value> = transactions
        .iter()
        .filter(|t| t["descr"] == descr)
        .collect();
    match effect {
        Effect::Nothing => moved.is_empty(),
        Effect::Moved => moved.len() == 1,
        Effect::Returned => {
            moved.len() == 1 && {
                let cancelled = format!(
                    "Cancelled transaction with id {} because iban not known",
                    moved[0]["id"]
                );
                transactions
                    .iter()
                    .any(|t| t["descr"] == cancelled.as_str())
            }
        }
    }
}

/// The reads right after a write, each asserted with the write's token and counted without.
#[derive(Default)]
struct Reads {
    done: usize,
    /// Reads without the token that missed what the write did.
    misses: usize,
}

impl Reads {
    /// Reads `iban` with `token`, asserting that it holds `effect` of the transfer `descr`, and
    /// at the same time without it (counting a read that does not hold it).
    async fn expect(
        &mut self,
        client: &Client,
        token: &str,
        iban: &str,
        descr: &str,
        effect: Effect,
    ) {
        let consistent = client.with_consistency(token);
        let (unaware, seen) =
            tokio::join!(transactions(client, iban), transactions(&consistent, iban));
        self.done += 1;
        if !holds(&unaware, descr, effect) {
            self.misses += 1;
        }
        assert!(
            holds(&seen, descr, effect),
            "{descr} on {iban} after {token}: {seen:?}"
        );
    }
}

/// `open_bank_queries_read_after_total{outcome}` of the projector with health port `port`.
async fn read_after_count(port: u16, outcome: &str) -> f64 {
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("open_bank_queries_read_after_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn reads_on_another_replica_see_every_outcome_of_a_transfer() {
    let run = unique("ryw");
    let handlers = format!("command-handler-{run}");
    start_group_at_end(&handlers, &test_support::COMMAND_TOPICS);
    let publishing = format!("projector-{run}");
    start_group_at_end(&publishing, &["bank_events"]);
    let queries = format!("projector-{run}-queries");
    let mut services = vec![
        start_command_handler_as(&handlers, &format!("{handlers}-1")),
        start_command_handler_as(&handlers, &format!("{handlers}-2")),
        start_projector_as(&publishing, &queries, &format!("{publishing}-1")),
        start_projector_as(&publishing, &queries, &format!("{publishing}-2")),
        start_graphql_endpoint(&[("GRAPHQL_COMMAND_TIMEOUT", "30".into())]),
        start_graphql_endpoint(&[("GRAPHQL_COMMAND_TIMEOUT", "30".into())]),
    ];
    for service in &mut services {
        service.wait_healthy(WAIT).await;
    }
    let endpoints = [
        Client::new(services[4].port()),
        Client::new(services[5].port()),
    ];
    // An open IBAN no account has (a random one of 10^10).
    let nobody = topology::values::new_open_iban();
    let alice = customer(&endpoints, "ryw-alice").await;
    // Two handlers split the 12 partitions in halves (range assignor): Bob's account in the
    // other half makes Alice's transfers to him cross instances, so the answer must name a
    // credit another handler wrote.
    let half = |iban: &str| partition_of(iban) < topology::BANK_PARTITIONS / 2;
    let mut bob = customer(&endpoints, "ryw-bob").await;
    while half(&bob.iban) == half(&alice.iban) {
        bob = customer(&endpoints, "ryw-bob").await;
    }
    let bob_partition = format!("bank_events:{}:", partition_of(&bob.iban));

    let started = Instant::now();
    let mut reads = Reads::default();
    for round in 0..ROUNDS {
        let (write, read) = (round % 2, 1 - round % 2);
        let (at_alice, at_bob) = (&alice.on[read], &bob.on[read]);

        let descr = format!("ryw deposit {round}");
        let (deposit, token) = transfer(&alice, write, (10_000, "cash", &alice.iban), &descr).await;
        assert_eq!(deposit["success"], true, "{deposit}");
        reads
            .expect(at_alice, &token, &alice.iban, &descr, Effect::Moved)
            .await;

        // Alice's and Bob's accounts lie in partitions of either handler: the credit crosses.
        let descr = format!("ryw transfer {round}");
        let (paid, token) = transfer(&alice, write, (1_000, &alice.iban, &bob.iban), &descr).await;
        assert_eq!(paid["success"], true, "{paid}");
        assert!(
            token.contains(&bob_partition),
            "{token} names no credit of Bob's"
        );
        reads
            .expect(at_alice, &token, &alice.iban, &descr, Effect::Moved)
            .await;
        reads
            .expect(at_bob, &token, &bob.iban, &descr, Effect::Moved)
            .await;

        let descr = format!("ryw refused {round}");
        let too_much = (100_000_000, alice.iban.as_str(), bob.iban.as_str());
        let (refused, token) = transfer(&alice, write, too_much, &descr).await;
        assert_eq!(refused["success"], false, "{refused}");
        reads
            .expect(at_alice, &token, &alice.iban, &descr, Effect::Nothing)
            .await;

        // The credit is refused, the debit returned: both are read at once.
        let descr = format!("ryw returned {round}");
        let (returned, token) = transfer(&alice, write, (500, &alice.iban, &nobody), &descr).await;
        assert_eq!(returned["success"], false, "{returned}");
        assert_eq!(returned["reason"], "iban not known", "{returned}");
        reads
            .expect(at_alice, &token, &alice.iban, &descr, Effect::Returned)
            .await;
    }
    // Projectors that lag (paused): the read waits for them instead of missing the deposit.
    for projector in &mut services[2..4] {
        projector.pause();
    }
    let descr = "ryw deposit while the projectors lag";
    let (deposit, token) = transfer(&alice, 0, (2_000, "cash", &alice.iban), descr).await;
    assert_eq!(deposit["success"], true, "{deposit}");
    let reader = alice.on[1].with_consistency(&token);
    let iban = alice.iban.clone();
    let read = tokio::spawn(async move { transactions(&reader, &iban).await });
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for projector in &mut services[2..4] {
        projector.resume();
    }
    let seen = read.await.unwrap();
    assert!(holds(&seen, descr, Effect::Moved), "{seen:?}");

    let mut outcomes = Vec::new();
    for outcome in ["at_once", "waited", "not_caught_up"] {
        let mut count = 0.0;
        for projector in &services[2..4] {
            count += read_after_count(projector.port(), outcome).await;
        }
        outcomes.push(format!("{outcome} {count}"));
    }
    eprintln!(
        "read your writes: {ROUNDS} rounds in {:.1} s; reads right after a write on the other \
         replica that missed it: {} of {} without the token, 0 with it; \
         the projectors answered the token reads: {}",
        started.elapsed().as_secs_f64(),
        reads.misses,
        reads.done,
        outcomes.join(", ")
    );

    // A token the bank never wrote: the read is refused after a bounded wait, not hung.
    let waited = Instant::now();
    let far = alice.on[0].with_consistency("bank_events:0:999999999999");
    let response = far.post(BY_IBAN, json!({"iban": alice.iban})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "NOT_CAUGHT_UP",
        "{response}"
    );
    assert_eq!(
        response["errors"][0]["message"],
        topology::reasons::Refusal::NotCaughtUpYet.text()
    );
    assert!(waited.elapsed() < Duration::from_secs(20));

    // A header that is not a token is refused before anything runs.
    let bad = alice.on[0].with_consistency("bank_commands:0:1");
    let response = bad.post(BY_IBAN, json!({"iban": alice.iban})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "BAD_CONSISTENCY_TOKEN",
        "{response}"
    );
}
