import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { isForbidden } from '../api/auth';
import { describeError } from '../api/errors';
import { MY_ACCOUNTS, STREAM_TRANSACTIONS } from '../api/operations';
import {
  doesNotList,
  withLiveBalances,
  withLiveTransaction,
  type Expectation,
  type LiveBalances,
  type OwnedAccount,
} from '../ownedAccounts';
import { useApi, useConnection } from './api';

export interface OwnedAccounts {
  /** Oldest first; null until the first answer, and while nobody is logged in. */
  accounts: OwnedAccount[] | null;
  error: string | null;
  /**
   * Loads the list again: after the user changed it, or anything that moved its money. With an
   * expectation (the account just opened is listed, …), loads it again a few times until the
   * answer meets it: my_accounts reads the projection, which may not have caught up with a
   * command the instant the command is answered.
   */
  reload: (until?: Expectation) => void;
}

/** Tries after the first, and the pause before each: about 3 s in all. */
export const CATCH_UP_TRIES = 6;
export const CATCH_UP_PAUSE_MS = 500;

type Subscription = { unsubscribe: () => void };

/** What was loaded, and for whom: another user's accounts must never show, not even for a moment. */
type ForUser<T> = { username: string; value: T } | null;

function valueFor<T>(held: ForUser<T>, username: string | null): T | null {
  return held !== null && held.username === username ? held.value : null;
}

/**
 * Every account the user owns, from my_accounts, with balances kept current: one live stream per
 * account (only the user's own transactions ever reach this browser). The list is loaded again
 * when asked and after a reconnect of the socket; the balances streamed before a reconnect are
 * forgotten then, since the stream may have missed newer ones while it was down. Nothing is
 * loaded or streamed while `username` is null (nobody logged in). The session that goes with
 * every request (see api/client.ts) says whose accounts these are.
 */
export function useOwnedAccounts(username: string | null): OwnedAccounts {
  const { client, endpoint } = useApi();
  const { connects } = useConnection();
  const [loaded, setLoaded] = useState<ForUser<OwnedAccount[]>>(null);
  const [live, setLive] = useState<LiveBalances>(() => new Map());
  const [failure, setFailure] = useState<ForUser<string>>(null);
  const [reloads, setReloads] = useState(0);
  const expectation = useRef<{ until: Expectation; triesLeft: number } | null>(null);
  const catchUpTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const reload = useCallback((until?: Expectation) => {
    clearTimeout(catchUpTimer.current);
    expectation.current = until ? { until, triesLeft: CATCH_UP_TRIES } : null;
    setReloads((n) => n + 1);
  }, []);
  useEffect(() => () => clearTimeout(catchUpTimer.current), []);
  const latestRequest = useRef(0);

  useEffect(() => setLive(new Map()), [connects, username]);

  useEffect(() => {
    // Answers may overtake each other; only the newest request's counts.
    const request = ++latestRequest.current;
    if (username === null) {
      clearTimeout(catchUpTimer.current);
      expectation.current = null;
      setLoaded(null);
      setFailure(null);
      return;
    }
    const setError = (text: string | null) =>
      setFailure(text === null ? null : { username, value: text });
    void client
      .query(MY_ACCOUNTS, {})
      .toPromise()
      .then((result) => {
        if (request !== latestRequest.current) return;
        const answer = result.data?.my_accounts;
        if (result.error) {
          setError(describeError(result.error, endpoint.http));
        } else if (answer?.accounts) {
          setError(null);
          setLoaded({ username, value: answer.accounts });
          const wanted = expectation.current;
          if (wanted && !wanted.until(answer.accounts) && wanted.triesLeft > 0) {
            wanted.triesLeft -= 1;
            catchUpTimer.current = setTimeout(() => setReloads((n) => n + 1), CATCH_UP_PAUSE_MS);
          } else {
            expectation.current = null;
          }
        } else {
          setError(`Your accounts could not be loaded: ${answer?.reason ?? 'no answer'}`);
        }
      });
  }, [client, endpoint, username, connects, reloads]);

  const listed = valueFor(loaded, username);
  const ibans = useMemo(() => (listed ?? []).map((account) => account.iban), [listed]);
  const streamFailed = useCallback(
    (text: string) => {
      if (username !== null) setFailure({ username, value: text });
    },
    [username],
  );
  // The endpoint ends the stream of an account the user no longer owns (they left it, here or in
  // another tab) with FORBIDDEN: the list is loaded again until it no longer shows it.
  const noLongerOwned = useCallback((iban: string) => reload(doesNotList(iban)), [reload]);
  useLiveBalances(ibans, setLive, streamFailed, noLongerOwned);

  const accounts = useMemo(() => (listed ? withLiveBalances(listed, live) : null), [listed, live]);
  const error = valueFor(failure, username);
  return useMemo(() => ({ accounts, error, reload }), [accounts, error, reload]);
}

/**
 * One subscription per IBAN, kept while the IBAN stays listed: reloading the list must not
 * close and reopen the streams, which would drop what happens in between.
 */
function useLiveBalances(
  ibans: readonly string[],
  setLive: (update: (live: LiveBalances) => LiveBalances) => void,
  setError: (error: string) => void,
  noLongerOwned: (iban: string) => void,
): void {
  const { client, endpoint } = useApi();
  const subscriptions = useRef(new Map<string, Subscription>());

  useEffect(() => {
    const open = subscriptions.current;
    const wanted = new Set(ibans);
    for (const [iban, subscription] of open) {
      if (!wanted.has(iban)) {
        subscription.unsubscribe();
        open.delete(iban);
      }
    }
    for (const iban of wanted) {
      if (open.has(iban)) continue;
      const subscription = client
        .subscription(STREAM_TRANSACTIONS, { iban })
        .subscribe((result) => {
          if (result.error && isForbidden(result.error)) noLongerOwned(iban);
          else if (result.error) setError(describeError(result.error, endpoint.ws));
          const arrived = result.data?.stream_transactions;
          if (arrived) setLive((current) => withLiveTransaction(current, arrived));
        });
      open.set(iban, subscription);
    }
  }, [client, endpoint, ibans, setLive, setError, noLongerOwned]);

  useEffect(() => {
    const open = subscriptions.current;
    return () => {
      for (const subscription of open.values()) subscription.unsubscribe();
      open.clear();
    };
  }, [client]);
}
