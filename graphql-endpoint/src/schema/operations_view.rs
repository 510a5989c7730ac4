//! The GraphQL shape of the operations view (`operations`, `operations_live`): for employees.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_graphql::{Context, Result, SimpleObject};
use topology::telemetry::Metrics;

use super::access::employee as require_employee;
use crate::operations::{self, Operations, Snapshot};
use crate::server::Readiness;

/// What the operations view needs: the summaries, and this endpoint's own health.
pub struct Watching {
    pub operations: Arc<Operations>,
    pub readiness: Readiness,
    pub metrics: Metrics,
    pub own_url: String,
}

/// How often `operations_live` sends a new snapshot.
pub const REFRESH: Duration = Duration::from_secs(2);

/// The bank at a glance, as of `at`.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
#[graphql(name = "Operations", rename_fields = "snake_case")]
pub struct OperationsView {
    /// RFC 3339, UTC.
    pub at: String,
    /// Transfers this endpoint answered in the last 10 s, per second.
    pub transfers_per_second: f64,
    /// The last 5 minutes in 10-s windows, oldest first: how many transfers this endpoint
    /// answered in each and their latency (from the mutation to its answer) percentiles.
    pub transfer_latency: Vec<LatencyWindow>,
    /// This endpoint and the services it watches (`GRAPHQL_OPS_SERVICES`).
    pub services: Vec<ServiceStatus>,
    /// The newest commands answered on the command feedback topics (at most 50), newest
    /// first, whoever sent them.
    pub recent_commands: Vec<CommandSeen>,
}

#[derive(SimpleObject, Debug, Clone, PartialEq)]
#[graphql(rename_fields = "snake_case")]
pub struct LatencyWindow {
    /// RFC 3339, UTC: the window covers the 10 s from here.
    pub start: String,
    pub transfers: i32,
    #[graphql(name = "p50_ms")]
    pub p50_ms: Option<f64>,
    #[graphql(name = "p95_ms")]
    pub p95_ms: Option<f64>,
    #[graphql(name = "p99_ms")]
    pub p99_ms: Option<f64>,
}

#[derive(SimpleObject, Debug, Clone, PartialEq)]
#[graphql(rename_fields = "snake_case")]
pub struct ServiceStatus {
    pub name: String,
    pub url: String,
    pub healthy: bool,
    /// `ready`, `catching_up`, `starting`, or why it could not be asked.
    pub status: String,
    /// Records its consumers have not read yet, over all their partitions; null if unknown.
    pub consumer_lag: Option<i64>,
}

#[derive(SimpleObject, Debug, Clone, PartialEq)]
#[graphql(rename_fields = "snake_case")]
pub struct CommandSeen {
    /// When its feedback was written, RFC 3339 UTC.
    pub at: String,
    pub command: String,
    /// `succeeded` or `failed`.
    pub outcome: String,
    pub reason: Option<String>,
    /// The W3C trace id of the request that caused it, when it was traced.
    pub trace_id: Option<String>,
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

impl From<Snapshot> for OperationsView {
    fn from(snapshot: Snapshot) -> Self {
        Self {
            at: rfc3339(snapshot.at),
            transfers_per_second: snapshot.transfers_per_second,
            transfer_latency: snapshot
                .transfer_latency
                .into_iter()
                .map(|window| LatencyWindow {
                    start: rfc3339(window.start),
                    transfers: i32::try_from(window.transfers).unwrap_or(i32::MAX),
                    p50_ms: window.p50_ms,
                    p95_ms: window.p95_ms,
                    p99_ms: window.p99_ms,
                })
                .collect(),
            services: snapshot
                .services
                .into_iter()
                .map(|service| ServiceStatus {
                    name: service.name,
                    url: service.url,
                    healthy: service.healthy,
                    status: service.status,
                    consumer_lag: service.consumer_lag,
                })
                .collect(),
            recent_commands: snapshot
                .recent_commands
                .into_iter()
                .map(|seen| CommandSeen {
                    at: rfc3339(seen.at),
                    command: seen.command.to_string(),
                    outcome: if seen.succeeded {
                        "succeeded"
                    } else {
                        "failed"
                    }
                    .to_string(),
                    reason: seen.reason,
                    trace_id: seen.trace_id,
                })
                .collect(),
        }
    }
}

/// The current snapshot, for an employee.
pub async fn current(ctx: &Context<'_>) -> Result<OperationsView> {
    require_employee(ctx)?;
    let watching = ctx.data::<Arc<Watching>>()?;
    Ok(snapshot(watching).await)
}

pub async fn snapshot(watching: &Watching) -> OperationsView {
    let own = operations::own_status(
        &watching.own_url,
        watching.readiness.is_ready(),
        &watching.metrics,
    );
    watching.operations.snapshot(own).await.into()
}
