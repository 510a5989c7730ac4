//! Rebuilding the in-memory state at start, in the order the domain docs prescribe:
//!
//! 1. every `user_events` and `bank_events` record from the beginning up to the end offsets
//!    read at start, into the [`BankState`] and (without sending anything) the [`Saga`];
//! 2. then every retained `transfer_command_feedback` record, into the saga only.
//!
//! Run it only after `init_transactions`: that aborts a transaction a previous instance left
//! open, so the end offsets (last stable offsets under read_committed) are final and no event
//! of ours can still appear behind them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::StreamConsumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use topology::codec::{Codec, CodecError};
use topology::kafka::ADMIN_TIMEOUT;
use topology::replay::{self, CatchUp, ReplayError};
use topology::topic_names::{BANK_EVENTS, TRANSFER_COMMAND_FEEDBACK, USER_EVENTS};
use topology::{BankEvent, KafkaSettings, TransferCommandFeedback, UserEvent};

use crate::domain::saga::{Saga, SagaInput};
use crate::domain::BankState;
use crate::handling::Handler;

/// How long no record may arrive before the consumer position is asked instead: it moves past
/// transaction markers, which are never delivered (see [`topology::replay`]).
const IDLE: Duration = Duration::from_millis(200);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("creating the replay consumer: {0}")]
    Client(KafkaError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("replaying {topic}: {source}")]
    Consume { topic: String, source: KafkaError },
    /// An event that cannot be read would leave the state wrong, so starting is refused; a
    /// restart retries (the registry may have been unreachable).
    #[error("event at {topic}/{partition}@{offset} cannot be decoded: {source}")]
    Event {
        topic: String,
        partition: i32,
        offset: i64,
        source: Box<CodecError>,
    },
}

/// Rebuilds the handler; `replayed` counts the records read, for `/health`.
pub async fn rebuild(
    settings: &KafkaSettings,
    codec: &Codec,
    replayed: &AtomicU64,
) -> Result<Handler, RebuildError> {
    let started = Instant::now();
    let mut state = BankState::default();
    let mut saga = Saga::default();

    let mut events = Replay::start(settings, &[USER_EVENTS, BANK_EVENTS])?;
    let mut event_count = 0u64;
    while let Some(message) = events.next().await? {
        replayed.fetch_add(1, Ordering::Relaxed);
        event_count += 1;
        let at = |source| RebuildError::Event {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            source: Box::new(source),
        };
        if message.topic() == USER_EVENTS {
            let event: UserEvent = codec.decode(message.payload()).await.map_err(at)?;
            state.evolve_user_event(&event);
        } else {
            let event: BankEvent = codec.decode(message.payload()).await.map_err(at)?;
            state.evolve_bank_event(&event);
            saga.apply(SagaInput::Event(&event));
        }
    }

    let events_ms = started.elapsed().as_millis() as u64;

    // Feedback only advances a transfer whose start the saga knows, hence after the events.
    let mut feedback = Replay::start(settings, &[TRANSFER_COMMAND_FEEDBACK])?;
    let mut feedback_count = 0u64;
    while let Some(message) = feedback.next().await? {
        replayed.fetch_add(1, Ordering::Relaxed);
        feedback_count += 1;
        // Feedback is a shortcut, not the truth: without it the saga asks again and gets the
        // same answer, so an unreadable record is skipped rather than blocking the start.
        match codec.decode(message.payload()).await {
            Ok(TransferCommandFeedback::CommandSucceeded(ok)) => {
                saga.apply(SagaInput::Succeeded(&ok))
            }
            Ok(TransferCommandFeedback::CommandFailed(failed)) => {
                saga.apply(SagaInput::Failed(&failed))
            }
            Err(error) => tracing::warn!(
                %error,
                partition = message.partition(),
                offset = message.offset(),
                "skipping unreadable transfer feedback during rebuild"
            ),
        }
    }
    tracing::info!(
        events = event_count,
        feedback = feedback_count,
        events_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "state rebuilt"
    );
    Ok(Handler::new(state, saga))
}

/// A replay of some topics from the beginning up to the end offsets read at start.
struct Replay {
    consumer: StreamConsumer,
    catch_up: CatchUp,
    topics: String,
    last_progress: Instant,
}

impl Replay {
    fn start(settings: &KafkaSettings, topics: &[&str]) -> Result<Self, RebuildError> {
        let consumer = settings
            .replay_consumer(None)
            .map_err(RebuildError::Client)?;
        let ends =
            tokio::task::block_in_place(|| replay::end_offsets(&consumer, topics, ADMIN_TIMEOUT))?;
        replay::assign_from_beginning(&consumer, &ends)?;
        let catch_up = CatchUp::new(&ends);
        Ok(Self {
            consumer,
            catch_up,
            topics: topics.join(","),
            last_progress: Instant::now(),
        })
    }

    /// The next record of the history, or `None` once every partition reached its end.
    async fn next(&mut self) -> Result<Option<BorrowedMessage<'_>>, RebuildError> {
        loop {
            if self.catch_up.is_caught_up() {
                return Ok(None);
            }
            if self.last_progress.elapsed() >= PROGRESS_EVERY {
                self.last_progress = Instant::now();
                let behind: Vec<String> = self
                    .catch_up
                    .behind()
                    .map(|(topic, partition, end)| format!("{topic}/{partition} → {end}"))
                    .collect();
                tracing::info!(topics = %self.topics, ?behind, "still replaying");
            }
            match tokio::time::timeout(IDLE, self.consumer.recv()).await {
                Ok(Ok(message)) => {
                    let next = message.offset() + 1;
                    self.catch_up
                        .observe(message.topic(), message.partition(), next);
                    return Ok(Some(message));
                }
                Ok(Err(error @ KafkaError::MessageConsumptionFatal(_))) => {
                    return Err(RebuildError::Consume {
                        topic: self.topics.clone(),
                        source: error,
                    })
                }
                // Transient (e.g. a broker connection dropped): librdkafka retries by itself.
                Ok(Err(error)) => tracing::warn!(%error, topics = %self.topics, "replay error"),
                Err(_idle) => {
                    let positions = replay::positions(&self.consumer)?;
                    self.catch_up.observe_all(&positions);
                }
            }
        }
    }
}
