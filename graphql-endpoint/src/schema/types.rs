//! The GraphQL object types. Field names are the public contract (SPEC §6): snake_case.

use async_graphql::{Enum, SimpleObject};
use topology::values::format_euro;
use topology::TransactionHappenedEvent;

use crate::reads;

/// Whether money left (DEBIT) or came into (CREDIT) the account.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "dtype")]
pub enum Direction {
    #[graphql(name = "DEBIT")]
    Debit,
    #[graphql(name = "CREDIT")]
    Credit,
}

/// One change of an account's balance; amounts as Dutch euro strings (`€ 1.234,56`).
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct Transaction {
    pub id: i32,
    pub iban: Option<String>,
    /// The balance right after this transaction.
    pub new_balance: Option<String>,
    /// The amount, without sign: `direction` tells which way.
    pub changed_by: Option<String>,
    /// The counterparty: an IBAN, or `cash`.
    pub from_to: Option<String>,
    pub descr: Option<String>,
    pub direction: Option<Direction>,
    /// When its money event was written: RFC 3339 in UTC. Null for transactions derived
    /// before the bank kept their time.
    pub at: Option<String>,
    /// The amount in cents, without sign, for the subscription's amount filters.
    #[graphql(skip)]
    pub amount_cents: i64,
}

impl Transaction {
    fn new(
        id: i32,
        iban: &str,
        new_balance: i64,
        changed_by: i64,
        from_to: &str,
        description: &str,
        at_millis: Option<i64>,
    ) -> Self {
        let direction = if changed_by < 0 {
            Direction::Debit
        } else {
            Direction::Credit
        };
        // format_euro puts the sign right after `€ `; the direction carries it instead.
        let unsigned = format_euro(changed_by).replacen('-', "", 1);
        Self {
            id,
            iban: Some(iban.to_string()),
            new_balance: Some(format_euro(new_balance)),
            changed_by: Some(unsigned),
            from_to: Some(from_to.to_string()),
            descr: Some(description.to_string()),
            direction: Some(direction),
            at: at_millis.map(crate::instants::format),
            amount_cents: changed_by.checked_abs().unwrap_or(i64::MAX),
        }
    }

    pub fn from_event(event: &TransactionHappenedEvent) -> Self {
        Self::new(
            event.transaction_id,
            &event.iban,
            event.new_balance,
            event.changed_by,
            &event.from_to,
            &event.description,
            event.at_millis,
        )
    }

    pub fn from_read(read: &reads::Transaction) -> Self {
        Self::new(
            read.id,
            &read.iban,
            read.new_balance,
            read.changed_by,
            &read.from_to,
            &read.description,
            read.at_millis,
        )
    }
}

/// The answer of `get_account`: `iban` + `token`, or a `reason`.
#[derive(SimpleObject, Debug, Clone, Default, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct AccountResult {
    pub iban: Option<String>,
    pub token: Option<String>,
    pub reason: Option<String>,
}

/// The answer of `my_accounts`: the accounts, or the `reason` there are none to show.
#[derive(SimpleObject, Debug, Clone, Default, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct MyAccountsResult {
    /// Every account the user owns, oldest first; null when `reason` is set.
    pub accounts: Option<Vec<OwnedAccount>>,
    /// `invalid password` or `username does not exist`.
    pub reason: Option<String>,
}

/// An account as one of its owners sees it.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct OwnedAccount {
    pub iban: String,
    /// This user's own token for the account (each owner has their own); null for an owner
    /// from before the bank kept only the tokens' hashes, whose token it cannot show any more
    /// (it still works, and a session needs none).
    pub token: Option<String>,
    /// The booked balance, Dutch euros: `€ 1.234,56`.
    pub balance: String,
    /// The booked balance less the open holds: what may still be spent or held.
    pub available_balance: String,
    /// Every owner's username, in the order they became owners.
    pub owners: Vec<String>,
    /// Open holds, oldest first.
    pub holds: Vec<Hold>,
    /// Standing orders under way, oldest first.
    pub standing_orders: Vec<StandingOrder>,
    /// The latest runs of standing orders that failed (at most 10, newest first): such a run
    /// is not tried again, the order goes on with its next one.
    pub failed_standing_order_runs: Vec<FailedStandingOrderRun>,
}

/// A run of a standing order that failed.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct FailedStandingOrderRun {
    /// The order's uuid.
    pub order_uuid: String,
    /// The run's transfer: transfer_status answers it too.
    pub transfer_uuid: String,
    pub to: String,
    /// Dutch euros: `€ 650,00`.
    pub amount: String,
    pub descr: String,
    /// Why it failed, in the bank's words (e.g. `insufficient funds would be below the limit
    /// of € -500,00`).
    pub reason: String,
    /// When it failed: RFC 3339 in UTC.
    pub at: Option<String>,
}

