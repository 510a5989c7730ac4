//! Load benchmark of the GraphQL endpoint against a running suite (command handler, projector,
//! endpoint; e.g. `scripts/run.sh start`). Prints numbers only.
//!
//! 1. `--accounts` users log in (creating their accounts) and each deposits from `cash`.
//! 2. One subscription (graphql-transport-ws) streams this run's transactions.
//! 3. `--transfers` transfers between the accounts are started at `--rate` per second,
//!    open loop (a slow answer does not slow the schedule, as with real users).
//! 4. Reported: p50/p95/p99 of the mutation latency (send → `money_transfer` answer) and of
//!    the delivery (send → the CREDIT on the subscription), and the throughput.
//! 5. The floor under all of it: the latency of one produce → consume hop on the same broker,
//!    through a scratch topic that is deleted afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use topology::kafka::ADMIN_TIMEOUT;
use topology::{Id, Settings};

/// Benchmark the GraphQL endpoint of a running suite; prints latency percentiles and throughput.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Args {
    /// Base URL of the endpoint (its /graphql and /graphql/ws are used).
    #[arg(long, default_value = "http://127.0.0.1:8888")]
    url: String,
    /// Number of accounts to create and transfer between.
    #[arg(long, default_value_t = 20)]
    accounts: usize,
    /// Number of transfers.
    #[arg(long, default_value_t = 1_000)]
    transfers: usize,
    /// Target transfers per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Produce → consume round trips for the raw Kafka hop.
    #[arg(long, default_value_t = 200)]
    hops: usize,
    /// Extra subscriptions held open during the run (filtered to an account nobody uses), to
    /// see what many watchers cost the fan-out.
    #[arg(long, default_value_t = 0)]
    idle_subscriptions: usize,
    /// Scratch topic for the raw hop (created and deleted by the bench).
    #[arg(long, default_value = "graphql-bench-hop")]
    hop_topic: String,
}

const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) { money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { success reason } }";
const STREAM: &str = "subscription($d: String) { stream_transactions(descr_includes: $d, direction: CREDIT) { descr } }";

struct Account {
    name: String,
    iban: String,
    token: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.accounts < 2 || args.transfers == 0 || !args.rate.is_finite() || args.rate <= 0.0 {
        bail!("need --accounts >= 2, --transfers >= 1 and a positive --rate");
    }
    let http = reqwest::Client::new();
    let graphql = format!("{}/graphql", args.url.trim_end_matches('/'));
    let run = Id::random().to_uuid_string()[..8].to_string();

    let accounts = create_accounts(&http, &graphql, &run, args.accounts).await?;
    let deliveries = subscribe(&args.url, &format!("bench-{run}-")).await?;
    let mut idle = Vec::with_capacity(args.idle_subscriptions);
    for _ in 0..args.idle_subscriptions {
        idle.push(subscribe(&args.url, &format!("nobody-{run}")).await?);
    }
    // The subscription has no acknowledgement; give the server a moment to register it.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let accounts = Arc::new(accounts);
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.transfers);
    let sent_at = Arc::new(Mutex::new(HashMap::<String, Instant>::new()));
    for i in 0..args.transfers {
        // Open loop: start transfer i at its slot, whatever the earlier ones are doing.
        tokio::time::sleep_until((started + interval.mul_f64(i as f64)).into()).await;
        let (http, graphql, accounts, sent_at) = (
            http.clone(),
            graphql.clone(),
            Arc::clone(&accounts),
            Arc::clone(&sent_at),
        );
        let descr = format!("bench-{run}-{i}");
        tasks.push(tokio::spawn(async move {
            let from = &accounts[i % accounts.len()];
            let to = &accounts[(i + 1) % accounts.len()];
            let begin = Instant::now();
            sent_at.lock().await.insert(descr.clone(), begin);
            let answer = post(
                &http,
                &graphql,
                TRANSFER,
                json!({"uuid": Id::random().to_uuid_string(), "u": from.name, "t": from.token,
                       "a": 1 + (i % 100) as i64, "f": from.iban, "to": to.iban, "d": descr}),
            )
            .await;
            let ok = answer.is_ok_and(|a| a["data"]["money_transfer"]["success"] == true);
            (ok, begin.elapsed())
        }));
    }
    let mut mutation = Vec::new();
    let mut failed = 0usize;
    for task in tasks {
        match task.await {
            Ok((true, latency)) => mutation.push(latency),
            _ => failed += 1,
        }
    }
    let elapsed = started.elapsed();

    // Deliveries of successful transfers arrive shortly after their answers.
    let mut delivery = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while delivery.len() < mutation.len() && Instant::now() < deadline {
        let arrived: Vec<(String, Instant)> = deliveries.lock().await.drain(..).collect();
        let sent = sent_at.lock().await;
        delivery.extend(
            arrived
                .iter()
                .filter_map(|(descr, at)| sent.get(descr).map(|begin| at.duration_since(*begin))),
        );
        drop(sent);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    println!(
        "accounts {}  transfers {}  target rate {}/s",
        args.accounts, args.transfers, args.rate
    );
    println!(
        "throughput {:.1} transfers/s  ({} succeeded, {failed} failed, {:.2} s)",
        mutation.len() as f64 / elapsed.as_secs_f64(),
        mutation.len(),
        elapsed.as_secs_f64()
    );
    print_percentiles("mutation latency", &mut mutation);
    print_percentiles("mutation → subscription", &mut delivery);
    let mut hops = raw_hop(&args.hop_topic, args.hops).await?;
    print_percentiles("raw produce → consume hop", &mut hops);
    Ok(())
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    Ok(http
        .post(url)
        .json(&json!({"query": query, "variables": variables}))
        .timeout(Duration::from_secs(60))
        .send()
        .await?
        .json()
        .await?)
}

