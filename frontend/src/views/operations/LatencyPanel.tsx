import { useMemo } from 'react';
import { TimeSeriesChart, type ChartSeries } from '../../components/TimeSeriesChart';
import {
  clockSeconds,
  clockTick,
  formatCount,
  formatMs,
  latencySeries,
  latencySummary,
  minutesCovered,
  type LatencyWindow,
} from '../../operations';

export function LatencyPanel({ windows }: { windows: LatencyWindow[] }) {
  const minutes = minutesCovered(windows);
  // Lines differ by dash as well as color; the bars are read on the right axis.
  const { x, series } = useMemo(() => {
    const data = latencySeries(windows);
    const ms = (value: number) => formatMs(value);
    const chartSeries: ChartSeries[] = [
      {
        label: 'Transfers',
        color: '#8a96a3',
        kind: 'bars',
        axis: 'right',
        values: data.transfers,
        format: (n) => formatCount(n),
      },
      { label: 'p50', color: '#0b4f8a', values: data.p50, format: ms },
      { label: 'p95', color: '#b35c00', dash: [8, 4], values: data.p95, format: ms },
      { label: 'p99', color: '#a1261b', dash: [2, 3], values: data.p99, format: ms },
    ];
    return { x: data.x, series: chartSeries };
  }, [windows]);

  return (
    <section className="panel" aria-labelledby="latency-title">
      <h2 id="latency-title">Transfer latency, last {minutes} minutes</h2>
      <p className="hint">
        Percentiles of how long the endpoint took to answer a transfer, per 10-second window (the
        lines, in ms), and how many transfers it answered in each (the bars).
      </p>
      <TimeSeriesChart
        x={x}
        series={series}
        units={{ left: 'ms', right: 'transfers' }}
        formatTime={clockSeconds}
        formatTick={clockTick}
        label={latencySummary(windows)}
        tableCaption="Transfers and latency percentiles per 10-second window, oldest first"
      />
    </section>
  );
}
