use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::alerts::AlertKind;
use super::errors::{graphql_error, invalid};
use super::types::{AccountResult, CommandResult, EmployeeSession, MoneyTransferResult};
use crate::accounts::Login;
use crate::bank::{Bank, RequestError};
use crate::employees::Employees;
use crate::validation;

impl From<Login> for AccountResult {
    fn from(login: Login) -> Self {
        match login {
            Login::Account { iban, token } => AccountResult {
                iban: Some(iban),
                token: Some(token),
                reason: None,
            },
            Login::Refused(reason) => AccountResult {
                reason: Some(reason),
                ..AccountResult::default()
            },
        }
    }
}

pub struct MutationRoot;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl MutationRoot {
    /// Log in; the first login with a username creates the user and a bank account. Username
    /// and password need at least 8 characters.
    async fn get_account(
        &self,
        ctx: &Context<'_>,
        username: String,
        #[graphql(secret)] password: String,
    ) -> Result<AccountResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let login = bank
            .get_account(&username, &password)
            .await
            .map_err(graphql_error)?;
        Ok(login.into())
    }

    /// One more bank account, with a new IBAN, for an existing user (password checked as by
    /// `get_account`); answers its `iban` and the user's `token` for it. `get_account` keeps
    /// answering the user's first account; `my_accounts` lists them all.
    async fn open_account(
        &self,
        ctx: &Context<'_>,
        username: String,
        #[graphql(secret)] password: String,
    ) -> Result<AccountResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let opened = bank
            .open_another_account(&username, &password)
            .await
            .map_err(graphql_error)?;
        Ok(opened.into())
    }

    /// Share account `iban`: its owner `username` (proven by their `token`) makes the
    /// existing user `user_to_add` an owner too. The added user finds the account, with a
    /// token of their own, in `my_accounts`.
    async fn add_owner(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: String,
        #[graphql(secret)] token: String,
        user_to_add: String,
    ) -> Result<CommandResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .add_owner(&iban, &username, &token, &user_to_add)
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }

    /// Leave account `iban`: `username` (proven by their `token`) stops owning it. The last
    /// owner can leave only an account whose balance is zero.
    async fn remove_owner(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: String,
        #[graphql(secret)] token: String,
    ) -> Result<CommandResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .remove_owner(&iban, &username, &token)
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }

    /// Set an alert rule on account `iban` (replacing one of the same kind), for its owner
    /// `username` proven by `token`. `threshold` in cents: needed, and positive, for
    /// BALANCE_BELOW and LARGE_DEBIT; not allowed for ANY_CREDIT. Alerts stream from the
    /// `alerts` subscription.
    async fn set_alert(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: String,
        #[graphql(secret)] token: String,
        kind: AlertKind,
        threshold: Option<i32>,
    ) -> Result<CommandResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .set_alert(
                &iban,
                &username,
                &token,
                kind.into(),
                threshold.map(i64::from),
            )
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }

    /// Remove the alert rule of `kind` from account `iban`; succeeds also when none was set.
    async fn remove_alert(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: String,
        #[graphql(secret)] token: String,
        kind: AlertKind,
    ) -> Result<CommandResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .remove_alert(&iban, &username, &token, kind.into())
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }

    /// Log in as a bank employee (employees are configured on the endpoint, not signed up).
    /// The session `token` goes along as `Authorization: Bearer <token>` with every operation
    /// that lists other customers (`all_accounts`) until `expires_at`.
    async fn employee_login(
        &self,
        ctx: &Context<'_>,
        username: String,
        #[graphql(secret)] password: String,
    ) -> Result<EmployeeSession> {
        validation::credentials(&username, &password).map_err(invalid)?;
        let employees = ctx.data::<Arc<Employees>>()?;
        let session = employees
            .log_in(&username, &password)
            .await
            .map_err(|e| graphql_error(RequestError::from(e)))?;
        Ok(match session {
            Ok(session) => EmployeeSession {
                token: Some(session.token),
                expires_at: Some(session.expires_at),
                reason: None,
            },
            Err(reason) => EmployeeSession {
                reason: Some(reason.to_string()),
                ..EmployeeSession::default()
            },
        })
    }

    /// Move `amount` cents from `from` (`cash` for a deposit, or your IBAN) to `to`. Answers
    /// when the transfer has ended. `uuid` identifies the transfer: a retry with the same uuid
    /// moves no money twice and answers the original outcome.
    #[allow(clippy::too_many_arguments)] // the arguments are the public GraphQL contract
    async fn money_transfer(
        &self,
        ctx: &Context<'_>,
        uuid: String,
        username: String,
        #[graphql(secret)] token: String,
        amount: i32,
        from: String,
        to: String,
        descr: String,
    ) -> Result<MoneyTransferResult> {
        let transfer = validation::transfer(
            &uuid,
            &username,
            &token,
            i64::from(amount),
            &from,
            &to,
            &descr,
        )
        .map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .money_transfer(&transfer)
            .await
            .map_err(graphql_error)?;
        Ok(MoneyTransferResult {
            uuid: transfer.id.to_uuid_string(),
            success: outcome.success,
            reason: outcome.reason,
            ended: outcome.ended,
        })
    }
}
