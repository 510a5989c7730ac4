//! Publishes derived `TransactionHappenedEvent`s, with the `AlertTriggeredEvent`s each one fired, exactly once in total, whichever instances
//! run (design: [`crate::publishing`], the publishing group: [`super::assignment`]).
//!
//! One producer transaction holds a batch of derived events of the partitions this instance
//! owns *and*, for every `bank_events` partition they come from, the offset after the last of
//! them there, committed for the publishing group with this instance's group metadata. Either
//! both are visible or neither, so the group's committed offset of each partition says exactly
//! which of that partition's derived events are out, whoever published them.
//!
//! After every assignment change this instance publishes nothing until it has read the
//! group's committed offsets again. Those reads are stable (a read_committed client asks the
//! coordinator to wait for open transactions with offsets), so they include the previous
//! owner's last commit, and a transaction that owner could still have open either commits
//! before the read answers or is refused (its generation is over) and aborted.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;
use topology::codec::Codec;
use topology::consistency::Positions;
use topology::kafka::ADMIN_TIMEOUT;
use topology::topic_names::{ALERT_EVENTS, TRANSACTION_EVENTS};
use topology::transactions::{Record, TransactionError, TransactionalWriter};
use topology::{AlertEvent, KafkaSettings, TransactionEvent};

use super::assignment::{Members, Membership, PublishingAssignment, PublishingMember};
use super::{RuntimeError, Shutdown, Status};
use crate::projection::Derived;
use crate::publishing::{offsets_to_commit, PublishQueue, PublishedPositions};

/// The most derived events in one transaction.
const MAX_BATCH: usize = 1_000;
/// How often the committed offsets of every partition are read, to drop what other instances
/// published from the queue.
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// Transactions in a row that may fail (each already retried) before the process gives up and
/// its restart rebuilds.
const MAX_FAILED_ROUNDS: u32 = 20;
/// New producers in a row, without a transaction committed in between, before giving up.
const MAX_RENEWALS: u32 = 3;

/// The committed offsets of every partition, read after assignment change `change`.
#[derive(Debug, Clone)]
struct CommittedRead {
    change: u64,
    offsets: Vec<(i32, Option<i64>)>,
}

pub struct Publisher {
    writer: TransactionalWriter,
    settings: KafkaSettings,
    instance_id: String,
    /// New producers since the last committed transaction.
    renewals: u32,
    members: Members,
    /// Until [`Publisher::join`] hands it to its task.
    membership: Option<Membership>,
    assignment: Arc<PublishingAssignment>,
    queue: PublishQueue,
    reads: watch::Receiver<Option<CommittedRead>>,
    /// The assignment change whose committed offsets were read: only then is it acted on.
    confirmed: Option<u64>,
    bank_events_topic: String,
    codec: Arc<Codec>,
    status: Arc<Status>,
    failed_rounds: u32,
}

