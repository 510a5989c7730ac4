//! The few GraphQL operations the bench uses, over HTTP.

use std::time::Duration;

use serde_json::{json, Value};

pub const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
pub const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) { money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { success reason ended } }";
pub const STREAM: &str = "subscription($d: String) { stream_transactions(descr_includes: $d, direction: CREDIT) { descr } }";

/// One `reqwest` client (a pool of keep-alive connections) and the endpoint's `/graphql`.
#[derive(Clone)]
pub struct GraphQl {
    http: reqwest::Client,
    url: String,
}

impl GraphQl {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: format!("{}/graphql", base.trim_end_matches('/')),
        }
    }

    /// The whole response (`data` and/or `errors`), waiting at most `timeout`.
    pub async fn post(
        &self,
        query: &str,
        variables: Value,
        timeout: Duration,
    ) -> Result<Value, reqwest::Error> {
        self.http
            .post(&self.url)
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
