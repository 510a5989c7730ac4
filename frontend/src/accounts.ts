// The employee's list of accounts: one row per IBAN, holding that account's newest transaction
// (which carries its balance), sorted by IBAN as `all_last_transactions` returns them.

import type { Transaction } from './transactions';

/** One row per IBAN from both lists, the newest transaction of each, sorted by IBAN. */
export function mergeNewestPerIban(
  current: readonly Transaction[],
  incoming: readonly Transaction[],
): Transaction[] {
  const byIban = new Map<string, Transaction>();
  for (const row of [...current, ...incoming]) {
    if (row.iban === null) continue;
    const known = byIban.get(row.iban);
    if (known === undefined || known.id < row.id) byIban.set(row.iban, row);
  }
  return [...byIban.values()].sort((a, b) => ((a.iban ?? '') < (b.iban ?? '') ? -1 : 1));
}

/** Rows whose IBAN contains `text`, ignoring case and spaces. */
export function filterByIban(accounts: readonly Transaction[], text: string): Transaction[] {
  const wanted = text.replace(/\s/g, '').toUpperCase();
  if (wanted === '') return [...accounts];
  return accounts.filter((row) => (row.iban ?? '').toUpperCase().includes(wanted));
}

export interface Page<T> {
  items: T[];
  /** 1-based, clamped to the pages that exist. */
  page: number;
  pageCount: number;
  /** 1-based position of the first and last item shown; 0 and 0 when there are none. */
  first: number;
  last: number;
  total: number;
}

export function paginate<T>(items: readonly T[], page: number, pageSize: number): Page<T> {
  const size = Math.max(1, Math.floor(pageSize));
  const pageCount = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, Math.floor(page)), pageCount);
  const start = (current - 1) * size;
  const shown = items.slice(start, start + size);
  return {
    items: shown,
    page: current,
    pageCount,
    first: shown.length > 0 ? start + 1 : 0,
    last: start + shown.length,
    total: items.length,
  };
}
