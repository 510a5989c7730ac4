// The operations view's data: what the `operations` query answers (employees only), and how it
// is shown: formatted numbers, the latency chart's series, one-line summaries for screen
// readers, and whether what is on screen is still fresh.

import type { OperationsQuery } from './generated/graphql';

/**
 * What the endpoint answered, as the schema describes it: `at` RFC 3339, UTC; `transfer_latency`
 * the last 5 minutes in 10-second windows, oldest first; `recent_commands` newest first, at most
 * 50.
 */
export type Operations = OperationsQuery['operations'];
/** `start` RFC 3339, UTC; the percentiles are null when the window had no transfers. */
export type LatencyWindow = Operations['transfer_latency'][number];
/** `status`: `ready`, `catching_up`, `starting` or `unreachable: …`; `consumer_lag` may be null. */
export type ServiceState = Operations['services'][number];
/** `outcome`: `succeeded` or `failed`. */
export type RecentCommand = Operations['recent_commands'][number];

/** How often the view asks for fresh numbers. */
export const POLL_INTERVAL_MS = 2_000;
/** Numbers older than this (three polls missed) are marked as stale. */
export const STALE_AFTER_MS = 6_000;
/** The longest the view waits for one answer before asking again. */
export const POLL_TIMEOUT_MS = 10_000;
/** The width of a latency window, when the answer has too few windows to tell. */
const WINDOW_MS = 10_000;

const DASH = '–';
const counts = new Intl.NumberFormat('en-US');

