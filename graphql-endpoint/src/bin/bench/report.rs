//! What the bench prints: rates, outcomes, latency percentiles, and the run cut in windows so
//! one sees whether a rate was sustained or only reached at the start.

use std::collections::HashMap;
use std::time::Duration;

use crate::load::{Outcome, Run, Sample};

/// Length of one window of the per-window lines.
const WINDOW: Duration = Duration::from_secs(10);
/// Reasons and errors listed by name, most frequent first.
const TOP_REASONS: usize = 3;

/// `p50 … p90 … p95 … p99 … max … (n=…)` of `samples`, in milliseconds.
pub fn percentiles(samples: &mut [Duration]) -> String {
    if samples.is_empty() {
        return "no samples".into();
    }
    samples.sort_unstable();
    let at = |fraction: f64| {
        nearest_rank(samples, fraction)
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3
    };
    format!(
        "p50 {:.1} ms  p90 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (n={})",
        at(0.50),
        at(0.90),
        at(0.95),
        at(0.99),
        at(1.0),
        samples.len()
    )
}

/// The sample at percentile `fraction` (0–1) of `sorted` by nearest rank, the one rank
/// `fraction × (n - 1)` rounded; `None` when there are none.
pub fn nearest_rank(sorted: &[Duration], fraction: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (last as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
    sorted.get(rank.min(last)).copied()
}

/// Achieved rates, outcomes, how late the client was, and the mutation latency.
pub fn transfers(run: &Run, target_rate: f64) -> Vec<String> {
    let samples = &run.samples;
    let count =
        |wanted: fn(&Outcome) -> bool| samples.iter().filter(|s| wanted(&s.outcome)).count();
    let succeeded = count(|o| *o == Outcome::Succeeded);
    let not_sent = count(|o| *o == Outcome::NotSent);
    let sent = samples.len() - not_sent;
    // The run lasts until the last answer.
    let elapsed = samples
        .iter()
        .map(|s| s.due + s.latency)
        .max()
        .unwrap_or_default()
        .max(run.issuing);
    let per_second = |n: usize, over: Duration| n as f64 / over.as_secs_f64().max(1e-9);
    let mut lines = vec![
        format!(
            "{} transfers due at {target_rate}/s over {:.1} s: sent {:.1}/s, succeeded {:.1}/s (until the last answer, {:.1} s)",
            samples.len(),
            run.issuing.as_secs_f64(),
            per_second(sent, run.issuing),
            per_second(succeeded, elapsed),
            elapsed.as_secs_f64(),
        ),
        format!(
            "outcomes: {succeeded} succeeded, {} refused, {} shed (busy), {} endpoint timeouts, {} client timeouts, {} errors, {not_sent} not sent (--max-in-flight reached)",
            count(|o| matches!(o, Outcome::Refused(_))),
            count(|o| *o == Outcome::Shed),
            count(|o| *o == Outcome::EndpointTimeout),
            count(|o| *o == Outcome::ClientTimeout),
            count(|o| matches!(o, Outcome::Error(_))),
        ),
    ];
    lines.extend(most_frequent("refused", samples, |o| match o {
        Outcome::Refused(reason) => Some(reason),
        _ => None,
    }));
    lines.extend(most_frequent("error", samples, |o| match o {
        Outcome::Error(error) => Some(error),
        _ => None,
    }));
    let most_behind = samples.iter().map(|s| s.send_lag).max().unwrap_or_default();
    let across = samples.iter().filter(|s| s.across_partitions).count();
    lines.push(format!(
        "client behind its schedule by at most {:.1} ms; {:.1}% of the pairs are in different partitions",
        most_behind.as_secs_f64() * 1e3,
        across as f64 * 100.0 / samples.len().max(1) as f64
    ));
    let mut latencies = succeeded_latencies(samples.iter());
    lines.push(format!(
        "mutation latency (succeeded, from due): {}",
        percentiles(&mut latencies)
    ));
    let mut shed: Vec<Duration> = samples
        .iter()
        .filter(|s| s.outcome == Outcome::Shed)
        .map(|s| s.latency)
        .collect();
    if !shed.is_empty() {
        lines.push(format!(
            "shed (busy) answered, from due: {}",
            percentiles(&mut shed)
        ));
    }
    lines
}

/// One line per window of due times, when the run spans more than one.
pub fn windows(run: &Run) -> Vec<String> {
    let Some(last) = run.samples.last() else {
        return Vec::new();
    };
    if last.due < WINDOW {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let mut start = Duration::ZERO;
    while start <= last.due {
        let end = start + WINDOW;
        let in_window: Vec<&Sample> = run
            .samples
            .iter()
            .filter(|s| s.due >= start && s.due < end)
            .collect();
        let length = (run.issuing.max(last.due).min(end) - start).max(Duration::from_millis(1));
        let mut latencies = succeeded_latencies(in_window.iter().copied());
        let succeeded = latencies.len();
        lines.push(format!(
            "  due {:>4}–{:<4} s: {:.1} succeeded/s of {} due, {}",
            start.as_secs(),
            end.as_secs(),
            succeeded as f64 / length.as_secs_f64(),
            in_window.len(),
            percentiles(&mut latencies)
        ));
        start = end;
    }
    lines
}

fn succeeded_latencies<'a>(samples: impl Iterator<Item = &'a Sample>) -> Vec<Duration> {
    samples
        .filter(|s| s.outcome == Outcome::Succeeded)
        .map(|s| s.latency)
        .collect()
}

/// `  <what>: "<text>" ×<count>` for the most frequent texts.
fn most_frequent<'a>(
    what: &str,
    samples: &'a [Sample],
    text: impl Fn(&'a Outcome) -> Option<&'a String>,
) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for sample in samples {
        if let Some(text) = text(&sample.outcome) {
            *counts.entry(text.as_str()).or_default() += 1;
        }
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
        .into_iter()
        .take(TOP_REASONS)
        .map(|(text, n)| format!("  {what}: {text:?} ×{n}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn sample(due_ms: u64, latency_ms: u64, outcome: Outcome) -> Sample {
        Sample {
            due: Duration::from_millis(due_ms),
            latency: Duration::from_millis(latency_ms),
            send_lag: Duration::ZERO,
            outcome,
            across_partitions: due_ms.is_multiple_of(1_000),
        }
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(
            percentiles(&mut samples),
            "p50 51.0 ms  p90 90.0 ms  p95 95.0 ms  p99 99.0 ms  max 100.0 ms  (n=100)"
        );
        assert_eq!(percentiles(&mut []), "no samples");
    }

    #[test]
    fn outcomes_and_rates_are_counted() {
        let run = Run {
            started: Instant::now(),
            samples: vec![
                sample(0, 100, Outcome::Succeeded),
                sample(500, 100, Outcome::Refused("iban not known".into())),
                sample(1_000, 900, Outcome::Succeeded),
                sample(1_500, 0, Outcome::NotSent),
            ],
            issuing: Duration::from_millis(2_000),
        };
        let lines = transfers(&run, 2.0);
        assert_eq!(
            lines[0],
            "4 transfers due at 2/s over 2.0 s: sent 1.5/s, succeeded 1.0/s (until the last answer, 2.0 s)"
        );
        assert_eq!(
            lines[1],
            "outcomes: 2 succeeded, 1 refused, 0 shed (busy), 0 endpoint timeouts, 0 client timeouts, 0 errors, 1 not sent (--max-in-flight reached)"
        );
        assert_eq!(lines[2], "  refused: \"iban not known\" ×1");
        assert!(lines[3].ends_with("50.0% of the pairs are in different partitions"));
        assert!(lines[4].contains("max 900.0 ms  (n=2)"));
    }

    #[test]
    fn a_long_run_is_cut_in_windows() {
        let samples = (0..25)
            .map(|s| sample(s * 1_000, 10, Outcome::Succeeded))
            .collect();
        let run = Run {
            started: Instant::now(),
            samples,
            issuing: Duration::from_secs(25),
        };
        let lines = windows(&run);
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].contains("1.0 succeeded/s of 10 due"),
            "{}",
            lines[0]
        );
        assert!(lines[2].contains("of 5 due"), "{}", lines[2]);
    }
}
