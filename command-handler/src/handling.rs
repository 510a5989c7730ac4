//! The command handler's work per input, without Kafka: decide against the in-memory
//! [`BankState`] of the partitions this instance owns, evolve it at once with the decided
//! events, drive the [`Saga`] as far as this instance can, and return every record to write.
//!
//! Evolving before returning is what makes sequential processing safe: the next command, even
//! in the same batch, is decided on a state that already holds this one's events, so two quick
//! debits can never both pass the limit. The records are written later in one Kafka
//! transaction; if that transaction fails, the runtime throws this state away and rebuilds it
//! from the log (see [`crate::runtime`]), because it then holds events that were never written.
//!
//! # One transaction per transfer when it can
//! A MoneyTransferCommand arrives in its home partition (`topology::routing::home`). The saga's
//! next step is decided right here, without a round trip through Kafka, whenever its account
//! lives in a partition this instance owns: the debit (always: it is the home account), the
//! credit (when `to` is owned too), the return and the final mark. With one instance that is
//! every transfer: start, debit, credit, completion and the answer leave in one transaction.
//! Only a credit of an account owned by another instance goes out as a CreditMoneyCommand; its
//! answer comes back on `transfer_command_feedback` in the home partition
//! ([`Handler::transfer_feedback`]), and the saga goes on from there.
//!
//! # Only the saga asks for money steps
//! A debit, a return or a final mark is always decided here, by the saga of the transfer's home
//! partition: none of them ever travels. So one read from Kafka was not written by a saga of the
//! bank and is ignored. A credit does travel, signed with the key the command handlers share
//! (`topology::proofs::SagaKey`); one without this key's signature of exactly what it asks is
//! ignored too. Ignored means no event and no answer: an answer would reach the transfer's real
//! saga, which must hear only about the credit it asked for.

use std::collections::BTreeSet;

use topology::routing::{partition_of, user_event_key};
use topology::{
    BankCommand, BankCommandFeedback, BankEvent, CommandFailed, CommandSucceeded, Id,
    TransferCommand, TransferCommandFeedback, UserCommand, UserCommandFeedback, UserEvent,
};

use crate::domain::saga::{Saga, SagaCommand, SagaInput, SagaMessage};
use crate::domain::{additional_info, BankState, CommandMeta, Fresh, Reason, TransferFacts};
use topology::proofs::SagaKey;

/// One record to write, with its key (see `topology::routing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    UserEvent(String, UserEvent),
    BankEvent(String, BankEvent),
    UserFeedback(String, UserCommandFeedback),
    BankFeedback(String, BankCommandFeedback),
    TransferFeedback(String, TransferCommandFeedback),
    BankCommand(String, BankCommand),
    TransferCommand(String, TransferCommand),
}

impl Output {
    /// Feedback answers someone (the endpoint, or a transfer's home partition), who may want to
    /// read what it caused: it is written last, naming the positions of the events (see
    /// `topology::transactions`).
    pub fn is_answer(&self) -> bool {
        matches!(
            self,
            Output::UserFeedback(..) | Output::BankFeedback(..) | Output::TransferFeedback(..)
        )
    }
}

/// The answer to a money step.
type Answer = Result<CommandSucceeded, CommandFailed>;

/// A saga may take at most this many local steps in one go (debit, credit, return, mark and a
/// spare); more means the facts stopped changing, which the saga rules out, so it is logged
/// and the transfer waits for the next rebuild instead of looping.
const MAX_LOCAL_STEPS: usize = 6;

/// The partitions of the co-partitioned topics this instance decides for.
pub use topology::routing::Ownership;

/// The state one instance decides on, rebuilt for its partitions (see [`crate::rebuild`]).
#[derive(Debug)]
pub struct Handler {
    state: BankState,
    saga: Saga,
    owned: Ownership,
    saga_key: SagaKey,
}

impl Default for Handler {
    fn default() -> Self {
        Self::new(BankState::default(), Saga::default(), Ownership::all())
    }
}

impl Handler {
    /// With a key of its own, which no other instance shares: give it the instances' shared
    /// key with [`Handler::with_saga_key`] before credits cross between instances.
    pub fn new(state: BankState, saga: Saga, owned: Ownership) -> Self {
        let saga_key = SagaKey::random();
        Self {
            state,
            saga,
            owned,
            saga_key,
        }
    }

