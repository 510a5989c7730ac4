//! Broker trouble: when a Kafka client of this process last heard that a broker was out of
//! reach or a coordinator moved. Soon after it, a transactional call that hangs is abandoned
//! sooner ([`super::abandoning`]), and a fencing is taken for librdkafka's confusion rather
//! than a newer instance ([`super::TransactionalWriter::write`]).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// A fencing this soon after trouble with a broker is taken for librdkafka's own confusion,
/// not a newer instance (see [`super::TransactionalWriter::write`]).
const TROUBLE_WINDOW: Duration = Duration::from_secs(60);

/// When a transactional producer of this process last heard of trouble with a broker (a lost
/// connection, a timed-out request): kept across producers, since a new one replaces a failed
/// one in the middle of such trouble.
static LAST_BROKER_TROUBLE: Mutex<Option<Instant>> = Mutex::new(None);

/// A context for the process's Kafka clients (the transactional producers, and consumers
/// through [`note_client_error`]): notes the errors librdkafka reports that mean a broker is out
/// of reach or a coordinator moved, never a fencing itself.
pub struct BrokerTrouble;

/// For a client context's `error`: notes broker trouble (see [`BrokerTrouble`]) and logs the
/// error as librdkafka's default context does. Often only a consumer of the process hears of
/// it, not the producer.
pub fn note_client_error(error: &KafkaError, reason: &str) {
    if is_broker_trouble(error) {
        note_broker_trouble();
    }
    tracing::error!("librdkafka: {error}: {reason}");
}

fn note_broker_trouble() {
    *LAST_BROKER_TROUBLE
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
}

/// librdkafka logs every failed or lost broker connection (refused, reset, closed by the
/// peer, a failed TLS handshake) under the facility `FAIL`, and nothing else.
fn is_broker_failure(facility: &str) -> bool {
    facility == "FAIL"
}

impl BrokerTrouble {
    /// Whether a client of this process heard of trouble within [`TROUBLE_WINDOW`].
    pub(super) fn recently() -> bool {
        Self::seen_within(TROUBLE_WINDOW)
    }

    fn seen_within(window: Duration) -> bool {
        let last = LAST_BROKER_TROUBLE
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.is_some_and(|at| at.elapsed() < window)
    }
}

impl ClientContext for BrokerTrouble {
    fn error(&self, error: KafkaError, reason: &str) {
        note_client_error(&error, reason);
    }

    /// Logs as librdkafka's default context does, and notes a lost broker connection as
    /// trouble: the producer hears of a broker that died only through this log line (`FAIL`,
    /// "Disconnected"), seconds before any error reaches [`ClientContext::error`], and a
    /// transaction waiting on that broker must know it then (see `transactions::abandoning`).
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if is_broker_failure(facility) {
            note_broker_trouble();
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", "librdkafka: {facility} {message}")
            }
        }
    }

    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        crate::telemetry::record_consumer_lag(&statistics);
    }
}

impl ConsumerContext for BrokerTrouble {}

fn is_broker_trouble(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::CoordinatorLoadInProgress
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::NotCoordinator
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_broker_is_trouble_and_a_fencing_is_not() {
        let global = KafkaError::Global;
        assert!(is_broker_trouble(&global(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(is_broker_trouble(&global(RDKafkaErrorCode::NotCoordinator)));
        assert!(is_broker_trouble(&KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageTimedOut
        )));
        assert!(is_broker_failure("FAIL"));
        assert!(!is_broker_failure("TXNERR"));
        // The fencing itself is reported through the same callback: counting it would make a
        // real newer instance look like librdkafka's confusion.
        assert!(!is_broker_trouble(&global(RDKafkaErrorCode::Fenced)));
        assert!(!is_broker_trouble(&global(
            RDKafkaErrorCode::FencedInstanceId
        )));
        assert!(!is_broker_trouble(&global(
            RDKafkaErrorCode::InvalidTransactionalState
        )));
    }
}
