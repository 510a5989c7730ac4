import type { OperationResult, TypedDocumentNode } from '@urql/core';
import { useEffect, useState } from 'react';
import { describeError } from '../api/errors';
import { isStale, POLL_TIMEOUT_MS, STALE_AFTER_MS } from '../operations';
import { useApi } from './api';

export interface Polled<Data> {
  /** The last answer; kept while later polls fail, marked by `stale`. */
  data: Data | null;
  /** When it arrived, by the browser's clock. */
  receivedAt: number | null;
  /** Why the last poll brought nothing, or null when it did. */
  error: string | null;
  /** True once the last answer is older than `staleAfterMs` (see isStale). */
  stale: boolean;
}

export interface PollTiming {
  intervalMs: number;
  timeoutMs?: number;
  staleAfterMs?: number;
}

/**
 * A query without variables, asked over HTTP every `intervalMs`: the next poll starts once the
 * previous one answered (or gave up after `timeoutMs`), so a slow endpoint is never asked twice at
 * once. While the tab is hidden it only waits. The API's session goes along (a refusal of it ends
 * the session in its store).
 */
export function usePolledQuery<Data>(
  query: TypedDocumentNode<Data, Record<string, never>>,
  { intervalMs, timeoutMs = POLL_TIMEOUT_MS, staleAfterMs = STALE_AFTER_MS }: PollTiming,
): Polled<Data> {
  const { client, endpoint } = useApi();
  const [state, setState] = useState<Omit<Polled<Data>, 'stale'>>({
    data: null,
    receivedAt: null,
    error: null,
  });
  const [stale, setStale] = useState(false);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: { unsubscribe: () => void } | null = null;

    const handle = (result: OperationResult<Data> | null) => {
      if (stopped) return;
      const data = result?.data;
      if (result === null) {
        setState((current) => ({
          ...current,
          error: `no answer from the GraphQL endpoint at ${endpoint.http} within ${timeoutMs / 1000} s`,
        }));
      } else if (result.error || !data) {
        const error = result.error
          ? describeError(result.error, endpoint.http)
          : 'the endpoint gave no answer';
        setState((current) => ({ ...current, error }));
      } else {
        setState({ data, receivedAt: Date.now(), error: null });
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
      const finish = (result: OperationResult<Data> | null) => {
        if (done) return;
        done = true;
        clearTimeout(giveUp);
        inFlight?.unsubscribe();
        inFlight = null;
        handle(result);
      };
      // Unsubscribing cancels the request, so a hung one does not stop the polls.
      const giveUp = setTimeout(() => finish(null), timeoutMs);
      const subscription = client.query(query, {}).subscribe(finish);
      if (done) subscription.unsubscribe();
      else inFlight = subscription;
    }

    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
      inFlight?.unsubscribe();
    };
  }, [client, endpoint, query, intervalMs, timeoutMs]);

  // Marks the numbers as stale when no answer came for a while, though nothing else changes.
  const { receivedAt } = state;
  useEffect(() => {
    const check = () => setStale(isStale(receivedAt, Date.now(), staleAfterMs));
    check();
    const interval = setInterval(check, 1_000);
    return () => clearInterval(interval);
  }, [receivedAt, staleAfterMs]);

  return { ...state, stale };
}
