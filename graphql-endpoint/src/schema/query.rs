//! The reads. Every read of a customer's data needs a session (see [`super::access`]): a
//! customer reads the accounts they own, an employee everything; `bank_figures` is for anyone.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use topology::reasons::Refusal;
use topology::Id;

use super::access::{
    caller, customer, employee as require_employee, forbidden, may_read, reader_of, NOT_THE_USER,
};
use super::alerts::AlertRule;
use super::errors::{graphql_error, invalid, owner_read_error};
use super::history::{transactions_wanted, AccountAt, BalancePoint};
use super::statement::{statement_error, Statement};
use super::types::{
    AccountsPage, BankFigures, MyAccountsResult, OwnedAccount, Transaction, TransferStatus,
};
use crate::bank::{Bank, RequestError};
use crate::client_address::ClientAddress;
use crate::feed::TransactionFeed;
use crate::sessions::Role;
use crate::validation::{self, InvalidInput};

pub struct QueryRoot;

/// Asking about someone else's transfer.
pub const NOT_AN_OWNER_OF_TRANSFER: &str = Refusal::UserDidNotStartThisTransfer.text();

/// `max_items` of `all_accounts` when not given.
pub const DEFAULT_PAGE_SIZE: i32 = 10;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl QueryRoot {
    /// The transaction with this id (ids count 1, 2, … over the whole bank), for an owner of
    /// its account or an employee.
    async fn transaction_by_id(&self, ctx: &Context<'_>, id: i32) -> Result<Transaction> {
        let claims = caller(ctx)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let read = bank
            .queries
            .transaction_by_id(id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        may_read(bank, &claims, &read.iban).await?;
        Ok(Transaction::from_read(&read))
    }

    /// The newest transactions of an account, newest first, at most `max_items` (1–1000), for
    /// an owner of the account or an employee.
    #[graphql(complexity = "max_items.max(1) as usize * child_complexity")]
    async fn transactions_by_iban(
        &self,
        ctx: &Context<'_>,
        iban: String,
        max_items: i32,
    ) -> Result<Vec<Transaction>> {
        validation::max_items(max_items).map_err(invalid)?;
        reader_of(ctx, &iban).await?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let reads = bank
            .queries
            .transactions_by_iban(&iban, max_items)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(reads.iter().map(Transaction::from_read).collect())
    }

    /// The alert rules of account `iban`, for its owner (the logged-in customer, or
    /// `username` proven by `token`) or an employee.
    async fn alert_rules(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
    ) -> Result<Vec<AlertRule>> {
        let (username, token) = super::alerts::rules_reader(ctx, &iban, username, token).await?;
        validation::account_command(&iban, &username, &token).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let rules = bank
            .queries
            .alert_rules(&iban, &username, &token)
            .await
            .map_err(owner_read_error)?;
        Ok(rules.iter().map(AlertRule::from_read).collect())
    }

    /// Account `iban` as it was at instant `at` (RFC 3339, e.g. `2026-11-30T08:00:00Z`): its
    /// balance then, and its transactions up to then. `iban does not exist` if it was not
    /// opened yet.
    async fn account_at(&self, ctx: &Context<'_>, iban: String, at: String) -> Result<AccountAt> {
        let instant = crate::instants::parse("at", &at).map_err(invalid)?;
        reader_of(ctx, &iban).await?;
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
        reader_of(ctx, &iban).await?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let series = bank
            .queries
            .balance_history(&iban, since, until, points)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(series.into_iter().map(BalancePoint::from).collect())
    }

    /// The statement of account `iban` for the period from `from` (included) to `to`
    /// (excluded), RFC 3339, at most 366 days: opening balance, every booked transaction,
    /// closing balance. For an owner of the account or an employee; as a CSV or camt.053 file:
    /// `GET /graphql/statement?iban=…&from=…&to=…&format=csv|camt053`.
    async fn statement(
        &self,
        ctx: &Context<'_>,
        iban: String,
        from: String,
        to: String,
    ) -> Result<Statement> {
        let since = crate::instants::parse("from", &from).map_err(invalid)?;
        let until = crate::instants::parse("to", &to).map_err(invalid)?;
        validation::statement(since, until).map_err(invalid)?;
        reader_of(ctx, &iban).await?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let read = crate::statements::Statement::read(&bank.queries, &iban, since, until)
            .await
            .map_err(statement_error)?;
        Ok(Statement::from_read(read))
    }

    /// For employees only: the newest transaction of every account, sorted by IBAN.
    async fn all_last_transactions(&self, ctx: &Context<'_>) -> Result<Vec<Transaction>> {
        require_employee(ctx)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let reads = bank
            .queries
            .all_last_transactions()
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(reads.iter().map(Transaction::from_read).collect())
    }

    /// Every account the logged-in customer (or `username` with `password`) owns, alone or
    /// shared, oldest first, each with the user's own token and every owner's username.
    async fn my_accounts(
        &self,
        ctx: &Context<'_>,
        username: Option<String>,
        #[graphql(secret)] password: Option<String>,
    ) -> Result<MyAccountsResult> {
        let username = match (username, password) {
            (Some(username), Some(password)) => {
                let bank = ctx.data::<Arc<Bank>>()?;
                let address = ctx.data_opt::<ClientAddress>().map(|a| a.0);
                let checked = bank
                    .authenticate(&username, &password, address)
                    .await
                    .map_err(graphql_error)?;
                if let Err(reason) = checked {
                    return Ok(MyAccountsResult {
                        accounts: None,
                        reason: Some(reason),
                    });
                }
                username
            }
            (given, None) => {
                let claims = customer(ctx)?;
                if given.is_some_and(|given| given != claims.sub) {
                    return Err(forbidden(NOT_THE_USER));
                }
                claims.sub
            }
            (None, Some(_)) => {
                return Err(invalid(InvalidInput(
                    "a password needs its username".into(),
                )))
            }
        };
        let bank = ctx.data::<Arc<Bank>>()?;
        let accounts = bank.my_accounts(&username).await.map_err(graphql_error)?;
        Ok(MyAccountsResult {
            accounts: Some(accounts.into_iter().map(OwnedAccount::from).collect()),
            reason: None,
        })
    }

    /// Figures of the whole bank, for anyone: how many accounts and transactions there are,
    /// and how many transactions the last minute saw. Never an account.
    async fn bank_figures(&self, ctx: &Context<'_>) -> Result<BankFigures> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let figures = bank
            .queries
            .bank_figures()
            .await
            .map_err(|e| graphql_error(e.into()))?;
        let feed = ctx.data::<Arc<TransactionFeed>>()?;
        let int = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(BankFigures {
            accounts: int(figures.accounts),
            transactions: int(figures.transactions),
            transactions_last_minute: int(feed.seen_last_minute()),
        })
    }

    /// For employees only (send the `employee_login` session as `Authorization: Bearer …`).
    /// Every account of the bank, also those without transactions, sorted by IBAN, one page at
    /// a time: `total` is how many match, `accounts` at most `max_items` (1–1000) of them from
    /// position `offset` (0 or more) on, empty past the end. `search` (optional) keeps the
    /// accounts whose IBAN contains it, ignoring case and spaces (`nl66 open`), or one of whose
    /// owners' usernames contains it, ignoring case. Balances are Dutch euros (`€ 1.234,56`).
    #[graphql(
        complexity = "max_items.unwrap_or(DEFAULT_PAGE_SIZE).max(1) as usize * child_complexity"
    )]
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
    /// got lost. For the customer who started it, and employees.
    async fn transfer_status(&self, ctx: &Context<'_>, uuid: String) -> Result<TransferStatus> {
        let claims = caller(ctx)?;
        let id: Id = uuid
            .parse()
            .map_err(|_| invalid(InvalidInput(format!("uuid `{uuid}` is not a valid UUID"))))?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let status = bank
            .queries
            .transfer_status(id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        let started_by_caller = |status: &crate::reads::TransferStatus| {
            status.initiator.as_deref() == Some(claims.sub.as_str())
        };
        match status {
            Some(status) if claims.role == Role::Customer && !started_by_caller(&status) => {
                Err(forbidden(NOT_AN_OWNER_OF_TRANSFER))
            }
            Some(status) => Ok(TransferStatus {
                uuid: id.to_uuid_string(),
                status: status.status.name().to_string(),
                reason: status.reason,
            }),
            None => Err(graphql_error(RequestError::Read(
                crate::reads::ReadError::Refused(Refusal::TransferDoesNotExist.text().into()),
            ))),
        }
    }
}
