// Every GraphQL operation the app sends once logged in (and the public bank_figures), with the
// shape of its answer. Field names are the API's public contract (snake_case). None takes a
// password or an account token: the session that goes along with the request (api/client.ts)
// says who asks. Logging in and out is in sessionOperations.ts.

import { gql } from '@urql/core';
import type { AccountsPage } from '../accounts';
import type { BankFigures } from '../figures';
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

/** A transfer by the session's user; deposits come `from: "cash"`. */
export interface MoneyTransferVariables {
  uuid: string;
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
    $amount: Int!
    $from: String!
    $to: String!
    $descr: String!
  ) {
    money_transfer(uuid: $uuid, amount: $amount, from: $from, to: $to, descr: $descr) {
      uuid
      success
      reason
      ended
    }
  }
`;

/** What open_account and get_account answer: an account, or why not. */
export interface AccountResult {
  iban: string | null;
  reason: string | null;
}

// The account's token is not asked for: the session stands in for it, and the app keeps no keys.
export const OPEN_ACCOUNT = gql<{ open_account: AccountResult }, Record<string, never>>`
  mutation OpenAccount {
    open_account {
      iban
      reason
    }
  }
`;

export const MY_ACCOUNTS = gql<
  { my_accounts: { accounts: OwnedAccount[] | null; reason: string | null } },
  Record<string, never>
>`
  query MyAccounts {
    my_accounts {
      accounts {
        iban
        balance
        owners
      }
      reason
    }
  }
`;

/** What add_owner, remove_owner, set_alert, remove_alert, logout and change_password answer. */
export interface CommandResult {
  success: boolean;
  reason: string | null;
}

export const ADD_OWNER = gql<{ add_owner: CommandResult }, { iban: string; user_to_add: string }>`
  mutation AddOwner($iban: String!, $user_to_add: String!) {
    add_owner(iban: $iban, user_to_add: $user_to_add) {
      success
      reason
    }
  }
`;

export const REMOVE_OWNER = gql<{ remove_owner: CommandResult }, { iban: string }>`
  mutation RemoveOwner($iban: String!) {
    remove_owner(iban: $iban) {
      success
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

/** Employees only. */
export const OPERATIONS = gql<{ operations: Operations }, Record<string, never>>`
  query Operations {
    operations { ${OPERATIONS_FIELDS} }
  }
`;

export const ALERT_RULES = gql<{ alert_rules: AlertRule[] }, { iban: string }>`
  query AlertRules($iban: String!) {
    alert_rules(iban: $iban) {
      kind
      threshold
    }
  }
`;

export const SET_ALERT = gql<
  { set_alert: CommandResult | null },
  { iban: string; kind: AlertKind; threshold?: number }
>`
  mutation SetAlert($iban: String!, $kind: AlertKind!, $threshold: Int) {
    set_alert(iban: $iban, kind: $kind, threshold: $threshold) {
      success
      reason
    }
  }
`;

export const REMOVE_ALERT = gql<
  { remove_alert: CommandResult | null },
  { iban: string; kind: AlertKind }
>`
  mutation RemoveAlert($iban: String!, $kind: AlertKind!) {
    remove_alert(iban: $iban, kind: $kind) {
      success
      reason
    }
  }
`;

export const ALERTS = gql<{ alerts: Alert }, { iban: string }>`
  subscription Alerts($iban: String!) {
    alerts(iban: $iban) {
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

/** Public: how big the bank is, for the home view (never an account). */
export const BANK_FIGURES = gql<{ bank_figures: BankFigures }, Record<string, never>>`
  query BankFigures {
    bank_figures {
      accounts
      transactions
      transactions_last_minute
    }
  }
`;
