// Standing orders: a transfer the bank makes by itself to a payee, once or every week or month
// from a first run, a number of times or until cancelled. Each run is an ordinary transfer (it
// shows in the transactions of both accounts); an order whose last run was made, or a cancelled
// one, is no longer listed. Amounts go to the API as whole cents, instants as RFC 3339 in UTC;
// the user picks the first run in their own local time.

import type { ReportedError } from './api/errors';
import { nextDue } from './due';
import type {
  CancelStandingOrderMutation,
  Schedule,
  SetStandingOrderMutation,
} from './generated/graphql';
import { Refusal } from './generated/refusals';
import { formatCents, parseEuros } from './money';
import type { Expectation, OwnedAccount } from './ownedAccounts';
import { filledValues } from './refusals';
import { clockTime } from './sessions';
import { interpretCommand, type TransferAnswer } from './transfers';

/** A standing order under way, as my_accounts lists it: `schedule` is `once`, `weekly` or `monthly`. */
export type StandingOrder = OwnedAccount['standing_orders'][number];
/** A run of a standing order that failed, as the bank keeps it on the paying account. */
export type FailedRun = OwnedAccount['failed_standing_order_runs'][number];

/** How a failed run reads: when (local time, or unknown), what, and the bank's reason. */
export function failedRunText(run: FailedRun): string {
  const when = run.at ? new Date(run.at).toLocaleString() : 'at an unknown time';
  const note = run.descr ? ` (${run.descr})` : '';
  return `${when}: ${run.amount} to ${run.to}${note} was not paid: ${run.reason}`;
}

/** How often an order runs, as the form offers it. */
export const SCHEDULE_CHOICES: readonly { label: string; value: Schedule }[] = [
  { label: 'Once', value: 'ONCE' },
  { label: 'Weekly', value: 'WEEKLY' },
  { label: 'Monthly', value: 'MONTHLY' },
];

export const DEFAULT_SCHEDULE: Schedule = 'MONTHLY';

/** The most runs one order may ask for, as the bank allows. */
export const MAX_RUNS = 1_200;

/** How far ahead the first run may lie, as the bank allows. */
export const FIRST_RUN_HORIZON_DAYS = 366;

/** How far in the past the bank still takes a first run (a clock a little behind its own). */
const FIRST_RUN_GRACE_MS = 60_000;

/** The schedule of a select's value, or null when it is none of them. */
export function chosenSchedule(value: string): Schedule | null {
  return SCHEDULE_CHOICES.find((choice) => choice.value === value)?.value ?? null;
}

/** Whether an order on `schedule` takes a number of runs: one that runs once runs once. */
export function takesRuns(schedule: Schedule): boolean {
  return schedule !== 'ONCE';
}

/** `Weekly` for the API's `weekly` (what my_accounts lists); an unknown one as it is. */
export function scheduleLabel(schedule: string): string {
  const known = SCHEDULE_CHOICES.find((choice) => choice.value === schedule.toUpperCase());
  return known?.label ?? schedule;
}

const pad = (n: number) => n.toString().padStart(2, '0');

