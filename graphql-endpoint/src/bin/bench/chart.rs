//! The run drawn as one SVG (`--chart`): above, each transfer's latency by when it was due, with
//! rolling p50 and p99 lines; below, the latency at every percentile on an axis that stretches
//! the tail, as HdrHistogram plots do. Both for the mutation and for the delivery on the
//! subscription. The printed numbers say how slow; the chart shows when, and how rare the
//! slow ones are.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::load::{Outcome, Run, TimedLatency};
use crate::report::nearest_rank;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1100;
/// Height of the latency-over-time chart; the percentile curve gets the rest.
const OVER_TIME_HEIGHT: u32 = 560;
/// Roughly the plotting area of the latency-over-time chart in pixels, to tell how far apart
/// two dots must be to be told apart (see [`thin_to_grid`]).
const OVER_TIME_PLOT_PIXELS: (f64, f64) = (1270.0, 440.0);
/// Radius of one transfer's dot, in pixels.
const DOT_RADIUS: u32 = 2;
/// Rolling windows over the run, about; each between [`MIN_WINDOW`] and [`MAX_WINDOW`].
const WINDOWS_PER_RUN: u32 = 20;
const MIN_WINDOW: Duration = Duration::from_secs(1);
const MAX_WINDOW: Duration = Duration::from_secs(10);
/// A rolling window moves on by this part of its length, so the lines follow changes smoothly.
const WINDOW_STEPS: u32 = 4;
/// Points of each percentile curve evenly spaced on its axis (the ticks come on top).
const CURVE_STEPS: u32 = 400;

// The bench's charts share their font and colours (see also `crate::saturation`).
pub const FONT: &str = "sans-serif";
pub const MUTATION: RGBColor = RGBColor(31, 119, 180);
pub const MUTATION_LINE: RGBColor = RGBColor(8, 48, 107);
const DELIVERY: RGBColor = RGBColor(255, 127, 14);
pub const DELIVERY_LINE: RGBColor = RGBColor(166, 54, 3);
pub const NOT_SUCCEEDED: RGBColor = RGBColor(214, 39, 40);

/// Title of the upper chart.
pub const OVER_TIME_TITLE: &str = "Latency over time";
/// Title of the lower chart.
pub const PERCENTILE_TITLE: &str = "Latency by percentile";

/// What is drawn: the run and the deliveries on the subscription (empty when none arrived).
pub struct RunToDraw<'a> {
    /// Above both charts: what was run (rate, transfers, seed …).
    pub title: &'a str,
    pub run: &'a Run,
    pub deliveries: &'a [TimedLatency],
}

/// Fails unless `path`'s directory exists, so a mistyped path shows before a long run, not
/// after it.
pub fn check_destination(path: &Path) -> anyhow::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    anyhow::ensure!(
        directory.is_dir(),
        "--chart {}: no directory {}",
        path.display(),
        directory.display()
    );
    Ok(())
}

/// Draws the run into the SVG file `path`, replacing it.
pub fn write(path: &Path, drawn: &RunToDraw) -> anyhow::Result<()> {
    save(path, &render(drawn)?)
}

/// Writes the SVG text `svg` to `path`, replacing it.
pub fn save(path: &Path, svg: &str) -> anyhow::Result<()> {
    std::fs::write(path, svg).with_context(|| format!("writing the chart {}", path.display()))
}

/// The SVG text of both charts.
pub fn render(drawn: &RunToDraw) -> anyhow::Result<String> {
    let series = Series::of(drawn);
    svg((WIDTH, HEIGHT), |root| draw(root, drawn.title, &series))
}

/// The SVG text of a drawing of `size` pixels that `draw` makes.
pub fn svg(size: (u32, u32), draw: impl FnOnce(&Area) -> DrawResult) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root).context("drawing the chart")?;
        root.present().context("drawing the chart")?;
    }
    Ok(svg)
}

/// The latencies drawn, by what they measure.
struct Series {
    /// Due → `money_transfer` answer of the transfers that succeeded.
    mutations: Vec<TimedLatency>,
    /// Due → the CREDIT on the subscription.
    deliveries: Vec<TimedLatency>,
    /// Due → answer of the transfers sent that did not succeed (refused, timeouts, errors).
    not_succeeded: Vec<TimedLatency>,
}

