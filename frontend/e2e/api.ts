// Requests straight to the GraphQL endpoint from the test (Node, not the browser): to set up
// users and money the browser then shows, and to check what the endpoint accepts. Everything a
// customer does goes with a session (`Authorization: Bearer …`), as the app does it.

import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';

export const GRAPHQL = process.env.OPEN_BANK_GRAPHQL_URL ?? 'http://127.0.0.1:8888/graphql';

export interface User {
  username: string;
  password: string;
}

export interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One request to the endpoint, with the session `token` when given. */
export async function graphql<T>(
  query: string,
  variables: Record<string, unknown> = {},
  token: string | null = null,
): Promise<GraphQLAnswer<T>> {
  const response = await fetch(GRAPHQL, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLAnswer<T>;
}

/** The code of the first error, as the endpoint refuses: UNAUTHENTICATED, FORBIDDEN, … */
export function errorCode(answer: GraphQLAnswer<unknown>): string | undefined {
  return answer.errors?.[0]?.extensions?.code;
}

/** Signs a user up (get_account: the first use of a username); the first account's IBAN. */
export async function signUp(user: User): Promise<string> {
  const answer = await graphql<{ get_account: { iban: string | null; reason: string | null } }>(
    'mutation ($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban reason } }',
    { u: user.username, p: user.password },
  );
  const iban = answer.data?.get_account.iban;
  expect(iban, JSON.stringify(answer)).toBeTruthy();
  return iban ?? '';
}

/** A customer session for `user` (in a request of its own: one password check per request). */
export async function logIn(user: User): Promise<string> {
  const answer = await graphql<{ login: { token: string | null; reason: string | null } }>(
    'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { token expires_at reason } }',
    { u: user.username, p: user.password },
  );
  const token = answer.data?.login.token;
  expect(token, JSON.stringify(answer)).toBeTruthy();
  return token ?? '';
}

/** A new user with a first account, logged in: its IBAN and the session. */
export async function newCustomer(user: User): Promise<{ iban: string; session: string }> {
  const iban = await signUp(user);
  return { iban, session: await logIn(user) };
}

type TransferAnswer = { money_transfer: { success: boolean; reason: string | null } };

/** Moves money as the session's user (`from: 'cash'` deposits); the endpoint's answer. */
export async function moneyTransfer(
  session: string,
  from: string,
  to: string,
  cents: number,
  descr: string,
): Promise<TransferAnswer['money_transfer'] | undefined> {
  const answer = await graphql<TransferAnswer>(
    `
      mutation ($uuid: String!, $amount: Int!, $from: String!, $to: String!, $descr: String!) {
        money_transfer(uuid: $uuid, amount: $amount, from: $from, to: $to, descr: $descr) {
          success
          reason
        }
      }
    `,
    { uuid: randomUUID(), amount: cents, from, to, descr },
    session,
  );
  expect(answer.errors, JSON.stringify(answer)).toBeUndefined();
  return answer.data?.money_transfer;
}

/** Moves money; fails the test when refused. */
export async function transferByApi(
  session: string,
  from: string,
  to: string,
  cents: number,
  descr: string,
): Promise<void> {
  const answer = await moneyTransfer(session, from, to, cents, descr);
  expect(answer?.success, JSON.stringify(answer)).toBe(true);
}

/**
 * Holds money as the session's user on `from` for `to`, released unless captured within
 * `expiresInSeconds`; the hold's uuid. Fails the test when refused.
 */
export async function holdByApi(
  session: string,
  from: string,
  to: string,
  cents: number,
  descr: string,
  expiresInSeconds: number,
): Promise<string> {
  const uuid = randomUUID();
  const answer = await graphql<{ hold_money: { success: boolean; reason: string | null } }>(
    `
      mutation (
        $uuid: String!
        $amount: Int!
        $from: String!
        $to: String!
        $descr: String!
        $expires: Int!
      ) {
        hold_money(
          uuid: $uuid
          amount: $amount
          from: $from
          to: $to
          descr: $descr
          expires_in_seconds: $expires
        ) {
          success
          reason
        }
      }
    `,
    { uuid, amount: cents, from, to, descr, expires: expiresInSeconds },
    session,
  );
  expect(answer.data?.hold_money.success, JSON.stringify(answer)).toBe(true);
  return uuid;
}

/**
 * Sets a standing order as the session's user: `cents` from `from` to `to` on `schedule`, the
 * first time at `firstRun`, at most `runs` times (left out: until cancelled); the order's uuid.
 * Fails the test when refused.
 */
export async function standingOrderByApi(
  session: string,
  from: string,
  to: string,
  cents: number,
  descr: string,
  schedule: 'ONCE' | 'WEEKLY' | 'MONTHLY',
  firstRun: Date,
  runs?: number,
): Promise<string> {
  const uuid = randomUUID();
  const answer = await graphql<{
    set_standing_order: { success: boolean; reason: string | null };
  }>(
    `
      mutation (
        $uuid: String!
        $amount: Int!
        $from: String!
        $to: String!
        $descr: String!
        $schedule: Schedule!
        $first_run: String!
        $runs: Int
      ) {
        set_standing_order(
          uuid: $uuid
          amount: $amount
          from: $from
          to: $to
          descr: $descr
          schedule: $schedule
          first_run: $first_run
          runs: $runs
        ) {
          success
          reason
        }
      }
    `,
    { uuid, amount: cents, from, to, descr, schedule, first_run: firstRun.toISOString(), runs },
    session,
  );
  expect(answer.data?.set_standing_order.success, JSON.stringify(answer)).toBe(true);
  return uuid;
}

export interface AccountMoney {
  balance: string;
  available_balance: string;
  holds: { uuid: string; amount_cents: number }[];
  standing_orders: { uuid: string; runs_done: number }[];
}

/**
 * The booked and available balance, the open holds and the standing orders under way of one of
 * the session user's accounts.
 */
export async function moneyOf(session: string, iban: string): Promise<AccountMoney | undefined> {
  const answer = await graphql<{
    my_accounts: { accounts: (AccountMoney & { iban: string })[] | null };
  }>(
    `
      {
        my_accounts {
          accounts {
            iban
            balance
            available_balance
            holds {
              uuid
              amount_cents
            }
            standing_orders {
              uuid
              runs_done
            }
          }
        }
      }
    `,
    {},
    session,
  );
  expect(answer.errors, JSON.stringify(answer)).toBeUndefined();
  return answer.data?.my_accounts.accounts?.find((account) => account.iban === iban);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Deposits of 1 cent from cash every 100–200 ms for `durationMs` into a new user's account, one at
 * a time; how many succeeded.
 */
export async function depositLoad(user: User, durationMs: number): Promise<number> {
  const { iban, session } = await newCustomer(user);
  const until = Date.now() + durationMs;
  let succeeded = 0;
  while (Date.now() < until) {
    if ((await moneyTransfer(session, 'cash', iban, 1, 'load'))?.success) succeeded++;
    await sleep(100 + Math.random() * 100);
  }
  return succeeded;
}

export interface ListedAccount {
  iban: string;
  token: string;
  owners: string[];
}

/** The session user's accounts as my_accounts answers them, each with the user's own token. */
export async function myAccounts(session: string): Promise<ListedAccount[]> {
  const answer = await graphql<{ my_accounts: { accounts: ListedAccount[] | null } }>(
    '{ my_accounts { accounts { iban token owners } reason } }',
    {},
    session,
  );
  const accounts = answer.data?.my_accounts.accounts;
  expect(accounts, JSON.stringify(answer)).toBeTruthy();
  return accounts ?? [];
}

/** Ends a session at the endpoint, as a logout elsewhere would. */
export async function logOut(session: string): Promise<void> {
  const answer = await graphql<{ logout: { success: boolean } }>(
    'mutation { logout { success reason } }',
    {},
    session,
  );
  expect(answer.data?.logout.success, JSON.stringify(answer)).toBe(true);
}
