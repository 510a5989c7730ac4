//! How fast the projector's read model catches up, and how much memory it then holds.
//!
//! Writes bank events to a *scratch* topic (never the `bank_events` of a cluster in use: other
//! services would project them; on a cluster of its own, `--topic bank_events` builds a history
//! to time the services' restarts on, see the README), then replays that topic from offset 0
//! with the projector's own event loop (publishing off) and prints the time and the resident memory. Printed numbers only; nothing is asserted.
//!
//! ```sh
//! eval "$(scripts/infra.sh env)"   # KAFKA_BROKERS, SCHEMA_REGISTRY_URL; topology applied
//! cargo run --release -p projector --bin catch_up_bench -- write --events 1000000
//! cargo run --release -p projector --bin catch_up_bench -- replay
//! cargo run --release -p projector --bin catch_up_bench -- drop     # delete the scratch topic
//! ```
//!
//! `replay` runs in its own process so the memory it reports is the read model's, not the
//! writer's buffers. The events are the wire bytes of `bank_events` (same schemas, same
//! subjects); the scratch topic is created with `topology::BANK_PARTITIONS` partitions like
//! `bank_events` (`write --partitions` to choose), and the events are keyed as
//! `topology::routing` says, so the replay reads them from every partition interleaved as
//! Kafka delivers them. After the replay it also times the list of every account
//! (`AllBankAccountsQuery`) on the replayed read model.
//!
//! `accounts` needs no Kafka: it projects `--accounts` account creations (IBANs in random
//! order) into a fresh read model and times `AllBankAccountsQuery` pages and searches on it:
//!
//! ```sh
//! cargo run --release -p projector --bin catch_up_bench -- accounts --accounts 100000
//! ```
//!
//! `history` needs no Kafka either: it projects one account's `--transactions` money events
//! (one a second, credits and debits in turn) without alert rules, and with rules of which one
//! fires on every event, writing the history to a state store as the projector does, and times
//! `AccountAtQuery` and `BalanceHistoryQuery` on it:
//!
//! ```sh
//! cargo run --release -p projector --bin catch_up_bench -- history --transactions 200000
//! ```

mod kafka;
mod read_model;

use clap::{Parser, Subcommand};
use topology::{Settings, BANK_PARTITIONS};

#[derive(Debug, Parser)]
#[command(
    name = "catch_up_bench",
    about = "Measures the projector's catch-up time and memory"
)]
struct Args {
    /// The scratch topic (created by `write` when missing).
    #[arg(long, global = true, default_value = "projector-bench-bank-events")]
    topic: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Appends bank events to the scratch topic: account creations, then transfers of four
    /// events each (started, debited, credited, completed; every tenth a deposit from cash of
    /// three, without the debit), each keyed as on `bank_events`.
    Write {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Number of accounts the transfers move money between.
        #[arg(long, default_value_t = 10_000)]
        accounts: u32,
        /// Partitions of the scratch topic when `write` creates it.
        #[arg(long, default_value_t = BANK_PARTITIONS)]
        partitions: i32,
    },
    /// Replays the scratch topic from offset 0 into a fresh read model, or with `--store` from
    /// where that state store left off (a new store first replays everything into it).
    Replay {
        /// The state store file, as the projector's `--state-dir` keeps it.
        #[arg(long)]
        store: Option<std::path::PathBuf>,
    },
    /// Deletes the scratch topic (the synchronizer would report it as unknown).
    Drop,
    /// Without Kafka: times the list of every account over a read model of that many accounts.
    Accounts {
        #[arg(long, default_value_t = 100_000)]
        accounts: u32,
    },
    /// Without Kafka: projects one account's history with and without alert rules and times
    /// the questions about its past.
    History {
        #[arg(long, default_value_t = 200_000)]
        transactions: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    topology::logging::init("warn");
    let args = Args::parse();
    let settings = Settings::from_env();
    match args.command {
        Command::Write {
            events,
            accounts,
            partitions,
        } => kafka::write(&settings, &args.topic, events, accounts, partitions).await,
        Command::Replay { store } => kafka::replay(&settings, &args.topic, store).await,
        Command::Drop => kafka::drop_topic(&settings, &args.topic).await,
        Command::Accounts { accounts } => read_model::list_accounts(accounts),
        Command::History { transactions } => read_model::history(transactions),
    }
}
/// Resident memory of this process from /proc/self/status (Linux), in KiB.
pub(crate) fn vm_hwm_kib() -> Option<u64> {
    status_field("VmHWM:")
}

pub(crate) fn vm_rss_kib() -> Option<u64> {
    status_field("VmRSS:")
}

/// A memory figure of `/proc/self/status`, in KiB.
fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

pub(crate) fn kib(value: Option<u64>) -> String {
    value.map_or_else(
        || "unknown".to_string(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}
