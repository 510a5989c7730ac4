//! JSON shapes of `QuerySucceeded.query_result`: what the projector answers and the GraphQL
//! endpoint reads, both with these very types.
//!
//! Field names are stable; new fields may be added later, so parsers ignore fields they do not
//! know (serde's default), and an optional field that is absent reads as `None`. An optional
//! field is written as `null` when it has no value, never left out. Amounts are euro cents as
//! JSON integers; counts are unsigned JSON integers. Lists are JSON arrays.
//!
//! | query | result |
//! | --- | --- |
//! | `FindUserQuery` | [`User`]: `{"username":"alice","password":"<hash>"}` |
//! | `FindBankAccountQuery` | [`Account`]: `{"iban":"NL66OPEN0000000000","balance":1000,"limit":-50000,"owners":[{"username":"alice","token_hash":"9f86…","token_nonce":"5c1d…"}]}` |
//! | `FindBankAccountsForUserQuery` | array of [`Account`], in the order the user became owner (by the timestamp of that event, then its partition and offset) |
//! | `TransactionByIdQuery` | [`Transaction`]: `{"id":1,"iban":"NL66OPEN0000000000","new_balance":1000,"changed_by":1000,"from_to":"cash","description":"deposit","at_millis":1764489600000}` |
//! | `TransactionsByIbanQuery` | array of [`Transaction`], newest first |
//! | `AllLastTransactionsQuery` | array of [`Transaction`], one per IBAN, sorted by IBAN |
//! | `TransferStatusQuery` | [`TransferStatus`]: `{"transfer_id":"<uuid>","status":"failed","reason":"token is not valid","initiator":"alice"}` |
//! | `BankFiguresQuery` | [`BankFigures`]: `{"accounts":12,"transactions":345}` |
//! | `AllBankAccountsQuery` | [`AccountsPage`]: `{"total":12,"offset":0,"accounts":[{"iban":"NL66OPEN0000000000","balance":100000000,"owners":["openweb"]}]}`: one page of every account, sorted by IBAN; owners are usernames only, never tokens |
//! | `StatementQuery` | [`StatementPage`]: `{"iban":"NL66OPEN0000000000","transactions":[…],"next_before":null,"opening_balance":1000}` |
//! | `AccountAtQuery` | [`AccountAt`]: `{"iban":"NL66OPEN0000000000","at_millis":1764489600000,"balance":1000,"transactions":[…]}` |
//! | `BalanceHistoryQuery` | array of [`BalancePoint`], oldest first: `[{"at_millis":1764489600000,"balance":1000}]` |
//! | `AlertRulesQuery` | array of [`AlertRule`] in kind order: `[{"kind":"LARGE_DEBIT","threshold":25000},{"kind":"ANY_CREDIT","threshold":null}]` |
//!
//! A query that fails answers a reason of [`crate::reasons::Refusal`] instead.

use serde::{Deserialize, Serialize};

use crate::values::DEFAULT_LIMIT_CENTS;
use crate::{AlertKind, TransactionHappenedEvent};

/// A user: `{username, password}`; `password` is the stored hash, never a clear-text password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub password: String,
}

/// One owner of an account: `{username, token_hash, token_nonce}`. `token_hash` is the SHA-256
/// of the owner's token (what commands carry), never the token; `token_nonce` is what the GraphQL
/// endpoint derives the token from to show it again, `null` for an owner added before the
/// hashes (whose token the bank cannot show any more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub username: String,
    pub token_hash: String,
    pub token_nonce: Option<String>,
}