/// Logs in `count` new users and deposits € 1.000,00 into each account.
async fn create_accounts(
    http: &reqwest::Client,
    graphql: &str,
    run: &str,
    count: usize,
) -> anyhow::Result<Vec<Account>> {
    let mut accounts = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("bench-{run}-{i:04}");
        let answer = post(
            http,
            graphql,
            LOGIN,
            json!({"u": name, "p": "bench password"}),
        )
        .await?;
        let account = &answer["data"]["get_account"];
        let (Some(iban), Some(token)) = (account["iban"].as_str(), account["token"].as_str())
        else {
            bail!("logging in {name}: {answer}");
        };
        accounts.push(Account {
            name,
            iban: iban.to_string(),
            token: token.to_string(),
        });
    }
    for account in &accounts {
        let answer = post(
            http,
            graphql,
            TRANSFER,
            json!({"uuid": Id::random().to_uuid_string(), "u": account.name, "t": account.token,
                   "a": 100_000, "f": "cash", "to": account.iban, "d": "bench deposit"}),
        )
        .await?;
        if answer["data"]["money_transfer"]["success"] != true {
            bail!("depositing into {}: {answer}", account.iban);
        }
    }
    Ok(accounts)
}

/// Subscribes to this run's CREDIT transactions; returns where arrivals are collected.
async fn subscribe(base: &str, prefix: &str) -> anyhow::Result<Arc<Mutex<Vec<(String, Instant)>>>> {
    let ws_url = format!("{}/graphql/ws", base.trim_end_matches('/')).replacen("http", "ws", 1);
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("WebSocket")?;
    socket
        .send(WsMessage::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await?;
    socket
        .send(WsMessage::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": STREAM, "variables": {"d": prefix}}})
                .to_string(),
        ))
        .await?;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&arrivals);
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let at = Instant::now();
            let WsMessage::Text(text) = message else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            if let Some(descr) = value["payload"]["data"]["stream_transactions"]["descr"].as_str() {
                sink.lock().await.push((descr.to_string(), at));
            }
        }
    });
    Ok(arrivals)
}

/// `count` sequential produce → consume round trips through a scratch topic.
async fn raw_hop(topic: &str, count: usize) -> anyhow::Result<Vec<Duration>> {
    let settings = Settings::from_env();
    let admin = settings.kafka.admin()?;
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for result in admin.create_topics([&new_topic], &options).await? {
        if let Err((name, code)) = result {
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                bail!("creating {name}: {code}");
            }
        }
    }
    let hops = measure_hops(&settings, topic, count).await;
    admin.delete_topics(&[topic], &options).await?;
    hops
}

async fn measure_hops(
    settings: &Settings,
    topic: &str,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    let producer = settings.kafka.producer()?;
    let consumer: StreamConsumer = settings.kafka.replay_consumer(None)?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::End)?;
    consumer.assign(&assignment)?;
    // Wait until the consumer really fetches: the first produce must not race its start.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut hops = Vec::with_capacity(count);
    for i in 0..count {
        let key = format!("hop-{i}");
        let begin = Instant::now();
        producer
            .send(
                FutureRecord::to(topic).key(&key).payload("x"),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| error)?;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), consumer.recv())
                .await
                .context("no hop within 10 s")??;
            if message.key() == Some(key.as_bytes()) {
                break;
            }
        }
        hops.push(begin.elapsed());
    }
    Ok(hops)
}

fn print_percentiles(what: &str, samples: &mut [Duration]) {
    if samples.is_empty() {
        println!("{what}: no samples");
        return;
    }
    samples.sort();
    let at =
        |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "{what}: p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (n={})",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0),
        samples.len()
    );
}
