use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::load::Sample;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn timed(due_ms: u64, latency_ms: u64) -> TimedLatency {
    TimedLatency {
        due: ms(due_ms),
        latency: ms(latency_ms),
    }
}

#[test]
fn the_rolling_window_follows_the_length_of_the_run() {
    assert_eq!(rolling_window(Duration::from_secs(5)), MIN_WINDOW);
    assert_eq!(
        rolling_window(Duration::from_secs(60)),
        Duration::from_secs(3)
    );
    assert_eq!(rolling_window(Duration::from_secs(3_600)), MAX_WINDOW);
}

#[test]
fn rolling_percentiles_move_a_quarter_window_at_a_time() {
    // 1 transfer due every 10 ms for 4 s; the latency is 100 ms, 900 ms during second 2.
    let points: Vec<TimedLatency> = (0..400)
        .map(|i| timed(i * 10, if (200..300).contains(&i) { 900 } else { 100 }))
        .collect();
    let rolling = rolling_percentiles(&points, Duration::from_secs(1));
    let centres: Vec<f64> = rolling.iter().map(|r| r.centre_seconds).collect();
    assert_eq!(
        centres,
        [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5]
    );
    let p50_and_p99 = |at: usize| (rolling[at].p50_ms, rolling[at].p99_ms);
    // [1.0, 2.0) all fast, [1.25, 2.25) a quarter slow, [2.0, 3.0) the slow second.
    assert_eq!(p50_and_p99(4), (100.0, 100.0));
    assert_eq!(p50_and_p99(5), (100.0, 900.0));
    assert_eq!(p50_and_p99(8), (900.0, 900.0));
    assert_eq!(p50_and_p99(12), (100.0, 100.0));
}

#[test]
fn rolling_percentiles_skip_empty_windows_and_need_no_order() {
    let points = [timed(5_000, 30), timed(0, 10), timed(200, 20)];
    let rolling = rolling_percentiles(&points, Duration::from_secs(1));
    assert_eq!(
        rolling.first(),
        Some(&RollingPercentiles {
            centre_seconds: 0.5,
            p50_ms: 20.0,
            p99_ms: 20.0
        })
    );
    assert!(rolling.iter().all(|r| r.p50_ms > 0.0));
    assert_eq!(rolling.last().map(|r| r.p50_ms), Some(30.0));
    assert!(rolling_percentiles(&[], Duration::from_secs(1)).is_empty());
}

#[test]
fn nines_stretch_the_tail() {
    assert_eq!(nines(0.0), 0.0);
    assert!((nines(0.9) - 1.0).abs() < 1e-9);
    assert!((nines(0.999) - 3.0).abs() < 1e-9);
    let labels: Vec<String> = percentile_ticks(3.5)
        .into_iter()
        .map(|fraction| percentile_label(nines(fraction)))
        .collect();
    assert_eq!(labels, ["0%", "50%", "90%", "99%", "99.9%"]);
    assert_eq!(percentile_label(4.0), "99.99%");
}

#[test]
fn the_percentile_curve_rises_to_the_maximum_where_the_samples_end() {
    let latencies: Vec<Duration> = (1..=1_000).map(ms).collect();
    let curve = percentile_curve(&latencies);
    assert!(curve.len() > CURVE_STEPS as usize);
    assert_eq!(curve[0], (0.0, 1.0));
    // 1,000 samples: the maximum alone from 1 - 1/1998, 3.3 nines.
    let (end, max) = curve[curve.len() - 1];
    assert!((end - 1_998f64.log10()).abs() < 1e-9);
    assert_eq!(max, 1_000.0);
    assert!(curve
        .windows(2)
        .all(|pair| pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1));
    // The printed percentiles (`report::percentiles`) lie on it, on their grid lines.
    let at = |fraction: f64| {
        curve
            .iter()
            .find(|(x, _)| *x == nines(fraction))
            .map(|(_, ms)| *ms)
    };
    let mut printed = latencies.clone();
    assert!(crate::report::percentiles(&mut printed).starts_with("p50 501.0 ms  p90 900.0 ms"));
    assert_eq!(at(0.5), Some(501.0));
    assert_eq!(at(0.9), Some(900.0));
    assert_eq!(at(1.0 - 10f64.powi(-2)), Some(990.0));
    assert!(percentile_curve(&[]).is_empty());
    assert_eq!(
        percentile_curve(&[ms(7)]).last(),
        Some(&(2f64.log10(), 7.0))
    );
}

