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
use topology::replay::{self, ReplayError};
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
) -> Result<StreamConsumer, ListenError> {
    let topic = M::TOPIC;
    // A throwaway group name: the consumer only assigns, never joins nor commits.
    let consumer = settings
        .replay_consumer(None)
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

/// Decodes every record of `consumer` as `M` and hands it to `deliver`, forever (until the
/// task is aborted). Undecodable records are logged and skipped: one bad record must not stop
/// the answers for everybody else.
pub fn spawn_dispatch<M, F>(
    consumer: StreamConsumer,
    codec: Arc<Codec>,
    deliver: F,
) -> tokio::task::JoinHandle<()>
where
    M: TopicMessage + Send + 'static,
    F: Fn(M) + Send + 'static,
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
                Ok(record) => deliver(record),
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
