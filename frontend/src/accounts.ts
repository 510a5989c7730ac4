// The employee's list of accounts: one page of `all_accounts` at a time, sorted by IBAN, with
// balances kept current from the live stream of transactions.

import type { AllAccountsQuery } from './generated/graphql';
import type { Transaction } from './transactions';

/** `total`: how many accounts match the search, over all pages. */
export type AccountsPage = AllAccountsQuery['all_accounts'];

/** `balance` in Dutch euros, as the API writes them; `owners` are usernames, the creator first. */
export type BankAccount = AccountsPage['accounts'][number];

export const EMPTY_PAGE: AccountsPage = { total: 0, offset: 0, accounts: [] };

/** The page with the balance after `transaction`, if its account is on the page. */
export function withTransaction(page: AccountsPage, transaction: Transaction): AccountsPage {
  const { iban, new_balance } = transaction;
  if (new_balance === null || !page.accounts.some((account) => account.iban === iban)) return page;
  return {
    ...page,
    accounts: page.accounts.map((account) =>
      account.iban === iban ? { ...account, balance: new_balance } : account,
    ),
  };
}

export interface PagePosition {
  /** 1-based. */
  page: number;
  pageCount: number;
  /** 1-based position of the first and last account shown; 0 and 0 when there are none. */
  first: number;
  last: number;
}

export function positionOf(page: AccountsPage, pageSize: number): PagePosition {
  const size = Math.max(1, Math.floor(pageSize));
  const shown = page.accounts.length;
  return {
    page: Math.floor(page.offset / size) + 1,
    pageCount: Math.max(1, Math.ceil(page.total / size)),
    first: shown > 0 ? page.offset + 1 : 0,
    last: page.offset + shown,
  };
}

/** The offset of a 1-based page; pages before the first are the first. */
export function offsetOf(page: number, pageSize: number): number {
  return (Math.max(1, Math.floor(page)) - 1) * Math.max(1, Math.floor(pageSize));
}
