// Monthly statements: the month a customer picks (`2026-11`, as an <input type="month"> gives
// it) as the period the API takes, and the names of the files it downloads. Months are UTC
// months, as the statement's own instants are.

import type { StatementQuery } from './generated/graphql';

export type Statement = NonNullable<StatementQuery['statement']>;

export type StatementFormat = 'csv' | 'camt053';

const MONTH = /^(\d{4})-(\d{2})$/;

/** `2026-11` for a date in November 2026 (UTC). */
export function monthOf(now: Date): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * The period of `month` (`2026-11`) as RFC 3339 instants: from its first moment (included) to
 * the next month's first moment (excluded). Null for anything that is not a month.
 */
export function monthPeriod(month: string): { from: string; to: string } | null {
  const match = MONTH.exec(month.trim());
  if (!match) return null;
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  if (index < 0 || index > 11) return null;
  const from = new Date(Date.UTC(year, index, 1));
  const to = new Date(Date.UTC(year, index + 1, 1));
  return { from: from.toISOString(), to: to.toISOString() };
}

/** `statement-NL66OPEN0000000000-2026-11.csv`, or `.xml` for camt.053. */
export function statementFileName(iban: string, month: string, format: StatementFormat): string {
  const safeIban = iban.replace(/[^A-Za-z0-9]/g, '');
  const safeMonth = month.replace(/[^0-9-]/g, '');
  return `statement-${safeIban}-${safeMonth}.${format === 'csv' ? 'csv' : 'xml'}`;
}

/** The transactions the page lists; the files hold all of them. */
export const LISTED_TRANSACTIONS = 1000;

/**
 * Where the endpoint serves the statement as a file: `statement` under its GraphQL path
 * (`https://bank.example/api/graphql` → `https://bank.example/api/graphql/statement?…`), so
 * every proxy that forwards /graphql forwards it too.
 */
export function statementUrl(
  graphqlUrl: string,
  iban: string,
  period: { from: string; to: string },
  format: StatementFormat,
): string {
  const url = new URL(`${graphqlUrl.replace(/\/+$/, '')}/statement`);
  url.search = new URLSearchParams({ iban, ...period, format }).toString();
  return url.href;
}
