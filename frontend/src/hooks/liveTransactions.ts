import { useEffect, useState } from 'react';
import { describeError } from '../api/errors';
import { STREAM_TRANSACTIONS, TRANSACTIONS_BY_IBAN } from '../api/operations';
import { mergeNewestFirst, type Transaction } from '../transactions';
import { useApi, useConnection } from './api';

export interface LiveTransactions {
  /** Newest first, at most `limit`. */
  transactions: Transaction[];
  loading: boolean;
  error: string | null;
  /** Ids that arrived through the live stream, to highlight them. */
  arrived: ReadonlySet<number>;
}

const EMPTY: LiveTransactions = {
  transactions: [],
  loading: true,
  error: null,
  arrived: new Set(),
};

/**
 * The newest `limit` transactions of an account, kept up to date. The live stream starts before
 * the first load, so nothing that happens in between is missed, and the list is loaded again
 * after every reconnect of the socket, which may have missed transactions while it was down.
 */
export function useLiveTransactions(iban: string | null, limit: number): LiveTransactions {
  const { client, endpoint } = useApi();
  const { connects } = useConnection();
  const [live, setLive] = useState<LiveTransactions>(EMPTY);

  useEffect(() => {
    setLive(EMPTY);
    if (iban === null) return;
    const subscription = client.subscription(STREAM_TRANSACTIONS, { iban }).subscribe((result) => {
      const arrived = result.data?.stream_transactions;
      setLive((current) => {
        if (result.error) return { ...current, error: describeError(result.error, endpoint.ws) };
        if (!arrived) return current;
        return {
          ...current,
          transactions: mergeNewestFirst(current.transactions, [arrived], limit),
          arrived: new Set(current.arrived).add(arrived.id),
        };
      });
    });
    return () => subscription.unsubscribe();
  }, [client, endpoint, iban, limit]);

  useEffect(() => {
    if (iban === null) return;
    let stale = false;
    void client
      .query(TRANSACTIONS_BY_IBAN, { iban, max_items: limit })
      .toPromise()
      .then((result) => {
        if (stale) return;
        setLive((current) =>
          result.error
            ? { ...current, loading: false, error: describeError(result.error, endpoint.http) }
            : {
                ...current,
                loading: false,
                error: null,
                transactions: mergeNewestFirst(
                  current.transactions,
                  result.data?.transactions_by_iban ?? [],
                  limit,
                ),
              },
        );
      });
    return () => {
      stale = true;
    };
  }, [client, endpoint, iban, limit, connects]);

  return live;
}
