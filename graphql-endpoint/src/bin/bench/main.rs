//! Load benchmark of the GraphQL endpoint against a running suite (command handler instances,
//! projector, endpoint; e.g. `scripts/run.sh start`). Prints numbers and, with `--chart`, draws
//! them.
//!
//! 1. One new customer signs up and logs in (once: the endpoint throttles password checks per
//!    client address) and opens at least `--accounts` accounts with that session, more until
//!    every partition of the bank holds `--min-per-partition` of them; each gets a deposit from
//!    `cash`.
//! 2. One subscription (graphql-transport-ws, the customer's session in `connection_init`)
//!    streams this run's CREDITs.
//! 3. Transfers between random pairs of those accounts, so most cross partitions and, with
//!    several command-handler instances, instances, are due at `--rate` per second for
//!    `--transfers` transfers or `--duration` seconds, open loop (see `load`).
//! 4. Reported: achieved rates; outcomes; p50/p90/p95/p99/max of the mutation latency (due →
//!    `money_transfer` answer) and of the delivery (due → the CREDIT on the subscription); the
//!    same per 10-second window.
//! 5. With `--command-handler-health`, the change of each instance's `transfers_local` and
//!    `transfers_across_instances` over the transfers: the share that took the saga path.
//! 6. With `--chart`, the latencies of 4. drawn into an SVG: by when they were due, and by
//!    percentile (see `chart`).
//! 7. The floor under all of it: one produce → consume hop on the same broker.
//!
//! With `--sweep 250,500,…`, 3. runs at each offered rate in turn for `--duration` seconds
//! and a table gives per step what was accepted and shed, the latencies and the CPU of every
//! `--cpu-of` process; `--chart` then draws that saturation curve (see `sweep`).
//!
//! The subscriptions live as long as the customer's session token: 15 minutes by default
//! (`SESSION_IDLE_SECONDS`), so a longer run needs that raised on the endpoint; a subscription
//! that ends says so on stderr.

mod accounts;
mod chart;
mod graphql;
mod health;
mod hop;
mod load;
mod pairs;
mod report;
mod saturation;
mod subscription;
mod sweep;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use topology::{Id, BANK_PARTITIONS};

use crate::graphql::GraphQl;
use crate::load::{Outcome, Plan, Run, TimedLatency};
use crate::subscription::Arrivals;

/// Transfers when neither --transfers nor --duration is given.
const DEFAULT_TRANSFERS: u32 = 1_000;
/// How long deliveries may trail the last answer.
const DELIVERY_GRACE: Duration = Duration::from_secs(10);

/// Benchmark the GraphQL endpoint of a running suite: open-loop transfers between random pairs
/// of accounts at a fixed rate; prints achieved rates, outcomes, latency percentiles and, with
/// --command-handler-health, the share of transfers that crossed command-handler instances.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Args {
    /// Base URL of the endpoint (its /graphql and /graphql/ws are used).
    #[arg(long, default_value = "http://127.0.0.1:8888")]
    url: String,
    /// Accounts to create and transfer between (at least; see --min-per-partition).
    #[arg(long, default_value_t = 36, value_parser = clap::value_parser!(u32).range(2..))]
    accounts: u32,
    /// Create more accounts until each of the bank's partitions holds at least this many
    /// (their IBANs are random); 0 creates exactly --accounts.
    #[arg(long, default_value_t = 1)]
    min_per_partition: u32,
    /// Number of transfers [default: 1000 unless --duration is given].
    #[arg(long, conflicts_with = "duration", value_parser = clap::value_parser!(u32).range(1..))]
    transfers: Option<u32>,
    /// Send transfers at --rate for this many seconds instead of a number of transfers.
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    duration: Option<f64>,
    /// Transfers due per second, sent on schedule whether or not earlier ones have answered.
    #[arg(long, default_value_t = 50.0, value_parser = positive_number)]
    rate: f64,
    /// Transfers waiting for their answer at most; one due while that many wait is not sent
    /// and is counted as "not sent".
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    /// Seconds to wait for one HTTP answer before counting a client timeout; keep it above
    /// the endpoint's GRAPHQL_COMMAND_TIMEOUT so its own timeouts are seen.
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = positive_seconds)]
    request_timeout: f64,
    /// Seed of the random pairs (printed; give it again to repeat the same pairs).
    #[arg(long)]
    seed: Option<u64>,
    /// A command-handler /health URL (e.g. http://127.0.0.1:8090/health), repeat for every
    /// instance: its transfers_local and transfers_across_instances counters are read before
    /// and after the transfers and their change printed, with the share of transfers that
    /// took the saga path across instances.
    #[arg(long = "command-handler-health", value_name = "URL")]
    command_handler_health: Vec<String>,
    /// Sequential produce → consume round trips for the raw Kafka hop (0 skips it).
    #[arg(long, default_value_t = 200)]
    hops: usize,
    /// Extra subscriptions held open during the run (filtered to a description no transfer
    /// has), to see what many watchers cost the fan-out.
    #[arg(long, default_value_t = 0)]
    idle_subscriptions: usize,
    /// How many of the idle subscriptions share one WebSocket. The endpoint allows 100 per
    /// socket and 64 sockets per client address by default (GRAPHQL_MAX_SUBSCRIPTIONS_PER_SOCKET,
    /// GRAPHQL_MAX_SOCKETS_PER_ADDRESS): one per socket, for the cost of many sockets, needs
    /// the latter raised.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    subscriptions_per_socket: u32,
    /// Scratch topic for the raw hop (created and deleted by the bench).
    #[arg(long, default_value = "graphql-bench-hop")]
    hop_topic: String,
    /// Also draw the run into this SVG file (replaced), after the numbers: each transfer's
    /// latency by when it was due, with rolling p50 and p99, above the latency by percentile
    /// on an axis that stretches the tail (90, 99, 99.9 %); the mutation and the delivery on
    /// the subscription, transfers that did not succeed marked apart.
    #[arg(long, value_name = "PATH.svg")]
    chart: Option<PathBuf>,
    /// Offered rates to step through, e.g. 250,500,1000,2000,4000: each runs for --duration
    /// seconds (20 without it) and is reported on a line of its own; with --chart the
    /// saturation curve is drawn instead of one run. --rate and --transfers are then unused.
    #[arg(long, value_delimiter = ',', value_parser = positive_number, conflicts_with = "transfers")]
    sweep: Vec<f64>,
    /// A process on this machine whose CPU use is reported per sweep step, as NAME=PID
    /// (repeat: e.g. kafka=1 command-handler=2 projector=3 graphql-endpoint=4).
    #[arg(long = "cpu-of", value_name = "NAME=PID", value_parser = topology::process::named_pid)]
    cpu_of: Vec<(String, u32)>,
}

