//! `--sweep 250,500,1000,…`: the saturation curve. The same open-loop transfers as a single
//! run, at each offered rate in turn for `--duration` seconds (its own descriptions, so every
//! step waits only for its own CREDITs), with a pause between steps for what is still in
//! flight to settle. Per step: what was accepted and shed per second, p50/p99 of the answer and
//! of the delivery on the subscription, and the CPU each `--cpu-of` process spent per second
//! (in cores): where the knee is, and what limits it.

use std::time::{Duration, Instant};

use crate::load::{Outcome, Run, TimedLatency};
use crate::report::nearest_rank;

/// One offered rate and what came of it.
#[derive(Debug, Clone)]
pub struct Step {
    /// Transfers due per second.
    pub offered: f64,
    /// Succeeded per second of the step.
    pub accepted: f64,
    /// Refused as BUSY per second (admission control).
    pub shed: f64,
    /// Neither: failed, timed out, not sent.
    pub other: usize,
    pub answer: Percentiles,
    pub delivery: Percentiles,
    /// CPU cores each watched process used over the step, by name.
    pub cpu: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
}

impl Percentiles {
    fn of(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Self {
            p50: nearest_rank(&latencies, 0.50),
            p99: nearest_rank(&latencies, 0.99),
        }
    }
}

impl Step {
    pub fn of(
        offered: f64,
        seconds: f64,
        run: &Run,
        deliveries: &[TimedLatency],
        cpu: Vec<(String, f64)>,
    ) -> Self {
        let count = |wanted: Outcome| {
            run.samples
                .iter()
                .filter(|sample| sample.outcome == wanted)
                .count()
        };
        let (succeeded, shed) = (count(Outcome::Succeeded), count(Outcome::Shed));
        let answers = run
            .samples
            .iter()
            .filter(|sample| sample.outcome == Outcome::Succeeded)
            .map(|sample| sample.latency)
            .collect();
        Self {
            offered,
            accepted: succeeded as f64 / seconds,
            shed: shed as f64 / seconds,
            other: run.samples.len() - succeeded - shed,
            answer: Percentiles::of(answers),
            delivery: Percentiles::of(deliveries.iter().map(|d| d.latency).collect()),
            cpu,
        }
    }

    /// One line of the table: offered, accepted, shed, other, answer p50/p99, delivery
    /// p50/p99, CPU per process.
    pub fn line(&self) -> String {
        let cpu = self
            .cpu
            .iter()
            .map(|(name, cores)| format!("{name} {cores:.2}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{:>7.0} {:>9.1} {:>7.1} {:>6} {:>9} {:>9} {:>9} {:>9}  {cpu}",
            self.offered,
            self.accepted,
            self.shed,
            self.other,
            millis(self.answer.p50),
            millis(self.answer.p99),
            millis(self.delivery.p50),
            millis(self.delivery.p99),
        )
    }
}

pub const HEADER: &str =
    "offered  accepted    shed  other  answer50  answer99 deliver50 deliver99  CPU cores";

fn millis(latency: Option<Duration>) -> String {
    latency.map_or_else(
        || "–".into(),
        |l| format!("{:.0} ms", l.as_secs_f64() * 1e3),
    )
}

/// CPU time of the watched processes, read before a step and compared after it.
pub struct CpuMeter<'a> {
    watched: &'a [(String, u32)],
    before: Vec<Option<f64>>,
    started: Instant,
}

impl<'a> CpuMeter<'a> {
    pub fn start(watched: &'a [(String, u32)]) -> Self {
        Self {
            watched,
            before: watched
                .iter()
                .map(|(_, pid)| topology::process::cpu_seconds(*pid))
                .collect(),
            started: Instant::now(),
        }
    }

    /// Cores each process used since the start (a process that is gone is left out).
    pub fn cores(&self) -> Vec<(String, f64)> {
        let wall = self.started.elapsed().as_secs_f64().max(f64::EPSILON);
        self.watched
            .iter()
            .zip(&self.before)
            .filter_map(|((name, pid), before)| {
                let spent = topology::process::cpu_seconds(*pid)? - (*before)?;
                Some((name.clone(), spent / wall))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Sample;

    fn sample(outcome: Outcome, millis: u64) -> Sample {
        Sample {
            due: Duration::ZERO,
            latency: Duration::from_millis(millis),
            send_lag: Duration::ZERO,
            outcome,
            across_partitions: true,
        }
    }

    #[test]
    fn a_step_counts_what_was_accepted_and_shed_per_second() {
        let run = Run {
            started: Instant::now(),
            issuing: Duration::from_secs(2),
            samples: vec![
                sample(Outcome::Succeeded, 10),
                sample(Outcome::Succeeded, 20),
                sample(Outcome::Succeeded, 30),
                sample(Outcome::Shed, 1),
                sample(Outcome::NotSent, 0),
            ],
        };
        let step = Step::of(5.0, 2.0, &run, &[], vec![("endpoint".into(), 0.5)]);
        assert_eq!((step.accepted, step.shed, step.other), (1.5, 0.5, 1));
        assert_eq!(step.answer.p50, Some(Duration::from_millis(20)));
        assert_eq!(step.answer.p99, Some(Duration::from_millis(30)));
        assert_eq!(step.delivery.p99, None);
        assert!(step.line().contains("endpoint 0.50"), "{}", step.line());
    }
}
