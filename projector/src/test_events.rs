//! Event builders and histories shared by the unit tests.

use topology::{
    BankAccountCreatedEvent, BankEvent, Id, MoneyCreditedEvent, MoneyDebitedEvent,
    MoneyReturnedEvent, TransferCompletedEvent, TransferFailedEvent, TransferStartedEvent,
    UserAccountCreatedEvent, UserAddedToBankAccountEvent, UserEvent,
    UserRemovedFromBankAccountEvent,
};

pub const A: &str = "NL66OPEN0000000000";
pub const B: &str = "NL39OPEN0000000001";
pub const C: &str = "NL12OPEN0000000002";
/// An open IBAN no account was created for.
pub const D: &str = "NL82OPEN0000000003";
/// An IBAN outside the bank.
pub const EXTERNAL: &str = "NL91ABNA0417164300";
pub const CASH: &str = topology::values::CASH;

pub fn id(n: u8) -> Id {
    Id([n; 16])
}

pub fn user_created(username: &str, password: &str) -> UserEvent {
    UserAccountCreatedEvent {
        username: username.into(),
        password: password.into(),
    }
    .into()
}

pub fn account_created(iban: &str, username: &str, token: &str) -> BankEvent {
    BankAccountCreatedEvent {
        iban: iban.into(),
        token: token.into(),
        username: username.into(),
    }
    .into()
}

pub fn user_added(iban: &str, username: &str, token: &str) -> BankEvent {
    UserAddedToBankAccountEvent {
        username: username.into(),
        iban: iban.into(),
        token: token.into(),
    }
    .into()
}

pub fn user_removed(iban: &str, username: &str) -> BankEvent {
    UserRemovedFromBankAccountEvent {
        username: username.into(),
        iban: iban.into(),
    }
    .into()
}

pub fn transfer_started(id: Id, from: &str, to: &str, description: &str) -> BankEvent {
    TransferStartedEvent {
        id,
        token: "token".into(),
        amount: 0,
        from: from.into(),
        to: to.into(),
        description: description.into(),
        username: "someone".into(),
    }
    .into()
}

pub fn credited(id: Id, iban: &str, amount: i64) -> BankEvent {
    MoneyCreditedEvent {
        iban: iban.into(),
        amount,
        id,
    }
    .into()
}

pub fn debited(id: Id, iban: &str, amount: i64) -> BankEvent {
    MoneyDebitedEvent {
        iban: iban.into(),
        amount,
        id,
    }
    .into()
}

pub fn returned(id: Id, iban: &str, amount: i64, reason: &str) -> BankEvent {
    MoneyReturnedEvent {
        iban: iban.into(),
        amount,
        id,
        reason: reason.into(),
    }
    .into()
}

pub fn transfer_completed(id: Id) -> BankEvent {
    TransferCompletedEvent { id }.into()
}

pub fn transfer_failed(id: Id, reason: &str) -> BankEvent {
    TransferFailedEvent {
        id,
        reason: reason.into(),
    }
    .into()
}

/// A deposit of 10_000 into A, then A → B (B never created) of 2_500: debited, the credit
/// fails with `iban not known`, the money is returned. Transactions 1–3, all on A.
pub fn transfer_between_accounts_then_return() -> Vec<BankEvent> {
    let (deposit, gift) = (id(1), id(2));
    vec![
        account_created(A, "alice", "ta"),
        transfer_started(deposit, CASH, A, "deposit"),
        credited(deposit, A, 10_000),
        transfer_completed(deposit),
        transfer_started(gift, A, B, "gift"),
        debited(gift, A, 2_500),
        returned(gift, A, 2_500, "iban not known"),
        transfer_failed(gift, "iban not known"),
    ]
}

/// The saga as the command handler writes it, over three accounts. Six transactions:
/// 1 A +10_000 (deposit from cash), 2 A −2_500 (rent to B), 3 B +2_500 (rent from A),
/// 4 A −1_000 (lunch to D), 5 A +1_000 (return of 4), 6 B −500 (books to EXTERNAL).
/// C never has a transaction; alice ends up owning A and B.
pub fn mixed_history() -> Vec<BankEvent> {
    let (deposit, rent, lunch, books) = (id(1), id(2), id(3), id(4));
    vec![
        account_created(A, "alice", "ta"),
        account_created(B, "bob", "tb"),
        account_created(C, "carol", "tc"),
        transfer_started(deposit, CASH, A, "deposit"),
        credited(deposit, A, 10_000),
        transfer_completed(deposit),
        transfer_started(rent, A, B, "rent"),
        debited(rent, A, 2_500),
        credited(rent, B, 2_500),
        transfer_completed(rent),
        transfer_started(lunch, A, D, "lunch"),
        debited(lunch, A, 1_000),
        returned(lunch, A, 1_000, "iban not known"),
        transfer_failed(lunch, "iban not known"),
        user_added(B, "alice", "tb2"),
        transfer_started(books, B, EXTERNAL, "books"),
        debited(books, B, 500),
        transfer_completed(books),
    ]
}

pub fn users() -> Vec<UserEvent> {
    vec![
        user_created("alice", "hash-a"),
        user_created("bob", "hash-b"),
        user_created("carol", "hash-c"),
    ]
}
