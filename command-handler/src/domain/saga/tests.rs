//! Every transition of the saga as a scenario: the inputs in order, and what each one asks for.

use super::*;
use crate::domain::fixtures::*;
use topology::{
    MoneyCreditedEvent, MoneyDebitedEvent, MoneyReturnedEvent, TransferCompletedEvent,
    TransferFailedEvent,
};

const INSUFFICIENT: &str = "insufficient funds would be below the limit of € -500,00";
const NOT_KNOWN: &str = "iban not known";
const OVERFLOW: &str = "amount would overflow the balance";
const AMOUNT: i64 = 500;
const SAME: &str = "from and to can't be same for transfer";
const RETURN_FAILED: &str =
    "iban not known, and returning the money failed: amount would overflow the balance";

/// An owned input, so a scenario can hold it; `SagaInput` only borrows.
#[derive(Debug, Clone)]
enum In {
    Event(BankEvent),
    Succeeded(CommandSucceeded),
    Failed(CommandFailed),
}

impl In {
    fn as_input(&self) -> SagaInput<'_> {
        match self {
            In::Event(event) => SagaInput::Event(event),
            In::Succeeded(feedback) => SagaInput::Succeeded(feedback),
            In::Failed(feedback) => SagaInput::Failed(feedback),
        }
    }

    fn is_event(&self) -> bool {
        matches!(self, In::Event(_))
    }
}

fn start(from: &str, to: &str) -> In {
    In::Event(started(1, from, to, AMOUNT).into())
}

/// The same start, written before the token hashes: alice's token in clear.
fn start_legacy(from: &str, to: &str) -> In {
    In::Event(started_legacy(1, from, to, AMOUNT).into())
}

fn was_debited(iban: &str) -> In {
    In::Event(debited(iban, AMOUNT, 1))
}

fn was_credited(iban: &str) -> In {
    In::Event(credited(iban, AMOUNT, 1))
}

fn was_returned(iban: &str, reason: &str) -> In {
    In::Event(
        MoneyReturnedEvent {
            iban: iban.into(),
            amount: AMOUNT,
            id: id(1),
            reason: reason.into(),
        }
        .into(),
    )
}

fn was_completed() -> In {
    In::Event(TransferCompletedEvent { id: id(1) }.into())
}

fn has_failed(reason: &str) -> In {
    In::Event(
        TransferFailedEvent {
            id: id(1),
            reason: reason.into(),
        }
        .into(),
    )
}

fn ok_for(transfer: u8, command_name: CommandName) -> In {
    In::Succeeded(CommandSucceeded {
        id: id(transfer),
        command_name,
        additional_info: None,
    })
}

fn ok(command_name: CommandName) -> In {
    ok_for(1, command_name)
}

fn refused_for(transfer: u8, command_name: CommandName, reason: &str) -> In {
    In::Failed(CommandFailed {
        id: id(transfer),
        command_name,
        reason: reason.into(),
    })
}

fn refused(command_name: CommandName, reason: &str) -> In {
    refused_for(1, command_name, reason)
}

use CommandName::{
    CreditMoneyCommand as CREDIT, DebitMoneyCommand as DEBIT,
    MarkTransferCompletedCommand as MARK_COMPLETED, MarkTransferFailedCommand as MARK_FAILED,
    MoneyTransferCommand as MONEY_TRANSFER, ReturnMoneyCommand as RETURN,
};

fn debit(from: &str) -> Vec<SagaCommand> {
    vec![SagaCommand::DebitMoney(DebitMoneyCommand {
        id: id(1),
        iban: from.into(),
        amount: AMOUNT,
        // The hash the transfer was asked with: the debit compares it with the owner's.
        token: hash("t-a"),
        username: "alice".into(),
    })]
}

fn credit(from: &str, to: &str) -> Vec<SagaCommand> {
    vec![SagaCommand::CreditMoney(CreditMoneyCommand {
        id: id(1),
        iban: to.into(),
        amount: AMOUNT,
        transfer_from: Some(from.into()),
        transfer_description: Some("rent".into()),
        // The saga asks unsigned; the handler signs a credit that leaves for another instance.
        saga_signature: None,
    })]
}

fn give_back(from: &str, reason: &str) -> Vec<SagaCommand> {
    vec![SagaCommand::ReturnMoney(ReturnMoneyCommand {
        id: id(1),
        iban: from.into(),
        amount: AMOUNT,
        reason: reason.into(),
    })]
}

fn complete() -> Vec<SagaCommand> {
    vec![SagaCommand::MarkTransferCompleted(
        MarkTransferCompletedCommand { id: id(1) },
    )]
}

