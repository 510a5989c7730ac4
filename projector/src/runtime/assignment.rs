//! Which `bank_events` partitions this instance publishes the derived events of: those the
//! publishing consumer group assigns it.
//!
//! Every instance reads every partition for its read model with a consumer of its own that
//! never joins a group. Publishing is shared instead: each instance has a second consumer, a
//! static member of the publishing group (e.g. `projector`) subscribed to `bank_events`, whose
//! assignment is the set of partitions it publishes. That consumer reads nothing: it pauses
//! what it is assigned, and only keeps the membership alive and hears rebalances. Its group
//! metadata goes with every publishing transaction, so the coordinator refuses the offsets of
//! an instance whose generation is over; and since a transaction commits its derived events
//! together with those offsets, a refused transaction publishes nothing.
//!
//! The rebalance hooks run inside the member's `recv()` (see [`Membership::keep`]). A revocation
//! empties the owned set before the member rejoins, so a snapshot that still shows a partition
//! as owned carries the metadata of the generation that assigned it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rdkafka::consumer::{
    BaseConsumer, Consumer, ConsumerContext, ConsumerGroupMetadata, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::{ClientContext, TopicPartitionList};
use tokio::sync::{watch, Notify};
use topology::kafka::{close_in_background, REJOIN_BACKOFF};
use topology::KafkaSettings;

use super::Shutdown;

/// The partitions the publishing group gave this instance, kept up to date by the rebalance
/// hooks.
#[derive(Debug)]
pub struct PublishingAssignment {
    topic: String,
    owned: Mutex<BTreeSet<i32>>,
    /// Counts assignment changes; a publisher acts on an assignment only once it has read the
    /// committed offsets after it.
    changes: AtomicU64,
    changed: Notify,
}

/// What this instance owns at one moment, with the group metadata that goes with it.
pub struct OwnedSnapshot {
    pub change: u64,
    pub partitions: BTreeSet<i32>,
    pub group: Option<ConsumerGroupMetadata>,
}

impl PublishingAssignment {
    pub fn new(topic: &str) -> Self {
        Self {
            topic: topic.to_string(),
            owned: Mutex::new(BTreeSet::new()),
            changes: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    /// How many assignment changes happened so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Resolves at the next assignment change.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The owned partitions and `member`'s group metadata, read together: the hooks take the
    /// same lock, so the metadata belongs to the generation that assigned the partitions.
    pub fn snapshot(&self, member: &PublishingMember) -> OwnedSnapshot {
        let owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
        OwnedSnapshot {
            change: self.changes(),
            partitions: owned.clone(),
            group: member.group_metadata(),
        }
    }

    fn set(&self, partitions: BTreeSet<i32>) {
        let mut owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
        *owned = partitions;
        self.changes.fetch_add(1, Ordering::SeqCst);
        drop(owned);
        self.changed.notify_waiters();
    }

    fn partitions_of(&self, list: &TopicPartitionList) -> BTreeSet<i32> {
        list.elements()
            .iter()
            .filter(|element| element.topic() == self.topic)
            .map(|element| element.partition())
            .collect()
    }
}

/// The member of the publishing group; its hooks keep an [`PublishingAssignment`] up to date.
pub type PublishingMember = StreamConsumer<AssignmentHooks>;

/// The rebalance hooks of the [`PublishingMember`].
pub struct AssignmentHooks(pub Arc<PublishingAssignment>);

impl ClientContext for AssignmentHooks {
    fn error(&self, error: KafkaError, reason: &str) {
        topology::transactions::note_client_error(&error, reason);
    }

    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        topology::telemetry::record_consumer_lag(&statistics);
    }
}

impl ConsumerContext for AssignmentHooks {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => {
                let partitions = self.0.partitions_of(list);
                tracing::info!(?partitions, "publishing partitions revoked");
                self.0.set(BTreeSet::new());
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => tracing::warn!(%error, "publishing group rebalance error"),
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            // The member only marks ownership; the read-model consumer does the reading.
            if let Err(error) = consumer.pause(list) {
                tracing::warn!(%error, "pausing the publishing member's partitions");
            }
            let partitions = self.0.partitions_of(list);
            tracing::info!(?partitions, "publishing partitions assigned");
            self.0.set(partitions);
        }
    }
}

/// The current member of the publishing group, replaced when librdkafka ends one.
pub type Members = watch::Receiver<Arc<PublishingMember>>;

/// Keeps this instance in the publishing group: polls the member so that it stays in the group
/// and its rebalance hooks run, and puts a new one in place of a member librdkafka has ended.
pub struct Membership {
    settings: KafkaSettings,
    group: String,
    instance_id: String,
    assignment: Arc<PublishingAssignment>,
    current: watch::Sender<Arc<PublishingMember>>,
}

impl Membership {
    /// A member that has not joined yet (see [`Membership::join`]).
    pub fn new(
        settings: &KafkaSettings,
        group: &str,
        instance_id: &str,
        assignment: Arc<PublishingAssignment>,
    ) -> Result<(Self, Members), KafkaError> {
        let member =
            settings.group_member(group, instance_id, AssignmentHooks(Arc::clone(&assignment)))?;
        let (current, members) = watch::channel(Arc::new(member));
        let membership = Self {
            settings: settings.clone(),
            group: group.to_string(),
            instance_id: instance_id.to_string(),
            assignment,
            current,
        };
        Ok((membership, members))
    }

    /// Subscribes the member to the topic: from now on the group assigns it partitions.
    pub fn join(&self) -> Result<(), KafkaError> {
        self.current
            .borrow()
            .subscribe(&[self.assignment.topic.as_str()])
    }

    /// Runs until `shutdown`. Whatever the member reads (records fetched before a pause took
    /// effect) is dropped.
    pub async fn keep(self, mut shutdown: Shutdown) {
        loop {
            let member = Arc::clone(&self.current.borrow());
            let received = tokio::select! {
                _ = shutdown.requested() => return,
                received = member.recv() => received.map(drop),
            };
            match received {
                Ok(()) => {}
                // librdkafka ends a static member for good once it is fenced, which also
                // happens to a live member that lost its coordinator for a session (e.g. the
                // broker holding it died) and rejoined. A real newer process of this instance
                // is caught by the producer's fencing instead, which ends this one.
                Err(error @ KafkaError::MessageConsumptionFatal(_)) => {
                    tracing::warn!(%error, "the publishing group member failed; joining again with a new one");
                    // Its generation is over: nothing is owned until the new one is assigned.
                    self.assignment.set(BTreeSet::new());
                    drop(member);
                    tokio::time::sleep(REJOIN_BACKOFF).await;
                    self.replace_member();
                }
                Err(error) => tracing::warn!(%error, "publishing group member"),
            }
        }
    }

    fn replace_member(&self) {
        let joined = self
            .settings
            .group_member(
                &self.group,
                &self.instance_id,
                AssignmentHooks(Arc::clone(&self.assignment)),
            )
            .and_then(|member| {
                member.subscribe(&[self.assignment.topic.as_str()])?;
                Ok(member)
            });
        match joined {
            Ok(member) => {
                close_in_background(self.current.send_replace(Arc::new(member)));
            }
            // The failed member fails again at once, and with it the next attempt comes.
            Err(error) => tracing::warn!(%error, "creating a new publishing group member"),
        }
    }
}
