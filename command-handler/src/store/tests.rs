use topology::proofs::{token_hash, SagaKey};
use topology::values::{open_iban_for_account, CASH};
use topology::{
    BankAccountCreatedEvent, BankCommand, CreateBankAccountCommand, CreditMoneyCommand,
    DebitMoneyCommand, MoneyTransferCommand, TransferCommand, TransferStartedEvent,
};

use super::*;
use crate::domain::saga::SagaInput;
use crate::domain::{Fresh, Reason};

/// The key the command-handler instances share in these tests.
fn key() -> SagaKey {
    SagaKey::new(b"the command handlers' shared secret, in the tests")
}

const ACCOUNTS: u32 = 6;
const TRANSFERS: u8 = 60;

fn iban(n: u32) -> String {
    open_iban_for_account(n)
}

fn transfer_id(n: u8) -> Id {
    Id([n; 16])
}

/// Opening the accounts, a deposit into each, then transfers between them: some out of the
/// bank, some to an IBAN nobody opened (credited nowhere: the money goes back).
fn commands() -> Vec<BankCommand> {
    let mut commands: Vec<BankCommand> = (0..ACCOUNTS)
        .map(|n| {
            CreateBankAccountCommand {
                id: Id([200 + n as u8; 16]),
                iban: iban(n),
                username: "alice".into(),
                token_hash: Some(token_hash("t")),
                token_nonce: None,
            }
            .into()
        })
        .collect();
    let transfer = |n: u8, from: &str, to: &str, amount: i64| -> BankCommand {
        MoneyTransferCommand {
            id: transfer_id(n),
            token: token_hash("t"),
            amount,
            from: from.into(),
            to: to.into(),
            description: format!("transfer {n}"),
            username: "alice".into(),
        }
        .into()
    };
    for n in 0..ACCOUNTS {
        commands.push(transfer(n as u8, CASH, &iban(n), 100_000));
    }
    for n in ACCOUNTS as u8..TRANSFERS {
        let from = iban(u32::from(n) % ACCOUNTS);
        let to = match n % 7 {
            3 => "NL91ABNA0417164300".to_string(),
            5 => iban(ACCOUNTS + 10),
            _ => iban((u32::from(n) * 5 + 1) % ACCOUNTS),
        };
        commands.push(transfer(n, &from, &to, i64::from(n) * 100 + 1));
    }
    commands
}

fn fresh() -> Fresh {
    Fresh {
        token: "t".into(),
        now_millis: crate::domain::fixtures::NOW,
    }
}

/// Runs `commands` on `handler`, writing every decision to `store` as the runtime does.
fn run_stored(handler: &mut Handler, store: &Store, commands: &[BankCommand]) {
    for command in commands {
        if let BankCommand::MoneyTransferCommand(c) = command {
            handler.recall(c.id, store.facts(c.id).unwrap());
        }
        let outputs = handler.bank_command(command, &fresh());
        handler.forget_settled();
        let changes = Changes::of(&outputs, &[command.command_id()]);
        assert!(store
            .write(handler.state(), handler.saga(), &changes, true)
            .unwrap());
        handler.forget_history();
    }
}

/// What the handler answers to a transfer's MoneyTransferCommand and a signed credit
/// delivered again, and how it decides the transfer's debit once more (as a saga that
/// resumes after a rebuild does: a debit never comes from Kafka).
type Redelivered = (Vec<Vec<Output>>, Vec<Result<Vec<BankEvent>, Reason>>);

/// Every command of a transfer delivered again, and what the handler answers.
fn redeliveries(handler: &mut Handler, store: Option<&Store>) -> Redelivered {
    let mut answers = Vec::new();
    let mut debits = Vec::new();
    for command in commands() {
        let BankCommand::MoneyTransferCommand(c) = &command else {
            continue;
        };
        let recall = |handler: &mut Handler| {
            if let Some(store) = store {
                handler.recall(c.id, store.facts(c.id).unwrap());
            }
        };
        recall(handler);
        answers.push(handler.bank_command(&command, &fresh()));
        let debit: TransferCommand = DebitMoneyCommand {
            id: c.id,
            token: c.token.clone(),
            amount: c.amount,
            iban: c.from.clone(),
            username: c.username.clone(),
        }
        .into();
        recall(handler);
        debits.push(handler.state().decide_transfer_command(&debit));
        let mut credit = CreditMoneyCommand {
            id: c.id,
            amount: c.amount,
            iban: c.to.clone(),
            transfer_from: Some(c.from.clone()),
            transfer_description: Some(c.description.clone()),
            saga_signature: None,
        };
        credit.saga_signature = Some(key().sign_credit(&credit));
        recall(handler);
        answers.push(handler.transfer_command(&credit.into()));
        handler.forget_settled();
    }
    (answers, debits)
}

