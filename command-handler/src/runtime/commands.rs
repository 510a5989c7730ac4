//! The command loop of one instance: take over the partitions the group assigns, then poll a
//! batch, handle each input in order against the state of those partitions, and write the
//! batch's records and offsets in one transaction.
//!
//! Whenever the assignment changes, and whenever a transaction could not be written, the loop
//! *takes over* its current assignment anew ([`Loop::take_over`]): it drops the state, rebuilds
//! it from the event partitions it now owns (waiting for any transaction the previous owner left
//! open, see [`crate::rebuild`]), rewinds the consumer to the group's committed offsets, and
//! finishes what the rebuilt sagas still need. A batch read across a rebalance is dropped
//! undecided; its records come again from the committed offsets to whoever owns them now.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::Instant;
use topology::codec::{Codec, CodecError};
use topology::kafka::{close_in_background, ADMIN_TIMEOUT, REJOIN_BACKOFF};
use topology::proofs::SagaKey;
use topology::topic_names::{
    BANK_COMMANDS, TRANSFER_COMMANDS, TRANSFER_COMMAND_FEEDBACK, USER_COMMANDS,
};
use topology::trace_context;
use topology::{
    BankCommand, BankEvent, Id, Settings, TransferCommand, TransferCommandFeedback, UserCommand,
};
use tracing::Instrument;

use super::health::Status;
use super::metrics;
use super::rebalance::RebalanceListener;
use super::transactions::{WriteError, Writer};
use super::{Config, RuntimeError};
use crate::domain::{CommandMeta, Fresh};
use crate::handling::{Handler, Output, Ownership};
use crate::rebuild::rebuild;
use crate::store::{Changes, Store};
use topology::topic_names::{BANK_EVENTS, USER_EVENTS};
use topology::transactions::{TransactionError, Written};

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
/// enough to keep the latency of one command low. A batch takes what has arrived by the time
/// the previous transaction committed and never waits for more: idle, a command goes alone
/// and at once; under load, the commit time itself gathers the next batch.
const MAX_BATCH: usize = 200;
/// How long a batch that found more than one input waiting waits for more.
const LINGER_UNDER_LOAD: Duration = Duration::from_millis(3);
/// How often the loop looks for a rebalance while no input arrives, and for credits to ask
/// again.
const TICK: Duration = Duration::from_millis(250);
/// A credit another instance has not answered for this long is asked for again: well within
/// the 60 s retention of the command topics, so an instance that was away for longer than that
/// still gets the question when it is back.
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(20);
/// How often the waiting credits are looked at.
const ASK_AGAIN_CHECK: Duration = Duration::from_secs(5);
/// New producers in a row, without a batch committed in between, before the process gives up.
const MAX_RENEWALS: u32 = 3;
/// Takeovers in a row that may fail to write what the rebuilt sagas need before giving up.
const MAX_TAKEOVER_ATTEMPTS: u32 = 5;
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
        store: None,
        store_path: config.state_store.clone(),
        unwritten: Changes::default(),
        settings,
        transactional_id: &config.transactional_id,
        saga_key: &config.saga_key,
        producer_failed: false,
        renewals: 0,
        rejoins: 0,
        writer,
        codec,
        status,
        handler: None,
        acted_on_changes: 0,
        committed: BTreeMap::new(),
        awaiting: HashMap::new(),
        last_ask_check: Instant::now(),
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
                worker.forget_assignment();
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
        if worker.rebalanced(consumer) {
            drop(first);
            worker.take_over(consumer).await?;
            continue;
        }
        let Some(first) = first else {
            worker.ask_again_if_due(consumer).await?;
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
        while batch.len() < MAX_BATCH {
            match consumer.recv().now_or_never() {
                Some(Ok(message)) => batch.push(message),
                Some(Err(error)) => consume_error(error)?,
                None => break,
            }
        }
        // More than one waiting means load: a few milliseconds more fill the transaction,
        // whose cost to the broker hardly depends on its size. Idle, nothing waits.
        if batch.len() > 1 {
            let linger_end = Instant::now() + LINGER_UNDER_LOAD;
            while batch.len() < MAX_BATCH {
                match tokio::time::timeout_at(linger_end, consumer.recv()).await {
                    Ok(Ok(message)) => batch.push(message),
                    Ok(Err(error)) => consume_error(error)?,
                    Err(_lingered) => break,
                }
            }
        }
        if worker.rebalanced(consumer) {
            drop(batch);
            worker.take_over(consumer).await?;
            continue;
        }
        let written = worker.handle_batch(consumer, &batch).await?;
        drop(batch);
        if !written {
            worker.take_over(consumer).await?;
        }
        // Also under steady load, when the tick never wins the race with `recv`.
        worker.ask_again_if_due(consumer).await?;
    }
    tracing::info!("stopped between two batches; nothing is left uncommitted");
    Ok(())
}

