use topology::values::{open_iban_for_account, CASH};
use topology::{
    CreateBankAccountCommand, CreateUserAccountCommand, CreditMoneyCommand, DebitMoneyCommand,
    MoneyTransferCommand,
};

use super::*;
use crate::domain::TransferStatus;
use topology::routing::partition_of;
use topology::TopicMessage;

use crate::domain::saga::{Saga, SagaInput};

fn record_name(event: &BankEvent) -> &'static str {
    let full = event.full_name();
    full.rsplit('.').next().unwrap_or(full)
}

fn id(n: u8) -> Id {
    Id([n; 16])
}

fn fresh(token: &str) -> Fresh {
    Fresh {
        token: token.into(),
        now_millis: crate::domain::fixtures::NOW,
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

fn deposit(handler: &mut Handler, n: u8, iban: &str, amount: i64) {
    handler.bank_command(&transfer(n, CASH, iban, amount), &fresh("x"));
}

/// Two open IBANs in different partitions.
fn ibans_apart() -> (String, String) {
    let a = open_iban_for_account(1);
    let b = (2..)
        .map(open_iban_for_account)
        .find(|b| partition_of(b) != partition_of(&a))
        .unwrap_or_default();
    (a, b)
}

/// A handler that owns the partitions of `ibans` only, with alice's account on each.
fn owning(ibans: &[&str]) -> Handler {
    let mut handler = Handler::new(
        BankState::default(),
        Saga::default(),
        Ownership::new(ibans.iter().map(|iban| partition_of(iban))),
    );
    for (n, iban) in ibans.iter().enumerate() {
        open_account(&mut handler, 100 + n as u8, iban, "t-a");
    }
    handler
}

fn events_of(outputs: &[Output]) -> Vec<(String, &'static str)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::BankEvent(key, event) => Some((key.clone(), record_name(event))),
            _ => None,
        })
        .collect()
}

fn commands_of(outputs: &[Output]) -> usize {
    outputs
        .iter()
        .filter(|o| matches!(o, Output::BankCommand(..) | Output::TransferCommand(..)))
        .count()
}