/// A standing order under way.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct StandingOrder {
    /// The order's uuid: cancel_standing_order takes it.
    pub uuid: String,
    pub to: String,
    /// Dutch euros: `€ 650,00`.
    pub amount: String,
    pub amount_cents: i64,
    pub descr: String,
    /// `once`, `weekly` or `monthly`.
    pub schedule: String,
    /// When the first run was or is due: RFC 3339 in UTC.
    pub first_run: String,
    /// How many runs at most; null: until cancelled.
    pub runs: Option<i32>,
    /// How many runs have been made.
    pub runs_done: i64,
    /// When the next run is due: RFC 3339 in UTC (null when none is left; the order is then
    /// about to end).
    pub next_run: Option<String>,
}

/// Money held on an account for a later transfer, until captured, voided or expired.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct Hold {
    /// The hold's uuid: capture_hold and void_hold take it, and its capture is the transfer of
    /// this uuid.
    pub uuid: String,
    /// The payee a capture books to.
    pub to: String,
    /// Dutch euros: `€ 12,50`.
    pub amount: String,
    /// The same in cents, as capture_hold takes it.
    pub amount_cents: i64,
    pub descr: String,
    /// When the command handler releases it if not captured: RFC 3339 in UTC.
    pub expires_at: String,
}

impl From<crate::accounts::OwnedAccount> for OwnedAccount {
    fn from(account: crate::accounts::OwnedAccount) -> Self {
        Self {
            iban: account.iban,
            token: account.token,
            balance: format_euro(account.balance),
            available_balance: format_euro(account.available),
            owners: account.owners,
            holds: account
                .holds
                .into_iter()
                .map(|hold| Hold {
                    uuid: hold.id,
                    to: hold.to,
                    amount: format_euro(hold.amount),
                    amount_cents: hold.amount,
                    descr: hold.description,
                    expires_at: crate::instants::format(hold.expires_at),
                })
                .collect(),
            standing_orders: account
                .standing_orders
                .into_iter()
                .map(|order| StandingOrder {
                    uuid: order.id,
                    to: order.to,
                    amount: format_euro(order.amount),
                    amount_cents: order.amount,
                    descr: order.description,
                    schedule: order.schedule,
                    first_run: crate::instants::format(order.first_at),
                    runs: order.runs,
                    runs_done: i64::from(order.next_run),
                    next_run: order.next_at.map(crate::instants::format),
                })
                .collect(),
            failed_standing_order_runs: account
                .failed_runs
                .into_iter()
                .map(|run| FailedStandingOrderRun {
                    order_uuid: run.order,
                    transfer_uuid: run.transfer,
                    to: run.to,
                    amount: format_euro(run.amount),
                    descr: run.description,
                    reason: run.reason,
                    at: run.at_millis.map(crate::instants::format),
                })
                .collect(),
        }
    }
}

/// The answer of a command that returns nothing else: `success`, or the `reason` it was
/// refused.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct CommandResult {
    pub success: bool,
    pub reason: Option<String>,
}

impl From<crate::owners::CommandOutcome> for CommandResult {
    fn from(outcome: crate::owners::CommandOutcome) -> Self {
        Self {
            success: outcome.success,
            reason: outcome.reason,
        }
    }
}

/// The answer of `employee_login`: a session `token` and when it ends, or a `reason`.
#[derive(SimpleObject, Debug, Clone, Default, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct EmployeeSession {
    /// Send it as `Authorization: Bearer <token>` (over WebSocket: in the `connection_init`
    /// payload under `Authorization`).
    pub token: Option<String>,
    /// When this token ends, RFC 3339 UTC: `refresh_session` before it, or log in again.
    pub expires_at: Option<String>,
    pub reason: Option<String>,
}

/// The answer of `login` and `refresh_session`: a session `token` and when it ends, or a
/// `reason`.
#[derive(SimpleObject, Debug, Clone, Default, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct Session {
    /// Send it as `Authorization: Bearer <token>` (over WebSocket: in the `connection_init`
    /// payload under `Authorization`). Keep it in memory only.
    pub token: Option<String>,
    /// When this token ends (idle), RFC 3339 UTC: `refresh_session` before it. A session ends
    /// for good 12 hours after the login (by default), refreshed or not.
    pub expires_at: Option<String>,
    /// `invalid username or password`, `too many attempts, try again in N s`, …
    pub reason: Option<String>,
}

impl Session {
    pub fn refused(reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Self::default()
        }
    }
}

