import type { OperationResult } from '@urql/core';
import { useEffect, useState } from 'react';
import { describeError } from '../api/errors';
import { OPERATIONS } from '../api/operations';
import { authorizationHeaders, unauthenticatedMessage } from '../employeeSession';
import { isStale, POLL_INTERVAL_MS, POLL_TIMEOUT_MS, type Operations } from '../operations';
import { useApi } from './api';

export interface OperationsState {
  /** The last answer; kept while later polls fail, marked by `stale`. */
  operations: Operations | null;
  /** When it arrived, by the browser's clock. */
  receivedAt: number | null;
  /** Why the last poll brought nothing, or null when it did. */
  error: string | null;
  /** True once the last answer is older than STALE_AFTER_MS (see isStale). */
  stale: boolean;
  /** Set when the endpoint refused the employee session (`employee session expired`, …). */
  refusedSession: string | null;
}

type Answer = OperationResult<{ operations: Operations }>;

/**
 * The `operations` query, asked over HTTP every `intervalMs` with the employee's session token:
 * the next poll starts once the previous one answered (or gave up after POLL_TIMEOUT_MS), so a
 * slow endpoint is never asked twice at once. While the tab is hidden it only waits.
 */
export function useOperations(
  sessionToken: string,
  intervalMs = POLL_INTERVAL_MS,
): OperationsState {
  const { client, endpoint } = useApi();
  const [state, setState] = useState<Omit<OperationsState, 'stale'>>({
    operations: null,
    receivedAt: null,
    error: null,
    refusedSession: null,
  });
  const [stale, setStale] = useState(false);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: { unsubscribe: () => void } | null = null;
    // urql passes fetchOptions on to fetch for this one request.
    const context = { fetchOptions: { headers: authorizationHeaders(sessionToken) } };

    const handle = (result: Answer | null) => {
      if (stopped) return;
      const refusal = unauthenticatedMessage(result?.error);
      if (refusal !== null) {
        // The session is over: no more polls; the view goes back to the login form.
        setState((current) => ({ ...current, refusedSession: refusal }));
        return;
      }
      const operations = result?.data?.operations;
      if (result === null) {
        setState((current) => ({
          ...current,
          error: `no answer from the GraphQL endpoint at ${endpoint.http} within ${POLL_TIMEOUT_MS / 1000} s`,
        }));
      } else if (result.error || !operations) {
        const error = result.error
          ? describeError(result.error, endpoint.http)
          : 'the endpoint gave no answer';
        setState((current) => ({ ...current, error }));
      } else {
        setState((current) => ({ ...current, operations, receivedAt: Date.now(), error: null }));
        setStale(false);
      }
      timer = setTimeout(poll, intervalMs);
    };

    function poll() {
      if (stopped) return;
      if (document.visibilityState === 'hidden') {
        timer = setTimeout(poll, intervalMs);
        return;
      }
      let done = false;
      const finish = (result: Answer | null) => {
        if (done) return;
        done = true;
        clearTimeout(giveUp);
        inFlight?.unsubscribe();
        inFlight = null;
        handle(result);
      };
      // Unsubscribing cancels the request, so a hung one does not stop the polls.
      const giveUp = setTimeout(() => finish(null), POLL_TIMEOUT_MS);
      const subscription = client.query(OPERATIONS, {}, context).subscribe(finish);
      if (done) subscription.unsubscribe();
      else inFlight = subscription;
    }

    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
      inFlight?.unsubscribe();
    };
  }, [client, endpoint, sessionToken, intervalMs]);

  // Marks the numbers as stale when no answer came for a while, though nothing else changes.
  const { receivedAt } = state;
  useEffect(() => {
    const check = () => setStale(isStale(receivedAt, Date.now()));
    check();
    const interval = setInterval(check, 1_000);
    return () => clearInterval(interval);
  }, [receivedAt]);

  return { ...state, stale };
}
