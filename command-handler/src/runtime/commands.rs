//! The command loop of one instance: join the group, poll a batch, decide each input on the
//! task of its partition, and write the batch's records and offsets in one transaction.
//!
//! The pieces, each in its own module:
//! - [`super::tasks`]: the partition tasks and how an assignment change moves them (revoked
//!   ones closed, new ones rebuilt, kept ones untouched);
//! - [`super::input`]: one input decoded and decided by the [`crate::handling::Handler`];
//! - [`super::pump`]: every transaction, and what a failed one means;
//! - here: the batches. A batch read across a rebalance is dropped undecided; its records come
//!   again from the committed offsets to whoever owns them now.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::Instant;
use topology::batching::Batch;
use topology::codec::Codec;
use topology::consistency::{Positions, WRITTEN_HEADER};
use topology::kafka::{close_in_background, REJOIN_BACKOFF};
use topology::topic_names::{
    BANK_COMMANDS, TRANSFER_COMMANDS, TRANSFER_COMMAND_FEEDBACK, USER_COMMANDS,
};
use topology::trace_context;
use topology::{BankEvent, Settings, TransferCommand};
use tracing::Instrument;

use super::health::Status;
use super::input;
use super::metrics;
use super::pump::Pump;
use super::rebalance::RebalanceListener;
use super::tasks::{Member, Tasks};
use super::transactions::{WriteError, Writer};
use super::{Config, RuntimeError};
use crate::handling::Output;

/// What the group consumes: the commands, and the answers to the credits this instance's sagas
/// asked other instances for. All co-partitioned, so one member gets the same partition
/// numbers of each.
pub const CONSUMED_TOPICS: [&str; 4] = [
    USER_COMMANDS,
    BANK_COMMANDS,
    TRANSFER_COMMANDS,
    TRANSFER_COMMAND_FEEDBACK,
];

/// At most this many inputs per transaction: enough to amortise the commit round trips, small
/// enough to keep the latency of one command low.
const MAX_BATCH: usize = 200;
/// How often the loop looks for a rebalance while no input arrives, and for credits to ask
/// again.
const TICK: Duration = Duration::from_millis(250);
/// New group members in a row, without a batch committed in between, before giving up.
const MAX_REJOINS: u32 = 3;

pub async fn run(
    settings: &Settings,
    config: &Config,
    writer: Writer,
    codec: Arc<Codec>,
    status: &Status,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RuntimeError> {
    let mut worker = Loop {
        tasks: Tasks::new(
            settings,
            codec.clone(),
            &config.saga_key,
            status,
            config.state_store.clone(),
        ),
        pump: Pump::new(
            writer,
            &settings.kafka,
            &config.transactional_id,
            codec.clone(),
        ),
        codec,
        status,
        rejoins: 0,
    };
    loop {
        let consumer = join_group(settings, config)?;
        match serve(&mut worker, &consumer, &mut stop).await {
            Err(RuntimeError::MemberFailed(error)) if worker.rejoins < MAX_REJOINS => {
                // See `group_member`: also a live member that lost its coordinator is ended. A
                // real newer process of this instance is caught by the producer's fencing
                // instead, which ends this one.
                worker.rejoins += 1;
                tracing::warn!(%error, rejoin = worker.rejoins, "the group member failed; joining again with a new one");
                worker.tasks.forget_assignment();
                close_in_background(consumer);
                tokio::time::sleep(REJOIN_BACKOFF).await;
            }
            ended => return ended,
        }
    }
}

fn join_group(settings: &Settings, config: &Config) -> Result<Member, RuntimeError> {
    let consumer = settings
        .kafka
        .co_partitioned_member(
            &config.group,
            &config.transactional_id,
            RebalanceListener::default(),
        )
        .map_err(RuntimeError::Consumer)?;
    consumer
        .subscribe(&CONSUMED_TOPICS)
        .map_err(RuntimeError::Consumer)?;
    tracing::info!(group = %config.group, instance = %config.transactional_id, "joining the group");
    Ok(consumer)
}

/// Handles inputs of `consumer` until `stop`.
async fn serve(
    worker: &mut Loop<'_>,
    consumer: &Member,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), RuntimeError> {
    let mut tick = tokio::time::interval(TICK);
    loop {
        let first = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            message = consumer.recv() => Some(message),
            _ = tick.tick() => None,
        };
        if worker.tasks.rebalanced(consumer) {
            drop(first);
            worker.reassign(consumer).await?;
            continue;
        }
        let Some(first) = first else {
            worker.work_due(consumer).await?;
            continue;
        };
        let first = match first {
            Ok(message) => message,
            Err(error) => {
                consume_error(error)?;
                continue;
            }
        };
        let mut batch = vec![first];
        let mut rest = Batch::after_first(MAX_BATCH);
        // More than one waiting means load (see `topology::batching`).
        while let Some(next) = rest.next(consumer, batch.len() > 1).await {
            match next {
                Ok(message) => batch.push(message),
                Err(error) => consume_error(error)?,
            }
        }
        if worker.tasks.rebalanced(consumer) {
            drop(batch);
            worker.reassign(consumer).await?;
            continue;
        }
        let written = worker.handle_batch(consumer, &batch).await?;
        drop(batch);
        if !written {
            worker.take_over_all(consumer).await?;
        }
        // Also under steady load, when the tick never wins the race with `recv`.
        worker.work_due(consumer).await?;
    }
    tracing::info!("stopped between two batches; nothing is left uncommitted");
    Ok(())
}