/// A bank account: `{iban, balance, limit, owners, holds}`; `balance` and `limit` in cents.
/// `balance` is the booked balance; what may still be spent is [`Account::available`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub iban: String,
    pub balance: i64,
    pub limit: i64,
    /// In the order the owners were added; the creator first.
    pub owners: Vec<Owner>,
    /// Open holds, oldest first (absent from answers of projectors before holds).
    #[serde(default)]
    pub holds: Vec<Hold>,
    /// Standing orders under way, oldest first (absent from answers of projectors before them).
    #[serde(default)]
    pub standing_orders: Vec<StandingOrder>,
    /// The latest runs of standing orders that failed, newest first, at most
    /// [`FailedRun::KEPT`]: how the owner learns that a payment was not made.
    #[serde(default)]
    pub failed_runs: Vec<FailedRun>,
}

/// A run of a standing order whose transfer failed (e.g. not enough money): it is not tried
/// again; the order goes on with its next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRun {
    /// The order's uuid, and the uuid of the run's transfer (transfer_status tells its reason).
    pub order: String,
    pub transfer: String,
    pub to: String,
    pub amount: i64,
    pub description: String,
    pub reason: String,
    /// When it failed (its event's timestamp), in milliseconds since the epoch.
    pub at_millis: Option<i64>,
}

impl FailedRun {
    /// How many failed runs an account keeps.
    pub const KEPT: usize = 10;
}

/// A standing order under way: `amount` to `to` on `schedule` (`once`, `weekly` or `monthly`)
/// from `first_at`, at most `runs` times (null: until cancelled); `next_at` is when run
/// `next_run` is due (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingOrder {
    /// The order's uuid: cancel_standing_order takes it.
    pub id: String,
    pub to: String,
    pub amount: i64,
    pub description: String,
    pub schedule: String,
    pub first_at: i64,
    pub runs: Option<i32>,
    pub next_run: u32,
    pub next_at: Option<i64>,
}

/// Money held on an account for a later transfer to `to`, until captured, voided or
/// `expires_at` (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The hold's uuid, also the id of the transfer its capture starts.
    pub id: String,
    pub to: String,
    pub amount: i64,
    pub description: String,
    pub expires_at: i64,
}

impl Account {
    /// A new account: balance 0, the default limit, no owners yet.
    pub fn new(iban: &str) -> Self {
        Self {
            iban: iban.to_string(),
            balance: 0,
            limit: DEFAULT_LIMIT_CENTS,
            owners: Vec::new(),
            holds: Vec::new(),
            standing_orders: Vec::new(),
            failed_runs: Vec::new(),
        }
    }

    /// The booked balance less every open hold.
    pub fn available(&self) -> i64 {
        self.holds.iter().fold(self.balance, |available, hold| {
            available.saturating_sub(hold.amount)
        })
    }
}

/// A transaction: `{id, iban, new_balance, changed_by, from_to, description, at_millis}`.
///
/// `changed_by` is signed: negative for a debit. `new_balance` is the balance right after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub id: i32,
    pub iban: String,
    pub new_balance: i64,
    pub changed_by: i64,
    pub from_to: String,
    pub description: String,
    /// When its money event was written (the record's timestamp), in milliseconds since the
    /// epoch; `null` for a record without one (and absent from a projector that did not keep
    /// it yet).
    pub at_millis: Option<i64>,
}

impl From<&Transaction> for TransactionHappenedEvent {
    fn from(transaction: &Transaction) -> Self {
        Self {
            transaction_id: transaction.id,
            iban: transaction.iban.clone(),
            new_balance: transaction.new_balance,
            changed_by: transaction.changed_by,
            from_to: transaction.from_to.clone(),
            description: transaction.description.clone(),
            at_millis: transaction.at_millis,
        }
    }
}

impl From<&TransactionHappenedEvent> for Transaction {
    fn from(event: &TransactionHappenedEvent) -> Self {
        Self {
            id: event.transaction_id,
            iban: event.iban.clone(),
            new_balance: event.new_balance,
            changed_by: event.changed_by,
            from_to: event.from_to.clone(),
            description: event.description.clone(),
            at_millis: event.at_millis,
        }
    }
}

