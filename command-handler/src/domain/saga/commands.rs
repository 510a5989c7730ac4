//! The commands the saga asks for, and the topic records they become.

use topology::{
    BankCommand, CommandName, CreditMoneyCommand, DebitMoneyCommand, Id,
    MarkTransferCompletedCommand, MarkTransferFailedCommand, ReturnMoneyCommand, TransferCommand,
};

/// A command the saga asks for, each carrying the transfer id as its command id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaCommand {
    DebitMoney(DebitMoneyCommand),
    CreditMoney(CreditMoneyCommand),
    ReturnMoney(ReturnMoneyCommand),
    MarkTransferCompleted(MarkTransferCompletedCommand),
    MarkTransferFailed(MarkTransferFailedCommand),
}

/// A saga command as the record of the topic it is sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaMessage {
    /// For `transfer_commands`.
    Transfer(TransferCommand),
    /// For `bank_commands`.
    Bank(BankCommand),
}

impl SagaCommand {
    pub fn transfer_id(&self) -> Id {
        match self {
            SagaCommand::DebitMoney(c) => c.id,
            SagaCommand::CreditMoney(c) => c.id,
            SagaCommand::ReturnMoney(c) => c.id,
            SagaCommand::MarkTransferCompleted(c) => c.id,
            SagaCommand::MarkTransferFailed(c) => c.id,
        }
    }

    pub fn command_name(&self) -> CommandName {
        match self {
            SagaCommand::DebitMoney(_) => CommandName::DebitMoneyCommand,
            SagaCommand::CreditMoney(_) => CommandName::CreditMoneyCommand,
            SagaCommand::ReturnMoney(_) => CommandName::ReturnMoneyCommand,
            SagaCommand::MarkTransferCompleted(_) => CommandName::MarkTransferCompletedCommand,
            SagaCommand::MarkTransferFailed(_) => CommandName::MarkTransferFailedCommand,
        }
    }

    pub fn into_message(self) -> SagaMessage {
        match self {
            SagaCommand::DebitMoney(c) => SagaMessage::Transfer(c.into()),
            SagaCommand::CreditMoney(c) => SagaMessage::Transfer(c.into()),
            SagaCommand::ReturnMoney(c) => SagaMessage::Transfer(c.into()),
            SagaCommand::MarkTransferCompleted(c) => SagaMessage::Bank(c.into()),
            SagaCommand::MarkTransferFailed(c) => SagaMessage::Bank(c.into()),
        }
    }
}
