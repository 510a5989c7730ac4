import { describe, expect, it } from 'vitest';
import { chartShape, paddedTimeRange, toSeconds, withAlpha, zeroBasedRange } from './chart';

describe('zeroBasedRange', () => {
  it('starts at zero and leaves room above the highest value', () => {
    expect(zeroBasedRange(100)).toEqual([0, 110.00000000000001]);
    expect(zeroBasedRange(0)).toEqual([0, 1]);
    expect(zeroBasedRange(null)).toEqual([0, 1]);
    expect(zeroBasedRange(Number.NaN)).toEqual([0, 1]);
  });

  it('reaches below zero for negative values', () => {
    expect(zeroBasedRange(100, -50)).toEqual([-55.00000000000001, 110.00000000000001]);
    expect(zeroBasedRange(-10, -50)).toEqual([-55.00000000000001, 0]);
  });

  it('is at least minSpan high, so small values are not stretched', () => {
    expect(zeroBasedRange(5, 0, 100)).toEqual([0, 100]);
    expect(zeroBasedRange(0, 0, 100)).toEqual([0, 100]);
    expect(zeroBasedRange(-5, -5, 100)).toEqual([-100, 0]);
    expect(zeroBasedRange(1_000, 0, 100)).toEqual([0, 1_100]);
  });
});

describe('paddedTimeRange', () => {
  it('adds half a step on each side, so the bars at the ends are whole', () => {
    expect(paddedTimeRange([100, 110, 120])).toEqual([95, 125]);
    expect(paddedTimeRange([100, 100, 110, 130])).toEqual([95, 135]);
  });

  it('pads a lone point and leaves no points to uPlot', () => {
    expect(paddedTimeRange([100])).toEqual([99, 101]);
    expect(paddedTimeRange([100], 5)).toEqual([95, 105]);
    expect(paddedTimeRange([])).toBeNull();
  });
});

describe('helpers', () => {
  it('makes fills from colors', () => {
    expect(withAlpha('#0b4f8A', 0.5)).toBe('rgba(11, 79, 138, 0.5)');
    expect(withAlpha('steelblue', 0.5)).toBe('steelblue');
  });

  it('converts milliseconds to the seconds of uPlot’s time scale', () => {
    expect(toSeconds([1_700_000_000_000, 1_700_000_010_500])).toEqual([
      1_700_000_000, 1_700_000_010.5,
    ]);
  });

  it('rebuilds the chart only for other series, units or height', () => {
    const series = [{ label: 'p50', color: '#000000' }];
    const shape = chartShape(series, { left: 'ms' }, 200);
    expect(chartShape([{ label: 'p50', color: '#000000' }], { left: 'ms' }, 200)).toBe(shape);
    expect(chartShape([{ label: 'p99', color: '#000000' }], { left: 'ms' }, 200)).not.toBe(shape);
    expect(chartShape(series, { left: 's' }, 200)).not.toBe(shape);
    expect(chartShape(series, { left: 'ms' }, 300)).not.toBe(shape);
  });
});
