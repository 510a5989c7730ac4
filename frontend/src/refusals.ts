// What the API's reasons for refusing something mean, in plain words. The reasons are the API's
// contract: their exact texts come from the endpoint's schema (`enum Refusal`, generated into
// src/generated/refusals.ts by `npm run codegen`); the explanations are the app's own. The bank's
// words are always shown too, so nothing is lost when a reason is new to the app.

import { describeError, type ReportedError } from './api/errors';
import { Refusal, type RefusalText } from './generated/refusals';

export type Explain = (reason: string) => string | null;

/** Explanations by the bank's exact words: a key that is not a refusal of the schema fails tsc. */
type Explanations = Partial<Record<RefusalText, string>>;

const COMMON: Explanations = {
  [Refusal.IBAN_NOT_KNOWN]: 'The bank does not know this account.',
  [Refusal.EMPLOYEES_ONLY]: 'Only bank employees may see this.',
  [Refusal.TOKEN_IS_NOT_VALID]:
    'Your key to this account is not valid any more. Log out and in again, then try once more.',
};

const SHARE: Explanations = {
  ...COMMON,
  [Refusal.USER_TO_ADD_IS_ALREADY_OWNER]: 'They already own this account.',
  [Refusal.USER_IS_NOT_OWNER_OF_ACCOUNT]: 'You no longer own this account, so you cannot share it.',
  [Refusal.USERNAME_DOES_NOT_EXIST]:
    'There is no user with that name. They become a user by logging in once.',
};

const LEAVE: Explanations = {
  ...COMMON,
  [Refusal.LAST_USER_AND_BALANCE_IS_NOT_ZERO]:
    'You are the last owner of this account and it still holds money: the last owner can only ' +
    'leave an empty account. Move the money to another account first, then leave.',
  [Refusal.USER_TO_REMOVE_IS_NOT_OWNER]: 'You do not own this account any more.',
};

const OPEN: Explanations = {
  [Refusal.INVALID_PASSWORD]: 'Your password was not accepted. Log out and in again.',
  [Refusal.USERNAME_DOES_NOT_EXIST]:
    'Your username is not known to the bank. Log out and in again.',
};

const ALERT: Explanations = {
  ...COMMON,
  [Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT]:
    'You do not own this account any more, so its alerts are not yours to set or receive.',
  [Refusal.THRESHOLD_SHOULD_BE_POSITIVE]: 'The amount should be more than € 0,00.',
  [Refusal.THRESHOLD_DOES_NOT_APPLY_TO_ANY_CREDIT]:
    'An alert for money coming in takes no amount: every amount counts.',
};

const TRANSFER: Explanations = {
  [Refusal.CASH_DEPOSIT_TOO_LARGE]:
    'One cash deposit can be at most € 10.000,00. Deposit a smaller amount, or several.',
  [Refusal.CASH_DAILY_LIMIT]:
    'This account took as much cash today as it may in a day (€ 25.000,00). Try again tomorrow.',
  [Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT]: 'You can only move money out of an account you own.',
};

const HOLD: Explanations = {
  ...COMMON,
  [Refusal.HOLD_EXPIRY_OUT_OF_RANGE]: 'A hold lasts 1 second at the least and 30 days at the most.',
  [Refusal.FROM_AND_TO_ARE_THE_SAME]:
    'Money is held for another account: enter the IBAN of whom it is for.',
  [Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT]: 'You can only hold money on an account you own.',
};

const HOLD_END: Explanations = {
  ...COMMON,
  [Refusal.HOLD_NOT_KNOWN]: 'The bank knows no such hold on this account.',
  [Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT]:
    'You no longer own this account, so its holds are not yours to capture or void.',
};

const STANDING_ORDER: Explanations = {
  ...COMMON,
  [Refusal.STANDING_ORDER_RUNS_OUT_OF_RANGE]:
    'A standing order pays 1 to 1200 times. Leave the number of payments empty to pay until ' +
    'you cancel it.',
  [Refusal.FIRST_RUN_OUT_OF_RANGE]:
    'The first payment must be due from now on, and within a year (366 days) at the most. ' +
    'Pick another date and time for it.',
  [Refusal.TOO_MANY_STANDING_ORDERS]:
    'This account has 20 standing orders already, the most it may have. Cancel one you no ' +
    'longer need first.',
  [Refusal.FROM_AND_TO_ARE_THE_SAME]:
    'A standing order pays another account: enter the IBAN of whom it is for.',
  [Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT]:
    'You can only set standing orders on an account you own.',
};

const STANDING_ORDER_END: Explanations = {
  ...COMMON,
  [Refusal.STANDING_ORDER_NOT_KNOWN]:
    'The bank knows no such standing order on this account: it ended already (its last ' +
    'payment was made, or it was cancelled).',
  [Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT]:
    'You no longer own this account, so its standing orders are not yours to cancel.',
};

const CREDENTIALS: Explanations = {
  [Refusal.INVALID_PASSWORD]:
    'That username is taken, and this is not its password. If it is yours, log in instead.',
  [Refusal.INVALID_USERNAME_OR_PASSWORD]:
    'The username or the password is not right (the bank does not tell which).',
  [Refusal.PASSWORD_IS_TOO_EASY]:
    'Choose a password that is harder to guess: a phrase of a few uncommon words is long, yet ' +
    'easy to remember.',
  [Refusal.TOO_MANY_LOGINS_AT_ONCE]: 'Many people are logging in right now. Try again in a moment.',
};

