//! `add_owner` and `remove_owner`: sharing an account and leaving it. The command handler
//! decides both on the account (SPEC §4 AddUserToBankAccount / RemoveUserFromBankAccount); the
//! endpoint only adds that the user to add must exist, which the account cannot know.

use topology::reasons::Refusal;
use topology::{AddUserToBankAccountCommand, BankCommand, Id, RemoveUserFromBankAccountCommand};

use crate::bank::{Bank, RequestError};
use crate::bus::Feedback;
use crate::validation;

/// The answer of a command that gives nothing back but success or a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub success: bool,
    pub reason: Option<String>,
}

impl CommandOutcome {
    pub fn succeeded() -> Self {
        Self {
            success: true,
            reason: None,
        }
    }

    pub fn refused(reason: impl Into<String>) -> Self {
        Self {
            success: false,
            reason: Some(reason.into()),
        }
    }
}

impl From<Feedback> for CommandOutcome {
    fn from(feedback: Feedback) -> Self {
        match feedback {
            Feedback::Succeeded { .. } => Self {
                success: true,
                reason: None,
            },
            Feedback::Failed { reason, .. } => Self::refused(reason),
        }
    }
}

impl Bank {
    /// `username` (an owner, proven by `token`) makes `user_to_add` an owner of `iban` too; the
    /// added user gets a token of their own, which only they see (`my_accounts`).
    pub async fn add_owner(
        &self,
        iban: &str,
        username: &str,
        token_hash: &str,
        user_to_add: &str,
    ) -> Result<CommandOutcome, RequestError> {
        validation::account_command(iban, username, token_hash)?;
        validation::username("user_to_add", user_to_add)?;
        // Users are never deleted, so one the projector knows exists for good.
        if self.queries.find_user(user_to_add).await?.is_none() {
            return Ok(CommandOutcome::refused(
                Refusal::UsernameDoesNotExist.text(),
            ));
        }
        // The added user's own token, shown to them (only) by `my_accounts`.
        let added = self.tokens.issue(iban, user_to_add);
        let command = BankCommand::from(AddUserToBankAccountCommand {
            id: Id::random(),
            iban: iban.to_string(),
            username: username.to_string(),
            token: token_hash.to_string(),
            user_to_add: user_to_add.to_string(),
            token_hash: Some(added.hash),
            token_nonce: Some(added.nonce),
        });
        Ok(self.commands.execute(&command).await?.into())
    }

    /// `username` (an owner, proven by `token`) stops owning `iban`; the last owner only of an
    /// empty account.
    pub async fn remove_owner(
        &self,
        iban: &str,
        username: &str,
        token_hash: &str,
    ) -> Result<CommandOutcome, RequestError> {
        validation::account_command(iban, username, token_hash)?;
        let command = BankCommand::from(RemoveUserFromBankAccountCommand {
            id: Id::random(),
            iban: iban.to_string(),
            username: username.to_string(),
            token: token_hash.to_string(),
        });
        Ok(self.commands.execute(&command).await?.into())
    }
}
