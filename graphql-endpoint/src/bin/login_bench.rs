//! An honest customer logs in while someone guesses passwords: how long does the honest login
//! take, and what happens to the guesses? Runs against a running suite (`scripts/run.sh`),
//! whose endpoint trusts `X-Forwarded-For` from 127.0.0.1 (`GRAPHQL_TRUSTED_PROXIES`), so each
//! simulated client has an address of its own.
//!
//! Scenarios, one after the other, each `--seconds` long:
//! - `quiet`: the honest login alone, every 1.5 s from its own address (a customer's pace: the
//!   endpoint lets one address try once a second after a burst of 30);
//! - `one-address`: plus `--rate` guesses a second from one address, at random usernames;
//! - `many-addresses`: plus `--rate` guesses a second, each from a new address (what a botnet
//!   does: no per-address throttle applies, only the bounded hashing queue).
//!
//! ```sh
//! cargo run --release -p graphql-endpoint --bin login_bench -- --rate 100 --seconds 20
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{json, Value};
use tokio::sync::Mutex;

#[derive(Debug, Parser)]
#[command(
    name = "login_bench",
    about = "An honest login during a password-guessing run"
)]
struct Args {
    /// The endpoint's GraphQL URL.
    #[arg(long, default_value = "http://127.0.0.1:8888/graphql")]
    url: String,
    /// Guesses per second of the guessing run.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token reason } }";
const SIGN_UP: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban reason } }";
const PASSWORD: &str = "a quiet harbor of violet lanterns";
/// How often the honest customer logs in.
const HONEST_EVERY: Duration = Duration::from_millis(1_500);

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    /// `(reason or "session", how long)` of a login from `address`.
    async fn login(&self, address: IpAddr, username: &str, password: &str) -> (String, Duration) {
        let started = Instant::now();
        let answer: Result<Value, _> = async {
            self.http
                .post(&self.url)
                .header("x-forwarded-for", address.to_string())
                .json(&json!({"query": LOGIN, "variables": {"u": username, "p": password}}))
                .timeout(Duration::from_secs(30))
                .send()
                .await?
                .json()
                .await
        }
        .await;
        let outcome = match answer {
            Ok(answer) if answer["data"]["login"]["token"].is_string() => "session".to_string(),
            Ok(answer) => {
                let reason = answer["data"]["login"]["reason"]
                    .as_str()
                    .unwrap_or("error");
                // "too many attempts, try again in N s" is one outcome, whatever N.
                reason
                    .split(", try again in")
                    .next()
                    .unwrap_or(reason)
                    .to_string()
            }
            Err(error) => format!("no answer: {error}"),
        };
        (outcome, started.elapsed())
    }
}

fn address(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, (n >> 16) as u8, (n >> 8) as u8, n as u8))
}

#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<String, u32>,
    times: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, outcome: String, took: Duration) {
        *self.outcomes.entry(outcome).or_default() += 1;
        self.times.push(took);
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut times = self.times.clone();
        times.sort();
        if times.is_empty() {
            return Duration::ZERO;
        }
        let at = ((times.len() as f64 - 1.0) * p).round() as usize;
        times[at.min(times.len() - 1)]
    }
}

async fn scenario(client: &Client, honest: &str, guesses: Option<(u32, bool)>, seconds: u64) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let honest_tally = Arc::new(Mutex::new(Tally::default()));
    let guess_tally = Arc::new(Mutex::new(Tally::default()));
    let next_address = Arc::new(AtomicU32::new(1_000));
    let guesser = guesses.map(|(rate, rotate)| {
        let (client, tally, next_address) = (
            client.clone(),
            Arc::clone(&guess_tally),
            Arc::clone(&next_address),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
            let mut guesses = Vec::new();
            let mut n = 0u32;
            while Instant::now() < until {
                tick.tick().await;
                n += 1;
                let from = if rotate {
                    address(next_address.fetch_add(1, Ordering::Relaxed))
                } else {
                    address(1)
                };
                let (client, tally) = (client.clone(), Arc::clone(&tally));
                guesses.push(tokio::spawn(async move {
                    let (outcome, took) = client
                        .login(from, &format!("guessed-user-{n}"), "password123")
                        .await;
                    tally.lock().await.add(outcome, took);
                }));
            }
            for guess in guesses {
                let _ = guess.await;
            }
        })
    });
    while Instant::now() < until {
        let (outcome, took) = client.login(address(7), honest, PASSWORD).await;
        honest_tally.lock().await.add(outcome, took);
        tokio::time::sleep(HONEST_EVERY).await;
    }
    if let Some(guesser) = guesser {
        let _ = guesser.await;
    }
    let honest = honest_tally.lock().await;
    let guessed = guess_tally.lock().await;
    println!(
        "  honest logins: {} ({:?}), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        honest.times.len(),
        honest.outcomes,
        honest.percentile(0.5).as_secs_f64() * 1e3,
        honest.percentile(0.99).as_secs_f64() * 1e3,
        honest.percentile(1.0).as_secs_f64() * 1e3,
    );
    if !guessed.times.is_empty() {
        println!(
            "  guesses: {} ({:?}), p50 {:.1} ms, p99 {:.1} ms",
            guessed.times.len(),
            guessed.outcomes,
            guessed.percentile(0.5).as_secs_f64() * 1e3,
            guessed.percentile(0.99).as_secs_f64() * 1e3,
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.rate > 0 && args.seconds > 0,
        "--rate and --seconds must be positive"
    );
    let client = Client {
        http: reqwest::Client::new(),
        url: args.url.clone(),
    };
    let honest = format!("honest-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let signed_up: Value = client
        .http
        .post(&args.url)
        .header("x-forwarded-for", address(7).to_string())
        .json(&json!({"query": SIGN_UP, "variables": {"u": honest, "p": PASSWORD}}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .context("signing the honest user up")?
        .json()
        .await?;
    anyhow::ensure!(
        signed_up["data"]["get_account"]["iban"].is_string(),
        "sign-up: {signed_up}"
    );
    for (name, guesses) in [
        ("quiet", None),
        ("one-address", Some((args.rate, false))),
        ("many-addresses", Some((args.rate, true))),
    ] {
        println!(
            "{name}: {} s, guesses {:?} per second",
            args.seconds,
            guesses.map(|g| g.0)
        );
        scenario(&client, &honest, guesses, args.seconds).await;
        // Let the queue and the throttle settle between scenarios.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}