    /// The key every command-handler instance signs and checks cross-instance credits with.
    pub fn with_saga_key(mut self, key: SagaKey) -> Self {
        self.saga_key = key;
        self
    }

    /// Drops the saga's settled transfers: call it once a batch's outputs are written, since
    /// their keys may need a transfer's home until then.
    pub fn forget_settled(&mut self) -> usize {
        self.saga.forget_settled()
    }

    /// How many transfers the saga keeps (those under way).
    pub fn open_transfers(&self) -> usize {
        self.saga.len()
    }

    pub fn state(&self) -> &BankState {
        &self.state
    }

    pub fn saga(&self) -> &Saga {
        &self.saga
    }

    /// The state and the saga, e.g. to replay more events into them.
    pub fn into_parts(self) -> (BankState, Saga) {
        (self.state, self.saga)
    }

    /// Puts back what the state store kept of `transfer` (see [`BankState::recall`]).
    pub fn recall(&mut self, transfer: Id, facts: TransferFacts) {
        self.state.recall(transfer, facts);
    }

    /// Drops the statuses and bookings of the transfers the saga no longer drives: they are in
    /// the state store. Only after the batch that changed them is written there.
    pub fn forget_history(&mut self) {
        let saga = &self.saga;
        self.state
            .forget_history(|transfer| saga.contains(transfer));
    }

    pub fn ownership(&self) -> &Ownership {
        &self.owned
    }

    /// Hands the partitions in `released` over to another instance: forgets their aggregates
    /// and sagas, and stops deciding for them. The others go on untouched.
    pub fn release(&mut self, released: &BTreeSet<i32>) {
        self.state.release(released);
        self.saga
            .retain_homes(|home| !released.contains(&partition_of(home)));
        self.owned = Ownership::new(self.owned.partitions().filter(|p| !released.contains(p)));
    }

    /// Takes over the partitions `rebuilt` decides for, rebuilt on their own (see
    /// `crate::rebuild`): none of them may be owned here already.
    pub fn adopt(&mut self, rebuilt: Handler) {
        debug_assert!(
            rebuilt
                .owned
                .partitions()
                .all(|p| !self.owned.owns_partition(p)),
            "a partition is owned twice: {:?} and {:?}",
            self.owned,
            rebuilt.owned
        );
        self.state.absorb(rebuilt.state);
        self.saga.absorb(rebuilt.saga);
        self.owned = Ownership::new(self.owned.partitions().chain(rebuilt.owned.partitions()));
    }

    /// After a rebuild: every unfinished transfer goes as far as this instance can take it, and
    /// a credit still waiting for another instance is asked for again, because the command sent
    /// before may have expired or never been written.
    pub fn resume(&mut self) -> Vec<Output> {
        self.resume_in(&self.owned.partitions().collect())
    }

    /// [`Handler::resume`] for the transfers homed in `partitions` only: those just taken
    /// over; the others were driven all along.
    pub fn resume_in(&mut self, partitions: &BTreeSet<i32>) -> Vec<Output> {
        let pending: Vec<SagaCommand> = self
            .saga
            .pending()
            .into_iter()
            .filter(|command| {
                self.saga
                    .home_of(command.transfer_id())
                    .is_some_and(|home| partitions.contains(&partition_of(home)))
            })
            .collect();
        let mut outputs = Vec::new();
        for command in pending {
            outputs.extend(self.drive(command));
        }
        outputs
    }

    /// Transfers waiting for another instance's answer to their credit.
    pub fn awaiting_remote(&self) -> Vec<Id> {
        self.saga
            .pending()
            .into_iter()
            .filter(|command| !self.is_local(command))
            .map(|command| command.transfer_id())
            .collect()
    }

    /// The remote command `transfer` waits for, sent again (an answer or the command may have
    /// expired while the other instance was away; asking twice is harmless).
    pub fn ask_again(&self, transfer: Id) -> Option<Output> {
        self.saga
            .next_for(transfer)
            .filter(|command| !self.is_local(command))
            .map(|command| self.saga_output(command))
    }