/** `2030-06-01T09:00`: `at` in local time, as a datetime-local input takes and gives it. */
export function localInputValue(at: Date): string {
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}` +
    `T${pad(at.getHours())}:${pad(at.getMinutes())}`
  );
}

/** `2030-06-01 09:00`: `at` in local time, with the date always. */
export function localDateTime(at: Date): string {
  return localInputValue(at).replace('T', ' ');
}

/** What the first run starts as: tomorrow at 09:00, local time. */
export function defaultFirstRun(now: Date): string {
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0);
  return localInputValue(tomorrow);
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?$/;

/**
 * The instant of a datetime-local value (`2030-06-01T09:00`, seconds optional) in this
 * browser's time zone; null for anything else, or a day that does not exist. A time the clock
 * skips (the hour the clocks go forward) is the same time after the skip.
 */
export function parseLocalDateTime(value: string): Date | null {
  const match = LOCAL_DATE_TIME.exec(value.trim());
  if (!match) return null;
  const [year, month, day, hours, minutes, seconds] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part)));
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hours === undefined ||
    minutes === undefined ||
    seconds === undefined ||
    hours > 23 ||
    minutes > 59 ||
    seconds > 59
  ) {
    return null;
  }
  const at = new Date(year, month - 1, day, hours, minutes, seconds);
  const sameDay = at.getFullYear() === year && at.getMonth() === month - 1 && at.getDate() === day;
  return sameDay ? at : null;
}

/** `2030-06-01T07:00:00Z`: RFC 3339 in UTC, to the second, as the API takes instants. */
export function toRfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A datetime-local value as the API takes it (RFC 3339 UTC), or null when it is unreadable. */
export function firstRunInstant(value: string): string | null {
  const at = parseLocalDateTime(value);
  return at === null ? null : toRfc3339(at);
}

/** What the user typed into the form, as typed. */
export interface OrderForm {
  to: string;
  amount: string;
  descr: string;
  schedule: Schedule;
  /** A datetime-local value, local time. */
  firstRun: string;
  /** A whole number, or empty: until cancelled. Ignored for an order that runs once. */
  runs: string;
}

/** What set_standing_order takes, but the uuid. */
export interface OrderRequest {
  amount: number;
  from: string;
  to: string;
  descr: string;
  schedule: Schedule;
  first_run: string;
  /** Left out: until cancelled (and for an order that runs once). */
  runs?: number;
}

export type OrderProblems = Partial<Record<'to' | 'amount' | 'firstRun' | 'runs', string>>;

export type CheckedOrder =
  { ok: true; request: OrderRequest } | { ok: false; problems: OrderProblems };

export function normalIban(typed: string): string {
  return typed.replace(/\s/g, '').toUpperCase();
}

/**
 * The form checked before anything is sent, as far as the app can tell: a payee other than
 * `from`, an amount in euros, a first run that is not past and within the bank's horizon (by
 * this browser's clock), and for a repeating order either no number of runs or 1 to 1200. The
 * bank judges again (its clock, the payee, the owner, how many orders the account has).
 */
export function checkOrder(form: OrderForm, from: string, now: number): CheckedOrder {
  const problems: OrderProblems = {};
  const to = normalIban(form.to);
  if (to === '') problems.to = 'enter the IBAN of the account to pay';
  else if (to === from) problems.to = 'a standing order pays another account than this one';

  const amount = parseEuros(form.amount);
  if (!amount.ok) problems.amount = amount.error;

  const at = parseLocalDateTime(form.firstRun);
  if (at === null) {
    problems.firstRun = 'enter the date and time of the first payment';
  } else if (at.getTime() < now - FIRST_RUN_GRACE_MS) {
    problems.firstRun = 'the first payment cannot be in the past';
  } else if (at.getTime() > now + FIRST_RUN_HORIZON_DAYS * 86_400_000) {
    problems.firstRun = `the first payment should be within the next ${FIRST_RUN_HORIZON_DAYS} days`;
  }

  let runs: number | undefined;
  if (takesRuns(form.schedule) && form.runs.trim() !== '') {
    const typed = form.runs.trim();
    runs = Number(typed);
    if (!/^\d+$/.test(typed) || runs < 1 || runs > MAX_RUNS) {
      problems.runs = `the number of payments should be 1 to ${MAX_RUNS}, or empty to pay until you cancel`;
    }
  }

  if (Object.keys(problems).length > 0 || !amount.ok || at === null) return { ok: false, problems };
  return {
    ok: true,
    request: {
      amount: amount.cents,
      from,
      to,
      descr: form.descr.trim(),
      schedule: form.schedule,
      first_run: toRfc3339(at),
      ...(runs === undefined ? {} : { runs }),
    },
  };
}

/** `€ 25,00 to NL…, every week from 2030-06-01 09:00, 4 times`: what was set, in words. */
export function describeRequest(request: OrderRequest): string {
  const first = new Date(request.first_run);
  const when = Number.isNaN(first.getTime()) ? request.first_run : localDateTime(first);
  const what = `${formatCents(request.amount)} to ${request.to}`;
  if (request.schedule === 'ONCE') return `${what} on ${when}`;
  const every = request.schedule === 'WEEKLY' ? 'every week' : 'every month';
  const times =
    request.runs === undefined
      ? 'until you cancel it'
      : request.runs === 1
        ? 'once'
        : `${request.runs} times`;
  return `${what}, ${every} from ${when}, ${times}`;
}

/** `2 of 12`, or `2, until cancelled`: the runs made of how many. */
export function runsText(order: Pick<StandingOrder, 'schedule' | 'runs' | 'runs_done'>): string {
  const total = order.runs ?? (order.schedule.toLowerCase() === 'once' ? 1 : null);
  return total === null ? `${order.runs_done}, until cancelled` : `${order.runs_done} of ${total}`;
}

/** An order as its row shows it. */
export interface OrderRow {
  uuid: string;
  payee: string;
  amount: string;
  /** `—` when the order has none. */
  descr: string;
  schedule: string;
  /**
   * `09:00`, with the date when not today (local time); `—` without a next run (the last one
   * was made, the order is about to end); the API's text if unreadable.
   */
  nextRun: string;
  /** Its time has come: the bank makes it within seconds; until the list is loaded again it shows. */
  due: boolean;
  runs: string;
}

export function orderRow(order: StandingOrder, now: Date): OrderRow {
  const next = order.next_run === null ? Number.NaN : Date.parse(order.next_run);
  const readable = !Number.isNaN(next);
  return {
    uuid: order.uuid,
    payee: order.to,
    amount: order.amount,
    descr: order.descr.trim() === '' ? '—' : order.descr,
    schedule: scheduleLabel(order.schedule),
    nextRun:
      order.next_run === null ? '—' : readable ? clockTime(new Date(next), now) : order.next_run,
    due: readable && next <= now.getTime(),
    runs: runsText(order),
  };
}

/** `€ 25,00 weekly to NL66OPEN0000000000`: what a Cancel button names. */
export function orderName(order: StandingOrder): string {
  return `${order.amount} ${scheduleLabel(order.schedule).toLowerCase()} to ${order.to}`;
}

/**
 * The order the bank runs next, and how long until the list should be loaded again to show the
 * run made (see `nextDue`); an order without a next run is about to end, and is looked for from
 * its first run on. Null without orders, and when the next run is further off than a timer can
 * wait.
 */
export function nextRun(
  orders: readonly StandingOrder[],
  now: number,
  options?: Parameters<typeof nextDue>[2],
): { uuid: string; inMs: number } | null {
  return nextDue(
    orders.map((order) => ({ uuid: order.uuid, at: order.next_run ?? order.first_run })),
    now,
    options,
  );
}

/** What the list must show once the read side has caught up with setting an order. */
export const listsOrder =
  (iban: string, uuid: string): Expectation =>
  (accounts) =>
    accounts.some(
      (account) =>
        account.iban === iban && account.standing_orders.some((order) => order.uuid === uuid),
    );

/** … and with cancelling it. */
export const lacksOrder =
  (iban: string, uuid: string): Expectation =>
  (accounts) =>
    !listsOrder(iban, uuid)(accounts);

/** … and with a run of `order` made: it has more runs done, or it ended. */
export const ranSince =
  (iban: string, order: Pick<StandingOrder, 'uuid' | 'runs_done'>): Expectation =>
  (accounts) =>
    !accounts.some(
      (account) =>
        account.iban === iban &&
        account.standing_orders.some(
          (listed) => listed.uuid === order.uuid && listed.runs_done <= order.runs_done,
        ),
    );

export interface SetOrderResult {
  data?: SetStandingOrderMutation | null | undefined;
  error?: ReportedError | undefined;
}

export interface CancelOrderResult {
  data?: CancelStandingOrderMutation | null | undefined;
  error?: ReportedError | undefined;
}

/**
 * What a set_standing_order answer means. Setting it again under the same uuid (a retry after
 * no answer) is refused with `transfer was already started, current status: ordered` (or
 * `ended`, when it ran or was cancelled since): the first try set it.
 */
export function interpretSetOrder(result: SetOrderResult, endpoint: string): TransferAnswer {
  const answer = interpretCommand(result.error, result.data?.set_standing_order, endpoint);
  if (answer.kind === 'refused') {
    const status = filledValues(Refusal.TRANSFER_WAS_ALREADY_STARTED, answer.reason.trim());
    if (status?.['status'] === 'ordered' || status?.['status'] === 'ended') return { kind: 'done' };
  }
  return answer;
}

export function interpretCancelOrder(result: CancelOrderResult, endpoint: string): TransferAnswer {
  return interpretCommand(result.error, result.data?.cancel_standing_order, endpoint);
}