impl Publisher {
    /// Creates the transactional producer (fencing any previous process of this instance and
    /// aborting what it left open), the publishing group member (not joined yet), and reads
    /// what every partition of `partitions` has published so far; then keeps reading that every
    /// [`REFRESH_INTERVAL`] and after every assignment change.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        settings: &KafkaSettings,
        group: &str,
        instance_id: &str,
        bank_events_topic: &str,
        partitions: &[i32],
        codec: Arc<Codec>,
        status: Arc<Status>,
        shutdown: Shutdown,
    ) -> Result<Self, RuntimeError> {
        let writer = TransactionalWriter::start(settings, instance_id)?;
        let assignment = Arc::new(PublishingAssignment::new(bank_events_topic));
        let (membership, members) =
            Membership::new(settings, group, instance_id, Arc::clone(&assignment))
                .map_err(RuntimeError::Client)?;

        let member = Arc::clone(&members.borrow());
        let first = read_committed(&member, bank_events_topic, partitions, group).await?;
        let published = PublishedPositions::from_committed(first.iter().copied());
        let last_published: Vec<(i32, i64)> = published.iter().collect();
        tracing::info!(
            instance_id,
            group,
            partitions = partitions.len(),
            ?last_published,
            "transactions initialised; derived events after the last published offsets wait for their partition's owner"
        );

        let (sender, reads) = watch::channel(None);
        tokio::spawn(refresh_committed(
            members.clone(),
            Arc::clone(&assignment),
            bank_events_topic.to_string(),
            partitions.to_vec(),
            group.to_string(),
            sender,
            shutdown,
        ));
        Ok(Self {
            writer,
            settings: settings.clone(),
            instance_id: instance_id.to_string(),
            renewals: 0,
            members,
            membership: Some(membership),
            assignment,
            queue: PublishQueue::new(published),
            reads,
            confirmed: None,
            bank_events_topic: bank_events_topic.to_string(),
            codec,
            status,
            failed_rounds: 0,
        })
    }

    /// Joins the publishing group: from now on Kafka assigns this instance a share of the
    /// partitions. Done once caught up, so a replaying instance takes nothing from an up to
    /// date one.
    pub fn join(&mut self, shutdown: Shutdown) -> Result<(), RuntimeError> {
        let Some(membership) = self.membership.take() else {
            return Ok(());
        };
        membership.join().map_err(RuntimeError::Subscribe)?;
        tokio::spawn(membership.keep(shutdown));
        tracing::info!("joined the publishing group");
        Ok(())
    }

    /// The source offset of the last derived event known to be published from `partition`.
    pub fn last_published(&self, partition: i32) -> Option<i64> {
        self.queue.positions().last_published(partition)
    }

    /// Keeps `derived` until it is published, by this instance or another.
    pub fn offer(&mut self, derived: Derived) {
        self.queue.offer(derived);
    }

    /// Publishes what waits in the partitions this instance owns, at most [`MAX_BATCH`] events
    /// in one transaction: one per round, so a backlog (e.g. a new publishing group on a long
    /// history) never stops the projection. A transaction the group refuses publishes nothing
    /// and is not an error: the assignment is read again first.
    pub async fn publish_owned(&mut self) -> Result<(), RuntimeError> {
        self.apply_committed_reads();
        let member = Arc::clone(&self.members.borrow());
        let snapshot = self.assignment.snapshot(&member);
        self.status
            .set_publishing(&snapshot.partitions, self.queue.len());
        if self.confirmed != Some(snapshot.change) {
            return Ok(());
        }
        let Some(group) = snapshot.group.map(Arc::new) else {
            return Ok(());
        };
        let batch = self.queue.next_batch(&snapshot.partitions, MAX_BATCH);
        if batch.is_empty() {
            return Ok(());
        }
        let records = self.records(&batch).await?;
        let offsets = self.offsets(&batch)?;
        let writing = std::time::Instant::now();
        match self
            .writer
            .write(&records, &Positions::new(), &offsets, &group)
            .await
        {
            Ok(_written) => {
                super::metrics::transaction_committed(writing.elapsed(), batch.len());
                tracing::debug!(events = batch.len(), "published derived events");
                self.queue.published(&batch);
                self.failed_rounds = 0;
                self.renewals = 0;
                Ok(())
            }
            // E.g. the broker refused to end a transaction whose records timed out while a
            // broker was lost. `init_transactions` of a new producer aborts what is left open.
            Err(error @ (TransactionError::Fatal(_) | TransactionError::Stuck { .. }))
                if self.renewals < MAX_RENEWALS =>
            {
                self.renewals += 1;
                tracing::warn!(%error, renewal = self.renewals, "the producer failed fatally; creating a new one");
                let new = TransactionalWriter::start(&self.settings, &self.instance_id)?;
                // Dropping a producer may wait for librdkafka to close it: not on the executor.
                topology::kafka::close_in_background(std::mem::replace(&mut self.writer, new));
                self.confirmed = None;
                Ok(())
            }
            Err(
                error @ (TransactionError::Fenced(_)
                | TransactionError::Fatal(_)
                | TransactionError::Stuck { .. }),
            ) => Err(error.into()),
            Err(error) => {
                self.failed_rounds += 1;
                tracing::warn!(%error, failed_rounds = self.failed_rounds, "publishing transaction not committed; the assignment is read again");
                if self.failed_rounds >= MAX_FAILED_ROUNDS {
                    return Err(error.into());
                }
                self.confirmed = None;
                Ok(())
            }
        }
    }

    fn apply_committed_reads(&mut self) {
        if !self.reads.has_changed().unwrap_or(false) {
            return;
        }
        let Some(read) = self.reads.borrow_and_update().clone() else {
            return;
        };
        for (partition, committed) in read.offsets {
            self.queue.learn_committed(partition, committed);
        }
        // Read after the current assignment (no change since the read began): act on it.
        if read.change == self.assignment.changes() {
            self.confirmed = Some(read.change);
        }
    }

    async fn records(&self, batch: &[Derived]) -> Result<Vec<Record>, RuntimeError> {
        let mut records = Vec::with_capacity(batch.len());
        for derived in batch {
            match derived {
                Derived::Transaction(derived) => {
                    let message = TransactionEvent::from(derived.event.clone());
                    records.push(Record {
                        topic: TRANSACTION_EVENTS,
                        key: derived.key().to_string(),
                        payload: self.codec.encode(&message).await?,
                        traceparent: derived.traceparent.clone(),
                        answer: false,
                    });
                    // In the same transaction as the transaction they judge: published exactly
                    // when it is (see `crate::alerts`).
                    for alert in &derived.alerts {
                        let message = AlertEvent::from(alert.clone());
                        records.push(Record {
                            topic: ALERT_EVENTS,
                            key: alert.iban.clone(),
                            payload: self.codec.encode(&message).await?,
                            traceparent: derived.traceparent.clone(),
                            answer: false,
                        });
                    }
                }
                Derived::RunFailure(failure) => {
                    let message = AlertEvent::from(failure.event.clone());
                    records.push(Record {
                        topic: ALERT_EVENTS,
                        key: failure.event.iban.clone(),
                        payload: self.codec.encode(&message).await?,
                        traceparent: failure.traceparent.clone(),
                        answer: false,
                    });
                }
            }
        }
        Ok(records)
    }

    fn offsets(&self, batch: &[Derived]) -> Result<TopicPartitionList, RuntimeError> {
        let mut offsets = TopicPartitionList::new();
        for (partition, next) in offsets_to_commit(batch) {
            offsets
                .add_partition_offset(&self.bank_events_topic, partition, Offset::Offset(next))
                .map_err(RuntimeError::Publish)?;
        }
        Ok(offsets)
    }
}

