//! Standing orders: `set_standing_order` asks the command handler to pay `amount` to `to` once
//! at `first_run`, or every week or month from then (at most `runs` times, or until
//! `cancel_standing_order`). Each run is a transfer of its own, decided by the command handler
//! when it is due (see its `domain::standing_orders`); the owner sees the orders under way,
//! and when each runs next, in `my_accounts`.

use topology::values::MAX_STANDING_ORDER_RUNS;
use topology::StandingOrderSchedule;
use topology::{BankCommand, CancelStandingOrderCommand, Id, SetStandingOrderCommand};

use crate::bank::{Bank, RequestError};
use crate::owners::CommandOutcome;
use crate::validation::{InvalidInput, Transfer};

/// An order as asked by a client, checked: the transfer each run will be, its schedule, its
/// first run (milliseconds since the epoch) and how many runs at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub transfer: Transfer,
    pub schedule: StandingOrderSchedule,
    pub first_at: i64,
    pub runs: Option<i32>,
}

/// Checks what the endpoint can judge alone: no cash, a sensible count of runs. Whether the
/// first run lies in the past or too far ahead is the command handler's call, with its clock.
pub fn order(
    transfer: Transfer,
    schedule: StandingOrderSchedule,
    first_at: i64,
    runs: Option<i32>,
) -> Result<Order, InvalidInput> {
    if transfer.is_deposit() {
        return Err(InvalidInput(
            "cash cannot pay a standing order: from must be your IBAN".into(),
        ));
    }
    if runs.is_some_and(|runs| !(1..=MAX_STANDING_ORDER_RUNS).contains(&runs)) {
        return Err(InvalidInput(format!(
            "runs should be 1 to {MAX_STANDING_ORDER_RUNS}"
        )));
    }
    Ok(Order {
        transfer,
        schedule,
        first_at,
        runs,
    })
}

impl Bank {
    pub async fn set_standing_order(&self, order: &Order) -> Result<CommandOutcome, RequestError> {
        let transfer = &order.transfer;
        let command = BankCommand::from(SetStandingOrderCommand {
            id: transfer.id,
            token: transfer.token_hash.clone(),
            amount: transfer.amount,
            from: transfer.from.clone(),
            to: transfer.to.clone(),
            description: transfer.descr.clone(),
            username: transfer.username.clone(),
            schedule: order.schedule,
            first_at: order.first_at,
            runs: order.runs,
        });
        Ok(self.commands.execute(&command).await?.into())
    }

    pub async fn cancel_standing_order(
        &self,
        id: Id,
        iban: &str,
        username: &str,
        token_hash: &str,
    ) -> Result<CommandOutcome, RequestError> {
        let command = BankCommand::from(CancelStandingOrderCommand {
            id,
            iban: iban.to_string(),
            username: username.to_string(),
            token: token_hash.to_string(),
        });
        Ok(self.commands.execute(&command).await?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(from: &str) -> Transfer {
        crate::validation::transfer(
            "7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10",
            "alice",
            "hash",
            100,
            from,
            "NL39OPEN0000000001",
            "rent",
        )
        .expect("a valid transfer")
    }

    #[test]
    fn an_order_runs_one_to_1200_times_and_never_from_cash() {
        let own = "NL66OPEN0000000000";
        let monthly = StandingOrderSchedule::Monthly;
        assert!(order(transfer(own), monthly, 0, None).is_ok());
        assert!(order(transfer(own), monthly, 0, Some(1_200)).is_ok());
        for runs in [0, -1, 1_201] {
            assert!(
                order(transfer(own), monthly, 0, Some(runs)).is_err(),
                "{runs}"
            );
        }
        assert!(order(transfer("cash"), monthly, 0, None).is_err());
    }
}
