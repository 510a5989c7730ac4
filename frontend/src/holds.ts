// Holds (two-phase transfers): money reserved on an account for a later transfer to a payee.
// The account's available balance drops at once, the booked balance only when the hold is
// captured (all or part of it booked to the payee, the rest released). A hold is voided, or
// released by the bank by itself once it expires. Amounts go to the API as whole cents.

import type { ReportedError } from './api/errors';
import { nextDue } from './due';
import type { CaptureHoldMutation, HoldMoneyMutation, VoidHoldMutation } from './generated/graphql';
import { Refusal } from './generated/refusals';
import { formatCents, parseEuros, type ParsedAmount } from './money';
import type { Expectation, OwnedAccount } from './ownedAccounts';
import { filledValues } from './refusals';
import { clockTime } from './sessions';
import { interpretCommand, interpretEnded, timedOut, type TransferAnswer } from './transfers';

/** An open hold, as my_accounts lists it: `amount` in Dutch euros, `expires_at` RFC 3339 UTC. */
export type Hold = OwnedAccount['holds'][number];

/** How long a new hold may wait for its capture, as the form offers it: 1 s to 30 days. */
export const EXPIRY_CHOICES: readonly { label: string; seconds: number }[] = [
  { label: '1 minute', seconds: 60 },
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
];

export const DEFAULT_EXPIRY_SECONDS = 86_400;

/** The seconds of a choice of the form (a select's value), or null when it is none of them. */
export function chosenExpiry(value: string): number | null {
  const seconds = Number(value);
  return EXPIRY_CHOICES.some((choice) => choice.seconds === seconds) ? seconds : null;
}

/** A hold as its row shows it. */
export interface HoldRow {
  uuid: string;
  payee: string;
  amount: string;
  /** `—` when the hold has none. */
  descr: string;
  /** `14:03`, with the date when not today (local time); the API's text if unreadable. */
  expires: string;
  /** The bank releases it within seconds; until the list is loaded again it is still shown. */
  expired: boolean;
}

export function holdRow(hold: Hold, now: Date): HoldRow {
  const expiresAt = Date.parse(hold.expires_at);
  const readable = !Number.isNaN(expiresAt);
  return {
    uuid: hold.uuid,
    payee: hold.to,
    amount: hold.amount,
    descr: hold.descr.trim() === '' ? '—' : hold.descr,
    expires: readable ? clockTime(new Date(expiresAt), now) : hold.expires_at,
    expired: readable && expiresAt <= now.getTime(),
  };
}

/** `€ 12,50 for NL66OPEN0000000000`: what a capture or void button names. */
export function holdName(hold: Hold): string {
  return `${hold.amount} for ${hold.to}`;
}

/** What the capture field starts with: the whole hold, written as a user would (`1.234,56`). */
export function fullCapture(hold: Hold): string {
  return formatCents(hold.amount_cents).replace(/^€ /, '');
}

/** The cents to capture of `hold` from what the user typed in euros: more than 0, at most held. */
export function parseCapture(typed: string, hold: Hold): ParsedAmount {
  const parsed = parseEuros(typed);
  if (parsed.ok && parsed.cents > hold.amount_cents) {
    return {
      ok: false,
      error: `at most the ${formatCents(hold.amount_cents)} held can be captured`,
    };
  }
  return parsed;
}

/**
 * The hold the bank releases next, and how long until the list should be loaded again to show
 * it gone: a moment (`graceMs`) after it expires, as the bank looks every second (see
 * `nextDue`). Null without holds, and when it is further off than a timer can wait.
 */
export function nextRelease(
  holds: readonly Hold[],
  now: number,
  options?: Parameters<typeof nextDue>[2],
): { uuid: string; inMs: number } | null {
  return nextDue(
    holds.map((hold) => ({ uuid: hold.uuid, at: hold.expires_at })),
    now,
    options,
  );
}

/** What the list must show once the read side has caught up with placing a hold. */
export const listsHold =
  (iban: string, uuid: string): Expectation =>
  (accounts) =>
    accounts.some(
      (account) => account.iban === iban && account.holds.some((hold) => hold.uuid === uuid),
    );

/** … and with capturing or voiding it. */
export const lacksHold =
  (iban: string, uuid: string): Expectation =>
  (accounts) =>
    !listsHold(iban, uuid)(accounts);

export interface HoldResult {
  data?: HoldMoneyMutation | null | undefined;
  error?: ReportedError | undefined;
}

export interface VoidResult {
  data?: VoidHoldMutation | null | undefined;
  error?: ReportedError | undefined;
}

export interface CaptureResult {
  data?: CaptureHoldMutation | null | undefined;
  error?: ReportedError | undefined;
}

/**
 * What a hold_money answer means. Placing it again under the same uuid (a retry after no answer)
 * is refused with `transfer was already started, current status: held`: the first try held it.
 */
export function interpretHold(result: HoldResult, endpoint: string): TransferAnswer {
  const answer = interpretCommand(result.error, result.data?.hold_money, endpoint);
  if (answer.kind === 'refused') {
    const status = filledValues(Refusal.TRANSFER_WAS_ALREADY_STARTED, answer.reason.trim());
    if (status?.['status'] === 'held') return { kind: 'done' };
  }
  return answer;
}

export function interpretVoid(result: VoidResult, endpoint: string): TransferAnswer {
  return interpretCommand(result.error, result.data?.void_hold, endpoint);
}

/** capture_hold waits for the end of the hold's transfer, as money_transfer does. */
export function interpretCapture(result: CaptureResult, endpoint: string): TransferAnswer {
  return (
    timedOut(result.error, endpoint) ??
    interpretEnded(result.error, result.data?.capture_hold, endpoint)
  );
}