fn balances(handler: &Handler) -> Vec<Option<i64>> {
    (0..ACCOUNTS + 11)
        .map(|n| {
            handler
                .state()
                .accounts()
                .get(&iban(n))
                .map(|a| a.balance())
        })
        .collect()
}

#[test]
fn a_handler_that_forgot_its_history_answers_redeliveries_as_one_that_kept_it() {
    let mut kept = Handler::default().with_saga_key(key());
    for command in commands() {
        kept.bank_command(&command, &fresh());
        kept.forget_settled();
    }

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ch.redb")).unwrap();
    let mut stored = Handler::default().with_saga_key(key());
    run_stored(&mut stored, &store, &commands());
    assert_eq!(balances(&stored), balances(&kept));
    // History is gone from memory: only the store knows the first transfer now.
    assert_eq!(stored.state().transfers().status(transfer_id(0)), None);
    assert_eq!(
        store.facts(transfer_id(0)).unwrap().status,
        Some(TransferStatus::Complete)
    );

    // A restart: a new handler from the store alone.
    drop(stored);
    let loaded = store.load(&Ownership::all()).unwrap();
    assert_eq!(
        loaded.rows, ACCOUNTS as usize,
        "the accounts, and no transfer under way"
    );
    let mut restarted = loaded.handler.with_saga_key(key());
    assert_eq!(balances(&restarted), balances(&kept));

    let expected = redeliveries(&mut kept, None);
    // The redelivered credits were booked once already: each is answered, none moves money
    // (a credit never asked for before, e.g. to another bank, is refused and that refusal kept).
    assert!(expected.0.iter().flatten().all(|o| !matches!(
        o,
        Output::BankEvent(_, event) if !matches!(event, BankEvent::CreditRefusedEvent(_))
    )));
    assert!(expected.0.iter().all(|outputs| !outputs.is_empty()));
    assert!(
        expected.1.contains(&Ok(vec![])),
        "a booked debit books nothing"
    );
    assert_eq!(redeliveries(&mut restarted, Some(&store)), expected);
    assert_eq!(balances(&restarted), balances(&kept));
}

