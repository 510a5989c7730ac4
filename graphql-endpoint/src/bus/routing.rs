//! The record key of every command the endpoint sends: the aggregate it acts on, never the
//! command id.
//!
//! The command topics are partitioned by account (`topology::routing`), and a command-handler
//! instance decides only the commands in the partitions it holds, against the accounts and
//! users of those partitions. Kafka's partitioner picks the partition from the key alone, so a
//! command keyed by anything but its aggregate would be decided by an instance that does not
//! hold the account. Feedback is not affected: it is matched by the command id inside the
//! record (see [`super::commands`]), whatever key the command went out under.

use topology::routing::home;
use topology::{BankCommand, UserCommand};

/// A command that knows the key of its aggregate.
pub trait AggregateKeyed {
    /// The record key to produce the command under, or `None` for a command whose aggregate
    /// cannot be told from the command itself.
    fn aggregate_key(&self) -> Option<&str>;
}

/// `user_commands` are keyed by username: the user aggregate.
impl AggregateKeyed for UserCommand {
    fn aggregate_key(&self) -> Option<&str> {
        match self {
            UserCommand::CreateUserAccountCommand(command) => Some(command.username.as_str()),
            UserCommand::ChangeUserPasswordCommand(command) => Some(command.username.as_str()),
        }
    }
}

/// `bank_commands`: account commands by IBAN; a transfer by its home account (its `from`, or
/// its `to` for a deposit from `cash`), where its saga runs.
impl AggregateKeyed for BankCommand {
    fn aggregate_key(&self) -> Option<&str> {
        match self {
            BankCommand::CreateBankAccountCommand(command) => Some(command.iban.as_str()),
            BankCommand::AddUserToBankAccountCommand(command) => Some(command.iban.as_str()),
            BankCommand::RemoveUserFromBankAccountCommand(command) => Some(command.iban.as_str()),
            BankCommand::MoneyTransferCommand(command) => Some(home(&command.from, &command.to)),
            BankCommand::SetAlertCommand(command) => Some(command.iban.as_str()),
            BankCommand::RemoveAlertCommand(command) => Some(command.iban.as_str()),
            BankCommand::HoldMoneyCommand(command) => Some(command.from.as_str()),
            BankCommand::CaptureHoldCommand(command) => Some(command.iban.as_str()),
            BankCommand::VoidHoldCommand(command) => Some(command.iban.as_str()),
            BankCommand::SetStandingOrderCommand(command) => Some(command.from.as_str()),
            BankCommand::CancelStandingOrderCommand(command) => Some(command.iban.as_str()),
            // Steps of the saga, sent by the command handler: they carry only the transfer id,
            // and their key (the transfer's home) is known only to the saga. The endpoint never
            // sends them.
            BankCommand::MarkTransferCompletedCommand(_)
            | BankCommand::MarkTransferFailedCommand(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use topology::values::{CASH, COMPANY_IBAN};
    use topology::{
        AddUserToBankAccountCommand, CreateBankAccountCommand, CreateUserAccountCommand, Id,
        MarkTransferCompletedCommand, MarkTransferFailedCommand, MoneyTransferCommand,
        RemoveUserFromBankAccountCommand,
    };

    use super::*;

    const ALICE_IBAN: &str = "NL20OPEN0123456789";

    fn transfer(from: &str, to: &str) -> BankCommand {
        BankCommand::from(MoneyTransferCommand {
            id: Id::random(),
            token: "12345678901234567890".into(),
            amount: 1_000,
            from: from.into(),
            to: to.into(),
            description: "dinner".into(),
            username: "alice-demo".into(),
        })
    }

    #[test]
    fn a_new_user_is_keyed_by_username() {
        let command = UserCommand::from(CreateUserAccountCommand {
            id: Id::random(),
            username: "alice-demo".into(),
            password: "$argon2id$…".into(),
        });
        assert_eq!(command.aggregate_key(), Some("alice-demo"));
    }

    #[test]
    fn account_commands_are_keyed_by_iban() {
        let create = BankCommand::from(CreateBankAccountCommand {
            id: Id::random(),
            iban: ALICE_IBAN.into(),
            username: "alice-demo".into(),
            token_hash: None,
            token_nonce: None,
        });
        let add = BankCommand::from(AddUserToBankAccountCommand {
            id: Id::random(),
            iban: ALICE_IBAN.into(),
            username: "alice-demo".into(),
            token: "12345678901234567890".into(),
            user_to_add: "bob-demo".into(),
            token_hash: None,
            token_nonce: None,
        });
        let remove = BankCommand::from(RemoveUserFromBankAccountCommand {
            id: Id::random(),
            iban: ALICE_IBAN.into(),
            username: "alice-demo".into(),
            token: "12345678901234567890".into(),
        });
        for command in [create, add, remove] {
            assert_eq!(command.aggregate_key(), Some(ALICE_IBAN), "{command:?}");
        }
    }

    #[test]
    fn a_transfer_is_keyed_by_the_account_the_money_leaves() {
        assert_eq!(
            transfer(ALICE_IBAN, COMPANY_IBAN).aggregate_key(),
            Some(ALICE_IBAN)
        );
        // Money leaving the bank still lives with the account it leaves.
        assert_eq!(
            transfer(ALICE_IBAN, "NL91ABNA0417164300").aggregate_key(),
            Some(ALICE_IBAN)
        );
    }

    #[test]
    fn a_deposit_is_keyed_by_the_account_it_goes_into() {
        assert_eq!(transfer(CASH, ALICE_IBAN).aggregate_key(), Some(ALICE_IBAN));
    }

    #[test]
    fn saga_steps_have_no_key_the_endpoint_could_know() {
        let completed = BankCommand::from(MarkTransferCompletedCommand { id: Id::random() });
        let failed = BankCommand::from(MarkTransferFailedCommand {
            id: Id::random(),
            reason: "iban not known".into(),
        });
        assert_eq!(completed.aggregate_key(), None);
        assert_eq!(failed.aggregate_key(), None);
    }
}
