// Every GraphQL operation the app sends once logged in (and the public bank_figures). Field names
// are the API's public contract (snake_case). The types of their answers and variables are
// generated from the endpoint's schema (`npm run codegen`, into src/generated/), found through
// `graphql()` by each document's text. None takes a password or an account token: the session
// that goes along with the request (api/client.ts) says who asks. Logging in and out is in
// sessionOperations.ts.

import { graphql } from '../generated';

/** Every field of a transaction, as lists and streams show them. */
export const TRANSACTION_FRAGMENT = graphql(`
  fragment TransactionFields on Transaction {
    id
    iban
    new_balance
    changed_by
    from_to
    descr
    direction
    at
  }
`);

export const TRANSACTIONS_BY_IBAN = graphql(`
  query TransactionsByIban($iban: String!, $max_items: Int!) {
    transactions_by_iban(iban: $iban, max_items: $max_items) {
      ...TransactionFields
    }
  }
`);

export const ALL_ACCOUNTS = graphql(`
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
`);

export const STREAM_TRANSACTIONS = graphql(`
  subscription StreamTransactions($iban: String) {
    stream_transactions(iban: $iban) {
      ...TransactionFields
    }
  }
`);

/** A transfer by the session's user; deposits come `from: "cash"`. */
export const MONEY_TRANSFER = graphql(`
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
`);

// The account's token is not asked for: the session stands in for it, and the app keeps no keys.
export const OPEN_ACCOUNT = graphql(`
  mutation OpenAccount {
    open_account {
      iban
      reason
    }
  }
`);

/**
 * Each account with its booked and available balance, its open holds and its standing orders under
 * way, both oldest first.
 */
export const MY_ACCOUNTS = graphql(`
  query MyAccounts {
    my_accounts {
      accounts {
        iban
        balance
        available_balance
        owners
        holds {
          uuid
          to
          amount
          amount_cents
          descr
          expires_at
        }
        standing_orders {
          uuid
          to
          amount
          amount_cents
          descr
          schedule
          first_run
          runs
          runs_done
          next_run
        }
        failed_standing_order_runs {
          order_uuid
          transfer_uuid
          to
          amount
          descr
          reason
          at
        }
      }
      reason
    }
  }
`);

/** Reserves money on the session user's account `from` for a later transfer to `to`. */
export const HOLD_MONEY = graphql(`
  mutation HoldMoney(
    $uuid: String!
    $amount: Int!
    $from: String!
    $to: String!
    $descr: String!
    $expires_in_seconds: Int!
  ) {
    hold_money(
      uuid: $uuid
      amount: $amount
      from: $from
      to: $to
      descr: $descr
      expires_in_seconds: $expires_in_seconds
    ) {
      success
      reason
    }
  }
`);

/** Books `amount` (at most what is held) to the hold's payee; answers once that transfer ended. */
export const CAPTURE_HOLD = graphql(`
  mutation CaptureHold($uuid: String!, $iban: String!, $amount: Int!) {
    capture_hold(uuid: $uuid, iban: $iban, amount: $amount) {
      uuid
      success
      reason
      ended
    }
  }
`);

export const VOID_HOLD = graphql(`
  mutation VoidHold($uuid: String!, $iban: String!) {
    void_hold(uuid: $uuid, iban: $iban) {
      success
      reason
    }
  }
`);

/**
 * Pays `amount` cents from the session user's account `from` to `to` on `schedule`, the first
 * time at `first_run` (RFC 3339), at most `runs` times (left out: until cancelled).
 */
export const SET_STANDING_ORDER = graphql(`
  mutation SetStandingOrder(
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
`);

/** Ends a standing order: no run after this. */
export const CANCEL_STANDING_ORDER = graphql(`
  mutation CancelStandingOrder($uuid: String!, $iban: String!) {
    cancel_standing_order(uuid: $uuid, iban: $iban) {
      success
      reason
    }
  }
`);

export const ADD_OWNER = graphql(`
  mutation AddOwner($iban: String!, $user_to_add: String!) {
    add_owner(iban: $iban, user_to_add: $user_to_add) {
      success
      reason
    }
  }
`);

export const REMOVE_OWNER = graphql(`
  mutation RemoveOwner($iban: String!) {
    remove_owner(iban: $iban) {
      success
      reason
    }
  }
`);

/** Employees only. */
export const OPERATIONS = graphql(`
  query Operations {
    operations {
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
    }
  }
`);

export const ALERT_RULES = graphql(`
  query AlertRules($iban: String!) {
    alert_rules(iban: $iban) {
      kind
      threshold
    }
  }
`);

export const SET_ALERT = graphql(`
  mutation SetAlert($iban: String!, $kind: AlertKind!, $threshold: Int) {
    set_alert(iban: $iban, kind: $kind, threshold: $threshold) {
      success
      reason
    }
  }
`);

export const REMOVE_ALERT = graphql(`
  mutation RemoveAlert($iban: String!, $kind: AlertKind!) {
    remove_alert(iban: $iban, kind: $kind) {
      success
      reason
    }
  }
`);

export const ALERTS = graphql(`
  subscription Alerts($iban: String!) {
    alerts(iban: $iban) {
      kind
      iban
      message
      transaction_id
      transfer_id
      at
    }
  }
`);

export const BALANCE_HISTORY = graphql(`
  query BalanceHistory($iban: String!, $from: String!, $to: String!, $points: Int!) {
    balance_history(iban: $iban, from: $from, to: $to, points: $points) {
      at
      balance
      balance_cents
    }
  }
`);

export const ACCOUNT_AT = graphql(`
  query AccountAt($iban: String!, $at: String!, $max_items: Int!) {
    account_at(iban: $iban, at: $at) {
      iban
      at
      balance
      transactions(max_items: $max_items) {
        ...TransactionFields
      }
    }
  }
`);

/** Public: how big the bank is, for the home view (never an account). */
export const BANK_FIGURES = graphql(`
  query BankFigures {
    bank_figures {
      accounts
      transactions
      transactions_last_minute
    }
  }
`);

/** An account's statement for a period, as the page shows it. */
export const STATEMENT = graphql(`
  query Statement($iban: String!, $from: String!, $to: String!) {
    statement(iban: $iban, from: $from, to: $to) {
      iban
      from
      to
      opening_balance
      closing_balance
      credits
      debits
      transaction_count
      transactions(max_items: 1000) {
        ...TransactionFields
      }
    }
  }
`);