/// How long each sweep step runs without --duration.
const SWEEP_STEP_SECONDS: f64 = 20.0;
/// Between sweep steps, for what is still in flight to settle.
const SWEEP_PAUSE: Duration = Duration::from_secs(5);

fn positive_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    positive_number(text).and_then(|seconds| {
        Duration::try_from_secs_f64(seconds)
            .map(|_| seconds)
            .map_err(|error| format!("{text} s: {error}"))
    })
}

impl Args {
    fn transfers(&self) -> usize {
        match (self.transfers, self.duration) {
            (Some(count), _) => count as usize,
            (None, Some(seconds)) => ((seconds * self.rate).round() as usize).max(1),
            (None, None) => DEFAULT_TRANSFERS as usize,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.chart {
        chart::check_destination(path)?;
    }
    let graphql = GraphQl::new(&args.url);
    let run_id = Id::random().to_uuid_string()[..8].to_string();
    let seed = args
        .seed
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);

    let (customer, accounts) = accounts::create(
        &graphql,
        &run_id,
        args.accounts as usize,
        args.min_per_partition as usize,
    )
    .await?;
    println!(
        "accounts {} ({}; {BANK_PARTITIONS} bank partitions)  seed {seed}",
        accounts.len(),
        accounts::Spread::of(&accounts)
    );
    let accounts_count = accounts.len();
    let plan = Plan {
        transfers: args.transfers(),
        rate: args.rate,
        max_in_flight: args.max_in_flight as usize,
        request_timeout: Duration::from_secs_f64(args.request_timeout),
        seed,
        descr_prefix: format!("bench-{run_id}-"),
    };
    let arrivals =
        subscription::subscribe(&args.url, &customer.session, &plan.descr_prefix, 1, 1).await?;
    let _idle = subscription::subscribe(
        &args.url,
        &customer.session,
        &format!("nobody-{run_id}"),
        args.idle_subscriptions,
        args.subscriptions_per_socket as usize,
    )
    .await?;
    // A subscription has no acknowledgement; give the server a moment to register it.
    tokio::time::sleep(Duration::from_millis(500)).await;

    if !args.sweep.is_empty() {
        let title = format!(
            "saturation of {}: {} accounts, seed {seed}",
            args.url, accounts_count
        );
        return sweep_rates(&args, &graphql, accounts, &plan, &arrivals, &title).await;
    }

    let health_urls = &args.command_handler_health;
    let before = health::read_all(graphql.http(), health_urls).await;
    let run = load::run(&graphql, Arc::new(accounts), &plan).await;
    let deliveries = wait_for_deliveries(&run, &plan, &arrivals).await;
    let after = health::read_all(graphql.http(), health_urls).await;

    for line in report::transfers(&run, args.rate) {
        println!("{line}");
    }
    let succeeded = succeeded(&run).count();
    let mut delivery_latencies: Vec<Duration> = deliveries.iter().map(|d| d.latency).collect();
    println!(
        "mutation → subscription (from due): {}  ({} of {succeeded} succeeded delivered)",
        report::percentiles(&mut delivery_latencies),
        deliveries.len()
    );
    for line in report::windows(&run) {
        println!("{line}");
    }
    for line in health::report(health_urls, &before, &after) {
        println!("{line}");
    }
    // Before the hop, which can fail on its own, so the run is drawn anyway.
    if let Some(path) = &args.chart {
        let title = format!(
            "bench {}: {} transfers due at {}/s between {} accounts, seed {seed}",
            args.url,
            run.samples.len(),
            args.rate,
            accounts_count,
        );
        let drawn = chart::RunToDraw {
            title: &title,
            run: &run,
            deliveries: &deliveries,
        };
        chart::write(path, &drawn)?;
        println!("chart: {}", path.display());
    }
    if args.hops > 0 {
        let mut hops = hop::raw_hops(&args.hop_topic, args.hops).await?;
        println!(
            "raw produce → consume hop: {}",
            report::percentiles(&mut hops)
        );
    }
    Ok(())
}

/// The sweep (`--sweep`): every rate in turn, a line per step, and the chart.
async fn sweep_rates(
    args: &Args,
    graphql: &GraphQl,
    accounts: Vec<accounts::Account>,
    plan: &Plan,
    arrivals: &Arrivals,
    title: &str,
) -> anyhow::Result<()> {
    let seconds = args.duration.unwrap_or(SWEEP_STEP_SECONDS);
    let accounts = Arc::new(accounts);
    // The bench shares the machine too: its own CPU is counted beside the others'.
    let mut watched = args.cpu_of.clone();
    watched.push(("bench".into(), std::process::id()));
    let mut steps = Vec::new();
    println!("{}", sweep::HEADER);
    for (index, &rate) in args.sweep.iter().enumerate() {
        let step_plan = Plan {
            transfers: ((seconds * rate).round() as usize).max(1),
            rate,
            descr_prefix: format!("{}{index}-", plan.descr_prefix),
            seed: plan.seed.wrapping_add(index as u64),
            ..plan.clone()
        };
        let cpu = sweep::CpuMeter::start(&watched);
        let run = load::run(graphql, Arc::clone(&accounts), &step_plan).await;
        let cores = cpu.cores();
        let deliveries = wait_for_deliveries(&run, &step_plan, arrivals).await;
        let step = sweep::Step::of(rate, seconds, &run, &deliveries, cores);
        println!("{}", step.line());
        steps.push(step);
        tokio::time::sleep(SWEEP_PAUSE).await;
    }
    if let Some(path) = &args.chart {
        saturation::write(path, title, &steps)?;
        println!("chart: {}", path.display());
    }
    Ok(())
}

fn succeeded(run: &Run) -> impl Iterator<Item = usize> + '_ {
    run.samples
        .iter()
        .enumerate()
        .filter(|(_, sample)| sample.outcome == Outcome::Succeeded)
        .map(|(index, _)| index)
}

