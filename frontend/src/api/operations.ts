// Every GraphQL operation the app sends, with the shape of its answer. Field names are the
// API's public contract (snake_case).

import { gql } from '@urql/core';
import type { AccountsPage } from '../accounts';
import type { Alert, AlertKind, AlertRule } from '../alerts';
import type { AccountAt, BalancePoint } from '../history';
import type { Operations } from '../operations';
import type { OwnedAccount } from '../ownedAccounts';
import type { Transaction } from '../transactions';

const TRANSACTION_FIELDS = `
  id
  iban
  new_balance
  changed_by
  from_to
  descr
  direction
  at
`;

export const TRANSACTIONS_BY_IBAN = gql<
  { transactions_by_iban: Transaction[] },
  { iban: string; max_items: number }
>`
  query TransactionsByIban($iban: String!, $max_items: Int!) {
    transactions_by_iban(iban: $iban, max_items: $max_items) { ${TRANSACTION_FIELDS} }
  }
`;

export const ALL_ACCOUNTS = gql<
  { all_accounts: AccountsPage },
  { offset: number; max_items: number; search: string | null }
>`
  query AllAccounts($offset: Int!, $max_items: Int!, $search: String) {
    all_accounts(offset: $offset, max_items: $max_items, search: $search) {
      total
      offset
      accounts {
        iban
        balance
        owners
      }
    }
  }
`;

export const STREAM_TRANSACTIONS = gql<
  { stream_transactions: Transaction },
  { iban?: string | null }
>`
  subscription StreamTransactions($iban: String) {
    stream_transactions(iban: $iban) { ${TRANSACTION_FIELDS} }
  }
`;

export const GET_ACCOUNT = gql<
  { get_account: AccountResult },
  { username: string; password: string }
>`
  mutation GetAccount($username: String!, $password: String!) {
    get_account(username: $username, password: $password) {
      iban
      token
      reason
    }
  }
`;

export interface MoneyTransferVariables {
  uuid: string;
  username: string;
  token: string;
  amount: number;
  from: string;
  to: string;
  descr: string;
}

export const MONEY_TRANSFER = gql<
  { money_transfer: { uuid: string; success: boolean; reason: string | null; ended: boolean } },
  MoneyTransferVariables
>`
  mutation MoneyTransfer(
    $uuid: String!
    $username: String!
    $token: String!
    $amount: Int!
    $from: String!
    $to: String!
    $descr: String!
  ) {
    money_transfer(
      uuid: $uuid
      username: $username
      token: $token
      amount: $amount
      from: $from
      to: $to
      descr: $descr
    ) {
      uuid
      success
      reason
    }
  }
`;

/** What open_account and get_account answer: an account and the user's token, or why not. */
export interface AccountResult {
  iban: string | null;
  token: string | null;
  reason: string | null;
}

export const OPEN_ACCOUNT = gql<
  { open_account: AccountResult },
  { username: string; password: string }
>`
  mutation OpenAccount($username: String!, $password: String!) {
    open_account(username: $username, password: $password) {
      iban
      token
      reason
    }
  }
`;

export const MY_ACCOUNTS = gql<
  { my_accounts: { accounts: OwnedAccount[] | null; reason: string | null } },
  { username: string; password: string }
>`
  query MyAccounts($username: String!, $password: String!) {
    my_accounts(username: $username, password: $password) {
      accounts {
        iban
        token
        balance
        owners
      }
      reason
    }
  }
`;

/** What add_owner and remove_owner answer. */
export interface CommandResult {
  success: boolean;
  reason: string | null;
}

export const ADD_OWNER = gql<
  { add_owner: CommandResult },
  { iban: string; username: string; token: string; user_to_add: string }
>`
  mutation AddOwner($iban: String!, $username: String!, $token: String!, $user_to_add: String!) {
    add_owner(iban: $iban, username: $username, token: $token, user_to_add: $user_to_add) {
      success
      reason
    }
  }
`;

export const REMOVE_OWNER = gql<
  { remove_owner: CommandResult },
  { iban: string; username: string; token: string }
>`
  mutation RemoveOwner($iban: String!, $username: String!, $token: String!) {
    remove_owner(iban: $iban, username: $username, token: $token) {
      success
      reason
    }
  }
`;

export const EMPLOYEE_LOGIN = gql<
  {
    employee_login: {
      token: string | null;
      expires_at: string | null;
      reason: string | null;
    };
  },
  { username: string; password: string }
>`
  mutation EmployeeLogin($username: String!, $password: String!) {
    employee_login(username: $username, password: $password) {
      token
      expires_at
      reason
    }
  }
`;

const OPERATIONS_FIELDS = `
  at
  transfers_per_second
  transfer_latency {
    start
    transfers
    p50_ms
    p95_ms
    p99_ms
  }
  services {
    name
    url
    healthy
    status
    consumer_lag
  }
  recent_commands {
    at
    command
    outcome
    reason
    trace_id
  }
`;

/** Employees only: sent with `Authorization: Bearer <employee session token>`. */
export const OPERATIONS = gql<{ operations: Operations }, Record<string, never>>`
  query Operations {
    operations { ${OPERATIONS_FIELDS} }
  }
`;

/** An account and the user's key to it, as alert_rules, set_alert, remove_alert and alerts take them. */
export interface AccountKeyVariables {
  iban: string;
  username: string;
  token: string;
}

export const ALERT_RULES = gql<{ alert_rules: AlertRule[] }, AccountKeyVariables>`
  query AlertRules($iban: String!, $username: String!, $token: String!) {
    alert_rules(iban: $iban, username: $username, token: $token) {
      kind
      threshold
    }
  }
`;

export const SET_ALERT = gql<
  { set_alert: CommandResult | null },
  AccountKeyVariables & { kind: AlertKind; threshold?: number }
>`
  mutation SetAlert(
    $iban: String!
    $username: String!
    $token: String!
    $kind: AlertKind!
    $threshold: Int
  ) {
    set_alert(iban: $iban, username: $username, token: $token, kind: $kind, threshold: $threshold) {
      success
      reason
    }
  }
`;

export const REMOVE_ALERT = gql<
  { remove_alert: CommandResult | null },
  AccountKeyVariables & { kind: AlertKind }
>`
  mutation RemoveAlert($iban: String!, $username: String!, $token: String!, $kind: AlertKind!) {
    remove_alert(iban: $iban, username: $username, token: $token, kind: $kind) {
      success
      reason
    }
  }
`;

export const ALERTS = gql<{ alerts: Alert }, AccountKeyVariables>`
  subscription Alerts($iban: String!, $username: String!, $token: String!) {
    alerts(iban: $iban, username: $username, token: $token) {
      kind
      iban
      message
      transaction_id
      at
    }
  }
`;

export const BALANCE_HISTORY = gql<
  { balance_history: BalancePoint[] },
  { iban: string; from: string; to: string; points: number }
>`
  query BalanceHistory($iban: String!, $from: String!, $to: String!, $points: Int!) {
    balance_history(iban: $iban, from: $from, to: $to, points: $points) {
      at
      balance
      balance_cents
    }
  }
`;

export const ACCOUNT_AT = gql<
  { account_at: AccountAt | null },
  { iban: string; at: string; max_items: number }
>`
  query AccountAt($iban: String!, $at: String!, $max_items: Int!) {
    account_at(iban: $iban, at: $at) {
      iban
      at
      balance
      transactions(max_items: $max_items) { ${TRANSACTION_FIELDS} }
    }
  }
`;
