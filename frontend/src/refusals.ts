// What the API's reasons for refusing to share or leave an account mean, in plain words. The
// reasons are the API's contract; the bank's own words are always shown too, so nothing is lost
// when a reason is new to the app.

import { describeError, type ReportedError } from './api/errors';

export const LAST_OWNER_WITH_MONEY = "last user and balance is not zero, so can't be removed";

type Explain = (reason: string) => string | null;

const COMMON: Record<string, string> = {
  'iban not known': 'The bank does not know this account.',
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
