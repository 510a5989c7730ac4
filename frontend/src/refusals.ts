// What the API's reasons for refusing something mean, in plain words. The reasons are the API's
// contract; the bank's own words are always shown too, so nothing is lost when a reason is new to
// the app.

import { describeError, type ReportedError } from './api/errors';

export const LAST_OWNER_WITH_MONEY = "last user and balance is not zero, so can't be removed";

export type Explain = (reason: string) => string | null;

export const CASH_DEPOSIT_TOO_LARGE = 'a cash deposit may be at most € 10.000,00';
export const CASH_DAILY_LIMIT = 'cash deposits into this account may be at most € 25.000,00 a day';
export const TOO_EASY_PASSWORD =
  'password is too easy to guess: use a longer phrase of uncommon words';

const COMMON: Record<string, string> = {
  'iban not known': 'The bank does not know this account.',
  'employees only': 'Only bank employees may see this.',
  'token is not valid':
    'Your key to this account is not valid any more. Log out and in again, then try once more.',
};

const SHARE: Record<string, string> = {
  ...COMMON,
  'user to add is already owner of bank account': 'They already own this account.',
  'user is not owner of account': 'You no longer own this account, so you cannot share it.',
  'username does not exist':
    'There is no user with that name. They become a user by logging in once.',
};

const LEAVE: Record<string, string> = {
  ...COMMON,
  [LAST_OWNER_WITH_MONEY]:
    'You are the last owner of this account and it still holds money: the last owner can only ' +
    'leave an empty account. Move the money to another account first, then leave.',
  'user to remove is not owner of bank account': 'You do not own this account any more.',
};

const OPEN: Record<string, string> = {
  'invalid password': 'Your password was not accepted. Log out and in again.',
  'username does not exist': 'Your username is not known to the bank. Log out and in again.',
};

const ALERT: Record<string, string> = {
  ...COMMON,
  'user is no owner of bank account':
    'You do not own this account any more, so its alerts are not yours to set or receive.',
  'threshold should be positive': 'The amount should be more than € 0,00.',
  'threshold does not apply to ANY_CREDIT':
    'An alert for money coming in takes no amount: every amount counts.',
};

const TRANSFER: Record<string, string> = {
  [CASH_DEPOSIT_TOO_LARGE]:
    'One cash deposit can be at most € 10.000,00. Deposit a smaller amount, or several.',
  [CASH_DAILY_LIMIT]:
    'This account took as much cash today as it may in a day (€ 25.000,00). Try again tomorrow.',
  'user is no owner of bank account': 'You can only move money out of an account you own.',
};

const CREDENTIALS: Record<string, string> = {
  'invalid password':
    'That username is taken, and this is not its password. If it is yours, log in instead.',
  'invalid username or password':
    'The username or the password is not right (the bank does not tell which).',
  [TOO_EASY_PASSWORD]:
    'Choose a password that is harder to guess: a phrase of a few uncommon words is long, yet ' +
    'easy to remember.',
  'too many logins at once, try again in a moment':
    'Many people are logging in right now. Try again in a moment.',
};

const PASSWORD_CHANGE: Record<string, string> = {
  ...CREDENTIALS,
  'invalid password': 'The current password is not right.',
};

/** `too many attempts, try again in 30 s`: a wait that depends on how many tries failed. */
const TOO_MANY_ATTEMPTS = /^too many attempts, try again in (\d+) s$/;

function explainWait(reason: string): string | null {
  const seconds = TOO_MANY_ATTEMPTS.exec(reason.trim())?.[1];
  if (seconds === undefined) return null;
  const wait = Number(seconds) === 1 ? 'a second' : `${seconds} seconds`;
  return `Too many tries that failed. Wait ${wait}, then try again.`;
}

const HISTORY: Record<string, string> = {
  'iban does not exist':
    'There was no account with this IBAN at that moment: it was opened later, or never.',
};

function explainer(explanations: Record<string, string>): Explain {
  return (reason) => explanations[reason.trim()] ?? null;
}

export const explainShareRefusal = explainer(SHARE);
export const explainLeaveRefusal = explainer(LEAVE);
export const explainOpenRefusal = explainer(OPEN);
export const explainAlertRefusal = explainer(ALERT);
export const explainHistoryError = explainer(HISTORY);
export const explainTransferRefusal = explainer(TRANSFER);

/** Why a login or a sign-up was refused. */
export const explainCredentialRefusal: Explain = (reason) =>
  explainer(CREDENTIALS)(reason) ?? explainWait(reason);

/** Why change_password was refused. */
export const explainPasswordChangeRefusal: Explain = (reason) =>
  explainer(PASSWORD_CHANGE)(reason) ?? explainWait(reason);

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
