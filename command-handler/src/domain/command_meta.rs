//! The id and name every feedback record needs, for each command topic.

use topology::{CommandName, Id, Identified, NamedBy};

/// What a `CommandSucceeded` / `CommandFailed` must repeat of the command it answers. The
/// topology generates both for every command topic's enum; this names them for the handler.
pub trait CommandMeta {
    /// The id the sender correlates the feedback with (for saga commands: the transfer id).
    fn command_id(&self) -> Id;
    fn command_name(&self) -> CommandName;
}

impl<C: Identified + NamedBy<CommandName>> CommandMeta for C {
    fn command_id(&self) -> Id {
        self.id()
    }

    fn command_name(&self) -> CommandName {
        self.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::id;
    use topology::{
        BankCommand, CreditMoneyCommand, MarkTransferCompletedCommand, TransferCommand,
    };

    #[test]
    fn names_match_the_record_names() {
        let bank: BankCommand = MarkTransferCompletedCommand { id: id(3) }.into();
        let transfer: TransferCommand = CreditMoneyCommand {
            id: id(4),
            iban: "x".into(),
            amount: 1,
            transfer_from: None,
            transfer_description: None,
            saga_signature: None,
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
