import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { ALERTS } from '../api/operations';
import {
  alertKey,
  watchedAccounts,
  watchKey,
  withAlert,
  withoutAlert,
  type Alert,
  type ShownAlert,
  type WatchedAccount,
} from '../alerts';
import { currentNotificationState, notificationContent } from '../notifications';
import type { OwnedAccount } from '../ownedAccounts';
import { errorMessage, explainAlertRefusal } from '../refusals';
import { useApi, useConnection } from './api';

export interface AlertFeed {
  /** The alerts on screen, newest first. */
  shown: readonly ShownAlert[];
  dismiss: (key: string) => void;
  /** Why the alerts of an account cannot arrive, by IBAN. */
  problems: ReadonlyMap<string, string>;
}

export const AlertFeedContext = createContext<AlertFeed | null>(null);

export function useAlerts(): AlertFeed {
  const feed = useContext(AlertFeedContext);
  if (feed === null) throw new Error('useAlerts needs an AlertFeedContext provider');
  return feed;
}

type Open = { account: WatchedAccount; unsubscribe: () => void; failed: boolean };

function sameOwner(a: WatchedAccount | undefined, b: WatchedAccount): boolean {
  return a !== undefined && a.username === b.username;
}

/**
 * The alerts of every account the user owns, from one `alerts` subscription per account, kept
 * open on every view while the user is logged in: each alert is shown on the page and, when the
 * user allowed it, as a browser notification. The API sends only alerts that fire after the
 * subscription started, so the subscriptions stay open across reloads of the list of accounts.
 */
export function useAlertFeed(
  username: string | null,
  accounts: readonly OwnedAccount[] | null,
): AlertFeed {
  const { client, endpoint } = useApi();
  const { connects } = useConnection();
  const [shown, setShown] = useState<readonly ShownAlert[]>([]);
  const [problems, setProblems] = useState<ReadonlyMap<string, string>>(() => new Map());
  const subscriptions = useRef(new Map<string, Open>());
  const notified = useRef(new Set<string>());

  const list = watchedAccounts(username, accounts);
  const key = watchKey(list);
  // The list is new at every render; the key says when it really changed.
  const watched = useMemo((): WatchedAccount[] => list, [key]);

  // Another user's alerts must not stay on screen.
  useEffect(() => {
    setShown([]);
    notified.current.clear();
  }, [username]);

  const arrived = useCallback((alert: Alert) => {
    setShown((current) => withAlert(current, alert));
    const key = alertKey(alert);
    if (notified.current.has(key)) return;
    notified.current.add(key);
    showBrowserNotification(alert);
  }, []);

  useEffect(() => {
    const open = subscriptions.current;
    const wanted = new Map(watched.map((account) => [account.iban, account]));
    for (const [iban, subscription] of open) {
      if (!sameOwner(wanted.get(iban), subscription.account) || subscription.failed) {
        subscription.unsubscribe();
        open.delete(iban);
      }
    }
    // A problem is that of a subscription that ended; each of those is tried again just below.
    setProblems((current) => (current.size === 0 ? current : new Map()));
    for (const [iban, account] of wanted) {
      if (open.has(iban)) continue;
      const entry: Open = { account, unsubscribe: () => {}, failed: false };
      const subscription = client.subscription(ALERTS, { iban }).subscribe((result) => {
        if (result.error) {
          // The subscription has ended; a reconnect or a change of the accounts tries again.
          entry.failed = true;
          const problem = errorMessage(
            'Alerts of this account cannot reach you',
            result.error,
            endpoint.ws,
            explainAlertRefusal,
          );
          setProblems((current) => new Map(current).set(iban, problem));
          return;
        }
        const alert = result.data?.alerts;
        if (alert) arrived(alert);
      });
      entry.unsubscribe = () => subscription.unsubscribe();
      open.set(iban, entry);
    }
  }, [client, endpoint, watched, connects, arrived]);

  useEffect(() => {
    const open = subscriptions.current;
    return () => {
      for (const subscription of open.values()) subscription.unsubscribe();
      open.clear();
    };
  }, [client]);

  const dismiss = useCallback(
    (key: string) => setShown((current) => withoutAlert(current, key)),
    [],
  );
  return useMemo(() => ({ shown, dismiss, problems }), [shown, dismiss, problems]);
}

function showBrowserNotification(alert: Alert): void {
  if (currentNotificationState() !== 'granted') return;
  const { title, body, tag } = notificationContent(alert);
  try {
    new window.Notification(title, { body, tag });
  } catch {
    // Chrome on Android shows notifications from a service worker only; the page shows the alert.
  }
}
