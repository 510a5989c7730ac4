//! The event loop: replay from offset 0, become ready at the end offsets read at start, keep
//! projecting, publish derived transactions in batches.
//!
//! One consumer reads every partition of both event topics by assignment, in whatever
//! interleaving Kafka delivers them. That interleaving does not matter: `user_events` and
//! `bank_events` touch different maps of the read model, and what a `bank_events` event derives
//! depends only on the events before it in its own partition (see [`crate::projection`]). The
//! consumer's group (with publishing on) only stores the publishing position, one committed
//! offset per `bank_events` partition; it never subscribes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::message::{BorrowedMessage, Message};
use topology::codec::Codec;
use topology::kafka::ADMIN_TIMEOUT;
use topology::replay::{self, CatchUp, PartitionEnd};
use topology::topic_names::{BANK_EVENTS, USER_EVENTS};
use topology::{BankEvent, KafkaSettings, UserEvent, BANK_PARTITIONS};

use super::publisher::Publisher;
use super::{RuntimeError, Shutdown, Status};
use crate::projection::{project_user_event, BankProjector, DerivedTransaction};
use crate::publishing::PublishedPositions;
use crate::read_model::ReadModel;
use crate::source::Source;

/// The most messages handled (and derived events published in one transaction) per round.
const MAX_BATCH: usize = 1_000;
/// How long a batch that found several transfers' events waiting waits for more.
const LINGER_UNDER_LOAD: Duration = Duration::from_millis(3);
/// While catching up, how often the consumer position is read: it is what moves past
/// transaction markers, which are never delivered as messages.
const POSITION_CHECK: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// `None`: project `bank_events` only (e.g. a benchmark of a scratch topic).
    pub user_events_topic: Option<String>,
    pub bank_events_topic: String,
    /// `None`: rebuild and answer only, publish nothing.
    pub publishing: Option<PublishingConfig>,
    /// Return once caught up instead of following the topics (benchmarks).
    pub stop_when_caught_up: bool,
}

