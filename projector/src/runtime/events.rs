//! The event loop: replay from offset 0, become ready at the end offsets read at start, keep
//! projecting, publish derived transactions in batches.
//!
//! One consumer reads every partition of both event topics by assignment, in whatever
//! interleaving Kafka delivers them, in every instance. That interleaving does not matter:
//! `user_events` and `bank_events` touch different maps of the read model, and what a
//! `bank_events` event derives depends only on the events before it in its own partition (see
//! [`crate::projection`]). Derived events go to the [`Publisher`], which publishes those of the
//! partitions the publishing group gave this instance.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use topology::batching::Batch;
use topology::codec::Codec;
use topology::kafka::ADMIN_TIMEOUT;
use topology::replay::{self, CatchUp, PartitionEnd};
use topology::telemetry::LagReporter;
use topology::topic_names::{BANK_EVENTS, USER_EVENTS};
use topology::trace_context;
use topology::{BankEvent, KafkaSettings, UserEvent, BANK_PARTITIONS};

use super::publisher::Publisher;
use super::{metrics, RuntimeError, Shutdown, Status};
use crate::projection::{project_user_event, BankProjector, Derived};
use crate::publishing::stored_news;
use crate::read_model::ReadModel;
use crate::source::Source;
use crate::store::{Identity, Store};

/// The most messages handled per round.
const MAX_BATCH: usize = 1_000;
/// How often the rounds projected since go to the state store. Readers see what is not written
/// yet (see [`crate::read_model`]), so this only sets how much a crash replays and how many
/// store transactions a catch-up costs.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
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
    /// The local state store's file; `None`: keep everything in memory and replay from
    /// offset 0 at every start.
    pub store: Option<PathBuf>,
}

