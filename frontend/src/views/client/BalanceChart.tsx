import { useMemo, useState } from 'react';
import { Notice } from '../../components/Notice';
import { TimeSeriesChart, type ChartSeries } from '../../components/TimeSeriesChart';
import { useBalanceHistory } from '../../hooks/balanceHistory';
import {
  balanceSeries,
  balanceSummary,
  formatEuroTick,
  HISTORY_POINTS,
  periodPhrase,
  PERIODS,
  timeFormats,
  type Period,
} from '../../history';
import { formatCents } from '../../money';

interface Props {
  iban: string;
  /** The newest transaction streamed in for the account: a change loads the chart again. */
  newestArrivedId: number;
}

/** A flat line of a few cents still gets an axis up to € 1,00. */
const MIN_SPAN_CENTS = 100;

/** The selected account's balance over the last hour, day or week. */
export function BalanceChart({ iban, newestArrivedId }: Props) {
  const [period, setPeriod] = useState<Period>('hour');
  const history = useBalanceHistory(iban, period, newestArrivedId);
  const shownPeriod = history.period;
  const { x, series } = useMemo(() => {
    const data = balanceSeries(history.points ?? []);
    const chartSeries: ChartSeries[] = [
      {
        label: 'Balance',
        color: '#0b4f8a',
        kind: 'steps',
        values: data.cents,
        format: (cents) => formatCents(cents),
      },
    ];
    return { x: data.x, series: chartSeries };
  }, [history.points]);
  const { formatTime, formatTick } = timeFormats(shownPeriod);

  return (
    <section className="panel" aria-labelledby="balance-chart-title">
      <div className="panel-heading">
        <h2 id="balance-chart-title">Balance over time</h2>
        <div className="button-row" role="group" aria-label="Period">
          {PERIODS.map((choice) => (
            <button
              key={choice.period}
              type="button"
              className="secondary"
              aria-pressed={choice.period === period}
              onClick={() => setPeriod(choice.period)}
            >
              {choice.label}
            </button>
          ))}
        </div>
      </div>
      <p className="hint">
        The balance at {HISTORY_POINTS} moments over {periodPhrase(shownPeriod)}, kept up to date.
      </p>
      {history.error && <Notice kind="error">{history.error}</Notice>}
      {history.points === null ? (
        !history.error && <p className="empty">Loading the balance history…</p>
      ) : (
        <TimeSeriesChart
          x={x}
          series={series}
          units={{ left: 'euros' }}
          formatTime={formatTime}
          formatTick={formatTick}
          formatLeftTick={formatEuroTick}
          minSpan={MIN_SPAN_CENTS}
          label={balanceSummary(iban, shownPeriod, history.points)}
          tableCaption={`Balance of ${iban} over ${periodPhrase(shownPeriod)}, oldest first`}
          height={220}
        />
      )}
    </section>
  );
}
