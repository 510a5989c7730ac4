//! Shorthands the unit tests share, so each table row reads as the rule it checks.

use topology::values::CASH;
use topology::{
    BankAccountCreatedEvent, BankEvent, Id, MoneyCreditedEvent, MoneyDebitedEvent,
    MoneyTransferCommand, TransferStartedEvent, UserAddedToBankAccountEvent,
};

use super::{BankState, Fresh};

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

pub fn fresh() -> Fresh {
    Fresh {
        token: "fresh-token".into(),
        now_millis: NOW,
    }
}

pub fn created(iban: &str, username: &str, token: &str) -> BankEvent {
    BankAccountCreatedEvent {
        iban: iban.into(),
        token: token.into(),
        username: username.into(),
    }
    .into()
}

pub fn added(iban: &str, username: &str, token: &str) -> BankEvent {
    UserAddedToBankAccountEvent {
        username: username.into(),
        iban: iban.into(),
        token: token.into(),
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

/// A transfer by alice with alice's token `t-a`.
pub fn transfer_command(transfer: u8, from: &str, to: &str, amount: i64) -> MoneyTransferCommand {
    MoneyTransferCommand {
        id: id(transfer),
        token: "t-a".into(),
        amount,
        from: from.into(),
        to: to.into(),
        description: "rent".into(),
        username: "alice".into(),
    }
}

pub fn started(transfer: u8, from: &str, to: &str, amount: i64) -> TransferStartedEvent {
    let command = transfer_command(transfer, from, to, amount);
    TransferStartedEvent {
        id: command.id,
        token: command.token,
        amount: command.amount,
        from: command.from,
        to: command.to,
        description: command.description,
        username: command.username,
        at_millis: Some(NOW),
    }
}

pub fn state_after(events: &[BankEvent]) -> BankState {
    let mut state = BankState::default();
    events
        .iter()
        .for_each(|event| state.evolve_bank_event(event));
    state
}
