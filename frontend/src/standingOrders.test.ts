import { describe, expect, it } from 'vitest';
import { Refusal } from './generated/refusals';
import type { OwnedAccount } from './ownedAccounts';
import { fillRefusal } from './refusals';
import {
  checkOrder,
  chosenSchedule,
  DEFAULT_SCHEDULE,
  defaultFirstRun,
  describeRequest,
  failedRunText,
  firstRunInstant,
  interpretCancelOrder,
  interpretSetOrder,
  lacksOrder,
  listsOrder,
  localDateTime,
  localInputValue,
  nextRun,
  orderName,
  orderRow,
  parseLocalDateTime,
  ranSince,
  runsText,
  SCHEDULE_CHOICES,
  scheduleLabel,
  takesRuns,
  toRfc3339,
  type OrderForm,
  type StandingOrder,
} from './standingOrders';

const endpoint = 'http://127.0.0.1:8181/graphql';
const A = 'NL02OPEN0000000001';
const PAYEE = 'NL43OPEN0000000002';
const UUID = '7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10';
const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function order(overrides: Partial<StandingOrder> = {}): StandingOrder {
  return {
    uuid: UUID,
    to: PAYEE,
    amount: '€ 650,00',
    amount_cents: 65_000,
    descr: 'rent',
    schedule: 'monthly',
    first_run: '2030-06-01T07:00:00.000Z',
    runs: 12,
    runs_done: 2,
    next_run: '2030-08-01T07:00:00.000Z',
    ...overrides,
  };
}

describe('the schedules', () => {
  it('are once, weekly and monthly, read back from a select’s value and nothing else', () => {
    expect(SCHEDULE_CHOICES.map((choice) => [choice.label, choice.value])).toEqual([
      ['Once', 'ONCE'],
      ['Weekly', 'WEEKLY'],
      ['Monthly', 'MONTHLY'],
    ]);
    expect(SCHEDULE_CHOICES.map((choice) => choice.value)).toContain(DEFAULT_SCHEDULE);
    expect(chosenSchedule('WEEKLY')).toBe('WEEKLY');
    for (const value of ['', 'weekly', 'DAILY', 'ONCE ']) {
      expect(chosenSchedule(value), value).toBeNull();
    }
  });

  it('take a number of runs unless the order runs once', () => {
    expect(takesRuns('ONCE')).toBe(false);
    expect(takesRuns('WEEKLY')).toBe(true);
    expect(takesRuns('MONTHLY')).toBe(true);
  });

  it('are named as the API lists them, an unknown one as it is', () => {
    expect(scheduleLabel('once')).toBe('Once');
    expect(scheduleLabel('weekly')).toBe('Weekly');
    expect(scheduleLabel('monthly')).toBe('Monthly');
    expect(scheduleLabel('yearly')).toBe('yearly');
  });
});

describe('the first run', () => {
  it('starts as tomorrow at 09:00 local time, also at the end of a month and a year', () => {
    expect(defaultFirstRun(new Date(2030, 5, 1, 14, 3))).toBe('2030-06-02T09:00');
    expect(defaultFirstRun(new Date(2030, 5, 30, 23, 59))).toBe('2030-07-01T09:00');
    expect(defaultFirstRun(new Date(2030, 11, 31, 0, 1))).toBe('2031-01-01T09:00');
    expect(defaultFirstRun(new Date(2032, 1, 28, 8, 0))).toBe('2032-02-29T09:00');
  });

  it('is written and read as a datetime-local input does, in local time', () => {
    const at = new Date(2030, 5, 1, 9, 5);
    expect(localInputValue(at)).toBe('2030-06-01T09:05');
    expect(localDateTime(at)).toBe('2030-06-01 09:05');
    expect(parseLocalDateTime('2030-06-01T09:05')?.getTime()).toBe(at.getTime());
    expect(parseLocalDateTime(' 2030-06-01T09:05:30 ')?.getTime()).toBe(
      new Date(2030, 5, 1, 9, 5, 30).getTime(),
    );
    expect(parseLocalDateTime('2030-06-01T09:05:30.250')?.getTime()).toBe(
      new Date(2030, 5, 1, 9, 5, 30).getTime(),
    );
  });

  it('refuses what is no date and time, or a day that does not exist', () => {
    for (const value of [
      '',
      'tomorrow',
      '2030-06-01',
      '2030-06-01 09:00',
      '2030-6-1T09:00',
      '2030-02-30T09:00',
      '2030-13-01T09:00',
      '2030-00-10T09:00',
      '2030-06-01T24:00',
      '2030-06-01T09:60',
      '2030-06-01T09:00Z',
    ]) {
      expect(parseLocalDateTime(value), value).toBeNull();
      expect(firstRunInstant(value), value).toBeNull();
    }
  });

  it('goes to the API as RFC 3339 in UTC, to the second', () => {
    expect(toRfc3339(new Date(Date.UTC(2030, 5, 1, 7, 0, 0, 500)))).toBe('2030-06-01T07:00:00Z');
    const sent = firstRunInstant('2030-06-01T09:00');
    expect(sent).toMatch(RFC3339_UTC);
    // The same instant as the local time picked, whatever this machine's time zone.
    expect(Date.parse(sent ?? '')).toBe(new Date(2030, 5, 1, 9, 0).getTime());
    expect(firstRunInstant('2030-12-01T09:00')).toBe(
      new Date(2030, 11, 1, 9, 0).toISOString().replace('.000Z', 'Z'),
    );
  });
});

