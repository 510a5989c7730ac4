//! Holds (two-phase transfers): `hold_money` reserves money on an account, `capture_hold`
//! books all or part of it to the payee named at the hold (a transfer of the hold's uuid, so it
//! answers when that transfer has ended, like `money_transfer`), `void_hold` gives it back. The
//! command handler decides each and releases a hold that expired (see its `domain::holds`).
//!
//! A hold's uuid is the client's, like a transfer's: holding again under it is refused with
//! `transfer was already started, current status: held`; capturing again answers the outcome of
//! the first capture's transfer.

use topology::reasons::Refusal;
use topology::values::HOLD_EXPIRES_IN_MILLIS;
use topology::{BankCommand, CaptureHoldCommand, HoldMoneyCommand, Id, VoidHoldCommand};

use crate::bank::{Bank, RequestError};
use crate::owners::CommandOutcome;
use crate::transfers::Outcome;
use crate::validation::{InvalidInput, Transfer};

/// A hold as asked by a client, checked: the transfer its capture will be, and how long it
/// waits for that capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub transfer: Transfer,
    pub expires_in_millis: i64,
}

/// Checks `expires_in_seconds` (1 s ..= 30 days); the rest is a transfer's checks.
pub fn hold(transfer: Transfer, expires_in_seconds: i32) -> Result<Hold, InvalidInput> {
    let expires_in_millis = i64::from(expires_in_seconds) * 1_000;
    if !HOLD_EXPIRES_IN_MILLIS.contains(&expires_in_millis) {
        return Err(InvalidInput(format!(
            "expires_in_seconds should be 1 to {} (30 days)",
            HOLD_EXPIRES_IN_MILLIS.end() / 1_000
        )));
    }
    if transfer.is_deposit() {
        return Err(InvalidInput(
            "cash cannot be held: from must be your IBAN".into(),
        ));
    }
    Ok(Hold {
        transfer,
        expires_in_millis,
    })
}

impl Bank {
    pub async fn hold_money(&self, hold: &Hold) -> Result<CommandOutcome, RequestError> {
        let transfer = &hold.transfer;
        let command = BankCommand::from(HoldMoneyCommand {
            id: transfer.id,
            token: transfer.token_hash.clone(),
            amount: transfer.amount,
            from: transfer.from.clone(),
            to: transfer.to.clone(),
            description: transfer.descr.clone(),
            username: transfer.username.clone(),
            expires_in: hold.expires_in_millis,
        });
        Ok(self.commands.execute(&command).await?.into())
    }

    /// Captures `amount` cents of hold `id` on `iban` and waits for its transfer's end.
    pub async fn capture_hold(
        &self,
        id: Id,
        iban: &str,
        amount: i64,
        username: &str,
        token_hash: &str,
    ) -> Result<Outcome, RequestError> {
        if amount <= 0 {
            return Err(InvalidInput("amount should be positive".into()).into());
        }
        let command = BankCommand::from(CaptureHoldCommand {
            id,
            iban: iban.to_string(),
            amount,
            username: username.to_string(),
            token: token_hash.to_string(),
        });
        // Captured before (its transfer started, ended or not): a retry.
        let captured_before = |reason: &str| {
            Refusal::HoldIsNotOpen.matches(reason) && !reason.ends_with(": released")
        };
        self.until_transfer_ended(id, &command, captured_before)
            .await
    }

    pub async fn void_hold(
        &self,
        id: Id,
        iban: &str,
        username: &str,
        token_hash: &str,
    ) -> Result<CommandOutcome, RequestError> {
        let command = BankCommand::from(VoidHoldCommand {
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
            "hotel",
        )
        .expect("a valid transfer")
    }

    #[test]
    fn a_hold_waits_one_second_to_thirty_days_and_never_holds_cash() {
        let own = "NL66OPEN0000000000";
        assert_eq!(
            hold(transfer(own), 60).map(|hold| hold.expires_in_millis),
            Ok(60_000)
        );
        let longest = i32::try_from(HOLD_EXPIRES_IN_MILLIS.end() / 1_000).unwrap_or(0);
        assert!(hold(transfer(own), longest).is_ok());
        for seconds in [0, -1, longest + 1] {
            assert!(hold(transfer(own), seconds).is_err(), "{seconds}");
        }
        assert!(hold(transfer("cash"), 60).is_err());
    }
}
