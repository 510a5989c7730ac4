//! The transfer saga: a pure state machine that turns what happened to a transfer into the
//! one command the transfer needs next. Rules (SPEC §4 "Transfer saga"):
//!
//! - TransferStarted: from = to → MarkTransferFailed(`from and to can't be same for
//!   transfer`); from neither `cash` nor an open IBAN → MarkTransferFailed(`from is invalid`);
//!   from = `cash` → CreditMoney(to), a deposit whose ownership the MoneyTransfer decision
//!   already checked (see [`super::transfer`]); else DebitMoney(from).
//! - debit ok → CreditMoney(to) if `to` is an open IBAN, else MarkTransferCompleted (the money
//!   leaves the bank); credit ok → MarkTransferCompleted; return ok → MarkTransferFailed(reason of
//!   the refused credit); debit refused → MarkTransferFailed(reason); credit refused →
//!   ReturnMoney(from) if debited, else MarkTransferFailed(reason).
//! - Not in the SPEC: return refused → MarkTransferFailed(`<credit reason>, and returning the
//!   money failed: <return reason>`), so even that transfer ends; a debit that succeeds after
//!   it was refused (redelivered) → ReturnMoney(from), then MarkTransferFailed(its refusal).
//!
//! Every saga command carries the transfer id as its command id: its feedback then names the
//! transfer, and an account recognises a redelivered movement (see [`super::bank_account`]).
//!
//! # Facts, and where each one is read
//! A transfer lives in its home account's partition (`topology::routing::home`: `from`, or `to`
//! for a deposit), and so does its saga: TransferStarted, MoneyDebited, MoneyReturned and
//! TransferCompleted/Failed are all written there, by the one instance that owns it. The only
//! step that can happen elsewhere is the credit of a `to` account in another partition; its
//! answer comes back on `transfer_command_feedback` in the home partition.
//!
//! So the saga learns a step's success from the money events of the home partition (and from
//! a MoneyCredited there when `to` shares it), and a refusal, or a remote credit's success, from
//! the answer to its command. The runtime consumes those answers in the same transactions that
//! write their consequences, and decides local steps within the transaction that started them,
//! so whatever the saga acted on is in the home partition's events by the time anyone replays
//! them: live and replayed decisions agree. A refusal leaves no event, but a refused step is
//! always followed, in the same transaction, by the event it led to (TransferFailed, or a
//! MoneyReturned), so a replay never needs the refusal itself.
//!
//! # The next command is a function of facts
//! Per transfer the saga keeps the TransferStarted event; per step (debit, credit, return)
//! whether it succeeded and its first refusal; and the final outcome. [`Saga::handle`] records
//! an input and emits the command the facts call for only when it differs from the one they
//! called for before. Hence the same input twice yields nothing, inputs of unknown transfers
//! change nothing, and a finished transfer needs nothing (but see "money is never lost").
//!
//! # Guarantees and the state they need
//! - Every started transfer ends in exactly one TransferCompleted or TransferFailed: until the
//!   saga sees a final event it keeps needing a Mark…Command, and the transfer aggregate only
//!   accepts the first one (a final status never changes), so extra ones are refused.
//! - Money moves at most once: each (transfer id, debit|credit|return) is booked at most once
//!   per account, a credit is asked for only after a successful debit without refusal (or for
//!   a deposit), and a return only after a refusal.
//! - Money is never lost: a refused DebitMoney that is redelivered and then finds enough funds
//!   succeeds after the saga gave up on it. The facts then read "debit refused, debit
//!   succeeded", for which the next command is ReturnMoney, also when the transfer has already
//!   failed.
//!   Known gap: a CreditMoney refused with `iban not known` (or, for a deposit, an overflow)
//!   that is redelivered and then accepted, after the money was returned, is not undone: the
//!   saga cannot take money out of someone else's account. It needs that IBAN to be created
//!   between two deliveries of one command; a runtime that commits a command's offset together
//!   with its feedback (Kafka transactions) rules out such redelivery altogether.
//!
//! # Rebuilding after a restart or a rebalance
//! The runtime [`Saga::apply`]s, without sending anything, every `bank_events` record of the
//! partitions it takes over, from the beginning. Then it asks for [`Saga::pending`], the next
//! command of every unfinished transfer, and goes on with [`Saga::handle`]. The only transfers
//! left unfinished are those waiting for a remote credit: asking again is safe, because an
//! account answers a movement it already booked with success and no new event, and a second
//! Mark…Command is refused by the transfer aggregate (its CommandFailed is ignored here). An
//! answer or a command that expired (60 s retention) only means the saga asks again and gets
//! the same answer, or, for a step that never took effect, a fresh one.
//! A duplicated TransferStarted can never start a finished transfer over: the transfer
//! aggregate, which keeps every transfer id it saw, never writes a second one.
//!
//! # Forgetting settled transfers
//! A transfer with a final event whose facts call for nothing more is settled, and
//! [`Saga::forget_settled`] drops it, so the saga's memory grows with the transfers under way,
//! not with history. A forgotten transfer never starts over: the transfer aggregate writes one
//! TransferStarted per id, ever. Other inputs for it change nothing, which is what the saga
//! would have done with them anyway, except in one case: a debit that succeeds after the
//! transfer failed on its refusal (see "money is never lost"). That needs a DebitMoney decided
//! twice, and the runtime decides every debit once, in the transaction of the step that asks
//! for it (a debit books on the home account, which the instance running the saga owns), so it
//! never happens. The runtime forgets after a batch is written, when no output of the batch
//! needs the transfer's home any more.

