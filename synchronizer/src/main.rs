//! `synchronizer`: makes a Kafka cluster and a schema registry match the Open Bank topology
//! (`topology/topology.toml` + `topology/schemas.toml`, compiled in).

mod apply;
mod observed;
mod plan;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use topology::registry::RegistryClient;
use topology::{Settings, TOPICS};

/// Makes a Kafka cluster and a schema registry match the Open Bank topology.
///
/// Topics (partitions, replication, configs) and one schema subject per (topic, record) under
/// the TopicRecordNameStrategy, `<topic>-<record full name>`. Connects with KAFKA_BROKERS
/// (default localhost:9092), SCHEMA_REGISTRY_URL (default
/// http://localhost:8081/apis/ccompat/v7) and any KAFKA_* rdkafka setting, e.g.
/// KAFKA_SECURITY_PROTOCOL=SASL_SSL.
///
/// Exit codes: 0 done, 1 failed (unreachable, refused or incompatible), 2 usage error.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// How long to wait for the brokers and the registry to answer, e.g. 30s, 2m.
    #[arg(long, global = true, default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what differs between the topology and the cluster + registry; change nothing.
    Plan {
        /// Also list topics outside the topology as to be deleted.
        #[arg(long)]
        delete_unknown: bool,
    },
    /// Make the cluster and registry match: create topics, raise partitions, set configs,
    /// register schemas. Never lowers partitions and never touches internal topics (`_*`).
    Apply {
        /// Delete topics that are not in the topology (internal topics are always kept).
        #[arg(long)]
        delete_unknown: bool,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    topology::logging::init("warn");
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::from_env();
    let admin = settings
        .kafka
        .admin()
        .context("creating the Kafka admin client")?;
    let registry =
        RegistryClient::new(&settings.registry).context("creating the registry client")?;
    let (apply, delete_unknown) = match cli.command {
        Command::Plan { delete_unknown } => (false, delete_unknown),
        Command::Apply { delete_unknown } => (true, delete_unknown),
    };
    let cluster = observed::cluster(&admin, &settings.kafka.brokers, cli.timeout).await?;
    let schemas = observed::registry(&registry, TOPICS, cli.timeout).await?;
    let changes = plan::plan(TOPICS, &cluster, &schemas, delete_unknown);
    let applicable = changes.iter().filter(|c| c.is_applicable()).count();
    if applicable == 0 {
        for change in &changes {
            println!("{change}");
        }
        println!(
            "nothing to do: {} topics and {} subjects match the topology",
            TOPICS.len(),
            TOPICS.iter().map(|t| t.records.len()).sum::<usize>()
        );
        return Ok(());
    }
    if !apply {
        for change in &changes {
            println!("{change}");
        }
        println!("{applicable} change(s) to apply; run `synchronizer apply`");
        return Ok(());
    }
    for change in &changes {
        println!("{change}");
        apply::apply(&admin, &registry, change).await?;
    }
    println!("applied {applicable} change(s)");
    Ok(())
}
