//! The GraphQL endpoint service: see `graphql-endpoint --help`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use graphql_endpoint::client_address::TrustedProxies;
use graphql_endpoint::employees::Employee;
use graphql_endpoint::schema::Limits;
use graphql_endpoint::server::{AllowedOrigins, HttpConfig};
use graphql_endpoint::sessions::Lifetimes;
use graphql_endpoint::websocket::SocketLimits;
use graphql_endpoint::{Config, SessionConfig};

/// `on`/`off` (also `true`/`false`, `1`/`0`, `yes`/`no`) for a switch set from the environment.
fn switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" | "" => Ok(false),
        other => Err(format!("`{other}` is neither on nor off")),
    }
}

/// Open Bank GraphQL endpoint.
#[derive(Debug, Parser)]
#[command(
    name = "graphql-endpoint",
    version,
    long_about = "Open Bank GraphQL endpoint: GraphQL over HTTP (POST /graphql) and WebSocket \
(/graphql/ws, protocols graphql-transport-ws and the legacy graphql-ws), GraphiQL at /graphiql \
when switched on (served from embedded assets, works offline), and GET /health (200 once the feedback consumers \
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
    /// Origins a browser may call the API and open WebSockets from: a comma-separated list of
    /// `scheme://host[:port]`, the web app's by default. `*` is refused.
    #[arg(
        long,
        env = "ALLOWED_ORIGINS",
        default_value = "http://127.0.0.1:8181,http://localhost:8181"
    )]
    allowed_origins: String,
    /// Proxies (IP addresses or networks such as `10.244.0.0/16`, comma-separated) whose
    /// `X-Forwarded-For` names the client, e.g. the web app's server; empty trusts nobody's.
    #[arg(long, env = "GRAPHQL_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// Deepest nesting of fields one GraphQL document may ask for. The bank's own types nest
    /// 2 deep; GraphiQL's introspection query needs 15.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 16)]
    max_depth: usize,
    /// Highest complexity of one GraphQL document: a field counts 1, a list of transactions or
    /// accounts its fields times `max_items`. GraphiQL's introspection query counts 217, a
    /// page of 100 transactions with every field 800.
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 10_000)]
    max_complexity: usize,
    /// The most commands (mutations that move money or change accounts) waiting for their
    /// answers at once; one more is refused at once with BUSY "the bank is busy, try again in a
    /// moment" instead of queueing (admission control).
    #[arg(long, env = "GRAPHQL_MAX_PENDING_COMMANDS", default_value_t = 500)]
    max_pending_commands: usize,
    /// The largest answer, in bytes; a larger one is refused with RESPONSE_TOO_LARGE.
    #[arg(long, env = "GRAPHQL_MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    max_response_bytes: usize,
    /// Serve GraphiQL at /graphiql (`on` / `off`).
    #[arg(long, env = "GRAPHQL_GRAPHIQL", default_value = "off", value_parser = switch)]
    graphiql: bool,
    /// Answer introspection (`on` / `off`); GraphiQL needs it.
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value = "off", value_parser = switch)]
    introspection: bool,
    /// Open WebSockets one client address may hold.
    #[arg(long, env = "GRAPHQL_MAX_SOCKETS_PER_ADDRESS", default_value_t = 64)]
    max_sockets_per_address: usize,
    /// Subscriptions one WebSocket may hold.
    #[arg(
        long,
        env = "GRAPHQL_MAX_SUBSCRIPTIONS_PER_SOCKET",
        default_value_t = 100
    )]
    max_subscriptions_per_socket: usize,
    /// Seconds between the server's pings on a WebSocket; one silent for three is closed.
    #[arg(long, env = "GRAPHQL_WS_PING_SECONDS", default_value_t = 15)]
    ws_ping_seconds: u64,
    /// Seconds a WebSocket may stay without any subscription before it is closed.
    #[arg(long, env = "GRAPHQL_WS_IDLE_SECONDS", default_value_t = 300)]
    ws_idle_seconds: u64,
    /// Seconds a new WebSocket has to send `connection_init`.
    #[arg(long, env = "GRAPHQL_WS_INIT_SECONDS", default_value_t = 10)]
    ws_init_seconds: u64,
    /// Cents deposited once, ever, into the company account (at most 1,000,000, the largest
    /// cash deposit).
    #[arg(long, env = "GRAPHQL_COMPANY_FUNDING", default_value_t = 1_000_000)]
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
    /// The secret that signs sessions (HMAC-SHA256), the same on every endpoint replica so
    /// each accepts the others' sessions. Without it a random one is made at start: sessions
    /// then end with the process and work on this replica only.
    #[arg(long, env = "GRAPHQL_SESSION_SECRET", hide_env_values = true)]
    session_secret: Option<String>,
    /// The secret account tokens are derived from (HMAC-SHA256), at least 32 characters: the
    /// same on every endpoint replica and never changed, since the bank shows a token again by
    /// deriving it (only its hash goes to Kafka). Required.
    #[arg(long, env = "GRAPHQL_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// A session ends after this many seconds without `refresh_session`.
    #[arg(long, env = "SESSION_IDLE_SECONDS", default_value_t = 900)]
    session_idle_seconds: u64,
    /// A customer session ends this many seconds after the login, refreshed or not (at most
    /// 7 days, how long session_events keeps what ended sessions early).
    #[arg(long, env = "SESSION_MAX_SECONDS", default_value_t = 43_200)]
    session_max_seconds: u64,
    /// The services the operations view shows besides this endpoint, as
    /// `name=http://host:port,…` (their `/health` and `/metrics`).
    #[arg(long, env = "GRAPHQL_OPS_SERVICES", default_value = "")]
    ops_services: String,
    /// An employee session ends this many seconds after the login, refreshed or not.
    #[arg(long, env = "EMPLOYEE_SESSION_SECONDS", default_value_t = 3_600)]
    employee_session_seconds: u64,
}