use std::collections::BTreeMap;

use topology::values::{is_open_iban, CASH};
use topology::{
    BankEvent, CommandFailed, CommandName, CommandSucceeded, CreditMoneyCommand, DebitMoneyCommand,
    Id, MarkTransferCompletedCommand, MarkTransferFailedCommand, ReturnMoneyCommand,
    TransferStartedEvent,
};

use super::Reason;

mod commands;

pub use commands::{SagaCommand, SagaMessage};

/// What the saga reacts to: a `bank_events` record or `transfer_command_feedback` record.
#[derive(Debug, Clone, Copy)]
pub enum SagaInput<'a> {
    Event(&'a BankEvent),
    Succeeded(&'a CommandSucceeded),
    Failed(&'a CommandFailed),
}

impl SagaInput<'_> {
    fn transfer_id(&self) -> Option<Id> {
        match self {
            SagaInput::Event(event) => transfer_id(event),
            SagaInput::Succeeded(feedback) => Some(feedback.id),
            SagaInput::Failed(feedback) => Some(feedback.id),
        }
    }
}

/// The transfer a bank event belongs to, if any.
pub fn transfer_id(event: &BankEvent) -> Option<Id> {
    match event {
        BankEvent::TransferStartedEvent(e) => Some(e.id),
        BankEvent::MoneyDebitedEvent(e) => Some(e.id),
        BankEvent::MoneyCreditedEvent(e) => Some(e.id),
        BankEvent::MoneyReturnedEvent(e) => Some(e.id),
        BankEvent::TransferCompletedEvent(e) => Some(e.id),
        BankEvent::TransferFailedEvent(e) => Some(e.id),
        BankEvent::BankAccountCreatedEvent(_)
        | BankEvent::UserAddedToBankAccountEvent(_)
        | BankEvent::UserRemovedFromBankAccountEvent(_)
        | BankEvent::AlertSetEvent(_)
        | BankEvent::AlertRemovedEvent(_)
        // A hold is no transfer until its capture's TransferStarted (see `super::holds`).
        | BankEvent::MoneyHeldEvent(_)
        | BankEvent::HoldCapturedEvent(_)
        | BankEvent::HoldReleasedEvent(_)
        // An order is no transfer; each run is one, with a TransferStarted of its own.
        | BankEvent::StandingOrderSetEvent(_)
        | BankEvent::StandingOrderRanEvent(_)
        | BankEvent::StandingOrderEndedEvent(_)
        // The credited account's memory (see `super::refused_credits`); the saga hears of the
        // refusal from its answer.
        | BankEvent::CreditRefusedEvent(_) => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Outcome {
    Completed,
    Failed(String),
}

/// A transfer under way as a state store keeps it: the saga's facts about it, field by field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProgressRecord {
    id: [u8; 16],
    /// The hash of the token the transfer was asked with.
    token_hash: String,
    amount: i64,
    from: String,
    to: String,
    description: String,
    username: String,
    /// Debit, credit and give-back: (succeeded, first refusal).
    steps: [(bool, Option<String>); 3],
    outcome: Option<Outcome>,
}

impl ProgressRecord {
    pub fn transfer_id(&self) -> Id {
        Id(self.id)
    }

    /// The key of the transfer's events and answers (see [`Saga::home_of`]).
    pub fn home(&self) -> &str {
        topology::routing::home(&self.from, &self.to)
    }
}

/// The amount a money event moves, if it is one. Every money event of a transfer moves exactly
/// the transfer's amount: that is what keeps money conserved across its debit, credit and return.
fn money_moved(event: &BankEvent) -> Option<i64> {
    match event {
        BankEvent::MoneyDebitedEvent(e) => Some(e.amount),
        BankEvent::MoneyCreditedEvent(e) => Some(e.amount),
        BankEvent::MoneyReturnedEvent(e) => Some(e.amount),
        _ => None,
    }
}

/// What the feedback said about one step of a transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Step {
    succeeded: bool,
    refused: Option<String>,
}

impl Step {
    fn answer(&mut self, answer: Result<(), &str>) {
        match answer {
            Ok(()) => self.succeeded = true,
            // The first refusal is the one the saga acted on.
            Err(reason) => {
                self.refused.get_or_insert_with(|| reason.to_string());
            }
        }
    }
}

/// The facts about one transfer.
#[derive(Debug, Clone)]
struct Progress {
    started: TransferStartedEvent,
    debit: Step,
    credit: Step,
    give_back: Step,
    outcome: Option<Outcome>,
}

impl Progress {
    /// A transfer as it started. One started before the token hashes carries the token itself:
    /// the saga keeps its hash only, like every later transfer.
    fn new(mut started: TransferStartedEvent) -> Self {
        if started.token_hash.is_none() {
            started.token_hash = Some(topology::proofs::token_hash(&started.token));
        }
        started.token.clear();
        Progress {
            started,
            debit: Step::default(),
            credit: Step::default(),
            give_back: Step::default(),
            outcome: None,
        }
    }

    fn is_deposit(&self) -> bool {
        self.started.from == CASH
    }

    fn next(&self) -> Option<SagaCommand> {
        match &self.outcome {
            None => Some(self.next_while_started()),
            Some(Outcome::Failed(reason)) if self.debit_is_stranded() => {
                Some(self.return_money(reason))
            }
            Some(_) => None,
        }
    }

    /// Debited money that neither arrived nor went back: only a debit that succeeded after it
    /// was refused leaves this behind in a failed transfer, and it must go back or it is lost.
    fn debit_is_stranded(&self) -> bool {
        self.debit.succeeded
            && !self.credit.succeeded
            && !self.give_back.succeeded
            && self.give_back.refused.is_none()
    }

    fn next_while_started(&self) -> SagaCommand {
        let (from, to) = (&self.started.from, &self.started.to);
        if from == to {
            return self.mark_failed(Reason::FromAndToAreTheSame.to_string());
        }
        if from != CASH && !is_open_iban(from) {
            return self.mark_failed(Reason::FromIsInvalid.to_string());
        }
        if self.is_deposit() {
            return match (self.credit.succeeded, &self.credit.refused) {
                (true, _) => self.mark_completed(),
                (false, Some(reason)) => self.mark_failed(reason.clone()),
                (false, None) => self.credit(),
            };
        }
        if !self.debit.succeeded {
            return match &self.debit.refused {
                Some(reason) => self.mark_failed(reason.clone()),
                None => self.debit(),
            };
        }
        if self.credit.succeeded {
            return self.mark_completed();
        }
        // Debited, and either the credit was refused or the debit had been refused before it
        // succeeded after all (redelivered): either way the money goes back.
        let why = self.debit.refused.as_ref().or(self.credit.refused.as_ref());
        match (why, &self.give_back.refused) {
            (None, _) if is_open_iban(to) => self.credit(),
            (None, _) => self.mark_completed(),
            (Some(reason), _) if self.give_back.succeeded => self.mark_failed(reason.clone()),
            (Some(reason), None) => self.return_money(reason),
            (Some(credit_reason), Some(return_reason)) => self.mark_failed(
                Reason::ReturnFailed {
                    credit_reason: credit_reason.clone(),
                    return_reason: return_reason.clone(),
                }
                .to_string(),
            ),
        }
    }

    fn record(&mut self, event: &BankEvent) {
        debug_assert!(
            money_moved(event).is_none_or(|amount| amount == self.started.amount),
            "transfer {}: {event:?} moves other money than the {} the transfer started with",
            self.started.id,
            self.started.amount
        );
        match event {
            BankEvent::TransferCompletedEvent(_) => {
                self.outcome.get_or_insert(Outcome::Completed);
            }
            BankEvent::TransferFailedEvent(e) => {
                self.outcome
                    .get_or_insert_with(|| Outcome::Failed(e.reason.clone()));
            }
            // Money events are facts too: see "Facts, and where each one is read".
            BankEvent::MoneyDebitedEvent(_) if !self.is_deposit() => self.debit.succeeded = true,
            BankEvent::MoneyCreditedEvent(_) => self.credit.succeeded = true,
            BankEvent::MoneyReturnedEvent(_) if !self.is_deposit() => {
                self.give_back.succeeded = true
            }
            _ => {}
        }
    }

    /// The account whose partition holds this transfer.
    fn home(&self) -> &str {
        topology::routing::home(&self.started.from, &self.started.to)
    }

    fn answer(&mut self, name: CommandName, answer: Result<(), &str>) {
        // A deposit has no debit to return; such feedback cannot be about this transfer.
        let step = match name {
            CommandName::DebitMoneyCommand if !self.is_deposit() => &mut self.debit,
            CommandName::CreditMoneyCommand => &mut self.credit,
            CommandName::ReturnMoneyCommand if !self.is_deposit() => &mut self.give_back,
            // The final events, not this feedback, tell whether a Mark…Command took effect.
            _ => return,
        };
        step.answer(answer);
    }

    fn debit(&self) -> SagaCommand {
        let t = &self.started;
        SagaCommand::DebitMoney(DebitMoneyCommand {
            id: t.id,
            iban: t.from.clone(),
            amount: t.amount,
            token: t.token_hash.clone().unwrap_or_default(),
            username: t.username.clone(),
        })
    }

    fn credit(&self) -> SagaCommand {
        let t = &self.started;
        // The credited account may live in another partition, where the transfer is unknown:
        // the command carries what the MoneyCredited event and the answer's route need.
        SagaCommand::CreditMoney(CreditMoneyCommand {
            id: t.id,
            iban: t.to.clone(),
            amount: t.amount,
            transfer_from: Some(t.from.clone()),
            transfer_description: Some(t.description.clone()),
            // Signed when it leaves for another instance (see `crate::handling`).
            saga_signature: None,
        })
    }

    fn return_money(&self, reason: &str) -> SagaCommand {
        let t = &self.started;
        SagaCommand::ReturnMoney(ReturnMoneyCommand {
            id: t.id,
            iban: t.from.clone(),
            amount: t.amount,
            reason: reason.to_string(),
        })
    }

    fn mark_completed(&self) -> SagaCommand {
        SagaCommand::MarkTransferCompleted(MarkTransferCompletedCommand {
            id: self.started.id,
        })
    }

    fn mark_failed(&self, reason: String) -> SagaCommand {
        SagaCommand::MarkTransferFailed(MarkTransferFailedCommand {
            id: self.started.id,
            reason,
        })
    }
}

/// The facts of every transfer the saga saw, ordered by id so [`Saga::pending`] is
/// deterministic.
#[derive(Debug, Clone, Default)]
pub struct Saga {
    transfers: BTreeMap<Id, Progress>,
    /// Transfers that got their final event since the last [`Saga::forget_settled`].
    finished: Vec<Id>,
}

impl Saga {
    /// Records `input` and returns the commands to send: at most one, and none when the input
    /// changed nothing the transfer needs.
    pub fn handle(&mut self, input: SagaInput<'_>) -> Vec<SagaCommand> {
        let Some(transfer) = input.transfer_id() else {
            return Vec::new();
        };
        let before = self.next_for(transfer);
        self.apply(input);
        let after = self.next_for(transfer);
        if after == before {
            Vec::new()
        } else {
            after.into_iter().collect()
        }
    }

    /// Records `input` without asking for anything: for replaying at start.
    pub fn apply(&mut self, input: SagaInput<'_>) {
        if let SagaInput::Event(BankEvent::TransferStartedEvent(started)) = input {
            self.transfers
                .entry(started.id)
                .or_insert_with(|| Progress::new(started.clone()));
            return;
        }
        let Some(progress) = input
            .transfer_id()
            .and_then(|transfer| self.transfers.get_mut(&transfer))
        else {
            return;
        };
        let was_open = progress.outcome.is_none();
        match input {
            SagaInput::Event(event) => progress.record(event),
            SagaInput::Succeeded(feedback) => progress.answer(feedback.command_name, Ok(())),
            SagaInput::Failed(feedback) => {
                progress.answer(feedback.command_name, Err(&feedback.reason))
            }
        }
        if was_open && progress.outcome.is_some() {
            self.finished.push(progress.started.id);
        }
    }

    /// Drops the transfers that finished since the last call and need nothing more (see
    /// "Forgetting settled transfers"); returns how many.
    pub fn forget_settled(&mut self) -> usize {
        let mut forgotten = 0;
        for transfer in std::mem::take(&mut self.finished) {
            let settled = self
                .transfers
                .get(&transfer)
                .is_some_and(|progress| progress.next().is_none());
            if settled {
                self.transfers.remove(&transfer);
                forgotten += 1;
            }
        }
        forgotten
    }

    pub fn contains(&self, transfer: Id) -> bool {
        self.transfers.contains_key(&transfer)
    }

    /// The transfers the saga keeps.
    pub fn transfer_ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.transfers.keys().copied()
    }

    /// What a state store keeps of `transfer`, if the saga has it.
    pub fn record(&self, transfer: Id) -> Option<ProgressRecord> {
        let progress = self.transfers.get(&transfer)?;
        let started = &progress.started;
        let step = |step: &Step| (step.succeeded, step.refused.clone());
        Some(ProgressRecord {
            id: started.id.0,
            token_hash: started.token_hash.clone().unwrap_or_default(),
            amount: started.amount,
            from: started.from.clone(),
            to: started.to.clone(),
            description: started.description.clone(),
            username: started.username.clone(),
            steps: [
                step(&progress.debit),
                step(&progress.credit),
                step(&progress.give_back),
            ],
            outcome: progress.outcome.clone(),
        })
    }

    /// A transfer a state store kept.
    pub fn restore(&mut self, record: ProgressRecord) {
        let [debit, credit, give_back] = record
            .steps
            .map(|(succeeded, refused)| Step { succeeded, refused });
        let started = TransferStartedEvent {
            id: Id(record.id),
            token: String::new(),
            token_hash: Some(record.token_hash),
            amount: record.amount,
            from: record.from,
            to: record.to,
            description: record.description,
            username: record.username,
            // The saga never reads when a transfer started.
            at_millis: None,
        };
        self.transfers.insert(
            started.id,
            Progress {
                started,
                debit,
                credit,
                give_back,
                outcome: record.outcome,
            },
        );
    }

    /// How many transfers the saga keeps: those under way, and finished ones not forgotten.
    pub fn len(&self) -> usize {
        self.transfers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transfers.is_empty()
    }

    /// The next command of every transfer that still needs one: what to send after a replay.
    pub fn pending(&self) -> Vec<SagaCommand> {
        self.transfers.values().filter_map(Progress::next).collect()
    }

    /// The next command `transfer` needs, if the saga knows it and it needs one.
    pub fn next_for(&self, transfer: Id) -> Option<SagaCommand> {
        self.transfers.get(&transfer).and_then(Progress::next)
    }

    /// Keeps only the transfers whose home account `kept` accepts: a hand-over of partitions.
    pub fn retain_homes(&mut self, kept: impl Fn(&str) -> bool) {
        self.transfers.retain(|_, progress| kept(progress.home()));
        let transfers = &self.transfers;
        self.finished
            .retain(|transfer| transfers.contains_key(transfer));
    }

    /// Takes the transfers of partitions rebuilt apart from these.
    pub fn absorb(&mut self, other: Saga) {
        self.transfers.extend(other.transfers);
        self.finished.extend(other.finished);
    }

    /// The home account of a transfer the saga knows: the key of its events and answers.
    pub fn home_of(&self, transfer: Id) -> Option<&str> {
        self.transfers.get(&transfer).map(Progress::home)
    }
}

#[cfg(test)]
mod tests;
