// The bank at any moment: an account's balance over a period (balance_history, drawn as a chart)
// and an account as it was at an instant (account_at), with the conversions between the local
// time people pick and the RFC 3339 UTC instants the API takes.

import type { AccountAtQuery, BalanceHistoryQuery } from './generated/graphql';
import { formatCents } from './money';
import { clockSeconds, clockTick } from './operations';

/** `at` RFC 3339, UTC; `balance` in Dutch euros, as the API writes them. */
export type BalancePoint = BalanceHistoryQuery['balance_history'][number];

/**
 * `at` is the instant asked for, as the API normalized it (RFC 3339, UTC); `transactions` are
 * newest first, as they were at `at`.
 */
export type AccountAt = NonNullable<AccountAtQuery['account_at']>;

export type Period = 'hour' | 'day' | 'week';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const PERIODS: readonly { period: Period; label: string; ms: number }[] = [
  { period: 'hour', label: 'Last hour', ms: HOUR_MS },
  { period: 'day', label: 'Last day', ms: DAY_MS },
  { period: 'week', label: 'Last week', ms: 7 * DAY_MS },
];

/** Points per chart: enough for a smooth line, few enough for one small answer. */
export const HISTORY_POINTS = 120;
/** The chart's window slides with the clock; a transaction of the account reloads it at once. */
export const HISTORY_REFRESH_MS = 10_000;

function periodOf(period: Period) {
  return PERIODS.find((item) => item.period === period) ?? PERIODS[0]!;
}

/** The period as the chart's name says it: `the last hour`. */
export function periodPhrase(period: Period): string {
  return `the ${periodOf(period).label.toLowerCase()}`;
}

/** `from` and `to` for balance_history: the period up to `now` (epoch ms). */
export function historyRange(period: Period, now: number): { from: string; to: string } {
  return {
    from: new Date(now - periodOf(period).ms).toISOString(),
    to: new Date(now).toISOString(),
  };
}

/** The points as the chart's series, oldest first; points with an unreadable time are left out. */
export function balanceSeries(points: readonly BalancePoint[]): { x: number[]; cents: number[] } {
  const readable = points
    .map((point) => ({ at: Date.parse(point.at), cents: point.balance_cents }))
    .filter(({ at, cents }) => !Number.isNaN(at) && Number.isFinite(cents))
    .sort((a, b) => a.at - b.at);
  return { x: readable.map(({ at }) => at), cents: readable.map(({ cents }) => cents) };
}

/**
 * What the chart shows in one sentence, its accessible name: `Balance of NL… over the last hour:
 * now € 12,34, lowest € 0,00, highest € 12,34.`
 */
export function balanceSummary(
  iban: string,
  period: Period,
  points: readonly BalancePoint[],
): string {
  const what = `Balance of ${iban} over ${periodPhrase(period)}`;
  const { x, cents } = balanceSeries(points);
  const latest = points.reduce<BalancePoint | null>(
    (newest, point) =>
      newest === null || Date.parse(point.at) > Date.parse(newest.at) ? point : newest,
    null,
  );
  if (x.length === 0 || latest === null) return `${what}: no balances yet.`;
  return (
    `${what}: now ${latest.balance}, lowest ${formatCents(Math.min(...cents))}, ` +
    `highest ${formatCents(Math.max(...cents))}.`
  );
}

/** A tick of the euro axis: whole euros without cents, `€ 1.250`, otherwise `€ 12,50`. */
export function formatEuroTick(cents: number): string {
  const text = formatCents(cents);
  return Number.isInteger(cents / 100) ? text.replace(/,00$/, '') : text;
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

function localDate(at: Date): string {
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

function monthDay(at: Date): string {
  return `${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** `2026-11-30 14:03:07` in local time, or the text itself when it is not an instant. */
export function formatLocalInstant(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  if (Number.isNaN(ms)) return rfc3339;
  const at = new Date(ms);
  return `${localDate(at)} ${clockSeconds(at)}`;
}

/** How the chart writes times for a period: in the legend and table, and on the time axis. */
export function timeFormats(period: Period): {
  formatTime: (at: Date) => string;
  formatTick: (at: Date) => string;
} {
  if (period === 'hour') return { formatTime: clockSeconds, formatTick: clockTick };
  const atMidnight = (at: Date) => at.getHours() === 0 && at.getMinutes() === 0;
  return {
    formatTime: (at) => `${localDate(at)} ${clockTick(at)}`,
    formatTick:
      period === 'day'
        ? (at) => (atMidnight(at) ? monthDay(at) : clockTick(at))
        : (at) => (atMidnight(at) ? monthDay(at) : `${monthDay(at)} ${clockTick(at)}`),
  };
}

/**
 * The value of an `<input type="datetime-local">` for `at`, in local time, in the normalized form
 * browsers write (`2026-11-30T14:03`, seconds only when not zero). Without seconds when
 * `withSeconds` is false.
 */
export function toLocalInputValue(at: Date, withSeconds = true): string {
  const minutes = `${localDate(at)}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
  return withSeconds && at.getSeconds() !== 0 ? `${minutes}:${pad(at.getSeconds())}` : minutes;
}

/**
 * The UTC instant (RFC 3339) of what a datetime-local input holds, read as local time; null when
 * it holds no complete date and time.
 */
export function localInputToIso(value: string): string | null {
  if (!/^\d{4,}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value.trim())) return null;
  const at = new Date(value.trim());
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}
