//! Answers `user_queries` and `bank_queries` on their feedback topics, once caught up.
//!
//! Before the replay reaches the end offsets read at start, a "does not exist" answer would be
//! wrong rather than stale, so the query consumer does not even join its group until then.
//! Queries are load-balanced over the instances sharing the query group. Offsets are committed
//! after the answer is handed to the producer: a crash may answer a query twice (harmless: the
//! asker takes the first answer for its id), never zero times. A query that names event
//! positions its asker wrote waits for them on a task of its own ([`super::read_after`]).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use topology::codec::Codec;
use topology::consistency::{Positions, READ_AFTER_HEADER};
use topology::kafka::{close_in_background, REJOIN_BACKOFF};
use topology::reasons::Refusal;
use topology::topic_names::{
    BANK_QUERIES, BANK_QUERIES_FEEDBACK, USER_QUERIES, USER_QUERIES_FEEDBACK,
};
use topology::trace_context;
use topology::transactions::BrokerTrouble;
use topology::{BankQuery, BankQueryFeedback, KafkaSettings, UserQuery, UserQueryFeedback};
use tracing::Instrument;

use super::metrics;
use super::read_after::{Unanswered, MAX_WAITING, READ_AFTER_WAIT};
use super::{RuntimeError, Shutdown, Status};
use crate::queries::{answer, refuse, Query, QueryAnswer};
use crate::read_model::ReadModel;

/// How long an answer may wait for the broker before it is given up (the asker times out too).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// New group members in a row, without a query answered in between, before giving up.
const MAX_REJOINS: u32 = 5;

pub async fn run(
    settings: KafkaSettings,
    codec: Arc<Codec>,
    group: String,
    instance_id: String,
    model: Arc<ReadModel>,
    status: Arc<Status>,
    mut shutdown: Shutdown,
) -> Result<(), RuntimeError> {
    tokio::select! {
        _ = shutdown.requested() => return Ok(()),
        _ = status.wait_ready() => {}
    }
    let producer = settings.producer().map_err(RuntimeError::Client)?;
    let answerer = Answerer {
        codec,
        model,
        producer,
    };
    let (answered_later, mut later) = mpsc::unbounded_channel::<(String, i32, i64)>();
    let mut unanswered = Unanswered::default();
    let mut consumer = join_query_group(&settings, &group, &instance_id)?;
    let mut rejoins = 0;
    loop {
        let received = tokio::select! {
            _ = shutdown.requested() => break,
            Some((topic, partition, offset)) = later.recv() => {
                let next = unanswered.answered_later(&topic, partition, offset);
                commit(&consumer, &topic, partition, next);
                continue;
            }
            received = consumer.recv() => received,
        };
        match received {
            Ok(message) => {
                let (topic, partition, offset) =
                    (message.topic(), message.partition(), message.offset());
                match when_to_answer(&message, &status, &unanswered) {
                    When::Now(reply) => {
                        answerer.answer(&message, reply).await;
                        let next = unanswered.answered_at_once(topic, partition, offset);
                        commit(&consumer, topic, partition, next);
                    }
                    When::Applied(positions) => {
                        unanswered.wait(topic, partition, offset);
                        let status = Arc::clone(&status);
                        let done = answered_later.clone();
                        tokio::spawn(answerer.clone().answer_once_applied(
                            message.detach(),
                            positions,
                            status,
                            done,
                        ));
                    }
                }
                rejoins = 0;
            }
            // librdkafka ends a static member for good once it is fenced, which also happens
            // to a live member that lost its coordinator for a session (e.g. the broker holding
            // it died) and rejoined. Its queries would wait forever: a new member takes over.
            Err(error @ KafkaError::MessageConsumptionFatal(_)) if rejoins < MAX_REJOINS => {
                rejoins += 1;
                tracing::warn!(%error, rejoin = rejoins, "the query group member failed; joining again with a new one");
                let failed = std::mem::replace(
                    &mut consumer,
                    join_query_group(&settings, &group, &instance_id)?,
                );
                close_in_background(failed);
                // The new member starts from the committed offsets: what waited is asked again.
                unanswered = Unanswered::default();
                tokio::time::sleep(REJOIN_BACKOFF).await;
            }
            Err(error @ KafkaError::MessageConsumptionFatal(_)) => {
                return Err(RuntimeError::QueryMember(error))
            }
            Err(error) => tracing::warn!(%error, "consuming queries"),
        }
    }
    Ok(())
}

/// When a query is answered.
enum When {
    Now(Reply),
    /// Once the read model has applied these positions, on a task of its own.
    Applied(Positions),
}

fn when_to_answer(message: &BorrowedMessage<'_>, status: &Status, unanswered: &Unanswered) -> When {
    let after = read_after(message);
    if after.is_empty() {
        return When::Now(Reply::Answer);
    }
    if status.progress().reached(&after) {
        metrics::read_after("at_once");
        return When::Now(Reply::Answer);
    }
    if unanswered.waiting() >= MAX_WAITING {
        metrics::read_after("not_caught_up");
        return When::Now(Reply::NotCaughtUp);
    }
    When::Applied(after)
}

/// The positions a query names (`topology::consistency`); none for a header that cannot be
/// read, which the endpoint never sends.
fn read_after(message: &BorrowedMessage<'_>) -> Positions {
    let Some(text) = trace_context::header_text(message.headers(), READ_AFTER_HEADER) else {
        return Positions::new();
    };
    Positions::parse(&text).unwrap_or_else(|error| {
        tracing::warn!(%error, "a query names positions that cannot be read; answering it as it is");
        Positions::new()
    })
}

