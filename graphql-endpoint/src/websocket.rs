//! `/graphql/ws`: GraphQL subscriptions over WebSocket, both `graphql-transport-ws` and the
//! legacy `graphql-ws` protocol (picked from `Sec-WebSocket-Protocol`).
//!
//! async-graphql-axum's ready-made service upgrades with tungstenite's default buffers of
//! 128 KiB to read and 128 KiB to write per connection: 1,000 open subscriptions took 150 MB.
//! A subscription receives small documents and sends one small transaction at a time, so it
//! gets 4 KiB buffers (they grow when needed): 1,000 subscriptions take about 20 MB. The cap on
//! incoming messages keeps one client from making the server buffer megabytes.

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;

use crate::employees::Bearer;
use crate::schema::BankSchema;

const BUFFER_BYTES: usize = 4 * 1024;
/// A subscription document with its variables; far more than any real one needs.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub async fn subscriptions(
    State(schema): State<BankSchema>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(|payload| async move {
                    let mut data = Data::default();
                    data.insert(bearer_of(&payload));
                    Ok(data)
                })
                .serve()
        })
}

/// A browser cannot set headers on a WebSocket, so the employee session comes in the
/// `connection_init` payload: `{"Authorization": "Bearer <token>"}` (any case of the key).
fn bearer_of(payload: &serde_json::Value) -> Bearer {
    let authorization = payload.as_object().and_then(|fields| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, value)| value.as_str())
    });
    Bearer::from_authorization(authorization)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_session_comes_from_the_init_payload() {
        let token = |payload| bearer_of(&payload).0;
        assert_eq!(
            token(json!({"Authorization": "Bearer abc"})),
            Some("abc".into())
        );
        assert_eq!(
            token(json!({"authorization": "Bearer abc"})),
            Some("abc".into())
        );
        assert_eq!(token(json!({})), None);
        assert_eq!(token(json!(null)), None);
        assert_eq!(token(json!({"Authorization": 5})), None);
    }
}
