//! The live operations view (`operations` query, `operations_live` subscription): what an
//! employee watching the bank wants at a glance. Pure summaries of what this endpoint saw,
//! plus the health and consumer lag of the services it is told about
//! (`GRAPHQL_OPS_SERVICES`), asked over their `/health` and `/metrics`.
//!
//! - Transfers per second and latency percentiles: the transfers this endpoint answered (each
//!   endpoint replica sees its own clients' transfers; Prometheus adds them up across replicas).
//! - Recent commands: every feedback on the command feedback topics, whoever sent the command.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use topology::telemetry::{sample_values, Metrics, CONSUMER_LAG};

/// How far back the latency chart reaches, and the width of one of its windows.
pub const HISTORY: Duration = Duration::from_secs(5 * 60);
pub const WINDOW: Duration = Duration::from_secs(10);
/// How many of the newest commands are kept.
pub const RECENT_COMMANDS: usize = 50;
/// How long a service may take to answer `/health` or `/metrics`.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferOutcome {
    Succeeded,
    Failed,
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransferSample {
    pub answered_at: SystemTime,
    pub latency: Duration,
    pub outcome: TransferOutcome,
}

/// A command as its feedback told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSeen {
    pub at: SystemTime,
    pub command: &'static str,
    pub succeeded: bool,
    pub reason: Option<String>,
    pub trace_id: Option<String>,
}

/// One window of the latency chart: transfers answered in `[start, start + WINDOW)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyWindow {
    pub start: SystemTime,
    pub transfers: usize,
    /// Milliseconds; none without transfers.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// A service of the bank as the endpoint sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStatus {
    pub name: String,
    pub url: String,
    pub healthy: bool,
    /// `ready`, `catching_up`, or why it could not be asked.
    pub status: String,
    /// Records its consumers have not read yet, summed; none when unknown.
    pub consumer_lag: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub at: SystemTime,
    pub transfers_per_second: f64,
    pub transfer_latency: Vec<LatencyWindow>,
    pub services: Vec<ServiceStatus>,
    pub recent_commands: Vec<CommandSeen>,
}

/// A service to watch: a name and the base URL of its `/health` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub name: String,
    pub url: String,
}

/// `name=url,name=url` (the form of `GRAPHQL_OPS_SERVICES`); entries without `=` are errors.
pub fn parse_watched(text: &str) -> Result<Vec<Watched>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.split_once('=') {
            Some((name, url)) if !name.trim().is_empty() && url.trim().starts_with("http") => {
                Ok(Watched {
                    name: name.trim().to_string(),
                    url: url.trim().trim_end_matches('/').to_string(),
                })
            }
            _ => Err(format!(
                "`{entry}` should be name=http://host:port (e.g. command-handler=http://127.0.0.1:8090)"
            )),
        })
        .collect()
}

pub struct Operations {
    transfers: Mutex<VecDeque<TransferSample>>,
    commands: Mutex<VecDeque<CommandSeen>>,
    watched: Vec<Watched>,
    http: reqwest::Client,
}

impl Operations {
    pub fn new(watched: Vec<Watched>) -> Self {
        Self {
            transfers: Mutex::new(VecDeque::new()),
            commands: Mutex::new(VecDeque::new()),
            watched,
            http: reqwest::Client::new(),
        }
    }

    pub fn transfer_answered(&self, latency: Duration, outcome: TransferOutcome) {
        let now = SystemTime::now();
        let mut samples = self
            .transfers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        samples.push_back(TransferSample {
            answered_at: now,
            latency,
            outcome,
        });
        forget_older_than(&mut samples, now, HISTORY);
    }

    pub fn command_seen(&self, command: CommandSeen) {
        let mut recent = self.commands.lock().unwrap_or_else(PoisonError::into_inner);
        recent.push_front(command);
        recent.truncate(RECENT_COMMANDS);
    }

