import { describe, expect, it } from 'vitest';
import { Refusal } from './generated/refusals';
import {
  chosenExpiry,
  DEFAULT_EXPIRY_SECONDS,
  EXPIRY_CHOICES,
  fullCapture,
  holdName,
  holdRow,
  interpretCapture,
  interpretHold,
  interpretVoid,
  lacksHold,
  listsHold,
  nextRelease,
  parseCapture,
  type Hold,
} from './holds';
import type { OwnedAccount } from './ownedAccounts';
import { fillRefusal } from './refusals';
import { MAX_TIMER_MS } from './sessions';

const endpoint = 'http://127.0.0.1:8181/graphql';
const A = 'NL02OPEN0000000001';
const PAYEE = 'NL43OPEN0000000002';
const UUID = '7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10';

function hold(overrides: Partial<Hold> = {}): Hold {
  return {
    uuid: UUID,
    to: PAYEE,
    amount: '€ 1.234,50',
    amount_cents: 123_450,
    descr: 'hotel',
    expires_at: '2030-06-01T12:00:00Z',
    ...overrides,
  };
}

describe('the expiry choices', () => {
  it('go from a minute to the 30 days the bank allows at most', () => {
    expect(EXPIRY_CHOICES.map((choice) => [choice.label, choice.seconds])).toEqual([
      ['1 minute', 60],
      ['1 hour', 3_600],
      ['1 day', 86_400],
      ['7 days', 604_800],
      ['30 days', 2_592_000],
    ]);
    expect(EXPIRY_CHOICES.map((choice) => choice.seconds)).toContain(DEFAULT_EXPIRY_SECONDS);
  });

  it('are read back from a select’s value, and nothing else is', () => {
    expect(chosenExpiry('60')).toBe(60);
    expect(chosenExpiry('2592000')).toBe(2_592_000);
    for (const value of ['', '2', '61', '2592001', 'one day', '60.5']) {
      expect(chosenExpiry(value), value).toBeNull();
    }
  });
});

describe('holdRow', () => {
  const now = new Date('2030-06-01T10:00:00Z');

  it('shows the payee, the amount, the reference and when it is released', () => {
    const row = holdRow(hold(), now);
    expect(row).toMatchObject({
      uuid: UUID,
      payee: PAYEE,
      amount: '€ 1.234,50',
      descr: 'hotel',
      expired: false,
    });
    // Local time, as the session's expiry is shown: hours and minutes on the same day.
    expect(row.expires).toMatch(/^(\d{4}-\d\d-\d\d )?\d\d:\d\d$/);
  });

  it('marks a hold past its time, and shows a dash for no reference', () => {
    const row = holdRow(hold({ descr: '  ', expires_at: '2030-06-01T09:59:59Z' }), now);
    expect(row.descr).toBe('—');
    expect(row.expired).toBe(true);
  });

  it('shows an unreadable expiry as the API wrote it', () => {
    const row = holdRow(hold({ expires_at: 'soon' }), now);
    expect(row.expires).toBe('soon');
    expect(row.expired).toBe(false);
  });

  it('names a hold by its amount and payee', () => {
    expect(holdName(hold())).toBe(`€ 1.234,50 for ${PAYEE}`);
  });
});

describe('capturing', () => {
  it('starts from the whole hold, written as a user would', () => {
    expect(fullCapture(hold())).toBe('1.234,50');
    expect(fullCapture(hold({ amount: '€ 0,05', amount_cents: 5 }))).toBe('0,05');
    const parsed = parseCapture(fullCapture(hold()), hold());
    expect(parsed).toEqual({ ok: true, cents: 123_450 });
  });

  it('takes part of the hold, up to all of it, in euros', () => {
    expect(parseCapture('10', hold())).toEqual({ ok: true, cents: 1_000 });
    expect(parseCapture('€ 1.234,50', hold())).toEqual({ ok: true, cents: 123_450 });
  });

  it('refuses more than is held, nothing, and what is not an amount', () => {
    expect(parseCapture('1.234,51', hold())).toEqual({
      ok: false,
      error: 'at most the € 1.234,50 held can be captured',
    });
    expect(parseCapture('0', hold()).ok).toBe(false);
    const typo = parseCapture('ten', hold());
    expect(typo.ok).toBe(false);
    if (!typo.ok) expect(typo.error).toContain('is not an amount in euros');
  });
});

