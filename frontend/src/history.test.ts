import { describe, expect, it } from 'vitest';
import {
  balanceSeries,
  balanceSummary,
  formatEuroTick,
  formatLocalInstant,
  historyRange,
  localInputToIso,
  periodPhrase,
  timeFormats,
  toLocalInputValue,
  type BalancePoint,
} from './history';

const IBAN = 'NL02OPEN0000000001';

function point(at: string, cents: number): BalancePoint {
  const euros = Math.abs(cents) / 100;
  return {
    at,
    balance: `€ ${cents < 0 ? '-' : ''}${euros.toFixed(2).replace('.', ',')}`,
    balance_cents: cents,
  };
}

describe('historyRange', () => {
  const now = Date.parse('2026-11-30T12:00:00.000Z');

  it('ends now and reaches back one period', () => {
    expect(historyRange('hour', now)).toEqual({
      from: '2026-11-30T11:00:00.000Z',
      to: '2026-11-30T12:00:00.000Z',
    });
    expect(historyRange('day', now).from).toBe('2026-11-29T12:00:00.000Z');
    expect(historyRange('week', now).from).toBe('2026-11-23T12:00:00.000Z');
  });

  it('names the period', () => {
    expect(periodPhrase('hour')).toBe('the last hour');
    expect(periodPhrase('week')).toBe('the last week');
  });
});

describe('balanceSeries', () => {
  it('is oldest first and leaves out what it cannot read', () => {
    const series = balanceSeries([
      point('2026-11-30T12:00:00Z', 300),
      point('not a time', 999),
      point('2026-11-30T11:00:00Z', 100),
    ]);
    expect(series.x).toEqual([
      Date.parse('2026-11-30T11:00:00Z'),
      Date.parse('2026-11-30T12:00:00Z'),
    ]);
    expect(series.cents).toEqual([100, 300]);
  });
});

describe('balanceSummary', () => {
  it('says the balance now, the lowest and the highest', () => {
    const points = [
      point('2026-11-30T11:00:00Z', 10_000),
      point('2026-11-30T11:30:00Z', -2_550),
      point('2026-11-30T12:00:00Z', 1_234),
    ];
    expect(balanceSummary(IBAN, 'hour', points)).toBe(
      `Balance of ${IBAN} over the last hour: now € 12,34, lowest € -25,50, highest € 100,00.`,
    );
  });

  it('says when there is nothing to show', () => {
    expect(balanceSummary(IBAN, 'day', [])).toBe(
      `Balance of ${IBAN} over the last day: no balances yet.`,
    );
  });
});

describe('formatEuroTick', () => {
  it('leaves out cents on whole euros', () => {
    expect(formatEuroTick(125_000)).toBe('€ 1.250');
    expect(formatEuroTick(-50_000)).toBe('€ -500');
    expect(formatEuroTick(0)).toBe('€ 0');
    expect(formatEuroTick(1_250)).toBe('€ 12,50');
  });
});

describe('local date and time', () => {
  it('is what a datetime-local input holds, seconds only when not zero', () => {
    expect(toLocalInputValue(new Date(2026, 10, 30, 8, 5, 0))).toBe('2026-11-30T08:05');
    expect(toLocalInputValue(new Date(2026, 10, 30, 8, 5, 7))).toBe('2026-11-30T08:05:07');
    expect(toLocalInputValue(new Date(2026, 0, 2, 23, 59, 7), false)).toBe('2026-01-02T23:59');
  });

  it('is read as local time and sent as a UTC instant', () => {
    expect(localInputToIso('2026-11-30T08:05')).toBe(new Date(2026, 10, 30, 8, 5, 0).toISOString());
    expect(localInputToIso('2026-11-30T08:05:07')).toBe(
      new Date(2026, 10, 30, 8, 5, 7).toISOString(),
    );
    const at = new Date(2026, 5, 15, 13, 45, 30);
    expect(localInputToIso(toLocalInputValue(at))).toBe(at.toISOString());
  });

  it('is nothing when the picker holds no complete date and time', () => {
    expect(localInputToIso('')).toBeNull();
    expect(localInputToIso('2026-11-30')).toBeNull();
    expect(localInputToIso('yesterday')).toBeNull();
    expect(localInputToIso('2026-13-45T25:61')).toBeNull();
  });

  it('shows an instant in local time', () => {
    const at = new Date(2026, 10, 30, 8, 5, 7);
    expect(formatLocalInstant(at.toISOString())).toBe('2026-11-30 08:05:07');
    expect(formatLocalInstant('not a time')).toBe('not a time');
  });
});

describe('timeFormats', () => {
  const morning = new Date(2026, 10, 30, 8, 5, 7);
  const midnight = new Date(2026, 10, 30, 0, 0, 0);

  it('shows the clock for the last hour', () => {
    const { formatTime, formatTick } = timeFormats('hour');
    expect(formatTime(morning)).toBe('08:05:07');
    expect(formatTick(new Date(2026, 10, 30, 8, 5, 0))).toBe('08:05');
  });

  it('shows the date too for longer periods, on the axis at midnight', () => {
    const day = timeFormats('day');
    expect(day.formatTime(morning)).toBe('2026-11-30 08:05:07');
    expect(day.formatTick(midnight)).toBe('11-30');
    expect(day.formatTick(new Date(2026, 10, 30, 6, 0, 0))).toBe('06:00');
    const week = timeFormats('week');
    expect(week.formatTick(midnight)).toBe('11-30');
    expect(week.formatTick(new Date(2026, 10, 30, 12, 0, 0))).toBe('11-30 12:00');
  });
});
