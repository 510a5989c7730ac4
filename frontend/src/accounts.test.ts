import { describe, expect, it } from 'vitest';
import { filterByIban, mergeNewestPerIban, paginate } from './accounts';
import { transaction } from './testing';

const A = 'NL02OPEN0000000001';
const B = 'NL43OPEN0000000002';
const C = 'NL84OPEN0000000003';

describe('mergeNewestPerIban', () => {
  it('keeps one row per IBAN, the newest, sorted by IBAN', () => {
    const merged = mergeNewestPerIban(
      [transaction(5, { iban: C }), transaction(2, { iban: A })],
      [transaction(7, { iban: A }), transaction(3, { iban: B })],
    );
    expect(merged.map((row) => [row.iban, row.id])).toEqual([
      [A, 7],
      [B, 3],
      [C, 5],
    ]);
  });

  it('ignores a transaction older than the row it would replace', () => {
    const merged = mergeNewestPerIban([transaction(9, { iban: A })], [transaction(4, { iban: A })]);
    expect(merged.map((row) => row.id)).toEqual([9]);
  });
});

describe('filterByIban', () => {
  const rows = [transaction(1, { iban: A }), transaction(2, { iban: B })];

  it('matches part of an IBAN, ignoring case and spaces', () => {
    expect(filterByIban(rows, 'nl43 open').map((row) => row.iban)).toEqual([B]);
    expect(filterByIban(rows, '0001').map((row) => row.iban)).toEqual([A]);
  });

  it('keeps everything for an empty filter', () => {
    expect(filterByIban(rows, '  ')).toHaveLength(2);
  });
});

describe('paginate', () => {
  const items = Array.from({ length: 23 }, (_, i) => i + 1);

  it('cuts pages and says which items they hold', () => {
    const second = paginate(items, 2, 10);
    expect(second).toMatchObject({ page: 2, pageCount: 3, first: 11, last: 20, total: 23 });
    expect(second.items).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(paginate(items, 3, 10).items).toEqual([21, 22, 23]);
  });

  it('clamps a page that no longer exists, as after filtering', () => {
    expect(paginate(items, 9, 10).page).toBe(3);
    expect(paginate(items, 0, 10).page).toBe(1);
  });

  it('has one empty page when there is nothing', () => {
    expect(paginate([], 1, 10)).toMatchObject({
      items: [],
      page: 1,
      pageCount: 1,
      first: 0,
      last: 0,
    });
  });
});
