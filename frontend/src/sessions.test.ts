import { describe, expect, it } from 'vitest';
import {
  clockTime,
  expiredNotice,
  expiryTimerDelay,
  isExpired,
  MAX_TIMER_MS,
  msUntilExpiry,
  REFRESH_AT_MOST_EVERY_MS,
  refusalEffect,
  refusedNotice,
  sessionFromAnswer,
  shouldRefresh,
  type Session,
} from './sessions';

// Local time, so the expected clock times hold in every time zone.
const expiry = new Date(2025, 10, 29, 14, 3, 30);
const session: Session = {
  username: 'employee',
  token: 'header.claims.signature',
  expiresAt: expiry.toISOString(),
};
const before = (ms: number) => expiry.getTime() - ms;

describe('sessionFromAnswer', () => {
  it('takes the token and the RFC 3339 expiry the endpoint answers', () => {
    const answer = { token: 't', expires_at: '2025-11-29T13:03:30Z', reason: null };
    expect(sessionFromAnswer('alice', answer)).toEqual({
      session: { username: 'alice', token: 't', expiresAt: '2025-11-29T13:03:30Z' },
    });
  });

  it('passes on the reason of a refusal, and says when there was no answer', () => {
    const refused = { token: null, expires_at: null, reason: 'invalid username or password' };
    expect(sessionFromAnswer('alice', refused)).toEqual({
      reason: 'invalid username or password',
    });
    expect(sessionFromAnswer('alice', null)).toEqual({ reason: 'the endpoint gave no answer' });
    expect(
      sessionFromAnswer('alice', { token: 't', expires_at: 'half past two', reason: null }),
    ).toEqual({ reason: 'the endpoint gave no answer' });
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

describe('shouldRefresh', () => {
  const now = before(10 * 60_000);
  const check = { session, lastRefreshAt: now - REFRESH_AT_MOST_EVERY_MS, refreshing: false, now };

  it('refreshes on activity once the last refresh is a minute old', () => {
    expect(shouldRefresh(check)).toBe(true);
    expect(shouldRefresh({ ...check, lastRefreshAt: now - REFRESH_AT_MOST_EVERY_MS + 1 })).toBe(
      false,
    );
  });

  it('does not refresh twice at once, nor without a live session', () => {
    expect(shouldRefresh({ ...check, refreshing: true })).toBe(false);
    expect(shouldRefresh({ ...check, session: null })).toBe(false);
    expect(shouldRefresh({ ...check, now: before(0), lastRefreshAt: 0 })).toBe(false);
  });
});

describe('refusalEffect', () => {
  it('ends the session when its own token was refused', () => {
    expect(refusalEffect(session, session.token)).toBe('ended');
  });

  it('calls an older token outdated: the session has moved on to a refreshed one', () => {
    expect(refusalEffect(session, 'an.older.token')).toBe('outdated');
    expect(refusalEffect(session, null)).toBe('outdated');
  });

  it('has nothing to end without a session', () => {
    expect(refusalEffect(null, 'a.token')).toBe('none');
    expect(refusalEffect(null, null)).toBe('none');
  });
});

describe('notices', () => {
  it('say when the session expired, with the date when it was not today', () => {
    expect(clockTime(expiry, new Date(2025, 10, 29, 18, 0))).toBe('14:03');
    expect(clockTime(new Date(2025, 0, 2, 9, 5), new Date(2025, 0, 3, 9, 0))).toBe(
      '2025-01-02 09:05',
    );
    const after = new Date(expiry.getTime() + 1000);
    expect(expiredNotice('employee', session, after)).toBe(
      'Your employee session expired at 14:03. Log in again.',
    );
    expect(expiredNotice('customer', session, after)).toBe(
      'Your session expired at 14:03. Log in again.',
    );
  });

  it('tell an expiry by the clock from a session the endpoint no longer accepts', () => {
    expect(refusedNotice('customer', session, 'session expired', new Date(before(-1)))).toBe(
      'Your session expired at 14:03. Log in again.',
    );
    const now = new Date(before(60_000));
    expect(refusedNotice('customer', session, 'session ended', now)).toBe(
      'Your session ended: session ended. Log in again.',
    );
    expect(refusedNotice('employee', null, 'employee login required', now)).toBe(
      'Your employee session ended: employee login required. Log in again.',
    );
  });
});
