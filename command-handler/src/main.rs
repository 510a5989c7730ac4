//! The command-handler service: see `command-handler --help` and `command_handler::runtime`.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use command_handler::runtime::{self, Config};
use topology::proofs::SagaKey;

/// Open Bank command handler.
#[derive(Debug, Parser)]
#[command(
    name = "command-handler",
    version,
    long_about = "Open Bank command handler: validates the commands on `user_commands`, \
`bank_commands` and `transfer_commands` against aggregates rebuilt from `user_events` and \
`bank_events`, writes the resulting events and the feedback, and runs the transfer saga.\n\n\
Several instances share the bank's partitions through one consumer group (COMMAND_HANDLER_GROUP); \
give each its own, stable COMMAND_HANDLER_TRANSACTIONAL_ID and health port. An instance rebuilds \
the state of the partitions it is assigned, decides their commands, and writes events, feedback \
and consumed offsets in one Kafka transaction that carries the group's metadata, so an instance \
that lost its partitions can never commit for them. A transfer whose accounts it all owns is \
decided start to end in one transaction; a credit of an account owned by another instance goes \
through the saga over `transfer_commands` and `transfer_command_feedback`.\n\n\
Kafka and the schema registry come from KAFKA_BROKERS (default localhost:9092), \
SCHEMA_REGISTRY_URL (default http://localhost:8081/apis/ccompat/v7) and any KAFKA_<SETTING> \
(e.g. KAFKA_SECURITY_PROTOCOL). Logging: RUST_LOG (default info). Stops cleanly on \
SIGINT/SIGTERM after the current batch. Exit code 2: fenced by a newer process with the same \
transactional id."
)]
struct Args {
    /// Port of the HTTP health endpoint (GET /health).
    #[arg(long, env = "COMMAND_HANDLER_HEALTH_PORT", default_value_t = 8090)]
    health_port: u16,
    /// Address the health endpoint binds to.
    #[arg(long, env = "COMMAND_HANDLER_HEALTH_HOST", default_value = "0.0.0.0")]
    health_host: IpAddr,
    /// This instance's transactional id, also its static group instance id: unique per
    /// instance and fixed across its restarts, so a restart fences the previous process and
    /// takes its partitions back without a rebalance.
    #[arg(
        long,
        env = "COMMAND_HANDLER_TRANSACTIONAL_ID",
        default_value = "command-handler"
    )]
    transactional_id: String,
    /// Consumer group every instance joins; its offsets are committed in the transactions.
    #[arg(long, env = "COMMAND_HANDLER_GROUP", default_value = "command-handler")]
    group: String,
    /// Directory of the local state store (`command-handler-<transactional id>.redb`): the
    /// state of the owned partitions on disk with the offsets it reflects, so a takeover
    /// replays only what came after it and memory keeps only live data. Unset: everything stays
    /// in memory and every takeover replays its partitions from offset 0.
    #[arg(long, env = "COMMAND_HANDLER_STATE_DIR")]
    state_dir: Option<std::path::PathBuf>,
    /// The secret every instance signs and checks the credits it sends another instance with
    /// (HMAC-SHA256), at least 32 characters, the same on every instance: a credit that no
    /// saga of the bank signed is ignored. Required.
    #[arg(long, env = "COMMAND_HANDLER_SAGA_SECRET", hide_env_values = true)]
    saga_secret: Option<String>,
}

/// Exit code when a newer instance took over, so a supervisor can tell it from a crash.
const EXIT_FENCED: u8 = 2;
/// Exit code of a setting that cannot work.
const USAGE: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let _telemetry = topology::logging::init_service("info", "command-handler");
    let args = Args::parse();
    let settings = topology::Settings::from_env();
    tracing::info!(brokers = %settings.kafka.brokers, registry = %settings.registry.url, "starting command handler");
    let state_store = args
        .state_dir
        .map(|dir| dir.join(format!("command-handler-{}.redb", args.transactional_id)));
    // Required: with a key of its own, an instance would ignore every credit the others send,
    // and transfers between their partitions would stall with the money debited.
    let saga_key = match args.saga_secret.filter(|secret| !secret.is_empty()) {
        Some(secret) if secret.len() >= 32 => SagaKey::new(secret.as_bytes()),
        Some(_) => {
            tracing::error!("COMMAND_HANDLER_SAGA_SECRET must be at least 32 characters");
            return ExitCode::from(USAGE);
        }
        None => {
            tracing::error!(
                "COMMAND_HANDLER_SAGA_SECRET is required: 32+ characters, the same on every                  instance (e.g. `openssl rand -hex 32`)"
            );
            return ExitCode::from(USAGE);
        }
    };
    let config = Config {
        health_addr: SocketAddr::new(args.health_host, args.health_port),
        transactional_id: args.transactional_id,
        group: args.group,
        state_store,
        saga_key,
    };
    let code = match runtime::run(settings, config, topology::process::stop_signal()).await {
        Ok(()) => {
            tracing::info!("command handler stopped");
            0
        }
        Err(error) if error.is_fenced() => {
            tracing::error!(%error, "a newer instance took over; exiting");
            EXIT_FENCED
        }
        Err(error) => {
            let error = anyhow::Error::from(error).context("command handler stopped with an error");
            tracing::error!("{error:#}");
            1
        }
    };
    topology::transactions::exit_if_calls_are_blocked(i32::from(code));
    ExitCode::from(code)
}
