//! Helpers for the endpoint's end-to-end tests: the suite's binaries as child processes
//! against a real broker + registry, and GraphQL over HTTP and WebSocket.
//!
//! The topology must be applied and the binaries built first (`scripts/test.sh` does both).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod bank_load;

pub use test_support::{start_group_at_end, unique, ServiceProcess};

/// Every wait is bounded, so a bug fails a test instead of hanging it.
pub const WAIT: Duration = Duration::from_secs(90);

/// `target/<profile>/`: integration tests run from `target/<profile>/deps/`.
fn binaries_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn binary(name: &str) -> PathBuf {
    let path = binaries_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// A suite binary as a child process, killed when dropped, on a free port given to it in
/// `listen` (port and host variable); its log is `<temp dir>/e2e-<binary_name>-<port>.log`.
fn start(binary_name: &str, listen: (&str, &str), env: &[(&str, String)]) -> ServiceProcess {
    ServiceProcess::start(
        &format!("e2e-{binary_name}"),
        binary(binary_name),
        listen,
        env.iter().map(|(k, v)| (*k, v.as_str())),
    )
}

/// The command handler with its own transactional id and a group starting at the end of the
/// command topics.
pub fn start_command_handler() -> ServiceProcess {
    let group = unique("command-handler-e2e");
    start_group_at_end(&group, &test_support::COMMAND_TOPICS);
    start_command_handler_as(&group, &unique("command-handler-e2e-tx"))
}

/// The projector with its own ids; its publishing group starts at the end of bank_events, so
/// it does not publish the transactions of earlier tests again.
pub fn start_projector() -> ServiceProcess {
    let group = unique("projector-e2e");
    start_group_at_end(&group, &["bank_events"]);
    start_projector_as(
        &group,
        &unique("projector-e2e-queries"),
        &unique("projector-e2e-tx"),
    )
}

/// A command handler under ids the caller chooses: instances given the same group share the
/// bank's partitions, and one started with the ids of a killed one takes its place. The caller
/// places the group's start offsets.
pub fn start_command_handler_as(group: &str, transactional_id: &str) -> ServiceProcess {
    start(
        "command-handler",
        ("COMMAND_HANDLER_HEALTH_PORT", "COMMAND_HANDLER_HEALTH_HOST"),
        &[
            (
                "COMMAND_HANDLER_TRANSACTIONAL_ID",
                transactional_id.to_string(),
            ),
            ("COMMAND_HANDLER_GROUP", group.to_string()),
            ("COMMAND_HANDLER_SAGA_SECRET", SAGA_SECRET.to_string()),
            (
                "COMMAND_HANDLER_STATE_DIR",
                test_support::state_dir().display().to_string(),
            ),
        ],
    )
}

/// A projector under ids the caller chooses: instances given the same groups share publishing
/// and queries, and one started with the ids of a killed one takes its place. The caller
/// places the publishing group's start offsets.
pub fn start_projector_as(
    group: &str,
    query_group: &str,
    transactional_id: &str,
) -> ServiceProcess {
    start(
        "projector",
        ("PROJECTOR_HEALTH_PORT", "PROJECTOR_HEALTH_HOST"),
        &[
            ("PROJECTOR_GROUP", group.to_string()),
            ("PROJECTOR_QUERY_GROUP", query_group.to_string()),
            ("PROJECTOR_TRANSACTIONAL_ID", transactional_id.to_string()),
            (
                "PROJECTOR_STATE_DIR",
                test_support::state_dir().display().to_string(),
            ),
        ],
    )
}

/// A password strong enough for a sign-up (zxcvbn score 3 or more).
pub const STRONG_PASSWORD: &str = "violet harbor lantern 42";

/// The employee every test endpoint lets log in, and the secret its sessions are signed with.
pub const EMPLOYEE: (&str, &str) = ("employee", "an employee password");
pub const SESSION_SECRET: &str = "the session secret of the end-to-end tests";
/// What every test endpoint derives account tokens from: replicas must share it.
pub const TOKEN_SECRET: &str = "the account token secret of the end-to-end tests";
/// What every test command handler signs cross-instance credits with: instances must share it.
pub const SAGA_SECRET: &str = "the saga secret of the end-to-end tests, shared";

/// The endpoint, which serves GraphQL on its health port too; `extra` settings come after
/// the employee's, so a test can replace them.
pub fn start_graphql_endpoint(extra: &[(&str, String)]) -> ServiceProcess {
    let mut env = vec![
        ("EMPLOYEE_USERNAME", EMPLOYEE.0.to_string()),
        ("EMPLOYEE_PASSWORD", EMPLOYEE.1.to_string()),
        ("GRAPHQL_SESSION_SECRET", SESSION_SECRET.to_string()),
        ("GRAPHQL_TOKEN_SECRET", TOKEN_SECRET.to_string()),
        // As in the local run: GraphiQL and introspection on.
        ("GRAPHQL_GRAPHIQL", "on".to_string()),
        ("GRAPHQL_INTROSPECTION", "on".to_string()),
    ];
    env.extend(extra.iter().cloned());
    start("graphql-endpoint", ("GRAPHQL_PORT", "GRAPHQL_HOST"), &env)
}

/// One command handler, one projector and one endpoint, each healthy (the endpoint's health
/// means its buses listen and the company account exists and is funded); killed when dropped.
pub struct Suite {
    pub handler: ServiceProcess,
    pub projector: ServiceProcess,
    pub endpoint: ServiceProcess,
}

impl Suite {
    /// Answers wait up to 20 s (a cold start's first transfers take a while); `extra`
    /// settings go to the endpoint.
    /// The three start together: each rebuilds what it needs from Kafka on its own, and the
    /// endpoint's commands wait on their topic until the handler is up.
    pub async fn start(extra: &[(&str, String)]) -> Self {
        let mut settings = vec![("GRAPHQL_COMMAND_TIMEOUT", "20".to_string())];
        settings.extend(extra.iter().cloned());
        let mut handler = start_command_handler();
        let mut projector = start_projector();
        let mut endpoint = start_graphql_endpoint(&settings);
        handler.wait_healthy(WAIT).await;
        projector.wait_healthy(WAIT).await;
        endpoint.wait_healthy(WAIT).await;
        Self {
            handler,
            projector,
            endpoint,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(self.endpoint.port())
    }
}

/// The endpoint setting that believes `X-Forwarded-For` from this machine: for a test that
/// plays many users, each from an address of its own ([`Client::with_address`]), as behind the
/// web app's proxy. Login throttling and the WebSocket caps then count per simulated user.
pub fn trust_local_proxy() -> (&'static str, String) {
    ("GRAPHQL_TRUSTED_PROXIES", "127.0.0.1".to_string())
}

/// The `connection_init` payload that carries `session` over a WebSocket.
pub fn session_init(session: &str) -> Value {
    json!({"Authorization": format!("Bearer {session}")})
}

/// GraphQL over HTTP, as a customer or (with a session) as an employee.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    /// Sent as `Authorization: Bearer …` with every request.
    session: Option<String>,
    /// Sent as `X-Forwarded-For` with every request: the client address an endpoint that
    /// trusts this machine as a proxy ([`trust_local_proxy`]) counts the request for.
    address: Option<String>,
    /// Sent as `open-bank-consistency` with every request: read after these positions.
    consistency: Option<String>,
}

impl Client {
    pub fn new(port: u16) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            address: None,
            consistency: None,
        }
    }

    /// The same endpoint, reading after the positions of `token` (an answer's
    /// `extensions.consistency`; any text: tests send bad ones too).
    pub fn with_consistency(&self, token: &str) -> Self {
        Self {
            consistency: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The same endpoint, from client address `address` (see [`trust_local_proxy`]).
    pub fn with_address(&self, address: &str) -> Self {
        Self {
            address: Some(address.to_string()),
            ..self.clone()
        }
    }

    /// The same endpoint, with `session` (any text: tests send bad ones too).
    pub fn with_session(&self, session: &str) -> Self {
        Self {
            session: Some(session.to_string()),
            ..self.clone()
        }
    }

    /// Signed up (`get_account`, the first use of `username` creates it and a first account)
    /// and logged in (`login`): the same endpoint with that customer's session. The password
    /// must be strong (see [`STRONG_PASSWORD`]).
    pub async fn as_customer(&self, username: &str, password: &str) -> Self {
        self.sign_up(username, password).await;
        let session = self.customer_session(username, password).await;
        self.with_session(&session)
    }

    /// A new customer (a unique name from `prefix`) signed up and logged in: the same
    /// endpoint with their session, and their first account's IBAN.
    pub async fn new_customer(&self, prefix: &str) -> (Self, String) {
        let name = unique(prefix);
        let account = self.sign_up(&name, STRONG_PASSWORD).await;
        let session = self.customer_session(&name, STRONG_PASSWORD).await;
        let iban = account["iban"].as_str().expect("iban").to_string();
        (self.with_session(&session), iban)
    }

    /// This customer's account `iban` as `my_accounts` answers `fields` of it, once `until`
    /// holds of it (the projector, or something the bank does by itself, may take a moment);
    /// fails the test after 20 s.
    pub async fn my_account_when(
        &self,
        fields: &str,
        iban: &str,
        until: impl Fn(&Value) -> bool,
    ) -> Value {
        let query = format!("query {{ my_accounts {{ accounts {{ iban {fields} }} }} }}");
        let mut account = Value::Null;
        for _ in 0..200 {
            let accounts = self.data(&query, json!({}), "my_accounts").await;
            account = accounts["accounts"]
                .as_array()
                .and_then(|list| list.iter().find(|a| a["iban"] == iban))
                .cloned()
                .unwrap_or(Value::Null);
            if until(&account) {
                return account;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("account {iban} never became as expected: {account}");
    }

    /// Signs `username` up (`get_account`, which creates the user and a first account):
    /// `{iban, token}` of that account.
    pub async fn sign_up(&self, username: &str, password: &str) -> Value {
        let account = self
            .data(
                "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }",
                json!({"u": username, "p": password}),
                "get_account",
            )
            .await;
        assert!(
            account["reason"].is_null(),
            "sign-up of {username}: {account}"
        );
        account
    }

    /// `GET <path>` with this client's session: the status, the content type and the body.
    pub async fn get(&self, path: &str) -> (u16, String, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(session) = &self.session {
            request = request.bearer_auth(session);
        }
        let response = request.send().await.expect("GET answered");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, content_type, response.text().await.expect("a body"))
    }

    /// A customer session (`login`) of an existing user.
    pub async fn customer_session(&self, username: &str, password: &str) -> String {
        let session = self
            .data(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token expires_at reason } }",
                json!({"u": username, "p": password}),
                "login",
            )
            .await;
        session["token"]
            .as_str()
            .unwrap_or_else(|| panic!("a session for {username}, got {session}"))
            .to_string()
    }

    /// The session this client sends, if any.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Logged in as the tests' employee ([`EMPLOYEE`]).
    pub async fn as_employee(&self) -> Self {
        let session = self.employee_session().await;
        self.with_session(&session)
    }

    /// The whole GraphQL response (`data` and/or `errors`).
    pub async fn post(&self, query: &str, variables: Value) -> Value {
        let mut request = self.http.post(format!("{}/graphql", self.base));
        if let Some(session) = &self.session {
            request = request.bearer_auth(session);
        }
        if let Some(address) = &self.address {
            request = request.header("X-Forwarded-For", address);
        }
        if let Some(token) = &self.consistency {
            request = request.header("open-bank-consistency", token);
        }
        request
            .json(&json!({ "query": query, "variables": variables }))
            .timeout(WAIT)
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("a JSON response")
    }

    /// `data.<field>`, failing the test on GraphQL errors.
    pub async fn data(&self, query: &str, variables: Value, field: &str) -> Value {
        let response = self.post(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response}"
        );
        response["data"][field].clone()
    }

    /// A session of the tests' employee ([`EMPLOYEE`]).
    pub async fn employee_session(&self) -> String {
        let session = self
            .data(
                "mutation($u: String!, $p: String!) { employee_login(username: $u, password: $p) { token expires_at reason } }",
                json!({"u": EMPLOYEE.0, "p": EMPLOYEE.1}),
                "employee_login",
            )
            .await;
        session["token"]
            .as_str()
            .unwrap_or_else(|| panic!("an employee session, got {session}"))
            .to_string()
    }

    /// The message of the first GraphQL error, failing the test when there is none.
    pub async fn error(&self, query: &str, variables: Value) -> String {
        let response = self.post(query, variables).await;
        response["errors"][0]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {response}"))
            .to_string()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// The two WebSocket sub-protocols async-graphql speaks.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    /// `graphql-transport-ws` (graphql-ws library): subscribe / next.
    TransportWs,
    /// `graphql-ws` (legacy subscriptions-transport-ws): start / data.
    LegacyWs,
}

