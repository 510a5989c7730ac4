use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use topology::Id;

use super::alerts::AlertRule;
use super::auth::require_employee;
use super::errors::{graphql_error, invalid, owner_read_error};
use super::history::{transactions_wanted, AccountAt, BalancePoint};
use super::types::{AccountsPage, MyAccountsResult, OwnedAccount, Transaction, TransferStatus};
use crate::bank::{Bank, RequestError};
use crate::validation::{self, InvalidInput};

pub struct QueryRoot;

/// `max_items` of `all_accounts` when not given.
pub const DEFAULT_PAGE_SIZE: i32 = 10;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl QueryRoot {
    /// The transaction with this id (ids count 1, 2, … over the whole bank).
    async fn transaction_by_id(&self, ctx: &Context<'_>, id: i32) -> Result<Transaction> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let read = bank
            .queries
            .transaction_by_id(id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(Transaction::from_read(&read))
    }

    /// The newest transactions of an account, newest first, at most `max_items` (1–1000).
    async fn transactions_by_iban(
        &self,
        ctx: &Context<'_>,
        iban: String,
        max_items: i32,
    ) -> Result<Vec<Transaction>> {
        validation::max_items(max_items).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let reads = bank
            .queries
            .transactions_by_iban(&iban, max_items)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(reads.iter().map(Transaction::from_read).collect())
    }

    /// The alert rules of account `iban`, for its owner `username` proven by `token`.
    async fn alert_rules(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: String,
        #[graphql(secret)] token: String,
    ) -> Result<Vec<AlertRule>> {
        validation::account_command(&iban, &username, &token).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let rules = bank
            .queries
            .alert_rules(&iban, &username, &token)
            .await
            .map_err(owner_read_error)?;
        Ok(rules.iter().filter_map(AlertRule::from_read).collect())
    }

    /// Account `iban` as it was at instant `at` (RFC 3339, e.g. `2026-11-30T08:00:00Z`): its
    /// balance then, and its transactions up to then. `iban does not exist` if it was not
    /// opened yet.
    async fn account_at(&self, ctx: &Context<'_>, iban: String, at: String) -> Result<AccountAt> {
        let instant = crate::instants::parse("at", &at).map_err(invalid)?;
        // One query answers the balance and every `transactions` field asked for.
        let wanted = transactions_wanted(&ctx.look_ahead().field("transactions"));
        let bank = ctx.data::<Arc<Bank>>()?;
        let then = bank
            .queries
            .account_at(&iban, instant, wanted.max(1))
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(AccountAt::from_read(then))
    }

    /// The balance of account `iban` at `points` (2–500) instants evenly spread from `from` to
    /// `to` (RFC 3339, both included), oldest first: a series for a chart.
    async fn balance_history(
        &self,
        ctx: &Context<'_>,
        iban: String,
        from: String,
        to: String,
        points: i32,
    ) -> Result<Vec<BalancePoint>> {
        let since = crate::instants::parse("from", &from).map_err(invalid)?;
        let until = crate::instants::parse("to", &to).map_err(invalid)?;
        validation::balance_history(since, until, points).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let series = bank
            .queries
            .balance_history(&iban, since, until, points)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(series.into_iter().map(BalancePoint::from).collect())
    }

    /// The newest transaction of every account, sorted by IBAN.
    async fn all_last_transactions(&self, ctx: &Context<'_>) -> Result<Vec<Transaction>> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let reads = bank
            .queries
            .all_last_transactions()
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(reads.iter().map(Transaction::from_read).collect())
    }

    /// Every account `username` owns (alone or shared), oldest first, each with the user's own
    /// token and every owner's username; the password is checked as by `get_account`.
    async fn my_accounts(
        &self,
        ctx: &Context<'_>,
        username: String,
        #[graphql(secret)] password: String,
    ) -> Result<MyAccountsResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let accounts = bank
            .my_accounts(&username, &password)
            .await
            .map_err(graphql_error)?;
        Ok(match accounts {
            Ok(accounts) => MyAccountsResult {
                accounts: Some(accounts.into_iter().map(OwnedAccount::from).collect()),
                reason: None,
            },
            Err(reason) => MyAccountsResult {
                accounts: None,
                reason: Some(reason),
            },
        })
    }

    /// For employees only (send the `employee_login` session as `Authorization: Bearer …`).
    /// Every account of the bank, also those without transactions, sorted by IBAN, one page at
    /// a time: `total` is how many match, `accounts` at most `max_items` (1–1000) of them from
    /// position `offset` (0 or more) on, empty past the end. `search` (optional) keeps the
    /// accounts whose IBAN contains it, ignoring case and spaces (`nl66 open`), or one of whose
    /// owners' usernames contains it, ignoring case. Balances are Dutch euros (`€ 1.234,56`).
    async fn all_accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default_with = "Some(0)",
            desc = "How many matching accounts to skip (0 or more); null means 0."
        )]
        offset: Option<i32>,
        #[graphql(
            default_with = "Some(DEFAULT_PAGE_SIZE)",
            desc = "The most accounts to return (1–1000); null means 10."
        )]
        max_items: Option<i32>,
        #[graphql(
            desc = "Part of an IBAN (case and spaces ignored) or of an owner's username \
                          (case ignored); absent or blank lists every account."
        )]
        search: Option<String>,
    ) -> Result<AccountsPage> {
        require_employee(ctx)?;
        let (offset, max_items) = (offset.unwrap_or(0), max_items.unwrap_or(DEFAULT_PAGE_SIZE));
        validation::max_items(max_items).map_err(invalid)?;
        validation::offset(offset).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let page = bank
            .queries
            .all_accounts(offset, max_items, validation::search(search.as_deref()))
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(AccountsPage::from_read(page))
    }

    /// For employees only: the bank at a glance (transfers per second, transfer latency over
    /// the last minutes, every watched service's health and consumer lag, the newest
    /// commands). `operations_live` streams the same every 2 s.
    async fn operations(
        &self,
        ctx: &Context<'_>,
    ) -> Result<super::operations_view::OperationsView> {
        super::operations_view::current(ctx).await
    }

    /// Where the transfer with this uuid stands: for a client whose `money_transfer` answer
    /// got lost.
    async fn transfer_status(&self, ctx: &Context<'_>, uuid: String) -> Result<TransferStatus> {
        let id: Id = uuid
            .parse()
            .map_err(|_| invalid(InvalidInput(format!("uuid `{uuid}` is not a valid UUID"))))?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let status = bank
            .queries
            .transfer_status(id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        match status {
            Some(status) => Ok(TransferStatus {
                uuid: id.to_uuid_string(),
                status: status.status,
                reason: status.reason,
            }),
            None => Err(graphql_error(RequestError::Read(
                crate::reads::ReadError::Refused(crate::reads::TRANSFER_UNKNOWN.into()),
            ))),
        }
    }
}
