//! Typed queries on the query bus: what the projector answers, as Rust values.
//!
//! The JSON shapes are the contract's (`contract/src/query_results.rs`), the very types the
//! projector answers with; unknown fields are ignored so the projector may add fields.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use topology::reasons::Refusal;
use topology::{
    AccountAtQuery, AlertRulesQuery, AllBankAccountsQuery, AllLastTransactionsQuery,
    BalanceHistoryQuery, BankFiguresQuery, BankQuery, FindBankAccountQuery,
    FindBankAccountsForUserQuery, FindUserQuery, Id, StatementQuery, TransactionByIdQuery,
    TransactionsByIbanQuery, TransferStatusQuery, UserQuery,
};

use crate::bus::{BusError, QueryBus};

pub use topology::query_results::{
    Account, AccountAt, AccountsPage, AlertRule, AlertRuleKind, BalancePoint, BankFigures,
    ListedAccount, Owner, StatementPage, Transaction, TransferState, TransferStatus, User,
};

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

/// A rule as read: one of a kind this endpoint does not know (a newer projector's) is left out
/// rather than failing the whole answer.
#[derive(Deserialize)]
#[serde(untagged)]
enum ReadRule {
    Known(AlertRule),
    Unknown { kind: String },
}

fn parse<T: DeserializeOwned>(answer: Result<String, String>) -> Result<T, ReadError> {
    match answer {
        Ok(json) => Ok(serde_json::from_str(&json)?),
        Err(reason) => Err(ReadError::Refused(reason)),
    }
}

/// `Ok(None)` when the projector answers with `absent`, the reason for "not found".
fn optional<T>(result: Result<T, ReadError>, absent: Refusal) -> Result<Option<T>, ReadError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ReadError::Refused(reason)) if reason == absent.text() => Ok(None),
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
        optional(
            parse(self.ask(id, &query).await?),
            Refusal::UsernameDoesNotExist,
        )
    }

    pub async fn find_account(&self, iban: &str) -> Result<Option<Account>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(FindBankAccountQuery {
            id,
            iban: iban.to_string(),
        });
        optional(
            parse(self.ask(id, &query).await?),
            Refusal::IbanDoesNotExist,
        )
    }

    pub async fn accounts_of(&self, username: &str) -> Result<Vec<Account>, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(FindBankAccountsForUserQuery {
            id,
            username: username.to_string(),
        });
        Ok(optional(
            parse(self.ask(id, &query).await?),
            Refusal::UsernameDoesNotHaveAccounts,
        )?
        .unwrap_or_default())
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

    /// One page of the statement of `iban` for `[since, until)`: at most `max_items` of its
    /// transactions below transaction `before` (the newest for `None`), newest first.
    pub async fn statement_page(
        &self,
        iban: &str,
        since: i64,
        until: i64,
        before: Option<i32>,
        max_items: i32,
    ) -> Result<StatementPage, ReadError> {
        let id = Id::random();
        let query = BankQuery::from(StatementQuery {
            id,
            iban: iban.to_string(),
            since,
            until,
            before,
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

    /// The alert rules of `iban`, for its owner `username` proven by the hash of their token;
    /// those of kinds this endpoint does not know are left out.
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
        let rules: Vec<ReadRule> = parse(self.ask(id, &query).await?)?;
        Ok(known_rules(rules))
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
        optional(
            parse(self.ask(id, &query).await?),
            Refusal::TransferDoesNotExist,
        )
    }
}

fn known_rules(rules: Vec<ReadRule>) -> Vec<AlertRule> {
    rules
        .into_iter()
        .filter_map(|rule| match rule {
            ReadRule::Known(rule) => Some(rule),
            ReadRule::Unknown { kind } => {
                tracing::debug!(
                    kind,
                    "left out an alert rule of a kind this endpoint does not know"
                );
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_of_a_kind_this_endpoint_does_not_know_are_left_out() {
        let rules: Vec<ReadRule> = serde_json::from_str(
            r#"[{"kind":"BALANCE_BELOW","threshold":100},{"kind":"NEW_KIND","threshold":null},
                {"kind":"ANY_CREDIT","threshold":null,"added_later":1}]"#,
        )
        .expect("the projector's shape");
        assert_eq!(
            known_rules(rules),
            [
                AlertRule {
                    kind: AlertRuleKind::BalanceBelow,
                    threshold: Some(100)
                },
                AlertRule {
                    kind: AlertRuleKind::AnyCredit,
                    threshold: None
                }
            ]
        );
        let malformed = serde_json::from_str::<Vec<ReadRule>>(r#"[{"threshold":1}]"#);
        assert!(malformed.is_err(), "a rule without a kind is no rule");
    }
}