fn fail(reason: &str) -> Vec<SagaCommand> {
    vec![SagaCommand::MarkTransferFailed(MarkTransferFailedCommand {
        id: id(1),
        reason: reason.into(),
    })]
}

fn nothing() -> Vec<SagaCommand> {
    Vec::new()
}

type Scenario = (&'static str, Vec<(In, Vec<SagaCommand>)>);

fn scenarios() -> Vec<Scenario> {
    vec![
        (
            "cash deposit",
            vec![
                (start(CASH_FROM, IBAN_A), credit(CASH_FROM, IBAN_A)),
                (was_credited(IBAN_A), complete()),
                (ok(CREDIT), nothing()),
                (was_completed(), nothing()),
                (ok(MARK_COMPLETED), nothing()),
            ],
        ),
        (
            "cash deposit refused by the account",
            vec![
                (start(CASH_FROM, IBAN_A), credit(CASH_FROM, IBAN_A)),
                (refused(CREDIT, OVERFLOW), fail(OVERFLOW)),
                (has_failed(OVERFLOW), nothing()),
            ],
        ),
        (
            "normal transfer",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (was_debited(IBAN_A), credit(IBAN_A, IBAN_B)),
                (ok(DEBIT), nothing()),
                (was_credited(IBAN_B), complete()),
                (ok(CREDIT), nothing()),
                (was_completed(), nothing()),
            ],
        ),
        (
            "a transfer started before the token hashes debits with the hash of its token",
            vec![
                (start_legacy(IBAN_A, IBAN_B), debit(IBAN_A)),
                (was_debited(IBAN_A), credit(IBAN_A, IBAN_B)),
                (was_credited(IBAN_B), complete()),
                (was_completed(), nothing()),
            ],
        ),
        (
            "transfer out of the bank completes after the debit",
            vec![
                (start(IBAN_A, FOREIGN_IBAN), debit(IBAN_A)),
                (ok(DEBIT), complete()),
                (was_completed(), nothing()),
            ],
        ),
        (
            "withdrawal to cash completes after the debit",
            vec![
                (start(IBAN_A, CASH_FROM), debit(IBAN_A)),
                (ok(DEBIT), complete()),
                (was_completed(), nothing()),
            ],
        ),
        (
            "debit refused",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (refused(DEBIT, INSUFFICIENT), fail(INSUFFICIENT)),
                (has_failed(INSUFFICIENT), nothing()),
                (
                    refused(
                        MARK_FAILED,
                        "state of transfer was failed so could not be failed",
                    ),
                    nothing(),
                ),
            ],
        ),
        (
            "debit refused for the owner",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (
                    refused(DEBIT, "token is not valid"),
                    fail("token is not valid"),
                ),
            ],
        ),
        (
            "credit refused: money returned, then the transfer fails with the credit's reason",
            vec![
                (start(IBAN_A, IBAN_C), debit(IBAN_A)),
                (ok(DEBIT), credit(IBAN_A, IBAN_C)),
                (refused(CREDIT, NOT_KNOWN), give_back(IBAN_A, NOT_KNOWN)),
                (was_returned(IBAN_A, NOT_KNOWN), fail(NOT_KNOWN)),
                (ok(RETURN), nothing()),
                (has_failed(NOT_KNOWN), nothing()),
            ],
        ),
        (
            "return refused: the transfer still ends, saying the money was not returned",
            vec![
                (start(IBAN_A, IBAN_C), debit(IBAN_A)),
                (ok(DEBIT), credit(IBAN_A, IBAN_C)),
                (refused(CREDIT, NOT_KNOWN), give_back(IBAN_A, NOT_KNOWN)),
                (refused(RETURN, OVERFLOW), fail(RETURN_FAILED)),
                (has_failed(RETURN_FAILED), nothing()),
            ],
        ),
        (
            "from and to are the same account",
            vec![
                (start(IBAN_A, IBAN_A), fail(SAME)),
                (has_failed(SAME), nothing()),
            ],
        ),
        (
            "from and to are both cash",
            vec![(start(CASH_FROM, CASH_FROM), fail(SAME))],
        ),
        (
            "the same invalid from and to: sameness is judged first",
            vec![(start("x", "x"), fail(SAME))],
        ),
        (
            "from is an IBAN of another bank",
            vec![
                (start(FOREIGN_IBAN, IBAN_A), fail("from is invalid")),
                (has_failed("from is invalid"), nothing()),
            ],
        ),
        (
            "from has a wrong checksum",
            vec![(start("NL67OPEN0000000000", IBAN_A), fail("from is invalid"))],
        ),
        (
            "from is empty",
            vec![(start("", IBAN_A), fail("from is invalid"))],
        ),
        (
            "money events of the transfer are facts, like the answers to its commands",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (was_debited(IBAN_A), credit(IBAN_A, IBAN_B)),
                (ok(DEBIT), nothing()),
                (was_credited(IBAN_B), complete()),
                (ok(CREDIT), nothing()),
            ],
        ),
        (
            "a return seen as an event ends the transfer as failed",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (was_debited(IBAN_A), credit(IBAN_A, IBAN_B)),
                (refused(CREDIT, NOT_KNOWN), give_back(IBAN_A, NOT_KNOWN)),
                (was_returned(IBAN_A, NOT_KNOWN), fail(NOT_KNOWN)),
            ],
        ),
        (
            "feedback on commands other than money movements is ignored",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (ok(MONEY_TRANSFER), nothing()),
                (
                    refused(
                        MONEY_TRANSFER,
                        "transfer was already started, current status: started",
                    ),
                    nothing(),
                ),
                (refused(MARK_COMPLETED, "transfer not known"), nothing()),
                (ok(MARK_FAILED), nothing()),
            ],
        ),
        (
            "a deposit has no debit or return to hear about",
            vec![
                (start(CASH_FROM, IBAN_A), credit(CASH_FROM, IBAN_A)),
                (ok(DEBIT), nothing()),
                (refused(DEBIT, INSUFFICIENT), nothing()),
                (ok(RETURN), nothing()),
                (ok(CREDIT), complete()),
            ],
        ),
        (
            "inputs of unknown transfers are ignored",
            vec![
                (ok_for(2, DEBIT), nothing()),
                (refused_for(2, CREDIT, NOT_KNOWN), nothing()),
                (In::Event(debited(IBAN_A, AMOUNT, 2)), nothing()),
                (
                    In::Event(TransferCompletedEvent { id: id(2) }.into()),
                    nothing(),
                ),
                (In::Event(created(IBAN_A, "alice", "t-a")), nothing()),
            ],
        ),
        (
            "a finished transfer needs nothing more",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (ok(DEBIT), credit(IBAN_A, IBAN_B)),
                (ok(CREDIT), complete()),
                (was_completed(), nothing()),
                (start(IBAN_A, IBAN_B), nothing()),
                (refused(CREDIT, NOT_KNOWN), nothing()),
                (refused(DEBIT, INSUFFICIENT), nothing()),
                (ok(RETURN), nothing()),
                (has_failed("late"), nothing()),
            ],
        ),
        (
            "a duplicated start with other content does not change the transfer",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (
                    In::Event(started(1, IBAN_C, CASH_FROM, 1).into()),
                    nothing(),
                ),
                (ok(DEBIT), credit(IBAN_A, IBAN_B)),
            ],
        ),
        (
            "a debit that succeeds after its refusal is returned",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (refused(DEBIT, INSUFFICIENT), fail(INSUFFICIENT)),
                (ok(DEBIT), give_back(IBAN_A, INSUFFICIENT)),
                (ok(RETURN), fail(INSUFFICIENT)),
                (has_failed(INSUFFICIENT), nothing()),
            ],
        ),
        (
            "a debit that succeeds after the transfer failed is returned",
            vec![
                (start(IBAN_A, FOREIGN_IBAN), debit(IBAN_A)),
                (refused(DEBIT, INSUFFICIENT), fail(INSUFFICIENT)),
                (has_failed(INSUFFICIENT), nothing()),
                (ok(DEBIT), give_back(IBAN_A, INSUFFICIENT)),
                (ok(RETURN), nothing()),
            ],
        ),
        (
            "a debit that succeeds after the transfer failed, and cannot be returned",
            vec![
                (start(IBAN_A, IBAN_B), debit(IBAN_A)),
                (refused(DEBIT, INSUFFICIENT), fail(INSUFFICIENT)),
                (has_failed(INSUFFICIENT), nothing()),
                (ok(DEBIT), give_back(IBAN_A, INSUFFICIENT)),
                (refused(RETURN, OVERFLOW), nothing()),
            ],
        ),
    ]
}