/// One subscription over its own WebSocket.
pub struct Subscription {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: Protocol,
}

impl Subscription {
    pub async fn start(port: u16, protocol: Protocol, query: &str, variables: Value) -> Self {
        Self::start_with_init(port, protocol, json!({}), query, variables).await
    }

    /// [`Self::start`] with `session` (a customer's or an employee's) in `connection_init`.
    pub async fn start_as(
        port: u16,
        protocol: Protocol,
        session: &str,
        query: &str,
        variables: Value,
    ) -> Self {
        Self::start_with_init(port, protocol, session_init(session), query, variables).await
    }

    /// [`Self::start`] with `init` as the `connection_init` payload (e.g. a session).
    pub async fn start_with_init(
        port: u16,
        protocol: Protocol,
        init: Value,
        query: &str,
        variables: Value,
    ) -> Self {
        let mut request = format!("ws://127.0.0.1:{port}/graphql/ws")
            .into_client_request()
            .expect("request");
        let name = match protocol {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::LegacyWs => "graphql-ws",
        };
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(name));
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket connect");
        let mut subscription = Self { socket, protocol };
        subscription
            .send(json!({"type": "connection_init", "payload": init}))
            .await;
        let ack = subscription.next_message().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let start = match protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::LegacyWs => "start",
        };
        subscription
            .send(json!({"id": "1", "type": start, "payload": {"query": query, "variables": variables}}))
            .await;
        subscription
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("WebSocket send");
    }

    /// The next protocol message (pings are answered, keep-alives skipped).
    async fn next_message(&mut self) -> Value {
        tokio::time::timeout(WAIT, self.next_raw_while_open())
            .await
            .expect("a WebSocket message in time")
            .expect("the WebSocket stays open")
    }

    /// The payload of the next result (`data` and/or `errors`).
    pub async fn next_payload(&mut self) -> Value {
        let expected = match self.protocol {
            Protocol::TransportWs => "next",
            Protocol::LegacyWs => "data",
        };
        let message = self.next_message().await;
        assert_eq!(message["type"], expected, "{message}");
        message["payload"].clone()
    }

    /// The next protocol message as is (for error frames).
    pub async fn next_raw(&mut self) -> Value {
        self.next_message().await
    }

    /// The next protocol message as is (pings answered, keep-alives skipped), however long it
    /// takes, or `None` once the socket has closed or broken, e.g. because its endpoint was
    /// killed: for a subscriber that outlives a server, where [`Self::next_raw`] would fail.
    pub async fn next_raw_while_open(&mut self) -> Option<Value> {
        loop {
            let Message::Text(text) = self.socket.next().await?.ok()? else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).expect("JSON message");
            match value["type"].as_str() {
                Some("ka") | Some("pong") => continue,
                Some("ping") => {
                    let pong = Message::text(json!({"type": "pong"}).to_string());
                    self.socket.send(pong).await.ok()?;
                }
                _ => return Some(value),
            }
        }
    }
}
