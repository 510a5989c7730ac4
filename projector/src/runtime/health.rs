//! `GET /health`: 503 while the replay is catching up, 200 once queries are answered.
//!
//! The body is JSON either way, so an operator sees progress, not just a status code:
//! `{"status":"catching_up","events_projected":123,…}` or `{"status":"ready",…}`, with the
//! `bank_events` partitions this instance publishes (`publishing_partitions`, empty until the
//! publishing group assigns it some) and the derived events not known to be published yet
//! (`derived_waiting`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use topology::telemetry::{Metrics, CONTENT_TYPE};

use super::{RuntimeError, Shutdown, Status};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HealthBody {
    pub status: &'static str,
    pub events_projected: u64,
    pub publishing_partitions: Vec<i32>,
    pub derived_waiting: usize,
}

/// The status code and body for the current [`Status`].
pub fn health_of(status: &Status) -> (StatusCode, HealthBody) {
    let publishing = status.publishing();
    let (code, label) = if status.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "catching_up")
    };
    let body = HealthBody {
        status: label,
        events_projected: status.events_projected(),
        publishing_partitions: publishing.partitions,
        derived_waiting: publishing.waiting,
    };
    (code, body)
}

async fn health(State(status): State<Arc<Status>>) -> (StatusCode, Json<HealthBody>) {
    let (code, body) = health_of(&status);
    (code, Json(body))
}

pub fn router(status: Arc<Status>, metrics: Metrics) -> Router {
    let render = move || {
        let text = metrics.render();
        async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], text) }
    };
    Router::new()
        .route("/health", get(health))
        .with_state(status)
        .route("/metrics", get(render))
}

pub async fn serve(
    addr: SocketAddr,
    status: Arc<Status>,
    metrics: Metrics,
    mut shutdown: Shutdown,
) -> Result<(), RuntimeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RuntimeError::HealthBind { addr, source })?;
    tracing::info!(%addr, "health endpoint listening on /health");
    axum::serve(listener, router(status, metrics))
        .with_graceful_shutdown(async move { shutdown.requested().await })
        .await
        .map_err(RuntimeError::HealthServe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_until_ready() {
        let status = Status::new();
        status.count_event();
        let (code, body) = health_of(&status);
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"status":"catching_up","events_projected":1,"publishing_partitions":[],"derived_waiting":0}"#
        );
        status.set_ready();
        let (code, body) = health_of(&status);
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body.status, "ready");
    }
}