describe('checkOrder', () => {
  const now = new Date(2030, 5, 1, 14, 3).getTime();
  const form = (overrides: Partial<OrderForm> = {}): OrderForm => ({
    to: PAYEE,
    amount: '650',
    descr: ' rent ',
    schedule: 'MONTHLY',
    firstRun: '2030-06-02T09:00',
    runs: '12',
    ...overrides,
  });

  it('makes the request: cents, the payee’s IBAN written plainly, the first run in UTC', () => {
    const checked = checkOrder(form({ to: ' nl43 open 0000 0000 02 ', amount: '1.234,5' }), A, now);
    expect(checked).toEqual({
      ok: true,
      request: {
        amount: 123_450,
        from: A,
        to: PAYEE,
        descr: 'rent',
        schedule: 'MONTHLY',
        first_run: firstRunInstant('2030-06-02T09:00'),
        runs: 12,
      },
    });
  });

  it('leaves the runs out without a number (until cancelled) and for an order that runs once', () => {
    const open = checkOrder(form({ schedule: 'WEEKLY', runs: '  ' }), A, now);
    expect(open.ok && open.request).not.toHaveProperty('runs');
    const once = checkOrder(form({ schedule: 'ONCE', runs: 'whatever was typed' }), A, now);
    expect(once.ok).toBe(true);
    expect(once.ok && once.request).not.toHaveProperty('runs');
    expect(once.ok && once.request.schedule).toBe('ONCE');
  });

  it('takes 1 to 1200 runs, as whole numbers', () => {
    for (const runs of ['1', '1200', ' 7 ']) {
      expect(checkOrder(form({ runs }), A, now).ok, runs).toBe(true);
    }
    for (const runs of ['0', '1201', '2.5', '-3', 'ten', '1e3']) {
      const checked = checkOrder(form({ runs }), A, now);
      expect(checked.ok, runs).toBe(false);
      if (!checked.ok) expect(checked.problems.runs).toContain('1 to 1200');
    }
  });

  it('takes a first run from now on (a minute late at the most) to 366 days ahead', () => {
    expect(checkOrder(form({ firstRun: '2030-06-01T14:03' }), A, now).ok).toBe(true);
    expect(checkOrder(form({ firstRun: '2030-06-01T14:02' }), A, now).ok).toBe(true);
    const past = checkOrder(form({ firstRun: '2030-06-01T14:01' }), A, now);
    expect(!past.ok && past.problems.firstRun).toBe('the first payment cannot be in the past');
    expect(checkOrder(form({ firstRun: '2031-06-02T14:03' }), A, now).ok).toBe(true);
    const far = checkOrder(form({ firstRun: '2031-06-02T14:04' }), A, now);
    expect(!far.ok && far.problems.firstRun).toContain('within the next 366 days');
    const none = checkOrder(form({ firstRun: '' }), A, now);
    expect(!none.ok && none.problems.firstRun).toBe('enter the date and time of the first payment');
  });

  it('says what is wrong with each field at once', () => {
    const checked = checkOrder(
      form({ to: '', amount: 'ten', firstRun: 'soon', runs: '0' }),
      A,
      now,
    );
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(Object.keys(checked.problems).sort()).toEqual(['amount', 'firstRun', 'runs', 'to']);
    expect(checked.problems.to).toBe('enter the IBAN of the account to pay');
    expect(checked.problems.amount).toContain('is not an amount in euros');
    const self = checkOrder(form({ to: A.toLowerCase() }), A, now);
    expect(!self.ok && self.problems).toEqual({
      to: 'a standing order pays another account than this one',
    });
    const nothing = checkOrder(form({ amount: '0' }), A, now);
    expect(!nothing.ok && nothing.problems.amount).toBe('the amount should be more than € 0,00');
  });
});

