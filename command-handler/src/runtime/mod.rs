//! The command handler on Kafka: any number of instances share the bank's partitions through
//! one consumer group, each exactly-once for the partitions it owns.
//!
//! Start, in this order:
//! 1. bind `/health` (503 from now on, until the first partitions are taken over);
//! 2. [`transactions::Writer::start`]: `init_transactions` with this instance's transactional
//!    id, which fences an older process of the same instance and aborts its open transaction;
//! 3. check that the co-partitioned topics have the layout of the topology;
//! 4. join the group and run [`commands`]: each assigned partition gets a task (see [`tasks`]),
//!    rebuilt from the state store and the event topics; at a rebalance only the partitions new
//!    to this instance are rebuilt. Inputs are handled in transactions that carry the group's
//!    metadata.
//!
//! Failure policy: the in-memory state is evolved before a batch is written, so a batch that
//! cannot be written leaves state the log does not have. The state is then dropped and rebuilt
//! from the committed events, and consumption resumes from the committed offsets: the same
//! path as a rebalance, correct by construction. A fatally failed producer is replaced first
//! (e.g. after a pause past the transaction timeout), and so is one abandoned in a call that
//! never returned or one "fenced" while brokers were in trouble (see
//! [`topology::transactions::TransactionalWriter::write`]). A group member that librdkafka ended
//! is replaced by a new one with the same instance id. A producer fenced by a newer process of
//! this instance means this one must stop; it exits with code 2.

mod assignment;
mod commands;
pub mod health;
mod input;
mod layout;
mod metrics;
mod pump;
mod rebalance;
mod tasks;
pub mod transactions;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use rdkafka::error::KafkaError;
use tokio::sync::watch;
use topology::codec::{Codec, CodecError};
use topology::Settings;

use crate::rebuild::RebuildError;
use health::Status;
use transactions::{WriteError, Writer};

pub use commands::CONSUMED_TOPICS;
pub use layout::LayoutError;

#[derive(Debug, Clone)]
pub struct Config {
    pub health_addr: SocketAddr,
    /// Fixed per deployment: a restart with the same id fences the previous instance.
    pub transactional_id: String,
    pub group: String,
    /// The local state store's file (see [`crate::store`]); `None`: keep everything in memory
    /// and replay the owned partitions from offset 0 at every takeover.
    pub state_store: Option<std::path::PathBuf>,
    /// The key every instance signs and checks cross-instance credits with.
    pub saga_key: topology::proofs::SagaKey,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("binding the health endpoint to {addr}: {source}")]
    HealthBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("health endpoint: {0}")]
    HealthServe(std::io::Error),
    #[error("installing the metrics recorder: {0}")]
    Metrics(topology::telemetry::InstallError),
    #[error("schema registry client: {0}")]
    Codec(Box<CodecError>),
    #[error("rebuilding the state: {0}")]
    Rebuild(Box<RebuildError>),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("creating or subscribing the command consumer: {0}")]
    Consumer(KafkaError),
    #[error("consuming commands: {0}")]
    Consume(KafkaError),
    #[error("the group member failed: {0}")]
    MemberFailed(KafkaError),
    #[error("a thread asking for a partition's first offset panicked")]
    WatermarkThread,
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Store(Box<crate::store::StoreError>),
    #[error("could not take over the assigned partitions after {attempts} attempts")]
    TakeOver { attempts: u32 },
    #[error("the transactional producer failed fatally {renewals} times in a row")]
    ProducerKeepsFailing { renewals: u32 },
    /// Not skipped like a malformed command: the registry may just be unreachable, so the
    /// command stays uncommitted and the restart tries again.
    #[error("decoding a command at {topic}/{partition}@{offset} failed transiently: {source}")]
    TransientDecode {
        topic: String,
        partition: i32,
        offset: i64,
        source: Box<CodecError>,
    },
}

impl RuntimeError {
    /// A newer instance took over: not a failure of this one, but it must stop.
    pub fn is_fenced(&self) -> bool {
        matches!(self, RuntimeError::Write(error) if error.is_fenced())
    }
}

/// Runs until `stop` resolves (then finishes the current batch) or an error occurs.
pub async fn run(
    settings: Settings,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RuntimeError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_sender = stop_tx.clone();
    tokio::spawn(async move {
        stop.await;
        tracing::info!("stop requested");
        let _ = stop_sender.send(true);
    });

    let metrics = topology::telemetry::Metrics::install().map_err(RuntimeError::Metrics)?;
    let status = Arc::new(Status::default());
    let listener = topology::health::bind(config.health_addr)
        .await
        .map_err(|source| RuntimeError::HealthBind {
            addr: config.health_addr,
            source,
        })?;
    let mut health_stop = stop_rx.clone();
    let health_task = tokio::spawn(topology::health::serve(
        listener,
        status.clone(),
        metrics,
        // An error means the runtime is gone, which is a reason to stop as well.
        async move {
            let _ = health_stop.wait_for(|stop| *stop).await;
        },
    ));

    let result = async {
        let codec = Arc::new(
            Codec::new(&settings.registry).map_err(|e| RuntimeError::Codec(Box::new(e)))?,
        );
        let writer = Writer::start(&settings.kafka, &config.transactional_id, codec.clone())?;
        tracing::info!(transactional_id = %config.transactional_id, "transactions initialised; an older process of this instance is fenced");
        layout::check(&settings.kafka)?;
        commands::run(&settings, &config, writer, codec, &status, stop_rx).await
    }
    .await;

    // Whatever ended the run, the health endpoint stops with it.
    let _ = stop_tx.send(true);
    match health_task.await {
        Ok(Err(error)) if result.is_ok() => return Err(RuntimeError::HealthServe(error)),
        _ => {}
    }
    result
}
