import { useEffect, useState, useSyncExternalStore } from 'react';
import type { SessionStore } from '../api/sessionStore';
import { expiryTimerDelay, isExpired } from '../sessions';

/** What counts as the user being there: any pointer or key use of the page. */
const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'] as const;

/**
 * Keeps a role's session for as long as the user is active and not longer: every pointer or key
 * event may refresh it (the store asks at most once a minute), and a timer ends it at its expiry
 * when no refresh came, so the login form is back when the endpoint would refuse it anyway.
 */
export function useSessionUpkeep(store: SessionStore): void {
  const { session } = useSyncExternalStore(store.subscribe, store.get);
  // Bumped when a timer fired before the expiry (timers cannot wait longer than about 24 days).
  const [checks, setChecks] = useState(0);

  useEffect(() => {
    if (session === null) return;
    const timer = setTimeout(
      () => {
        if (isExpired(session, Date.now())) store.expire(session);
        else setChecks((n) => n + 1);
      },
      expiryTimerDelay(session, Date.now()),
    );
    return () => clearTimeout(timer);
  }, [store, session, checks]);

  const loggedIn = session !== null;
  useEffect(() => {
    if (!loggedIn) return;
    const active = () => void store.refresh();
    const options = { passive: true, capture: true };
    for (const name of ACTIVITY_EVENTS) window.addEventListener(name, active, options);
    return () => {
      for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, active, options);
    };
  }, [store, loggedIn]);
}
