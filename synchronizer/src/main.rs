//! `synchronizer`: makes a Kafka cluster and a schema registry match the Open Bank topology
//! (`contract/topology.toml` + `contract/schemas.toml`, compiled in).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use synchronizer::acls;
use synchronizer::migrate::{self, MigrateError, Migration, MigrationTopic};
use synchronizer::synchronize::{synchronize, Clients, Mode};
use topology::codec::Codec;
use topology::registry::RegistryClient;
use topology::{Settings, PRINCIPALS, TOPICS};

/// Makes a Kafka cluster and a schema registry match the Open Bank topology.
///
/// Topics (partitions, replication, configs) and one schema subject per (topic, record) under
/// the TopicRecordNameStrategy, `<topic>-<record full name>`. Connects with KAFKA_BROKERS
/// (default localhost:9092), SCHEMA_REGISTRY_URL (default
/// http://localhost:8081/apis/ccompat/v7) and any KAFKA_* rdkafka setting, e.g.
/// KAFKA_SECURITY_PROTOCOL=SASL_SSL.
///
/// The partition count of an event topic (kept forever) or of a co-partitioned topic (the
/// topology's `partitions = "bank"`) is never changed in place: `apply` refuses and says what
/// to do (`scripts/infra.sh reset` for local data, `synchronizer migrate` to keep it).
///
/// With an authorizer on the cluster, `plan` and `apply` also reconcile the ACLs of the
/// services' principals (topology.toml's readers, writers, groups and transactional ids); the
/// synchronizer must then connect as a super user.
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
    ///
    /// Partitions are raised only on topics keyed by their own id (commands, queries,
    /// feedback that are not co-partitioned): adding some there only spreads new records. If
    /// the partition count of an event topic or a co-partitioned topic differs, it refuses
    /// and changes nothing (exit 1).
    Apply {
        /// Delete topics that are not in the topology (internal topics are always kept).
        #[arg(long)]
        delete_unknown: bool,
    },
    /// Move a cluster with an older partition layout to the topology's, keeping every event,
    /// then apply the rest.
    ///
    /// Each event topic (user_events, bank_events) whose partition count differs is copied to
    /// `<topic>.pre-migration` (verified by counting the records of every partition), deleted,
    /// created with the topology's partitions, and copied back in order with each record's
    /// original bytes, re-keyed per account as `topology::routing` keys new ones.
    /// Co-partitioned command and feedback topics (60 s retention) are recreated, empty. The
    /// backups are kept; delete them when satisfied (`apply --delete-unknown`). An interrupted
    /// run can be run again: it continues from what it finds.
    ///
    /// Stop the command handler(s) and the projector first: it refuses while their consumer
    /// groups have members.
    Migrate {
        /// Consumer groups that must have no members (repeat for several).
        #[arg(long = "group", value_name = "GROUP", default_values_t = default_groups())]
        groups: Vec<String>,
    },
    /// Print the ACLs the topology gives each service's principal, or with --apply make the
    /// cluster's match them. (`plan` and `apply` also reconcile them, after the topics.)
    Acls {
        /// Print them as the `users` of the Helm chart's files/kafka-acls.yaml (Strimzi
        /// KafkaUser ACLs).
        #[arg(long, conflicts_with = "apply")]
        strimzi: bool,
        /// Reconcile the cluster's ACLs with them, and nothing else: needs Kafka only, so it
        /// can run before the schema registry starts (whose own ACLs are among them).
        #[arg(long)]
        apply: bool,
    },
}

/// The groups of the services that consume the moved topics, as they are configured here.
fn default_groups() -> Vec<String> {
    [
        ("COMMAND_HANDLER_GROUP", "command-handler"),
        ("PROJECTOR_GROUP", "projector"),
    ]
    .iter()
    .map(|(variable, default)| std::env::var(variable).unwrap_or_else(|_| default.to_string()))
    .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    topology::logging::init("warn");
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // What was printed so far comes first, so the error is the last thing shown.
            let _ = std::io::stdout().flush();
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if let Command::Acls {
        strimzi,
        apply: false,
    } = cli.command
    {
        if strimzi {
            write!(out, "{}", acls::strimzi_users(PRINCIPALS))?;
        } else {
            for acl in topology::acls::wanted(PRINCIPALS) {
                writeln!(out, "{acl}")?;
            }
        }
        return Ok(());
    }
    let settings = Settings::from_env();
    let acl_admin = settings
        .kafka
        .acl_admin()
        .context("creating the Kafka admin client for ACLs")?;
    if let Command::Acls { apply: true, .. } = cli.command {
        acls::synchronize_acls(&acl_admin, PRINCIPALS, Mode::Apply, cli.timeout, &mut out)?;
        return Ok(());
    }
    let admin = settings
        .kafka
        .admin()
        .context("creating the Kafka admin client")?;
    let registry =
        RegistryClient::new(&settings.registry).context("creating the registry client")?;
    let clients = Clients {
        admin: &admin,
        registry: &registry,
        brokers: &settings.kafka.brokers,
        timeout: cli.timeout,
    };
    let mode = match cli.command {
        Command::Plan { delete_unknown } => {
            synchronize(TOPICS, &clients, Mode::Plan, delete_unknown, &mut out).await?;
            Mode::Plan
        }
        Command::Apply { delete_unknown } => {
            synchronize(TOPICS, &clients, Mode::Apply, delete_unknown, &mut out).await?;
            Mode::Apply
        }
        Command::Migrate { groups } => {
            let codec = Codec::new(&settings.registry).context("creating the Avro codec")?;
            let migration = Migration {
                clients: &clients,
                kafka: &settings.kafka,
                codec: &codec,
                groups: &groups,
            };
            let migrated =
                migrate::migrate(&MigrationTopic::of_catalogue(TOPICS), &migration, &mut out).await;
            match migrated {
                Ok(_) => {}
                // Refused before anything changed.
                Err(
                    error @ (MigrateError::GroupsActive(_)
                    | MigrateError::Steps(_)
                    | MigrateError::Observe(_)),
                ) => return Err(error.into()),
                Err(error) => {
                    return Err(anyhow::Error::new(error).context(
                        "migration stopped; every event is still in its topic or in its \
                         <topic>.pre-migration backup, and running migrate again continues \
                         from there",
                    ))
                }
            }
            synchronize(TOPICS, &clients, Mode::Apply, false, &mut out).await?;
            Mode::Apply
        }
        Command::Acls { .. } => return Ok(()),
    };
    acls::synchronize_acls(&acl_admin, PRINCIPALS, mode, cli.timeout, &mut out)?;
    Ok(())
}
