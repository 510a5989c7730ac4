import { useEffect, useState } from 'react';
import { describeError } from '../api/errors';
import { BALANCE_HISTORY } from '../api/operations';
import {
  HISTORY_POINTS,
  HISTORY_REFRESH_MS,
  historyRange,
  type BalancePoint,
  type Period,
} from '../history';
import { useApi, useConnection } from './api';

export interface BalanceHistory {
  /** Null until the first answer. */
  points: BalancePoint[] | null;
  /** The period `points` cover: the one asked for once its answer is in. */
  period: Period;
  error: string | null;
}

/**
 * An account's balance over the period up to now, from balance_history: loaded again every
 * HISTORY_REFRESH_MS (the window slides with the clock), at once when `newestArrivedId` changes
 * (a transaction of the account streamed in), and after a reconnect. The next load starts only
 * once the previous one has answered.
 */
export function useBalanceHistory(
  iban: string,
  period: Period,
  newestArrivedId: number,
): BalanceHistory {
  const { client, endpoint } = useApi();
  const { connects } = useConnection();
  const [history, setHistory] = useState<BalanceHistory>({ points: null, period, error: null });

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      const { from, to } = historyRange(period, Date.now());
      void client
        .query(BALANCE_HISTORY, { iban, from, to, points: HISTORY_POINTS })
        .toPromise()
        .then((result) => {
          if (stopped) return;
          setHistory((current) =>
            result.error
              ? { ...current, error: describeError(result.error, endpoint.http) }
              : { points: result.data?.balance_history ?? [], period, error: null },
          );
          timer = setTimeout(load, HISTORY_REFRESH_MS);
        });
    };
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client, endpoint, iban, period, newestArrivedId, connects]);

  return history;
}