impl From<crate::sessions::Session> for Session {
    fn from(session: crate::sessions::Session) -> Self {
        Self {
            token: Some(session.token),
            expires_at: Some(session.expires_at),
            reason: None,
        }
    }
}

/// Figures of the whole bank, with no account in them: what anyone may see.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct BankFigures {
    /// Accounts opened so far.
    pub accounts: i32,
    /// Transactions (money in or out of an account) so far.
    pub transactions: i32,
    /// Transactions in the last 60 seconds.
    pub transactions_last_minute: i32,
}

/// The answer of `money_transfer`, when the transfer has ended (or the wait timed out).
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct MoneyTransferResult {
    pub uuid: String,
    pub success: bool,
    pub reason: Option<String>,
    /// False when no answer came in time: the transfer may still end. Retry with the same
    /// uuid (which never moves money twice) or ask `transfer_status`; a new uuid is a new
    /// transfer.
    pub ended: bool,
}

impl MoneyTransferResult {
    /// The answer for transfer `id` (a MoneyTransfer's, or a hold's capture).
    pub fn of(id: topology::Id, outcome: crate::transfers::Outcome) -> Self {
        Self {
            uuid: id.to_uuid_string(),
            success: outcome.success,
            reason: outcome.reason,
            ended: outcome.ended,
        }
    }
}

/// One page of the accounts of the bank, sorted by IBAN.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct AccountsPage {
    /// How many accounts match the search, on all pages together.
    pub total: i32,
    /// The position of the first account of this page among the matches (0 = the first).
    pub offset: i32,
    /// At most `max_items` accounts; empty past the end.
    pub accounts: Vec<BankAccount>,
}

/// An account of the bank: its IBAN, balance and owners (never a token).
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct BankAccount {
    pub iban: String,
    /// Dutch euros, like `new_balance` of a transaction: `€ 1.234,56`, `€ -15,00`.
    pub balance: String,
    /// The usernames of the owners, in the order they were added.
    pub owners: Vec<String>,
}

impl AccountsPage {
    pub fn from_read(read: reads::AccountsPage) -> Self {
        let int = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            total: int(read.total),
            offset: int(read.offset),
            accounts: read
                .accounts
                .into_iter()
                .map(|account| BankAccount {
                    iban: account.iban,
                    balance: format_euro(account.balance),
                    owners: account.owners,
                })
                .collect(),
        }
    }
}

/// Where a transfer stands: `started`, `complete` or `failed` (with its reason).
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct TransferStatus {
    pub uuid: String,
    pub status: String,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_dutch_euros_and_the_sign_is_the_direction() {
        let debit = Transaction::new(3, "NL66OPEN0000000000", -1_500, -123_456, "cash", "x", None);
        assert_eq!(debit.changed_by.as_deref(), Some("€ 1.234,56"));
        assert_eq!(debit.new_balance.as_deref(), Some("€ -15,00"));
        assert_eq!(debit.direction, Some(Direction::Debit));
        assert_eq!(debit.amount_cents, 123_456);
        let credit = Transaction::new(4, "NL66OPEN0000000000", 0, 5, "cash", "x", None);
        assert_eq!(credit.changed_by.as_deref(), Some("€ 0,05"));
        assert_eq!(credit.direction, Some(Direction::Credit));
        let extreme = Transaction::new(5, "NL66OPEN0000000000", 0, i64::MIN, "cash", "x", None);
        assert_eq!(
            extreme.changed_by.as_deref(),
            Some("€ 92.233.720.368.547.758,08")
        );
    }

    #[test]
    fn listed_balances_are_dutch_euros_with_their_sign() {
        let read: reads::AccountsPage = serde_json::from_str(
            r#"{"total": 12, "offset": 10, "accounts": [
                {"iban": "NL66OPEN0000000000", "balance": 123456, "owners": ["openweb"]},
                {"iban": "NL39OPEN0000000001", "balance": -1500, "owners": [], "added_later": 1},
                {"iban": "NL12OPEN0000000002", "balance": 0, "owners": ["a", "b"]}
            ]}"#,
        )
        .expect("the projector's shape");
        let page = AccountsPage::from_read(read);
        assert_eq!((page.total, page.offset), (12, 10));
        let shown: Vec<(&str, &str, usize)> = page
            .accounts
            .iter()
            .map(|a| (a.iban.as_str(), a.balance.as_str(), a.owners.len()))
            .collect();
        assert_eq!(
            shown,
            [
                ("NL66OPEN0000000000", "€ 1.234,56", 1),
                ("NL39OPEN0000000001", "€ -15,00", 0),
                ("NL12OPEN0000000002", "€ 0,00", 2)
            ]
        );
    }
}
