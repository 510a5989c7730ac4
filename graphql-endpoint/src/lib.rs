//! The GraphQL endpoint of Open Bank on Kafka.
//!
//! - [`bus`]: the command bus and the query bus — ONE consumer per feedback topic, started at
//!   its end, dispatching answers to the requests waiting for them.
//! - [`feed`]: ONE consumer of `transaction_events` fanned out to every subscription.
//! - [`accounts`], [`transfers`], [`company`]: what the mutations and the start-up do.
//! - [`sessions`]: customer and employee sessions, ended everywhere through `session_events`;
//!   [`logins`], [`throttle`], [`secrets`]: every password check, throttled and on a bounded
//!   hashing queue; [`rights`]: who owns what, for [`schema::access`].
//! - [`schema`]: the GraphQL schema of SPEC §6; [`server`]: routes, CORS, request and answer
//!   bounds, security headers, health; [`websocket`]: subscriptions and their bounds;
//!   [`graphiql`]: GraphiQL served from embedded assets.

pub mod accounts;
pub mod alerts;
pub mod bank;
pub mod bus;
pub mod client_address;
pub mod company;
pub mod consistency;
pub mod employees;
pub mod feed;
pub mod graphiql;
pub mod holds;
pub mod instants;
pub mod logins;
pub mod operations;
pub mod owners;
pub mod pseudonyms;
pub mod reads;
pub mod rights;
pub mod schema;
pub mod secrets;
pub mod server;
pub mod sessions;
pub mod shedding;
pub mod standing_orders;
pub mod statement_download;
pub mod statements;
pub mod throttle;
pub mod tokens;
pub mod transfers;
pub mod validation;
pub mod websocket;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use topology::codec::{Codec, CodecError};
use topology::Settings;

use crate::bank::Bank;
use crate::bus::{CommandBus, ListenError, QueryBus};
use crate::feed::{AlertFeed, TransactionFeed};
use crate::server::{HttpConfig, Readiness};
use crate::sessions::log::SessionLog;
use crate::sessions::{Lifetimes, Sessions};

/// Everything the service needs besides the Kafka settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// How long a command or query waits for its answer.
    pub timeout: Duration,
    /// The most commands waiting for their answers at once; more are refused with `BUSY`
    /// (see [`bus::admission`]).
    pub max_pending_commands: usize,
    pub http: HttpConfig,
    pub limits: schema::Limits,
    /// Cents deposited into the company account, once ever.
    pub company_funding_cents: i64,
    /// The services the operations view shows besides this endpoint.
    pub watched: Vec<operations::Watched>,
    pub sessions: SessionConfig,
    /// Derives account tokens (see [`tokens`]): the same on every replica, never changed.
    pub token_secret: Vec<u8>,
}

/// Who may log in as employee, and how sessions are signed and how long they last.
#[derive(Clone)]
pub struct SessionConfig {
    pub employee: Option<employees::Employee>,
    /// Shared by every endpoint replica, so each accepts the others' sessions.
    pub secret: Vec<u8>,
    pub customers: Lifetimes,
    pub employees: Lifetimes,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field(
                "employee",
                &self.employee.as_ref().map(|e| e.username.as_str()),
            )
            .field("customers", &self.customers)
            .field("employees", &self.employees)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("creating the Kafka producer: {0}")]
    Producer(rdkafka::error::KafkaError),
    #[error("schema registry: {0}")]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("installing the metrics recorder: {0}")]
    Metrics(topology::telemetry::InstallError),
    #[error("the session secret: {0}")]
    SessionSecret(jsonwebtoken::errors::Error),
    #[error("serving HTTP: {0}")]
    Serve(std::io::Error),
}

/// Where this endpoint answers, as the operations view lists it: bound to every address, it is
/// reachable on the loopback one.
fn own_url(addr: SocketAddr) -> String {
    let mut shown = addr;
    if addr.ip().is_unspecified() {
        shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{shown}")
}

/// Pause between two attempts to ensure the company account.
const COMPANY_RETRY: Duration = Duration::from_secs(2);

/// Starts the buses, serves HTTP, ensures the company account, and runs until `stop`.
pub async fn run(
    settings: Settings,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let codec = Arc::new(Codec::new(&settings.registry)?);
    // One idempotent producer for every command and query: it batches and keeps order.
    let producer = settings.kafka.producer().map_err(StartError::Producer)?;
    let metrics = topology::telemetry::Metrics::install().map_err(StartError::Metrics)?;
    let operations = Arc::new(operations::Operations::new(config.watched.clone()));
    let sessions = Sessions::new(
        &config.sessions.secret,
        config.sessions.customers,
        config.sessions.employees,
    )
    .map_err(StartError::SessionSecret)?;
    let (commands, queries, feed, alerts, session_log) = tokio::try_join!(
        CommandBus::start(
            &settings.kafka,
            producer.clone(),
            Arc::clone(&codec),
            config.timeout,
            Arc::clone(&operations),
            config.max_pending_commands,
        ),
        QueryBus::start(
            &settings.kafka,
            producer.clone(),
            Arc::clone(&codec),
            config.timeout
        ),
        TransactionFeed::transactions(&settings.kafka, Arc::clone(&codec)),
        AlertFeed::alerts(&settings.kafka, Arc::clone(&codec)),
        SessionLog::start(
            &settings.kafka,
            Arc::clone(&codec),
            producer,
            sessions.revocations(),
            config.timeout
        ),
    )?;
    let bank = Arc::new(Bank {
        commands,
        queries,
        operations: Arc::clone(&operations),
        logins: logins::Logins::new(pseudonyms::Pseudonyms::new(&config.token_secret)),
        rights: rights::Rights::default(),
        tokens: tokens::AccountTokens::new(&config.token_secret),
    });
    let readiness = Readiness::default();
    let watching = schema::Watching {
        operations,
        readiness: readiness.clone(),
        metrics: metrics.clone(),
        own_url: own_url(config.addr),
    };
    let sessions = Arc::new(sessions);
    let schema = schema::build(
        schema::Services {
            bank: Arc::clone(&bank),
            feed: Arc::new(feed),
            alerts: Arc::new(alerts),
            employees: Arc::new(employees::Employees::new(config.sessions.employee.clone())),
            sessions: Arc::clone(&sessions),
            session_log: Arc::new(session_log),
            watching: Arc::new(watching),
        },
        config.limits,
    );
    let downloads = statement_download::Downloads::new(Arc::clone(&bank), Arc::clone(&sessions));
    let app = server::router(
        schema,
        bank.commands.admission(),
        sessions,
        readiness.clone(),
        &config.http,
        metrics,
        downloads,
    );
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    tracing::info!(addr = %config.addr, "serving /graphql, /graphql/ws, /graphiql and /health");

    let company = tokio::spawn({
        let bank = Arc::clone(&bank);
        let funding = config.company_funding_cents;
        async move {
            company::ensure_with_retries(&bank, funding, COMPANY_RETRY).await;
            readiness.set_ready();
            tracing::info!("ready");
        }
    });
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
    .map_err(StartError::Serve);
    company.abort();
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_bound_to_every_address_is_listed_on_the_loopback_one() {
        let every: SocketAddr = "0.0.0.0:8888".parse().expect("an address");
        assert_eq!(own_url(every), "http://127.0.0.1:8888");
        let one: SocketAddr = "10.0.0.7:8888".parse().expect("an address");
        assert_eq!(own_url(one), "http://10.0.0.7:8888");
    }
}
