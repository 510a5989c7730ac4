//! Typed queries on the query bus: what the projector answers, as Rust values.
//!
//! The JSON shapes are the projector's public contract (`projector/src/query_results.rs`);
//! unknown fields are ignored so the projector may add fields.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use topology::reasons::Refusal;
use topology::{
    AccountAtQuery, AlertRulesQuery, AllBankAccountsQuery, AllLastTransactionsQuery,
    BalanceHistoryQuery, BankFiguresQuery, BankQuery, FindBankAccountQuery,
    FindBankAccountsForUserQuery, FindUserQuery, Id, TransactionByIdQuery, TransactionsByIbanQuery,
    TransferStatusQuery, UserQuery,
};

use crate::bus::{BusError, QueryBus};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The projector's reason, e.g. `transaction does not exist`.
    #[error("{0}")]
    Refused(String),
    #[error("the answer of the projector has an unexpected shape: {0}")]
    Shape(#[from] serde_json::Error),
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub username: String,
    /// The stored argon2 hash.
    pub password: String,
}

/// An owner as the projector knows them: the hash of their token (never the token) and the
/// nonce the endpoint derives the token from (absent for owners from before the hashes).
#[derive(Debug, Clone, Deserialize)]
pub struct Owner {
    pub username: String,
    pub token_hash: String,
    #[serde(default)]
    pub token_nonce: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub iban: String,
    pub balance: i64,
    pub limit: i64,
    pub owners: Vec<Owner>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transaction {
    pub id: i32,
    pub iban: String,
    pub new_balance: i64,
    pub changed_by: i64,
    pub from_to: String,
    pub description: String,
    /// Milliseconds since the epoch; absent from a projector that did not keep it yet.
    #[serde(default)]
    pub at_millis: Option<i64>,
}

/// An account as it was at an instant (`AccountAtQuery`).
#[derive(Debug, Clone, Deserialize)]
pub struct AccountAt {
    pub iban: String,
    pub at_millis: i64,
    /// Cents.
    pub balance: i64,
    /// Newest first.
    pub transactions: Vec<Transaction>,
}

/// One point of a balance series (`BalanceHistoryQuery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct BalancePoint {
    pub at_millis: i64,
    /// Cents.
    pub balance: i64,
}

/// One alert rule of an account (`AlertRulesQuery`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlertRule {
    /// `BALANCE_BELOW`, `LARGE_DEBIT` or `ANY_CREDIT`.
    pub kind: String,
    /// Cents.
    pub threshold: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TransferStatus {
    pub transfer_id: String,
    /// `started`, `complete` or `failed`.
    pub status: String,
    pub reason: Option<String>,
    /// Who started it; absent from an older projector, and for a transfer whose start it has
    /// not seen.
    #[serde(default)]
    pub initiator: Option<String>,
}

/// How many accounts and transactions the bank has (`BankFiguresQuery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct BankFigures {
    pub accounts: u64,
    pub transactions: u64,
}

/// One page of every account, sorted by IBAN (`AllBankAccountsQuery`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountsPage {
    /// How many accounts match the search, on all pages together.
    pub total: u64,
    pub offset: u64,
    pub accounts: Vec<ListedAccount>,
}

/// An account in a list: no tokens, owners are usernames.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedAccount {
    pub iban: String,
    /// Cents.
    pub balance: i64,
    pub owners: Vec<String>,
}

pub const USER_UNKNOWN: &str = Refusal::UsernameDoesNotExist.text();
pub const IBAN_UNKNOWN: &str = Refusal::IbanDoesNotExist.text();
pub const IBAN_INVALID: &str = Refusal::IbanIsNotValid.text();
pub const NO_ACCOUNTS: &str = Refusal::UsernameDoesNotHaveAccounts.text();
pub const TRANSFER_UNKNOWN: &str = Refusal::TransferDoesNotExist.text();

fn parse<T: DeserializeOwned>(answer: Result<String, String>) -> Result<T, ReadError> {
    match answer {
        Ok(json) => Ok(serde_json::from_str(&json)?),
        Err(reason) => Err(ReadError::Refused(reason)),
    }
}

