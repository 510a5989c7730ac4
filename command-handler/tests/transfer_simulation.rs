//! Many random transfers driven through decide/evolve and the saga until nothing is in flight,
//! with what Kafka may do: commands delivered in any order and any number of times, the saga
//! re-reading parts of its topics, and restarts. Afterwards money must be conserved and every
//! started transfer must have ended exactly once.
//!
//! What Kafka does guarantee is kept: `bank_events` (one partition) is read in order, and so is
//! the feedback of one transfer (keyed by the transfer id, so on one partition).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

use std::collections::{BTreeMap, HashMap};

use test_support::seeded::Rng;

use command_handler::domain::saga::{Saga, SagaInput, SagaMessage};
use command_handler::domain::{BankState, CommandMeta, Fresh};
use topology::proofs::token_hash;
use topology::values::{is_open_iban, open_iban_for_account, CASH};
use topology::{
    BankCommand, BankEvent, CommandFailed, CommandSucceeded, CreateBankAccountCommand, Id,
    MoneyTransferCommand, TransferCommand, TransferStartedEvent,
};

const ACCOUNTS: u32 = 6;
const TRANSFERS_PER_RUN: u32 = 400;
const SEEDS: u64 = 25;
const REDELIVERY_PERCENT: u64 = 10;
const REWIND_PERCENT: u64 = 3;
const RESTART_PER_MILLE: u64 = 3;
const FOREIGN_IBAN: &str = "NL91ABNA0417164300";

#[derive(Debug, Clone)]
enum Feedback {
    Succeeded(CommandSucceeded),
    Failed(CommandFailed),
}

impl Feedback {
    fn as_input(&self) -> SagaInput<'_> {
        match self {
            Feedback::Succeeded(feedback) => SagaInput::Succeeded(feedback),
            Feedback::Failed(feedback) => SagaInput::Failed(feedback),
        }
    }
}

/// A command on its way to the command handler.
#[derive(Debug, Clone)]
enum InFlight {
    Bank(BankCommand),
    Transfer(TransferCommand),
}

/// One partition of `transfer_command_feedback` as the saga reads it.
#[derive(Debug, Default)]
struct Partition {
    records: Vec<Feedback>,
    read: usize,
}

/// An owner, known by the hash of their token: what every command carries.
#[derive(Debug, Clone)]
struct Owner {
    username: String,
    iban: String,
    token_hash: String,
}