impl Series {
    fn of(drawn: &RunToDraw) -> Self {
        let timed = |wanted: fn(&Outcome) -> bool| {
            drawn
                .run
                .samples
                .iter()
                .filter(|sample| wanted(&sample.outcome))
                .map(|sample| TimedLatency {
                    due: sample.due,
                    latency: sample.latency,
                })
                .collect()
        };
        Self {
            mutations: timed(|outcome| *outcome == Outcome::Succeeded),
            deliveries: drawn.deliveries.to_vec(),
            not_succeeded: timed(|outcome| {
                !matches!(outcome, Outcome::Succeeded | Outcome::NotSent)
            }),
        }
    }

    fn all(&self) -> impl Iterator<Item = &TimedLatency> {
        self.mutations
            .iter()
            .chain(&self.deliveries)
            .chain(&self.not_succeeded)
    }
}

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub type DrawResult =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(root: &Area, title: &str, series: &Series) -> DrawResult {
    root.fill(&WHITE)?;
    let below_title = root.titled(title, (FONT, 22))?;
    let (over_time, by_percentile) = below_title.split_vertically(OVER_TIME_HEIGHT);
    draw_over_time(&over_time, series)?;
    draw_by_percentile(&by_percentile, series)
}

fn draw_over_time(area: &Area, series: &Series) -> DrawResult {
    let last_due = series.all().map(|t| t.due).max().unwrap_or_default();
    let x_end = seconds(last_due).max(1.0);
    // Room above the highest point for the legend, so it hides none.
    let y_end = headroom(series.all().map(|t| millis(t.latency)), 1.3);
    let window = rolling_window(last_due);
    let mut chart = ChartBuilder::on(area)
        .caption(OVER_TIME_TITLE, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_end, 0.0..y_end)?;
    chart
        .configure_mesh()
        .x_desc("when due (seconds since start)")
        .y_desc("latency from due (ms)")
        .x_label_formatter(&|seconds| axis_label(*seconds, x_end))
        .y_label_formatter(&|ms| axis_label(*ms, y_end))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    // A hundred thousand dots would make an SVG of megabytes that browsers draw slowly; one
    // per dot radius looks much the same and keeps every outlier.
    let dot_radius = f64::from(DOT_RADIUS);
    let cell = (
        x_end / OVER_TIME_PLOT_PIXELS.0 * dot_radius,
        y_end / OVER_TIME_PLOT_PIXELS.1 * dot_radius,
    );
    let named = [
        ("mutation", &series.mutations, MUTATION, MUTATION_LINE),
        (
            "mutation → subscription",
            &series.deliveries,
            DELIVERY,
            DELIVERY_LINE,
        ),
    ];
    // Deliveries first: they come later than the answers, so they lie above the mutation's
    // cloud and would otherwise cover it.
    for (name, points, dot, _) in named.iter().rev() {
        if points.is_empty() {
            continue;
        }
        let dot = *dot;
        let dots = thin_to_grid(points.iter().map(as_xy), cell);
        chart
            .draw_series(
                dots.into_iter()
                    .map(|xy| Circle::new(xy, DOT_RADIUS, dot.mix(0.35).filled())),
            )?
            .label(format!("{name}, each transfer (n={})", points.len()))
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, dot.filled()));
    }
    if !series.not_succeeded.is_empty() {
        let crosses = thin_to_grid(series.not_succeeded.iter().map(as_xy), cell);
        chart
            .draw_series(
                crosses
                    .into_iter()
                    .map(|xy| Cross::new(xy, 3, NOT_SUCCEEDED.stroke_width(1))),
            )?
            .label(format!(
                "not succeeded: refused, timeouts, errors (n={})",
                series.not_succeeded.len()
            ))
            .legend(|(x, y)| Cross::new((x + 10, y), 4, NOT_SUCCEEDED.stroke_width(2)));
    }
    // The lines over all points, so no cloud hides them.
    for (name, points, _, line) in named {
        let rolling = rolling_percentiles(points, window);
        if rolling.is_empty() {
            continue;
        }
        chart.draw_series(LineSeries::new(
            rolling.iter().map(|r| (r.centre_seconds, r.p50_ms)),
            line.stroke_width(3),
        ))?;
        chart
            .draw_series(DashedLineSeries::new(
                rolling.iter().map(|r| (r.centre_seconds, r.p99_ms)),
                6,
                4,
                line.stroke_width(2),
            ))?
            .label(format!(
                "{name}: p50 (solid), p99 (dashed) over {} s windows",
                window.as_secs()
            ))
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, -3), (20, -3)], line.stroke_width(3))
                    + PathElement::new(vec![(0, 4), (6, 4)], line.stroke_width(2))
                    + PathElement::new(vec![(12, 4), (18, 4)], line.stroke_width(2))
            });
    }
    legend(&mut chart)
}

