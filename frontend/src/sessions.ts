// Login sessions, of a customer (`login`) or an employee (`employee_login`): a signed token and
// when it expires. The token lives in memory only, never in web storage: a reload logs out, and
// nothing secret is left in the browser's storage for a script or another user of the machine.
// A session expires after a while without use; the app asks `refresh_session` for a new token
// while the user is active, at most once every REFRESH_AT_MOST_EVERY_MS, and ends the session
// itself when expires_at passes without one.

import type {
  EmployeeLoginMutation,
  LoginMutation,
  RefreshSessionMutation,
} from './generated/graphql';

export type Role = 'customer' | 'employee';

export interface Session {
  username: string;
  token: string;
  /** RFC 3339, UTC, as the endpoint writes it. */
  expiresAt: string;
}

/** What login, employee_login and refresh_session answer: a token and its expiry, or why not. */
export type SessionAnswer =
  | LoginMutation['login']
  | EmployeeLoginMutation['employee_login']
  | RefreshSessionMutation['refresh_session'];

/** Why the login form is back: shown above it. */
export type SessionEnd = { kind: 'expired' | 'loggedOut'; text: string } | null;

/** setTimeout takes at most a signed 32-bit number of milliseconds; longer fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** The endpoint ends a session after 15 minutes without use; once a minute keeps it well alive. */
export const REFRESH_AT_MOST_EVERY_MS = 60_000;

/** The session in an answer, or the endpoint's reason (or that it gave none). */
export function sessionFromAnswer(
  username: string,
  answer: SessionAnswer | null | undefined,
): { session: Session } | { reason: string } {
  if (answer?.token && answer.expires_at && !Number.isNaN(Date.parse(answer.expires_at))) {
    return { session: { username, token: answer.token, expiresAt: answer.expires_at } };
  }
  return { reason: answer?.reason ?? 'the endpoint gave no answer' };
}

/** Milliseconds left; 0 once expired. */
export function msUntilExpiry(session: Session, now: number): number {
  return Math.max(0, Date.parse(session.expiresAt) - now);
}

export function isExpired(session: Session, now: number): boolean {
  return msUntilExpiry(session, now) === 0;
}

/** How long to wait before checking the session again: at its expiry, or as long as a timer can. */
export function expiryTimerDelay(session: Session, now: number): number {
  return Math.min(msUntilExpiry(session, now), MAX_TIMER_MS);
}

export interface RefreshCheck {
  session: Session | null;
  /** When the session started or was last refreshed (or a refresh was last tried). */
  lastRefreshAt: number;
  /** A refresh is on its way. */
  refreshing: boolean;
  now: number;
}

/**
 * Whether the user's activity should refresh the session now: a live session, no refresh on its
 * way, and none in the last REFRESH_AT_MOST_EVERY_MS (activity comes at every key and movement).
 */
export function shouldRefresh({ session, lastRefreshAt, refreshing, now }: RefreshCheck): boolean {
  return (
    session !== null &&
    !refreshing &&
    !isExpired(session, now) &&
    now - lastRefreshAt >= REFRESH_AT_MOST_EVERY_MS
  );
}

/**
 * What an UNAUTHENTICATED answer means, given the token it was sent with: `ended` when it was
 * the current session's token (the session is over: logged out elsewhere, expired, …),
 * `outdated` when the session has moved on to a newer token since (a refresh; the socket should
 * connect again with it), `none` when there is no session to end.
 */
export type RefusalEffect = 'ended' | 'outdated' | 'none';

export function refusalEffect(current: Session | null, tokenUsed: string | null): RefusalEffect {
  if (current === null) return 'none';
  return tokenUsed === current.token ? 'ended' : 'outdated';
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

function sessionName(role: Role): string {
  return role === 'employee' ? 'Your employee session' : 'Your session';
}

/** What to tell the user when the session ran out. */
export function expiredNotice(role: Role, session: Session, now: Date): string {
  return `${sessionName(role)} expired at ${clockTime(new Date(session.expiresAt), now)}. Log in again.`;
}

/**
 * What to tell the user when the endpoint refused the session (an UNAUTHENTICATED answer with
 * `message`): that it expired, when, if its time is up by this browser's clock; otherwise the
 * endpoint's words (logged out elsewhere, the password changed, …).
 */
export function refusedNotice(
  role: Role,
  session: Session | null,
  message: string,
  now: Date,
): string {
  return session !== null && isExpired(session, now.getTime())
    ? expiredNotice(role, session, now)
    : `${sessionName(role)} ended: ${message}. Log in again.`;
}
