//! The command bus and the query bus: produce a command or query, and wait for its answer
//! on the matching feedback topic, read by ONE consumer per topic shared by all requests.

pub mod admission;
pub mod commands;
mod exchange;
pub mod listen;
pub mod queries;
pub mod routing;
pub mod waiters;

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use topology::codec::{Codec, CodecError};
use topology::consistency::{Positions, READ_AFTER_HEADER};
use topology::trace_context;
use topology::TopicMessage;

pub use commands::{Command, CommandBus, Feedback};
pub use listen::ListenError;
pub use queries::QueryBus;
pub use routing::AggregateKeyed;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("encoding the message: {0}")]
    Encode(#[from] CodecError),
    #[error("sending to {topic}: {source}")]
    Produce {
        topic: &'static str,
        source: KafkaError,
    },
    /// A bug, not a condition of Kafka: the endpoint sent a command only the saga may send.
    #[error("{record} has no aggregate key the endpoint knows, so it cannot be routed")]
    NoAggregateKey { record: &'static str },
    #[error("no answer within {} s", .0.as_secs_f32())]
    Timeout(Duration),
    /// Admission control: as many commands as allowed wait for their answers already.
    #[error("{}", topology::reasons::Refusal::BankIsBusy.text())]
    Busy,
}

/// Encodes `message` for its topic and produces it under `key`; a query names the positions
/// `read_after` its answer must reflect (see [`crate::consistency`]).
pub(crate) async fn produce<M: TopicMessage>(
    producer: &FutureProducer,
    codec: &Codec,
    key: &str,
    message: &M,
    read_after: Option<&Positions>,
    timeout: Duration,
) -> Result<(), BusError> {
    let payload = codec.encode(message).await?;
    let mut record = FutureRecord::to(M::TOPIC).key(key).payload(&payload);
    // The request's trace (the operation's span) goes along to the command handler or projector.
    let traceparent = trace_context::traceparent_of(&tracing::Span::current());
    let positions = read_after
        .filter(|positions| !positions.is_empty())
        .map(ToString::to_string);
    let read_after = positions.as_deref().map(|text| (READ_AFTER_HEADER, text));
    if let Some(headers) = trace_context::headers_with(traceparent.as_deref(), read_after) {
        record = record.headers(headers);
    }
    producer
        .send(record, Timeout::After(timeout))
        .await
        .map(|_| ())
        .map_err(|(source, _)| BusError::Produce {
            topic: M::TOPIC,
            source,
        })
}
