//! The few GraphQL operations the bench uses, over HTTP.

use std::time::Duration;

use serde_json::{json, Value};

/// Sign-up: the first use of a username creates the user and a first account.
pub const SIGN_UP: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
/// A customer session, sent as `Authorization: Bearer <token>` from then on.
pub const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token reason } }";
/// One more account for the logged-in customer (no password checked).
pub const OPEN_ACCOUNT: &str = "mutation { open_account { iban token reason } }";
pub const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) { money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { success reason ended } }";
/// Without an IBAN: every account of the logged-in customer, which are the bench's.
pub const STREAM: &str = "subscription($d: String) { stream_transactions(descr_includes: $d, direction: CREDIT) { descr } }";

/// One `reqwest` client (a pool of keep-alive connections) and the endpoint's `/graphql`,
/// with a customer session once [`GraphQl::with_session`] gave it one.
#[derive(Clone)]
pub struct GraphQl {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
}

impl GraphQl {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: format!("{}/graphql", base.trim_end_matches('/')),
            session: None,
        }
    }

    /// The same endpoint and connections, sending `session` with every request.
    pub fn with_session(&self, session: &str) -> Self {
        Self {
            session: Some(session.to_string()),
            ..self.clone()
        }
    }

    /// The whole response (`data` and/or `errors`), waiting at most `timeout`.
    pub async fn post(
        &self,
        query: &str,
        variables: Value,
        timeout: Duration,
    ) -> Result<Value, reqwest::Error> {
        let mut request = self.http.post(&self.url);
        if let Some(session) = &self.session {
            request = request.bearer_auth(session);
        }
        request
            .json(&json!({"query": query, "variables": variables}))
            .timeout(timeout)
            .send()
            .await?
            .json()
            .await
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
