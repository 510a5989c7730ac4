import { useCallback, useEffect, useState } from 'react';
import { mergeNewestPerIban } from '../accounts';
import { describeError } from '../api/errors';
import { ALL_LAST_TRANSACTIONS, STREAM_TRANSACTIONS } from '../api/operations';
import type { Transaction } from '../transactions';
import { useApi, useConnection } from './api';

export interface Accounts {
  /** One row per account: its newest transaction, sorted by IBAN. */
  accounts: Transaction[];
  loading: boolean;
  error: string | null;
  reload: () => void;
}

/**
 * Every account with its balance, kept up to date from the stream of all transactions, and
 * loaded again after a reconnect or when asked.
 */
export function useAccounts(): Accounts {
  const { client, endpoint } = useApi();
  const { connects } = useConnection();
  const [accounts, setAccounts] = useState<Transaction[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const reload = useCallback(() => setReloads((n) => n + 1), []);

  useEffect(() => {
    const subscription = client.subscription(STREAM_TRANSACTIONS, {}).subscribe((result) => {
      if (result.error) setError(describeError(result.error, endpoint.ws));
      const arrived = result.data?.stream_transactions;
      if (arrived) setAccounts((current) => mergeNewestPerIban(current, [arrived]));
    });
    return () => subscription.unsubscribe();
  }, [client, endpoint]);

  useEffect(() => {
    let stale = false;
    setLoading(true);
    void client
      .query(ALL_LAST_TRANSACTIONS, {})
      .toPromise()
      .then((result) => {
        if (stale) return;
        setLoading(false);
        if (result.error) {
          setError(describeError(result.error, endpoint.http));
          return;
        }
        setError(null);
        setAccounts((current) =>
          mergeNewestPerIban(current, result.data?.all_last_transactions ?? []),
        );
      });
    return () => {
      stale = true;
    };
  }, [client, endpoint, connects, reloads]);

  return { accounts, loading, error, reload };
}