fn assert_scenario(name: &str, steps: &[(In, Vec<SagaCommand>)], saga: &mut Saga) {
    for (step, (input, expected)) in steps.iter().enumerate() {
        let commands = saga.handle(input.as_input());
        assert_eq!(&commands, expected, "{name}, step {step}: {input:?}");
    }
}

#[test]
fn every_transition() {
    for (name, steps) in scenarios() {
        assert_scenario(name, &steps, &mut Saga::default());
    }
}

#[test]
fn the_same_input_twice_asks_nothing_the_second_time() {
    for (name, steps) in scenarios() {
        let mut saga = Saga::default();
        for (step, (input, expected)) in steps.iter().enumerate() {
            assert_eq!(
                &saga.handle(input.as_input()),
                expected,
                "{name}, step {step}"
            );
            let again = saga.handle(input.as_input());
            assert!(again.is_empty(), "{name}, step {step} repeated: {again:?}");
        }
    }
}

/// A restart after any prefix of a live run: replaying the events, then the feedback,
/// must leave the saga needing exactly what the live saga last asked for.
#[test]
fn a_replay_of_events_then_feedback_resumes_where_the_live_saga_was() {
    for (name, steps) in scenarios() {
        let mut live = Saga::default();
        for done in 1..=steps.len() {
            assert_scenario(name, &steps[done - 1..done], &mut live);
            let prefix = &steps[..done];
            let mut rebuilt = Saga::default();
            let (events, feedback): (Vec<&In>, Vec<&In>) = prefix
                .iter()
                .map(|(input, _)| input)
                .partition(|i| i.is_event());
            for input in events.into_iter().chain(feedback) {
                rebuilt.apply(input.as_input());
            }
            assert_eq!(
                rebuilt.pending(),
                live.pending(),
                "{name}, after {done} inputs"
            );
        }
    }
}