describe('describeRequest', () => {
  const first = firstRunInstant('2030-06-02T09:00') ?? '';
  const request = {
    amount: 2_500,
    from: A,
    to: PAYEE,
    descr: 'pocket money',
    schedule: 'WEEKLY' as const,
    first_run: first,
  };

  it('says what was set in words, the first run in local time', () => {
    expect(describeRequest({ ...request, runs: 4 })).toBe(
      `€ 25,00 to ${PAYEE}, every week from 2030-06-02 09:00, 4 times`,
    );
    expect(describeRequest({ ...request, schedule: 'MONTHLY' })).toBe(
      `€ 25,00 to ${PAYEE}, every month from 2030-06-02 09:00, until you cancel it`,
    );
    expect(describeRequest({ ...request, schedule: 'MONTHLY', runs: 1 })).toContain(
      'every month from 2030-06-02 09:00, once',
    );
    expect(describeRequest({ ...request, schedule: 'ONCE' })).toBe(
      `€ 25,00 to ${PAYEE} on 2030-06-02 09:00`,
    );
  });
});

describe('an order’s row', () => {
  const now = new Date('2030-07-15T10:00:00Z');

  it('counts the runs made of how many, or until cancelled', () => {
    expect(runsText(order())).toBe('2 of 12');
    expect(runsText(order({ runs: null }))).toBe('2, until cancelled');
    expect(runsText(order({ schedule: 'once', runs: null, runs_done: 0 }))).toBe('0 of 1');
    expect(runsText(order({ schedule: 'once', runs: 1, runs_done: 0 }))).toBe('0 of 1');
  });

  it('shows the payee, the amount, the note, the schedule and the next run', () => {
    const row = orderRow(order(), now);
    expect(row).toMatchObject({
      uuid: UUID,
      payee: PAYEE,
      amount: '€ 650,00',
      descr: 'rent',
      schedule: 'Monthly',
      due: false,
      runs: '2 of 12',
    });
    // Local time, as the holds' expiry is shown: another day than today with its date.
    expect(row.nextRun).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    const today = orderRow(order({ next_run: '2030-07-15T10:30:00.000Z' }), now);
    expect(today.nextRun).toMatch(/^(\d{4}-\d\d-\d\d )?\d\d:\d\d$/);
  });

  it('marks a run whose time came, and shows a dash for no note or no next run', () => {
    const due = orderRow(order({ descr: ' ', next_run: '2030-07-15T09:59:59.000Z' }), now);
    expect(due.descr).toBe('—');
    expect(due.due).toBe(true);
    const ending = orderRow(order({ runs_done: 12, next_run: null }), now);
    expect(ending).toMatchObject({ nextRun: '—', due: false, runs: '12 of 12' });
    const unreadable = orderRow(order({ next_run: 'soon' }), now);
    expect(unreadable).toMatchObject({ nextRun: 'soon', due: false });
  });

  it('names an order by its amount, schedule and payee', () => {
    expect(orderName(order())).toBe(`€ 650,00 monthly to ${PAYEE}`);
    expect(orderName(order({ schedule: 'once' }))).toBe(`€ 650,00 once to ${PAYEE}`);
  });
});

describe('nextRun', () => {
  const at = Date.parse('2030-06-01T12:00:00Z');
  const soon = order({ uuid: 'soon', next_run: '2030-06-01T12:00:00.000Z' });
  const later = order({ uuid: 'later', next_run: '2030-06-08T12:00:00.000Z' });

  it('waits for the soonest run, and a moment more', () => {
    expect(nextRun([later, soon], at - 10_000)).toEqual({ uuid: 'soon', inMs: 11_500 });
    expect(nextRun([], at)).toBeNull();
    expect(nextRun([order({ next_run: 'never', first_run: 'never' })], at)).toBeNull();
  });

  it('looks again for a run not made yet, less often the longer it is overdue', () => {
    expect(nextRun([soon], at + 1_000)?.inMs).toBe(1_000);
    expect(nextRun([soon], at + 3_600_000)?.inMs).toBe(60_000);
  });

  it('looks for an order without a next run (about to end) from its first run on', () => {
    const ending = order({
      uuid: 'ending',
      schedule: 'once',
      first_run: '2030-06-01T11:59:50.000Z',
      next_run: null,
    });
    expect(nextRun([later, ending], at)).toEqual({ uuid: 'ending', inMs: 4_250 });
  });
});