struct World {
    rng: Rng,
    state: BankState,
    saga: Saga,
    /// `bank_events`, kept forever, and how far the saga has read it.
    bank_events: Vec<BankEvent>,
    events_read: usize,
    /// `transfer_command_feedback` in the order it was written (nothing expires within a
    /// run), and per transfer how far the saga has read it.
    feedback: Vec<Feedback>,
    feedback_by_transfer: BTreeMap<Id, Partition>,
    in_flight: Vec<InFlight>,
    tokens_issued: u64,
    owners: Vec<Owner>,
    ids_used: Vec<Id>,
    restarts: u32,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut world = World {
            rng: Rng::new(seed),
            state: BankState::default(),
            saga: Saga::default(),
            bank_events: Vec::new(),
            events_read: 0,
            feedback: Vec::new(),
            feedback_by_transfer: BTreeMap::new(),
            in_flight: Vec::new(),
            tokens_issued: 0,
            owners: Vec::new(),
            ids_used: Vec::new(),
            restarts: 0,
        };
        for account in 1..=ACCOUNTS {
            let username = format!("user-{account}");
            let iban = open_iban_for_account(account);
            let id = world.new_id();
            let hash = token_hash(&format!("token-{account}"));
            world.decide_bank(BankCommand::CreateBankAccountCommand(
                CreateBankAccountCommand {
                    id,
                    iban: iban.clone(),
                    username: username.clone(),
                    token_hash: Some(hash.clone()),
                    token_nonce: None,
                },
            ));
            let known = world
                .state
                .accounts()
                .get(&iban)
                .and_then(|account| account.token_of(&username))
                .map(String::from);
            assert_eq!(known.as_ref(), Some(&hash), "{iban} was not created");
            world.owners.push(Owner {
                username,
                iban,
                token_hash: hash,
            });
        }
        world
    }

    fn new_id(&mut self) -> Id {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.rng.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.rng.next_u64().to_be_bytes());
        let id = Id(bytes);
        self.ids_used.push(id);
        id
    }

    fn publish(&mut self, events: Vec<BankEvent>) {
        for event in events {
            self.state.evolve_bank_event(&event);
            self.bank_events.push(event);
        }
    }

    fn answer(&mut self, feedback: Feedback) {
        let transfer = match &feedback {
            Feedback::Succeeded(f) => f.id,
            Feedback::Failed(f) => f.id,
        };
        self.feedback.push(feedback.clone());
        let partition = self.feedback_by_transfer.entry(transfer).or_default();
        partition.records.push(feedback);
    }

    fn send(&mut self, commands: Vec<command_handler::domain::saga::SagaCommand>) {
        for command in commands {
            self.in_flight.push(match command.into_message() {
                SagaMessage::Transfer(command) => InFlight::Transfer(command),
                SagaMessage::Bank(command) => InFlight::Bank(command),
            });
        }
    }

    fn decide_bank(&mut self, command: BankCommand) {
        self.tokens_issued += 1;
        let fresh = Fresh {
            token: format!("{:020}", self.tokens_issued),
            // A day per decision: the simulation is about the saga, not the deposit limits.
            now_millis: i64::try_from(self.tokens_issued).unwrap_or(0) * 86_400_000,
        };
        if let Ok(events) = self.state.decide_bank_command(&command, &fresh) {
            self.publish(events);
        }
    }

    fn decide_transfer(&mut self, command: TransferCommand) {
        let (id, command_name) = (command.command_id(), command.command_name());
        match self.state.decide_transfer_command(&command) {
            Ok(events) => {
                self.publish(events);
                self.answer(Feedback::Succeeded(CommandSucceeded {
                    id,
                    command_name,
                    additional_info: None,
                }));
            }
            Err(reason) => self.answer(Feedback::Failed(CommandFailed {
                id,
                command_name,
                reason: reason.to_string(),
            })),
        }
    }

    /// One delivery of a random command in flight; Kafka may deliver it again later.
    fn deliver_command(&mut self) {
        let index = self.rng.below(self.in_flight.len() as u64) as usize;
        let command = self.in_flight.swap_remove(index);
        if self.rng.percent(REDELIVERY_PERCENT) {
            self.in_flight.push(command.clone());
        }
        match command {
            InFlight::Bank(command) => self.decide_bank(command),
            InFlight::Transfer(command) => self.decide_transfer(command),
        }
    }

    fn saga_reads_an_event(&mut self) {
        if self.rng.percent(REWIND_PERCENT) {
            self.events_read = self
                .events_read
                .saturating_sub(1 + self.rng.below(5) as usize);
        }
        let event = self.bank_events[self.events_read].clone();
        self.events_read += 1;
        let commands = self.saga.handle(SagaInput::Event(&event));
        self.send(commands);
    }

    fn saga_reads_feedback(&mut self, transfer: Id) {
        let rewind = self
            .rng
            .percent(REWIND_PERCENT)
            .then(|| 1 + self.rng.below(3) as usize);
        let Some(partition) = self.feedback_by_transfer.get_mut(&transfer) else {
            return;
        };
        if let Some(back) = rewind {
            partition.read = partition.read.saturating_sub(back);
        }
        let feedback = partition.records[partition.read].clone();
        partition.read += 1;
        let commands = self.saga.handle(feedback.as_input());
        self.send(commands);
    }

    fn unread_feedback(&self) -> Vec<Id> {
        self.feedback_by_transfer
            .iter()
            .filter(|(_, partition)| partition.read < partition.records.len())
            .map(|(transfer, _)| *transfer)
            .collect()
    }

    /// The command handler starts over from the topics; commands in flight stay in Kafka.
    fn restart(&mut self) {
        self.restarts += 1;
        self.state = BankState::default();
        self.saga = Saga::default();
        for event in &self.bank_events {
            self.state.evolve_bank_event(event);
            self.saga.apply(SagaInput::Event(event));
        }
        for feedback in &self.feedback {
            self.saga.apply(feedback.as_input());
        }
        self.events_read = self.bank_events.len();
        for partition in self.feedback_by_transfer.values_mut() {
            partition.read = partition.records.len();
        }
        let pending = self.saga.pending();
        self.send(pending);
    }

    fn random_transfer(&mut self) -> MoneyTransferCommand {
        let owners = self.owners.clone();
        let me = self.rng.pick(&owners).clone();
        let other = self.rng.pick(&owners).clone();
        let amount = 1 + self.rng.below(60_000) as i64;
        let unknown_iban = open_iban_for_account(900 + self.rng.below(50) as u32);
        let mine = me.token_hash;
        let (from, to, username, token, amount) = match self.rng.below(12) {
            0 | 1 => (CASH.into(), me.iban.clone(), me.username, mine, amount),
            2..=4 => (me.iban, other.iban, me.username, mine, amount),
            5 => (me.iban, unknown_iban, me.username, mine, amount),
            6 => {
                let outside = if self.rng.percent(50) {
                    FOREIGN_IBAN
                } else {
                    CASH
                };
                (me.iban, outside.into(), me.username, mine, amount)
            }
            7 => (CASH.into(), other.iban, me.username, mine, amount),
            8 => (me.iban.clone(), me.iban, me.username, mine, amount),
            9 => (FOREIGN_IBAN.into(), me.iban, me.username, mine, amount),
            10 => (
                me.iban,
                other.iban,
                me.username,
                token_hash("wrong"),
                amount,
            ),
            _ => (
                other.iban,
                me.iban,
                me.username,
                mine,
                -(self.rng.below(3) as i64),
            ),
        };
        let id = if self.rng.percent(3) && !self.ids_used.is_empty() {
            let ids = self.ids_used.clone();
            *self.rng.pick(&ids)
        } else {
            self.new_id()
        };
        MoneyTransferCommand {
            id,
            token,
            amount,
            from,
            to,
            description: "simulated".into(),
            username,
        }
    }

    fn run(&mut self) {
        let mut started = 0;
        let mut steps = 0u64;
        loop {
            let unread_feedback = self.unread_feedback();
            let unread_events = self.events_read < self.bank_events.len();
            let can_start = started < TRANSFERS_PER_RUN;
            if !can_start
                && self.in_flight.is_empty()
                && !unread_events
                && unread_feedback.is_empty()
            {
                break;
            }
            steps += 1;
            assert!(steps < 2_000_000, "the simulation does not settle");
            match self.rng.below(4) {
                0 if can_start => {
                    started += 1;
                    let command = self.random_transfer();
                    self.in_flight.push(InFlight::Bank(command.into()));
                }
                1 if !self.in_flight.is_empty() => self.deliver_command(),
                2 if unread_events => self.saga_reads_an_event(),
                3 if !unread_feedback.is_empty() => {
                    let transfer = *self.rng.pick(&unread_feedback);
                    self.saga_reads_feedback(transfer);
                }
                _ => continue,
            }
            if self.rng.below(1_000) < RESTART_PER_MILLE {
                self.restart();
            }
        }
    }
}

