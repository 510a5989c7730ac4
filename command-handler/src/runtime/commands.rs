//! The command loop: poll a batch, handle each command in order against the one in-memory
//! state, and write the batch's records and offsets in one transaction.

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
use topology::codec::{Codec, CodecError};
use topology::topic_names::{BANK_COMMANDS, TRANSFER_COMMANDS, USER_COMMANDS};
use topology::{BankCommand, Settings, TransferCommand, UserCommand};

use super::health::Status;
use super::transactions::{WriteError, Writer};
use super::{Config, RuntimeError};
use crate::domain::Fresh;
use crate::handling::{Handler, Output};

pub const COMMAND_TOPICS: [&str; 3] = [USER_COMMANDS, BANK_COMMANDS, TRANSFER_COMMANDS];

/// At most this many commands per transaction: enough to amortise the commit round trips,
/// small enough to keep the latency of one command low.
const MAX_BATCH: usize = 100;
/// How long to wait for more commands after the first of a batch.
const BATCH_WINDOW: Duration = Duration::from_millis(5);

pub async fn run(
    settings: &Settings,
    config: &Config,
    mut handler: Handler,
    writer: Writer,
    codec: Arc<Codec>,
    status: &Status,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RuntimeError> {
    // Before any command: the next step of every transfer the previous instance left open.
    let pending = handler.pending();
    if !pending.is_empty() {
        tracing::info!(commands = pending.len(), "resuming unfinished transfers");
        let records = writer.encode(&pending).await.map_err(WriteError::from)?;
        writer.write(&records, None).await?;
    }

    // Static membership under the transactional id: a restart takes over the partitions at
    // once, the same way its producer fences the old instance.
    let consumer = settings
        .kafka
        .static_member_consumer(&config.group, &config.transactional_id)
        .map_err(RuntimeError::Consumer)?;
    consumer
        .subscribe(&COMMAND_TOPICS)
        .map_err(RuntimeError::Consumer)?;
    status.set_ready();
    tracing::info!(group = %config.group, "ready: handling commands");

    loop {
        let first = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            message = consumer.recv() => message,
        };
        let first = match first {
            Ok(message) => message,
            Err(error) => {
                consume_error(error)?;
                continue;
            }
        };
        let mut batch = vec![first];
        let window_end = Instant::now() + BATCH_WINDOW;
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(window_end, consumer.recv()).await {
                Ok(Ok(message)) => batch.push(message),
                Ok(Err(error)) => consume_error(error)?,
                Err(_window_over) => break,
            }
        }

        let mut outputs = Vec::new();
        let mut offsets = BTreeMap::new();
        for message in &batch {
            outputs.extend(handle(&mut handler, &codec, message).await?);
            offsets.insert(
                (message.topic().to_string(), message.partition()),
                message.offset() + 1,
            );
        }
        let records = writer.encode(&outputs).await.map_err(WriteError::from)?;
        let offsets = offset_list(&offsets)?;
        writer.write(&records, Some((&offsets, &consumer))).await?;
        status
            .commands_handled
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        tracing::debug!(
            commands = batch.len(),
            records = records.len(),
            "batch committed"
        );
    }
    tracing::info!("stopped between two batches; nothing is left uncommitted");
    Ok(())
}

/// The records one command calls for; none for a command that cannot be read.
async fn handle(
    handler: &mut Handler,
    codec: &Codec,
    message: &BorrowedMessage<'_>,
) -> Result<Vec<Output>, RuntimeError> {
    let payload = message.payload();
    let outputs = match message.topic() {
        USER_COMMANDS => readable(codec.decode::<UserCommand>(payload).await, message)?
            .map(|command| handler.user_command(&command)),
        BANK_COMMANDS => readable(codec.decode::<BankCommand>(payload).await, message)?
            .map(|command| handler.bank_command(&command, &Fresh::generate())),
        TRANSFER_COMMANDS => readable(codec.decode::<TransferCommand>(payload).await, message)?
            .map(|command| handler.transfer_command(&command)),
        other => {
            tracing::warn!(
                topic = other,
                "record from a topic not subscribed to; skipped"
            );
            None
        }
    };
    Ok(outputs.unwrap_or_default())
}

/// `Some(command)`, or `None` for a record that will never decode (garbage, an unknown schema,
/// a record type this topic does not carry): without a readable id there is no one to answer,
/// so it is logged and its offset committed with the batch. A registry that cannot be reached
/// is an error instead, so the command is retried after a restart rather than dropped.
fn readable<C>(
    decoded: Result<C, CodecError>,
    message: &BorrowedMessage<'_>,
) -> Result<Option<C>, RuntimeError> {
    match decoded {
        Ok(command) => Ok(Some(command)),
        Err(error) if is_transient(&error) => Err(RuntimeError::TransientDecode {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            source: Box::new(error),
        }),
        Err(error) => {
            tracing::warn!(
                %error,
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                "unreadable command skipped"
            );
            Ok(None)
        }
    }
}

fn is_transient(error: &CodecError) -> bool {
    matches!(error, CodecError::Decode { source, .. } if source.retriable)
}

/// librdkafka recovers from transient consumer errors by itself; only fatal ones (e.g. this
/// static member was replaced by a newer instance) end the loop.
fn consume_error(error: KafkaError) -> Result<(), RuntimeError> {
    match error {
        KafkaError::MessageConsumptionFatal(_) => Err(RuntimeError::Consume(error)),
        error => {
            tracing::warn!(%error, "consumer error");
            Ok(())
        }
    }
}

fn offset_list(offsets: &BTreeMap<(String, i32), i64>) -> Result<TopicPartitionList, RuntimeError> {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), next) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*next))
            .map_err(RuntimeError::Consume)?;
    }
    Ok(list)
}
