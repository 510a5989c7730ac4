//! The mutations of standing orders (see [`crate::standing_orders`]): each takes the seed
//! contract's username and token of an owner of the paying account, or, without a token, the
//! logged-in customer's session.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Result};
use topology::StandingOrderSchedule;

use super::access::{acting_owner, acting_transfer, TransferArgs};
use super::errors::{graphql_error, invalid};
use super::types::CommandResult;
use crate::bank::Bank;
use crate::{instants, standing_orders, validation};

/// How often a standing order runs.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Once, at `first_run`.
    #[graphql(name = "ONCE")]
    Once,
    /// Every seven days from `first_run`.
    #[graphql(name = "WEEKLY")]
    Weekly,
    /// Every month on the day of `first_run` (the month's last day when it is shorter), at its
    /// time of day (UTC).
    #[graphql(name = "MONTHLY")]
    Monthly,
}

impl From<Schedule> for StandingOrderSchedule {
    fn from(schedule: Schedule) -> Self {
        match schedule {
            Schedule::Once => StandingOrderSchedule::Once,
            Schedule::Weekly => StandingOrderSchedule::Weekly,
            Schedule::Monthly => StandingOrderSchedule::Monthly,
        }
    }
}

#[derive(Default)]
pub struct OrderMutations;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl OrderMutations {
    /// Pay `amount` cents from `from` to `to` on `schedule`, the first time at `first_run`
    /// (RFC 3339, not in the past, within 366 days), at most `runs` times (1 to 1200; without:
    /// until cancelled). Each run is a transfer of its own, with the hash of this session's or
    /// token's right to the account: a run after that owner left the account is refused. A
    /// refused run (e.g. not enough money) is not tried again; the next one comes at its time.
    #[allow(clippy::too_many_arguments)] // the arguments are the public GraphQL contract
    async fn set_standing_order(
        &self,
        ctx: &Context<'_>,
        uuid: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
        amount: i32,
        from: String,
        to: String,
        descr: String,
        schedule: Schedule,
        first_run: String,
        runs: Option<i32>,
    ) -> Result<CommandResult> {
        let args = TransferArgs {
            uuid: &uuid,
            amount,
            from: &from,
            to: &to,
            descr: &descr,
        };
        let transfer = acting_transfer(ctx, &from, username, token, args).await?;
        let first_at = instants::parse("first_run", &first_run).map_err(invalid)?;
        let order =
            standing_orders::order(transfer, schedule.into(), first_at, runs).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .set_standing_order(&order)
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }

    /// End standing order `uuid` of account `iban`: no run after this one.
    async fn cancel_standing_order(
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
            .cancel_standing_order(id, &iban, &username, &token)
            .await
            .map_err(graphql_error)?;
        Ok(outcome.into())
    }
}