struct Loop<'a> {
    tasks: Tasks<'a>,
    pump: Pump<'a>,
    codec: Arc<Codec>,
    status: &'a Status,
    /// New group members since the last committed batch.
    rejoins: u32,
}

impl Loop<'_> {
    async fn reassign(&mut self, consumer: &Member) -> Result<(), RuntimeError> {
        self.tasks.reassign(consumer, &mut self.pump).await
    }

    async fn take_over_all(&mut self, consumer: &Member) -> Result<(), RuntimeError> {
        self.tasks.take_over_all(consumer, &mut self.pump).await
    }

    /// The work no input asks for: credits asked again, expired holds released, standing
    /// orders run.
    async fn work_due(&mut self, consumer: &Member) -> Result<(), RuntimeError> {
        self.tasks
            .ask_again_if_due(consumer, &mut self.pump)
            .await?;
        self.tasks.decide_due(consumer, &mut self.pump).await
    }

    /// Decides a batch, each input on the task of its partition, and writes it; `false` when
    /// the transaction was not written and every partition must be taken over again.
    async fn handle_batch(
        &mut self,
        consumer: &Member,
        batch: &[BorrowedMessage<'_>],
    ) -> Result<bool, RuntimeError> {
        if self.tasks.handler().is_none() {
            // Read before the first takeover: the takeover rewinds, so they come again.
            return Ok(false);
        }
        let group = consumer
            .group_metadata()
            .map(Arc::new)
            .ok_or(WriteError::NoGroupMetadata)?;
        let mut outputs = Vec::new();
        let mut traces = Vec::new();
        let mut offsets = BTreeMap::new();
        let mut transfers = Vec::new();
        // What the batch's answers must name besides its own events: credits booked by other
        // instances, as their answers say (read your own writes, see `topology::consistency`).
        let mut depends_on = Positions::new();
        for message in batch {
            let Some((handler, store)) = self.tasks.for_partition(message.partition()) else {
                // No task of this instance owns it: its owner reads it from the committed offset.
                tracing::warn!(
                    topic = message.topic(),
                    partition = message.partition(),
                    "input of a partition this instance does not own; left to its owner"
                );
                continue;
            };
            // Every record an input causes continues the input's trace.
            let span = tracing::info_span!(
                "command",
                topic = message.topic(),
                trace_id = tracing::field::Empty
            );
            trace_context::follow(
                &span,
                trace_context::traceparent_header(message.headers()).as_deref(),
            );
            let (handled, transfer) = input::handle(handler, store, &self.codec, message)
                .instrument(span.clone())
                .await?;
            let traceparent = trace_context::traceparent_of(&span);
            traces.extend(std::iter::repeat_n(traceparent, handled.len()));
            outputs.extend(handled);
            transfers.extend(transfer);
            if message.topic() == TRANSFER_COMMAND_FEEDBACK {
                depends_on.merge(&written_by(message));
            }
            offsets.insert(
                (message.topic().to_string(), message.partition()),
                message.offset() + 1,
            );
        }
        let list = offset_list(&offsets)?;
        let writing = Instant::now();
        let Some(written) = self
            .pump
            .write(&outputs, &traces, &depends_on, &list, &group)
            .await?
        else {
            return Ok(false);
        };
        metrics::transaction_committed(writing.elapsed(), batch.len());
        if let Some(handler) = self.tasks.handler_mut() {
            handler.forget_settled();
        }
        self.tasks.committed(&offsets);
        self.tasks.after_commit(&outputs, &written, &transfers)?;
        self.rejoins = 0;
        self.count(batch.len(), &outputs);
        tracing::debug!(
            inputs = batch.len(),
            records = outputs.len(),
            "batch committed"
        );
        Ok(true)
    }

    fn count(&self, inputs: usize, outputs: &[Output]) {
        let started = outputs
            .iter()
            .filter(|o| matches!(o, Output::BankEvent(_, BankEvent::TransferStartedEvent(_))))
            .count() as u64;
        let across = outputs
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Output::TransferCommand(_, TransferCommand::CreditMoneyCommand(_))
                )
            })
            .count() as u64;
        metrics::commands_answered(outputs);
        let status = self.status;
        status
            .commands_handled
            .fetch_add(inputs as u64, Ordering::Relaxed);
        status
            .transfers_local
            .fetch_add(started.saturating_sub(across), Ordering::Relaxed);
        status
            .transfers_across_instances
            .fetch_add(across, Ordering::Relaxed);
    }
}

/// The event positions an answer names (none when it names none, or nothing readable: it
/// only makes a reader wait for less).
fn written_by(message: &BorrowedMessage<'_>) -> Positions {
    trace_context::header_text(message.headers(), WRITTEN_HEADER)
        .and_then(|text| Positions::parse(&text).ok())
        .unwrap_or_default()
}

/// librdkafka recovers from transient consumer errors by itself; only fatal ones (this static
/// member was fenced) end the member.
fn consume_error(error: KafkaError) -> Result<(), RuntimeError> {
    match error {
        KafkaError::MessageConsumptionFatal(_) => Err(RuntimeError::MemberFailed(error)),
        error => {
            tracing::warn!(%error, "consumer error");
            Ok(())
        }
    }
}

fn offset_list(offsets: &BTreeMap<(String, i32), i64>) -> Result<TopicPartitionList, WriteError> {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), next) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*next))
            .map_err(WriteError::Offsets)?;
    }
    Ok(list)
}