/// One line of the percentile chart.
struct Curve {
    legend: String,
    color: RGBColor,
    /// (nines, ms), see [`percentile_curve`].
    points: Vec<(f64, f64)>,
}

fn draw_by_percentile(area: &Area, series: &Series) -> DrawResult {
    let curves: Vec<Curve> = [
        ("mutation", MUTATION, &series.mutations),
        ("mutation → subscription", DELIVERY, &series.deliveries),
    ]
    .into_iter()
    .filter(|(_, _, points)| !points.is_empty())
    .map(|(name, color, points)| {
        let mut latencies: Vec<Duration> = points.iter().map(|t| t.latency).collect();
        latencies.sort_unstable();
        let at = |fraction| millis(nearest_rank(&latencies, fraction).unwrap_or_default());
        let legend = format!(
            "{name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n={})",
            at(0.5),
            at(0.99),
            at(1.0),
            latencies.len()
        );
        Curve {
            legend,
            color,
            points: percentile_curve(&latencies),
        }
    })
    .collect();
    let x_end = curves
        .iter()
        .filter_map(|curve| curve.points.last().map(|(nines, _)| *nines))
        .fold(1.0, f64::max);
    let y_end = headroom(
        curves
            .iter()
            .flat_map(|curve| curve.points.iter().map(|(_, ms)| *ms)),
        1.08,
    );
    let mut chart = ChartBuilder::on(area)
        .caption(PERCENTILE_TITLE, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(PercentileAxis::up_to(x_end), 0.0..y_end)?;
    chart
        .configure_mesh()
        .x_desc("percentile (the tail stretched: each step right is one more nine)")
        .y_desc("latency from due (ms)")
        .x_label_formatter(&|nines| percentile_label(*nines))
        .y_label_formatter(&|ms| axis_label(*ms, y_end))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for Curve {
        legend,
        color,
        points,
    } in curves
    {
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(3)))?
            .label(legend)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    legend(&mut chart)
}

/// The stretched percentile axis, in nines (see [`nines`]), ticked where [`percentile_ticks`]
/// says: plotters' own ticks would fall on round numbers of nines such as 0.5 (68.4 %).
struct PercentileAxis {
    end: f64,
    ticks: Vec<f64>,
}

impl PercentileAxis {
    fn up_to(end: f64) -> Self {
        Self {
            end,
            ticks: percentile_ticks(end).into_iter().map(nines).collect(),
        }
    }
}

impl Ranged for PercentileAxis {
    // Only so the mesh accepts it; the labels come from `percentile_label`.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, nines: &f64, limit: (i32, i32)) -> i32 {
        let share = nines / self.end;
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // The ticks are the grid; lighter lines in between would mark nothing.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        0.0..self.end
    }
}

fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
}

