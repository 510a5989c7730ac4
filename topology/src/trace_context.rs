//! Traces across Kafka: the W3C `traceparent` header (<https://www.w3.org/TR/trace-context/>)
//! carries a request's trace from the GraphQL endpoint through every command, event, feedback
//! and derived transaction it causes. Each service handles a record inside a `tracing` span
//! that continues the record's trace ([`follow`]), logs carry that span's `trace_id`, and the
//! records it writes carry the span's own `traceparent` ([`traceparent_of`]).
//!
//! The spans are OpenTelemetry spans (`tracing-opentelemetry`), exported over OTLP/HTTP only
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set ([`crate::logging::init_service`]); without it
//! they live in memory for the length of a record's handling and are dropped.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header every record caused by a traced request carries.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` continue the trace of `traceparent` (a record's header) and records the trace
/// id in its `trace_id` field, so every log line inside it shows the trace. Without a valid
/// `traceparent` the span starts a trace of its own.
pub fn follow(span: &Span, traceparent: Option<&str>) {
    if let Some(traceparent) = traceparent {
        let parent = extract(traceparent);
        if parent.span().span_context().is_valid() {
            // Fails only for a span that is disabled or already entered: then it stays a root.
            let _ = span.set_parent(parent);
        }
    }
    if let Some(trace_id) = trace_id_of(span) {
        span.record("trace_id", trace_id.as_str());
    }
}

fn extract(traceparent: &str) -> opentelemetry::Context {
    let carrier = HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]);
    TraceContextPropagator::new().extract(&carrier)
}

/// The trace id (32 hex digits) a `traceparent` header names; `None` when it is not one.
pub fn trace_id_in(traceparent: &str) -> Option<String> {
    let context = extract(traceparent);
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The `traceparent` of `span` (its trace and its own span id), to put on the records written
/// while handling it; `None` if the span is disabled.
pub fn traceparent_of(span: &Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The trace id of `span` as 32 hex digits.
pub fn trace_id_of(span: &Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The `traceparent` header of a Kafka record, if it has one.
pub fn traceparent_header<H: rdkafka::message::Headers>(headers: Option<&H>) -> Option<String> {
    header_text(headers, TRACEPARENT)
}

/// The text of header `key`, if there is one and it is UTF-8.
pub fn header_text<H: rdkafka::message::Headers>(headers: Option<&H>, key: &str) -> Option<String> {
    headers?
        .iter()
        .find(|header| header.key == key)
        .and_then(|header| header.value)
        .and_then(|value| std::str::from_utf8(value).ok())
        .map(str::to_string)
}

/// `traceparent` as Kafka record headers (none without one).
pub fn headers(traceparent: Option<&str>) -> Option<rdkafka::message::OwnedHeaders> {
    traceparent.map(|value| {
        rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
            key: TRACEPARENT,
            value: Some(value),
        })
    })
}

/// [`headers`], plus one more `(key, text)` header that travels with the trace (a consistency
/// token, see [`crate::consistency`]); none when there is neither.
pub fn headers_with(
    traceparent: Option<&str>,
    also: Option<(&str, &str)>,
) -> Option<rdkafka::message::OwnedHeaders> {
    let headers = headers(traceparent);
    let Some((key, value)) = also else {
        return headers;
    };
    let header = rdkafka::message::Header {
        key,
        value: Some(value),
    };
    Some(headers.unwrap_or_default().insert(header))
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn with_tracing<T>(test: impl FnOnce() -> T) -> T {
        let subscriber = tracing_subscriber::registry().with(crate::logging::otel_layer(None));
        tracing::subscriber::with_default(subscriber, test)
    }

    #[test]
    fn a_span_continues_the_trace_of_its_record_with_a_span_id_of_its_own() {
        with_tracing(|| {
            let span = tracing::info_span!("command", trace_id = tracing::field::Empty);
            follow(&span, Some(PARENT));
            assert_eq!(
                trace_id_of(&span).as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
            let child = traceparent_of(&span).expect("a traceparent");
            assert!(
                child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{child}"
            );
            assert!(
                !child.contains("00f067aa0ba902b7"),
                "its own span id: {child}"
            );
        });
    }

    #[test]
    fn without_a_valid_parent_a_span_starts_a_trace() {
        with_tracing(|| {
            for parent in [None, Some("garbage")] {
                let span = tracing::info_span!("command", trace_id = tracing::field::Empty);
                follow(&span, parent);
                let id = trace_id_of(&span).expect("a new trace");
                assert_eq!(id.len(), 32);
                assert_ne!(id, "4bf92f3577b34da6a3ce929d0e0e4736");
            }
        });
    }

    #[test]
    fn the_trace_id_is_the_second_part_of_a_traceparent() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(
            trace_id_in(&format!("00-{id}-00f067aa0ba902b7-01")).as_deref(),
            Some(id)
        );
        assert_eq!(trace_id_in("garbage"), None);
        assert_eq!(trace_id_in("00-xyz-00f067aa0ba902b7-01"), None);
    }

    #[test]
    fn the_header_round_trips() {
        let with = headers(Some(PARENT));
        assert_eq!(traceparent_header(with.as_ref()).as_deref(), Some(PARENT));
        assert_eq!(traceparent_header(headers(None).as_ref()), None);
    }
}