describe('nextRelease', () => {
  const at = Date.parse('2030-06-01T12:00:00Z');
  const soon = hold({ uuid: 'soon', expires_at: '2030-06-01T12:00:00Z' });
  const later = hold({ uuid: 'later', expires_at: '2030-06-01T13:00:00Z' });

  it('waits for the soonest hold to expire, and a moment more', () => {
    expect(nextRelease([later, soon], at - 10_000)).toEqual({ uuid: 'soon', inMs: 11_500 });
    expect(nextRelease([], at)).toBeNull();
    expect(nextRelease([hold({ expires_at: 'never' })], at)).toBeNull();
  });

  it('looks again for an overdue hold, less often the longer it is overdue', () => {
    expect(nextRelease([soon], at + 1_000)?.inMs).toBe(1_000);
    expect(nextRelease([soon], at + 11_500)?.inMs).toBe(5_000);
    expect(nextRelease([soon], at + 3_600_000)?.inMs).toBe(60_000);
  });

  it('sets no timer further off than a browser can wait', () => {
    const far = hold({ expires_at: new Date(at + MAX_TIMER_MS).toISOString() });
    expect(nextRelease([far], at)).toBeNull();
    const thirtyDays = hold({ expires_at: new Date(at + 2_592_000_000).toISOString() });
    expect(nextRelease([thirtyDays], at + 2_592_000_000 - 86_400_000)?.inMs).toBe(86_401_500);
  });
});

describe('expectations of a reloaded list', () => {
  const account = (holds: Hold[]): OwnedAccount => ({
    iban: A,
    balance: '€ 2.000,00',
    available_balance: '€ 765,50',
    owners: ['alice'],
    holds,
    standing_orders: [],
    failed_standing_order_runs: [],
  });

  it('tell whether the list shows the hold placed, and no longer the one ended', () => {
    expect(listsHold(A, UUID)([account([hold()])])).toBe(true);
    expect(listsHold(A, UUID)([account([])])).toBe(false);
    expect(listsHold(PAYEE, UUID)([account([hold()])])).toBe(false);
    expect(lacksHold(A, UUID)([account([])])).toBe(true);
    expect(lacksHold(A, UUID)([account([hold()])])).toBe(false);
  });
});

describe('the answers', () => {
  const refused = (reason: string) => ({ data: { hold_money: { success: false, reason } } });

  it('of hold_money: done, refused, or unknown without an answer', () => {
    expect(
      interpretHold({ data: { hold_money: { success: true, reason: null } } }, endpoint),
    ).toEqual({ kind: 'done' });
    const funds = fillRefusal(Refusal.INSUFFICIENT_FUNDS, { limit: '€ -500,00' });
    expect(interpretHold(refused(funds), endpoint)).toEqual({ kind: 'refused', reason: funds });
    const unreachable = { graphQLErrors: [], networkError: new Error('Failed to fetch') };
    expect(interpretHold({ error: unreachable }, endpoint).kind).toBe('unknown');
    expect(interpretHold({ data: null }, endpoint).kind).toBe('unknown');
  });

  it('of hold_money retried under the same uuid: the first try held it', () => {
    const held = fillRefusal(Refusal.TRANSFER_WAS_ALREADY_STARTED, { status: 'held' });
    expect(interpretHold(refused(held), endpoint)).toEqual({ kind: 'done' });
    const ended = fillRefusal(Refusal.TRANSFER_WAS_ALREADY_STARTED, { status: 'complete' });
    expect(interpretHold(refused(ended), endpoint).kind).toBe('refused');
  });

  it('of a request the endpoint refused or stopped waiting for', () => {
    const invalid = {
      graphQLErrors: [{ message: 'expires_in_seconds should be 1 to 2592000 (30 days)' }],
    };
    expect(interpretHold({ error: invalid }, endpoint)).toEqual({
      kind: 'refused',
      reason: 'expires_in_seconds should be 1 to 2592000 (30 days)',
    });
    const timeout = {
      graphQLErrors: [{ message: 'no answer in time', extensions: { code: 'TIMEOUT' } }],
    };
    expect(interpretHold({ error: timeout }, endpoint)).toEqual({
      kind: 'unknown',
      reason: 'no answer in time',
    });
    expect(interpretVoid({ error: timeout }, endpoint).kind).toBe('unknown');
    expect(interpretCapture({ error: timeout }, endpoint).kind).toBe('unknown');
  });

  it('of void_hold', () => {
    expect(
      interpretVoid({ data: { void_hold: { success: true, reason: null } } }, endpoint),
    ).toEqual({
      kind: 'done',
    });
    const released = fillRefusal(Refusal.HOLD_IS_NOT_OPEN, { status: 'released' });
    expect(
      interpretVoid({ data: { void_hold: { success: false, reason: released } } }, endpoint),
    ).toEqual({ kind: 'refused', reason: released });
  });

  it('of capture_hold, which waits for the transfer’s end', () => {
    const answer = (success: boolean, reason: string | null, ended: boolean) => ({
      data: { capture_hold: { uuid: UUID, success, reason, ended } },
    });
    expect(interpretCapture(answer(true, null, true), endpoint)).toEqual({ kind: 'done' });
    const more = fillRefusal(Refusal.AMOUNT_IS_MORE_THAN_HELD, { held: '€ 1.234,50' });
    expect(interpretCapture(answer(false, more, true), endpoint)).toEqual({
      kind: 'refused',
      reason: more,
    });
    expect(interpretCapture(answer(false, 'no answer within 10 s', false), endpoint).kind).toBe(
      'unknown',
    );
  });
});
