import { useCallback, useRef, useState } from 'react';
import { ACCOUNT_AT } from '../api/operations';
import { formatLocalInstant, type AccountAt } from '../history';
import { errorMessage, explainHistoryError } from '../refusals';
import { useApi } from './api';

export interface AccountAtLookup {
  result: AccountAt | null;
  error: string | null;
  busy: boolean;
  /** Asks for `iban` as it was at `at` (RFC 3339). */
  look: (iban: string, at: string) => void;
}

/**
 * An account as it was at an instant, from account_at, for an employee (the employee views' API
 * sends the session). Only the newest look's answer counts.
 */
export function useAccountAt(maxItems: number): AccountAtLookup {
  const { client, endpoint } = useApi();
  const [state, setState] = useState<Omit<AccountAtLookup, 'look'>>({
    result: null,
    error: null,
    busy: false,
  });
  const latest = useRef(0);

  const look = useCallback(
    (iban: string, at: string) => {
      const request = ++latest.current;
      setState((current) => ({ ...current, busy: true }));
      void client
        .query(ACCOUNT_AT, { iban, at, max_items: maxItems })
        .toPromise()
        .then((result) => {
          if (request !== latest.current) return;
          const what = `Could not show ${iban} as of ${formatLocalInstant(at)}`;
          const answer = result.data?.account_at ?? null;
          setState({
            busy: false,
            result: result.error ? null : answer,
            error: result.error
              ? errorMessage(what, result.error, endpoint.http, explainHistoryError)
              : answer === null
                ? `${what}: the bank gave no answer.`
                : null,
          });
        });
    },
    [client, endpoint, maxItems],
  );

  return { ...state, look };
}