/// The group member every input comes from.
type Member = StreamConsumer<RebalanceListener>;

struct Loop<'a> {
    /// The local state store once opened (see [`crate::store`]).
    store: Option<Store>,
    /// Where the state store is, if one is configured.
    store_path: Option<std::path::PathBuf>,
    /// Committed batches not written to the store yet (its background fsync held it): their
    /// history stays in memory until they are.
    unwritten: Changes,
    settings: &'a Settings,
    transactional_id: &'a str,
    /// Signs and checks the credits that cross between instances.
    saga_key: &'a SagaKey,
    writer: Writer,
    /// The producer failed fatally: only a new one can go on (see [`Loop::renew_writer`]).
    producer_failed: bool,
    /// New producers since the last committed batch.
    renewals: u32,
    /// New group members since the last committed batch.
    rejoins: u32,
    codec: Arc<Codec>,
    status: &'a Status,
    /// The state of the owned partitions; `None` until the first assignment is taken over.
    handler: Option<Handler>,
    /// The rebalance count the current state was built for.
    acted_on_changes: u64,
    /// The next offset of every consumed partition as committed: sent with transactions that
    /// consume nothing, so that they are fenced like any other once the group moved on.
    committed: BTreeMap<(String, i32), i64>,
    /// Transfers waiting for another instance's credit, and since when.
    awaiting: HashMap<Id, Instant>,
    last_ask_check: Instant,
}