/// Reads the group's committed offsets every [`REFRESH_INTERVAL`] and right after every
/// assignment change, and hands them to the publisher. A failed read is logged and retried.
async fn refresh_committed(
    members: Members,
    assignment: Arc<PublishingAssignment>,
    topic: String,
    partitions: Vec<i32>,
    group: String,
    reads: watch::Sender<Option<CommittedRead>>,
    mut shutdown: Shutdown,
) {
    loop {
        let change = assignment.changes();
        let member = Arc::clone(&members.borrow());
        match read_committed(&member, &topic, &partitions, &group).await {
            Ok(offsets) => {
                reads.send_replace(Some(CommittedRead { change, offsets }));
            }
            Err(error) => tracing::warn!(%error, "reading the published offsets"),
        }
        if assignment.changes() != change {
            continue;
        }
        tokio::select! {
            _ = shutdown.requested() => return,
            _ = assignment.changed() => {}
            _ = tokio::time::sleep(REFRESH_INTERVAL) => {}
        }
    }
}

/// The group's committed offset of every partition of `partitions` (`None`: none yet).
async fn read_committed(
    member: &Arc<PublishingMember>,
    topic: &str,
    partitions: &[i32],
    group: &str,
) -> Result<Vec<(i32, Option<i64>)>, RuntimeError> {
    let committed_error = |source| RuntimeError::CommittedOffset {
        partition: format!("{topic} for group {group}"),
        source,
    };
    let mut asked = TopicPartitionList::new();
    for &partition in partitions {
        asked
            .add_partition(topic, partition)
            .set_offset(Offset::Invalid)
            .map_err(committed_error)?;
    }
    let member = Arc::clone(member);
    let committed =
        tokio::task::spawn_blocking(move || member.committed_offsets(asked, ADMIN_TIMEOUT))
            .await
            .map_err(|error| RuntimeError::Task {
                task: "reading committed offsets",
                message: error.to_string(),
            })?
            .map_err(committed_error)?;
    Ok(partitions
        .iter()
        .map(|&partition| {
            let next = committed
                .find_partition(topic, partition)
                .and_then(|element| match element.offset() {
                    Offset::Offset(next) => Some(next),
                    _ => None,
                });
            (partition, next)
        })
        .collect())
}
