// The client's own accounts, as `my_accounts` lists them, with balances kept current from the
// live stream of each account's transactions.

import type { MyAccountsQuery } from './generated/graphql';
import { centsOfAmount, formatCents } from './money';
import type { Transaction } from './transactions';

/**
 * `balance` (booked) and `available_balance` (booked less the open `holds`) in Dutch euros, as
 * the API writes them; `owners` are usernames, the creator first.
 */
export type OwnedAccount = NonNullable<MyAccountsQuery['my_accounts']['accounts']>[number];

/** The newest streamed transaction of an account. */
export interface LiveBalance {
  id: number;
  balance: string;
}

export type LiveBalances = ReadonlyMap<string, LiveBalance>;

/**
 * Remembers the balance after `transaction` unless a newer one is known already (ids grow over
 * the whole bank). Kept apart from the loaded list because a my_accounts answer may have been read
 * before a transaction the stream already delivered: while the stream has no gap, its newest
 * transaction is the truth.
 */
export function withLiveTransaction(live: LiveBalances, transaction: Transaction): LiveBalances {
  const { iban, id, new_balance } = transaction;
  if (iban === null || new_balance === null) return live;
  const known = live.get(iban);
  if (known && known.id >= id) return live;
  return new Map(live).set(iban, { id, balance: new_balance });
}

/**
 * The loaded accounts with the balances the stream brought since. The stream tells only the
 * booked balance; the available one moves by as much (the open holds are as loaded).
 */
export function withLiveBalances(
  accounts: readonly OwnedAccount[],
  live: LiveBalances,
): OwnedAccount[] {
  return accounts.map((account) => {
    const streamed = live.get(account.iban);
    if (!streamed || streamed.balance === account.balance) return account;
    return {
      ...account,
      balance: streamed.balance,
      available_balance: movedAlong(account, streamed.balance),
    };
  });
}

/** The available balance of `account` moved by as much as its booked balance to `booked`. */
function movedAlong(account: OwnedAccount, booked: string): string {
  const from = centsOfAmount(account.balance);
  const to = centsOfAmount(booked);
  const available = centsOfAmount(account.available_balance);
  if (from === null || to === null || available === null) return account.available_balance;
  return formatCents(available + to - from);
}

/** The account to work with: the one asked for while the user still owns it, else the oldest. */
export function pickAccount(
  accounts: readonly OwnedAccount[],
  wanted: string | null,
): OwnedAccount | null {
  return accounts.find((account) => account.iban === wanted) ?? accounts[0] ?? null;
}

/** Everybody else who owns the account. */
export function coOwnersOf(account: OwnedAccount, username: string): string[] {
  return account.owners.filter((owner) => owner !== username);
}

/** The user's other accounts, where money can go in one step. */
export function otherAccounts(accounts: readonly OwnedAccount[], iban: string): OwnedAccount[] {
  return accounts.filter((account) => account.iban !== iban);
}

/** What a list must show once the projection has caught up with the user's own change. */
export type Expectation = (accounts: readonly OwnedAccount[]) => boolean;

export const lists =
  (iban: string): Expectation =>
  (accounts) =>
    accounts.some((account) => account.iban === iban);

export const listsOwner =
  (iban: string, username: string): Expectation =>
  (accounts) =>
    accounts.some((account) => account.iban === iban && account.owners.includes(username));

export const doesNotList =
  (iban: string): Expectation =>
  (accounts) =>
    !lists(iban)(accounts);
