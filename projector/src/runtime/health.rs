//! `GET /health`: 503 while the replay is catching up, 200 once queries are answered.
//!
//! The body is JSON either way, so an operator sees progress, not just a status code:
//! `{"status":"catching_up","events_projected":123,…}` or `{"status":"ready",…}`, with the
//! `bank_events` partitions this instance publishes (`publishing_partitions`, empty until the
//! publishing group assigns it some) and the derived events not known to be published yet
//! (`derived_waiting`).

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use topology::health::{self, status_word, Health};
use topology::telemetry::Metrics;

use super::{RuntimeError, Shutdown, Status};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HealthBody {
    pub status: &'static str,
    pub events_projected: u64,
    pub publishing_partitions: Vec<i32>,
    pub derived_waiting: usize,
}

impl Health for Status {
    type Body = HealthBody;

    fn is_ready(&self) -> bool {
        Status::is_ready(self)
    }

    fn body(&self) -> HealthBody {
        let publishing = self.publishing();
        HealthBody {
            status: status_word(Status::is_ready(self)),
            events_projected: self.events_projected(),
            publishing_partitions: publishing.partitions,
            derived_waiting: publishing.waiting,
        }
    }
}

pub async fn serve(
    addr: SocketAddr,
    status: Arc<Status>,
    metrics: Metrics,
    mut shutdown: Shutdown,
) -> Result<(), RuntimeError> {
    let listener = health::bind(addr)
        .await
        .map_err(|source| RuntimeError::HealthBind { addr, source })?;
    health::serve(listener, status, metrics, async move {
        shutdown.requested().await
    })
    .await
    .map_err(RuntimeError::HealthServe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn unavailable_until_ready() {
        let status = Status::new();
        status.count_event();
        let (code, body) = status.answer();
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"status":"catching_up","events_projected":1,"publishing_partitions":[],"derived_waiting":0}"#
        );
        status.set_ready();
        let (code, body) = status.answer();
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body.status, "ready");
    }
}
