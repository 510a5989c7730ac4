// Alerts: the rules a client sets on an account (alert_rules, set_alert, remove_alert) and the
// alerts that fire when a transaction meets one (the `alerts` subscription). Thresholds are whole
// cents, as every amount the API takes.

import type { AlertKind, AlertRulesQuery, AlertsSubscription } from './generated/graphql';
import { formatCents, parseEuros } from './money';

export type { AlertKind };

/** `threshold` in cents; null for ANY_CREDIT. */
export type AlertRule = AlertRulesQuery['alert_rules'][number];

/**
 * `message` is the bank's own words (`Balance fell below € 100,00: now € 95,00`); `at` is RFC
 * 3339, UTC.
 */
export type Alert = AlertsSubscription['alerts'];

// A Record over the schema's kinds: a kind the schema gains fails the typecheck until it is here.
const KINDS: Record<AlertKind, { choice: string; title: string; takesThreshold: boolean }> = {
  BALANCE_BELOW: {
    choice: 'the balance falls below an amount',
    title: 'Low balance',
    takesThreshold: true,
  },
  LARGE_DEBIT: {
    choice: 'a single payment out is at least an amount',
    title: 'Large debit',
    takesThreshold: true,
  },
  ANY_CREDIT: { choice: 'any money comes in', title: 'Money in', takesThreshold: false },
};

/** Every kind, in the order the form offers them. */
export const ALERT_KINDS = Object.keys(KINDS) as readonly AlertKind[];

function known(kind: string): kind is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(kind);
}

export function takesThreshold(kind: AlertKind): boolean {
  return KINDS[kind].takesThreshold;
}

/** How the kind reads in the form: `Alert me when` … `any money comes in`. */
export function kindChoice(kind: AlertKind): string {
  return KINDS[kind].choice;
}

/** A short title for an alert that fired; a kind newer than the app is still an alert. */
export function alertTitle(kind: string): string {
  if (kind === 'STANDING_ORDER_FAILED') return 'Standing order failed';
  return known(kind) ? KINDS[kind].title : 'Alert';
}

/** `Balance falls below € 100,00`, `A debit of € 50,00 or more`, `Any money coming in`. */
export function describeRule(rule: AlertRule): string {
  const amount = rule.threshold === null ? 'an amount' : formatCents(rule.threshold);
  switch (rule.kind) {
    case 'BALANCE_BELOW':
      return `Balance falls below ${amount}`;
    case 'LARGE_DEBIT':
      return `A debit of ${amount} or more`;
    case 'ANY_CREDIT':
      return 'Any money coming in';
    default:
      return String(rule.kind);
  }
}

/** In the order the form offers the kinds, whatever order the API answers in. */
export function sortRules(rules: readonly AlertRule[]): AlertRule[] {
  const rank = (rule: AlertRule) => {
    const index = ALERT_KINDS.indexOf(rule.kind);
    return index === -1 ? ALERT_KINDS.length : index;
  };
  return [...rules].sort((a, b) => rank(a) - rank(b));
}

export type ParsedThreshold = { ok: true; threshold: number | null } | { ok: false; error: string };

/**
 * The threshold set_alert takes for `kind`, from what the user typed in euros: cents for the
 * kinds with an amount, null for ANY_CREDIT (whatever was typed: the field is not shown then).
 */
export function parseThreshold(kind: AlertKind, typed: string): ParsedThreshold {
  if (!takesThreshold(kind)) return { ok: true, threshold: null };
  const parsed = parseEuros(typed);
  return parsed.ok ? { ok: true, threshold: parsed.cents } : { ok: false, error: parsed.error };
}

/** What the list of rules must show once the read model has caught up with a change. */
export type RulesExpectation = (rules: readonly AlertRule[]) => boolean;

export const showsRule =
  (kind: AlertKind, threshold: number | null): RulesExpectation =>
  (rules) =>
    rules.some((rule) => rule.kind === kind && rule.threshold === threshold);

export const lacksRule =
  (kind: AlertKind): RulesExpectation =>
  (rules) =>
    !rules.some((rule) => rule.kind === kind);

/** An alert on screen, under a key that is the same for the same alert however it arrives. */
export interface ShownAlert {
  key: string;
  alert: Alert;
}

export const MAX_SHOWN_ALERTS = 5;

/** A rule's alert is known by its transaction, a failed standing-order run by its transfer. */
export function alertKey(alert: Alert): string {
  return `${alert.iban}/${alert.kind}/${alert.transaction_id ?? alert.transfer_id}`;
}

/** The alerts on screen with `alert` on top, each once, at most `max`: the oldest make room. */
export function withAlert(
  shown: readonly ShownAlert[],
  alert: Alert,
  max = MAX_SHOWN_ALERTS,
): readonly ShownAlert[] {
  const key = alertKey(alert);
  if (shown.some((item) => item.key === key)) return shown;
  return [{ key, alert }, ...shown].slice(0, Math.max(0, max));
}

export function withoutAlert(shown: readonly ShownAlert[], key: string): readonly ShownAlert[] {
  return shown.filter((item) => item.key !== key);
}

/** An account whose alerts to receive, and whose it is (the session says so to the endpoint). */
export interface WatchedAccount {
  iban: string;
  username: string;
}

/** Every account of the logged-in user, to subscribe to its alerts; none while nobody is. */
export function watchedAccounts(
  username: string | null,
  accounts: readonly { iban: string }[] | null,
): WatchedAccount[] {
  if (username === null || accounts === null) return [];
  return accounts.map(({ iban }) => ({ iban, username }));
}

/**
 * One string for the accounts to watch: the list of accounts is a new array whenever a balance
 * changes, which must not close and reopen the subscriptions (alerts in between would be lost).
 */
export function watchKey(watched: readonly WatchedAccount[]): string {
  return watched
    .map(({ iban, username }) => JSON.stringify([iban, username]))
    .sort()
    .join('\n');
}
