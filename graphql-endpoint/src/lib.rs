//! The GraphQL endpoint of Open Bank on Kafka.
//!
//! - [`bus`]: the command bus and the query bus — ONE consumer per feedback topic, started at
//!   its end, dispatching answers to the requests waiting for them.
//! - [`feed`]: ONE consumer of `transaction_events` fanned out to every subscription.
//! - [`accounts`], [`transfers`], [`company`]: what the mutations and the start-up do.
//! - [`schema`]: the GraphQL schema of SPEC §6; [`server`]: routes, CORS, health;
//!   [`graphiql`]: GraphiQL served from embedded assets.

pub mod accounts;
pub mod alerts;
pub mod bank;
pub mod bus;
pub mod company;
pub mod employees;
pub mod feed;
pub mod graphiql;
pub mod instants;
pub mod operations;
pub mod owners;
pub mod reads;
pub mod schema;
pub mod secrets;
pub mod server;
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
use crate::server::{Cors, Readiness};

/// Everything the service needs besides the Kafka settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// How long a command or query waits for its answer.
    pub timeout: Duration,
    pub cors: Cors,
    pub limits: schema::Limits,
    /// Cents deposited into the company account, once ever.
    pub company_funding_cents: i64,
    /// The most operations one HTTP request may batch.
    pub max_batch: usize,
    /// The services the operations view shows besides this endpoint.
    pub watched: Vec<operations::Watched>,
    pub employees: EmployeeConfig,
}

/// Who may log in as employee, and how sessions are signed and how long they last.
#[derive(Clone)]
pub struct EmployeeConfig {
    pub employee: Option<employees::Employee>,
    /// Shared by every endpoint replica, so each accepts the others' sessions.
    pub session_secret: Vec<u8>,
    pub session_lifetime: Duration,
}

impl std::fmt::Debug for EmployeeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmployeeConfig")
            .field(
                "employee",
                &self.employee.as_ref().map(|e| e.username.as_str()),
            )
            .field("session_lifetime", &self.session_lifetime)
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
    #[error("the employee session secret: {0}")]
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
    let (commands, queries, feed, alerts) = tokio::try_join!(
        CommandBus::start(
            &settings.kafka,
            producer.clone(),
            Arc::clone(&codec),
            config.timeout,
            Arc::clone(&operations),
        ),
        QueryBus::start(
            &settings.kafka,
            producer,
            Arc::clone(&codec),
            config.timeout
        ),
        TransactionFeed::transactions(&settings.kafka, Arc::clone(&codec)),
        AlertFeed::alerts(&settings.kafka, Arc::clone(&codec)),
    )?;
    let bank = Arc::new(Bank {
        commands,
        queries,
        operations: Arc::clone(&operations),
    });
    let readiness = Readiness::default();
    let watching = schema::Watching {
        operations,
        readiness: readiness.clone(),
        metrics: metrics.clone(),
        own_url: own_url(config.addr),
    };
    let employees = employees::Employees::new(
        config.employees.employee.clone(),
        &config.employees.session_secret,
        config.employees.session_lifetime,
    )
    .map_err(StartError::SessionSecret)?;
    let schema = schema::build(
        Arc::clone(&bank),
        Arc::new(feed),
        Arc::new(alerts),
        Arc::new(employees),
        Arc::new(watching),
        config.limits,
    );
    let app = server::router(
        schema,
        readiness.clone(),
        &config.cors,
        config.max_batch,
        metrics,
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
    let served = axum::serve(listener, app)
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