impl EventsConfig {
    /// The topology's topics, publishing with `publishing`.
    pub fn new(publishing: Option<PublishingConfig>) -> Self {
        Self {
            user_events_topic: Some(USER_EVENTS.to_string()),
            bank_events_topic: BANK_EVENTS.to_string(),
            publishing,
            stop_when_caught_up: false,
            store: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PublishingConfig {
    /// Consumer group that shares the `bank_events` partitions out for publishing; its
    /// committed offsets are the publishing positions.
    pub group: String,
    /// This instance's transactional id and static member id in the group; stable across
    /// restarts (a restart fences the previous process) and different for every instance.
    pub instance_id: String,
}

/// The event consumer, the partitions' ends, and the read model: empty, or loaded from the
/// state store with the positions to go on from.
pub struct Opened {
    consumer: StreamConsumer<LagReporter>,
    ends: Vec<PartitionEnd>,
    model: Arc<ReadModel>,
    /// (topic, partition) → next offset to read, from the state store.
    positions: BTreeMap<(String, i32), i64>,
    /// Transaction ids handed out per partition, from the state store.
    issued: BTreeMap<i32, i64>,
}

impl Opened {
    pub fn model(&self) -> &Arc<ReadModel> {
        &self.model
    }
}

/// Reads the end offsets of the event topics and opens the read model: over the state store
/// of `config.store` (checked against those ends, see [`crate::store`]), or in memory.
pub fn open(settings: &KafkaSettings, config: &EventsConfig) -> Result<Opened, RuntimeError> {
    let consumer = settings
        .observed_consumer("projector-events", None)
        .map_err(RuntimeError::Client)?;
    let mut topics = vec![config.bank_events_topic.as_str()];
    topics.extend(config.user_events_topic.as_deref());
    let ends =
        tokio::task::block_in_place(|| replay::end_offsets(&consumer, &topics, ADMIN_TIMEOUT))?;
    let Some(path) = &config.store else {
        let model = Arc::new(ReadModel::with_store(Store::in_memory()?));
        return Ok(Opened {
            consumer,
            ends,
            model,
            positions: BTreeMap::new(),
            issued: BTreeMap::new(),
        });
    };
    let started = Instant::now();
    let identity = Identity {
        cluster_id: tokio::task::block_in_place(|| {
            consumer.client().fetch_cluster_id(ADMIN_TIMEOUT)
        })
        .unwrap_or_default(),
        bank_events_topic: config.bank_events_topic.clone(),
        user_events_topic: config.user_events_topic.clone(),
        partitions: i32::try_from(partitions_of(&ends, &config.bank_events_topic).len())
            .unwrap_or(i32::MAX),
    };
    let (store, restored) = match tokio::task::block_in_place(|| {
        Store::open(path, &identity, &ends)
    }) {
        Ok(opened) => opened,
        // E.g. an older process of this instance still holds it, until it notices that it was
        // fenced. Without the store everything is replayed and held in memory: slower, as
        // correct.
        Err(error) => {
            tracing::warn!(%error, "the state store cannot be opened; keeping the read model in memory");
            (Store::in_memory()?, None)
        }
    };
    let model = Arc::new(ReadModel::with_store(store));
    let (positions, issued) = match restored {
        Some(restored) => {
            let positions = restored.positions.clone();
            let issued = restored.issued.clone();
            let accounts = restored.accounts.len();
            model.restore(restored);
            tracing::info!(
                path = %path.display(),
                accounts,
                transactions = model.transaction_count(),
                elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "state store loaded; replaying what was written after it"
            );
            (positions, issued)
        }
        None => {
            if model.store().is_on_disk() {
                tracing::info!(path = %path.display(), "new state store; replaying from offset 0");
            }
            (BTreeMap::new(), BTreeMap::new())
        }
    };
    Ok(Opened {
        consumer,
        ends,
        model,
        positions,
        issued,
    })
}

pub async fn run(
    settings: KafkaSettings,
    codec: Arc<Codec>,
    config: EventsConfig,
    opened: Opened,
    status: Arc<Status>,
    mut shutdown: Shutdown,
) -> Result<(), RuntimeError> {
    let Opened {
        consumer,
        ends,
        model,
        positions,
        issued,
    } = opened;

    // The bank_events partitions are both what the publishing positions are read for and the
    // `P` transaction ids are numbered with.
    let bank_partitions = partitions_of(&ends, &config.bank_events_topic);
    let partition_count = i32::try_from(bank_partitions.len()).unwrap_or(i32::MAX);
    if config.bank_events_topic == BANK_EVENTS && partition_count != BANK_PARTITIONS {
        tracing::warn!(
            partitions = partition_count,
            topology = BANK_PARTITIONS,
            "bank_events does not have the topology's partition count; transaction ids are numbered for the topic's"
        );
    }

    let mut publisher = match &config.publishing {
        Some(publishing) => Some(
            Publisher::start(
                &settings,
                &publishing.group,
                &publishing.instance_id,
                &config.bank_events_topic,
                &bank_partitions,
                Arc::clone(&codec),
                Arc::clone(&status),
                shutdown.clone(),
            )
            .await?,
        ),
        None => None,
    };

    // What the state store already projected is not projected again; of its derived events,
    // those not published yet are read back from it.
    let last_projected: BTreeMap<i32, i64> = positions
        .iter()
        .filter(|((topic, _), _)| *topic == config.bank_events_topic)
        .map(|(&(_, partition), &next)| (partition, next - 1))
        .collect();
    if let Some(publisher) = &mut publisher {
        for partition in &bank_partitions {
            let after = publisher.last_published(*partition);
            let count = issued.get(partition).copied().unwrap_or(0);
            let stored = tokio::task::block_in_place(|| {
                stored_news(model.store(), partition_count, *partition, count, after)
            })?;
            for derived in stored {
                publisher.offer(derived);
            }
        }
    }

    status.progress().advance(&positions);
    tokio::task::block_in_place(|| replay::assign_from(&consumer, &ends, &positions))?;
    let mut catch_up = CatchUp::new(&ends);
    for ((topic, partition), next) in &positions {
        catch_up.observe(topic, *partition, *next);
    }
    for (topic, partition, end) in catch_up.behind() {
        let from = positions
            .get(&(topic.to_string(), partition))
            .copied()
            .unwrap_or(0);
        tracing::info!(topic, partition, from, end, "replaying");
    }

    let mut projection = Projection {
        codec,
        config: &config,
        projector: BankProjector::resume(model, partition_count, &issued, &last_projected),
        publisher,
        derived_in_round: 0,
        moved: BTreeMap::new(),
        last_flush: Instant::now(),
        writing: None,
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
        projection.derived_in_round = 0;
        if let Ok(first) = received {
            projection.handle(first).await;
            // What is already fetched, and under load (more than one transfer's worth derived)
            // a few milliseconds more: one transaction carries many derived events.
            let mut rest = Batch::after_first(MAX_BATCH);
            while projection.derived_in_round < MAX_BATCH {
                let under_load = projection.derived_in_round > 2;
                let Some(next) = rest.next(&consumer, under_load).await else {
                    break;
                };
                projection.handle(next).await;
            }
            // Queries waiting for these positions may be answered now (see `read_after`).
            status.progress().advance(&projection.moved);
        }
        if projection.last_flush.elapsed() >= FLUSH_EVERY {
            projection.flush(false).await?;
        }
        if let Some(publisher) = &mut projection.publisher {
            publisher.publish_owned().await?;
        }
        if !status.is_ready() && last_position_check.elapsed() >= POSITION_CHECK {
            last_position_check = Instant::now();
            let positions = tokio::task::block_in_place(|| replay::positions(&consumer))?;
            projection.catch_up.observe_all(&positions);
        }
        if projection.check_ready() {
            if let Some(publisher) = &mut projection.publisher {
                publisher.join(shutdown.clone())?;
            }
            if config.stop_when_caught_up {
                break;
            }
        }
    }
    projection.flush(true).await?;
    Ok(())
}

/// The state of the loop between messages.
struct Projection<'a> {
    codec: Arc<Codec>,
    config: &'a EventsConfig,
    projector: BankProjector,
    publisher: Option<Publisher>,
    /// Derived events of this round, published or not: a measure of load.
    derived_in_round: usize,
    /// (topic, partition) → next offset, of the partitions read since the last flush.
    moved: BTreeMap<(String, i32), i64>,
    last_flush: Instant,
    /// The state store write of the last round, on a blocking thread.
    writing: Option<tokio::task::JoinHandle<Result<(), crate::store::StoreError>>>,
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
                Ok(event) => {
                    // No span per event: a replay projects millions. The derived transaction
                    // carries the money event's trace as it came.
                    let traceparent = trace_context::traceparent_header(message.headers());
                    self.project_bank_event(source, &event, traceparent)
                }
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
        metrics::event_projected();
        let next = offset.saturating_add(1);
        self.catch_up.observe(topic, partition, next);
        self.moved.insert((topic.to_string(), partition), next);
    }

    /// Hands what was projected since the last flush, with the positions it reflects, to a
    /// thread that writes it to the state store, so the loop never waits for the disk. While
    /// that thread still writes the previous round, the changes wait for the next flush (at
    /// shutdown, `durable`, it waits for it and for an fsync).
    async fn flush(&mut self, durable: bool) -> Result<(), RuntimeError> {
        if let Some(writing) = &self.writing {
            if !writing.is_finished() && !durable {
                return Ok(());
            }
        }
        if let Some(writing) = self.writing.take() {
            writing.await.map_err(|error| RuntimeError::Task {
                task: "state store write",
                message: error.to_string(),
            })??;
        }
        let positions = std::mem::take(&mut self.moved)
            .into_iter()
            .map(|((topic, partition), next)| (topic, partition, next))
            .collect();
        let issued = self.projector.issued();
        let model = Arc::clone(self.projector.read_model());
        let round = model.take_round(positions, issued);
        self.last_flush = Instant::now();
        let writing = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            model.store().write(&round, durable)?;
            model.written();
            tracing::debug!(
                elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "state store round written"
            );
            Ok(())
        });
        if durable {
            writing.await.map_err(|error| RuntimeError::Task {
                task: "state store write",
                message: error.to_string(),
            })??;
        } else {
            self.writing = Some(writing);
        }
        Ok(())
    }

    fn project_bank_event(
        &mut self,
        source: Source,
        event: &BankEvent,
        traceparent: Option<String>,
    ) {
        match self.projector.project(source, event) {
            Ok(Some(mut derived)) => {
                derived.set_traceparent(traceparent);
                self.derived_in_round += 1;
                match &derived {
                    Derived::Transaction(derived) => {
                        metrics::transaction_derived();
                        metrics::alerts_derived(&derived.alerts);
                    }
                    Derived::RunFailure(_) => metrics::run_failure_derived(),
                }
                if let Some(publisher) = &mut self.publisher {
                    publisher.offer(derived);
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
        metrics::caught_up(self.started.elapsed(), self.status.events_projected());
        topology::process::give_freed_memory_back();
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