fn token_secret(args: &Args) -> anyhow::Result<Vec<u8>> {
    match args
        .token_secret
        .as_deref()
        .filter(|secret| !secret.is_empty())
    {
        Some(secret) if secret.len() >= 32 => Ok(secret.as_bytes().to_vec()),
        Some(_) => anyhow::bail!("GRAPHQL_TOKEN_SECRET must be at least 32 characters"),
        None => anyhow::bail!(
            "GRAPHQL_TOKEN_SECRET is required: 32+ characters, the same on every replica and \
             never changed (e.g. `openssl rand -hex 32`)"
        ),
    }
}

/// The longest a session may live: what session_events keeps (7 days).
const LONGEST_SESSION_SECONDS: u64 = 7 * 24 * 3600;

async fn session_config(args: &Args) -> anyhow::Result<SessionConfig> {
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
    for (name, seconds) in [
        ("--session-idle-seconds", args.session_idle_seconds),
        ("--session-max-seconds", args.session_max_seconds),
        ("--employee-session-seconds", args.employee_session_seconds),
    ] {
        anyhow::ensure!(
            (1..=LONGEST_SESSION_SECONDS).contains(&seconds),
            "{name} must be between 1 and {LONGEST_SESSION_SECONDS}"
        );
    }
    let idle = Duration::from_secs(args.session_idle_seconds);
    Ok(SessionConfig {
        employee: password_hash.map(|password_hash| Employee {
            username: args.employee_username.clone(),
            password_hash,
        }),
        secret: session_secret,
        customers: Lifetimes {
            idle,
            absolute: Duration::from_secs(args.session_max_seconds),
        },
        employees: Lifetimes {
            idle,
            absolute: Duration::from_secs(args.employee_session_seconds),
        },
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
        (1..=1_000_000).contains(&args.company_funding),
        "--company-funding must be between 1 and 1000000 cents (the largest cash deposit)"
    );
    anyhow::ensure!(args.max_batch > 0, "--max-batch must be at least 1");
    anyhow::ensure!(
        args.max_pending_commands > 0,
        "--max-pending-commands must be at least 1"
    );
    anyhow::ensure!(
        args.ws_ping_seconds > 0 && args.ws_idle_seconds > 0 && args.ws_init_seconds > 0,
        "--ws-ping-seconds, --ws-idle-seconds and --ws-init-seconds must be positive"
    );
    let settings = topology::Settings::from_env();
    tracing::info!(brokers = %settings.kafka.brokers, registry = %settings.registry.url, "starting graphql-endpoint");
    let config = Config {
        addr: SocketAddr::new(args.host, args.port),
        timeout: Duration::from_secs_f64(args.command_timeout),
        max_pending_commands: args.max_pending_commands,
        http: HttpConfig {
            origins: AllowedOrigins::parse(&args.allowed_origins)
                .map_err(anyhow::Error::msg)
                .context("ALLOWED_ORIGINS")?,
            proxies: TrustedProxies::parse(&args.trusted_proxies)
                .map_err(anyhow::Error::msg)
                .context("GRAPHQL_TRUSTED_PROXIES")?,
            max_batch: args.max_batch,
            max_response_bytes: args.max_response_bytes,
            graphiql: args.graphiql,
            sockets: SocketLimits {
                per_address: args.max_sockets_per_address,
                subscriptions: args.max_subscriptions_per_socket,
                ping_every: Duration::from_secs(args.ws_ping_seconds),
                init_within: Duration::from_secs(args.ws_init_seconds),
                idle_after: Duration::from_secs(args.ws_idle_seconds),
            },
        },
        limits: Limits {
            depth: args.max_depth,
            complexity: args.max_complexity,
            introspection: args.introspection,
        },
        company_funding_cents: args.company_funding,
        watched: graphql_endpoint::operations::parse_watched(&args.ops_services)
            .map_err(anyhow::Error::msg)
            .context("GRAPHQL_OPS_SERVICES")?,
        sessions: session_config(&args).await?,
        token_secret: token_secret(&args)?,
    };
    graphql_endpoint::run(settings, config, topology::process::stop_signal())
        .await
        .context("graphql-endpoint stopped")
}
