// The employee's session: employee_login answers a token and when it expires. The token goes
// with every all_accounts request as `Authorization: Bearer <token>`. Kept in sessionStorage for
// its lifetime, so a reload stays logged in and closing the tab logs out; it is dropped when it
// expires or when the endpoint no longer accepts it.

import type { ReportedError } from './api/errors';

export interface EmployeeSession {
  username: string;
  token: string;
  /** RFC 3339, UTC, as the endpoint writes it. */
  expiresAt: string;
}

export const EMPLOYEE_SESSION_KEY = 'open-bank.employee-session';

/** setTimeout takes at most a signed 32-bit number of milliseconds; longer fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

export function parseEmployeeSession(stored: string | null): EmployeeSession | null {
  if (stored === null) return null;
  try {
    const value: unknown = JSON.parse(stored);
    if (typeof value !== 'object' || value === null) return null;
    const { username, token, expiresAt } = value as Record<string, unknown>;
    if (
      typeof username === 'string' &&
      typeof token === 'string' &&
      typeof expiresAt === 'string' &&
      !Number.isNaN(Date.parse(expiresAt))
    ) {
      return { username, token, expiresAt };
    }
  } catch {
    // a damaged entry means nobody is logged in
  }
  return null;
}

/** Milliseconds left; 0 once expired. */
export function msUntilExpiry(session: EmployeeSession, now: number): number {
  return Math.max(0, Date.parse(session.expiresAt) - now);
}

export function isExpired(session: EmployeeSession, now: number): boolean {
  return msUntilExpiry(session, now) === 0;
}

/** How long to wait before checking the session again: at its expiry, or as long as a timer can. */
export function expiryTimerDelay(session: EmployeeSession, now: number): number {
  return Math.min(msUntilExpiry(session, now), MAX_TIMER_MS);
}

export function authorizationHeaders(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/**
 * The message of an UNAUTHENTICATED answer (`employee login required`, `employee session
 * expired`, `employee session is not valid`), or null for any other outcome.
 */
export function unauthenticatedMessage(error: ReportedError | undefined): string | null {
  const refusal = error?.graphQLErrors.find(
    (e) => (e as { extensions?: { code?: unknown } }).extensions?.code === 'UNAUTHENTICATED',
  );
  return refusal ? refusal.message : null;
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

/** `14:03` in local time, with the date in front when it is not `now`'s day. */
export function clockTime(at: Date, now: Date): string {
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay
    ? time
    : `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}

/** What to tell the employee when the session ran out. */
export function expiredNotice(session: EmployeeSession, now: Date): string {
  return `Your employee session expired at ${clockTime(new Date(session.expiresAt), now)}. Log in again.`;
}

/**
 * What to tell the employee when the endpoint refused the session (an UNAUTHENTICATED answer
 * with `message`): that it expired, when, if that is why; otherwise the endpoint's words.
 */
export function refusedNotice(session: EmployeeSession | null, message: string, now: Date): string {
  const expired =
    session !== null &&
    (message === 'employee session expired' || isExpired(session, now.getTime()));
  return expired
    ? expiredNotice(session, now)
    : `Your employee session ended: ${message}. Log in again.`;
}
