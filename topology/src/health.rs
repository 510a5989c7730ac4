//! `GET /health` and `GET /metrics` of the command handler and the projector: one small HTTP
//! server per service, the same in both. `/health` answers 503 until the service is ready and
//! 200 after, with a JSON body either way so an operator sees progress, not only a code;
//! `/metrics` is the Prometheus text of [`Metrics`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::telemetry::{Metrics, CONTENT_TYPE};

/// What a service reports on `/health`.
pub trait Health: Send + Sync + 'static {
    type Body: Serialize + Send;

    /// Whether the service does its work (200) or still catches up (503).
    fn is_ready(&self) -> bool;

    /// The body, whose `status` should say the same as [`Health::is_ready`].
    fn body(&self) -> Self::Body;

    /// The status code and body together, as `/health` answers them.
    fn answer(&self) -> (StatusCode, Self::Body) {
        let code = if self.is_ready() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (code, self.body())
    }
}

/// The word of the `status` field: `ready` or `catching_up`.
pub fn status_word(ready: bool) -> &'static str {
    if ready {
        "ready"
    } else {
        "catching_up"
    }
}

pub fn router<H: Health>(health: Arc<H>, metrics: Metrics) -> Router {
    let render = move || {
        let text = metrics.render();
        async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], text) }
    };
    Router::new()
        .route("/health", get(answer::<H>))
        .with_state(health)
        .route("/metrics", get(render))
}

async fn answer<H: Health>(State(health): State<Arc<H>>) -> (StatusCode, Json<H::Body>) {
    let (code, body) = health.answer();
    (code, Json(body))
}

/// Binds first, so that a taken port fails the start at once.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "health endpoint listening on /health");
    Ok(listener)
}

/// Serves `/health` and `/metrics` until `stop` resolves.
pub async fn serve<H: Health>(
    listener: tokio::net::TcpListener,
    health: Arc<H>,
    metrics: Metrics,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(health, metrics))
        .with_graceful_shutdown(stop)
        .await
}
