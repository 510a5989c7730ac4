//! JSON shapes of `QuerySucceeded.query_result`: a public contract with the GraphQL endpoint.
//!
//! Field names are stable; new fields may be added later, so parsers should ignore fields they
//! do not know. Amounts are euro cents as JSON integers. Lists are JSON arrays.
//!
//! | query | result |
//! | --- | --- |
//! | `FindUserQuery` | [`User`]: `{"username":"alice","password":"<hash>"}` |
//! | `FindBankAccountQuery` | [`Account`]: `{"iban":"NL66OPEN0000000000","balance":1000,"limit":-50000,"owners":[{"username":"alice","token_hash":"9f86…","token_nonce":"5c1d…"}]}` |
//! | `FindBankAccountsForUserQuery` | array of [`Account`], in the order the user became owner (by the timestamp of that event, then its partition and offset: see [`crate::source::Source`]) |
//! | `TransactionByIdQuery` | [`Transaction`]: `{"id":1,"iban":"NL66OPEN0000000000","new_balance":1000,"changed_by":1000,"from_to":"cash","description":"deposit"}` |
//! | `TransactionsByIbanQuery` | array of [`Transaction`], newest first |
//! | `AllLastTransactionsQuery` | array of [`Transaction`], one per IBAN, sorted by IBAN |
//! | `TransferStatusQuery` | [`TransferStatus`]: `{"transfer_id":"<uuid>","status":"failed","reason":"token is not valid","initiator":"alice"}` |
//! | `BankFiguresQuery` | [`BankFigures`]: `{"accounts":12,"transactions":345}` |
//! | `AllBankAccountsQuery` | [`AccountsPage`]: `{"total":12,"offset":0,"accounts":[{"iban":"NL66OPEN0000000000","balance":100000000,"owners":["openweb"]}]}`: one page of every account, sorted by IBAN; owners are usernames only, never tokens |
//!
//! The read model stores these very types, so answering a query serializes what is stored.

use serde::{Deserialize, Serialize};
use topology::{values::DEFAULT_LIMIT_CENTS, TransactionHappenedEvent};

/// Where a transfer stands: `{transfer_id, status, reason}`; `status` is `started`, `complete`
/// or `failed`, and `reason` is set only for `failed`. It answers a client whose response to
/// `money_transfer` got lost. `initiator` is the username that started it: the endpoint shows
/// the status to that customer (and to employees) only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStatus {
    pub transfer_id: String,
    pub status: TransferState,
    pub reason: Option<String>,
    pub initiator: Option<String>,
}

/// Bank-wide figures, without any account in them (`BankFiguresQuery`):
/// `{"accounts": 12, "transactions": 345}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankFigures {
    pub accounts: usize,
    pub transactions: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferState {
    Started,
    Complete,
    Failed,
}

/// One page of the list of every account (`AllBankAccountsQuery`): `{total, offset, accounts}`.
///
/// `total` counts every account that matches the search, `accounts` holds at most `max_items`
/// of them from position `offset` on (sorted by IBAN), and is `[]` past the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsPage {
    pub total: usize,
    pub offset: usize,
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

/// A user: `{username, password}`; `password` is the stored hash, never a clear-text password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub password: String,
}

/// One owner of an account: `{username, token_hash, token_nonce}`. `token_hash` is the SHA-256
/// of the owner's token (what commands carry), never the token; `token_nonce` is what the GraphQL
/// endpoint derives the token from to show it again, absent for an owner added before the
/// hashes (whose token the bank cannot show any more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub username: String,
    pub token_hash: String,
    pub token_nonce: Option<String>,
}

/// A bank account: `{iban, balance, limit, owners}`; `balance` and `limit` in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub iban: String,
    pub balance: i64,
    pub limit: i64,
    /// In the order the owners were added; the creator first.
    pub owners: Vec<Owner>,
}

impl Account {
    /// A new account: balance 0, the default limit, no owners yet.
    pub fn new(iban: &str) -> Self {
        Self {
            iban: iban.to_string(),
            balance: 0,
            limit: DEFAULT_LIMIT_CENTS,
            owners: Vec::new(),
        }
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
    /// epoch; `None` for a record without one.
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
                   "owners": [{"username": "alice", "token_hash": "9f86", "token_nonce": "n"}]})
        );

        let transaction = serde_json::to_value(Transaction {
            id: 7,
            iban: "NL66OPEN0000000000".into(),
            new_balance: -250,
            changed_by: -250,
            from_to: "cash".into(),
            description: "d".into(),
            at_millis: Some(1_764_489_600_000),
        })
        .unwrap();
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

    #[test]
    fn parsers_may_ignore_fields_added_later() {
        let parsed: User =
            serde_json::from_str(r#"{"username":"a","password":"p","added_later":1}"#).unwrap();
        assert_eq!(parsed.username, "a");
    }

    #[test]
    fn transaction_and_event_convert_both_ways() {
        let transaction = Transaction {
            id: 3,
            iban: "NL66OPEN0000000000".into(),
            new_balance: 10,
            changed_by: 10,
            from_to: "cash".into(),
            description: "d".into(),
            at_millis: Some(5),
        };
        let event = TransactionHappenedEvent::from(&transaction);
        assert_eq!(event.transaction_id, 3);
        assert_eq!(Transaction::from(&event), transaction);
    }
}