const PASSWORD_CHANGE: Explanations = {
  ...CREDENTIALS,
  [Refusal.INVALID_PASSWORD]: 'The current password is not right.',
};

const HISTORY: Explanations = {
  [Refusal.IBAN_DOES_NOT_EXIST]:
    'There was no account with this IBAN at that moment: it was opened later, or never.',
};

/** `template` with each `{name}` replaced by its value, as the bank fills it in. */
export function fillRefusal(
  template: RefusalText,
  values: Readonly<Record<string, string>>,
): string {
  return template.replace(/\{(\w+)\}/g, (placeholder, name: string) => values[name] ?? placeholder);
}

/** The values the bank filled into `template` if `reason` is that refusal, else null. */
export function filledValues(template: RefusalText, reason: string): Record<string, string> | null {
  const names: string[] = [];
  const pattern = template
    .split(/\{(\w+)\}/)
    .map((part, i) => {
      if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(part);
      return '(.+?)';
    })
    .join('');
  const found = new RegExp(`^${pattern}$`).exec(reason);
  if (found === null) return null;
  return Object.fromEntries(names.map((name, i) => [name, found[i + 1] ?? '']));
}

/** `too many attempts, try again in 30 s`: a wait that depends on how many tries failed. */
function explainWait(reason: string): string | null {
  const seconds = filledValues(Refusal.TOO_MANY_ATTEMPTS, reason.trim())?.['seconds'];
  if (seconds === undefined || !/^\d+$/.test(seconds)) return null;
  const wait = Number(seconds) === 1 ? 'a second' : `${seconds} seconds`;
  return `Too many tries that failed. Wait ${wait}, then try again.`;
}

/** `insufficient funds would be below the limit of € -500,00`, for a hold. */
function explainHeldFunds(reason: string): string | null {
  const limit = filledValues(Refusal.INSUFFICIENT_FUNDS, reason.trim())?.['limit'];
  if (limit === undefined) return null;
  return (
    `Not enough money is available: the balance less the open holds may not go below ${limit}. ` +
    'Hold less, or void a hold you no longer need.'
  );
}

/** `hold is not open, current status: released`: voided or expired; any other: captured. */
function explainClosedHold(reason: string): string | null {
  const status = filledValues(Refusal.HOLD_IS_NOT_OPEN, reason.trim())?.['status'];
  if (status === undefined) return null;
  return status === 'released'
    ? 'This hold is no longer open: it was voided, or it expired. Nothing was booked.'
    : 'This hold was captured already.';
}

/** `amount is more than the hold of € 12,50`. */
function explainMoreThanHeld(reason: string): string | null {
  const held = filledValues(Refusal.AMOUNT_IS_MORE_THAN_HELD, reason.trim())?.['held'];
  if (held === undefined) return null;
  return `At most the ${held} held can be captured.`;
}

function explainer(explanations: Explanations): Explain {
  const byText = new Map<string, string | undefined>(Object.entries(explanations));
  return (reason) => byText.get(reason.trim()) ?? null;
}

export const explainShareRefusal = explainer(SHARE);
export const explainLeaveRefusal = explainer(LEAVE);
export const explainOpenRefusal = explainer(OPEN);
export const explainAlertRefusal = explainer(ALERT);
export const explainHistoryError = explainer(HISTORY);
export const explainTransferRefusal = explainer(TRANSFER);

const explainHold = explainer(HOLD);
const explainHoldEnd = explainer(HOLD_END);

/** Why hold_money was refused. */
export const explainHoldRefusal: Explain = (reason) =>
  explainHold(reason) ?? explainHeldFunds(reason);

/** Why capture_hold was refused, or its transfer failed. */
export const explainCaptureRefusal: Explain = (reason) =>
  explainHoldEnd(reason) ?? explainClosedHold(reason) ?? explainMoreThanHeld(reason);

/** Why void_hold was refused. */
export const explainVoidRefusal: Explain = (reason) =>
  explainHoldEnd(reason) ?? explainClosedHold(reason);

/** Why set_standing_order was refused. */
export const explainStandingOrderRefusal = explainer(STANDING_ORDER);

/** Why cancel_standing_order was refused. */
export const explainCancelOrderRefusal = explainer(STANDING_ORDER_END);

const explainCredentials = explainer(CREDENTIALS);
const explainPasswordChange = explainer(PASSWORD_CHANGE);

/** Why a login or a sign-up was refused. */
export const explainCredentialRefusal: Explain = (reason) =>
  explainCredentials(reason) ?? explainWait(reason);

/** Why change_password was refused. */
export const explainPasswordChangeRefusal: Explain = (reason) =>
  explainPasswordChange(reason) ?? explainWait(reason);

/** `What failed: explanation (the bank said: “reason”)`, or the reason alone when it is new. */
export function refusalMessage(what: string, reason: string, explain: Explain): string {
  const explanation = explain(reason);
  return explanation
    ? `${what}: ${explanation} (The bank said: “${reason}”.)`
    : `${what}: ${reason}`;
}

/**
 * A request that failed, in plain words: the API's reason explained (a refused query or
 * subscription answers with GraphQL errors), or why the endpoint could not be reached.
 */
export function errorMessage(
  what: string,
  error: ReportedError,
  endpoint: string,
  explain: Explain,
): string {
  if (error.graphQLErrors.length === 0) return `${what}: ${describeError(error, endpoint)}`;
  return refusalMessage(what, error.graphQLErrors.map((e) => e.message).join('; '), explain);
}
