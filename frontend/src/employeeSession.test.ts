import { describe, expect, it } from 'vitest';
import {
  authorizationHeaders,
  clockTime,
  expiredNotice,
  expiryTimerDelay,
  isExpired,
  MAX_TIMER_MS,
  msUntilExpiry,
  parseEmployeeSession,
  refusedNotice,
  unauthenticatedMessage,
  type EmployeeSession,
} from './employeeSession';

// Local time, so the expected clock times hold in every time zone.
const expiry = new Date(2025, 10, 29, 14, 3, 30);
const session: EmployeeSession = {
  username: 'employee',
  token: 'header.claims.signature',
  expiresAt: expiry.toISOString(),
};
const before = (ms: number) => expiry.getTime() - ms;

describe('parseEmployeeSession', () => {
  it('reads a stored session and ignores anything else', () => {
    expect(parseEmployeeSession(JSON.stringify(session))).toEqual(session);
    expect(parseEmployeeSession(null)).toBeNull();
    expect(parseEmployeeSession('{"username":"employee","token":"t"}')).toBeNull();
    expect(
      parseEmployeeSession(JSON.stringify({ ...session, expiresAt: 'half past two' })),
    ).toBeNull();
    expect(parseEmployeeSession('{')).toBeNull();
  });

  it('reads the RFC 3339 UTC time the endpoint answers', () => {
    const stored = JSON.stringify({ ...session, expiresAt: '2025-11-29T13:03:30Z' });
    expect(parseEmployeeSession(stored)?.expiresAt).toBe('2025-11-29T13:03:30Z');
  });
});

describe('expiry', () => {
  it('counts down to expires_at and is expired from then on', () => {
    expect(msUntilExpiry(session, before(60_000))).toBe(60_000);
    expect(isExpired(session, before(1))).toBe(false);
    expect(isExpired(session, before(0))).toBe(true);
    expect(msUntilExpiry(session, before(-5_000))).toBe(0);
  });

  it('sets a timer for the expiry, never longer than a timer can wait', () => {
    expect(expiryTimerDelay(session, before(90_000))).toBe(90_000);
    expect(expiryTimerDelay(session, before(40 * 24 * 3_600_000))).toBe(MAX_TIMER_MS);
    expect(expiryTimerDelay(session, before(-1))).toBe(0);
  });
});

describe('notices', () => {
  it('say when the session expired, with the date when it was not today', () => {
    expect(clockTime(expiry, new Date(2025, 10, 29, 18, 0))).toBe('14:03');
    expect(clockTime(new Date(2025, 0, 2, 9, 5), new Date(2025, 0, 3, 9, 0))).toBe(
      '2025-01-02 09:05',
    );
    expect(expiredNotice(session, new Date(expiry.getTime() + 1000))).toBe(
      'Your employee session expired at 14:03. Log in again.',
    );
  });

  it('tell an expiry the endpoint noticed first from a session it does not accept', () => {
    const now = new Date(before(60_000));
    expect(refusedNotice(session, 'employee session expired', now)).toBe(
      'Your employee session expired at 14:03. Log in again.',
    );
    expect(refusedNotice(session, 'employee session is not valid', now)).toBe(
      'Your employee session ended: employee session is not valid. Log in again.',
    );
    expect(refusedNotice(null, 'employee login required', now)).toBe(
      'Your employee session ended: employee login required. Log in again.',
    );
  });
});

describe('authorizationHeaders', () => {
  it('carry the token as a bearer token', () => {
    expect(authorizationHeaders('abc.def.ghi')).toEqual({ Authorization: 'Bearer abc.def.ghi' });
  });
});

describe('unauthenticatedMessage', () => {
  it('finds the UNAUTHENTICATED error among what the endpoint answered', () => {
    const error = {
      graphQLErrors: [
        { message: 'employee session expired', extensions: { code: 'UNAUTHENTICATED' } },
      ],
    };
    expect(unauthenticatedMessage(error)).toBe('employee session expired');
  });

  it('is null for other errors and for no error', () => {
    expect(unauthenticatedMessage(undefined)).toBeNull();
    expect(unauthenticatedMessage({ graphQLErrors: [{ message: 'boom' }] })).toBeNull();
    expect(
      unauthenticatedMessage({ graphQLErrors: [], networkError: new Error('connection refused') }),
    ).toBeNull();
  });
});
