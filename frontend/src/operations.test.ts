import { describe, expect, it } from 'vitest';
import {
  clockSeconds,
  clockTick,
  formatCount,
  formatMs,
  formatRate,
  healthSummary,
  highestLag,
  isStale,
  latencySeries,
  latencySummary,
  latestLatency,
  minutesCovered,
  nextAnnouncement,
  shortTraceId,
  STALE_AFTER_MS,
  timeOf,
  type LatencyWindow,
  type Operations,
  type ServiceState,
} from './operations';

// Local times, so the expected clock times hold in every time zone.
const at = (h: number, m: number, s: number) => new Date(2025, 10, 29, h, m, s);

function latencyWindow(start: Date, p50: number | null = null, transfers = 0): LatencyWindow {
  return {
    start: start.toISOString(),
    transfers,
    p50_ms: p50,
    p95_ms: p50 === null ? null : p50 * 2,
    p99_ms: p50 === null ? null : p50 * 3,
  };
}

/** Thirty 10-second windows from 14:00:00, with transfers in the ones given. */
function fiveMinutes(busy: Record<number, [p50: number, transfers: number]> = {}): LatencyWindow[] {
  return Array.from({ length: 30 }, (_, i) => {
    const [p50, transfers] = busy[i] ?? [null, 0];
    return latencyWindow(at(14, Math.floor(i / 6), (i % 6) * 10), p50, transfers);
  });
}

function service(name: string, overrides: Partial<ServiceState> = {}): ServiceState {
  return {
    name,
    url: `http://127.0.0.1:80${name.length}`,
    healthy: true,
    status: 'ready',
    consumer_lag: 0,
    ...overrides,
  };
}

const SERVICES = [service('graphql-endpoint'), service('command-handler'), service('projector')];

function operations(overrides: Partial<Operations> = {}): Operations {
  return {
    at: at(14, 5, 0).toISOString(),
    transfers_per_second: 0,
    transfer_latency: fiveMinutes(),
    services: SERVICES,
    recent_commands: [],
    ...overrides,
  };
}

describe('formatting', () => {
  it('shows rates and milliseconds with one decimal, a dash for none', () => {
    expect(formatRate(0)).toBe('0.0');
    expect(formatRate(12.345)).toBe('12.3');
    expect(formatRate(Number.NaN)).toBe('–');
    expect(formatMs(3.25)).toBe('3.3 ms');
    expect(formatMs(1234.5)).toBe('1234.5 ms');
    expect(formatMs(null)).toBe('–');
    expect(formatMs(undefined)).toBe('–');
  });

  it('groups counts and says when a lag is unknown', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(null)).toBe('unknown');
  });

  it('shows local clock times with seconds, and minutes alone for ticks on the minute', () => {
    expect(clockSeconds(at(9, 5, 7))).toBe('09:05:07');
    expect(clockTick(at(14, 3, 0))).toBe('14:03');
    expect(clockTick(at(14, 3, 20))).toBe('14:03:20');
    expect(timeOf(at(23, 59, 59).toISOString())).toBe('23:59:59');
    expect(timeOf('not a time')).toBe('not a time');
  });

  it('shortens trace ids, keeping short ones whole', () => {
    expect(shortTraceId('4bf92f3577b34da6a3ce929d0e0e4736')).toBe('4bf92f35…');
    expect(shortTraceId('4bf92f357')).toBe('4bf92f357');
    expect(shortTraceId(null)).toBe('–');
    expect(shortTraceId('')).toBe('–');
  });
});

