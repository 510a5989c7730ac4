import { useCallback, useEffect, useState } from 'react';
import {
  EMPLOYEE_SESSION_KEY,
  expiredNotice,
  expiryTimerDelay,
  isExpired,
  parseEmployeeSession,
  refusedNotice,
  type EmployeeSession,
} from '../employeeSession';

/** Why the employee sees the login form again: shown above it. */
export type SessionEnd = { kind: 'expired' | 'loggedOut'; text: string } | null;

export interface EmployeeSessionControl {
  session: EmployeeSession | null;
  ended: SessionEnd;
  /** True once the employee logged in or out in this view, so focus should follow. */
  changedHere: boolean;
  logIn: (session: EmployeeSession) => void;
  logOut: () => void;
  /** The endpoint refused the session with `message` (an UNAUTHENTICATED answer). */
  refused: (message: string) => void;
}

function stored(): { session: EmployeeSession | null; ended: SessionEnd } {
  const session = parseEmployeeSession(sessionStorage.getItem(EMPLOYEE_SESSION_KEY));
  if (session && isExpired(session, Date.now())) {
    sessionStorage.removeItem(EMPLOYEE_SESSION_KEY);
    return { session: null, ended: { kind: 'expired', text: expiredNotice(session, new Date()) } };
  }
  return { session, ended: null };
}

/**
 * The employee's session, in sessionStorage while it lasts. A timer ends it at its expiry, so the
 * login form is back when the endpoint would refuse it anyway; an UNAUTHENTICATED answer ends it
 * earlier (the endpoint's clock, or a session signed with another key).
 */
export function useEmployeeSession(): EmployeeSessionControl {
  const [state, setState] = useState(stored);
  const [changedHere, setChangedHere] = useState(false);
  // Bumped when a timer fired before the expiry (timers cannot wait longer than about 24 days).
  const [checks, setChecks] = useState(0);

  const end = useCallback((ended: SessionEnd) => {
    sessionStorage.removeItem(EMPLOYEE_SESSION_KEY);
    setState({ session: null, ended });
    setChangedHere(true);
  }, []);

  const logIn = useCallback((session: EmployeeSession) => {
    sessionStorage.setItem(EMPLOYEE_SESSION_KEY, JSON.stringify(session));
    setState({ session, ended: null });
    setChangedHere(true);
  }, []);

  const logOut = useCallback(() => end({ kind: 'loggedOut', text: 'You logged out.' }), [end]);

  const refused = useCallback(
    (message: string) =>
      end({ kind: 'expired', text: refusedNotice(state.session, message, new Date()) }),
    [state.session, end],
  );

  const session = state.session;
  useEffect(() => {
    if (session === null) return;
    const timer = setTimeout(
      () => {
        if (isExpired(session, Date.now())) {
          end({ kind: 'expired', text: expiredNotice(session, new Date()) });
        } else {
          setChecks((n) => n + 1);
        }
      },
      expiryTimerDelay(session, Date.now()),
    );
    return () => clearTimeout(timer);
  }, [session, checks, end]);

  return { session, ended: state.ended, changedHere, logIn, logOut, refused };
}