function finite(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** `12.3`: transfers per second, one decimal. */
export function formatRate(perSecond: number | null | undefined): string {
  return finite(perSecond) ? perSecond.toFixed(1) : DASH;
}

/** `12.3 ms`, or a dash for a window without transfers. */
export function formatMs(ms: number | null | undefined): string {
  return finite(ms) ? `${ms.toFixed(1)} ms` : DASH;
}

/** `1,234`; `unknown` when the service could not tell. */
export function formatCount(n: number | null | undefined): string {
  return finite(n) ? counts.format(n) : 'unknown';
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

/** `14:03:07` in local time. */
export function clockSeconds(at: Date): string {
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/** `14:03`, or `14:03:20` when not on the minute: for the ticks of a time axis. */
export function clockTick(at: Date): string {
  const minutes = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  return at.getSeconds() === 0 ? minutes : `${minutes}:${pad(at.getSeconds())}`;
}

/** `14:03:07` for an RFC 3339 time, or the text itself when it is not one. */
export function timeOf(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  return Number.isNaN(ms) ? rfc3339 : clockSeconds(new Date(ms));
}

/** The first `length` characters of a trace id, with an ellipsis when cut; a dash for none. */
export function shortTraceId(traceId: string | null, length = 8): string {
  if (traceId === null || traceId === '') return DASH;
  return traceId.length > length + 1 ? `${traceId.slice(0, length)}…` : traceId;
}

export interface LatencySeries {
  /** Window starts, epoch milliseconds, oldest first. */
  x: number[];
  transfers: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
}

/** The windows as the chart's series, oldest first; windows with an unreadable start are left out. */
export function latencySeries(windows: readonly LatencyWindow[]): LatencySeries {
  const readable = windows
    .map((window) => ({ window, start: Date.parse(window.start) }))
    .filter(({ start }) => !Number.isNaN(start))
    .sort((a, b) => a.start - b.start);
  const orNull = (value: number | null) => (finite(value) ? value : null);
  return {
    x: readable.map(({ start }) => start),
    transfers: readable.map(({ window }) => window.transfers),
    p50: readable.map(({ window }) => orNull(window.p50_ms)),
    p95: readable.map(({ window }) => orNull(window.p95_ms)),
    p99: readable.map(({ window }) => orNull(window.p99_ms)),
  };
}

/** The newest window that had transfers, or null. */
export function latestLatency(windows: readonly LatencyWindow[]): LatencyWindow | null {
  let latest: { window: LatencyWindow; start: number } | null = null;
  for (const window of windows) {
    const start = Date.parse(window.start);
    if (Number.isNaN(start) || window.transfers <= 0 || !finite(window.p50_ms)) continue;
    if (latest === null || start > latest.start) latest = { window, start };
  }
  return latest?.window ?? null;
}

/** `p50 3.2 ms, p95 8.0 ms, p99 12.1 ms`. */
export function percentiles(window: LatencyWindow): string {
  return `p50 ${formatMs(window.p50_ms)}, p95 ${formatMs(window.p95_ms)}, p99 ${formatMs(window.p99_ms)}`;
}

/** How many whole minutes the windows cover: `5` for thirty 10-second windows. */
export function minutesCovered(windows: readonly LatencyWindow[]): number {
  const { x } = latencySeries(windows);
  const first = x[0];
  const second = x[1];
  const last = x[x.length - 1];
  if (first === undefined || last === undefined) return 0;
  const step = second === undefined ? WINDOW_MS : second - first;
  return Math.max(1, Math.round((last - first + step) / 60_000));
}

/** What the latency chart shows, in one sentence with the latest numbers: its accessible name. */
export function latencySummary(windows: readonly LatencyWindow[]): string {
  const minutes = minutesCovered(windows);
  const span = `the last ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const total = windows.reduce((sum, window) => sum + window.transfers, 0);
  const latest = latestLatency(windows);
  if (total === 0 || latest === null) {
    return `Transfer latency over ${span}: no transfers.`;
  }
  return (
    `Transfer latency over ${span}: ${formatCount(total)} transfer${total === 1 ? '' : 's'}; ` +
    `latest window with transfers at ${timeOf(latest.start)}: ${percentiles(latest)}.`
  );
}

/** `all 3 services healthy`, or which are not. */
export function healthSummary(services: readonly ServiceState[]): string {
  if (services.length === 0) return 'no services reported';
  const unhealthy = services.filter((service) => !service.healthy);
  if (unhealthy.length === 0) {
    return services.length === 1
      ? 'the service is healthy'
      : `all ${services.length} services healthy`;
  }
  const names = [...new Set(unhealthy.map((service) => service.name))].join(', ');
  return `${services.length - unhealthy.length} of ${services.length} services healthy; not healthy: ${names}`;
}

/** The highest consumer lag any service reports, or null when none knows its lag. */
export function highestLag(services: readonly ServiceState[]): number | null {
  const known = services.map((service) => service.consumer_lag).filter(finite);
  return known.length === 0 ? null : Math.max(...known);
}

/**
 * Whether what is shown is too old to be called live: the last answer arrived more than
 * `staleAfterMs` ago (by the browser's clock, so a skewed server clock does not matter). Before
 * the first answer nothing is shown, so nothing is stale.
 */
export function isStale(
  receivedAt: number | null,
  now: number,
  staleAfterMs = STALE_AFTER_MS,
): boolean {
  return receivedAt !== null && now - receivedAt > staleAfterMs;
}

/** What the view's polite live region last said, and when. */
export interface Announcement {
  text: string;
  health: string;
  at: number;
}

/**
 * What screen readers hear about the headline numbers: a change of health at once, the rate at
 * most every `minGapMs`, so a number that changes every two seconds is not read out every two
 * seconds. Answers `previous` itself when nothing is to be said.
 */
export function nextAnnouncement(
  previous: Announcement | null,
  operations: Operations,
  now: number,
  minGapMs = 60_000,
): Announcement | null {
  const health = healthSummary(operations.services);
  const text = `${formatRate(operations.transfers_per_second)} transfers per second; ${health}.`;
  if (previous === null || previous.health !== health) return { text, health, at: now };
  if (previous.text !== text && now - previous.at >= minGapMs) return { text, health, at: now };
  return previous;
}