/// The delivery latency (due → CREDIT on the subscription) of every succeeded transfer whose
/// CREDIT arrives within [`DELIVERY_GRACE`] after the last answer, with when it was due.
async fn wait_for_deliveries(run: &Run, plan: &Plan, arrivals: &Arrivals) -> Vec<TimedLatency> {
    let mut waiting: HashSet<usize> = succeeded(run).collect();
    let mut latencies = Vec::with_capacity(waiting.len());
    let deadline = Instant::now() + DELIVERY_GRACE;
    loop {
        for (descr, at) in arrivals.take() {
            let Some(index) = plan.index_of(&descr) else {
                continue;
            };
            if waiting.remove(&index) {
                let due = plan.due(index);
                latencies.push(TimedLatency {
                    due,
                    latency: at.saturating_duration_since(run.started + due),
                });
            }
        }
        if waiting.is_empty() || Instant::now() >= deadline {
            return latencies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_options_are_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn a_duration_sets_the_number_of_transfers() {
        let args = Args::parse_from(["bench", "--duration", "60", "--rate", "1000"]);
        assert_eq!(args.transfers(), 60_000);
        assert_eq!(args.accounts, 36);
        let args = Args::parse_from(["bench"]);
        assert_eq!(args.transfers(), 1_000);
        assert!(Args::try_parse_from(["bench", "--duration", "5", "--transfers", "9"]).is_err());
        assert!(Args::try_parse_from(["bench", "--rate", "0"]).is_err());
        assert!(Args::try_parse_from(["bench", "--accounts", "1"]).is_err());
    }

    #[test]
    fn health_urls_repeat() {
        let args = Args::parse_from([
            "bench",
            "--command-handler-health",
            "http://127.0.0.1:8090/health",
            "--command-handler-health",
            "http://127.0.0.1:8092/health",
        ]);
        assert_eq!(args.command_handler_health.len(), 2);
    }

    #[test]
    fn a_chart_is_drawn_only_when_asked() {
        assert_eq!(Args::parse_from(["bench"]).chart, None);
        let args = Args::parse_from(["bench", "--chart", "/tmp/run.svg"]);
        assert_eq!(args.chart, Some(PathBuf::from("/tmp/run.svg")));
    }
}
