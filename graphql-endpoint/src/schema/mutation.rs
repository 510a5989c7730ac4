//! What customers do to their accounts: sign up (`get_account`), open more accounts, share
//! them, set alerts and move money. Each takes the seed contract's username and token, or,
//! without a token, the logged-in customer's session (see [`super::access`]).

use std::sync::Arc;

use async_graphql::{Context, MergedObject, Object, Result};
use topology::routing::home;

use super::access::{
    acting_owner, acting_transfer, customer, forbidden, TransferArgs, NOT_THE_USER,
};
use super::alerts::AlertKind;
use super::errors::{graphql_error, invalid};
use super::hold_mutations::HoldMutations;
use super::order_mutations::OrderMutations;
use super::session_mutations::SessionMutations;
use super::types::{AccountResult, CommandResult, MoneyTransferResult};
use crate::accounts::Login;
use crate::bank::Bank;
use crate::client_address::ClientAddress;
use crate::validation;

/// Every mutation: the accounts', the holds', the standing orders' and the sessions'.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    AccountMutations,
    HoldMutations,
    OrderMutations,
    SessionMutations,
);

fn address(ctx: &Context<'_>) -> Option<std::net::IpAddr> {
    ctx.data_opt::<ClientAddress>().map(|address| address.0)
}

impl From<Login> for AccountResult {
    fn from(login: Login) -> Self {
        match login {
            Login::Account { iban, token } => AccountResult {
                iban: Some(iban),
                token,
                reason: None,
            },
            Login::Refused(reason) => AccountResult {
                reason: Some(reason),
                ..AccountResult::default()
            },
        }
    }
}

#[derive(Default)]
pub struct AccountMutations;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl AccountMutations {
    /// Sign up, or log in the seed contract's way: the first use of a username creates the
    /// user (the password must be strong) and a bank account; later ones check the password
    /// and answer the user's first account and token. Username and password need at least 8
    /// characters. For a session, use `login`.
    async fn get_account(
        &self,
        ctx: &Context<'_>,
        username: String,
        #[graphql(secret)] password: String,
    ) -> Result<AccountResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let login = bank
            .get_account(&username, &password, address(ctx))
            .await
            .map_err(graphql_error)?;
        Ok(login.into())
    }

    /// One more bank account, with a new IBAN, for the logged-in customer, or for `username`
    /// with `password`; answers its `iban` and the user's `token` for it. `get_account` keeps
    /// answering the user's first account; `my_accounts` lists them all.
    async fn open_account(
        &self,
        ctx: &Context<'_>,
        username: Option<String>,
        #[graphql(secret)] password: Option<String>,
    ) -> Result<AccountResult> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let username = match (username, password) {
            (Some(username), Some(password)) => {
                let checked = bank
                    .authenticate(&username, &password, address(ctx))
                    .await
                    .map_err(graphql_error)?;
                if let Err(reason) = checked {
                    return Ok(Login::Refused(reason).into());
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
                return Err(invalid(validation::InvalidInput(
                    "a password needs its username".into(),
                )))
            }
        };
        let opened = bank
            .open_another_account(&username)
            .await
            .map_err(graphql_error)?;
        bank.rights.forget_user(&username);
        Ok(opened.into())
    }

    /// Share account `iban`: its owner (the logged-in customer, or `username` proven by their
    /// `token`) makes the existing user `user_to_add` an owner too. The added user finds the
    /// account, with a token of their own, in `my_accounts`.
    async fn add_owner(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
        user_to_add: String,
    ) -> Result<CommandResult> {
        let (username, token) = acting_owner(ctx, &iban, username, token).await?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .add_owner(&iban, &username, &token, &user_to_add)
            .await
            .map_err(graphql_error)?;
        bank.rights.forget(&iban, &[&username, &user_to_add]);
        Ok(outcome.into())
    }

    /// Leave account `iban`: its owner (the logged-in customer, or `username` proven by their
    /// `token`) stops owning it. The last owner can leave only an account whose balance is zero.
    async fn remove_owner(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
    ) -> Result<CommandResult> {
        let (username, token) = acting_owner(ctx, &iban, username, token).await?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .remove_owner(&iban, &username, &token)
            .await
            .map_err(graphql_error)?;
        bank.rights.forget(&iban, &[&username]);
        Ok(outcome.into())
    }

    /// Set an alert rule on account `iban` (replacing one of the same kind), for its owner (the
    /// logged-in customer, or `username` proven by `token`). `threshold` in cents: needed, and
    /// positive, for BALANCE_BELOW and LARGE_DEBIT; not allowed for ANY_CREDIT. Alerts stream
    /// from the `alerts` subscription.
    async fn set_alert(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
        kind: AlertKind,
        threshold: Option<i32>,
    ) -> Result<CommandResult> {
        let (username, token) = acting_owner(ctx, &iban, username, token).await?;
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
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
        kind: AlertKind,
    ) -> Result<CommandResult> {
        let (username, token) = acting_owner(ctx, &iban, username, token).await?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .remove_alert(&iban, &username, &token, kind.into())
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }

    /// Move `amount` cents from `from` (`cash` for a deposit, or your IBAN) to `to`. Answers
    /// when the transfer has ended. `uuid` identifies the transfer: a retry with the same uuid
    /// moves no money twice and answers the original outcome. The seed contract's `username`
    /// and `token` prove the right to move the money; without a token, the logged-in customer's
    /// session does. Cash deposits: at most € 10.000,00 each and € 25.000,00 per account a day.
    #[allow(clippy::too_many_arguments)] // the arguments are the public GraphQL contract
    async fn money_transfer(
        &self,
        ctx: &Context<'_>,
        uuid: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
        amount: i32,
        from: String,
        to: String,
        descr: String,
    ) -> Result<MoneyTransferResult> {
        let args = TransferArgs {
            uuid: &uuid,
            amount,
            from: &from,
            to: &to,
            descr: &descr,
        };
        let transfer = acting_transfer(ctx, home(&from, &to), username, token, args).await?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .money_transfer(&transfer)
            .await
            .map_err(graphql_error)?;
        Ok(MoneyTransferResult::of(transfer.id, outcome))
    }
}
