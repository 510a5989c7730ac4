//! One consumer per answer topic, started at the topic's end.
//!
//! The consumer is *assigned* every partition at the end offset read before the first request
//! is sent, rather than subscribed with a group: a group join takes seconds, rebalances would
//! pause answers, and `auto.offset.reset=latest` would resolve "latest" only when the first
//! fetch starts, after which an early answer could already be missed. An explicit offset
//! misses nothing written after it was read.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::StreamConsumer;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use topology::codec::Codec;
use topology::consistency::{Positions, WRITTEN_HEADER};
use topology::replay::{self, ReplayError};
use topology::telemetry::LagReporter;
use topology::trace_context;
use topology::{KafkaSettings, TopicMessage};

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("creating the consumer of {topic}: {source}")]
    Consumer {
        topic: &'static str,
        source: KafkaError,
    },
    #[error("finding the end of {topic}: {source}")]
    End {
        topic: &'static str,
        source: ReplayError,
    },
    #[error("assigning {topic}: {source}")]
    Assign {
        topic: &'static str,
        source: KafkaError,
    },
    #[error("the start of the consumer of {topic} was cancelled")]
    Cancelled { topic: &'static str },
}

/// How long reading the end offsets of a topic may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// A consumer of `M`'s topic positioned at the current end of every partition.
pub async fn consumer_at_end<M: TopicMessage>(
    settings: &KafkaSettings,
) -> Result<StreamConsumer<LagReporter>, ListenError> {
    let topic = M::TOPIC;
    // A throwaway group name: the consumer only assigns, never joins nor commits.
    let consumer = settings
        .observed_consumer(&format!("graphql-endpoint-{topic}"), None)
        .map_err(|source| ListenError::Consumer { topic, source })?;
    // Reading watermarks blocks; keep it off the async workers.
    let (consumer, assigned) = tokio::task::spawn_blocking(move || {
        let assigned = replay::assign_at_end(&consumer, &[topic], METADATA_TIMEOUT);
        (consumer, assigned)
    })
    .await
    .map_err(|_| ListenError::Cancelled { topic })?;
    assigned.map_err(|source| ListenError::End { topic, source })?;
    tracing::debug!(topic, "listening from the end");
    Ok(consumer)
}

/// What a record says besides its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// When it was written, in milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    /// Its W3C `traceparent` header.
    pub traceparent: Option<String>,
    /// The event positions an answer names (see [`crate::consistency`]); none when its header
    /// is missing or unreadable.
    pub written: Positions,
}

impl Meta {
    fn of<T: Message>(message: &T) -> Self {
        let written = trace_context::header_text(message.headers(), WRITTEN_HEADER)
            .and_then(|text| Positions::parse(&text).ok())
            .unwrap_or_default();
        Self {
            timestamp_ms: message.timestamp().to_millis(),
            traceparent: trace_context::traceparent_header(message.headers()),
            written,
        }
    }
}

/// Decodes every record of `consumer` as `M` and hands it with its [`Meta`] to `deliver`,
/// forever (until the task is aborted). Undecodable records are logged and skipped: one bad record must not stop
/// the answers for everybody else.
pub fn spawn_dispatch<M, F>(
    consumer: StreamConsumer<LagReporter>,
    codec: Arc<Codec>,
    deliver: F,
) -> tokio::task::JoinHandle<()>
where
    M: TopicMessage + Send + 'static,
    F: Fn(M, Meta) + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let message = match consumer.recv().await {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(topic = M::TOPIC, %error, "consuming");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            match codec.decode::<M>(message.payload()).await {
                Ok(record) => deliver(record, Meta::of(&message)),
                Err(error) => tracing::warn!(
                    topic = M::TOPIC,
                    partition = message.partition(),
                    offset = message.offset(),
                    %error,
                    "skipping a record that cannot be decoded"
                ),
            }
        }
    })
}
