//! The event loop: replay from offset 0, become ready at the end offsets read at start, keep
//! projecting, publish derived transactions in batches.
//!
//! One consumer reads both event topics by assignment; `user_events` and `bank_events` touch
//! different maps of the read model, so their interleaving does not matter. The consumer's
//! group (with publishing on) only stores the publishing position; it never subscribes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::message::{BorrowedMessage, Message};
use topology::codec::Codec;
use topology::kafka::ADMIN_TIMEOUT;
use topology::replay::{self, CatchUp};
use topology::topic_names::{BANK_EVENTS, USER_EVENTS};
use topology::{BankEvent, KafkaSettings, UserEvent};

use super::publisher::Publisher;
use super::{RuntimeError, Shutdown, Status};
use crate::projection::{project_user_event, BankProjector, DerivedTransaction};
use crate::publishing::should_publish;
use crate::read_model::ReadModel;

/// The most messages handled (and derived events published in one transaction) per round.
const MAX_BATCH: usize = 1_000;
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
    let (consumer, publisher, last_published) = match &config.publishing {
        Some(publishing) => {
            let consumer = settings
                .replay_consumer(Some(&publishing.group))
                .map_err(RuntimeError::Client)?;
            let (publisher, last_published) = Publisher::start(
                &settings,
                &publishing.transactional_id,
                &consumer,
                &publishing.group,
                &config.bank_events_topic,
                Arc::clone(&codec),
            )
            .await?;
            (consumer, Some(publisher), last_published)
        }
        None => {
            let consumer = settings
                .replay_consumer(None)
                .map_err(RuntimeError::Client)?;
            (consumer, None, None)
        }
    };

    let mut topics = vec![config.bank_events_topic.as_str()];
    topics.extend(config.user_events_topic.as_deref());
    let catch_up =
        tokio::task::block_in_place(|| replay::start(&consumer, &topics, ADMIN_TIMEOUT))?;
    for (topic, partition, end) in catch_up.behind() {
        tracing::info!(topic, partition, end, "replaying from offset 0");
    }

    let mut projection = Projection {
        codec,
        config: &config,
        projector: BankProjector::new(model),
        last_published,
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
    last_published: Option<i64>,
    publishing: bool,
    /// Derived events to publish, in source-offset order.
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
            match self.codec.decode::<BankEvent>(message.payload()).await {
                Ok(event) => self.project_bank_event(offset, &event),
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

    fn project_bank_event(&mut self, offset: i64, event: &BankEvent) {
        match self.projector.project(offset, event) {
            Ok(Some(derived)) => {
                if self.publishing && should_publish(derived.source_offset, self.last_published) {
                    self.pending.push(derived);
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(offset, %error, "skipping an event that cannot be projected")
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
            transactions = self.projector.last_transaction_id(),
            elapsed_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "caught up: ready"
        );
        true
    }
}
