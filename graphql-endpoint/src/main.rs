//! The GraphQL endpoint service: see `graphql-endpoint --help`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use graphql_endpoint::employees::Employee;
use graphql_endpoint::schema::Limits;
use graphql_endpoint::server::Cors;
use graphql_endpoint::{Config, EmployeeConfig};

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
    /// The most operations one HTTP request may carry as a JSON array (batch); a longer batch
    /// is refused whole with BATCH_TOO_LARGE.
    #[arg(long, env = "GRAPHQL_MAX_BATCH", default_value_t = 10)]
    max_batch: usize,
    /// Username of the bank employee, who may list every customer's account (`all_accounts`)
    /// after `employee_login`.
    #[arg(long, env = "EMPLOYEE_USERNAME", default_value = "employee")]
    employee_username: String,
    /// The employee's password (at least 8 characters). Without it (or --employee-password-hash)
    /// nobody can log in as employee.
    #[arg(long, env = "EMPLOYEE_PASSWORD", hide_env_values = true)]
    employee_password: Option<String>,
    /// The employee's password as an argon2 PHC string, instead of --employee-password.
    #[arg(
        long,
        env = "EMPLOYEE_PASSWORD_HASH",
        hide_env_values = true,
        conflicts_with = "employee_password"
    )]
    employee_password_hash: Option<String>,
    /// The secret that signs employee sessions (HMAC-SHA256), the same on every endpoint
    /// replica so each accepts the others' sessions. Without it a random one is made at start:
    /// sessions then end with the process and work on this replica only.
    #[arg(long, env = "GRAPHQL_SESSION_SECRET", hide_env_values = true)]
    session_secret: Option<String>,
    /// The services the operations view shows besides this endpoint, as
    /// `name=http://host:port,…` (their `/health` and `/metrics`).
    #[arg(long, env = "GRAPHQL_OPS_SERVICES", default_value = "")]
    ops_services: String,
    /// How long an employee session lasts, in seconds.
    #[arg(long, env = "EMPLOYEE_SESSION_SECONDS", default_value_t = 3_600)]
    employee_session_seconds: u64,
}

async fn employee_config(args: &Args) -> anyhow::Result<EmployeeConfig> {
    // Compose passes unset variables on as empty ones.
    let given = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
    let password_hash = match (
        given(&args.employee_password),
        given(&args.employee_password_hash),
    ) {
        (Some(password), _) => {
            graphql_endpoint::validation::credentials(&args.employee_username, &password)
                .context("the employee username or password")?;
            Some(graphql_endpoint::secrets::hash_password(password).await?)
        }
        (None, Some(hash)) => Some(hash),
        (None, None) => {
            tracing::warn!("no EMPLOYEE_PASSWORD or EMPLOYEE_PASSWORD_HASH: employee login is off");
            None
        }
    };
    let session_secret = match given(&args.session_secret) {
        Some(secret) if secret.len() >= 32 => secret.clone().into_bytes(),
        Some(_) => anyhow::bail!("GRAPHQL_SESSION_SECRET must be at least 32 characters"),
        None => {
            tracing::warn!(
                "no GRAPHQL_SESSION_SECRET: employee sessions are signed with a random key and \
                 accepted by this process only"
            );
            rand::random::<[u8; 32]>().to_vec()
        }
    };
    anyhow::ensure!(
        args.employee_session_seconds > 0,
        "--employee-session-seconds must be positive"
    );
    Ok(EmployeeConfig {
        employee: password_hash.map(|password_hash| Employee {
            username: args.employee_username.clone(),
            password_hash,
        }),
        session_secret,
        session_lifetime: Duration::from_secs(args.employee_session_seconds),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = topology::logging::init_service("info", "graphql-endpoint");
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
    anyhow::ensure!(args.max_batch > 0, "--max-batch must be at least 1");
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
        max_batch: args.max_batch,
        watched: graphql_endpoint::operations::parse_watched(&args.ops_services)
            .map_err(anyhow::Error::msg)
            .context("GRAPHQL_OPS_SERVICES")?,
        employees: employee_config(&args).await?,
    };
    graphql_endpoint::run(settings, config, topology::process::stop_signal())
        .await
        .context("graphql-endpoint stopped")
}
