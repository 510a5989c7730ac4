//! The security model, tried as an attacker would, on the real suite (command handler,
//! projector and endpoints on a real broker + registry): sessions and how they end, who may
//! read what, abuse limits, and the bounds of HTTP and WebSocket. See the README's "Security
//! model".
//!
//! Every simulated client has an address of its own: the endpoints trust `127.0.0.1` as a
//! proxy (`GRAPHQL_TRUSTED_PROXIES`), as they would trust the web app's server, and each client
//! sends its address in `X-Forwarded-For`. So throttling per address is exercised the way it
//! works behind a proxy, and one test's failures do not slow another's clients.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod http;
mod reads;
mod sessions;
mod streams;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use common::{ServiceProcess, STRONG_PASSWORD, WAIT};

/// The settings every endpoint of these tests gets besides the tests' defaults.
fn endpoint_settings(extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut settings = vec![
        ("GRAPHQL_TRUSTED_PROXIES", "127.0.0.1".to_string()),
        ("GRAPHQL_COMMAND_TIMEOUT", "20".to_string()),
    ];
    for (key, value) in extra {
        let key: &'static str = Box::leak(key.to_string().into_boxed_str());
        settings.push((key, value.to_string()));
    }
    settings
}

/// A fresh client address, 10.77.x.y, for one simulated client.
fn new_address() -> IpAddr {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    IpAddr::V4(Ipv4Addr::new(10, 77, (n >> 8) as u8, n as u8))
}

/// GraphQL over HTTP from one client address, with or without a session.
#[derive(Clone)]
pub struct Caller {
    http: reqwest::Client,
    pub port: u16,
    pub address: IpAddr,
    pub session: Option<String>,
}