    /// Everything the view shows, as of now; `own` is this endpoint (healthy when ready).
    pub async fn snapshot(&self, own: ServiceStatus) -> Snapshot {
        let now = SystemTime::now();
        let samples: Vec<TransferSample> = {
            let mut samples = self
                .transfers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            forget_older_than(&mut samples, now, HISTORY);
            samples.iter().copied().collect()
        };
        let recent_commands = self
            .commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let mut services = vec![own];
        let asked = futures::future::join_all(self.watched.iter().map(|w| self.ask(w))).await;
        services.extend(asked);
        Snapshot {
            at: now,
            transfers_per_second: per_second(&samples, now, WINDOW),
            transfer_latency: latency_windows(&samples, now, WINDOW, HISTORY),
            services,
            recent_commands,
        }
    }

    async fn ask(&self, watched: &Watched) -> ServiceStatus {
        let get = |path: &str| {
            self.http
                .get(format!("{}{path}", watched.url))
                .timeout(ASK_TIMEOUT)
                .send()
        };
        let (health, metrics) = tokio::join!(get("/health"), get("/metrics"));
        let (healthy, status) = match health {
            Ok(response) => {
                let healthy = response.status().is_success();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                let status = body["status"].as_str().unwrap_or("unknown").to_string();
                (healthy, status)
            }
            Err(error) => (false, format!("unreachable: {}", without_url(&error))),
        };
        let consumer_lag = match metrics {
            Ok(response) => response.text().await.ok().map(|text| lag_total(&text)),
            Err(_) => None,
        };
        ServiceStatus {
            name: watched.name.clone(),
            url: watched.url.clone(),
            healthy,
            status,
            consumer_lag,
        }
    }
}

fn without_url(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "connection refused".into()
    } else {
        let text = error.to_string();
        text.split(" for url").next().unwrap_or(&text).to_string()
    }
}

/// The consumer lag of a service's metrics, summed over its consumers and partitions.
pub fn lag_total(metrics: &str) -> i64 {
    sample_values(metrics, CONSUMER_LAG).values().sum::<f64>() as i64
}

/// This endpoint as a service of the view: healthy once ready, with its own consumers' lag.
pub fn own_status(url: &str, ready: bool, metrics: &Metrics) -> ServiceStatus {
    ServiceStatus {
        name: "graphql-endpoint".into(),
        url: url.to_string(),
        healthy: ready,
        status: if ready { "ready" } else { "starting" }.into(),
        consumer_lag: Some(lag_total(&metrics.render())),
    }
}

fn forget_older_than(samples: &mut VecDeque<TransferSample>, now: SystemTime, age: Duration) {
    while samples
        .front()
        .is_some_and(|s| now.duration_since(s.answered_at).unwrap_or_default() > age)
    {
        samples.pop_front();
    }
}

/// Transfers answered in the last `over`, per second.
pub fn per_second(samples: &[TransferSample], now: SystemTime, over: Duration) -> f64 {
    let recent = samples
        .iter()
        .filter(|s| now.duration_since(s.answered_at).unwrap_or_default() < over)
        .count();
    recent as f64 / over.as_secs_f64()
}

/// The last `history` cut into windows of `window`, oldest first; the newest window ends at
/// `now`. Windows without transfers have no percentiles.
pub fn latency_windows(
    samples: &[TransferSample],
    now: SystemTime,
    window: Duration,
    history: Duration,
) -> Vec<LatencyWindow> {
    let count = (history.as_secs_f64() / window.as_secs_f64()).ceil() as u32;
    (0..count)
        .rev()
        .map(|back| {
            let end = now - window * back;
            let start = end - window;
            let mut latencies: Vec<Duration> = samples
                .iter()
                .filter(|s| s.answered_at > start && s.answered_at <= end)
                .map(|s| s.latency)
                .collect();
            latencies.sort_unstable();
            LatencyWindow {
                start,
                transfers: latencies.len(),
                p50_ms: percentile(&latencies, 0.50),
                p95_ms: percentile(&latencies, 0.95),
                p99_ms: percentile(&latencies, 0.99),
            }
        })
        .collect()
}

