//! The projector service: see `projector --help` and the crate docs of `projector::runtime`.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use clap::Parser;
use projector::runtime::{self, Config, EventsConfig, PublishingConfig};

/// Open Bank projector: builds the read models from `user_events` and `bank_events`, answers
/// `user_queries` / `bank_queries`, and publishes a `TransactionHappenedEvent` for every money
/// event exactly once.
#[derive(Debug, Parser)]
#[command(
    name = "projector",
    version,
    long_about = "Open Bank projector: builds the read models from `user_events` and `bank_events`, \
answers `user_queries` / `bank_queries` on their feedback topics, and publishes a \
`TransactionHappenedEvent` for every money event on `transaction_events` exactly once.\n\n\
At start it replays both event topics up to the end offsets read at start: from offset 0, or \
with --state-dir from where its local state store left off; /health answers 503 until then and \
200 afterwards, and queries are answered only once caught up. Publishing uses a Kafka \
transaction that also commits the bank_events offset for --group, so a restart publishes only \
what was not published before.\n\n\
Kafka and the schema registry come from KAFKA_BROKERS (default localhost:9092), \
SCHEMA_REGISTRY_URL (default http://localhost:8081/apis/ccompat/v7) and any KAFKA_<SETTING> \
(e.g. KAFKA_SECURITY_PROTOCOL). Logging: RUST_LOG (default info). Stops cleanly on SIGINT/SIGTERM."
)]
struct Args {
    /// Port of the HTTP health endpoint (GET /health).
    #[arg(long, env = "PROJECTOR_HEALTH_PORT", default_value_t = 8091)]
    health_port: u16,
    /// Address the health endpoint binds to.
    #[arg(long, env = "PROJECTOR_HEALTH_HOST", default_value = "0.0.0.0")]
    health_host: IpAddr,
    /// Consumer group that shares the bank_events partitions out for publishing among the
    /// instances; its committed offsets record what is published.
    #[arg(long, env = "PROJECTOR_GROUP", default_value = "projector")]
    group: String,
    /// This instance's identity: its transactional id and its static member id in both groups.
    /// Every instance needs its own, kept across restarts, so a restart fences its previous
    /// process and takes its partitions back without a rebalance.
    #[arg(
        long,
        env = "PROJECTOR_TRANSACTIONAL_ID",
        default_value = "projector-transactions"
    )]
    transactional_id: String,
    /// Consumer group of the query consumers (instances sharing it share the queries).
    #[arg(
        long,
        env = "PROJECTOR_QUERY_GROUP",
        default_value = "projector-queries"
    )]
    query_group: String,
    /// Directory of the local state store (`projector-<transactional id>.redb`): the read
    /// model on disk with the offsets it reflects, so a restart replays only what came after
    /// it. Unset: everything stays in memory and every start replays from offset 0.
    #[arg(long, env = "PROJECTOR_STATE_DIR")]
    state_dir: Option<std::path::PathBuf>,
    /// Rebuild and answer queries only: publish no derived events.
    #[arg(long, env = "PROJECTOR_NO_PUBLISH")]
    no_publish: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = topology::logging::init_service("info", "projector");
    let args = Args::parse();
    anyhow::ensure!(
        args.group != args.query_group,
        "--group and --query-group must differ: the publishing group never joins, the query group does"
    );
    let settings = topology::Settings::from_env();
    tracing::info!(brokers = %settings.kafka.brokers, registry = %settings.registry.url, "starting projector");

    let publishing = (!args.no_publish).then(|| PublishingConfig {
        group: args.group.clone(),
        instance_id: args.transactional_id.clone(),
    });
    let mut events = EventsConfig::new(publishing);
    events.store = args
        .state_dir
        .map(|dir| dir.join(format!("projector-{}.redb", args.transactional_id)));
    let config = Config {
        health_addr: SocketAddr::new(args.health_host, args.health_port),
        events,
        query_group: args.query_group,
        instance_id: args.transactional_id,
    };
    let stopped = runtime::run(settings, config, topology::process::stop_signal()).await;
    if let Err(error) = &stopped {
        // Said here, as the exit below skips `main`'s own report of the error.
        if topology::transactions::abandoned_producers() > 0 {
            tracing::error!("projector stopped with an error: {error:#}");
        }
    }
    topology::transactions::exit_if_calls_are_blocked(i32::from(stopped.is_err()));
    stopped.context("projector stopped with an error")?;
    tracing::info!("projector stopped");
    Ok(())
}