    pub fn user_command(&mut self, command: &UserCommand) -> Vec<Output> {
        let key = command.command_id().to_uuid_string();
        match self.state.decide_user_command(command) {
            Ok(events) => {
                let mut outputs = Vec::with_capacity(events.len() + 1);
                for event in events {
                    self.state.evolve_user_event(&event);
                    outputs.push(Output::UserEvent(user_event_key(&event).to_string(), event));
                }
                let feedback = succeeded(command, None);
                outputs.push(Output::UserFeedback(key, feedback.into()));
                outputs
            }
            Err(reason) => {
                let feedback = failed(command, &reason);
                vec![Output::UserFeedback(key, feedback.into())]
            }
        }
    }

    pub fn bank_command(&mut self, command: &BankCommand, fresh: &Fresh) -> Vec<Output> {
        if let BankCommand::MarkTransferCompletedCommand(_)
        | BankCommand::MarkTransferFailedCommand(_) = command
        {
            return not_from_a_saga(command.command_id(), "a transfer's final mark");
        }
        let key = command.command_id().to_uuid_string();
        match self.state.decide_bank_command(command, fresh) {
            Ok(events) => {
                let info = additional_info(&events);
                let (mut outputs, next) = self.record_bank_events(events);
                let feedback = succeeded(command, info);
                outputs.push(Output::BankFeedback(key, feedback.into()));
                for command in next {
                    outputs.extend(self.drive(command));
                }
                outputs
            }
            Err(reason) => {
                let feedback = failed(command, &reason);
                vec![Output::BankFeedback(key, feedback.into())]
            }
        }
    }

    /// Decides what falls due at `now_millis` on the accounts owned here: expired holds
    /// released, standing orders run (see [`BankState::decide_due`]); a run's transfer is
    /// driven as far as this instance can take it, like a MoneyTransfer's. Nobody waits for an
    /// answer.
    pub fn decide_due(&mut self, now_millis: i64) -> Vec<Output> {
        let events = self.state.decide_due(now_millis);
        let (mut outputs, next) = self.record_bank_events(events);
        for command in next {
            outputs.extend(self.drive(command));
        }
        outputs
    }

    /// When something falls due next on the accounts owned here (see [`Handler::decide_due`]).
    pub fn next_due(&self) -> Option<i64> {
        self.state.next_due()
    }

    /// Whether a money step read from Kafka comes from a saga of the bank: a credit signed with
    /// the shared key. Asked before anything is looked up for it, so a forged one costs no
    /// store work.
    pub fn sent_by_a_saga(&self, command: &TransferCommand) -> bool {
        match command {
            TransferCommand::CreditMoneyCommand(credit) => self.saga_key.signed_credit(credit),
            TransferCommand::DebitMoneyCommand(_) | TransferCommand::ReturnMoneyCommand(_) => false,
        }
    }

    /// A money step asked for by another instance's saga: a signed credit. The answer goes to
    /// the transfer's home partition, where its saga waits.
    pub fn transfer_command(&mut self, command: &TransferCommand) -> Vec<Output> {
        if !self.sent_by_a_saga(command) {
            let what = match command {
                TransferCommand::CreditMoneyCommand(_) => "an unsigned credit",
                _ => "a debit or return",
            };
            return not_from_a_saga(command.command_id(), what);
        }
        let (mut outputs, next, answer) = self.book(command);
        let key = answer_key(command);
        let feedback = match answer {
            Ok(succeeded) => TransferCommandFeedback::from(succeeded),
            Err(failed) => TransferCommandFeedback::from(failed),
        };
        outputs.push(Output::TransferFeedback(key, feedback));
        // When the transfer is homed here too (partitions moved since the command was sent),
        // its saga already saw the money event; the answer, consumed later, then changes
        // nothing. A refusal reaches it only through the answer.
        for command in next {
            outputs.extend(self.drive(command));
        }
        outputs
    }

    /// The answer to a money step this instance's saga asked another instance for.
    pub fn transfer_feedback(&mut self, feedback: &TransferCommandFeedback) -> Vec<Output> {
        let input = match feedback {
            TransferCommandFeedback::CommandSucceeded(ok) => SagaInput::Succeeded(ok),
            TransferCommandFeedback::CommandFailed(failed) => SagaInput::Failed(failed),
        };
        let next = self.saga.handle(input);
        next.into_iter()
            .flat_map(|command| self.drive(command))
            .collect()
    }

