use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::errors::{graphql_error, invalid};
use super::types::{AccountResult, MoneyTransferResult};
use crate::accounts::Login;
use crate::bank::Bank;
use crate::validation;

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
        Ok(match login {
            Login::Account { iban, token } => AccountResult {
                iban: Some(iban),
                token: Some(token),
                reason: None,
            },
            Login::Refused(reason) => AccountResult {
                reason: Some(reason),
                ..AccountResult::default()
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