/// `Ok(None)` when the projector answers with `absent`, the reason for "not found".
fn optional<T>(result: Result<T, ReadError>, absent: &str) -> Result<Option<T>, ReadError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ReadError::Refused(reason)) if reason == absent => Ok(None),
        Err(other) => Err(other),
    }
}

impl QueryBus {
    pub async fn find_user(&self, username: &str) -> Result<Option<User>, ReadError> {
        let id = Id::random();
        let query = UserQuery::from(FindUserQuery {
            id,
            username: username.to_string(),
        });
        optional(parse(self.ask(id, &query).await?), USER_UNKNOWN)
    }

    pub async fn find_account(&self, iban: &str) -> Result<Option<Account>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(FindBankAccountQuery {
            id,
            iban: iban.to_string(),
        });
        optional(parse(self.ask(id, &query).await?), IBAN_UNKNOWN)
    }

    pub async fn accounts_of(&self, username: &str) -> Result<Vec<Account>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(FindBankAccountsForUserQuery {
            id,
            username: username.to_string(),
        });
        Ok(optional(parse(self.ask(id, &query).await?), NO_ACCOUNTS)?.unwrap_or_default())
    }

    pub async fn transaction_by_id(&self, transaction_id: i32) -> Result<Transaction, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(TransactionByIdQuery { id, transaction_id });
        parse(self.ask(id, &query).await?)
    }

    pub async fn transactions_by_iban(
        &self,
        iban: &str,
        max_items: i32,
    ) -> Result<Vec<Transaction>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(TransactionsByIbanQuery {
            id,
            iban: iban.to_string(),
            max_items,
        });
        parse(self.ask(id, &query).await?)
    }

    pub async fn all_last_transactions(&self) -> Result<Vec<Transaction>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(AllLastTransactionsQuery { id });
        parse(self.ask(id, &query).await?)
    }

    /// At most `max_items` accounts from position `offset` on, of those whose IBAN or an
    /// owner's username contains `search` (absent: every account).
    pub async fn all_accounts(
        &self,
        offset: i32,
        max_items: i32,
        search: Option<String>,
    ) -> Result<AccountsPage, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(AllBankAccountsQuery {
            id,
            offset,
            max_items,
            search,
        });
        parse(self.ask(id, &query).await?)
    }

    /// `iban` as it was at `instant` with at most `max_items` of its transactions then; refused
    /// with `iban does not exist` when it was not open yet.
    pub async fn account_at(
        &self,
        iban: &str,
        instant: i64,
        max_items: i32,
    ) -> Result<AccountAt, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(AccountAtQuery {
            id,
            iban: iban.to_string(),
            instant,
            max_items,
        });
        parse(self.ask(id, &query).await?)
    }

    /// The balance of `iban` at `points` instants evenly spread from `since` to `until`.
    pub async fn balance_history(
        &self,
        iban: &str,
        since: i64,
        until: i64,
        points: i32,
    ) -> Result<Vec<BalancePoint>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(BalanceHistoryQuery {
            id,
            iban: iban.to_string(),
            since,
            until,
            points,
        });
        parse(self.ask(id, &query).await?)
    }

    /// The alert rules of `iban`, for its owner `username` proven by the hash of their token.
    pub async fn alert_rules(
        &self,
        iban: &str,
        username: &str,
        token_hash: &str,
    ) -> Result<Vec<AlertRule>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(AlertRulesQuery {
            id,
            iban: iban.to_string(),
            username: username.to_string(),
            token: token_hash.to_string(),
        });
        parse(self.ask(id, &query).await?)
    }

    pub async fn bank_figures(&self) -> Result<BankFigures, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(BankFiguresQuery { id });
        parse(self.ask(id, &query).await?)
    }

    pub async fn transfer_status(
        &self,
        transfer_id: Id,
    ) -> Result<Option<TransferStatus>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(TransferStatusQuery { id, transfer_id });
        optional(parse(self.ask(id, &query).await?), TRANSFER_UNKNOWN)
    }
}
