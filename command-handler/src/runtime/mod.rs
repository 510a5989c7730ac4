//! The command handler on Kafka: one active instance, exactly-once.
//!
//! Start, in this order:
//! 1. bind `/health` (503 from now on, until ready);
//! 2. [`transactions::Writer::start`]: `init_transactions` with the fixed transactional id,
//!    which fences any older instance and aborts its open transaction;
//! 3. [`crate::rebuild`]: replay the events and the retained transfer feedback;
//! 4. write the saga's pending commands in a first transaction, report ready, and consume
//!    `user_commands`, `bank_commands` and `transfer_commands` (see [`commands`]).
//!
//! Failure policy: the in-memory state is evolved before a batch is written, so a batch that
//! cannot be written (after retries) leaves state the log does not have. The process then
//! exits with an error instead of repairing the state in place: its restart rebuilds from the
//! committed events and resumes from the committed offsets, which is correct by construction
//! and has no second code path to get wrong. A fenced producer means a newer instance took
//! over; this one exits non-zero as well.

mod commands;
pub mod health;
pub mod transactions;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use rdkafka::error::KafkaError;
use tokio::sync::watch;
use topology::codec::{Codec, CodecError};
use topology::Settings;

use crate::rebuild::{rebuild, RebuildError};
use health::Status;
use transactions::{WriteError, Writer};

pub use commands::COMMAND_TOPICS;

#[derive(Debug, Clone)]
pub struct Config {
    pub health_addr: SocketAddr,
    /// Fixed per deployment: a restart with the same id fences the previous instance.
    pub transactional_id: String,
    pub group: String,
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
        matches!(self, RuntimeError::Write(WriteError::Fenced(_)))
    }
}

/// Runs until `stop` resolves (then finishes the current batch) or an error occurs.
pub async fn run(
    settings: Settings,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RuntimeError> {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let stop_sender = stop_tx.clone();
    tokio::spawn(async move {
        stop.await;
        tracing::info!("stop requested");
        let _ = stop_sender.send(true);
    });

    let status = Arc::new(Status::default());
    let listener =
        health::bind(config.health_addr)
            .await
            .map_err(|source| RuntimeError::HealthBind {
                addr: config.health_addr,
                source,
            })?;
    tracing::info!(addr = %config.health_addr, "health endpoint listening on /health");
    let health_task = tokio::spawn(health::serve(listener, status.clone(), stop_rx.clone()));

    let result = async {
        let codec = Arc::new(
            Codec::new(&settings.registry).map_err(|e| RuntimeError::Codec(Box::new(e)))?,
        );
        let writer = Writer::start(&settings.kafka, &config.transactional_id, codec.clone())?;
        tracing::info!(transactional_id = %config.transactional_id, "transactions initialised; older instances are fenced");
        let handler = tokio::select! {
            handler = rebuild(&settings.kafka, &codec, &status.records_replayed) => {
                handler.map_err(|e| RuntimeError::Rebuild(Box::new(e)))?
            }
            _ = stop_rx.wait_for(|stop| *stop) => return Ok(()),
        };
        commands::run(&settings, &config, handler, writer, codec, &status, stop_rx).await
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
