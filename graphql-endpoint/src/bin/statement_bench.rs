//! How long a statement of a busy account takes, end to end: through the GraphQL endpoint, the
//! query bus on Kafka, the projector's history store, and back as GraphQL, CSV and camt.053.
//!
//! 1. One new customer signs up, logs in and opens a second account.
//! 2. `--transactions` money movements on the first account, half cash deposits into it, half
//!    payments out of it to the second account (so the statement has credits and debits),
//!    `--parallel` at a time.
//! 3. Once the statement lists all of them, each way of reading it is timed `--repeat` times:
//!    the GraphQL `statement` (balances and the count), and the files of
//!    `GET /graphql/statement` as CSV and camt.053, read to their last byte.
//!
//! Run against a running suite (`scripts/run.sh start`, release profile for real figures):
//! `cargo run --release -p graphql-endpoint --bin statement_bench -- --transactions 100000`.

#[path = "bench/graphql.rs"]
#[allow(dead_code)] // the load bench's module: its subscription is not used here
mod graphql;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use futures::StreamExt;
use serde_json::{json, Value};
use topology::Id;

use graphql::{GraphQl, LOGIN, OPEN_ACCOUNT, SIGN_UP, TRANSFER};

const STATEMENT: &str = "query($i: String!, $f: String!, $to: String!) {
  statement(iban: $i, from: $f, to: $to) { opening_balance closing_balance credits debits transaction_count } }";
const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Parser, Debug)]
#[command(about = "Times statements of a busy account through the running suite")]
struct Args {
    /// Base URL of the endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8888")]
    url: String,
    /// Transactions on the account (half deposits, half payments out).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(2..=200_000))]
    transactions: u32,
    /// Money movements sent at a time.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    parallel: u32,
    /// Timed reads of each kind.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// A process on this machine whose CPU time each kind of read costs is printed, as
    /// NAME=PID (repeat for each: e.g. projector=123 graphql-endpoint=456 kafka=789).
    #[arg(long = "cpu-of", value_name = "NAME=PID", value_parser = topology::process::named_pid)]
    cpu_of: Vec<(String, u32)>,
}