    /// Takes `first` and every step after it that this instance can decide itself; stops at
    /// the first step for another instance, which is sent as a command.
    fn drive(&mut self, first: SagaCommand) -> Vec<Output> {
        let mut outputs = Vec::new();
        let mut next = vec![first];
        for _ in 0..MAX_LOCAL_STEPS {
            let Some(command) = next.pop() else {
                return outputs;
            };
            if !self.is_local(&command) {
                outputs.push(self.saga_output(command));
                continue;
            }
            let transfer = command.transfer_id();
            let (step_outputs, step_next) = match command.into_message() {
                SagaMessage::Transfer(money) => self.local_money_step(&money),
                SagaMessage::Bank(mark) => self.local_mark(&mark),
            };
            outputs.extend(step_outputs);
            next.extend(step_next);
            if next.is_empty() {
                return outputs;
            }
            tracing::trace!(%transfer, "next local saga step");
        }
        if !next.is_empty() {
            tracing::error!(
                steps = MAX_LOCAL_STEPS,
                "a transfer kept asking for local steps; it resumes after the next rebuild"
            );
        }
        outputs
    }

    /// A debit, credit or return on an owned account: its events, no answer record (nobody
    /// else waits for it), and the saga's next command.
    fn local_money_step(&mut self, command: &TransferCommand) -> (Vec<Output>, Vec<SagaCommand>) {
        let (outputs, mut next, answer) = self.book(command);
        next.extend(match &answer {
            Ok(succeeded) => self.saga.handle(SagaInput::Succeeded(succeeded)),
            Err(failed) => self.saga.handle(SagaInput::Failed(failed)),
        });
        (outputs, next)
    }

    /// The final mark of a transfer homed here; its answer is the transfer's outcome, which
    /// the GraphQL endpoint waits for.
    fn local_mark(&mut self, command: &BankCommand) -> (Vec<Output>, Vec<SagaCommand>) {
        let key = command.command_id().to_uuid_string();
        // A mark hands out no token; the fresh values go unused.
        match self.state.decide_bank_command(command, &Fresh::generate()) {
            Ok(events) => {
                let info = additional_info(&events);
                let (mut outputs, next) = self.record_bank_events(events);
                outputs.push(Output::BankFeedback(key, succeeded(command, info).into()));
                (outputs, next)
            }
            Err(reason) => (
                vec![Output::BankFeedback(key, failed(command, &reason).into())],
                Vec::new(),
            ),
        }
    }

    /// Decides a money step and evolves the state with its events; returns them, what the
    /// saga asks next because of them, and the answer to the step.
    fn book(&mut self, command: &TransferCommand) -> (Vec<Output>, Vec<SagaCommand>, Answer) {
        match self.state.decide_transfer_command(command) {
            Ok(events) => {
                let (outputs, next) = self.record_bank_events(events);
                (outputs, next, Ok(succeeded(command, None)))
            }
            Err(reason) => {
                let recorded = self.state.refusal_events(command, &reason);
                let (outputs, next) = self.record_bank_events(recorded);
                (outputs, next, Err(failed(command, &reason)))
            }
        }
    }

    /// Evolves the state with `events` and lets the saga record them; returns the events and
    /// the saga's next commands.
    fn record_bank_events(&mut self, events: Vec<BankEvent>) -> (Vec<Output>, Vec<SagaCommand>) {
        let mut outputs = Vec::with_capacity(events.len());
        let mut next = Vec::new();
        for event in events {
            self.state.evolve_bank_event(&event);
            next.extend(self.saga.handle(SagaInput::Event(&event)));
            let key = self.bank_event_key(&event);
            outputs.push(Output::BankEvent(key, event));
        }
        (outputs, next)
    }

    /// A saga step is local when the account it touches is owned here; a mark always is (it
    /// belongs to the transfer, which lives in its home partition, which is owned here).
    fn is_local(&self, command: &SagaCommand) -> bool {
        match command {
            SagaCommand::DebitMoney(c) => self.owned.owns(&c.iban),
            SagaCommand::CreditMoney(c) => self.owned.owns(&c.iban),
            SagaCommand::ReturnMoney(c) => self.owned.owns(&c.iban),
            SagaCommand::MarkTransferCompleted(_) | SagaCommand::MarkTransferFailed(_) => true,
        }
    }