/// The answers on bank_command_feedback: (command name, success, info or reason).
fn answers_of(outputs: &[Output]) -> Vec<(&'static str, bool, Option<String>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::BankFeedback(_, BankCommandFeedback::CommandSucceeded(ok)) => {
                Some((ok.command_name.symbol().1, true, ok.additional_info.clone()))
            }
            Output::BankFeedback(_, BankCommandFeedback::CommandFailed(no)) => {
                Some((no.command_name.symbol().1, false, Some(no.reason.clone())))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_deposit_is_decided_start_to_end_at_once() {
    let mut handler = Handler::default();
    let iban = open_iban_for_account(1);
    open_account(&mut handler, 1, &iban, "t-a");

    let outputs = handler.bank_command(&transfer(9, CASH, &iban, 500), &fresh("x"));
    assert_eq!(
        events_of(&outputs),
        [
            (iban.clone(), "TransferStartedEvent"),
            (iban.clone(), "MoneyCreditedEvent"),
            (iban.clone(), "TransferCompletedEvent"),
        ]
    );
    assert_eq!(commands_of(&outputs), 0, "no round trip: {outputs:?}");
    assert_eq!(
        answers_of(&outputs),
        [
            ("MoneyTransferCommand", true, None),
            ("MarkTransferCompletedCommand", true, None)
        ]
    );
    assert_eq!(
        handler.state().transfers().status(id(9)),
        Some(TransferStatus::Complete)
    );
    assert_eq!(
        handler.state().accounts().get(&iban).map(|a| a.balance()),
        Some(500)
    );
    assert!(handler.resume().is_empty());
}

#[test]
fn a_transfer_between_owned_accounts_is_one_decision() {
    let (a, b) = ibans_apart();
    let mut handler = owning(&[&a, &b]);
    deposit(&mut handler, 1, &a, 1_000);
    let outputs = handler.bank_command(&transfer(2, &a, &b, 400), &fresh("x"));
    assert_eq!(
        events_of(&outputs),
        [
            (a.clone(), "TransferStartedEvent"),
            (a.clone(), "MoneyDebitedEvent"),
            (b.clone(), "MoneyCreditedEvent"),
            (a.clone(), "TransferCompletedEvent"),
        ],
        "transfer events by the home account, money events by their account"
    );
    let credited = outputs.iter().find_map(|o| match o {
        Output::BankEvent(_, BankEvent::MoneyCreditedEvent(e)) => Some(e.clone()),
        _ => None,
    });
    let credited = credited.unwrap_or_else(|| panic!("a credit: {outputs:?}"));
    assert_eq!(credited.transfer_from.as_deref(), Some(a.as_str()));
    assert_eq!(credited.transfer_description.as_deref(), Some("test"));
    assert_eq!(commands_of(&outputs), 0);
}

#[test]
fn a_refused_debit_fails_the_transfer_in_the_same_decision() {
    let (a, b) = ibans_apart();
    let mut handler = owning(&[&a, &b]);
    let outputs = handler.bank_command(&transfer(2, &a, &b, 60_000), &fresh("x"));
    assert_eq!(
        events_of(&outputs),
        [
            (a.clone(), "TransferStartedEvent"),
            (a.clone(), "TransferFailedEvent")
        ]
    );
    let insufficient = "insufficient funds would be below the limit of € -500,00".to_string();
    assert_eq!(
        answers_of(&outputs),
        [
            ("MoneyTransferCommand", true, None),
            ("MarkTransferFailedCommand", true, Some(insufficient))
        ]
    );
}

#[test]
fn a_credit_owned_elsewhere_goes_through_the_saga_and_back() {
    let (a, b) = ibans_apart();
    let mut home = owning(&[&a]);
    let mut other = owning(&[&b]);
    deposit(&mut home, 1, &a, 1_000);

    let outputs = home.bank_command(&transfer(2, &a, &b, 400), &fresh("x"));
    assert_eq!(
        events_of(&outputs),
        [
            (a.clone(), "TransferStartedEvent"),
            (a.clone(), "MoneyDebitedEvent")
        ]
    );
    let credit = outputs.iter().find_map(|o| match o {
        Output::TransferCommand(key, command) => Some((key.clone(), command.clone())),
        _ => None,
    });
    let (key, credit) = credit.unwrap_or_else(|| panic!("a credit command: {outputs:?}"));
    assert_eq!(key, b, "keyed by the credited account");
    assert_eq!(home.awaiting_remote(), [id(2)]);
    assert_eq!(
        home.ask_again(id(2)),
        Some(Output::TransferCommand(b.clone(), credit.clone()))
    );

    let booked = other.transfer_command(&credit);
    assert_eq!(events_of(&booked), [(b.clone(), "MoneyCreditedEvent")]);
    let answer = booked.iter().find_map(|o| match o {
        Output::TransferFeedback(key, feedback) => Some((key.clone(), feedback.clone())),
        _ => None,
    });
    let (key, answer) = answer.unwrap_or_else(|| panic!("an answer: {booked:?}"));
    assert_eq!(key, a, "the answer goes to the transfer's home partition");
    let again = other.transfer_command(&credit);
    assert!(events_of(&again).is_empty(), "asked twice, booked once");

    let finished = home.transfer_feedback(&answer);
    assert_eq!(
        events_of(&finished),
        [(a.clone(), "TransferCompletedEvent")]
    );
    assert_eq!(
        answers_of(&finished),
        [("MarkTransferCompletedCommand", true, None)]
    );
    assert!(home.awaiting_remote().is_empty());
    assert!(
        home.transfer_feedback(&answer).is_empty(),
        "a repeated answer"
    );
}

#[test]
fn a_credit_refused_elsewhere_returns_the_money_at_home() {
    let (a, b) = ibans_apart();
    let mut home = owning(&[&a]);
    let mut other = owning(&[&b]);
    deposit(&mut home, 1, &a, 1_000);
    // b is owned by `other`, but the account credited does not exist there.
    let unknown = (2..)
        .map(open_iban_for_account)
        .find(|iban| partition_of(iban) == partition_of(&b) && *iban != b)
        .unwrap_or_default();
    let outputs = home.bank_command(&transfer(2, &a, &unknown, 400), &fresh("x"));
    let Some(Output::TransferCommand(_, credit)) = outputs
        .iter()
        .find(|o| matches!(o, Output::TransferCommand(..)))
    else {
        panic!("a credit command: {outputs:?}");
    };
    let refused = other.transfer_command(credit);
    let Some(Output::TransferFeedback(_, answer)) = refused.last() else {
        panic!("an answer: {refused:?}");
    };
    let finished = home.transfer_feedback(answer);
    assert_eq!(
        events_of(&finished),
        [
            (a.clone(), "MoneyReturnedEvent"),
            (a.clone(), "TransferFailedEvent")
        ]
    );
    assert_eq!(
        home.state().accounts().get(&a).map(|x| x.balance()),
        Some(1_000)
    );
}

#[test]
fn a_rebuilt_handler_finishes_what_the_log_left_open() {
    let (a, b) = ibans_apart();
    let mut before = owning(&[&a]);
    let collect = |outputs: Vec<Output>, log: &mut Vec<BankEvent>| {
        log.extend(outputs.into_iter().filter_map(|o| match o {
            Output::BankEvent(_, event) => Some(event),
            _ => None,
        }))
    };
    // The log as `before` wrote it: accounts, a deposit, a transfer waiting for its credit.
    let mut log = both_accounts_log(&a, &b);
    collect(
        before.bank_command(&transfer(1, CASH, &a, 1_000), &fresh("x")),
        &mut log,
    );
    collect(
        before.bank_command(&transfer(2, &a, &b, 400), &fresh("x")),
        &mut log,
    );
    let both = owning(&[&a, &b]);

    let mut state = BankState::default();
    let mut saga = Saga::default();
    for event in &log {
        state.evolve_bank_event(event);
        saga.apply(SagaInput::Event(event));
    }
    let mut both = Handler::new(state, saga, both.ownership().clone());
    let resumed = both.resume();
    assert_eq!(
        events_of(&resumed),
        [
            (b.clone(), "MoneyCreditedEvent"),
            (a.clone(), "TransferCompletedEvent")
        ]
    );
    assert!(both.resume().is_empty());
}

fn both_accounts_log(a: &str, b: &str) -> Vec<BankEvent> {
    [a, b]
        .iter()
        .map(|iban| {
            topology::BankAccountCreatedEvent {
                iban: iban.to_string(),
                token: "t-a".into(),
                username: "alice".into(),
            }
            .into()
        })
        .collect()
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
        transfer_from: None,
        transfer_description: None,
    }
    .into();
    let outputs = handler.transfer_command(&credit);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
}
