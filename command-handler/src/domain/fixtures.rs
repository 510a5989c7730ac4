//! Shorthands the unit tests share, so each table row reads as the rule it checks.
//!
//! Tokens: a test names an owner's token in clear ("t-a"); commands carry its hash
//! ([`hash`]), as the GraphQL endpoint sends them. Events come in two kinds: those written
//! before the token hashes carry the token itself ([`created`], [`added`]: "legacy" events,
//! hashed when read), later ones carry only the hash ([`created_hashed`], [`added_hashed`]).

use topology::values::CASH;
use topology::{
    BankAccountCreatedEvent, BankCommand, BankEvent, Id, MoneyCreditedEvent, MoneyDebitedEvent,
    MoneyTransferCommand, TransferStartedEvent, UserAddedToBankAccountEvent,
};

use super::{BankState, Fresh, Reason};

/// Valid open IBANs (`open_iban_for_account(0..=3)`).
pub const IBAN_A: &str = "NL66OPEN0000000000";
pub const IBAN_B: &str = "NL39OPEN0000000001";
pub const IBAN_C: &str = "NL12OPEN0000000002";
/// A valid Dutch IBAN of another bank: money sent there leaves Open Bank.
pub const FOREIGN_IBAN: &str = "NL91ABNA0417164300";
pub const CASH_FROM: &str = CASH;

pub fn id(n: u8) -> Id {
    Id([n; 16])
}

/// The clock of every decision in the unit tests: 2026-11-30T08:00:00Z.
pub const NOW: i64 = 1_796_025_600_000;

/// What a command carries instead of `token`: its SHA-256 in hex.
pub fn hash(token: &str) -> String {
    topology::proofs::token_hash(token)
}

pub fn fresh() -> Fresh {
    Fresh {
        token: "fresh-token".into(),
        now_millis: NOW,
    }
}

/// An account created before the token hashes: the owner's token in clear, no hash.
pub fn created(iban: &str, username: &str, token: &str) -> BankEvent {
    BankAccountCreatedEvent {
        iban: iban.into(),
        token: token.into(),
        username: username.into(),
        token_hash: None,
        token_nonce: None,
    }
    .into()
}

/// An account created as the command handler creates one now: no token, the hash of `token`.
pub fn created_hashed(iban: &str, username: &str, token: &str) -> BankEvent {
    BankAccountCreatedEvent {
        iban: iban.into(),
        token: String::new(),
        username: username.into(),
        token_hash: Some(hash(token)),
        token_nonce: None,
    }
    .into()
}

/// An owner added before the token hashes: the token in clear, no hash.
pub fn added(iban: &str, username: &str, token: &str) -> BankEvent {
    UserAddedToBankAccountEvent {
        username: username.into(),
        iban: iban.into(),
        token: token.into(),
        token_hash: None,
        token_nonce: None,
    }
    .into()
}

/// An owner added as the command handler adds one now: no token, the hash of `token`.
pub fn added_hashed(iban: &str, username: &str, token: &str) -> BankEvent {
    UserAddedToBankAccountEvent {
        username: username.into(),
        iban: iban.into(),
        token: String::new(),
        token_hash: Some(hash(token)),
        token_nonce: None,
    }
    .into()
}

pub fn credited(iban: &str, amount: i64, transfer: u8) -> BankEvent {
    MoneyCreditedEvent {
        iban: iban.into(),
        amount,
        id: id(transfer),
        transfer_from: None,
        transfer_description: None,
    }
    .into()
}

pub fn debited(iban: &str, amount: i64, transfer: u8) -> BankEvent {
    MoneyDebitedEvent {
        iban: iban.into(),
        amount,
        id: id(transfer),
    }
    .into()
}

/// A transfer by alice with (the hash of) alice's token `t-a`.
pub fn transfer_command(transfer: u8, from: &str, to: &str, amount: i64) -> MoneyTransferCommand {
    MoneyTransferCommand {
        id: id(transfer),
        token: hash("t-a"),
        amount,
        from: from.into(),
        to: to.into(),
        description: "rent".into(),
        username: "alice".into(),
    }
}

/// The TransferStarted the command handler writes for [`transfer_command`]: no token, the
/// hash the command carried.
pub fn started(transfer: u8, from: &str, to: &str, amount: i64) -> TransferStartedEvent {
    let command = transfer_command(transfer, from, to, amount);
    TransferStartedEvent {
        id: command.id,
        token: String::new(),
        amount: command.amount,
        from: command.from,
        to: command.to,
        description: command.description,
        username: command.username,
        at_millis: Some(NOW),
        token_hash: Some(command.token),
    }
}

/// The same transfer started before the token hashes: alice's token `t-a` in clear, no hash.
pub fn started_legacy(transfer: u8, from: &str, to: &str, amount: i64) -> TransferStartedEvent {
    TransferStartedEvent {
        token: "t-a".into(),
        token_hash: None,
        ..started(transfer, from, to, amount)
    }
}

pub fn state_after(events: &[BankEvent]) -> BankState {
    let mut state = BankState::default();
    events
        .iter()
        .for_each(|event| state.evolve_bank_event(event));
    state
}

/// Decides `command` on `state` at [`NOW`] and evolves the state with its events, as the handler
/// does; returns the events or the refusal.
pub fn apply(
    state: &mut BankState,
    command: impl Into<BankCommand>,
) -> Result<Vec<BankEvent>, Reason> {
    let events = state.decide_bank_command(&command.into(), &fresh())?;
    events
        .iter()
        .for_each(|event| state.evolve_bank_event(event));
    Ok(events)
}
