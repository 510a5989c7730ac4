//! The Kafka side of the projector: everything here does I/O; the pure core it drives lives in
//! the crate's other modules.
//!
//! Three tasks share one [`ReadModel`] and one [`Status`]:
//!
//! - [`events`]: replays `user_events` and `bank_events` from offset 0 up to the end offsets
//!   read at start (see `topology::replay`), marks the service ready, keeps projecting new
//!   events, and hands derived transactions to the [`publisher`], which publishes those of the
//!   partitions the publishing group gives this instance ([`assignment`]);
//! - [`answering`]: once ready, answers a share of `user_queries` / `bank_queries` (the query
//!   group shares them out among the instances), a query that names positions only once the
//!   events task applied them ([`read_after`]);
//! - [`health`]: `/health`, 503 while catching up and 200 once ready.
//!
//! A task that fails stops the others and [`run`] returns its error: the process exits and its
//! restart rebuilds everything, publishing only what was not published before.

pub mod answering;
pub mod assignment;
pub mod events;
pub mod health;
mod metrics;
pub mod publisher;
pub mod read_after;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rdkafka::error::KafkaError;
use tokio::sync::watch;
use tokio::task::JoinSet;
use topology::codec::{Codec, CodecError};
use topology::replay::ReplayError;
use topology::transactions::TransactionError;
use topology::Settings;

pub use events::{EventsConfig, PublishingConfig};

/// Everything the service needs besides the connection settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub health_addr: SocketAddr,
    pub events: EventsConfig,
    /// Consumer group of the query consumers; instances sharing it share the queries.
    pub query_group: String,
    /// This instance's static member id in the query group.
    pub instance_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("creating a Kafka client: {0}")]
    Client(KafkaError),
    #[error("installing the metrics recorder: {0}")]
    Metrics(topology::telemetry::InstallError),
    #[error("schema registry codec: {0}")]
    Codec(#[from] CodecError),
    #[error("replaying the event topics: {0}")]
    Replay(#[from] ReplayError),
    /// `partition` names the topic and the group, in one field to keep this error small.
    #[error("reading the committed offset of {partition}: {source}")]
    CommittedOffset {
        partition: String,
        source: KafkaError,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("publishing derived transactions: {0}")]
    Transaction(#[from] TransactionError),
    #[error("listing the offsets of derived transactions: {0}")]
    Publish(KafkaError),
    #[error("subscribing to the query topics: {0}")]
    Subscribe(KafkaError),
    #[error("the query group member keeps failing: {0}")]
    QueryMember(KafkaError),
    #[error("the publishing group member keeps failing: {0}")]
    PublishingMember(KafkaError),
    #[error("binding the health endpoint on {addr}: {source}")]
    HealthBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving the health endpoint: {0}")]
    HealthServe(std::io::Error),
    #[error("task {task} panicked or was cancelled: {message}")]
    Task { task: &'static str, message: String },
}

/// Readiness and progress, shared by the tasks and shown on `/health`.
#[derive(Debug)]
pub struct Status {
    ready: watch::Sender<bool>,
    events_projected: AtomicU64,
    publishing: Mutex<Publishing>,
    /// How far the read model has applied each event partition (read your own writes).
    progress: read_after::Progress,
}

/// What `/health` shows of publishing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publishing {
    /// The `bank_events` partitions this instance publishes the derived events of.
    pub partitions: Vec<i32>,
    /// Derived events not known to be published yet (by this instance or another).
    pub waiting: usize,
}

impl Default for Status {
    fn default() -> Self {
        Self::new()
    }
}

impl Status {
    pub fn new() -> Self {
        Self {
            ready: watch::Sender::new(false),
            events_projected: AtomicU64::new(0),
            publishing: Mutex::new(Publishing::default()),
            progress: read_after::Progress::default(),
        }
    }

    pub fn publishing(&self) -> Publishing {
        self.publishing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_publishing(&self, partitions: &BTreeSet<i32>, waiting: usize) {
        let mut publishing = self
            .publishing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        publishing.partitions = partitions.iter().copied().collect();
        publishing.waiting = waiting;
    }

    pub fn progress(&self) -> &read_after::Progress {
        &self.progress
    }

    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    pub fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Resolves once the replay has caught up.
    pub async fn wait_ready(&self) {
        let mut ready = self.ready.subscribe();
        // Err only if the sender is gone, which cannot happen while `self` lives.
        let _ = ready.wait_for(|ready| *ready).await;
    }

    pub fn events_projected(&self) -> u64 {
        self.events_projected.load(Ordering::Relaxed)
    }

    pub(crate) fn count_event(&self) {
        self.events_projected.fetch_add(1, Ordering::Relaxed);
    }
}

/// A cloneable "stop now" signal for the tasks.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and the sender that fires it.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (sender, receiver) = watch::channel(false);
        (sender, Self(receiver))
    }

    /// Resolves once shutdown is requested (or its sender is gone, which means the same).
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Runs the service until `stop` resolves or a task fails.
pub async fn run(
    settings: Settings,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RuntimeError> {
    let codec = Arc::new(Codec::new(&settings.registry)?);
    let opened = events::open(&settings.kafka, &config.events)?;
    let model = Arc::clone(opened.model());
    let status = Arc::new(Status::new());
    let (stopper, shutdown) = Shutdown::new();
    let stopper = Arc::new(stopper);

    {
        let stopper = Arc::clone(&stopper);
        tokio::spawn(async move {
            stop.await;
            tracing::info!("shutdown requested");
            stopper.send_replace(true);
        });
    }

    let metrics = topology::telemetry::Metrics::install().map_err(RuntimeError::Metrics)?;
    let mut tasks = JoinSet::new();
    tasks.spawn(named(
        "health",
        health::serve(
            config.health_addr,
            Arc::clone(&status),
            metrics,
            shutdown.clone(),
        ),
    ));
    tasks.spawn(named(
        "events",
        events::run(
            settings.kafka.clone(),
            Arc::clone(&codec),
            config.events.clone(),
            opened,
            Arc::clone(&status),
            shutdown.clone(),
        ),
    ));
    tasks.spawn(named(
        "answering",
        answering::run(
            settings.kafka.clone(),
            codec,
            config.query_group.clone(),
            config.instance_id.clone(),
            model,
            status,
            shutdown,
        ),
    ));

    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.unwrap_or_else(|join_error| {
            Err(RuntimeError::Task {
                task: "unknown",
                message: join_error.to_string(),
            })
        });
        if let Err(error) = result {
            tracing::error!(%error, "a task failed; stopping the others");
            stopper.send_replace(true);
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Logs when a task ends, so a silent exit of one task is visible.
async fn named(
    task: &'static str,
    work: impl Future<Output = Result<(), RuntimeError>>,
) -> Result<(), RuntimeError> {
    let result = work.await;
    if result.is_ok() {
        tracing::info!(task, "task stopped");
    }
    result
}