/// The CPU each watched process spent since `before`, per read, as `name 12 ms`.
fn cpu_spent(watched: &[(String, u32)], before: &[Option<f64>], reads: u32) -> String {
    watched
        .iter()
        .zip(before)
        .filter_map(|((name, pid), before)| {
            let spent = topology::process::cpu_seconds(*pid)? - (*before)?;
            Some(format!("{name} {:.0} ms", spent * 1e3 / f64::from(reads)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

struct Account {
    name: String,
    iban: String,
    token: String,
}

fn account(name: &str, answer: &Value) -> anyhow::Result<Account> {
    let (Some(iban), Some(token)) = (answer["iban"].as_str(), answer["token"].as_str()) else {
        bail!("no account: {answer}");
    };
    Ok(Account {
        name: name.to_string(),
        iban: iban.to_string(),
        token: token.to_string(),
    })
}

async fn move_money(graphql: &GraphQl, from: &Account, to: &Account, n: u32) -> anyhow::Result<()> {
    let deposit = n.is_multiple_of(2);
    let (source, target, amount) = if deposit {
        ("cash", &from.iban, 3)
    } else {
        (from.iban.as_str(), &to.iban, 1)
    };
    let answer = graphql
        .post(
            TRANSFER,
            json!({"uuid": Id::random().to_uuid_string(), "u": from.name, "t": from.token,
                   "a": amount, "f": source, "to": target,
                   "d": format!("statement bench {n}")}),
            TIMEOUT,
        )
        .await?;
    if answer["data"]["money_transfer"]["success"] != true {
        bail!("transfer {n}: {answer}");
    }
    Ok(())
}

/// Milliseconds: fastest, median, slowest.
fn spread(mut millis: Vec<f64>) -> String {
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    format!(
        "{:>8.0} {:>8.0} {:>8.0}",
        millis[0],
        median,
        millis[millis.len() - 1]
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let graphql = GraphQl::new(&args.url);
    let name = format!("statement-bench-{}", &Id::random().to_uuid_string()[..8]);
    let password = format!("bench {}", uuid::Uuid::new_v4().simple());
    let credentials = json!({"u": name, "p": password});
    let answer = graphql.post(SIGN_UP, credentials.clone(), TIMEOUT).await?;
    let first = account(&name, &answer["data"]["get_account"]).context("signing up")?;
    let answer = graphql.post(LOGIN, credentials, TIMEOUT).await?;
    let Some(session) = answer["data"]["login"]["token"].as_str() else {
        bail!("logging in: {answer}");
    };
    let customer = graphql.with_session(session);
    let answer = customer.post(OPEN_ACCOUNT, json!({}), TIMEOUT).await?;
    let second = account(&name, &answer["data"]["open_account"]).context("opening")?;
    let since = graphql_endpoint::instants::now_millis() - 60_000;

    println!(
        "{} transactions on {} ({} at a time) ...",
        args.transactions, first.iban, args.parallel
    );
    let began = Instant::now();
    let parallel = usize::try_from(args.parallel).unwrap_or(1);
    let failures: Vec<anyhow::Error> = futures::stream::iter(0..args.transactions)
        .map(|n| move_money(&graphql, &first, &second, n))
        .buffer_unordered(parallel)
        .filter_map(|done| async move { done.err() })
        .collect()
        .await;
    if let Some(first_failure) = failures.first() {
        bail!(
            "{} transfers failed, the first: {first_failure}",
            failures.len()
        );
    }
    let took = began.elapsed().as_secs_f64();
    println!(
        "sent in {took:.1} s ({:.0}/s)",
        f64::from(args.transactions) / took
    );

    let until = graphql_endpoint::instants::now_millis() + 24 * 3600 * 1000;
    let from = graphql_endpoint::instants::format(since);
    let to = graphql_endpoint::instants::format(until);
    let period = json!({"i": first.iban, "f": from, "to": to});
    let waited = Instant::now();
    loop {
        let answer = customer.post(STATEMENT, period.clone(), TIMEOUT).await?;
        let count = answer["data"]["statement"]["transaction_count"].as_u64();
        if count == Some(u64::from(args.transactions)) {
            println!("statement: {}", answer["data"]["statement"]);
            break;
        }
        if waited.elapsed() > TIMEOUT {
            bail!(
                "the statement did not reach {} transactions: {answer}",
                args.transactions
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let file_url = |format: &str| {
        format!(
            "{}/graphql/statement?iban={}&from={from}&to={to}&format={format}",
            args.url.trim_end_matches('/'),
            first.iban
        )
    };
    println!(
        "\n{:<28} {:>8} {:>8} {:>8} {:>12}",
        "read (ms)", "fastest", "median", "slowest", "bytes"
    );
    let cpu_now = || -> Vec<Option<f64>> {
        let cpu = |(_, pid): &(String, u32)| topology::process::cpu_seconds(*pid);
        args.cpu_of.iter().map(cpu).collect()
    };
    let mut cpu = Vec::new();
    let mut summary = Vec::new();
    let before = cpu_now();
    for _ in 0..args.repeat {
        let began = Instant::now();
        customer.post(STATEMENT, period.clone(), TIMEOUT).await?;
        summary.push(began.elapsed().as_secs_f64() * 1_000.0);
    }
    cpu.push((
        "GraphQL statement",
        cpu_spent(&args.cpu_of, &before, args.repeat),
    ));
    println!("{:<28} {}", "GraphQL statement (summary)", spread(summary));
    for format in ["csv", "camt053"] {
        let mut times = Vec::new();
        let mut bytes = 0;
        let before = cpu_now();
        for _ in 0..args.repeat {
            let began = Instant::now();
            let response = graphql
                .http()
                .get(file_url(format))
                .bearer_auth(session)
                .timeout(TIMEOUT)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("{format}: {} {}", response.status(), response.text().await?);
            }
            bytes = response.bytes().await?.len();
            times.push(began.elapsed().as_secs_f64() * 1_000.0);
        }
        cpu.push((format, cpu_spent(&args.cpu_of, &before, args.repeat)));
        println!(
            "{:<28} {} {:>12}",
            format!("file: {format}"),
            spread(times),
            bytes
        );
    }
    if !args.cpu_of.is_empty() {
        println!("\nCPU per read:");
        for (read, spent) in cpu {
            println!("  {read:<20} {spent}");
        }
    }
    Ok(())
}
