//! `set_alert` and `remove_alert`: the command handler decides both on the account (owner and
//! token as for a debit, the threshold's rules), and the projector derives the alerts (see
//! `projector::alerts`). The endpoint checks only sizes, and follows `alert_events` for the
//! `alerts` subscription.

use topology::{AlertKind, BankCommand, Id, RemoveAlertCommand, SetAlertCommand};

use crate::bank::{Bank, RequestError};
use crate::owners::CommandOutcome;
use crate::validation;

impl Bank {
    /// Sets the rule of `kind` on `iban` (replacing one of that kind), for its owner
    /// `username` proven by `token`. `threshold` in cents.
    pub async fn set_alert(
        &self,
        iban: &str,
        username: &str,
        token_hash: &str,
        kind: AlertKind,
        threshold: Option<i64>,
    ) -> Result<CommandOutcome, RequestError> {
        validation::account_command(iban, username, token_hash)?;
        let command = BankCommand::from(SetAlertCommand {
            id: Id::random(),
            iban: iban.to_string(),
            username: username.to_string(),
            token: token_hash.to_string(),
            alert_kind: kind,
            threshold,
        });
        Ok(self.commands.execute(&command).await?.into())
    }

    /// Removes the rule of `kind` from `iban`; succeeds also when there was none.
    pub async fn remove_alert(
        &self,
        iban: &str,
        username: &str,
        token_hash: &str,
        kind: AlertKind,
    ) -> Result<CommandOutcome, RequestError> {
        validation::account_command(iban, username, token_hash)?;
        let command = BankCommand::from(RemoveAlertCommand {
            id: Id::random(),
            iban: iban.to_string(),
            username: username.to_string(),
            token: token_hash.to_string(),
            alert_kind: kind,
        });
        Ok(self.commands.execute(&command).await?.into())
    }
}
