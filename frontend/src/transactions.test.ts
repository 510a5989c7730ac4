import { describe, expect, it } from 'vitest';
import { transaction } from './testing';
import {
  balanceOf,
  formatTransactionTime,
  mergeNewestFirst,
  signedAmount,
  type Transaction,
} from './transactions';

const ids = (list: Transaction[]) => list.map((t) => t.id);

describe('mergeNewestFirst', () => {
  it('keeps the newest first and at most the limit', () => {
    const merged = mergeNewestFirst(
      [transaction(3), transaction(1)],
      [transaction(2), transaction(5)],
      3,
    );
    expect(ids(merged)).toEqual([5, 3, 2]);
  });

  it('keeps each transaction once when it comes from both the query and the stream', () => {
    const merged = mergeNewestFirst([transaction(2), transaction(1)], [transaction(2)], 10);
    expect(ids(merged)).toEqual([2, 1]);
  });

  it('lets a later copy replace an earlier one', () => {
    const merged = mergeNewestFirst([transaction(1)], [transaction(1, { descr: 'newer' })], 10);
    expect(merged[0]?.descr).toBe('newer');
  });

  it('drops an old transaction that arrives late when the list is full', () => {
    const full = [transaction(9), transaction(8)];
    expect(ids(mergeNewestFirst(full, [transaction(4)], 2))).toEqual([9, 8]);
  });

  it('returns nothing for a limit of zero', () => {
    expect(mergeNewestFirst([transaction(1)], [], 0)).toEqual([]);
  });
});

describe('balanceOf', () => {
  it('is the balance after the newest transaction', () => {
    expect(balanceOf([transaction(7), transaction(6)])).toBe('€ 7,00');
  });

  it('is zero for an account without transactions', () => {
    expect(balanceOf([])).toBe('€ 0,00');
  });
});

describe('signedAmount', () => {
  it('signs the amount by its direction', () => {
    expect(signedAmount(transaction(1, { direction: 'CREDIT', changed_by: '€ 2,50' }))).toBe(
      '+ € 2,50',
    );
    expect(signedAmount(transaction(1, { direction: 'DEBIT', changed_by: '€ 2,50' }))).toBe(
      '− € 2,50',
    );
    expect(signedAmount(transaction(1, { direction: null, changed_by: '€ 2,50' }))).toBe('€ 2,50');
  });
});

describe('formatTransactionTime', () => {
  const now = new Date(2026, 10, 30, 18, 0, 0);

  it('shows the clock for today and the date for other days, in local time', () => {
    expect(formatTransactionTime(new Date(2026, 10, 30, 8, 5, 7).toISOString(), now)).toBe(
      '08:05:07',
    );
    expect(formatTransactionTime(new Date(2026, 10, 29, 23, 59, 1).toISOString(), now)).toBe(
      '2026-11-29 23:59',
    );
  });

  it('shows nothing for a transaction from before times were kept', () => {
    expect(formatTransactionTime(null, now)).toBe('');
    expect(formatTransactionTime('not a time', now)).toBe('');
  });
});