#[test]
fn thinning_keeps_one_point_per_cell_and_every_outlier() {
    let dense = (0..1_000).map(|i| (f64::from(i) / 1_000.0, 10.0 + f64::from(i % 3) / 10.0));
    let outliers = [(0.5, 900.0), (0.9, 450.0)];
    let thinned = thin_to_grid(dense.chain(outliers), (0.1, 1.0));
    assert_eq!(thinned.len(), 12);
    assert_eq!(thinned[0], (0.0, 10.0));
    assert!(outliers.iter().all(|outlier| thinned.contains(outlier)));
}

/// 60 s at 100/s: about 30 ms, a stall at 40 s, a few refusals; deliveries 20 ms later.
fn synthetic_run() -> (Run, Vec<TimedLatency>) {
    let mut random = StdRng::seed_from_u64(15);
    let mut samples = Vec::new();
    let mut deliveries = Vec::new();
    for index in 0..6_000u64 {
        let due = ms(index * 10);
        let stall = if (4_000..4_150).contains(&index) {
            400.0
        } else {
            0.0
        };
        let tail = if random.random::<f64>() < 0.01 {
            150.0
        } else {
            0.0
        };
        let latency_ms = 15.0 + 30.0 * random.random::<f64>().powi(3) + stall + tail;
        let latency = Duration::from_secs_f64(latency_ms / 1e3);
        let outcome = match index % 997 {
            0 => Outcome::Refused("insufficient funds".into()),
            500 => Outcome::ClientTimeout,
            _ => Outcome::Succeeded,
        };
        if outcome == Outcome::Succeeded {
            let extra = Duration::from_secs_f64((10.0 + 40.0 * random.random::<f64>()) / 1e3);
            deliveries.push(TimedLatency {
                due,
                latency: latency + extra,
            });
        }
        samples.push(Sample {
            due,
            latency,
            send_lag: Duration::ZERO,
            outcome,
            across_partitions: true,
        });
    }
    let run = Run {
        started: Instant::now(),
        samples,
        issuing: Duration::from_secs(60),
    };
    (run, deliveries)
}

#[test]
fn a_chart_is_written_with_both_titles() {
    let (run, deliveries) = synthetic_run();
    let drawn = RunToDraw {
        title: "bench: 6000 transfers due at 100/s",
        run: &run,
        deliveries: &deliveries,
    };
    let path = std::env::temp_dir().join(format!("bench-chart-test-{}.svg", std::process::id()));
    write(&path, &drawn).expect("chart written");
    let svg = std::fs::read_to_string(&path).expect("chart read");
    std::fs::remove_file(&path).expect("chart removed");
    assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
    for text in [
        "bench: 6000 transfers due at 100/s",
        OVER_TIME_TITLE,
        PERCENTILE_TITLE,
        "seconds since start",
        "percentile",
        "99.9%",
        "mutation → subscription",
        "not succeeded",
    ] {
        assert!(svg.contains(text), "no {text:?} in the chart");
    }
}

#[test]
fn a_chart_of_nothing_is_still_drawn() {
    let run = Run {
        started: Instant::now(),
        samples: Vec::new(),
        issuing: Duration::ZERO,
    };
    let drawn = RunToDraw {
        title: "empty",
        run: &run,
        deliveries: &[],
    };
    let svg = render(&drawn).expect("chart drawn");
    assert!(svg.contains(OVER_TIME_TITLE) && svg.contains(PERCENTILE_TITLE));
}

#[test]
fn the_destination_directory_must_exist() {
    assert!(check_destination(Path::new("chart.svg")).is_ok());
    assert!(check_destination(&std::env::temp_dir().join("chart.svg")).is_ok());
    assert!(check_destination(Path::new("/no/such/directory/chart.svg")).is_err());
}
