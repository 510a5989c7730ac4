//! A `stream_transactions` subscription over graphql-transport-ws that records when each
//! transaction arrives.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
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

/// Subscribes to the CREDITs whose description contains `descr`.
pub async fn subscribe(base: &str, descr: &str) -> anyhow::Result<Arrivals> {
    let ws_url = format!("{}/graphql/ws", base.trim_end_matches('/')).replacen("http", "ws", 1);
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("WebSocket")?;
    socket
        .send(WsMessage::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await?;
    socket
        .send(WsMessage::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": STREAM, "variables": {"d": descr}}})
                .to_string(),
        ))
        .await?;
    let arrivals = Arrivals::default();
    let sink = arrivals.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let at = Instant::now();
            let WsMessage::Text(text) = message else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            if let Some(descr) = value["payload"]["data"]["stream_transactions"]["descr"].as_str() {
                sink.push(descr.to_string(), at);
            }
        }
    });
    Ok(arrivals)
}