describe('expectations of a reloaded list', () => {
  const account = (orders: StandingOrder[]): OwnedAccount => ({
    iban: A,
    balance: '€ 2.000,00',
    available_balance: '€ 2.000,00',
    owners: ['alice'],
    holds: [],
    standing_orders: orders,
    failed_standing_order_runs: [],
  });

  it('tell whether the list shows the order set, and no longer the one cancelled', () => {
    expect(listsOrder(A, UUID)([account([order()])])).toBe(true);
    expect(listsOrder(A, UUID)([account([])])).toBe(false);
    expect(listsOrder(PAYEE, UUID)([account([order()])])).toBe(false);
    expect(lacksOrder(A, UUID)([account([])])).toBe(true);
    expect(lacksOrder(A, UUID)([account([order()])])).toBe(false);
  });

  it('tell whether a run was made since: more runs done, or the order ended', () => {
    const before = order();
    expect(ranSince(A, before)([account([order()])])).toBe(false);
    expect(ranSince(A, before)([account([order({ runs_done: 3 })])])).toBe(true);
    expect(ranSince(A, before)([account([])])).toBe(true);
  });
});

describe('the answers', () => {
  const refused = (reason: string) => ({
    data: { set_standing_order: { success: false, reason } },
  });

  it('of set_standing_order: done, refused, or unknown without an answer', () => {
    expect(
      interpretSetOrder(
        { data: { set_standing_order: { success: true, reason: null } } },
        endpoint,
      ),
    ).toEqual({ kind: 'done' });
    const tooMany = Refusal.TOO_MANY_STANDING_ORDERS;
    expect(interpretSetOrder(refused(tooMany), endpoint)).toEqual({
      kind: 'refused',
      reason: tooMany,
    });
    const unreachable = { graphQLErrors: [], networkError: new Error('Failed to fetch') };
    expect(interpretSetOrder({ error: unreachable }, endpoint).kind).toBe('unknown');
    expect(interpretSetOrder({ data: null }, endpoint).kind).toBe('unknown');
  });

  it('of set_standing_order retried under the same uuid: the first try set it', () => {
    const ordered = fillRefusal(Refusal.TRANSFER_WAS_ALREADY_STARTED, { status: 'ordered' });
    expect(interpretSetOrder(refused(ordered), endpoint)).toEqual({ kind: 'done' });
    const ended = fillRefusal(Refusal.TRANSFER_WAS_ALREADY_STARTED, { status: 'ended' });
    expect(interpretSetOrder(refused(ended), endpoint)).toEqual({ kind: 'done' });
    const transfer = fillRefusal(Refusal.TRANSFER_WAS_ALREADY_STARTED, { status: 'complete' });
    expect(interpretSetOrder(refused(transfer), endpoint).kind).toBe('refused');
  });

  it('of a request the endpoint refused or stopped waiting for', () => {
    const invalid = {
      graphQLErrors: [
        { message: 'first_run is not an RFC 3339 instant like 2026-11-30T08:00:00Z' },
      ],
    };
    expect(interpretSetOrder({ error: invalid }, endpoint)).toEqual({
      kind: 'refused',
      reason: 'first_run is not an RFC 3339 instant like 2026-11-30T08:00:00Z',
    });
    const timeout = {
      graphQLErrors: [{ message: 'no answer in time', extensions: { code: 'TIMEOUT' } }],
    };
    expect(interpretSetOrder({ error: timeout }, endpoint)).toEqual({
      kind: 'unknown',
      reason: 'no answer in time',
    });
    expect(interpretCancelOrder({ error: timeout }, endpoint).kind).toBe('unknown');
  });

  it('of cancel_standing_order', () => {
    const answer = (success: boolean, reason: string | null) => ({
      data: { cancel_standing_order: { success, reason } },
    });
    expect(interpretCancelOrder(answer(true, null), endpoint)).toEqual({ kind: 'done' });
    expect(interpretCancelOrder(answer(false, Refusal.STANDING_ORDER_NOT_KNOWN), endpoint)).toEqual(
      { kind: 'refused', reason: Refusal.STANDING_ORDER_NOT_KNOWN },
    );
  });
});

describe('a failed run', () => {
  it('says when, what and why, in the bank words', () => {
    const text = failedRunText({
      order_uuid: 'o',
      transfer_uuid: 't',
      to: 'NL39OPEN0000000001',
      amount: '€ 650,00',
      descr: 'rent',
      reason: 'insufficient funds would be below the limit of € -500,00',
      at: null,
    });
    expect(text).toBe(
      'at an unknown time: € 650,00 to NL39OPEN0000000001 (rent) was not paid: ' +
        'insufficient funds would be below the limit of € -500,00',
    );
  });
});
