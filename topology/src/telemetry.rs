//! Prometheus metrics: every service installs one recorder at start and serves
//! [`Metrics::render`] on `GET /metrics` beside `/health`. The services record with the
//! `metrics` macros (`counter!`, `histogram!`, `gauge!`); names follow Prometheus conventions
//! (`open_bank_` prefix, base units, `_total` for counters, `_seconds` for durations).
//!
//! Consumer lag comes from librdkafka's statistics: consumers built by
//! [`crate::KafkaSettings`] for long-lived reading emit them every
//! [`STATISTICS_INTERVAL_MS`], and their contexts hand them to [`record_consumer_lag`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Why the recorder could not be installed.
pub use metrics_exporter_prometheus::BuildError as InstallError;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::statistics::Statistics;

/// How often librdkafka reports a consumer's positions (`statistics.interval.ms`).
pub const STATISTICS_INTERVAL_MS: &str = "5000";

/// Records in the log a consumer has not read yet, per consumer, topic and partition.
pub const CONSUMER_LAG: &str = "open_bank_consumer_lag_records";

/// Bucket bounds of every `*_seconds` histogram: 1 ms to 30 s, the range of a commit, a query,
/// a transfer and a rebuild.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Bucket bounds of every `*_records` histogram (records per transaction).
const RECORDS_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// `OPEN_BANK_TELEMETRY=off` turns metrics and spans off (an empty `/metrics`, no
/// `traceparent` headers): to measure what they cost, with everything else equal.
pub fn enabled() -> bool {
    std::env::var("OPEN_BANK_TELEMETRY").map_or(true, |value| value != "off")
}

/// The process's metrics, as Prometheus text.
#[derive(Clone)]
pub struct Metrics(PrometheusHandle);

impl Metrics {
    /// Installs the process-wide recorder the first time; later calls (tests start several
    /// services in one process) share it.
    pub fn install() -> Result<Self, BuildError> {
        if let Some(handle) = HANDLE.get() {
            return Ok(Self(handle.clone()));
        }
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
            .set_buckets_for_metric(Matcher::Suffix("_records".into()), RECORDS_BUCKETS)?;
        let handle = if enabled() {
            builder.install_recorder()?
        } else {
            // Not installed: every `counter!` and `histogram!` is a no-op, and nothing renders.
            builder.build_recorder().handle()
        };
        Ok(Self(HANDLE.get_or_init(|| handle).clone()))
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        self.0.render()
    }
}

/// The `Content-Type` of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Partitions each consumer (by `client.id`) reported last time, so a partition it no longer
/// reads is set to 0 instead of keeping its last lag for ever.
static REPORTED: Mutex<BTreeSet<(String, String, i32)>> = Mutex::new(BTreeSet::new());

/// Sets [`CONSUMER_LAG`] for every partition the consumer reads, labelled with its
/// `client.id` (the service's name for that consumer).
pub fn record_consumer_lag(statistics: &Statistics) {
    let consumer = statistics.client_id.as_str();
    let mut now = BTreeSet::new();
    for (topic, stats) in &statistics.topics {
        for (partition, stats) in &stats.partitions {
            // -1 is librdkafka's internal "unassigned" partition.
            if *partition < 0 || !stats.desired {
                continue;
            }
            let Some(lag) = lag_of(stats) else { continue };
            gauge(consumer, topic, *partition).set(lag as f64);
            now.insert((consumer.to_string(), topic.clone(), *partition));
        }
    }
    let mut reported = REPORTED.lock().unwrap_or_else(PoisonError::into_inner);
    let gone: Vec<_> = reported
        .iter()
        .filter(|(client, _, _)| client == consumer)
        .filter(|key| !now.contains(*key))
        .cloned()
        .collect();
    for key in gone {
        gauge(&key.0, &key.1, key.2).set(0.0);
        reported.remove(&key);
    }
    reported.extend(now);
}

fn gauge(consumer: &str, topic: &str, partition: i32) -> metrics::Gauge {
    metrics::gauge!(
        CONSUMER_LAG,
        "consumer" => consumer.to_string(),
        "topic" => topic.to_string(),
        "partition" => partition.to_string()
    )
}

/// Records between what the consumer handed to the service and the last stable offset (the
/// end a `read_committed` consumer can read up to). Before the first record is read, the
/// committed offset stands in for the position. `None` when librdkafka does not know yet.
fn lag_of(partition: &rdkafka::statistics::Partition) -> Option<i64> {
    let end = partition.ls_offset;
    let position = if partition.app_offset >= 0 {
        partition.app_offset
    } else {
        partition.committed_offset
    };
    (end >= 0 && position >= 0).then(|| (end - position).max(0))
}

/// A consumer context that only reports lag: for consumers that need no other hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct LagReporter;

impl ClientContext for LagReporter {
    fn stats(&self, statistics: Statistics) {
        record_consumer_lag(&statistics);
    }
}

impl ConsumerContext for LagReporter {}

/// Counts per label value, for tests that check a family moved.
pub fn sample_values(text: &str, family: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let name = series.split('{').next()?;
            (name == family).then(|| Some((series.to_string(), value.parse().ok()?)))?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(app: i64, committed: i64, ls: i64) -> rdkafka::statistics::Partition {
        rdkafka::statistics::Partition {
            app_offset: app,
            committed_offset: committed,
            ls_offset: ls,
            desired: true,
            ..Default::default()
        }
    }

    #[test]
    fn lag_is_what_the_service_has_not_read_up_to_the_stable_end() {
        assert_eq!(lag_of(&partition(90, 80, 100)), Some(10));
        assert_eq!(
            lag_of(&partition(-1001, 80, 100)),
            Some(20),
            "nothing read yet"
        );
        assert_eq!(lag_of(&partition(-1001, -1001, 100)), None);
        assert_eq!(lag_of(&partition(90, 80, -1)), None, "end unknown");
        assert_eq!(lag_of(&partition(101, 80, 100)), Some(0));
    }

    #[test]
    fn the_lag_of_each_partition_is_served_and_a_dropped_one_goes_to_zero() {
        let metrics = Metrics::install().expect("recorder");
        let mut stats = Statistics {
            client_id: "lag-test".into(),
            ..Default::default()
        };
        let mut topic = rdkafka::statistics::Topic::default();
        topic.partitions.insert(0, partition(5, 0, 12));
        topic.partitions.insert(1, partition(7, 0, 7));
        topic.partitions.insert(-1, partition(0, 0, 0));
        stats.topics.insert("bank_events".into(), topic);
        record_consumer_lag(&stats);
        let lag = |text: &str| {
            let mut found: Vec<(String, f64)> = sample_values(text, CONSUMER_LAG)
                .into_iter()
                .filter(|(series, _)| series.contains("lag-test"))
                .collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            found.into_iter().map(|(_, v)| v).collect::<Vec<_>>()
        };
        assert_eq!(lag(&metrics.render()), [7.0, 0.0]);
        if let Some(topic) = stats.topics.get_mut("bank_events") {
            topic.partitions.remove(&0);
        }
        record_consumer_lag(&stats);
        assert_eq!(lag(&metrics.render()), [0.0, 0.0]);
    }
}