#[derive(Debug, Default)]
struct Moves {
    debited: i64,
    credited: i64,
    returned: i64,
    finals: Vec<Result<(), String>>,
}

#[derive(Debug, Default)]
struct Tally {
    deposits_in: i64,
    sent_out: i64,
    completed_internal: u32,
    completed_out: u32,
    completed_deposits: u32,
    failed_without_money: u32,
    failed_after_return: u32,
    late_debits: u32,
    restarts: u32,
}

fn check(world: &World, seed: u64) -> Tally {
    let mut started: HashMap<Id, TransferStartedEvent> = HashMap::new();
    let mut moves: HashMap<Id, Moves> = HashMap::new();
    for event in &world.bank_events {
        match event {
            BankEvent::TransferStartedEvent(e) => {
                assert!(
                    started.insert(e.id, e.clone()).is_none(),
                    "seed {seed}: started twice"
                );
            }
            BankEvent::MoneyDebitedEvent(e) => moves.entry(e.id).or_default().debited += e.amount,
            BankEvent::MoneyCreditedEvent(e) => moves.entry(e.id).or_default().credited += e.amount,
            BankEvent::MoneyReturnedEvent(e) => moves.entry(e.id).or_default().returned += e.amount,
            BankEvent::TransferCompletedEvent(e) => {
                moves.entry(e.id).or_default().finals.push(Ok(()))
            }
            BankEvent::TransferFailedEvent(e) => moves
                .entry(e.id)
                .or_default()
                .finals
                .push(Err(e.reason.clone())),
            _ => {}
        }
    }

    let mut tally = Tally {
        restarts: world.restarts,
        ..Tally::default()
    };
    let empty = Moves::default();
    for (id, transfer) in &started {
        let moved = moves.get(id).unwrap_or(&empty);
        let context = format!("seed {seed}, {transfer:?}: {moved:?}");
        assert_eq!(moved.finals.len(), 1, "exactly one final event: {context}");
        let amount = transfer.amount;
        let deposit = transfer.from == CASH;
        let leaves_the_bank = !is_open_iban(&transfer.to);
        match &moved.finals[0] {
            Ok(()) if deposit => {
                assert_eq!(
                    (moved.debited, moved.credited, moved.returned),
                    (0, amount, 0),
                    "{context}"
                );
                tally.deposits_in += amount;
                tally.completed_deposits += 1;
            }
            Ok(()) if leaves_the_bank => {
                assert_eq!(
                    (moved.debited, moved.credited, moved.returned),
                    (amount, 0, 0),
                    "{context}"
                );
                tally.sent_out += amount;
                tally.completed_out += 1;
            }
            Ok(()) => {
                assert_eq!(
                    (moved.debited, moved.credited, moved.returned),
                    (amount, amount, 0),
                    "{context}"
                );
                tally.completed_internal += 1;
            }
            Err(_) => {
                assert_eq!(
                    moved.credited, 0,
                    "a failed transfer credits nothing: {context}"
                );
                assert_eq!(
                    moved.debited, moved.returned,
                    "a failed transfer keeps nothing: {context}"
                );
                if moved.returned > 0 {
                    tally.failed_after_return += 1;
                } else {
                    tally.failed_without_money += 1;
                }
            }
        }
    }
    for id in moves.keys() {
        assert!(
            started.contains_key(id),
            "seed {seed}: money moved for a transfer never started"
        );
    }

    let balances: i64 = world
        .state
        .accounts()
        .iter()
        .map(|(_, a)| a.balance())
        .sum();
    assert_eq!(
        balances,
        tally.deposits_in - tally.sent_out,
        "seed {seed}: money is only created by deposits and only leaves by transfers out"
    );
    for (iban, account) in world.state.accounts().iter() {
        assert!(
            account.balance() > account.limit(),
            "seed {seed}: {iban} below its limit"
        );
    }
    assert!(
        world.saga.pending().is_empty(),
        "seed {seed}: the saga still waits for something"
    );

    let mut debit_answers: HashMap<Id, Vec<bool>> = HashMap::new();
    for feedback in &world.feedback {
        match feedback {
            Feedback::Succeeded(f)
                if f.command_name == topology::CommandName::DebitMoneyCommand =>
            {
                debit_answers.entry(f.id).or_default().push(true)
            }
            Feedback::Failed(f) if f.command_name == topology::CommandName::DebitMoneyCommand => {
                debit_answers.entry(f.id).or_default().push(false)
            }
            _ => {}
        }
    }
    tally.late_debits = debit_answers
        .values()
        .filter(|answers| {
            answers
                .iter()
                .position(|ok| !ok)
                .is_some_and(|refused| answers[refused..].contains(&true))
        })
        .count() as u32;
    tally
}

#[test]
fn random_transfers_conserve_money_and_end_exactly_once() {
    let mut total = Tally::default();
    for seed in 1..=SEEDS {
        let mut world = World::new(seed);
        world.run();
        let tally = check(&world, seed);
        total.deposits_in += tally.deposits_in;
        total.sent_out += tally.sent_out;
        total.completed_internal += tally.completed_internal;
        total.completed_out += tally.completed_out;
        total.completed_deposits += tally.completed_deposits;
        total.failed_without_money += tally.failed_without_money;
        total.failed_after_return += tally.failed_after_return;
        total.late_debits += tally.late_debits;
        total.restarts += tally.restarts;
    }
    eprintln!("{total:?}");
    // The run must have walked every path, or the checks above prove little.
    assert!(total.completed_internal > 0, "{total:?}");
    assert!(total.completed_out > 0, "{total:?}");
    assert!(total.completed_deposits > 0, "{total:?}");
    assert!(total.failed_without_money > 0, "{total:?}");
    assert!(total.failed_after_return > 0, "{total:?}");
    assert!(total.late_debits > 0, "{total:?}");
    assert!(total.restarts > 0, "{total:?}");
}
