//! `stream_transactions` subscriptions over graphql-transport-ws that record when each
//! transaction arrives. Each socket sends the customer's session in `connection_init`; several
//! subscriptions may share one socket (the endpoint allows 64 sockets per client address and
//! 100 subscriptions per socket by default).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use graphql_endpoint::schema::subscription::RESYNC;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::graphql::STREAM;

/// The description of each CREDIT that arrived, and when.
#[derive(Clone, Default)]
pub struct Arrivals(Arc<Mutex<Vec<(String, Instant)>>>);

impl Arrivals {
    fn push(&self, descr: String, at: Instant) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((descr, at));
    }

    /// Everything that arrived since the last call.
    pub fn take(&self) -> Vec<(String, Instant)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// `count` subscriptions to the CREDITs (of `session`'s customer's accounts) whose description
/// contains `descr`, at most `per_socket` on one WebSocket; every CREDIT any of them receives
/// goes into the one [`Arrivals`].
pub async fn subscribe(
    base: &str,
    session: &str,
    descr: &str,
    count: usize,
    per_socket: usize,
) -> anyhow::Result<Arrivals> {
    let arrivals = Arrivals::default();
    let per_socket = per_socket.max(1);
    let mut opened = 0;
    while opened < count {
        let on_this_socket = per_socket.min(count - opened);
        open_socket(base, session, descr, on_this_socket, arrivals.clone()).await?;
        opened += on_this_socket;
    }
    Ok(arrivals)
}

async fn open_socket(
    base: &str,
    session: &str,
    descr: &str,
    subscriptions: usize,
    arrivals: Arrivals,
) -> anyhow::Result<()> {
    let ws_url = format!("{}/graphql/ws", base.trim_end_matches('/')).replacen("http", "ws", 1);
    let mut request = ws_url.as_str().into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| {
            format!(
                "opening a WebSocket to {ws_url} (the endpoint allows \
                 GRAPHQL_MAX_SOCKETS_PER_ADDRESS per client address, 64 by default: see \
                 --subscriptions-per-socket)"
            )
        })?;
    let init = json!({"Authorization": format!("Bearer {session}")});
    socket
        .send(WsMessage::text(
            json!({"type": "connection_init", "payload": init}).to_string(),
        ))
        .await?;
    for id in 1..=subscriptions {
        socket
            .send(subscribe_message(&id.to_string(), descr))
            .await?;
    }
    // Reading also answers the server's pings (tokio-tungstenite does it while it reads), which
    // keeps the socket open.
    let descr = descr.to_string();
    tokio::spawn(async move {
        // Subscriptions the endpoint ended with RESYNC (they fell behind): subscribed again
        // once their `complete` frees the id.
        let mut resyncing = std::collections::HashSet::new();
        while let Some(Ok(message)) = socket.next().await {
            let at = Instant::now();
            let WsMessage::Text(text) = message else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            let id = value["id"].as_str().unwrap_or_default().to_string();
            match value["type"].as_str() {
                Some("connection_ack" | "ping" | "pong" | "ka") => {}
                Some("next") => {
                    let error = &value["payload"]["errors"][0];
                    match value["payload"]["data"]["stream_transactions"]["descr"].as_str() {
                        Some(descr) => arrivals.push(descr.to_string(), at),
                        None if error["extensions"]["code"] == RESYNC => {
                            eprintln!(
                                "subscription {id}: RESYNC, it fell behind (the feed skipped {}); \
                                 subscribing again",
                                error["extensions"]["skipped"]
                            );
                            resyncing.insert(id);
                        }
                        None => eprintln!("subscription {id}: {}", value["payload"]),
                    }
                }
                Some("complete") if resyncing.remove(&id) => {
                    if socket.send(subscribe_message(&id, &descr)).await.is_err() {
                        break;
                    }
                }
                // An error or the end of a subscription (e.g. its session expired): say so,
                // since its CREDITs stop arriving.
                _ => eprintln!("subscription: {value}"),
            }
        }
    });
    Ok(())
}

/// The `subscribe` message of subscription `id` to the CREDITs whose description contains `descr`.
fn subscribe_message(id: &str, descr: &str) -> WsMessage {
    let message = json!({"id": id, "type": "subscribe",
                         "payload": {"query": STREAM, "variables": {"d": descr}}});
    WsMessage::text(message.to_string())
}
