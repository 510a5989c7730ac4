//! Typed queries on the query bus: what the projector answers, as Rust values.
//!
//! The JSON shapes are the projector's public contract (`projector/src/query_results.rs`);
//! unknown fields are ignored so the projector may add fields.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use topology::{
    AllBankAccountsQuery, AllLastTransactionsQuery, BankQuery, FindBankAccountQuery,
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

#[derive(Debug, Clone, Deserialize)]
pub struct Owner {
    pub username: String,
    pub token: String,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TransferStatus {
    pub transfer_id: String,
    /// `started`, `complete` or `failed`.
    pub status: String,
    pub reason: Option<String>,
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

pub const USER_UNKNOWN: &str = "username does not exist";
pub const IBAN_UNKNOWN: &str = "iban does not exist";
pub const NO_ACCOUNTS: &str = "username does not have accounts";
pub const TRANSFER_UNKNOWN: &str = "transfer does not exist";

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

    pub async fn transfer_status(
        &self,
        transfer_id: Id,
    ) -> Result<Option<TransferStatus>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(TransferStatusQuery { id, transfer_id });
        optional(parse(self.ask(id, &query).await?), TRANSFER_UNKNOWN)
    }
}