fn as_xy(timed: &TimedLatency) -> (f64, f64) {
    (seconds(timed.due), millis(timed.latency))
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The top of a latency axis: `factor` times the highest value, at least 1 ms, so the highest is
/// not drawn on the frame.
fn headroom(values: impl Iterator<Item = f64>, factor: f64) -> f64 {
    (values.fold(0.0, f64::max) * factor).max(1.0)
}

/// A tick label on an axis ending at `end`: "250", or "2.5" where whole numbers are too coarse.
fn axis_label(value: f64, end: f64) -> String {
    if end >= 20.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The length of the rolling windows: about [`WINDOWS_PER_RUN`] over a run lasting `span`,
/// long enough for a p99 to mean something, short enough to see a stall; whole seconds, so the
/// legend reads simply.
fn rolling_window(span: Duration) -> Duration {
    let seconds = (span.as_secs_f64() / f64::from(WINDOWS_PER_RUN)).round() as u64;
    Duration::from_secs(seconds).clamp(MIN_WINDOW, MAX_WINDOW)
}

/// p50 and p99 of the latencies due in one rolling window, drawn at its centre.
#[derive(Debug, Clone, PartialEq)]
struct RollingPercentiles {
    centre_seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// The p50 and p99 of `points` in windows of `window` by due time, each starting a
/// [`WINDOW_STEPS`]th of a window after the one before, from the start until one reaches the last
/// point; windows with nothing due in them are left out.
fn rolling_percentiles(points: &[TimedLatency], window: Duration) -> Vec<RollingPercentiles> {
    let mut by_due = points.to_vec();
    by_due.sort_unstable_by_key(|t| t.due);
    let Some(last_due) = by_due.last().map(|t| t.due) else {
        return Vec::new();
    };
    let step = (window / WINDOW_STEPS).max(Duration::from_millis(1));
    let mut rolling = Vec::new();
    let mut start = Duration::ZERO;
    loop {
        let end = start + window;
        let from = by_due.partition_point(|t| t.due < start);
        let to = by_due.partition_point(|t| t.due < end);
        let mut latencies: Vec<Duration> = by_due[from..to].iter().map(|t| t.latency).collect();
        latencies.sort_unstable();
        if let (Some(p50), Some(p99)) = (
            nearest_rank(&latencies, 0.50),
            nearest_rank(&latencies, 0.99),
        ) {
            rolling.push(RollingPercentiles {
                centre_seconds: seconds(start + window / 2),
                p50_ms: millis(p50),
                p99_ms: millis(p99),
            });
        }
        if end > last_due {
            return rolling;
        }
        start += step;
    }
}

/// Where percentile `fraction` (0–1) lies on the stretched axis: its number of nines,
/// `-log10(1 - fraction)`: 0 % at 0, 90 % at 1, 99 % at 2, 99.9 % at 3.
fn nines(fraction: f64) -> f64 {
    -(1.0 - fraction).log10()
}

/// The percentile at `nines` on the stretched axis, as its label: "50%", "99.9%".
fn percentile_label(nines: f64) -> String {
    let percent = 100.0 * (1.0 - 10f64.powf(-nines));
    // 99 % needs no decimal, 99.9 % one, 99.99 % two: its nines less two.
    let decimals = ((nines - 1e-9).ceil() as i32 - 2).max(0) as usize;
    format!("{percent:.decimals$}%")
}

/// The percentiles (0–1) ticked on an axis up to `end` nines: 0 %, 50 %, then every nine.
fn percentile_ticks(end: f64) -> Vec<f64> {
    let whole_nines = (1..)
        .take_while(|n| f64::from(*n) <= end + 1e-9)
        .map(|n| 1.0 - 10f64.powi(-n));
    [0.0, 0.5].into_iter().chain(whole_nines).collect()
}

/// The nearest-rank latency (ms) of `latencies` at [`CURVE_STEPS`] percentiles evenly spaced on
/// the stretched axis and at its ticks (so the curve meets the printed p50, p90, p99 on their
/// grid lines), as (nines, ms). The axis ends where the maximum is the only sample left
/// (`1 / (2 (n - 1))` from 100 % by nearest rank, the ranks of the printed percentiles), so the
/// curve claims no more nines than the run has samples for; the last point is the maximum.
fn percentile_curve(latencies: &[Duration]) -> Vec<(f64, f64)> {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let Some(max) = sorted.last().copied() else {
        return Vec::new();
    };
    let end = (2.0 * (sorted.len() - 1).max(1) as f64).log10();
    let steps = (0..CURVE_STEPS)
        .map(|step| 1.0 - 10f64.powf(-end * f64::from(step) / f64::from(CURVE_STEPS)));
    // The ticks by their exact fractions: computed back from nines, 0.5 could round to 0.4999….
    let mut fractions: Vec<f64> = steps
        .chain(percentile_ticks(end))
        .filter(|f| nines(*f) < end)
        .collect();
    fractions.sort_unstable_by(f64::total_cmp);
    fractions.dedup();
    let mut curve: Vec<(f64, f64)> = fractions
        .into_iter()
        .filter_map(|fraction| {
            nearest_rank(&sorted, fraction).map(|latency| (nines(fraction), millis(latency)))
        })
        .collect();
    curve.push((end, millis(max)));
    curve
}

/// The first of `points` in each cell of a grid of `cell` (width, height), in their order.
fn thin_to_grid(points: impl Iterator<Item = (f64, f64)>, cell: (f64, f64)) -> Vec<(f64, f64)> {
    let (width, height) = (cell.0.max(f64::MIN_POSITIVE), cell.1.max(f64::MIN_POSITIVE));
    let mut taken = HashSet::new();
    points
        .filter(|(x, y)| taken.insert(((x / width).floor() as i64, (y / height).floor() as i64)))
        .collect()
}

#[cfg(test)]
mod tests;
