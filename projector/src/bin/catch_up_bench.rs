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

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use projector::runtime::{events, EventsConfig, Shutdown, Status};
use projector::{answer, BankProjector, QueryAnswer, ReadModel, Source};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::producer::{FutureRecord, Producer};
use topology::codec::Codec;
use topology::kafka::ADMIN_TIMEOUT;
use topology::routing::home;
use topology::values::{new_token, open_iban_for_account, CASH};
use topology::{
    AccountAtQuery, AlertKind, AlertSetEvent, AllBankAccountsQuery, BalanceHistoryQuery,
    BankAccountCreatedEvent, BankEvent, BankQuery, Id, MoneyCreditedEvent, MoneyDebitedEvent,
    Settings, TransferCompletedEvent, TransferStartedEvent, BANK_PARTITIONS,
};

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
        } => write(&settings, &args.topic, events, accounts, partitions).await,
        Command::Replay { store } => replay(&settings, &args.topic, store).await,
        Command::Drop => drop_topic(&settings, &args.topic).await,
        Command::Accounts { accounts } => list_accounts(accounts),
        Command::History { transactions } => history(transactions),
    }
}

async fn write(
    settings: &Settings,
    topic: &str,
    events: u64,
    accounts: u32,
    partitions: i32,
) -> anyhow::Result<()> {
    if accounts < 2 {
        bail!("--accounts must be at least 2");
    }
    if partitions < 1 {
        bail!("--partitions must be at least 1");
    }
    let admin = settings.kafka.admin().context("admin client")?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1))
        .set("retention.ms", "-1")
        .set("cleanup.policy", "delete");
    for result in admin
        .create_topics(
            [&new_topic],
            &AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT)),
        )
        .await
        .context("create the scratch topic")?
    {
        match result {
            Ok(_) => println!("created topic {topic} with {partitions} partitions"),
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {
                println!("topic {topic} exists; appending")
            }
            Err((name, code)) => bail!("creating {name}: {code}"),
        }
    }

    let codec = Codec::new(&settings.registry)?;
    let producer = settings.kafka.producer()?;
    let started = Instant::now();
    let mut pending = Vec::new();
    let mut written = 0u64;
    let mut transfer = 0u64;
    while written < events {
        // (key, event): keyed as on bank_events, so the producer's partitioner puts each
        // where the command handler would.
        let batch: Vec<(String, BankEvent)> = if written < u64::from(accounts) {
            let account = u32::try_from(written)?;
            let iban = open_iban_for_account(account);
            vec![(
                iban.clone(),
                BankAccountCreatedEvent {
                    iban,
                    token: new_token(),
                    username: format!("bench-user-{account}"),
                    token_hash: None,
                    token_nonce: None,
                }
                .into(),
            )]
        } else {
            transfer += 1;
            let from = if transfer.is_multiple_of(10) {
                CASH.to_string()
            } else {
                open_iban_for_account(u32::try_from(transfer % u64::from(accounts))?)
            };
            let to = open_iban_for_account(u32::try_from((transfer + 1) % u64::from(accounts))?);
            transfer_events(Id::random(), &from, &to, transfer)?
        };
        for (key, event) in batch.iter().take(usize::try_from(events - written)?) {
            let payload = codec.encode(event).await?;
            loop {
                match producer.send_result(FutureRecord::to(topic).key(key).payload(&payload)) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((error, _)) => {
                        // The local queue is full: let deliveries drain, then try again.
                        tracing::debug!(%error, "producer queue full");
                        producer.poll(Duration::from_millis(10));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            written += 1;
        }
        if pending.len() >= 50_000 {
            for delivery in pending.drain(..) {
                delivery.await?.map_err(|(error, _)| error)?;
            }
        }
    }
    for delivery in pending.drain(..) {
        delivery.await?.map_err(|(error, _)| error)?;
    }
    producer.flush(Duration::from_secs(30))?;
    let elapsed = started.elapsed();
    println!(
        "wrote {written} events to {topic} in {:.1} s ({:.0} events/s)",
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// The events of transfer number `n` from `from` to `to` as the command handler writes them,
/// each with its key: the transfer's own events by its home, money events by their IBAN.
fn transfer_events(
    id: Id,
    from: &str,
    to: &str,
    n: u64,
) -> anyhow::Result<Vec<(String, BankEvent)>> {
    let amount = i64::try_from(n % 1_000 + 1)?;
    let description = format!("bench transfer {n}");
    let home = home(from, to).to_string();
    let mut events = vec![(
        home.clone(),
        TransferStartedEvent {
            id,
            token: new_token(),
            amount,
            from: from.into(),
            to: to.into(),
            description: description.clone(),
            username: "bench".into(),
            at_millis: None,
            token_hash: None,
        }
        .into(),
    )];
    if from != CASH {
        events.push((
            from.into(),
            MoneyDebitedEvent {
                iban: from.into(),
                amount,
                id,
            }
            .into(),
        ));
    }
    events.push((
        to.into(),
        MoneyCreditedEvent {
            iban: to.into(),
            amount,
            id,
            transfer_from: Some(from.into()),
            transfer_description: Some(description),
        }
        .into(),
    ));
    events.push((home, TransferCompletedEvent { id }.into()));
    Ok(events)
}

async fn replay(
    settings: &Settings,
    topic: &str,
    store: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let codec = Arc::new(Codec::new(&settings.registry)?);
    let status = Arc::new(Status::new());
    let (_stop, shutdown) = Shutdown::new();
    let config = EventsConfig {
        user_events_topic: None,
        bank_events_topic: topic.to_string(),
        publishing: None,
        stop_when_caught_up: true,
        store: store.clone(),
    };
    let rss_before = vm_rss_kib();
    let started = Instant::now();
    let opened = events::open(&settings.kafka, &config)?;
    let loaded = started.elapsed();
    let model = Arc::clone(opened.model());
    events::run(
        settings.kafka.clone(),
        codec,
        config,
        opened,
        Arc::clone(&status),
        shutdown,
    )
    .await?;
    let elapsed = started.elapsed();
    let rss_after = vm_rss_kib();
    let events = status.events_projected();
    match &store {
        Some(path) => println!(
            "state store {}: opened and loaded in {:.2} s; replayed {events} events of {topic} after it",
            path.display(),
            loaded.as_secs_f64()
        ),
        None => println!("replayed {events} events of {topic} from offset 0"),
    }
    println!(
        "catch-up time: {:.2} s ({:.0} events/s)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "transactions in the read model: {}",
        model.transaction_count()
    );
    println!(
        "VmRSS: {} before the replay, {} after; peak (VmHWM) {}",
        kib(rss_before),
        kib(rss_after),
        kib(vm_hwm_kib())
    );
    time_account_queries(&model, "bench-user-4242");
    Ok(())
}

/// Projects `accounts` account creations in a shuffled IBAN order, then times the list.
fn list_accounts(accounts: u32) -> anyhow::Result<()> {
    let model = Arc::new(ReadModel::new());
    // One partition: only the accounts index is timed here, transaction ids do not matter.
    let mut projector = BankProjector::new(Arc::clone(&model), 1);
    // A multiplicative permutation of 0..accounts: IBANs arrive far from sorted.
    let order = (0..accounts).map(|i| (u64::from(i) * 7_919 % u64::from(accounts)) as u32);
    let rss_before = vm_rss_kib();
    let started = Instant::now();
    for (offset, account) in (0..).zip(order) {
        let created: BankEvent = BankAccountCreatedEvent {
            iban: open_iban_for_account(account),
            token: new_token(),
            username: format!("bench-user-{account}"),
            token_hash: None,
            token_nonce: None,
        }
        .into();
        projector.project(Source::at(0, offset), &created)?;
    }
    println!(
        "projected {} account creations in {:.0} ms; VmRSS {} before, {} after",
        model.account_count(),
        started.elapsed().as_secs_f64() * 1_000.0,
        kib(rss_before),
        kib(vm_rss_kib())
    );
    time_account_queries(&model, "bench-user-4242");
    Ok(())
}

/// The instant of the `n`-th money event of [`history`]: one a second from 2026-01-01.
fn instant_of(n: u32) -> i64 {
    1_767_225_600_000 + i64::from(n) * 1_000
}

/// Projects one account's history of `transactions` money events (with `rules`: under three
/// alert rules, one of which fires on each event), writing rounds to the model's state store
/// as the projector does; prints the rate.
fn project_history(iban: &str, transactions: u32, rules: bool) -> anyhow::Result<Arc<ReadModel>> {
    let model = Arc::new(ReadModel::new());
    let mut projector = BankProjector::new(Arc::clone(&model), 1);
    let mut events: Vec<BankEvent> = vec![BankAccountCreatedEvent {
        iban: iban.to_string(),
        token: new_token(),
        username: "bench-user".into(),
        token_hash: None,
        token_nonce: None,
    }
    .into()];
    if rules {
        for (kind, threshold) in [
            (AlertKind::LargeDebit, Some(1)),
            (AlertKind::AnyCredit, None),
            (AlertKind::BalanceBelow, Some(1)),
        ] {
            events.push(
                AlertSetEvent {
                    iban: iban.to_string(),
                    alert_kind: kind,
                    threshold,
                }
                .into(),
            );
        }
    }
    let mut alerts = 0;
    let started = Instant::now();
    let mut offset = 0;
    for event in &events {
        projector.project(Source::written(0, offset, Some(instant_of(0))), event)?;
        offset += 1;
    }
    let write_round = |projector: &BankProjector, offset: i64| -> anyhow::Result<()> {
        let round = model.take_round(vec![("bench".into(), 0, offset)], projector.issued());
        model.store().write(&round, false)?;
        model.written();
        Ok(())
    };
    for n in 0..transactions {
        let id = Id::random();
        let event: BankEvent = if n % 2 == 0 {
            MoneyCreditedEvent {
                iban: iban.to_string(),
                amount: 2,
                id,
                transfer_from: Some(CASH.into()),
                transfer_description: Some("bench".into()),
            }
            .into()
        } else {
            MoneyDebitedEvent {
                iban: iban.to_string(),
                amount: 1,
                id,
            }
            .into()
        };
        let source = Source::written(0, offset, Some(instant_of(n)));
        if let Some(derived) = projector.project(source, &event)? {
            alerts += derived.alerts.len();
        }
        offset += 1;
        // Rounds go to the state store as in the projector (every 250 ms there).
        if n % 10_000 == 9_999 {
            write_round(&projector, offset)?;
        }
    }
    write_round(&projector, offset)?;
    let took = started.elapsed();
    println!(
        "projected {transactions} money events of one account {} alert rules in {:.0} ms \
         ({:.0} events/s), {alerts} alerts derived",
        if rules { "with three" } else { "without" },
        took.as_secs_f64() * 1_000.0,
        f64::from(transactions) / took.as_secs_f64()
    );
    Ok(model)
}

fn history(transactions: u32) -> anyhow::Result<()> {
    let iban = open_iban_for_account(7);
    project_history(&iban, transactions, false)?;
    let model = project_history(&iban, transactions, true)?;
    let last = transactions.saturating_sub(1);
    let queries: Vec<(String, BankQuery)> = vec![
        (
            "AccountAtQuery at the newest transaction, 10 items".into(),
            AccountAtQuery {
                id: Id::random(),
                iban: iban.clone(),
                instant: instant_of(last),
                max_items: 10,
            }
            .into(),
        ),
        (
            "AccountAtQuery in the middle of the history, 10 items".into(),
            AccountAtQuery {
                id: Id::random(),
                iban: iban.clone(),
                instant: instant_of(last / 2),
                max_items: 10,
            }
            .into(),
        ),
        (
            "AccountAtQuery at the oldest transaction, 10 items".into(),
            AccountAtQuery {
                id: Id::random(),
                iban: iban.clone(),
                instant: instant_of(0),
                max_items: 10,
            }
            .into(),
        ),
        (
            "BalanceHistoryQuery, the last hour, 120 points".into(),
            BalanceHistoryQuery {
                id: Id::random(),
                iban: iban.clone(),
                since: instant_of(last) - 3_600_000,
                until: instant_of(last),
                points: 120,
            }
            .into(),
        ),
        (
            "BalanceHistoryQuery, the whole history, 500 points".into(),
            BalanceHistoryQuery {
                id: Id::random(),
                iban: iban.clone(),
                since: instant_of(0),
                until: instant_of(last),
                points: 500,
            }
            .into(),
        ),
    ];
    println!(
        "over {transactions} transactions of one account in the state store, median of 21 runs:"
    );
    for (name, query) in queries {
        let mut times = Vec::new();
        let mut answer_bytes = 0;
        for _ in 0..21 {
            let started = Instant::now();
            let result = answer(&model, &query);
            times.push(started.elapsed());
            match result {
                QueryAnswer::Succeeded(succeeded) => answer_bytes = succeeded.query_result.len(),
                QueryAnswer::Failed(failed) => bail!("{name}: {}", failed.reason),
            }
        }
        times.sort();
        println!(
            "  {name}: {:.3} ms ({answer_bytes} bytes)",
            times[times.len() / 2].as_secs_f64() * 1_000.0
        );
    }
    Ok(())
}

/// Median time of `AllBankAccountsQuery` answers (query → JSON text) on `model`.
fn time_account_queries(model: &ReadModel, username: &str) {
    let accounts = i32::try_from(model.account_count()).unwrap_or(i32::MAX);
    let cases: [(&str, i32, i32, Option<&str>); 7] = [
        ("first page of 10, no search", 0, 10, None),
        (
            "last page of 10, no search",
            accounts.saturating_sub(10),
            10,
            None,
        ),
        (
            "1,000 from the middle, no search",
            accounts / 2,
            1_000,
            None,
        ),
        ("search one username", 0, 10, Some(username)),
        (
            "search an IBAN part (`open 0000 01`)",
            0,
            10,
            Some("open 0000 01"),
        ),
        (
            "search matching every account, page 1",
            0,
            10,
            Some("BENCH"),
        ),
        ("search matching nothing", 0, 10, Some("nobody-at-all")),
    ];
    println!("AllBankAccountsQuery over {accounts} accounts, median of 21 runs:");
    for (name, offset, max_items, search) in cases {
        let query: BankQuery = AllBankAccountsQuery {
            id: Id::random(),
            offset,
            max_items,
            search: search.map(str::to_string),
        }
        .into();
        let mut times = Vec::new();
        let mut answer_text = String::new();
        for _ in 0..21 {
            let started = Instant::now();
            let result = answer(model, &query);
            times.push(started.elapsed());
            if let QueryAnswer::Succeeded(succeeded) = result {
                answer_text = succeeded.query_result;
            }
        }
        times.sort();
        let total = serde_json::from_str::<serde_json::Value>(&answer_text)
            .ok()
            .and_then(|v| v["total"].as_u64());
        println!(
            "  {name}: {:.3} ms (total {}, {} bytes)",
            times[times.len() / 2].as_secs_f64() * 1_000.0,
            total.map_or_else(|| "?".to_string(), |t| t.to_string()),
            answer_text.len()
        );
    }
}

async fn drop_topic(settings: &Settings, topic: &str) -> anyhow::Result<()> {
    let admin = settings.kafka.admin().context("admin client")?;
    for result in admin
        .delete_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT)),
        )
        .await
        .context("delete the scratch topic")?
    {
        match result {
            Ok(name) => println!("deleted topic {name}"),
            Err((name, code)) => bail!("deleting {name}: {code}"),
        }
    }
    Ok(())
}

/// Resident memory of this process from /proc/self/status (Linux), in KiB.
fn vm_hwm_kib() -> Option<u64> {
    status_field("VmHWM:")
}

fn vm_rss_kib() -> Option<u64> {
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

fn kib(value: Option<u64>) -> String {
    value.map_or_else(
        || "unknown".to_string(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}