#[test]
fn pending_lists_the_next_command_of_every_unfinished_transfer() {
    let start_of = |transfer: u8, from: &str, to: &str| -> BankEvent {
        started(transfer, from, to, AMOUNT).into()
    };
    let events: Vec<BankEvent> = vec![
        start_of(1, IBAN_A, IBAN_B),
        start_of(2, IBAN_A, IBAN_B),
        start_of(3, CASH_FROM, IBAN_A),
        start_of(4, IBAN_A, IBAN_B),
        start_of(5, IBAN_A, IBAN_B),
        TransferCompletedEvent { id: id(5) }.into(),
        start_of(6, IBAN_A, IBAN_B),
        start_of(7, IBAN_A, IBAN_C),
        start_of(8, IBAN_A, IBAN_A),
        start_of(9, IBAN_A, IBAN_B),
        TransferFailedEvent {
            id: id(9),
            reason: INSUFFICIENT.into(),
        }
        .into(),
    ];
    let feedback = [
        ok_for(2, DEBIT),
        ok_for(3, CREDIT),
        ok_for(4, DEBIT),
        refused_for(4, CREDIT, NOT_KNOWN),
        ok_for(4, RETURN),
        refused_for(6, DEBIT, INSUFFICIENT),
        ok_for(7, DEBIT),
        refused_for(7, CREDIT, NOT_KNOWN),
        refused_for(9, DEBIT, INSUFFICIENT),
        ok_for(9, DEBIT),
    ];
    let mut saga = Saga::default();
    events
        .iter()
        .for_each(|event| saga.apply(SagaInput::Event(event)));
    feedback
        .iter()
        .for_each(|input| saga.apply(input.as_input()));

    let pending: Vec<(Id, CommandName)> = saga
        .pending()
        .iter()
        .map(|command| (command.transfer_id(), command.command_name()))
        .collect();
    assert_eq!(
        pending,
        [
            (id(1), DEBIT),
            (id(2), CREDIT),
            (id(3), MARK_COMPLETED),
            (id(4), MARK_FAILED),
            (id(6), MARK_FAILED),
            (id(7), RETURN),
            (id(8), MARK_FAILED),
            (id(9), RETURN),
        ]
    );
    assert!(saga.handle(SagaInput::Event(&events[0])).is_empty());
}

#[test]
fn saga_commands_go_to_their_topics() {
    let routed: Vec<(&str, Id)> = [
        debit(IBAN_A),
        credit(IBAN_A, IBAN_B),
        give_back(IBAN_A, NOT_KNOWN),
        complete(),
        fail(NOT_KNOWN),
    ]
    .into_iter()
    .flatten()
    .map(|command| {
        let transfer = command.transfer_id();
        match command.into_message() {
            SagaMessage::Transfer(_) => ("transfer_commands", transfer),
            SagaMessage::Bank(_) => ("bank_commands", transfer),
        }
    })
    .collect();
    assert_eq!(
        routed,
        [
            ("transfer_commands", id(1)),
            ("transfer_commands", id(1)),
            ("transfer_commands", id(1)),
            ("bank_commands", id(1)),
            ("bank_commands", id(1)),
        ]
    );
}