impl Loop<'_> {
    fn rebalanced(&self, consumer: &Member) -> bool {
        consumer.context().changes() != self.acted_on_changes
    }

    /// Before a new group member: whatever it is assigned is taken over from scratch.
    fn forget_assignment(&mut self) {
        self.handler = None;
        self.awaiting.clear();
        self.acted_on_changes = 0;
    }

    /// Opens the configured state store if it is not open yet. One that cannot be opened (an
    /// older process of this instance still holds it, before it notices it was fenced) is
    /// done without until a later takeover: the state then lives in memory, which costs memory
    /// and replay time, never correctness.
    fn open_store(&mut self) {
        let Some(path) = self.store_path.as_deref().filter(|_| self.store.is_none()) else {
            return;
        };
        match tokio::task::block_in_place(|| Store::open(path)) {
            Ok(store) => self.store = Some(store),
            Err(error) => {
                tracing::warn!(%error, "the state store cannot be opened; keeping the state in memory until the next takeover")
            }
        }
    }

    /// Drops the state and builds it again for the current assignment (see the module docs).
    async fn take_over(&mut self, consumer: &Member) -> Result<(), RuntimeError> {
        self.open_store();
        // What the store misses of committed batches is in the log after its offsets.
        self.unwritten = Changes::default();
        for attempt in 1..=MAX_TAKEOVER_ATTEMPTS {
            if self.producer_failed {
                self.renew_writer()?;
            }
            self.acted_on_changes = consumer.context().changes();
            self.handler = None;
            self.awaiting.clear();
            let assignment = consumer.assignment().map_err(RuntimeError::Consume)?;
            let owned = owned_partitions(&assignment);
            tracing::info!(partitions = ?owned.partitions().collect::<Vec<_>>(), attempt, "taking over partitions");
            let rebuild_started = Instant::now();
            let replayed_before = self.status.records_replayed.load(Ordering::Relaxed);
            let mut handler = rebuild(
                &self.settings.kafka,
                &self.codec,
                owned.clone(),
                &self.status.records_replayed,
                self.store.as_ref(),
            )
            .await
            .map_err(|e| RuntimeError::Rebuild(Box::new(e)))?
            .with_saga_key(self.saga_key.clone());
            let replayed = self.status.records_replayed.load(Ordering::Relaxed);
            metrics::rebuilt(
                rebuild_started.elapsed(),
                replayed.saturating_sub(replayed_before),
            );
            self.rewind(consumer, &assignment)?;
            let resumed = handler.resume();
            let waiting = handler.awaiting_remote();
            let open = handler.open_transfers() as u64;
            self.status.open_transfers.store(open, Ordering::Relaxed);
            metrics::open_transfers(open);
            self.handler = Some(handler);
            if !resumed.is_empty() {
                tracing::info!(
                    records = resumed.len(),
                    "finishing transfers the log left open"
                );
                match self.write_unprompted(consumer, &resumed).await {
                    Ok(written) => self.persist(&resumed, &written, &[])?,
                    Err(error) if self.recoverable(&error) => {
                        tracing::warn!(%error, "could not finish the open transfers; taking over again");
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            let now = Instant::now();
            self.awaiting = waiting.into_iter().map(|id| (id, now)).collect();
            self.status.rebuilds.fetch_add(1, Ordering::Relaxed);
            self.status.set_partitions(owned.partitions().collect());
            self.status.set_ready();
            return Ok(());
        }
        Err(RuntimeError::TakeOver {
            attempts: MAX_TAKEOVER_ATTEMPTS,
        })
    }

    /// Positions every assigned partition at the group's committed offset (or the first
    /// retained record), so nothing read but not committed is skipped, and remembers those
    /// offsets.
    fn rewind(
        &mut self,
        consumer: &Member,
        assignment: &TopicPartitionList,
    ) -> Result<(), RuntimeError> {
        self.committed.clear();
        if assignment.count() == 0 {
            return Ok(());
        }
        let committed = tokio::task::block_in_place(|| {
            consumer.committed_offsets(assignment.clone(), ADMIN_TIMEOUT)
        })
        .map_err(RuntimeError::Consume)?;
        // Nothing committed yet: consumption starts at the first retained record. That offset
        // is remembered like a committed one, so that even the first transactions of a new
        // group carry offsets, and with them the group's fencing.
        let elements = committed.elements();
        let uncommitted: Vec<(&str, i32)> = elements
            .iter()
            .filter(|element| !matches!(element.offset(), Offset::Offset(_)))
            .map(|element| (element.topic(), element.partition()))
            .collect();
        let first_retained = first_retained_offsets(consumer, &uncommitted)?;
        let mut seek = TopicPartitionList::new();
        for element in &elements {
            let (topic, partition) = (element.topic(), element.partition());
            let next = match element.offset() {
                Offset::Offset(next) => next,
                _ => first_retained
                    .get(&(topic, partition))
                    .copied()
                    .unwrap_or_default(),
            };
            self.committed.insert((topic.to_string(), partition), next);
            let offset = Offset::Offset(next);
            seek.add_partition_offset(topic, partition, offset)
                .map_err(RuntimeError::Consume)?;
        }
        let sought = tokio::task::block_in_place(|| consumer.seek_partitions(seek, ADMIN_TIMEOUT))
            .map_err(RuntimeError::Consume)?;
        // A partition assigned a moment ago may not fetch yet and refuses the seek; it starts
        // at the committed offset anyway. The seek matters after an aborted batch, when every
        // partition is fetching.
        for element in sought.elements() {
            if let Err(error) = element.error() {
                tracing::warn!(topic = element.topic(), partition = element.partition(), %error, "rewinding a partition");
            }
        }
        Ok(())
    }

    /// Decides a batch and writes it; `false` when the transaction was aborted and the state
    /// must be taken over again.
    async fn handle_batch(
        &mut self,
        consumer: &Member,
        batch: &[BorrowedMessage<'_>],
    ) -> Result<bool, RuntimeError> {
        let Some(handler) = self.handler.as_mut() else {
            // Read before the first takeover: the takeover rewinds, so they come again.
            return Ok(false);
        };
        let group = consumer
            .group_metadata()
            .map(Arc::new)
            .ok_or(WriteError::NoGroupMetadata)?;
        let mut outputs = Vec::new();
        let mut traces = Vec::new();
        let mut offsets = BTreeMap::new();
        let mut transfers = Vec::new();
        for message in batch {
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
            let (handled, transfer) = handle(handler, self.store.as_ref(), &self.codec, message)
                .instrument(span.clone())
                .await?;
            let traceparent = trace_context::traceparent_of(&span);
            traces.extend(std::iter::repeat_n(traceparent, handled.len()));
            outputs.extend(handled);
            transfers.extend(transfer);
            offsets.insert(
                (message.topic().to_string(), message.partition()),
                message.offset() + 1,
            );
        }
        let records = self
            .writer
            .encode(&outputs, &traces)
            .await
            .map_err(WriteError::from)?;
        let list = offset_list(&offsets)?;
        let writing = Instant::now();
        let written = match self.writer.write(&records, &list, &group).await {
            Ok(written) => {
                metrics::transaction_committed(writing.elapsed(), batch.len());
                written
            }
            Err(error) if self.recoverable(&error) => {
                tracing::warn!(%error, "batch not written; taking the partitions over again");
                return Ok(false);
            }
            Err(error) => return Err(error.into()),
        };
        handler.forget_settled();
        self.persist(&outputs, &written, &transfers)?;
        let Some(handler) = self.handler.as_ref() else {
            return Ok(false);
        };
        let open = handler.open_transfers() as u64;
        self.status.open_transfers.store(open, Ordering::Relaxed);
        metrics::open_transfers(open);
        self.committed.extend(offsets);
        self.renewals = 0;
        self.rejoins = 0;
        self.count(batch.len(), &outputs);
        tracing::debug!(
            inputs = batch.len(),
            records = records.len(),
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

    /// Asks again for credits another instance has not answered for [`ASK_AGAIN_AFTER`].
    async fn ask_again_if_due(&mut self, consumer: &Member) -> Result<(), RuntimeError> {
        if self.last_ask_check.elapsed() < ASK_AGAIN_CHECK {
            return Ok(());
        }
        self.last_ask_check = Instant::now();
        let Some(handler) = self.handler.as_ref() else {
            return Ok(());
        };
        let waiting: BTreeSet<Id> = handler.awaiting_remote().into_iter().collect();
        self.awaiting.retain(|id, _| waiting.contains(id));
        let now = Instant::now();
        let mut outputs = Vec::new();
        for id in waiting {
            let since = self.awaiting.entry(id).or_insert(now);
            if now.duration_since(*since) >= ASK_AGAIN_AFTER {
                outputs.extend(handler.ask_again(id));
                *since = now;
            }
        }
        if outputs.is_empty() {
            return Ok(());
        }
        tracing::info!(
            credits = outputs.len(),
            "asking other instances again for unanswered credits"
        );
        match self.write_unprompted(consumer, &outputs).await {
            Ok(written) => self.persist(&outputs, &written, &[]),
            Err(error) if self.recoverable(&error) => {
                tracing::warn!(%error, "asking again failed; taking the partitions over again");
                self.take_over(consumer).await
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Whether the loop goes on after `error` by taking its partitions over again. A fatal
    /// producer error counts too, e.g. after a pause past the transaction timeout, when the
    /// coordinator has aborted the transaction under the producer: the takeover first creates a
    /// new producer. Being fenced by a newer process of this instance does not.
    fn recoverable(&mut self, error: &WriteError) -> bool {
        match error {
            WriteError::Transaction(
                TransactionError::LostOwnership(_) | TransactionError::GaveUp { .. },
            ) => true,
            WriteError::Transaction(
                TransactionError::Fatal(_) | TransactionError::Stuck { .. },
            ) => {
                self.producer_failed = true;
                true
            }
            _ => false,
        }
    }

    /// Replaces a fatally failed producer; `init_transactions` under the same transactional id
    /// aborts whatever the old one left open. Gives up when producers keep failing before any
    /// batch commits.
    fn renew_writer(&mut self) -> Result<(), RuntimeError> {
        self.renewals += 1;
        if self.renewals > MAX_RENEWALS {
            return Err(RuntimeError::ProducerKeepsFailing {
                renewals: MAX_RENEWALS,
            });
        }
        tracing::warn!(
            renewal = self.renewals,
            "the producer failed fatally; creating a new one"
        );
        self.writer = Writer::start(
            &self.settings.kafka,
            self.transactional_id,
            self.codec.clone(),
        )?;
        self.producer_failed = false;
        Ok(())
    }

    /// Writes what a committed transaction changed to the state store: the rows its events
    /// (and the transfers of its inputs, whose saga may have moved without an event) touched,
    /// with the offsets Kafka gave those events. Then the handler forgets the history the store
    /// now holds.
    fn persist(
        &mut self,
        outputs: &[Output],
        written: &Written,
        inputs: &[Id],
    ) -> Result<(), RuntimeError> {
        let (Some(store), Some(handler)) = (self.store.as_ref(), self.handler.as_mut()) else {
            return Ok(());
        };
        let mut changes = Changes::of(outputs, inputs);
        let owned: BTreeSet<i32> = handler.ownership().partitions().collect();
        for ((topic, partition), next) in written {
            // Only this instance writes its partitions, so these offsets are the log's.
            if (topic == USER_EVENTS || topic == BANK_EVENTS) && owned.contains(partition) {
                changes.position(topic, *partition, *next);
            }
        }
        self.unwritten.absorb(changes);
        let stored = tokio::task::block_in_place(|| {
            store.write(handler.state(), handler.saga(), &self.unwritten, false)
        })
        .map_err(|error| RuntimeError::Store(Box::new(error)))?;
        if stored {
            self.unwritten = Changes::default();
            handler.forget_history();
        }
        Ok(())
    }

    /// Writes records no input asked for, with the committed offsets of the owned partitions,
    /// so the group still fences the transaction if this instance lost them.
    async fn write_unprompted(
        &self,
        consumer: &Member,
        outputs: &[Output],
    ) -> Result<Written, WriteError> {
        let group = consumer
            .group_metadata()
            .map(Arc::new)
            .ok_or(WriteError::NoGroupMetadata)?;
        let records = self.writer.encode(outputs, &[]).await?;
        let offsets = offset_list(&self.committed)?;
        self.writer.write(&records, &offsets, &group).await
    }
}

/// The partitions of the assignment. With the range assignor and co-partitioned topics every
/// consumed topic has the same ones; a partition counts as owned only when all of them are
/// assigned, so no account is decided without its whole input.
fn owned_partitions(assignment: &TopicPartitionList) -> Ownership {
    let mut per_topic: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for element in assignment.elements() {
        per_topic
            .entry(element.topic().to_string())
            .or_default()
            .insert(element.partition());
    }
    let mut sets = CONSUMED_TOPICS
        .iter()
        .map(|topic| per_topic.remove(*topic).unwrap_or_default());
    let first = sets.next().unwrap_or_default();
    let mut owned = first.clone();
    for set in sets {
        if set != first {
            tracing::warn!(?first, ?set, "topics assigned with different partitions");
        }
        owned = owned.intersection(&set).copied().collect();
    }
    Ownership::new(owned)
}

/// The records one input calls for (none for a record that cannot be read), and the transfer
/// it may be about. What the state store kept of that transfer is recalled first: a command,
/// or an answer, of a transfer is decided on its whole history.
async fn handle(
    handler: &mut Handler,
    store: Option<&Store>,
    codec: &Codec,
    message: &BorrowedMessage<'_>,
) -> Result<(Vec<Output>, Option<Id>), RuntimeError> {
    let recall = |handler: &mut Handler, transfer: Id| -> Result<Option<Id>, RuntimeError> {
        if let Some(store) = store {
            let facts = tokio::task::block_in_place(|| store.facts(transfer))
                .map_err(|error| RuntimeError::Store(Box::new(error)))?;
            handler.recall(transfer, facts);
        }
        Ok(Some(transfer))
    };
    let payload = message.payload();
    let handled = match message.topic() {
        USER_COMMANDS => readable(codec.decode::<UserCommand>(payload).await, message)?
            .map(|command| (handler.user_command(&command), None)),
        BANK_COMMANDS => match readable(codec.decode::<BankCommand>(payload).await, message)? {
            // Only a transfer's commands need history; the id of any other is a fresh uuid.
            Some(command) => {
                let transfer = match &command {
                    BankCommand::MoneyTransferCommand(_) => recall(handler, command.command_id())?,
                    // A final mark never travels (the handler ignores one read from Kafka).
                    _ => None,
                };
                Some((handler.bank_command(&command, &Fresh::generate()), transfer))
            }
            None => None,
        },
        TRANSFER_COMMANDS => {
            match readable(codec.decode::<TransferCommand>(payload).await, message)? {
                Some(command) => {
                    let transfer = if handler.sent_by_a_saga(&command) {
                        recall(handler, command.command_id())?
                    } else {
                        None
                    };
                    Some((handler.transfer_command(&command), transfer))
                }
                None => None,
            }
        }
        TRANSFER_COMMAND_FEEDBACK => match readable(
            codec.decode::<TransferCommandFeedback>(payload).await,
            message,
        )? {
            Some(feedback) => {
                let id = match &feedback {
                    TransferCommandFeedback::CommandSucceeded(ok) => ok.id,
                    TransferCommandFeedback::CommandFailed(failed) => failed.id,
                };
                let transfer = recall(handler, id)?;
                Some((handler.transfer_feedback(&feedback), transfer))
            }
            None => None,
        },
        other => {
            tracing::warn!(
                topic = other,
                "record from a topic not subscribed to; skipped"
            );
            None
        }
    };
    Ok(handled.unwrap_or_default())
}

/// `Some(input)`, or `None` for a record that will never decode (garbage, an unknown schema, a
/// record type this topic does not carry): without a readable id there is no one to answer, so
/// it is logged and its offset committed with the batch. A registry that cannot be reached is
/// an error instead, so the input is retried after a restart rather than dropped.
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
                "unreadable input skipped"
            );
            Ok(None)
        }
    }
}

fn is_transient(error: &CodecError) -> bool {
    matches!(error, CodecError::Decode { source, .. } if source.retriable)
}

/// The low watermark of each of `partitions`, asked side by side: one at a time, each took
/// about half a second, 24 s for the 48 partitions of a group that has committed nothing yet.
fn first_retained_offsets<'a>(
    consumer: &Member,
    partitions: &[(&'a str, i32)],
) -> Result<HashMap<(&'a str, i32), i64>, RuntimeError> {
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let asked: Vec<_> = partitions
                .iter()
                .map(|&(topic, partition)| {
                    let asking = scope
                        .spawn(move || consumer.fetch_watermarks(topic, partition, ADMIN_TIMEOUT));
                    ((topic, partition), asking)
                })
                .collect();
            asked
                .into_iter()
                .map(|(key, asking)| {
                    let (low, _high) = asking
                        .join()
                        .map_err(|_| RuntimeError::WatermarkThread)?
                        .map_err(RuntimeError::Consume)?;
                    Ok((key, low))
                })
                .collect()
        })
    })
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
