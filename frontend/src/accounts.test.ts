import { describe, expect, it } from 'vitest';
import { offsetOf, positionOf, withTransaction, type AccountsPage } from './accounts';
import { transaction } from './testing';

const A = 'NL02OPEN0000000001';
const B = 'NL43OPEN0000000002';

const page: AccountsPage = {
  total: 23,
  offset: 10,
  accounts: [
    { iban: A, balance: '€ 0,00', owners: ['alice-demo'] },
    { iban: B, balance: '€ 5,00', owners: ['bob-demo'] },
  ],
};

describe('withTransaction', () => {
  it('shows the balance after a transaction of an account on the page', () => {
    const next = withTransaction(page, transaction(9, { iban: B, new_balance: '€ 7,50' }));
    expect(next.accounts.map((account) => account.balance)).toEqual(['€ 0,00', '€ 7,50']);
    expect(page.accounts[1]?.balance).toBe('€ 5,00');
  });

  it('leaves the page alone for an account elsewhere', () => {
    const other = transaction(9, { iban: 'NL84OPEN0000000003' });
    expect(withTransaction(page, other)).toBe(page);
  });
});

describe('positionOf', () => {
  it('says which page and which accounts are shown', () => {
    expect(positionOf({ ...page, accounts: Array(10).fill(page.accounts[0]) }, 10)).toEqual({
      page: 2,
      pageCount: 3,
      first: 11,
      last: 20,
    });
    expect(positionOf({ ...page, offset: 20, accounts: page.accounts }, 10)).toMatchObject({
      page: 3,
      first: 21,
      last: 22,
    });
  });

  it('has one empty page when nothing matches', () => {
    expect(positionOf({ total: 0, offset: 0, accounts: [] }, 10)).toEqual({
      page: 1,
      pageCount: 1,
      first: 0,
      last: 0,
    });
  });
});

describe('offsetOf', () => {
  it('turns pages into offsets', () => {
    expect(offsetOf(1, 10)).toBe(0);
    expect(offsetOf(3, 10)).toBe(20);
    expect(offsetOf(0, 10)).toBe(0);
  });
});
