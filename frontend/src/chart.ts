// Pure helpers of the time series chart (components/TimeSeriesChart.tsx), which draws with uPlot.

/** How one series is drawn; its values come separately, so the chart is only rebuilt when this changes. */
export interface SeriesStyle {
  label: string;
  /** `#rrggbb`. */
  color: string;
  /**
   * A line (the default); bars, e.g. counts per window under the lines; or steps, for a value that
   * holds until it changes (a balance).
   */
  kind?: 'line' | 'bars' | 'steps';
  /** Which y axis it is read on: left (the default) or right. */
  axis?: 'left' | 'right';
  /** Canvas line dash, e.g. `[6, 4]`, so lines differ by more than their color. */
  dash?: number[];
}

function finite(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * A y scale from 0 to a little above the highest value, and down to a little below the lowest
 * when that is negative; 0 to 1 when there is nothing to show. With `minSpan`, the scale is at
 * least that high, so small values (a few cents) are not stretched over the whole chart.
 */
export function zeroBasedRange(
  max: number | null | undefined,
  min: number | null | undefined = 0,
  minSpan?: number,
): [number, number] {
  let top = finite(max) && max > 0 ? max * 1.1 : 0;
  let bottom = finite(min) && min < 0 ? min * 1.1 : 0;
  if (minSpan !== undefined && top - bottom < minSpan) {
    if (bottom < 0 && top === 0) bottom = -minSpan;
    else top = bottom + minSpan;
  }
  if (top === bottom) return [0, 1];
  return [bottom, top];
}

/** `rgba(…)` of a `#rrggbb` color, for fills; the color itself when it is not one. */
export function withAlpha(color: string, alpha: number): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!match) return color;
  const [r, g, b] = match.slice(1).map((hex) => parseInt(hex, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A key that changes when the chart must be rebuilt (other series, axes or height). */
export function chartShape(
  series: readonly SeriesStyle[],
  units: { left: string; right?: string | undefined },
  height: number,
): string {
  return JSON.stringify({
    series: series.map(({ label, color, kind, axis, dash }) => [label, color, kind, axis, dash]),
    units,
    height,
  });
}

/** Epoch milliseconds to the seconds uPlot's time scale counts in. */
export function toSeconds(ms: readonly number[]): number[] {
  return ms.map((value) => value / 1000);
}

/**
 * The time axis' range (in the points' unit; points sorted, as uPlot has them): from the first
 * to the last point, plus half the smallest gap between two points on each side, so bars drawn
 * at the ends are whole. One point gets `lonePadding` on each side; none, null (uPlot's choice).
 */
export function paddedTimeRange(xs: ArrayLike<number>, lonePadding = 1): [number, number] | null {
  let first = Infinity;
  let last = -Infinity;
  let smallestGap = Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    first = Math.min(first, x);
    last = Math.max(last, x);
    if (i > 0) {
      const gap = Math.abs(x - (xs[i - 1] as number));
      if (gap > 0) smallestGap = Math.min(smallestGap, gap);
    }
  }
  if (xs.length === 0 || !Number.isFinite(first)) return null;
  const padding = Number.isFinite(smallestGap) ? smallestGap / 2 : lonePadding;
  return [first - padding, last + padding];
}
