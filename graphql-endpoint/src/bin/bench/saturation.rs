//! The saturation curve drawn (`--sweep` with `--chart`): above, transfers accepted and shed
//! per second by offered rate, beside the line where all that is offered is accepted; below,
//! p50 and p99 of the answer and of the delivery on the subscription by offered rate. Where the
//! accepted line leaves the diagonal is the knee.

use std::path::Path;
use std::time::Duration;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::chart::{
    Area, DrawResult, DELIVERY_LINE as DELIVERY, FONT, MUTATION as ACCEPTED,
    MUTATION_LINE as ANSWER, NOT_SUCCEEDED as SHED,
};
use crate::sweep::Step;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 1000;
const X_DESC: &str = "offered (transfers due per second)";

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws `steps` into the SVG file `path`, replacing it.
pub fn write(path: &Path, title: &str, steps: &[Step]) -> anyhow::Result<()> {
    crate::chart::save(path, &render(title, steps)?)
}

pub fn render(title: &str, steps: &[Step]) -> anyhow::Result<String> {
    crate::chart::svg((WIDTH, HEIGHT), |root| draw(root, title, steps))
}

fn draw(root: &Area, title: &str, steps: &[Step]) -> DrawResult {
    root.fill(&WHITE)?;
    let below_title = root.titled(title, (FONT, 20))?;
    let (rates, latencies) = below_title.split_vertically(HEIGHT / 2);
    let x_end = steps.iter().map(|s| s.offered).fold(1.0, f64::max) * 1.05;
    draw_rates(&rates, steps, x_end)?;
    draw_latencies(&latencies, steps, x_end)
}

/// A chart over the offered rate, `0..y_end` high, with its mesh drawn.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    x_end: f64,
    (y_desc, y_end): (&str, f64),
) -> Result<Chart<'a, 'b>, plotters::drawing::DrawingAreaErrorKind<std::io::Error>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_end, 0.0..y_end)?;
    chart
        .configure_mesh()
        .x_desc(X_DESC)
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    Ok(chart)
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
}

fn draw_rates(area: &Area, steps: &[Step], x_end: f64) -> DrawResult {
    let mut chart = chart(area, "Transfers per second", x_end, ("per second", x_end))?;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (x_end, x_end)],
            6,
            4,
            BLACK.mix(0.4).stroke_width(1),
        ))?
        .label("all accepted")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    type Rate = fn(&Step) -> f64;
    let lines: [(&str, RGBColor, Rate); 2] = [
        ("accepted (succeeded)", ACCEPTED, |s| s.accepted),
        ("shed (BUSY)", SHED, |s| s.shed),
    ];
    for (name, color, value) in lines {
        let points: Vec<(f64, f64)> = steps.iter().map(|s| (s.offered, value(s))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
        chart.draw_series(
            points
                .into_iter()
                .map(|xy| Circle::new(xy, 4, color.filled())),
        )?;
    }
    legend(&mut chart)
}

fn draw_latencies(area: &Area, steps: &[Step], x_end: f64) -> DrawResult {
    let ms = |latency: Option<Duration>| latency.map(|l| l.as_secs_f64() * 1e3);
    type Pick = fn(&Step) -> Option<Duration>;
    let lines: [(&str, RGBColor, bool, Pick); 4] = [
        ("answer p50", ANSWER, false, |s| s.answer.p50),
        ("answer p99", ANSWER, true, |s| s.answer.p99),
        ("delivery p50", DELIVERY, false, |s| s.delivery.p50),
        ("delivery p99", DELIVERY, true, |s| s.delivery.p99),
    ];
    let y_end = steps
        .iter()
        .flat_map(|s| lines.iter().filter_map(move |(_, _, _, pick)| ms(pick(s))))
        .fold(1.0, f64::max)
        * 1.1;
    let caption = "Latency of the accepted transfers";
    let mut chart = chart(area, caption, x_end, ("from due (ms)", y_end))?;
    for (name, color, dashed, pick) in lines {
        let points: Vec<(f64, f64)> = steps
            .iter()
            .filter_map(|s| Some((s.offered, ms(pick(s))?)))
            .collect();
        let style = color.stroke_width(if dashed { 2 } else { 3 });
        let drawn = if dashed {
            chart.draw_series(DashedLineSeries::new(points, 6, 4, style))?
        } else {
            chart.draw_series(LineSeries::new(points, style))?
        };
        drawn
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    legend(&mut chart)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Percentiles;

    #[test]
    fn every_step_and_series_is_drawn() {
        let step = |offered: f64, accepted: f64, shed: f64, p99_ms: u64| Step {
            offered,
            accepted,
            shed,
            other: 0,
            answer: Percentiles {
                p50: Some(Duration::from_millis(p99_ms / 3)),
                p99: Some(Duration::from_millis(p99_ms)),
            },
            delivery: Percentiles {
                p50: Some(Duration::from_millis(p99_ms / 2)),
                p99: None,
            },
            cpu: Vec::new(),
        };
        let steps = [step(250.0, 250.0, 0.0, 60), step(1000.0, 990.0, 5.0, 700)];
        let svg = render("sweep", &steps).unwrap();
        for text in [
            "accepted (succeeded)",
            "shed (BUSY)",
            "answer p99",
            "delivery p50",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }
}