/// The nearest-rank percentile of sorted `latencies`, in milliseconds.
fn percentile(latencies: &[Duration], p: f64) -> Option<f64> {
    if latencies.is_empty() {
        return None;
    }
    let rank = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len());
    Some(latencies[rank - 1].as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(now: SystemTime, seconds_ago: u64, latency_ms: u64) -> TransferSample {
        TransferSample {
            answered_at: now - Duration::from_secs(seconds_ago),
            latency: Duration::from_millis(latency_ms),
            outcome: TransferOutcome::Succeeded,
        }
    }

    #[test]
    fn windows_cover_the_history_oldest_first_with_percentiles() {
        let now = SystemTime::now();
        let mut samples: Vec<TransferSample> = (1..=100).map(|ms| sample(now, 1, ms)).collect();
        samples.push(sample(now, 15, 500));
        samples.push(sample(now, 400, 9_000)); // older than the history
        let windows = latency_windows(&samples, now, WINDOW, HISTORY);
        assert_eq!(windows.len(), 30);
        let newest = windows.last().expect("a window");
        assert_eq!(newest.transfers, 100);
        assert_eq!(newest.p50_ms, Some(50.0));
        assert_eq!(newest.p95_ms, Some(95.0));
        assert_eq!(newest.p99_ms, Some(99.0));
        let before = &windows[28];
        assert_eq!((before.transfers, before.p99_ms), (1, Some(500.0)));
        assert_eq!(windows[0].transfers, 0);
        assert_eq!(windows[0].p50_ms, None);
        assert!(windows.windows(2).all(|w| w[0].start < w[1].start));
    }

    #[test]
    fn the_rate_counts_the_last_window_only() {
        let now = SystemTime::now();
        let samples = [sample(now, 1, 5), sample(now, 9, 5), sample(now, 11, 5)];
        assert_eq!(per_second(&samples, now, WINDOW), 0.2);
        assert_eq!(per_second(&[], now, WINDOW), 0.0);
    }

    #[test]
    fn lag_adds_up_every_partition_of_every_consumer() {
        let metrics = "# TYPE open_bank_consumer_lag_records gauge\n\
            open_bank_consumer_lag_records{consumer=\"a\",topic=\"t\",partition=\"0\"} 3\n\
            open_bank_consumer_lag_records{consumer=\"b\",topic=\"t\",partition=\"1\"} 4\n\
            open_bank_other 100\n";
        assert_eq!(lag_total(metrics), 7);
        assert_eq!(lag_total(""), 0);
    }

    #[test]
    fn watched_services_are_name_equals_url() {
        assert_eq!(
            parse_watched("command-handler=http://127.0.0.1:8090/, projector=http://p:8091"),
            Ok(vec![
                Watched {
                    name: "command-handler".into(),
                    url: "http://127.0.0.1:8090".into()
                },
                Watched {
                    name: "projector".into(),
                    url: "http://p:8091".into()
                }
            ])
        );
        assert_eq!(parse_watched(""), Ok(vec![]));
        assert!(parse_watched("command-handler").is_err());
        assert!(parse_watched("x=ftp://a").is_err());
    }

    #[test]
    fn the_newest_commands_come_first_and_only_fifty_are_kept() {
        let operations = Operations::new(vec![]);
        for n in 0..60 {
            operations.command_seen(CommandSeen {
                at: SystemTime::now(),
                command: if n == 59 { "MoneyTransferCommand" } else { "X" },
                succeeded: true,
                reason: None,
                trace_id: None,
            });
        }
        let recent = operations
            .commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        assert_eq!(recent.len(), RECENT_COMMANDS);
        assert_eq!(recent[0].command, "MoneyTransferCommand");
    }
}
