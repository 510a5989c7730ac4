import { useEffect, useLayoutEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import {
  chartShape,
  paddedTimeRange,
  toSeconds,
  withAlpha,
  zeroBasedRange,
  type SeriesStyle,
} from '../chart';

export interface ChartSeries extends SeriesStyle {
  /** One per point of time; null leaves a gap. */
  values: readonly (number | null)[];
  /** How a value reads in the legend and the table: `12.3 ms`. */
  format: (value: number) => string;
}

interface Props {
  /** Points of time, epoch milliseconds, oldest first. */
  x: readonly number[];
  series: readonly ChartSeries[];
  /** The y axes' units: `ms`, `transfers`. */
  units: { left: string; right?: string };
  /** Time as the legend, the axis and the table show it: `14:03:20`. */
  formatTime: (at: Date) => string;
  /** Tick labels of the time axis, shorter where they can be: `14:03`. */
  formatTick?: (at: Date) => string;
  /** Tick labels of the left axis, `€ 1.250`; uPlot's plain numbers without it. */
  formatLeftTick?: (value: number) => string;
  /** The smallest span of the y axes, so a flat line of small values is not stretched. */
  minSpan?: number;
  /** What the chart shows, with the latest numbers: its accessible name. */
  label: string;
  /** The caption of the (visually hidden) table of the same numbers. */
  tableCaption: string;
  height?: number;
}

const INK = '#4d5a66';
const GRID = '#e4e8ec';
const MIN_WIDTH = 240;
const MINUTE = 60;
const DAY = 86_400;
/** Seconds between ticks of the time axis, the smallest that leaves room chosen. */
const TIME_STEPS = [
  1,
  2,
  5,
  10,
  15,
  30,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  3_600,
  2 * 3_600,
  6 * 3_600,
  12 * 3_600,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
  91 * DAY,
  182 * DAY,
  365 * DAY,
];

/**
 * Lines (and bars) over time, drawn by uPlot on a canvas as wide as its container, redrawn when
 * the data changes and resized with the page. For screen readers it is one image with `label` as
 * its name, followed by a visually hidden table of every value.
 */
export function TimeSeriesChart({
  x,
  series,
  units,
  formatTime,
  formatTick = formatTime,
  formatLeftTick,
  minSpan,
  label,
  tableCaption,
  height = 260,
}: Props) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = chartShape(series, units, height);
  const hasLeftTicks = formatLeftTick !== undefined;
  const data = useMemo(
    (): uPlot.AlignedData => [toSeconds(x), ...series.map((s) => [...s.values])],
    [x, series],
  );
  // The newest props, for uPlot's callbacks and for a chart built after the data arrived; set
  // before the effects below run.
  const latest = useRef({ data, series, formatTime, formatTick, formatLeftTick });
  useLayoutEffect(() => {
    latest.current = { data, series, formatTime, formatTick, formatLeftTick };
  });

  // Built again only when the series, units or height change; new data is just set below.
  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const styles = latest.current.series;
    const seriesAt = (index: number) => latest.current.series[index - 1];
    const range: uPlot.Scale.Range = (_self, min, max) => zeroBasedRange(max, min, minSpan);
    const axisFont = '12px system-ui, sans-serif';
    const options: uPlot.Options = {
      width: Math.max(MIN_WIDTH, element.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: {
        x: {
          time: true,
          range: (self, min, max) => paddedTimeRange(self.data[0]) ?? [min, max],
        },
        left: { range },
        right: { range },
      },
      axes: [
        {
          stroke: INK,
          font: axisFont,
          grid: { stroke: GRID },
          ticks: { stroke: GRID },
          space: 50,
          // uPlot's own steps jump from 1 to 5 minutes: too few ticks on a phone.
          incrs: TIME_STEPS,
          values: (_self, splits) =>
            splits.map((s) => latest.current.formatTick(new Date(s * 1000))),
        },
        {
          scale: 'left',
          label: units.left,
          stroke: INK,
          font: axisFont,
          labelFont: axisFont,
          grid: { stroke: GRID },
          ticks: { stroke: GRID },
          ...(hasLeftTicks
            ? {
                values: (_self: uPlot, splits: number[]) =>
                  splits.map((value) => latest.current.formatLeftTick?.(value) ?? String(value)),
                // Room for the longest label (uPlot's default fits short numbers only).
                size: (_self: uPlot, values: string[] | null) =>
                  Math.max(50, 20 + 7 * Math.max(0, ...(values ?? []).map((v) => v.length))),
              }
            : {}),
        },
        ...(units.right
          ? [
              {
                scale: 'right',
                side: 1,
                label: units.right,
                stroke: INK,
                font: axisFont,
                labelFont: axisFont,
                grid: { show: false },
                ticks: { stroke: GRID },
              } satisfies uPlot.Axis,
            ]
          : []),
      ],
      series: [
        {
          label: 'Time',
          value: (_self, seconds) =>
            seconds == null ? '–' : latest.current.formatTime(new Date(seconds * 1000)),
        },
        ...styles.map((style, i): uPlot.Series => ({
          label: style.label,
          scale: style.axis === 'right' ? 'right' : 'left',
          stroke: style.color,
          width: style.kind === 'bars' ? 1 : 2,
          ...(style.dash ? { dash: style.dash } : {}),
          ...(style.kind === 'bars'
            ? {
                fill: withAlpha(style.color, 0.35),
                paths: uPlot.paths.bars?.({ size: [0.7, 40] }),
                points: { show: false },
              }
            : style.kind === 'steps'
              ? {
                  fill: withAlpha(style.color, 0.12),
                  fillTo: 0,
                  // A value holds until the next point shows it changed.
                  paths: uPlot.paths.stepped?.({ align: 1 }),
                  points: { show: false },
                }
              : { points: { size: 5 } }),
          spanGaps: false,
          value: (_self, value) => {
            const current = seriesAt(i + 1);
            return value == null || current === undefined ? '–' : current.format(value);
          },
        })),
      ],
    };
    const chart = new uPlot(options, latest.current.data, element);
    // The legend's values follow the mouse; screen readers get the table below instead.
    chart.root.querySelector('.u-legend')?.setAttribute('aria-hidden', 'true');
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      const width = Math.max(MIN_WIDTH, Math.floor(element.clientWidth));
      if (width !== chart.width) chart.setSize({ width, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // `shape` stands for series, units and height; the rest is read through refs.
  }, [shape, hasLeftTicks, minSpan]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure className="chart">
      <div ref={container} className="chart-canvas" role="img" aria-label={label} />
      {/* A table cannot be made 1 px high (it grows to its rows); a block around it can. */}
      <div className="visually-hidden">
        <table>
          <caption>{tableCaption}</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              {series.map((s) => (
                <th key={s.label} scope="col">
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {x.map((at, row) => (
              <tr key={at}>
                <th scope="row">{formatTime(new Date(at))}</th>
                {series.map((s) => {
                  const value = s.values[row];
                  return <td key={s.label}>{value == null ? '–' : s.format(value)}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
