//! The GraphQL endpoint service: see `graphql-endpoint --help`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use graphql_endpoint::schema::Limits;
use graphql_endpoint::server::Cors;
use graphql_endpoint::Config;

/// Open Bank GraphQL endpoint.
#[derive(Debug, Parser)]
#[command(
    name = "graphql-endpoint",
    version,
    long_about = "Open Bank GraphQL endpoint: GraphQL over HTTP (POST /graphql) and WebSocket \
(/graphql/ws, protocols graphql-transport-ws and the legacy graphql-ws), GraphiQL at /graphiql \
(served from embedded assets, works offline), and GET /health (200 once the feedback consumers \
listen and the company account NL66OPEN0000000000 exists and is funded).\n\n\
Mutations become commands on Kafka and answer when their feedback arrives; queries go to the \
projector over Kafka; subscriptions stream transaction_events.\n\n\
Kafka and the schema registry come from KAFKA_BROKERS (default localhost:9092), \
SCHEMA_REGISTRY_URL (default http://localhost:8081/apis/ccompat/v7) and any KAFKA_<SETTING>. \
Logging: RUST_LOG (default info). Stops cleanly on SIGINT/SIGTERM."
)]
struct Args {
    /// Port of the HTTP server.
    #[arg(long, env = "GRAPHQL_PORT", default_value_t = 8888)]
    port: u16,
    /// Address the HTTP server binds to.
    #[arg(long, env = "GRAPHQL_HOST", default_value = "0.0.0.0")]
    host: IpAddr,
    /// Seconds a mutation or query waits for its answer from Kafka.
    #[arg(long, env = "GRAPHQL_COMMAND_TIMEOUT", default_value_t = 10.0)]
    command_timeout: f64,
    /// Origins allowed by CORS: `*` for any, or a comma-separated list.
    #[arg(long, env = "GRAPHQL_CORS_ORIGINS", default_value = "*")]
    cors_origins: String,
    /// Deepest nesting of fields one GraphQL document may ask for. The bank's own types nest
    /// 2 deep; GraphiQL's introspection query needs 15.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 16)]
    max_depth: usize,
    /// Highest complexity (the number of fields) of one GraphQL document; GraphiQL's
    /// introspection query counts 217.
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 500)]
    max_complexity: usize,
    /// Cents deposited once, ever, into the company account.
    #[arg(long, env = "GRAPHQL_COMPANY_FUNDING", default_value_t = 100_000_000)]
    company_funding: i64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    topology::logging::init("info");
    topology::process::give_large_allocations_back();
    let args = Args::parse();
    anyhow::ensure!(
        args.command_timeout.is_finite() && args.command_timeout > 0.0,
        "--command-timeout must be a positive number of seconds"
    );
    anyhow::ensure!(
        args.company_funding > 0,
        "--company-funding must be positive"
    );
    let settings = topology::Settings::from_env();
    tracing::info!(brokers = %settings.kafka.brokers, registry = %settings.registry.url, "starting graphql-endpoint");
    let config = Config {
        addr: SocketAddr::new(args.host, args.port),
        timeout: Duration::from_secs_f64(args.command_timeout),
        cors: Cors::parse(&args.cors_origins),
        limits: Limits {
            depth: args.max_depth,
            complexity: args.max_complexity,
        },
        company_funding_cents: args.company_funding,
    };
    graphql_endpoint::run(settings, config, topology::process::stop_signal())
        .await
        .context("graphql-endpoint stopped")
}