impl EventsConfig {
    /// The topology's topics, publishing with `publishing`.
    pub fn new(publishing: Option<PublishingConfig>) -> Self {
        Self {
            user_events_topic: Some(USER_EVENTS.to_string()),
            bank_events_topic: BANK_EVENTS.to_string(),
            publishing,
            stop_when_caught_up: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PublishingConfig {
    /// Consumer group whose committed `bank_events` offset is the publishing position.
    pub group: String,
    /// Stable across restarts, so a new instance fences the previous one.
    pub transactional_id: String,
}

pub async fn run(
    settings: KafkaSettings,
    codec: Arc<Codec>,
    config: EventsConfig,
    model: Arc<ReadModel>,
    status: Arc<Status>,
    mut shutdown: Shutdown,
) -> Result<(), RuntimeError> {
    let group = config.publishing.as_ref().map(|p| p.group.as_str());
    let consumer = settings
        .replay_consumer(group)
        .map_err(RuntimeError::Client)?;

    // The partitions and their ends, read once: the bank_events partitions are both what the
    // publishing position is read for and the `P` transaction ids are numbered with.
    let mut topics = vec![config.bank_events_topic.as_str()];
    topics.extend(config.user_events_topic.as_deref());
    let ends =
        tokio::task::block_in_place(|| replay::end_offsets(&consumer, &topics, ADMIN_TIMEOUT))?;
    let bank_partitions = partitions_of(&ends, &config.bank_events_topic);
    let partition_count = i32::try_from(bank_partitions.len()).unwrap_or(i32::MAX);
    if config.bank_events_topic == BANK_EVENTS && partition_count != BANK_PARTITIONS {
        tracing::warn!(
            partitions = partition_count,
            topology = BANK_PARTITIONS,
            "bank_events does not have the topology's partition count; transaction ids are numbered for the topic's"
        );
    }

    let (publisher, published) = match &config.publishing {
        Some(publishing) => {
            let (publisher, published) = Publisher::start(
                &settings,
                &publishing.transactional_id,
                &consumer,
                &publishing.group,
                &config.bank_events_topic,
                &bank_partitions,
                Arc::clone(&codec),
            )
            .await?;
            (Some(publisher), published)
        }
        None => (None, PublishedPositions::nothing()),
    };

    tokio::task::block_in_place(|| replay::assign_from_beginning(&consumer, &ends))?;
    let catch_up = CatchUp::new(&ends);
    for (topic, partition, end) in catch_up.behind() {
        tracing::info!(topic, partition, end, "replaying from offset 0");
    }

    let mut projection = Projection {
        codec,
        config: &config,
        projector: BankProjector::new(model, partition_count),
        published,
        publishing: publisher.is_some(),
        pending: Vec::new(),
        status: &status,
        catch_up,
        started: Instant::now(),
    };
    projection.check_ready();

    let mut last_position_check = Instant::now();
    loop {
        let received = tokio::select! {
            _ = shutdown.requested() => break,
            received = tokio::time::timeout(POSITION_CHECK, consumer.recv()) => received,
        };
        if let Ok(first) = received {
            projection.handle(first).await;
            // Drain what is already fetched, so one transaction carries many derived events.
            for _ in 1..MAX_BATCH {
                match consumer.recv().now_or_never() {
                    Some(next) => projection.handle(next).await,
                    None => break,
                }
            }
            // More than one transfer's worth waiting means load: a few milliseconds more fill
            // the transaction, whose cost to the broker hardly depends on its size. Idle (one
            // transfer at a time), nothing waits.
            if projection.pending.len() > 2 {
                let linger_end = tokio::time::Instant::now() + LINGER_UNDER_LOAD;
                while projection.pending.len() < MAX_BATCH {
                    match tokio::time::timeout_at(linger_end, consumer.recv()).await {
                        Ok(next) => projection.handle(next).await,
                        Err(_lingered) => break,
                    }
                }
            }
        }
        if let Some(publisher) = &publisher {
            if !projection.pending.is_empty() {
                publisher.publish(&projection.pending).await?;
                projection.pending.clear();
            }
        }
        if !status.is_ready() && last_position_check.elapsed() >= POSITION_CHECK {
            last_position_check = Instant::now();
            let positions = tokio::task::block_in_place(|| replay::positions(&consumer))?;
            projection.catch_up.observe_all(&positions);
        }
        if projection.check_ready() && config.stop_when_caught_up {
            break;
        }
    }
    Ok(())
}

/// The state of the loop between messages.
struct Projection<'a> {
    codec: Arc<Codec>,
    config: &'a EventsConfig,
    projector: BankProjector,
    /// What was published before this start, per bank_events partition.
    published: PublishedPositions,
    publishing: bool,
    /// Derived events to publish, each partition's in source-offset order.
    pending: Vec<DerivedTransaction>,
    status: &'a Status,
    catch_up: CatchUp,
    started: Instant,
}

impl Projection<'_> {
    async fn handle(&mut self, received: Result<BorrowedMessage<'_>, rdkafka::error::KafkaError>) {
        let message = match received {
            Ok(message) => message,
            Err(error) => {
                // Transient broker or network trouble; librdkafka retries by itself.
                tracing::warn!(%error, "consuming events");
                return;
            }
        };
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        if topic == self.config.bank_events_topic {
            let source = Source::written(partition, offset, message.timestamp().to_millis());
            match self.codec.decode::<BankEvent>(message.payload()).await {
                Ok(event) => self.project_bank_event(source, &event),
                Err(error) => {
                    tracing::error!(topic, partition, offset, %error, "skipping an event that cannot be decoded")
                }
            }
        } else if self.config.user_events_topic.as_deref() == Some(topic) {
            match self.codec.decode::<UserEvent>(message.payload()).await {
                Ok(event) => project_user_event(self.projector.read_model(), &event),
                Err(error) => {
                    tracing::error!(topic, partition, offset, %error, "skipping an event that cannot be decoded")
                }
            }
        }
        self.status.count_event();
        self.catch_up
            .observe(topic, partition, offset.saturating_add(1));
    }

    fn project_bank_event(&mut self, source: Source, event: &BankEvent) {
        match self.projector.project(source, event) {
            Ok(Some(derived)) => {
                if self.publishing && self.published.should_publish(&derived) {
                    self.pending.push(derived);
                }
            }
            Ok(None) => {}
            Err(error) => {
                let (partition, offset) = (source.partition, source.offset);
                tracing::error!(partition, offset, %error, "skipping an event that cannot be projected")
            }
        }
    }

    /// Marks the service ready the first time everything is caught up; returns readiness.
    fn check_ready(&mut self) -> bool {
        if self.status.is_ready() {
            return true;
        }
        if !self.catch_up.is_caught_up() {
            return false;
        }
        self.status.set_ready();
        tracing::info!(
            events = self.status.events_projected(),
            transactions = self.projector.transaction_count(),
            elapsed_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "caught up: ready"
        );
        true
    }
}

/// The partitions of `topic` among `ends`, in order. Kafka numbers them 0 to n − 1.
fn partitions_of(ends: &[PartitionEnd], topic: &str) -> Vec<i32> {
    let mut partitions: Vec<i32> = ends
        .iter()
        .filter(|end| end.topic == topic)
        .map(|end| end.partition)
        .collect();
    partitions.sort_unstable();
    partitions
}
