//! The HTTP side: routes, CORS, the bounds of a request and of its answer, security headers,
//! and `/health`.
//!
//! What `POST /graphql` refuses before anything runs, and how:
//! - a `Content-Type` other than `application/json`: 415 (a cross-site form can send only
//!   `text/plain`, form or multipart bodies without asking the browser first, so no page
//!   elsewhere can make a logged-in browser call a mutation);
//! - a body over 1 MiB: 413;
//! - a batch longer than `GRAPHQL_MAX_BATCH`: 400 `BATCH_TOO_LARGE`;
//! - more than one credential-checking field in the batch: 400 `TOO_MANY_CREDENTIAL_CHECKS`
//!   (per document, [`crate::schema::limits`] refuses it too, also over WebSocket);
//! - an `open-bank-consistency` header that is not a token: 400 `BAD_CONSISTENCY_TOKEN`;
//! - only commands while no command would be admitted: 503 `BUSY` with `Retry-After`
//!   ([`crate::shedding`]);
//! - an answer over `GRAPHQL_MAX_RESPONSE_BYTES`: replaced by one error, `RESPONSE_TOO_LARGE`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::{BatchRequest, BatchResponse};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use topology::consistency::Positions;
use topology::telemetry::{Metrics, CONTENT_TYPE};

use crate::bus::admission::Admission;
use crate::bus::commands::count_shed;
use crate::bus::BusError;
use crate::client_address::TrustedProxies;
use crate::schema::observed::IncomingTrace;
use crate::schema::BankSchema;
use crate::sessions::{Bearer, Sessions};
use crate::statement_download::{self, Downloads};
use crate::websocket::{SocketLimits, Sockets};
use crate::{consistency, graphiql, schema, websocket};

/// The largest request body `POST /graphql` reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The origins a browser may call the API from (CORS) and open WebSockets from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// A comma-separated list of origins (`scheme://host[:port]`); `*` is not accepted: the
    /// API answers with customers' data, so every origin allowed is named.
    pub fn parse(text: &str) -> Result<Self, String> {
        let origins: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        if let Some(bad) = origins.iter().find(|origin| {
            *origin == "*" || !(origin.starts_with("http://") || origin.starts_with("https://"))
        }) {
            return Err(format!(
                "`{bad}` is not an origin like https://bank.example or http://127.0.0.1:8181"
            ));
        }
        Ok(Self(origins))
    }

    pub fn allows(&self, origin: &HeaderValue) -> bool {
        origin
            .to_str()
            .map(|origin| origin.to_ascii_lowercase())
            .is_ok_and(|origin| self.0.contains(&origin))
    }

    fn cors(self: &Arc<Self>) -> CorsLayer {
        let origins = Arc::clone(self);
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| {
                origins.allows(origin)
            }))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static(topology::trace_context::TRACEPARENT),
                HeaderName::from_static(consistency::HEADER),
            ])
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

/// How the HTTP side is set up.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub origins: AllowedOrigins,
    pub proxies: TrustedProxies,
    /// The most operations one HTTP request may batch.
    pub max_batch: usize,
    /// The largest answer, serialized, in bytes.
    pub max_response_bytes: usize,
    pub graphiql: bool,
    pub sockets: SocketLimits,
}

/// What `POST /graphql` needs.
#[derive(Clone)]
struct Api {
    schema: BankSchema,
    max_batch: usize,
    max_response_bytes: usize,
    proxies: TrustedProxies,
    admission: Arc<Admission>,
}

pub(crate) fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    (status, Json(body)).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// GraphQL over HTTP: one operation, or a JSON array of at most `max_batch`. Each operation
/// may be a Kafka round trip, so a long batch would let one request make thousands; it is
/// refused whole, before any of it runs.
async fn graphql(
    State(api): State<Api>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send GraphQL as Content-Type: application/json".into(),
        );
    }
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("a request may be at most {MAX_BODY_BYTES} bytes"),
            )
        }
    };
    let batch = match async_graphql::http::receive_batch_json(body.as_ref()).await {
        Ok(batch) => batch,
        Err(error) => return refusal(StatusCode::BAD_REQUEST, "BAD_REQUEST", error.to_string()),
    };
    let requests = match &batch {
        BatchRequest::Single(request) => std::slice::from_ref(request),
        BatchRequest::Batch(requests) => requests.as_slice(),
    };
    if requests.len() > api.max_batch {
        let message = format!(
            "a batch may hold at most {} operations; this one has {}",
            api.max_batch,
            requests.len()
        );
        return refusal(StatusCode::BAD_REQUEST, "BATCH_TOO_LARGE", message);
    }
    if api.admission.is_full() && crate::shedding::only_commands(requests) {
        count_shed();
        let mut busy = refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            schema::errors::BUSY,
            BusError::Busy.to_string(),
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return busy;
    }
    if let Err(message) = schema::limits::one_credential_check(requests) {
        return refusal(
            StatusCode::BAD_REQUEST,
            "TOO_MANY_CREDENTIAL_CHECKS",
            message,
        );
    }
    let known = match known_positions(&parts.headers) {
        Ok(known) => known,
        Err(message) => {
            return refusal(StatusCode::BAD_REQUEST, "BAD_CONSISTENCY_TOKEN", message);
        }
    };
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let traceparent = parts
        .headers
        .get(topology::trace_context::TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let batch = batch
        .data(Bearer::from_authorization(authorization))
        .data(IncomingTrace(traceparent))
        .data(api.proxies.client(peer, &parts.headers));
    let (mut response, positions) =
        consistency::scope(known, api.schema.execute_batch(batch)).await;
    hand_over(&mut response, &positions);
    answer(&response, api.max_response_bytes)
}

