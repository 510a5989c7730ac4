//! `GET /health`: 503 while the state is being rebuilt, 200 once commands are handled.
//!
//! The body is JSON either way so an operator sees progress, not only a status code:
//! `{"status":"catching_up","records_replayed":123,"commands_handled":0}`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;
use topology::health::{status_word, Health};

/// What `/health` reports, shared between the runtime and the HTTP task.
#[derive(Debug, Default)]
pub struct Status {
    ready: AtomicBool,
    pub records_replayed: AtomicU64,
    pub commands_handled: AtomicU64,
    /// Transfers decided start to end by this instance, in one transaction each.
    pub transfers_local: AtomicU64,
    /// Transfers whose credit went to another instance through the saga.
    pub transfers_across_instances: AtomicU64,
    /// How often the assignment was taken over (start, rebalance, failed transaction).
    pub rebuilds: AtomicU64,
    /// Partition tasks opened, i.e. rebuilt from the store and the log: at a rebalance only
    /// the partitions new to this instance, after a failed transaction all of them.
    pub partitions_rebuilt: AtomicU64,
    /// Transfers the saga keeps: those under way (settled ones are forgotten).
    pub open_transfers: AtomicU64,
    partitions: std::sync::Mutex<Vec<i32>>,
}

impl Status {
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// The partitions this instance decides for now.
    pub fn set_partitions(&self, partitions: Vec<i32>) {
        if let Ok(mut owned) = self.partitions.lock() {
            *owned = partitions;
        }
    }

    fn partitions(&self) -> Vec<i32> {
        self.partitions
            .lock()
            .map(|owned| owned.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HealthBody {
    pub status: &'static str,
    pub records_replayed: u64,
    pub commands_handled: u64,
    pub transfers_local: u64,
    pub transfers_across_instances: u64,
    pub rebuilds: u64,
    pub partitions_rebuilt: u64,
    pub open_transfers: u64,
    pub partitions: Vec<i32>,
}

impl Health for Status {
    type Body = HealthBody;

    fn is_ready(&self) -> bool {
        Status::is_ready(self)
    }

    fn body(&self) -> HealthBody {
        HealthBody {
            status: status_word(Status::is_ready(self)),
            records_replayed: self.records_replayed.load(Ordering::Relaxed),
            commands_handled: self.commands_handled.load(Ordering::Relaxed),
            transfers_local: self.transfers_local.load(Ordering::Relaxed),
            transfers_across_instances: self.transfers_across_instances.load(Ordering::Relaxed),
            rebuilds: self.rebuilds.load(Ordering::Relaxed),
            partitions_rebuilt: self.partitions_rebuilt.load(Ordering::Relaxed),
            open_transfers: self.open_transfers.load(Ordering::Relaxed),
            partitions: self.partitions(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn unavailable_until_ready() {
        let status = Status::default();
        status.records_replayed.fetch_add(3, Ordering::Relaxed);
        let (code, body) = status.answer();
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.status, "catching_up");
        assert_eq!(body.records_replayed, 3);
        status.set_ready();
        assert_eq!(status.answer().0, StatusCode::OK);
    }
}
