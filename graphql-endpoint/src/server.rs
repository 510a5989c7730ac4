//! The HTTP side: routes, CORS and `/health`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::BatchRequest;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use topology::telemetry::{Metrics, CONTENT_TYPE};

use crate::employees::Bearer;
use crate::schema::observed::IncomingTrace;
use crate::schema::BankSchema;
use crate::{graphiql, websocket};

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    AnyOrigin,
    Origins(Vec<String>),
}

impl Cors {
    /// `*` (or empty) for any origin, else a comma-separated list of origins.
    pub fn parse(text: &str) -> Self {
        let origins: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(str::to_string)
            .collect();
        if origins.is_empty() || origins.iter().any(|origin| origin == "*") {
            Cors::AnyOrigin
        } else {
            Cors::Origins(origins)
        }
    }

    fn layer(&self) -> CorsLayer {
        let origin = match self {
            Cors::AnyOrigin => AllowOrigin::from(Any),
            Cors::Origins(origins) => AllowOrigin::list(
                origins
                    .iter()
                    .filter_map(|origin| HeaderValue::from_str(origin).ok()),
            ),
        };
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(Any)
    }
}

/// Ready once the buses listen and the company account is ensured.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What `POST /graphql` needs: the schema, and how many operations one request may batch.
#[derive(Clone)]
struct Api {
    schema: BankSchema,
    max_batch: usize,
}

/// GraphQL over HTTP: one operation, or a JSON array of at most `max_batch`. Each operation
/// may be a Kafka round trip, so a long batch would let one request make thousands; it is
/// refused whole, before any of it runs.
async fn graphql(
    State(api): State<Api>,
    headers: HeaderMap,
    request: GraphQLBatchRequest,
) -> Response {
    let batch = request.into_inner();
    if let BatchRequest::Batch(operations) = &batch {
        if operations.len() > api.max_batch {
            return batch_too_large(operations.len(), api.max_batch);
        }
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let traceparent = headers
        .get(topology::trace_context::TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let batch = batch
        .data(Bearer::from_authorization(authorization))
        .data(IncomingTrace(traceparent));
    GraphQLResponse::from(api.schema.execute_batch(batch).await).into_response()
}

fn batch_too_large(operations: usize, max: usize) -> Response {
    let message = format!("a batch may hold at most {max} operations; this one has {operations}");
    let body = json!({"errors": [{"message": message, "extensions": {"code": "BATCH_TOO_LARGE"}}]});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

pub fn router(
    schema: BankSchema,
    readiness: Readiness,
    cors: &Cors,
    max_batch: usize,
    metrics: Metrics,
) -> Router {
    let render = move || {
        let text = metrics.render();
        async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], text) }
    };
    let health = move || {
        let ready = readiness.is_ready();
        async move {
            if ready {
                (StatusCode::OK, Json(json!({"status": "ready"}))).into_response()
            } else {
                let body = json!({"status": "starting"});
                (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
            }
        }
    };
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(render))
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{name}", get(graphiql::asset))
        .route(
            "/graphql",
            post(graphql).with_state(Api {
                schema: schema.clone(),
                max_batch,
            }),
        )
        .route(
            "/graphql/ws",
            get(websocket::subscriptions).with_state(schema),
        )
        .layer(cors.layer())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_parse() {
        assert_eq!(Cors::parse("*"), Cors::AnyOrigin);
        assert_eq!(Cors::parse(""), Cors::AnyOrigin);
        assert_eq!(
            Cors::parse("http://localhost:8181, https://bank.example"),
            Cors::Origins(vec![
                "http://localhost:8181".into(),
                "https://bank.example".into()
            ])
        );
    }
}