/// The positions the client's last answer named (see [`consistency`]): none without the
/// header, a clear refusal for one that is not a token.
fn known_positions(headers: &HeaderMap) -> Result<Positions, String> {
    let Some(value) = headers.get(consistency::HEADER) else {
        return Ok(Positions::new());
    };
    let text = value.to_str().map_err(|_| {
        format!(
            "{} must be the text of a consistency token",
            consistency::HEADER
        )
    })?;
    Positions::parse(text).map_err(|error| {
        format!(
            "{}: {error}; send back extensions.{} of an answer as it came",
            consistency::HEADER,
            consistency::EXTENSION
        )
    })
}

/// Every answer of the request names what its reads reflect and its commands caused, for the
/// client's next request.
fn hand_over(response: &mut BatchResponse, positions: &Positions) {
    if positions.is_empty() {
        return;
    }
    let token = async_graphql::Value::String(positions.to_string());
    let responses = match response {
        BatchResponse::Single(response) => std::slice::from_mut(response),
        BatchResponse::Batch(responses) => responses.as_mut_slice(),
    };
    for response in responses {
        response
            .extensions
            .insert(consistency::EXTENSION.to_string(), token.clone());
    }
}

/// The answer as JSON, unless it is larger than `max` bytes.
fn answer(response: &BatchResponse, max: usize) -> Response {
    let body = match serde_json::to_vec(response) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "serializing an answer");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if body.len() > max {
        let message = format!(
            "the answer would be {} bytes, more than the {max} allowed: ask for fewer items",
            body.len()
        );
        drop(body);
        topology::process::give_freed_memory_back();
        return refusal(StatusCode::OK, "RESPONSE_TOO_LARGE", message);
    }
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Headers on every answer: nothing of the API may be framed, sniffed into another type,
/// cached, or leak the page it was called from.
fn security_headers(router: Router) -> Router {
    let headers: [(HeaderName, &'static str); 6] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

pub fn router(
    schema: BankSchema,
    admission: Arc<Admission>,
    sessions: Arc<Sessions>,
    readiness: Readiness,
    config: &HttpConfig,
    metrics: Metrics,
    downloads: Downloads,
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
    let origins = Arc::new(config.origins.clone());
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(render))
        .route(
            "/graphql/statement",
            get(statement_download::statement).with_state(downloads),
        )
        .route(
            "/graphql",
            post(graphql).with_state(Api {
                schema: schema.clone(),
                max_batch: config.max_batch,
                max_response_bytes: config.max_response_bytes,
                proxies: config.proxies.clone(),
                admission,
            }),
        )
        .route(
            "/graphql/ws",
            get(websocket::subscriptions).with_state(Sockets::new(
                schema,
                sessions,
                Arc::clone(&origins),
                config.proxies.clone(),
                config.sockets,
            )),
        );
    if config.graphiql {
        router = router
            .route("/graphiql", get(graphiql::page))
            .route("/graphiql/assets/{name}", get(graphiql::asset));
    }
    // The body is read by the handler with its own bound; axum's default would cut it at 2 MB.
    let router = router
        .layer(DefaultBodyLimit::disable())
        .layer(origins.cors());
    security_headers(router)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_named_exactly() {
        let origins =
            AllowedOrigins::parse("http://127.0.0.1:8181, https://Bank.example/").expect("origins");
        let allows = |origin: &str| origins.allows(&HeaderValue::from_str(origin).expect("value"));
        assert!(allows("http://127.0.0.1:8181"));
        assert!(allows("https://bank.example"));
        assert!(!allows("http://127.0.0.1:8182"));
        assert!(!allows("https://bank.example.evil.test"));
        assert!(!allows("null"));
        assert!(AllowedOrigins::parse("*").is_err());
        assert!(AllowedOrigins::parse("bank.example").is_err());
    }

    #[test]
    fn only_json_is_executed() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(value).expect("value"),
            );
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