impl Caller {
    pub fn new(port: u16) -> Self {
        // One HTTP client for all: building one costs milliseconds (its TLS setup), which
        // would pace a burst of simulated clients.
        static HTTP: std::sync::LazyLock<reqwest::Client> =
            std::sync::LazyLock::new(reqwest::Client::new);
        Self {
            http: HTTP.clone(),
            port,
            address: new_address(),
            session: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn with_session(&self, session: &str) -> Self {
        Self {
            session: Some(session.to_string()),
            ..self.clone()
        }
    }

    /// The same client at another endpoint replica.
    pub fn at(&self, port: u16) -> Self {
        Self {
            port,
            ..self.clone()
        }
    }

    pub fn request(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .header("x-forwarded-for", self.address.to_string())
            .json(body);
        if let Some(session) = &self.session {
            request = request.bearer_auth(session);
        }
        request.timeout(WAIT)
    }

    /// The whole response (`data` and/or `errors`).
    pub async fn post(&self, query: &str, variables: Value) -> Value {
        self.request(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("JSON")
    }

    /// `data.<field>`, failing on errors.
    pub async fn data(&self, query: &str, variables: Value, field: &str) -> Value {
        let response = self.post(query, variables).await;
        assert!(response.get("errors").is_none(), "{query}: {response}");
        response["data"][field].clone()
    }

    /// The code of the first error, and that the refused field carries no data.
    pub async fn refusal(&self, query: &str, variables: Value) -> (String, String) {
        let response = self.post(query, variables).await;
        refusal_of(&response, query)
    }

    pub async fn login(&self, username: &str, password: &str) -> Value {
        self.data(LOGIN, json!({"u": username, "p": password}), "login")
            .await
    }

    /// A new session of an existing user.
    pub async fn session_of(&self, username: &str, password: &str) -> Self {
        let login = self.login(username, password).await;
        let token = login["token"]
            .as_str()
            .unwrap_or_else(|| panic!("a session for {username}: {login}"));
        self.with_session(token)
    }
}

/// `(code, message)` of the first error of `response`, which must hold no data.
pub fn refusal_of(response: &Value, what: &str) -> (String, String) {
    let errors = response["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what} refused, got {response}"));
    assert_eq!(errors.len(), 1, "one error for {what}: {response}");
    let data = &response["data"];
    assert!(
        data.is_null()
            || data
                .as_object()
                .is_some_and(|fields| fields.values().all(Value::is_null)),
        "no partial data for {what}: {response}"
    );
    (
        errors[0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

pub const LOGIN: &str = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token expires_at reason } }";
pub const SIGN_UP: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
pub const DEPOSIT: &str = "mutation($uuid: String!, $a: Int!, $to: String!) {
  money_transfer(uuid: $uuid, amount: $a, from: \"cash\", to: $to, descr: \"deposit\") { success reason } }";
pub const TRANSFER: &str =
    "mutation($uuid: String!, $a: Int!, $from: String!, $to: String!, $d: String!) {
  money_transfer(uuid: $uuid, amount: $a, from: $from, to: $to, descr: $d) { success reason } }";

/// A customer signed up and logged in, from an address of their own.
pub struct Customer {
    pub name: String,
    pub iban: String,
    pub token: String,
    pub caller: Caller,
}

impl Customer {
    pub async fn sign_up(port: u16, prefix: &str) -> Self {
        let name = common::unique(prefix);
        let anonymous = Caller::new(port);
        let account = anonymous
            .data(
                SIGN_UP,
                json!({"u": name, "p": STRONG_PASSWORD}),
                "get_account",
            )
            .await;
        assert!(account["reason"].is_null(), "{account}");
        let caller = anonymous.session_of(&name, STRONG_PASSWORD).await;
        Self {
            iban: account["iban"].as_str().expect("iban").to_string(),
            token: account["token"].as_str().expect("token").to_string(),
            name,
            caller,
        }
    }

    pub async fn deposit(&self, cents: i64) -> Value {
        let uuid = topology::Id::random().to_uuid_string();
        self.caller
            .data(
                DEPOSIT,
                json!({"uuid": uuid, "a": cents, "to": self.iban}),
                "money_transfer",
            )
            .await
    }

    /// A transfer from this customer's account; answers `(uuid, result)`.
    pub async fn pay(&self, cents: i64, to: &str, descr: &str) -> (String, Value) {
        let uuid = topology::Id::random().to_uuid_string();
        let variables = json!({"uuid": uuid, "a": cents, "from": self.iban, "to": to, "d": descr});
        let result = self
            .caller
            .data(TRANSFER, variables, "money_transfer")
            .await;
        (uuid, result)
    }
}

/// An endpoint (besides the suite's) sharing the suite's command handler and projector.
pub async fn another_endpoint(extra: &[(&str, &str)]) -> ServiceProcess {
    let mut endpoint = common::start_graphql_endpoint(&endpoint_settings(extra));
    endpoint.wait_healthy(WAIT).await;
    endpoint
}

/// A raw WebSocket to an endpoint, speaking graphql-transport-ws by hand.
pub struct Socket {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Why a WebSocket could not be opened: the HTTP status of the refused upgrade.
pub async fn open_socket(port: u16, origin: Option<&str>, address: IpAddr) -> Result<Socket, u16> {
    let mut request = format!("ws://127.0.0.1:{port}/graphql/ws")
        .into_client_request()
        .expect("request");
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    headers.insert(
        "X-Forwarded-For",
        HeaderValue::from_str(&address.to_string()).expect("address"),
    );
    if let Some(origin) = origin {
        headers.insert("Origin", HeaderValue::from_str(origin).expect("origin"));
    }
    let connected = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap_or_else(|_| panic!("WebSocket to {port} from {address}: no upgrade in time"));
    match connected {
        Ok((stream, _)) => Ok(Socket { stream }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("WebSocket to {port}: {other}"),
    }
}

/// What arrives on a socket, frames included.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    Ping,
    Close(Option<u16>),
    Gone,
}

impl Socket {
    pub async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// Sends `connection_init` with `session` (if any) and waits for the ack.
    pub async fn init(&mut self, session: Option<&str>) {
        let payload = session.map_or(
            json!({}),
            |s| json!({"Authorization": format!("Bearer {s}")}),
        );
        self.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        match self.next_json().await {
            Some(ack) => assert_eq!(ack["type"], "connection_ack", "{ack}"),
            None => panic!("no connection_ack"),
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next frame, within `WAIT`.
    pub async fn frame(&mut self) -> Frame {
        match tokio::time::timeout(WAIT, self.stream.next()).await {
            Err(_) => panic!("nothing arrived on the socket in time"),
            Ok(None) | Ok(Some(Err(_))) => Frame::Gone,
            Ok(Some(Ok(Message::Text(text)))) => {
                Frame::Json(serde_json::from_str(text.as_str()).expect("JSON"))
            }
            Ok(Some(Ok(Message::Ping(_)))) => Frame::Ping,
            Ok(Some(Ok(Message::Close(frame)))) => Frame::Close(frame.map(|f| u16::from(f.code))),
            Ok(Some(Ok(_))) => Frame::Json(Value::Null),
        }
    }

    /// The next protocol message within `WAIT`, pings skipped (they arrive every second on a
    /// quiet socket, so each frame's own bound is not enough); `None` once the socket closed.
    pub async fn next_json(&mut self) -> Option<Value> {
        let next = async {
            loop {
                match self.frame().await {
                    Frame::Json(Value::Null) | Frame::Ping => continue,
                    Frame::Json(value) if value["type"] == "ping" => {
                        self.send(json!({"type": "pong"})).await;
                    }
                    Frame::Json(value) if value["type"] == "pong" => {}
                    Frame::Json(value) => return Some(value),
                    Frame::Close(_) | Frame::Gone => return None,
                }
            }
        };
        tokio::time::timeout(WAIT, next)
            .await
            .unwrap_or_else(|_| panic!("no message on the socket in time, only pings"))
    }

    /// How the socket ends: its close code, skipping whatever comes before (within `WAIT`).
    pub async fn close_code(&mut self) -> Option<u16> {
        let ends = async {
            loop {
                match self.frame().await {
                    Frame::Close(code) => return code,
                    Frame::Gone => return None,
                    _ => {}
                }
            }
        };
        tokio::time::timeout(WAIT, ends)
            .await
            .unwrap_or_else(|_| panic!("the socket was not closed in time"))
    }
}