/// Commits `next` as the query partition's offset, if there is one to commit.
fn commit(
    consumer: &StreamConsumer<BrokerTrouble>,
    topic: &str,
    partition: i32,
    next: Option<i64>,
) {
    let Some(next) = next else {
        return;
    };
    let mut offsets = TopicPartitionList::new();
    let committed = offsets
        .add_partition_offset(topic, partition, Offset::Offset(next))
        .and_then(|()| consumer.commit(&offsets, CommitMode::Async));
    if let Err(error) = committed {
        tracing::warn!(%error, "committing the query offset");
    }
}

/// A static member with a short session: a killed instance's queries move to the others within
/// seconds, and its restart takes them back without a rebalance.
fn join_query_group(
    settings: &KafkaSettings,
    group: &str,
    instance_id: &str,
) -> Result<StreamConsumer<BrokerTrouble>, RuntimeError> {
    let consumer = settings
        .group_member(group, instance_id, BrokerTrouble)
        .map_err(RuntimeError::Client)?;
    consumer
        .subscribe(&[USER_QUERIES, BANK_QUERIES])
        .map_err(RuntimeError::Subscribe)?;
    tracing::info!(group, instance_id, "answering queries");
    Ok(consumer)
}

#[derive(Clone)]
struct Answerer {
    codec: Arc<Codec>,
    model: Arc<ReadModel>,
    producer: FutureProducer,
}

/// What a query gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// Its answer from the read model as it is now.
    Answer,
    /// `Refusal::NotCaughtUpYet`: the positions it named were not applied in time.
    NotCaughtUp,
}

impl Reply {
    fn to<Q: Query>(self, model: &ReadModel, query: &Q) -> QueryAnswer {
        match self {
            Reply::Answer => answer(model, query),
            Reply::NotCaughtUp => refuse(query, Refusal::NotCaughtUpYet.text()),
        }
    }
}

impl Answerer {
    /// Answers `message` once the read model has applied `positions` (or refuses it as not
    /// caught up after [`READ_AFTER_WAIT`]), then tells the loop on `done` that its offset
    /// may be committed.
    async fn answer_once_applied(
        self,
        message: OwnedMessage,
        positions: Positions,
        status: Arc<Status>,
        done: mpsc::UnboundedSender<(String, i32, i64)>,
    ) {
        let reply = if status
            .progress()
            .wait_for(&positions, READ_AFTER_WAIT)
            .await
        {
            metrics::read_after("waited");
            Reply::Answer
        } else {
            metrics::read_after("not_caught_up");
            Reply::NotCaughtUp
        };
        self.answer(&message, reply).await;
        let place = (
            message.topic().to_string(),
            message.partition(),
            message.offset(),
        );
        // Err only when the loop is gone, and its commits with it.
        let _ = done.send(place);
    }

    /// Answers one query message. Bad input is logged and skipped, never fatal.
    async fn answer(&self, message: &impl Message, reply: Reply) {
        let span = tracing::info_span!("query", trace_id = tracing::field::Empty);
        trace_context::follow(
            &span,
            trace_context::traceparent_header(message.headers()).as_deref(),
        );
        self.answer_in(message, reply, &span)
            .instrument(span.clone())
            .await;
    }

    async fn answer_in(&self, message: &impl Message, reply: Reply, span: &tracing::Span) {
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let encoded = if topic == USER_QUERIES {
            match self.codec.decode::<UserQuery>(message.payload()).await {
                Ok(query) => {
                    let started = std::time::Instant::now();
                    let answer = reply.to(&self.model, &query);
                    metrics::query_answered(&answer, started.elapsed());
                    let key = answer.key();
                    let feedback = UserQueryFeedback::from(answer);
                    Some((
                        USER_QUERIES_FEEDBACK,
                        key,
                        self.codec.encode(&feedback).await,
                    ))
                }
                Err(error) => {
                    tracing::warn!(topic, partition, offset, %error, "skipping a query that cannot be decoded");
                    None
                }
            }
        } else if topic == BANK_QUERIES {
            match self.codec.decode::<BankQuery>(message.payload()).await {
                Ok(query) => {
                    let started = std::time::Instant::now();
                    let answer = reply.to(&self.model, &query);
                    metrics::query_answered(&answer, started.elapsed());
                    let key = answer.key();
                    let feedback = BankQueryFeedback::from(answer);
                    Some((
                        BANK_QUERIES_FEEDBACK,
                        key,
                        self.codec.encode(&feedback).await,
                    ))
                }
                Err(error) => {
                    tracing::warn!(topic, partition, offset, %error, "skipping a query that cannot be decoded");
                    None
                }
            }
        } else {
            None
        };
        let Some((feedback_topic, key, payload)) = encoded else {
            return;
        };
        let payload = match payload {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(feedback_topic, key, %error, "could not encode an answer");
                return;
            }
        };
        let mut record = FutureRecord::to(feedback_topic).key(&key).payload(&payload);
        let traceparent = trace_context::traceparent_of(span);
        if let Some(headers) = trace_context::headers(traceparent.as_deref()) {
            record = record.headers(headers);
        }
        if let Err((error, _message)) = self.producer.send(record, SEND_TIMEOUT).await {
            tracing::error!(feedback_topic, key, %error, "could not send an answer");
        }
    }
}