/// Where a transfer stands: `{transfer_id, status, reason, initiator}`; `reason` is set only
/// for [`TransferState::Failed`]. It answers a client whose response to `money_transfer` got
/// lost. `initiator` is the username that started it (`null` for a transfer whose start the
/// projector has not seen): the endpoint shows the status to that customer (and to employees)
/// only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStatus {
    pub transfer_id: String,
    pub status: TransferState,
    pub reason: Option<String>,
    pub initiator: Option<String>,
}

/// The `status` of a [`TransferStatus`]: `started`, `complete` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferState {
    Started,
    Complete,
    Failed,
}

impl TransferState {
    /// The word on the wire: `started`, `complete` or `failed`.
    pub const fn name(self) -> &'static str {
        match self {
            TransferState::Started => "started",
            TransferState::Complete => "complete",
            TransferState::Failed => "failed",
        }
    }
}

/// Bank-wide figures, without any account in them (`BankFiguresQuery`):
/// `{"accounts": 12, "transactions": 345}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankFigures {
    pub accounts: u64,
    pub transactions: u64,
}

/// One page of the list of every account (`AllBankAccountsQuery`): `{total, offset, accounts}`.
///
/// `total` counts every account that matches the search (on all pages together), `accounts`
/// holds at most `max_items` of them from position `offset` on (sorted by IBAN), and is `[]`
/// past the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsPage {
    pub total: u64,
    pub offset: u64,
    pub accounts: Vec<ListedAccount>,
}

/// An account in a list of accounts: `{iban, balance, owners}`; `balance` in cents, `owners`
/// the usernames in the order they were added. Unlike [`Account`] it has no tokens: the list is
/// for an employee, and a token lets its holder move the account's money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedAccount {
    pub iban: String,
    pub balance: i64,
    pub owners: Vec<String>,
}

/// An account as it was at an instant (`AccountAtQuery`): `{iban, at_millis, balance,
/// transactions}`; `at_millis` is the instant asked for, `balance` in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAt {
    pub iban: String,
    pub at_millis: i64,
    pub balance: i64,
    /// Newest first, at most the `max_items` asked for.
    pub transactions: Vec<Transaction>,
}

/// One page of an account's statement (`StatementQuery`) for the period `[since, until)`.
///
/// The period's transactions are walked newest first, each page below the one before
/// (`before`). A page ends when it is full (`max_items`, or the bytes one answer may carry):
/// then `next_before` names where the next one starts. The last page has `next_before: null`
/// and the balance the account had when the period began (`opening_balance`, 0 before its
/// first transaction). Every transaction's `new_balance` is the previous one's plus its
/// `changed_by`, so opening balance plus the period's amounts is the closing balance, the
/// newest one's `new_balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementPage {
    pub iban: String,
    /// Newest first.
    pub transactions: Vec<Transaction>,
    pub next_before: Option<i32>,
    pub opening_balance: Option<i64>,
}

/// One point of a balance series (`BalanceHistoryQuery`): `{at_millis, balance}`, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancePoint {
    pub at_millis: i64,
    pub balance: i64,
}

/// One alert rule of an account (`AlertRulesQuery`): `{kind, threshold}`, the threshold in
/// cents (`null` for [`AlertRuleKind::AnyCredit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    pub kind: AlertRuleKind,
    pub threshold: Option<i64>,
}

/// What an alert rule watches ([`AlertKind`] of the records), named on the wire as GraphQL
/// names it: `BALANCE_BELOW`, `LARGE_DEBIT`, `ANY_CREDIT`. Its order is the order rules are
/// listed in; the projector's state store also keeps it by position, so a new kind goes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertRuleKind {
    BalanceBelow,
    LargeDebit,
    AnyCredit,
}

impl AlertRuleKind {
    /// The name on the wire, as in GraphQL and the metrics.
    pub const fn name(self) -> &'static str {
        match self {
            AlertRuleKind::BalanceBelow => "BALANCE_BELOW",
            AlertRuleKind::LargeDebit => "LARGE_DEBIT",
            AlertRuleKind::AnyCredit => "ANY_CREDIT",
        }
    }
}