describe('latency', () => {
  it('turns the windows into series, oldest first, with gaps where there were no transfers', () => {
    const windows = [
      latencyWindow(at(14, 0, 20), 4, 2),
      latencyWindow(at(14, 0, 0), 3.5, 10),
      latencyWindow(at(14, 0, 10)),
    ];
    expect(latencySeries(windows)).toEqual({
      x: [at(14, 0, 0).getTime(), at(14, 0, 10).getTime(), at(14, 0, 20).getTime()],
      transfers: [10, 0, 2],
      p50: [3.5, null, 4],
      p95: [7, null, 8],
      p99: [10.5, null, 12],
    });
  });

  it('leaves out windows whose start cannot be read', () => {
    const series = latencySeries([{ ...latencyWindow(at(14, 0, 0)), start: 'soon' }]);
    expect(series.x).toEqual([]);
  });

  it('finds the newest window with transfers', () => {
    expect(latestLatency(fiveMinutes())).toBeNull();
    const windows = fiveMinutes({ 3: [5, 4], 20: [7, 1] });
    expect(latestLatency(windows)?.p50_ms).toBe(7);
    expect(latestLatency([...windows].reverse())?.p50_ms).toBe(7);
  });

  it('knows how many minutes the windows cover', () => {
    expect(minutesCovered(fiveMinutes())).toBe(5);
    expect(minutesCovered(fiveMinutes().slice(0, 6))).toBe(1);
    expect(minutesCovered([latencyWindow(at(14, 0, 0))])).toBe(1);
    expect(minutesCovered([])).toBe(0);
  });

  it('sums the chart up in a sentence with the latest numbers', () => {
    expect(latencySummary(fiveMinutes())).toBe(
      'Transfer latency over the last 5 minutes: no transfers.',
    );
    expect(latencySummary(fiveMinutes({ 3: [5, 1000], 20: [7.25, 234] }))).toBe(
      'Transfer latency over the last 5 minutes: 1,234 transfers; latest window with ' +
        'transfers at 14:03:20: p50 7.3 ms, p95 14.5 ms, p99 21.8 ms.',
    );
  });
});

describe('services', () => {
  it('say whether all are healthy, and which are not', () => {
    expect(healthSummary(SERVICES)).toBe('all 3 services healthy');
    expect(healthSummary([service('projector')])).toBe('the service is healthy');
    expect(healthSummary([])).toBe('no services reported');
    const down = [
      ...SERVICES,
      service('projector', { url: 'http://127.0.0.1:8092', healthy: false }),
      service('command-handler', { healthy: false, status: 'unreachable: connection refused' }),
    ];
    expect(healthSummary(down)).toBe(
      '3 of 5 services healthy; not healthy: projector, command-handler',
    );
  });

  it('tell the highest known consumer lag', () => {
    expect(highestLag(SERVICES)).toBe(0);
    expect(
      highestLag([service('a', { consumer_lag: 12 }), service('b', { consumer_lag: null })]),
    ).toBe(12);
    expect(highestLag([service('a', { consumer_lag: null })])).toBeNull();
    expect(highestLag([])).toBeNull();
  });
});

describe('isStale', () => {
  it('marks numbers stale once no answer came for a while, never before the first', () => {
    const received = 1_000_000;
    expect(isStale(null, received)).toBe(false);
    expect(isStale(received, received + STALE_AFTER_MS)).toBe(false);
    expect(isStale(received, received + STALE_AFTER_MS + 1)).toBe(true);
    expect(isStale(received, received + 2_500, 2_000)).toBe(true);
  });
});

describe('nextAnnouncement', () => {
  const start = 1_000_000;

  it('says the rate and the health first', () => {
    expect(nextAnnouncement(null, operations({ transfers_per_second: 3.21 }), start)).toEqual({
      text: '3.2 transfers per second; all 3 services healthy.',
      health: 'all 3 services healthy',
      at: start,
    });
  });

  it('says a new rate at most once a minute, and a change of health at once', () => {
    const first = nextAnnouncement(null, operations(), start);
    const busier = operations({ transfers_per_second: 5 });
    expect(nextAnnouncement(first, busier, start + 2_000)).toBe(first);
    expect(nextAnnouncement(first, busier, start + 59_999)).toBe(first);
    expect(nextAnnouncement(first, busier, start + 60_000)?.text).toBe(
      '5.0 transfers per second; all 3 services healthy.',
    );
    const down = operations({
      services: [...SERVICES.slice(0, 2), service('projector', { healthy: false })],
    });
    expect(nextAnnouncement(first, down, start + 2_000)?.text).toBe(
      '0.0 transfers per second; 2 of 3 services healthy; not healthy: projector.',
    );
  });

  it('says nothing again when nothing changed', () => {
    const first = nextAnnouncement(null, operations(), start);
    expect(nextAnnouncement(first, operations(), start + 600_000)).toBe(first);
  });
});
