use topology::values::{open_iban_for_account, CASH};
use topology::{
    CreateBankAccountCommand, CreateUserAccountCommand, CreditMoneyCommand, DebitMoneyCommand,
    MarkTransferCompletedCommand, MoneyTransferCommand,
};

use super::*;
use crate::domain::TransferStatus;

fn id(n: u8) -> Id {
    Id([n; 16])
}

fn fresh(token: &str) -> Fresh {
    Fresh {
        token: token.into(),
    }
}

fn open_account(handler: &mut Handler, n: u8, iban: &str, token: &str) {
    let create = CreateBankAccountCommand {
        id: id(n),
        iban: iban.into(),
        username: "alice".into(),
    };
    handler.bank_command(&create.into(), &fresh(token));
}

fn transfer(n: u8, from: &str, to: &str, amount: i64) -> BankCommand {
    MoneyTransferCommand {
        id: id(n),
        token: "t-a".into(),
        amount,
        from: from.into(),
        to: to.into(),
        description: "test".into(),
        username: "alice".into(),
    }
    .into()
}

#[test]
fn a_created_user_gets_its_event_keyed_by_username_and_feedback_keyed_by_id() {
    let mut handler = Handler::default();
    let command: UserCommand = CreateUserAccountCommand {
        id: id(1),
        username: "alice".into(),
        password: "hash".into(),
    }
    .into();
    let outputs = handler.user_command(&command);
    assert!(matches!(&outputs[0], Output::UserEvent(key, _) if key == "alice"));
    assert!(matches!(
        &outputs[1],
        Output::UserFeedback(key, UserCommandFeedback::CommandSucceeded(_)) if *key == id(1).to_uuid_string()
    ));
    let again = handler.user_command(&command);
    assert_eq!(
        again,
        vec![Output::UserFeedback(
            id(1).to_uuid_string(),
            CommandFailed {
                id: id(1),
                command_name: topology::CommandName::CreateUserAccountCommand,
                reason: "user already exists".into(),
            }
            .into()
        )]
    );
}

#[test]
fn a_new_account_token_is_the_additional_info() {
    let mut handler = Handler::default();
    let iban = open_iban_for_account(7);
    let create = CreateBankAccountCommand {
        id: id(1),
        iban: iban.clone(),
        username: "alice".into(),
    };
    let outputs = handler.bank_command(&create.into(), &fresh("t-a"));
    assert!(matches!(&outputs[0], Output::BankEvent(key, _) if *key == iban));
    let Output::BankFeedback(_, BankCommandFeedback::CommandSucceeded(ok)) = &outputs[1] else {
        panic!("expected success: {outputs:?}");
    };
    assert_eq!(ok.additional_info.as_deref(), Some("t-a"));
}

#[test]
fn a_deposit_runs_through_the_saga_to_completion() {
    let mut handler = Handler::default();
    let iban = open_iban_for_account(1);
    open_account(&mut handler, 1, &iban, "t-a");

    let outputs = handler.bank_command(&transfer(9, CASH, &iban, 500), &fresh("x"));
    let credit = outputs
        .iter()
        .find_map(|o| match o {
            Output::TransferCommand(key, TransferCommand::CreditMoneyCommand(c)) => {
                Some((key.clone(), c.clone()))
            }
            _ => None,
        })
        .expect("a CreditMoneyCommand");
    assert_eq!(credit.0, iban, "account commands are keyed by IBAN");

    let outputs = handler.transfer_command(&credit.1.clone().into());
    let mark = outputs.iter().find_map(|o| match o {
        Output::BankCommand(key, command) => Some((key.clone(), command.clone())),
        _ => None,
    });
    let expected: BankCommand = MarkTransferCompletedCommand { id: id(9) }.into();
    assert_eq!(mark, Some((id(9).to_uuid_string(), expected.clone())));

    let outputs = handler.bank_command(&expected, &fresh("x"));
    assert!(outputs
        .iter()
        .all(|o| !matches!(o, Output::BankCommand(..) | Output::TransferCommand(..))));
    assert_eq!(
        handler.state().transfers().status(id(9)),
        Some(TransferStatus::Complete)
    );
    assert!(handler.pending().is_empty());
}

#[test]
fn the_second_of_two_quick_debits_sees_the_first() {
    let mut handler = Handler::default();
    let iban = open_iban_for_account(2);
    open_account(&mut handler, 1, &iban, "t-a");
    let debit = |n: u8| -> TransferCommand {
        DebitMoneyCommand {
            id: id(n),
            iban: iban.clone(),
            amount: 30_000,
            token: "t-a".into(),
            username: "alice".into(),
        }
        .into()
    };
    let first = handler.transfer_command(&debit(10));
    let second = handler.transfer_command(&debit(11));
    assert!(first.iter().any(|o| matches!(o, Output::BankEvent(..))));
    let refused = second.iter().find_map(|o| match o {
        Output::TransferFeedback(_, TransferCommandFeedback::CommandFailed(f)) => {
            Some(f.reason.clone())
        }
        _ => None,
    });
    assert_eq!(
        refused.as_deref(),
        Some("insufficient funds would be below the limit of € -500,00")
    );
}

#[test]
fn a_credit_for_an_unknown_transfer_is_booked_but_asks_nothing_more() {
    let mut handler = Handler::default();
    let iban = open_iban_for_account(3);
    open_account(&mut handler, 1, &iban, "t-a");
    let credit: TransferCommand = CreditMoneyCommand {
        id: id(20),
        iban,
        amount: 5,
    }
    .into();
    let outputs = handler.transfer_command(&credit);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
}
