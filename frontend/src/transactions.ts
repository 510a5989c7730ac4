// Transactions as the GraphQL API returns them, and how lists of them are kept up to date.

import type { Dtype, TransactionFieldsFragment } from './generated/graphql';

export type Direction = Dtype;

/**
 * The fragment every list and stream asks for (api/operations.ts). `id` counts 1, 2, … over the
 * whole bank, so a higher id is a newer transaction; `at` is RFC 3339, UTC: when its money event
 * was written, null for records from before it was kept.
 */
export type Transaction = TransactionFieldsFragment;

export type TransactionField = keyof Transaction;

/** Every field a user can choose to show, in the order of the table's columns. */
export const TRANSACTION_FIELDS: readonly { key: TransactionField; label: string }[] = [
  { key: 'id', label: 'Id' },
  { key: 'iban', label: 'IBAN' },
  { key: 'at', label: 'Time' },
  { key: 'direction', label: 'Direction' },
  { key: 'changed_by', label: 'Amount' },
  { key: 'from_to', label: 'From / to' },
  { key: 'descr', label: 'Description' },
  { key: 'new_balance', label: 'Balance after' },
];

export const ZERO_BALANCE = '€ 0,00';

/**
 * The newest `limit` transactions of both lists, newest first, each id once. A transaction may
 * arrive twice (from the query and from the live stream); the last copy seen wins.
 */
export function mergeNewestFirst(
  current: readonly Transaction[],
  incoming: readonly Transaction[],
  limit: number,
): Transaction[] {
  const byId = new Map<number, Transaction>();
  for (const transaction of current) byId.set(transaction.id, transaction);
  for (const transaction of incoming) byId.set(transaction.id, transaction);
  return [...byId.values()].sort((a, b) => b.id - a.id).slice(0, Math.max(0, limit));
}

/** The balance after the newest transaction; an account without any holds nothing. */
export function balanceOf(newestFirst: readonly Transaction[]): string {
  return newestFirst[0]?.new_balance ?? ZERO_BALANCE;
}

/** `+ € 10,00` for money in, `− € 10,00` for money out. */
export function signedAmount(transaction: Transaction): string {
  const amount = transaction.changed_by ?? '';
  if (transaction.direction === 'CREDIT') return `+ ${amount}`;
  if (transaction.direction === 'DEBIT') return `− ${amount}`;
  return amount;
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

/**
 * When a transaction happened, in local time: `14:03:07` today, `2026-11-30 14:03` on another
 * day; nothing when it is not known.
 */
export function formatTransactionTime(at: string | null, now: Date): string {
  const ms = at === null ? Number.NaN : Date.parse(at);
  if (Number.isNaN(ms)) return '';
  const time = new Date(ms);
  const clock = `${pad(time.getHours())}:${pad(time.getMinutes())}`;
  if (time.toDateString() === now.toDateString()) return `${clock}:${pad(time.getSeconds())}`;
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())} ${clock}`;
}
