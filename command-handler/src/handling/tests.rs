use topology::proofs::token_hash;
use topology::values::{open_iban_for_account, CASH};
use topology::{
    CreateBankAccountCommand, CreateUserAccountCommand, CreditMoneyCommand, DebitMoneyCommand,
    MarkTransferCompletedCommand, MarkTransferFailedCommand, MoneyTransferCommand,
    ReturnMoneyCommand,
};

use super::*;
use crate::domain::{TransferFacts, TransferStatus};
use std::collections::BTreeSet;
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

/// The key the test instances share (`COMMAND_HANDLER_SAGA_SECRET` in production).
fn key() -> SagaKey {
    SagaKey::new(b"the command handlers' shared secret, in the tests")
}

/// alice opens `iban`; the command carries the hash of `token`, which the GraphQL endpoint made.
fn open_account(handler: &mut Handler, n: u8, iban: &str, token: &str) {
    let create = CreateBankAccountCommand {
        id: id(n),
        iban: iban.into(),
        username: "alice".into(),
        token_hash: Some(token_hash(token)),
        token_nonce: Some(format!("nonce-{n}")),
    };
    handler.bank_command(&create.into(), &fresh("never-used"));
}

/// A transfer by alice, with the hash of her token `t-a`.
fn transfer(n: u8, from: &str, to: &str, amount: i64) -> BankCommand {
    MoneyTransferCommand {
        id: id(n),
        token: token_hash("t-a"),
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

/// A token is never told: not in the answer (the GraphQL endpoint made it and keeps it to
/// itself), not in the event, which carries its hash and nonce only.
#[test]
fn a_new_account_answers_no_token_and_writes_only_its_hash() {
    let mut handler = Handler::default();
    let iban = open_iban_for_account(7);
    let create = CreateBankAccountCommand {
        id: id(1),
        iban: iban.clone(),
        username: "alice".into(),
        token_hash: Some(token_hash("t-a")),
        token_nonce: Some("nonce-1".into()),
    };
    let outputs = handler.bank_command(&create.into(), &fresh("fresh-token"));
    let Output::BankEvent(key, BankEvent::BankAccountCreatedEvent(created)) = &outputs[0] else {
        panic!("expected the creation: {outputs:?}");
    };
    assert_eq!(*key, iban);
    assert_eq!(created.token, "");
    assert_eq!(created.token_hash, Some(token_hash("t-a")));
    assert_eq!(created.token_nonce.as_deref(), Some("nonce-1"));
    let Output::BankFeedback(_, BankCommandFeedback::CommandSucceeded(ok)) = &outputs[1] else {
        panic!("expected success: {outputs:?}");
    };
    assert_eq!(ok.additional_info, None);
    assert_eq!(
        handler
            .state()
            .accounts()
            .get(&iban)
            .and_then(|a| a.token_of("alice")),
        Some(token_hash("t-a").as_str())
    );

    // An older sender, without a hash: the owner gets the hash of a fresh token that nobody
    // is told, neither in the answer nor in the event.
    let other = open_iban_for_account(8);
    let create = CreateBankAccountCommand {
        id: id(2),
        iban: other.clone(),
        username: "bob".into(),
        token_hash: None,
        token_nonce: None,
    };
    let outputs = handler.bank_command(&create.into(), &fresh("fresh-token"));
    assert!(
        !format!("{outputs:?}").contains("fresh-token"),
        "the fresh token travels nowhere: {outputs:?}"
    );
    let Output::BankEvent(_, BankEvent::BankAccountCreatedEvent(created)) = &outputs[0] else {
        panic!("expected the creation: {outputs:?}");
    };
    assert_eq!(created.token, "");
    assert_eq!(created.token_hash, Some(token_hash("fresh-token")));
    assert_eq!(created.token_nonce, None);
    assert_eq!(
        answers_of(&outputs),
        [("CreateBankAccountCommand", true, None)]
    );
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

/// A handler that owns the partitions of `ibans` only, with alice's account on each, and the
/// key the test instances share.
fn owning(ibans: &[&str]) -> Handler {
    owning_with(ibans, key())
}

fn owning_with(ibans: &[&str], saga_key: SagaKey) -> Handler {
    let mut handler = Handler::new(
        BankState::default(),
        Saga::default(),
        Ownership::new(ibans.iter().map(|iban| partition_of(iban))),
    )
    .with_saga_key(saga_key);
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
    let TransferCommand::CreditMoneyCommand(signed) = &credit else {
        panic!("a credit: {credit:?}");
    };
    assert!(self::key().signed_credit(signed), "signed: {signed:?}");
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
            // Written before the token hashes: alice's token in clear, hashed when read.
            topology::BankAccountCreatedEvent {
                iban: iban.to_string(),
                token: "t-a".into(),
                username: "alice".into(),
                token_hash: None,
                token_nonce: None,
            }
            .into()
        })
        .collect()
}

/// Debits are decided by the saga of the transfer's home partition only: two quick transfers
/// out of one account, and the second one's debit sees the first.
#[test]
fn the_second_of_two_quick_debits_sees_the_first() {
    let mut handler = Handler::default();
    let iban = open_iban_for_account(2);
    open_account(&mut handler, 1, &iban, "t-a");
    let out = "NL91ABNA0417164300";
    let first = handler.bank_command(&transfer(10, &iban, out, 30_000), &fresh("x"));
    let second = handler.bank_command(&transfer(11, &iban, out, 30_000), &fresh("x"));
    assert!(
        events_of(&first).contains(&(iban.clone(), "MoneyDebitedEvent")),
        "{first:?}"
    );
    assert_eq!(
        events_of(&second),
        [
            (iban.clone(), "TransferStartedEvent"),
            (iban.clone(), "TransferFailedEvent")
        ]
    );
    let insufficient = "insufficient funds would be below the limit of € -500,00".to_string();
    assert_eq!(
        answers_of(&second),
        [
            ("MoneyTransferCommand", true, None),
            ("MarkTransferFailedCommand", true, Some(insufficient))
        ]
    );
    assert_eq!(
        handler.state().accounts().get(&iban).map(|a| a.balance()),
        Some(-30_000)
    );
}

/// A credit `key` signed, as a saga of the bank sends it.
fn signed(mut credit: CreditMoneyCommand, key: &SagaKey) -> CreditMoneyCommand {
    credit.saga_signature = Some(key.sign_credit(&credit));
    credit
}

#[test]
fn a_credit_for_an_unknown_transfer_is_booked_but_asks_nothing_more() {
    let mut handler = Handler::default().with_saga_key(key());
    let iban = open_iban_for_account(3);
    open_account(&mut handler, 1, &iban, "t-a");
    let credit = CreditMoneyCommand {
        id: id(20),
        iban,
        amount: 5,
        transfer_from: None,
        transfer_description: None,
        saga_signature: None,
    };
    let credit: TransferCommand = signed(credit, &key()).into();
    let outputs = handler.transfer_command(&credit);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
}

#[test]
fn a_credit_refused_once_is_refused_again_even_after_its_account_exists() {
    // The creditor's partition reads the saga's credit before the account's creation, still
    // in bank_commands; the saga asked twice (its first answer was late).
    let mut handler = Handler::default().with_saga_key(key());
    let iban = open_iban_for_account(3);
    let credit = CreditMoneyCommand {
        id: id(20),
        iban: iban.clone(),
        amount: 5,
        transfer_from: None,
        transfer_description: None,
        saga_signature: None,
    };
    let credit: TransferCommand = signed(credit, &key()).into();
    let first = handler.transfer_command(&credit);
    assert_eq!(events_of(&first), [(iban.clone(), "CreditRefusedEvent")]);
    open_account(&mut handler, 1, &iban, "t-a");
    let again = handler.transfer_command(&credit);
    assert_eq!(events_of(&again), [], "booked after the refusal: {again:?}");
    let refused = again.iter().find_map(|output| match output {
        Output::TransferFeedback(_, TransferCommandFeedback::CommandFailed(failed)) => {
            Some(failed.reason.clone())
        }
        _ => None,
    });
    assert_eq!(refused.as_deref(), Some("iban not known"));
    let account = handler.state().accounts().get(&iban).map(|a| a.balance());
    assert_eq!(account, Some(0));
    // A replay of the log remembers the refusal too.
    let mut replayed = BankState::default();
    for output in first.iter().chain(&again) {
        if let Output::BankEvent(_, event) = output {
            replayed.evolve_bank_event(event);
        }
    }
    assert_eq!(
        replayed.refused_credits(),
        handler.state().refused_credits()
    );
}

/// What a test can see change in a handler: balances, statuses, what the saga waits for.
fn footprint(handler: &Handler, ibans: &[&str], transfers: &[Id]) -> String {
    let balances: Vec<_> = ibans
        .iter()
        .map(|iban| handler.state().accounts().get(iban).map(|a| a.balance()))
        .collect();
    let statuses: Vec<_> = transfers
        .iter()
        .map(|transfer| handler.state().transfers().status(*transfer))
        .collect();
    format!(
        "{balances:?} {statuses:?} {:?} {:?}",
        handler.awaiting_remote(),
        handler.saga().pending()
    )
}

/// Only a saga of the bank asks for money steps: whatever else is read from Kafka (an
/// unsigned or forged credit, any debit, return or final mark) changes nothing and answers
/// nothing, so no answer can reach a transfer's saga either.
#[test]
fn money_steps_no_saga_of_the_bank_sent_change_nothing_and_answer_nothing() {
    let (a, b) = ibans_apart();
    let mut home = owning(&[&a]);
    deposit(&mut home, 1, &a, 1_000);
    // A transfer to b, owned elsewhere: debited here, waiting for its credit.
    let outputs = home.bank_command(&transfer(2, &a, &b, 400), &fresh("x"));
    let Some(Output::TransferCommand(_, TransferCommand::CreditMoneyCommand(asked))) = outputs
        .iter()
        .find(|o| matches!(o, Output::TransferCommand(..)))
        .cloned()
    else {
        panic!("a credit command: {outputs:?}");
    };
    assert!(key().signed_credit(&asked));
    let before = footprint(&home, &[&a, &b], &[id(1), id(2)]);
    assert!(before.contains("Started"), "{before}");

    let to_a = CreditMoneyCommand {
        id: id(2),
        iban: a.clone(),
        amount: 400,
        transfer_from: Some(b.clone()),
        transfer_description: Some("test".into()),
        saga_signature: None,
    };
    let mut more = signed(to_a.clone(), &key());
    more.amount = 40_000;
    let mut elsewhere = asked.clone();
    elsewhere.iban = a.clone();
    let mut described = signed(to_a.clone(), &key());
    described.transfer_description = Some("something else".into());
    let mut unsigned = asked.clone();
    unsigned.saga_signature = None;
    let mut garbled = signed(to_a.clone(), &key());
    garbled.saga_signature = Some("not a signature".into());
    let money: Vec<(&str, TransferCommand)> = vec![
        ("an unsigned credit", to_a.clone().into()),
        ("a saga's credit without its signature", unsigned.into()),
        (
            "a credit signed with another key",
            signed(to_a.clone(), &SagaKey::new(b"a key of no command handler")).into(),
        ),
        (
            "a credit signed with a random key",
            signed(to_a, &SagaKey::random()).into(),
        ),
        ("a signed credit whose amount was changed", more.into()),
        ("a signed credit sent to another account", elsewhere.into()),
        ("a signed credit with another description", described.into()),
        ("a credit with a garbled signature", garbled.into()),
        (
            "a debit, even with the owner's token",
            DebitMoneyCommand {
                id: id(3),
                iban: a.clone(),
                amount: 500,
                token: token_hash("t-a"),
                username: "alice".into(),
            }
            .into(),
        ),
        (
            "a debit of the transfer under way",
            DebitMoneyCommand {
                id: id(2),
                iban: a.clone(),
                amount: 400,
                token: token_hash("t-a"),
                username: "alice".into(),
            }
            .into(),
        ),
        (
            "a return of the transfer under way",
            ReturnMoneyCommand {
                id: id(2),
                iban: a.clone(),
                amount: 400,
                reason: "iban not known".into(),
            }
            .into(),
        ),
        (
            "a return of nothing",
            ReturnMoneyCommand {
                id: id(4),
                iban: a.clone(),
                amount: 1_000_000,
                reason: "because".into(),
            }
            .into(),
        ),
    ];
    for (what, command) in money {
        let outputs = home.transfer_command(&command);
        assert!(outputs.is_empty(), "{what}: {outputs:?}");
        assert_eq!(
            footprint(&home, &[&a, &b], &[id(1), id(2)]),
            before,
            "{what}"
        );
    }

    let marks: Vec<(&str, BankCommand)> = vec![
        (
            "a completion of the transfer under way",
            MarkTransferCompletedCommand { id: id(2) }.into(),
        ),
        (
            "a failure of the transfer under way",
            MarkTransferFailedCommand {
                id: id(2),
                reason: "iban not known".into(),
            }
            .into(),
        ),
        (
            "a completion of a finished transfer",
            MarkTransferCompletedCommand { id: id(1) }.into(),
        ),
        (
            "a failure of an unknown transfer",
            MarkTransferFailedCommand {
                id: id(9),
                reason: "x".into(),
            }
            .into(),
        ),
    ];
    for (what, command) in marks {
        let outputs = home.bank_command(&command, &fresh("x"));
        assert!(outputs.is_empty(), "{what}: {outputs:?}");
        assert_eq!(
            footprint(&home, &[&a, &b], &[id(1), id(2)]),
            before,
            "{what}"
        );
    }

    // The real credit, answered by the instance that owns b, still finishes the transfer.
    let mut other = owning(&[&b]);
    let booked = other.transfer_command(&asked.into());
    let Some(Output::TransferFeedback(_, answer)) = booked.last() else {
        panic!("an answer: {booked:?}");
    };
    assert_eq!(
        events_of(&home.transfer_feedback(answer)),
        [(a.clone(), "TransferCompletedEvent")]
    );
}

/// A credit the saga sends another instance carries the shared key's signature, when first
/// asked and when asked again; an instance with the same key books it, one with another key
/// ignores it.
#[test]
fn a_credit_the_saga_sends_is_signed_and_accepted_by_another_handler_with_the_same_key() {
    let (a, b) = ibans_apart();
    let mut home = owning(&[&a]);
    deposit(&mut home, 1, &a, 1_000);
    let outputs = home.bank_command(&transfer(2, &a, &b, 400), &fresh("x"));
    let sent: Vec<TransferCommand> = outputs
        .iter()
        .chain(home.ask_again(id(2)).as_ref())
        .filter_map(|o| match o {
            Output::TransferCommand(_, command) => Some(command.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2, "asked and asked again: {outputs:?}");
    for command in &sent {
        let TransferCommand::CreditMoneyCommand(credit) = command else {
            panic!("a credit: {command:?}");
        };
        assert!(credit.saga_signature.is_some(), "{credit:?}");
        assert!(key().signed_credit(credit), "{credit:?}");
        assert_eq!(
            (
                credit.iban.as_str(),
                credit.amount,
                credit.transfer_from.as_deref()
            ),
            (b.as_str(), 400, Some(a.as_str()))
        );
    }

    let mut stranger = owning_with(&[&b], SagaKey::random());
    let ignored = stranger.transfer_command(&sent[0]);
    assert!(ignored.is_empty(), "another key: {ignored:?}");
    assert_eq!(
        stranger.state().accounts().get(&b).map(|x| x.balance()),
        Some(0)
    );

    let mut other = owning(&[&b]);
    let booked = other.transfer_command(&sent[0]);
    assert_eq!(events_of(&booked), [(b.clone(), "MoneyCreditedEvent")]);
    assert!(
        booked.iter().any(|o| matches!(
            o,
            Output::TransferFeedback(key, TransferCommandFeedback::CommandSucceeded(_)) if *key == a
        )),
        "{booked:?}"
    );
    assert_eq!(
        other.state().accounts().get(&b).map(|x| x.balance()),
        Some(400)
    );
    let again = other.transfer_command(&sent[1]);
    assert!(events_of(&again).is_empty(), "asked twice, booked once");
}

/// Three open IBANs, each in a partition of its own.
fn three_ibans_apart() -> [String; 3] {
    let (a, b) = ibans_apart();
    let c = (3..)
        .map(open_iban_for_account)
        .find(|c| partition_of(c) != partition_of(&a) && partition_of(c) != partition_of(&b))
        .unwrap_or_default();
    [a, b, c]
}

/// What a rebuild of `partition` from `outputs` (the log) makes: the state and saga of that
/// partition's events only.
fn rebuilt_from(outputs: &[Output], partition: i32) -> Handler {
    let mut state = BankState::default();
    let mut saga = Saga::default();
    for output in outputs {
        if let Output::BankEvent(key, event) = output {
            if partition_of(key) == partition {
                state.evolve_bank_event(event);
                saga.apply(SagaInput::Event(event));
            }
        }
    }
    Handler::new(state, saga, Ownership::new([partition])).with_saga_key(key())
}

#[test]
fn a_hand_over_moves_exactly_the_partitions_it_names() {
    let [a, b, c] = three_ibans_apart();
    let (pa, pb) = (partition_of(&a), partition_of(&b));
    let mut handler = Handler::new(
        BankState::default(),
        Saga::default(),
        Ownership::new([pa, pb]),
    )
    .with_saga_key(key());
    let mut log = Vec::new();
    for (n, iban) in [(10, &a), (20, &b)] {
        let create = CreateBankAccountCommand {
            id: id(n),
            iban: iban.clone(),
            username: "alice".into(),
            token_hash: Some(token_hash("t-a")),
            token_nonce: None,
        };
        log.extend(handler.bank_command(&create.into(), &fresh("x")));
    }
    for (n, iban) in [(1, &a), (2, &b)] {
        log.extend(handler.bank_command(&transfer(n, CASH, iban, 1_000), &fresh("x")));
    }
    // Both wait for the credit of `c`, which another instance owns.
    log.extend(handler.bank_command(&transfer(3, &a, &c, 100), &fresh("x")));
    log.extend(handler.bank_command(&transfer(4, &b, &c, 200), &fresh("x")));
    assert_eq!(handler.awaiting_remote(), [id(3), id(4)]);

    handler.release(&BTreeSet::from([pb]));
    assert_eq!(handler.ownership().partitions().collect::<Vec<_>>(), [pa]);
    let balance =
        |handler: &Handler, iban: &str| handler.state().accounts().get(iban).map(|a| a.balance());
    assert_eq!(
        balance(&handler, &a),
        Some(900),
        "a kept partition is untouched"
    );
    assert_eq!(
        balance(&handler, &b),
        None,
        "a released account is forgotten"
    );
    assert_eq!(handler.awaiting_remote(), [id(3)]);
    assert_eq!(handler.state().transfers().status(id(4)), None);
    assert_eq!(
        handler.state().transfers().status(id(3)),
        Some(TransferStatus::Started)
    );
    handler.adopt(rebuilt_from(&log, pb));
    assert_eq!(balance(&handler, &b), Some(800));
    assert_eq!(handler.awaiting_remote(), [id(3), id(4)]);
    assert!(
        handler.resume_in(&BTreeSet::from([pb])).len() == 1,
        "only the adopted partition's transfer is asked again"
    );
    let local = handler.bank_command(&transfer(6, &b, &a, 50), &fresh("x"));
    assert_eq!(
        events_of(&local).last().map(|(_, name)| *name),
        Some("TransferCompletedEvent"),
        "the adopted partition decides again, with the kept one: {local:?}"
    );
    assert_eq!(balance(&handler, &a), Some(950));
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "a partition is owned twice")]
fn a_partition_is_never_adopted_twice() {
    let (a, _) = ibans_apart();
    let mut handler = owning(&[&a]);
    handler.adopt(rebuilt_from(&[], partition_of(&a)));
}

/// Alice's account `iban` opened on a handler that owns only its partition, with the events in
/// `log`.
fn logged_owner_of(iban: &str, log: &mut Vec<Output>) -> Handler {
    let mut handler = Handler::new(
        BankState::default(),
        Saga::default(),
        Ownership::new([partition_of(iban)]),
    )
    .with_saga_key(key());
    let create = CreateBankAccountCommand {
        id: id(90),
        iban: iban.into(),
        username: "alice".into(),
        token_hash: Some(token_hash("t-a")),
        token_nonce: None,
    };
    log.extend(handler.bank_command(&create.into(), &fresh("x")));
    handler
}

#[test]
fn an_adopted_saga_steps_on_a_kept_account_only_with_its_history_recalled() {
    let (a, c) = ibans_apart();
    // Another instance owns `a`: the transfer's debit is booked there, its credit asked of us.
    let mut log = Vec::new();
    let mut other = logged_owner_of(&a, &mut log);
    log.extend(other.bank_command(&transfer(1, CASH, &a, 1_000), &fresh("x")));
    let sent = other.bank_command(&transfer(2, &a, &c, 100), &fresh("x"));
    let credit = sent.iter().find_map(|o| match o {
        Output::TransferCommand(_, command) => Some(command.clone()),
        _ => None,
    });
    let credit = credit.unwrap_or_else(|| panic!("a credit command: {sent:?}"));
    log.extend(sent);

    // We own `c` and book the credit; the store then holds its history, memory forgets it.
    let mut ours = owning(&[&c]);
    assert_eq!(
        events_of(&ours.transfer_command(&credit)),
        [(c.clone(), "MoneyCreditedEvent")]
    );
    ours.forget_history();
    let facts = TransferFacts {
        status: None,
        bookings: vec![(c.clone(), crate::domain::bank_account::Movement::Credit)],
        refused_credit: None,
    };

    // The other instance is gone before it read our answer: we take `a` over.
    let pa = partition_of(&a);
    let mut forgetful = owning(&[&c]);
    forgetful.transfer_command(&credit);
    forgetful.forget_history();
    forgetful.adopt(rebuilt_from(&log, pa));
    let resumed = forgetful.resume_in(&BTreeSet::from([pa]));
    assert_eq!(
        events_of(&resumed).first(),
        Some(&(c.clone(), "MoneyCreditedEvent")),
        "without its history the kept account books the credit again: why the runtime recalls"
    );

    ours.adopt(rebuilt_from(&log, pa));
    ours.recall(id(2), facts);
    let resumed = ours.resume_in(&BTreeSet::from([pa]));
    assert_eq!(
        events_of(&resumed),
        [(a.clone(), "TransferCompletedEvent")],
        "with it, the credit is known and the transfer completes"
    );
}
