//! The command handler's work per command, without Kafka: decide against the one in-memory
//! [`BankState`], evolve it at once with the decided events, let the [`Saga`] react, and return
//! every record that must be written for that command.
//!
//! Evolving before returning is what makes sequential processing safe: the next command, even
//! in the same batch, is decided on a state that already holds this one's events, so two quick
//! debits can never both pass the limit. The records are written later in one Kafka
//! transaction; if that transaction fails the runtime exits (see [`crate::runtime`]), because
//! this state then holds events that were never written.

use topology::{
    BankCommand, BankCommandFeedback, BankEvent, CommandFailed, CommandSucceeded, Id,
    TransferCommand, TransferCommandFeedback, UserCommand, UserCommandFeedback, UserEvent,
};

use crate::domain::saga::{Saga, SagaCommand, SagaInput, SagaMessage};
use crate::domain::{additional_info, BankState, CommandMeta, Fresh, Reason};

/// One record to write, with its key (SPEC §3).
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

/// The state a single active instance decides on, rebuilt at start (see [`crate::rebuild`]).
#[derive(Debug, Default)]
pub struct Handler {
    state: BankState,
    saga: Saga,
}

impl Handler {
    pub fn new(state: BankState, saga: Saga) -> Self {
        Self { state, saga }
    }

    pub fn state(&self) -> &BankState {
        &self.state
    }

    /// The next command of every unfinished transfer: sent once after a rebuild, because the
    /// commands a previous instance sent may have expired or never been written.
    pub fn pending(&self) -> Vec<Output> {
        self.saga.pending().into_iter().map(saga_output).collect()
    }

    pub fn user_command(&mut self, command: &UserCommand) -> Vec<Output> {
        let key = command.command_id().to_uuid_string();
        match self.state.decide_user_command(command) {
            Ok(events) => {
                let mut outputs = Vec::with_capacity(events.len() + 1);
                for event in events {
                    self.state.evolve_user_event(&event);
                    outputs.push(Output::UserEvent(user_event_key(&event), event));
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
        let key = command.command_id().to_uuid_string();
        match self.state.decide_bank_command(command, fresh) {
            Ok(events) => {
                let info = additional_info(&events);
                let mut outputs = self.record_bank_events(events);
                let feedback = succeeded(command, info);
                outputs.push(Output::BankFeedback(key, feedback.into()));
                outputs
            }
            Err(reason) => {
                let feedback = failed(command, &reason);
                vec![Output::BankFeedback(key, feedback.into())]
            }
        }
    }

    /// Saga steps: the feedback goes to the saga too, because the saga advances on the feedback
    /// of its own commands (see "One order per transfer" in [`crate::domain::saga`]).
    pub fn transfer_command(&mut self, command: &TransferCommand) -> Vec<Output> {
        let key = command.command_id().to_uuid_string();
        let (mut outputs, feedback) = match self.state.decide_transfer_command(command) {
            Ok(events) => {
                let outputs = self.record_bank_events(events);
                (outputs, Ok(succeeded(command, None)))
            }
            Err(reason) => (Vec::new(), Err(failed(command, &reason))),
        };
        let next = match &feedback {
            Ok(succeeded) => self.saga.handle(SagaInput::Succeeded(succeeded)),
            Err(failed) => self.saga.handle(SagaInput::Failed(failed)),
        };
        let feedback = match feedback {
            Ok(succeeded) => TransferCommandFeedback::from(succeeded),
            Err(failed) => TransferCommandFeedback::from(failed),
        };
        outputs.push(Output::TransferFeedback(key, feedback));
        outputs.extend(next.into_iter().map(saga_output));
        outputs
    }

    /// Evolves the state with `events` and lets the saga react; returns the events and the
    /// saga's next commands, in that order.
    fn record_bank_events(&mut self, events: Vec<BankEvent>) -> Vec<Output> {
        let mut outputs = Vec::with_capacity(events.len() + 1);
        let mut next = Vec::new();
        for event in events {
            self.state.evolve_bank_event(&event);
            next.extend(self.saga.handle(SagaInput::Event(&event)));
            outputs.push(Output::BankEvent(bank_event_key(&event), event));
        }
        outputs.extend(next.into_iter().map(saga_output));
        outputs
    }
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

/// Money steps are account commands, keyed by the IBAN they book on; the Mark…Commands are
/// keyed by their (transfer) id like every other command.
fn saga_output(command: SagaCommand) -> Output {
    let id_key = command.transfer_id().to_uuid_string();
    match command.into_message() {
        SagaMessage::Transfer(command) => {
            let iban = match &command {
                TransferCommand::DebitMoneyCommand(c) => c.iban.clone(),
                TransferCommand::CreditMoneyCommand(c) => c.iban.clone(),
                TransferCommand::ReturnMoneyCommand(c) => c.iban.clone(),
            };
            Output::TransferCommand(iban, command)
        }
        SagaMessage::Bank(command) => Output::BankCommand(id_key, command),
    }
}

fn user_event_key(event: &UserEvent) -> String {
    match event {
        UserEvent::UserAccountCreatedEvent(e) => e.username.clone(),
    }
}

/// Account events by the IBAN they change, transfer events by the transfer id. `bank_events`
/// has one partition, so keys never change the order; they only tell a reader what a record
/// is about.
fn bank_event_key(event: &BankEvent) -> String {
    let transfer = |id: &Id| id.to_uuid_string();
    match event {
        BankEvent::BankAccountCreatedEvent(e) => e.iban.clone(),
        BankEvent::UserAddedToBankAccountEvent(e) => e.iban.clone(),
        BankEvent::UserRemovedFromBankAccountEvent(e) => e.iban.clone(),
        BankEvent::MoneyDebitedEvent(e) => e.iban.clone(),
        BankEvent::MoneyCreditedEvent(e) => e.iban.clone(),
        BankEvent::MoneyReturnedEvent(e) => e.iban.clone(),
        BankEvent::TransferStartedEvent(e) => transfer(&e.id),
        BankEvent::TransferCompletedEvent(e) => transfer(&e.id),
        BankEvent::TransferFailedEvent(e) => transfer(&e.id),
    }
}

#[cfg(test)]
mod tests;