#[test]
fn events_without_a_transfer_are_ignored() {
    let mut saga = Saga::default();
    let event = MoneyCreditedEvent {
        iban: IBAN_A.into(),
        amount: AMOUNT,
        id: id(1),
        transfer_from: None,
        transfer_description: None,
    };
    assert!(saga.handle(SagaInput::Event(&event.into())).is_empty());
    let debit_event: BankEvent = MoneyDebitedEvent {
        iban: IBAN_A.into(),
        amount: AMOUNT,
        id: id(1),
    }
    .into();
    assert!(saga.handle(SagaInput::Event(&debit_event)).is_empty());
    assert!(saga.pending().is_empty());
}

/// Forgetting settled transfers after every step changes no command, except for a debit that
/// succeeds after its transfer failed on the debit's refusal: that needs a DebitMoney decided
/// twice, which the runtime never does (see "Forgetting settled transfers"). A second
/// TransferStarted of a forgotten transfer is not fed: the transfer aggregate, which keeps
/// every id, never writes one.
#[test]
fn forgetting_settled_transfers_changes_nothing_the_runtime_can_meet() {
    for (name, steps) in scenarios() {
        let needs_a_second_debit = name.contains("succeeds after the transfer failed");
        let mut forgetful = Saga::default();
        let mut keeping = Saga::default();
        let mut forgotten_at = None;
        for (step, (input, expected)) in steps.iter().enumerate() {
            assert_eq!(
                &keeping.handle(input.as_input()),
                expected,
                "{name}, step {step}"
            );
            let second_start = forgotten_at.is_some()
                && matches!(input, In::Event(BankEvent::TransferStartedEvent(_)));
            if second_start {
                continue;
            }
            let commands = forgetful.handle(input.as_input());
            if forgotten_at.is_none() || !needs_a_second_debit {
                assert_eq!(&commands, expected, "{name}, step {step}: {input:?}");
            } else {
                assert!(
                    commands.is_empty(),
                    "{name}, step {step}: a forgotten transfer asks nothing"
                );
            }
            if forgetful.forget_settled() > 0 {
                forgotten_at.get_or_insert(step);
            }
        }
        let settled = keeping
            .transfers
            .values()
            .all(|progress| progress.outcome.is_some() && progress.next().is_none());
        if settled && !needs_a_second_debit {
            assert!(forgetful.is_empty(), "{name}: a settled transfer is kept");
        }
        if !settled {
            assert_eq!(
                forgetful.len(),
                1,
                "{name}: a transfer under way is forgotten"
            );
        }
    }
}

#[test]
fn a_failed_transfer_that_must_still_return_money_is_kept() {
    let mut saga = Saga::default();
    for input in [
        start(IBAN_A, IBAN_B),
        refused(DEBIT, INSUFFICIENT),
        was_debited(IBAN_A),
        has_failed(INSUFFICIENT),
    ] {
        saga.handle(input.as_input());
    }
    assert_eq!(saga.forget_settled(), 0);
    assert_eq!(saga.pending(), give_back(IBAN_A, INSUFFICIENT));
    saga.handle(was_returned(IBAN_A, INSUFFICIENT).as_input());
    // Returned: settled now, but only a new final event puts it on the list again.
    assert_eq!(saga.len(), 1);
}

/// A transfer started before the token hashes: the saga keeps the hash of its token, never the
/// token, both in memory and in what a state store keeps, and a restored transfer debits with
/// the same hash.
#[test]
fn a_transfer_keeps_the_hash_of_its_token_only() {
    for (name, input) in [
        ("legacy start", start_legacy(IBAN_A, IBAN_B)),
        ("start", start(IBAN_A, IBAN_B)),
    ] {
        let mut saga = Saga::default();
        assert_eq!(saga.handle(input.as_input()), debit(IBAN_A), "{name}");
        let kept = &saga.transfers[&id(1)].started;
        assert_eq!(kept.token, "", "{name}: no token in memory");
        assert_eq!(
            kept.token_hash.as_deref(),
            Some(hash("t-a").as_str()),
            "{name}"
        );

        let Some(record) = saga.record(id(1)) else {
            panic!("{name}: a record of the transfer");
        };
        assert_eq!(record.token_hash, hash("t-a"), "{name}");
        let stored = postcard::to_allocvec(&record).unwrap_or_default();
        assert!(
            !stored.windows(3).any(|bytes| bytes == b"t-a"),
            "{name}: the token in a state store"
        );

        let mut restored = Saga::default();
        restored.restore(record);
        assert_eq!(restored.pending(), debit(IBAN_A), "{name}: restored");
    }
}
