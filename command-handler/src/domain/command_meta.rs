//! The id and name every feedback record needs, for each command topic.

use topology::{BankCommand, CommandName, Id, TransferCommand, UserCommand};

/// What a `CommandSucceeded` / `CommandFailed` must repeat of the command it answers.
pub trait CommandMeta {
    /// The id the sender correlates the feedback with (for saga commands: the transfer id).
    fn command_id(&self) -> Id;
    fn command_name(&self) -> CommandName;
}

impl CommandMeta for UserCommand {
    fn command_id(&self) -> Id {
        match self {
            UserCommand::CreateUserAccountCommand(c) => c.id,
        }
    }

    fn command_name(&self) -> CommandName {
        match self {
            UserCommand::CreateUserAccountCommand(_) => CommandName::CreateUserAccountCommand,
        }
    }
}

impl CommandMeta for BankCommand {
    fn command_id(&self) -> Id {
        match self {
            BankCommand::AddUserToBankAccountCommand(c) => c.id,
            BankCommand::CreateBankAccountCommand(c) => c.id,
            BankCommand::MarkTransferCompletedCommand(c) => c.id,
            BankCommand::MarkTransferFailedCommand(c) => c.id,
            BankCommand::MoneyTransferCommand(c) => c.id,
            BankCommand::RemoveUserFromBankAccountCommand(c) => c.id,
        }
    }

    fn command_name(&self) -> CommandName {
        match self {
            BankCommand::AddUserToBankAccountCommand(_) => CommandName::AddUserToBankAccountCommand,
            BankCommand::CreateBankAccountCommand(_) => CommandName::CreateBankAccountCommand,
            BankCommand::MarkTransferCompletedCommand(_) => {
                CommandName::MarkTransferCompletedCommand
            }
            BankCommand::MarkTransferFailedCommand(_) => CommandName::MarkTransferFailedCommand,
            BankCommand::MoneyTransferCommand(_) => CommandName::MoneyTransferCommand,
            BankCommand::RemoveUserFromBankAccountCommand(_) => {
                CommandName::RemoveUserFromBankAccountCommand
            }
        }
    }
}

impl CommandMeta for TransferCommand {
    fn command_id(&self) -> Id {
        match self {
            TransferCommand::CreditMoneyCommand(c) => c.id,
            TransferCommand::DebitMoneyCommand(c) => c.id,
            TransferCommand::ReturnMoneyCommand(c) => c.id,
        }
    }

    fn command_name(&self) -> CommandName {
        match self {
            TransferCommand::CreditMoneyCommand(_) => CommandName::CreditMoneyCommand,
            TransferCommand::DebitMoneyCommand(_) => CommandName::DebitMoneyCommand,
            TransferCommand::ReturnMoneyCommand(_) => CommandName::ReturnMoneyCommand,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::id;
    use topology::{CreditMoneyCommand, MarkTransferCompletedCommand};

    #[test]
    fn names_match_the_record_names() {
        let bank: BankCommand = MarkTransferCompletedCommand { id: id(3) }.into();
        let transfer: TransferCommand = CreditMoneyCommand {
            id: id(4),
            iban: "x".into(),
            amount: 1,
        }
        .into();
        assert_eq!(bank.command_id(), id(3));
        assert_eq!(
            bank.command_name().symbol().1,
            "MarkTransferCompletedCommand"
        );
        assert_eq!(transfer.command_id(), id(4));
        assert_eq!(transfer.command_name().symbol().1, "CreditMoneyCommand");
    }
}