    /// A saga command for another instance, keyed by the account it books on. (Marks are
    /// always local; one is keyed by its transfer's home in case a caller sends it anyway.)
    fn saga_output(&self, command: SagaCommand) -> Output {
        let transfer = command.transfer_id();
        match command.into_message() {
            SagaMessage::Transfer(TransferCommand::CreditMoneyCommand(mut credit)) => {
                credit.saga_signature = Some(self.saga_key.sign_credit(&credit));
                Output::TransferCommand(credit.iban.clone(), credit.into())
            }
            SagaMessage::Transfer(command) => {
                let iban = match &command {
                    TransferCommand::DebitMoneyCommand(c) => c.iban.clone(),
                    TransferCommand::CreditMoneyCommand(c) => c.iban.clone(),
                    TransferCommand::ReturnMoneyCommand(c) => c.iban.clone(),
                };
                Output::TransferCommand(iban, command)
            }
            SagaMessage::Bank(command) => Output::BankCommand(self.transfer_key(transfer), command),
        }
    }

    /// Account events by the IBAN they change, transfer events by the transfer's home account,
    /// so that each lands in the partition of the account it belongs to.
    fn bank_event_key(&self, event: &BankEvent) -> String {
        match event {
            BankEvent::BankAccountCreatedEvent(e) => e.iban.clone(),
            BankEvent::UserAddedToBankAccountEvent(e) => e.iban.clone(),
            BankEvent::UserRemovedFromBankAccountEvent(e) => e.iban.clone(),
            BankEvent::MoneyDebitedEvent(e) => e.iban.clone(),
            BankEvent::MoneyCreditedEvent(e) => e.iban.clone(),
            BankEvent::MoneyReturnedEvent(e) => e.iban.clone(),
            BankEvent::CreditRefusedEvent(e) => e.iban.clone(),
            BankEvent::AlertSetEvent(e) => e.iban.clone(),
            BankEvent::AlertRemovedEvent(e) => e.iban.clone(),
            BankEvent::MoneyHeldEvent(e) => e.iban.clone(),
            BankEvent::HoldCapturedEvent(e) => e.iban.clone(),
            BankEvent::HoldReleasedEvent(e) => e.iban.clone(),
            BankEvent::StandingOrderSetEvent(e) => e.iban.clone(),
            BankEvent::StandingOrderRanEvent(e) => e.iban.clone(),
            BankEvent::StandingOrderEndedEvent(e) => e.iban.clone(),
            BankEvent::TransferStartedEvent(e) => topology::routing::home(&e.from, &e.to).into(),
            BankEvent::TransferCompletedEvent(e) => self.transfer_key(e.id),
            BankEvent::TransferFailedEvent(e) => self.transfer_key(e.id),
        }
    }

    fn transfer_key(&self, transfer: Id) -> String {
        self.saga
            .home_of(transfer)
            .map_or_else(|| transfer.to_uuid_string(), str::to_string)
    }
}

/// Where the answer to a money step goes: the home partition of its transfer. A debit and a
/// return book on the home account itself; a credit names the transfer's `from` (absent only
/// in commands written before it existed, which are answered by id as they used to be).
fn answer_key(command: &TransferCommand) -> String {
    match command {
        TransferCommand::DebitMoneyCommand(c) => c.iban.clone(),
        TransferCommand::ReturnMoneyCommand(c) => c.iban.clone(),
        TransferCommand::CreditMoneyCommand(c) => match &c.transfer_from {
            Some(from) => topology::routing::home(from, &c.iban).to_string(),
            None => c.id.to_uuid_string(),
        },
    }
}

/// What a command read from Kafka that no saga of the bank sent turns into: nothing but a log
/// line (see "Only the saga asks for money steps" above).
fn not_from_a_saga(id: Id, what: &str) -> Vec<Output> {
    tracing::warn!(command_id = %id, "ignored {what} that no saga of the bank sent");
    ::metrics::counter!("open_bank_commands_ignored_total").increment(1);
    Vec::new()
}

fn succeeded(command: &impl CommandMeta, additional_info: Option<String>) -> CommandSucceeded {
    CommandSucceeded {
        id: command.command_id(),
        command_name: command.command_name(),
        additional_info,
    }
}

fn failed(command: &impl CommandMeta, reason: &Reason) -> CommandFailed {
    CommandFailed {
        id: command.command_id(),
        command_name: command.command_name(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests;
