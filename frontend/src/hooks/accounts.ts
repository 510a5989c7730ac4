import { useCallback, useEffect, useState } from 'react';
import { EMPTY_PAGE, offsetOf, withTransaction, type AccountsPage } from '../accounts';
import { describeError } from '../api/errors';
import { ALL_ACCOUNTS, STREAM_TRANSACTIONS } from '../api/operations';
import { useApi, useConnection } from './api';

export interface Accounts {
  page: AccountsPage;
  loading: boolean;
  error: string | null;
  reload: () => void;
}

/**
 * One page of every account matching `search`, loaded from the API (with the employee's session,
 * as everything under the employee views), with balances kept current from the stream of all
 * transactions; loaded again after a reconnect or when asked (accounts opened since appear then:
 * opening an account is not a transaction). A refused session ends in the session store.
 */
export function useAccounts(search: string, pageNumber: number, pageSize: number): Accounts {
  const { client, endpoint } = useApi();
  const { connects } = useConnection();
  const [page, setPage] = useState<AccountsPage>(EMPTY_PAGE);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const reload = useCallback(() => setReloads((n) => n + 1), []);

  useEffect(() => {
    const subscription = client.subscription(STREAM_TRANSACTIONS, {}).subscribe((result) => {
      if (result.error) setError(describeError(result.error, endpoint.ws));
      const arrived = result.data?.stream_transactions;
      if (arrived) setPage((current) => withTransaction(current, arrived));
    });
    return () => subscription.unsubscribe();
  }, [client, endpoint]);

  useEffect(() => {
    let stale = false;
    setLoading(true);
    const variables = {
      offset: offsetOf(pageNumber, pageSize),
      max_items: pageSize,
      search: search.trim() || null,
    };
    void client
      .query(ALL_ACCOUNTS, variables)
      .toPromise()
      .then((result) => {
        if (stale) return;
        setLoading(false);
        if (result.error) {
          setError(describeError(result.error, endpoint.http));
          return;
        }
        setError(null);
        setPage(result.data?.all_accounts ?? EMPTY_PAGE);
      });
    return () => {
      stale = true;
    };
  }, [client, endpoint, search, pageNumber, pageSize, connects, reloads]);

  return { page, loading, error, reload };
}
