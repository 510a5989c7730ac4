//! The HTTP side: routes, CORS and `/health`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql_axum::GraphQL;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post_service};
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

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

pub fn router(schema: BankSchema, readiness: Readiness, cors: &Cors) -> Router {
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
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{name}", get(graphiql::asset))
        .route_service("/graphql", post_service(GraphQL::new(schema.clone())))
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
