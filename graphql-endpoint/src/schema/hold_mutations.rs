//! The mutations of holds (two-phase transfers, see [`crate::holds`]): each takes the seed
//! contract's username and token of an owner of the held account, or, without a token, the
//! logged-in customer's session.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::access::{acting_owner, acting_transfer, TransferArgs};
use super::errors::{graphql_error, invalid};
use super::types::{CommandResult, MoneyTransferResult};
use crate::bank::Bank;
use crate::{holds, validation};

#[derive(Default)]
pub struct HoldMutations;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl HoldMutations {
    /// Reserve `amount` cents of account `from` for a later transfer to `to`, for at most
    /// `expires_in_seconds` (1 s to 30 days): the available balance drops at once, the booked
    /// balance only when the hold is captured. `uuid` identifies the hold and, once captured,
    /// its transfer. Refused like a debit when the available balance would go below the limit.
    #[allow(clippy::too_many_arguments)] // the arguments are the public GraphQL contract
    async fn hold_money(
        &self,
        ctx: &Context<'_>,
        uuid: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
        amount: i32,
        from: String,
        to: String,
        descr: String,
        expires_in_seconds: i32,
    ) -> Result<CommandResult> {
        let args = TransferArgs {
            uuid: &uuid,
            amount,
            from: &from,
            to: &to,
            descr: &descr,
        };
        let transfer = acting_transfer(ctx, &from, username, token, args).await?;
        let hold = holds::hold(transfer, expires_in_seconds).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank.hold_money(&hold).await.map_err(graphql_error)?;
        Ok(outcome.into())
    }

    /// Book `amount` cents (at most what was held) of hold `uuid` on account `iban` to the
    /// payee named at the hold; the rest of the hold is released. Answers when the transfer
    /// (of the hold's uuid) has ended; a retry answers the first capture's outcome.
    async fn capture_hold(
        &self,
        ctx: &Context<'_>,
        uuid: String,
        iban: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
        amount: i32,
    ) -> Result<MoneyTransferResult> {
        let (username, token) = acting_owner(ctx, &iban, username, token).await?;
        let id = validation::named_on_account(&uuid, &iban, &username, &token).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .capture_hold(id, &iban, i64::from(amount), &username, &token)
            .await
            .map_err(graphql_error)?;
        Ok(MoneyTransferResult::of(id, outcome))
    }

    /// Release hold `uuid` on account `iban` without booking anything.
    async fn void_hold(
        &self,
        ctx: &Context<'_>,
        uuid: String,
        iban: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
    ) -> Result<CommandResult> {
        let (username, token) = acting_owner(ctx, &iban, username, token).await?;
        let id = validation::named_on_account(&uuid, &iban, &username, &token).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .void_hold(id, &iban, &username, &token)
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }
}
