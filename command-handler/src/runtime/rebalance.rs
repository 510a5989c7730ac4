//! Hearing about rebalances: librdkafka calls these hooks from inside `recv()`, on the command
//! loop's own task, so the loop sees a change right after the `recv()` that carried it, before
//! it decides anything on the messages of a partition set that may no longer be its own.

use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::ClientContext;

/// Counts the rebalance callbacks; the loop compares the count with the one it last acted on.
#[derive(Debug, Default)]
pub struct RebalanceListener {
    changes: AtomicU64,
}

impl RebalanceListener {
    /// How many assignment changes happened so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }
}

impl ClientContext for RebalanceListener {
    fn error(&self, error: KafkaError, reason: &str) {
        topology::transactions::note_client_error(&error, reason);
    }

    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        topology::telemetry::record_consumer_lag(&statistics);
    }
}

impl ConsumerContext for RebalanceListener {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        match rebalance {
            Rebalance::Revoke(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions revoked")
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance error"),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        if let Rebalance::Assign(partitions) = rebalance {
            tracing::info!(partitions = partitions.count(), "partitions assigned");
        }
    }
}