impl From<AlertKind> for AlertRuleKind {
    fn from(kind: AlertKind) -> Self {
        match kind {
            AlertKind::BalanceBelow => AlertRuleKind::BalanceBelow,
            AlertKind::LargeDebit => AlertRuleKind::LargeDebit,
            AlertKind::AnyCredit => AlertRuleKind::AnyCredit,
        }
    }
}

impl From<AlertRuleKind> for AlertKind {
    fn from(kind: AlertRuleKind) -> Self {
        match kind {
            AlertRuleKind::BalanceBelow => AlertKind::BalanceBelow,
            AlertRuleKind::LargeDebit => AlertKind::LargeDebit,
            AlertRuleKind::AnyCredit => AlertKind::AnyCredit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .map(|object| object.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    fn text<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    fn transaction(id: i32, at_millis: Option<i64>) -> Transaction {
        Transaction {
            id,
            iban: "NL66OPEN0000000000".into(),
            new_balance: -250,
            changed_by: -250,
            from_to: "cash".into(),
            description: "d".into(),
            at_millis,
        }
    }

    #[test]
    fn field_names_are_the_documented_ones() {
        let user = serde_json::to_value(User {
            username: "alice".into(),
            password: "hash".into(),
        })
        .unwrap();
        assert_eq!(user, json!({"username": "alice", "password": "hash"}));

        let mut account = Account::new("NL66OPEN0000000000");
        account.owners.push(Owner {
            username: "alice".into(),
            token_hash: "9f86".into(),
            token_nonce: Some("n".into()),
        });
        let account = serde_json::to_value(account).unwrap();
        assert_eq!(
            account,
            json!({"iban": "NL66OPEN0000000000", "balance": 0, "limit": -50000,
                   "owners": [{"username": "alice", "token_hash": "9f86", "token_nonce": "n"}],
                   "holds": [], "standing_orders": [], "failed_runs": []})
        );

        let transaction = serde_json::to_value(transaction(7, Some(1_764_489_600_000))).unwrap();
        assert_eq!(
            keys(&transaction),
            [
                "at_millis",
                "changed_by",
                "description",
                "from_to",
                "iban",
                "id",
                "new_balance"
            ]
        );
        assert_eq!(transaction["changed_by"], json!(-250));

        let page = serde_json::to_value(AccountsPage {
            total: 12,
            offset: 0,
            accounts: vec![ListedAccount {
                iban: "NL66OPEN0000000000".into(),
                balance: 100_000_000,
                owners: vec!["openweb".into()],
            }],
        })
        .unwrap();
        assert_eq!(
            page,
            json!({"total": 12, "offset": 0, "accounts": [
                {"iban": "NL66OPEN0000000000", "balance": 100_000_000, "owners": ["openweb"]}
            ]})
        );
    }

    /// The exact text of each answer, fields in this order, `null` for an option without a
    /// value: what the projector wrote before these types were shared, byte for byte.
    #[test]
    fn answers_are_written_byte_for_byte_as_documented() {
        let mut account = Account::new("NL66OPEN0000000000");
        account.owners.push(Owner {
            username: "bob".into(),
            token_hash: "aa".into(),
            token_nonce: None,
        });
        assert_eq!(
            text(&account),
            r#"{"iban":"NL66OPEN0000000000","balance":0,"limit":-50000,"owners":[{"username":"bob","token_hash":"aa","token_nonce":null}],"holds":[],"standing_orders":[],"failed_runs":[]}"#
        );
        assert_eq!(
            text(&AccountAt {
                iban: "NL66OPEN0000000000".into(),
                at_millis: 1_000,
                balance: 30,
                transactions: vec![transaction(1, None)],
            }),
            r#"{"iban":"NL66OPEN0000000000","at_millis":1000,"balance":30,"transactions":[{"id":1,"iban":"NL66OPEN0000000000","new_balance":-250,"changed_by":-250,"from_to":"cash","description":"d","at_millis":null}]}"#
        );
        assert_eq!(
            text(&vec![BalancePoint {
                at_millis: 5,
                balance: -7
            }]),
            r#"[{"at_millis":5,"balance":-7}]"#
        );
        assert_eq!(
            text(&vec![
                AlertRule {
                    kind: AlertRuleKind::BalanceBelow,
                    threshold: Some(100)
                },
                AlertRule {
                    kind: AlertRuleKind::LargeDebit,
                    threshold: Some(5)
                },
                AlertRule {
                    kind: AlertRuleKind::AnyCredit,
                    threshold: None
                },
            ]),
            r#"[{"kind":"BALANCE_BELOW","threshold":100},{"kind":"LARGE_DEBIT","threshold":5},{"kind":"ANY_CREDIT","threshold":null}]"#
        );
        assert_eq!(
            text(&TransferStatus {
                transfer_id: "u".into(),
                status: TransferState::Failed,
                reason: Some("token is not valid".into()),
                initiator: Some("alice".into()),
            }),
            r#"{"transfer_id":"u","status":"failed","reason":"token is not valid","initiator":"alice"}"#
        );
        assert_eq!(
            text(&TransferStatus {
                transfer_id: "u".into(),
                status: TransferState::Started,
                reason: None,
                initiator: None,
            }),
            r#"{"transfer_id":"u","status":"started","reason":null,"initiator":null}"#
        );
        assert_eq!(
            text(&BankFigures {
                accounts: 12,
                transactions: 345
            }),
            r#"{"accounts":12,"transactions":345}"#
        );
    }

    #[test]
    fn the_names_of_states_and_kinds_are_their_words_on_the_wire() {
        for state in [
            TransferState::Started,
            TransferState::Complete,
            TransferState::Failed,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), json!(state.name()));
        }
        for kind in [
            AlertRuleKind::BalanceBelow,
            AlertRuleKind::LargeDebit,
            AlertRuleKind::AnyCredit,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.name()));
            assert_eq!(AlertRuleKind::from(AlertKind::from(kind)), kind);
        }
    }

    #[test]
    fn parsers_may_ignore_fields_added_later() {
        let parsed: User =
            serde_json::from_str(r#"{"username":"a","password":"p","added_later":1}"#).unwrap();
        assert_eq!(parsed.username, "a");
        let page: AccountsPage = serde_json::from_str(
            r#"{"total":1,"offset":0,"added_later":[],"accounts":[
                {"iban":"NL66OPEN0000000000","balance":-1500,"owners":[],"added_later":1}]}"#,
        )
        .unwrap();
        assert_eq!((page.total, page.accounts[0].balance), (1, -1_500));
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let owner: Owner = serde_json::from_str(r#"{"username":"a","token_hash":"h"}"#).unwrap();
        assert_eq!(owner.token_nonce, None);
        let read: Transaction = serde_json::from_str(
            r#"{"id":1,"iban":"NL66OPEN0000000000","new_balance":1,"changed_by":1,"from_to":"cash","description":""}"#,
        )
        .unwrap();
        assert_eq!(read.at_millis, None);
        let status: TransferStatus =
            serde_json::from_str(r#"{"transfer_id":"u","status":"complete"}"#).unwrap();
        assert_eq!(
            (status.status, status.reason, status.initiator),
            (TransferState::Complete, None, None)
        );
    }

    #[test]
    fn transaction_and_event_convert_both_ways() {
        let transaction = transaction(3, Some(5));
        let event = TransactionHappenedEvent::from(&transaction);
        assert_eq!(event.transaction_id, 3);
        assert_eq!(Transaction::from(&event), transaction);
    }
}