#[test]
fn a_transfer_under_way_is_restored_with_its_saga_and_bookings() {
    let (a, b) = (iban(0), iban(1));
    // Owns a's partition only: a credit of b goes to another instance, so the transfer
    // waits for its answer.
    let owned = Ownership::new([partition_of(&a)]);
    assert_ne!(
        partition_of(&a),
        partition_of(&b),
        "test needs two partitions"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ch.redb")).unwrap();
    let mut handler = Handler::new(BankState::default(), Saga::default(), owned.clone());
    let open: BankCommand = CreateBankAccountCommand {
        id: Id([250; 16]),
        iban: a.clone(),
        username: "alice".into(),
        token_hash: Some(token_hash("t")),
        token_nonce: None,
    }
    .into();
    let deposit: BankCommand = MoneyTransferCommand {
        id: transfer_id(1),
        token: token_hash("t"),
        amount: 1_000,
        from: CASH.into(),
        to: a.clone(),
        description: "cash".into(),
        username: "alice".into(),
    }
    .into();
    let across: BankCommand = MoneyTransferCommand {
        id: transfer_id(2),
        token: token_hash("t"),
        amount: 400,
        from: a.clone(),
        to: b.clone(),
        description: "to b".into(),
        username: "alice".into(),
    }
    .into();
    run_stored(&mut handler, &store, &[open, deposit, across]);
    let waiting = handler.awaiting_remote();
    assert_eq!(waiting, [transfer_id(2)]);

    let mut restarted = store.load(&owned).unwrap().handler;
    assert_eq!(restarted.awaiting_remote(), waiting);
    assert_eq!(
        restarted.state().accounts().get(&a).map(|a| a.balance()),
        Some(600)
    );
    // The debit is booked: decided again, it moves nothing; read from Kafka, it is
    // ignored (only the saga asks for a debit).
    let debit: TransferCommand = DebitMoneyCommand {
        id: transfer_id(2),
        token: token_hash("t"),
        amount: 400,
        iban: a.clone(),
        username: "alice".into(),
    }
    .into();
    assert_eq!(
        restarted.state().decide_transfer_command(&debit),
        Ok(vec![])
    );
    let outputs = restarted.transfer_command(&debit);
    assert!(outputs.is_empty(), "{outputs:?}");
    assert_eq!(
        restarted.state().accounts().get(&a).map(|a| a.balance()),
        Some(600)
    );
}

/// Format 3: owners and transfers under way are kept by the hash of their token. An
/// account and a transfer from before the hashes (token in clear) are stored hashed too,
/// and the hash works after a restart.
#[test]
fn a_refused_credit_stays_refused_after_a_restart_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ch.redb")).unwrap();
    let mut handler = Handler::default().with_saga_key(key());
    let nobody = iban(40);
    let credit = CreditMoneyCommand {
        id: transfer_id(90),
        iban: nobody.clone(),
        amount: 700,
        transfer_from: None,
        transfer_description: None,
        saga_signature: None,
    };
    let credit: TransferCommand = CreditMoneyCommand {
        saga_signature: Some(key().sign_credit(&credit)),
        ..credit
    }
    .into();
    let outputs = handler.transfer_command(&credit);
    let changes = Changes::of(&outputs, &[credit.command_id()]);
    assert!(store
        .write(handler.state(), handler.saga(), &changes, true)
        .unwrap());
    handler.forget_history();
    assert!(handler
        .state()
        .refused_credits()
        .refusal_of(transfer_id(90))
        .is_none());
    assert_eq!(
        store.facts(transfer_id(90)).unwrap().refused_credit,
        Some((nobody.clone(), "iban not known".to_string()))
    );

    // Restarted from the store, the account now created: the credit asked again is refused.
    let mut restarted = store
        .load(&Ownership::all())
        .unwrap()
        .handler
        .with_saga_key(key());
    run_stored(
        &mut restarted,
        &store,
        &[BankCommand::from(CreateBankAccountCommand {
            id: transfer_id(91),
            iban: nobody.clone(),
            username: "late".into(),
            token_hash: Some(token_hash("t-late")),
            token_nonce: None,
        })],
    );
    restarted.recall(transfer_id(90), store.facts(transfer_id(90)).unwrap());
    let again = restarted.transfer_command(&credit);
    assert!(
        again.iter().all(|o| !matches!(o, Output::BankEvent(..))),
        "{again:?}"
    );
    let balance = restarted
        .state()
        .accounts()
        .get(&nobody)
        .map(|a| a.balance());
    assert_eq!(balance, Some(0));
}

#[test]
fn the_store_keeps_token_hashes_never_tokens() {
    const TOKEN: &str = "legacy-token-0123456789";
    let (a, b) = (iban(0), iban(1));
    let owned = Ownership::new([partition_of(&a)]);
    let created: BankEvent = BankAccountCreatedEvent {
        iban: a.clone(),
        token: TOKEN.into(),
        username: "alice".into(),
        token_hash: None,
        token_nonce: None,
    }
    .into();
    let started: BankEvent = TransferStartedEvent {
        id: transfer_id(3),
        token: TOKEN.into(),
        amount: 300,
        from: a.clone(),
        to: b.clone(),
        description: "from before the hashes".into(),
        username: "alice".into(),
        at_millis: None,
        token_hash: None,
    }
    .into();
    let mut state = BankState::default();
    let mut saga = Saga::default();
    let mut changes = Changes::default();
    for event in [&created, &started] {
        state.evolve_bank_event(event);
        saga.apply(SagaInput::Event(event));
        changes.bank_event(event);
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ch.redb")).unwrap();
    assert!(store.write(&state, &saga, &changes, true).unwrap());

    let restored = store.restore(&owned.partitions().collect()).unwrap();
    assert!(
        !format!("{restored:?}").contains(TOKEN),
        "a token in the store: {restored:?}"
    );
    let owners: Vec<_> = restored
        .accounts
        .iter()
        .flat_map(|(_, account)| account.owners.clone())
        .collect();
    assert_eq!(owners, [("alice".to_string(), token_hash(TOKEN))]);
    assert_eq!(restored.saga.len(), 1);

    // After a restart the transfer debits with the hash, which the owner's matches.
    let mut restarted = store.load(&owned).unwrap().handler;
    let resumed = restarted.resume();
    let debited = resumed.iter().any(|o| {
        matches!(o, Output::BankEvent(_, BankEvent::MoneyDebitedEvent(e)) if e.id == transfer_id(3))
    });
    assert!(debited, "{resumed:?}");
    assert_eq!(
        restarted.state().accounts().get(&a).map(|a| a.balance()),
        Some(-300)
    );
}
