//! Every rule and reason of the bank account aggregate, one table row each.

use super::*;
use crate::domain::fixtures::*;

/// An owned command, so a table row can hold it; `Command` only borrows.
enum Cmd {
    Create(CreateBankAccountCommand),
    Add(AddUserToBankAccountCommand),
    Remove(RemoveUserFromBankAccountCommand),
    Debit(DebitMoneyCommand),
    Credit(CreditMoneyCommand),
    Return(ReturnMoneyCommand),
}

impl Cmd {
    fn as_command<'a>(&'a self, fresh: &'a Fresh) -> Command<'a> {
        match self {
            Cmd::Create(c) => Command::CreateBankAccount(c, fresh),
            Cmd::Add(c) => Command::AddUserToBankAccount(c, fresh),
            Cmd::Remove(c) => Command::RemoveUserFromBankAccount(c),
            Cmd::Debit(c) => Command::DebitMoney(c),
            Cmd::Credit(c) => Command::CreditMoney(c),
            Cmd::Return(c) => Command::ReturnMoney(c),
        }
    }
}

/// A creation from an older sender: no token hash for the new owner.
fn create(iban: &str, username: &str) -> Cmd {
    Cmd::Create(CreateBankAccountCommand {
        id: id(1),
        iban: iban.into(),
        username: username.into(),
        token_hash: None,
        token_nonce: None,
    })
}

/// A creation as the GraphQL endpoint sends it: the hash of the token it made, and its nonce.
fn create_with(iban: &str, username: &str, new_token: &str, nonce: &str) -> Cmd {
    Cmd::Create(CreateBankAccountCommand {
        id: id(1),
        iban: iban.into(),
        username: username.into(),
        token_hash: Some(hash(new_token)),
        token_nonce: Some(nonce.into()),
    })
}

/// `username` with (the hash of) `token` adds `user_to_add`, who comes without a token hash.
fn add(iban: &str, username: &str, token: &str, user_to_add: &str) -> Cmd {
    Cmd::Add(AddUserToBankAccountCommand {
        id: id(1),
        iban: iban.into(),
        username: username.into(),
        token: hash(token),
        user_to_add: user_to_add.into(),
        token_hash: None,
        token_nonce: None,
    })
}

/// As [`add`], with the hash of the token the GraphQL endpoint made for `user_to_add`.
fn add_with(iban: &str, username: &str, token: &str, user_to_add: &str, new_token: &str) -> Cmd {
    Cmd::Add(AddUserToBankAccountCommand {
        id: id(1),
        iban: iban.into(),
        username: username.into(),
        token: hash(token),
        user_to_add: user_to_add.into(),
        token_hash: Some(hash(new_token)),
        token_nonce: Some("nonce-2".into()),
    })
}

fn remove(iban: &str, username: &str, token: &str) -> Cmd {
    Cmd::Remove(RemoveUserFromBankAccountCommand {
        id: id(1),
        iban: iban.into(),
        username: username.into(),
        token: hash(token),
    })
}

fn debit_by(iban: &str, amount: i64, transfer: u8, username: &str, token: &str) -> Cmd {
    Cmd::Debit(DebitMoneyCommand {
        id: id(transfer),
        iban: iban.into(),
        amount,
        token: hash(token),
        username: username.into(),
    })
}

/// `command` carrying `token` itself, as commands did before the hashes: never valid now.
fn in_clear(command: Cmd, token: &str) -> Cmd {
    match command {
        Cmd::Add(c) => Cmd::Add(AddUserToBankAccountCommand {
            token: token.into(),
            ..c
        }),
        Cmd::Remove(c) => Cmd::Remove(RemoveUserFromBankAccountCommand {
            token: token.into(),
            ..c
        }),
        Cmd::Debit(c) => Cmd::Debit(DebitMoneyCommand {
            token: token.into(),
            ..c
        }),
        other => other,
    }
}

fn debit(iban: &str, amount: i64, transfer: u8) -> Cmd {
    debit_by(iban, amount, transfer, "alice", "t-a")
}

fn credit(iban: &str, amount: i64, transfer: u8) -> Cmd {
    Cmd::Credit(CreditMoneyCommand {
        id: id(transfer),
        iban: iban.into(),
        amount,
        transfer_from: None,
        transfer_description: None,
        // The domain books what it is given: the signature is checked by the handler.
        saga_signature: None,
    })
}

fn give_back(iban: &str, amount: i64, transfer: u8) -> Cmd {
    Cmd::Return(ReturnMoneyCommand {
        id: id(transfer),
        iban: iban.into(),
        amount,
        reason: "iban not known".into(),
    })
}

fn returned(iban: &str, amount: i64, transfer: u8) -> BankEvent {
    MoneyReturnedEvent {
        iban: iban.into(),
        amount,
        id: id(transfer),
        reason: "iban not known".into(),
    }
    .into()
}

fn removed(iban: &str, username: &str) -> BankEvent {
    UserRemovedFromBankAccountEvent {
        username: username.into(),
        iban: iban.into(),
    }
    .into()
}

/// alice owns A with token `t-a`, from an event written before the hashes (token in clear).
fn alice_owns_a() -> Vec<BankEvent> {
    vec![created(IBAN_A, "alice", "t-a")]
}

fn alice_owns_a_with(more: Vec<BankEvent>) -> Vec<BankEvent> {
    [alice_owns_a(), more].concat()
}

type Row = (
    &'static str,
    Vec<BankEvent>,
    Cmd,
    Result<Vec<BankEvent>, &'static str>,
);

fn run(rows: Vec<Row>) {
    for (name, given, command, expected) in rows {
        let mut accounts = BankAccounts::default();
        given.iter().for_each(|event| accounts.evolve(event));
        let fresh = fresh();
        let outcome = decide(&accounts, command.as_command(&fresh));
        let outcome = outcome.map_err(|reason| reason.to_string());
        assert_eq!(outcome, expected.map_err(String::from), "{name}");
    }
}

#[test]
fn create_bank_account() {
    run(vec![
        (
            "an IBAN of another bank is not an open IBAN",
            vec![],
            create(FOREIGN_IBAN, "alice"),
            Err("invalid open iban"),
        ),
        (
            "a wrong checksum is not an open IBAN",
            vec![],
            create("NL67OPEN0000000000", "alice"),
            Err("invalid open iban"),
        ),
        (
            "cash is not an IBAN",
            vec![],
            create("cash", "alice"),
            Err("invalid open iban"),
        ),
        (
            "the IBAN exists",
            alice_owns_a(),
            create(IBAN_A, "bob"),
            Err("iban already exist"),
        ),
        (
            "a new open IBAN without a token hash gets the hash of the fresh token, never the token",
            alice_owns_a(),
            create(IBAN_B, "bob"),
            Ok(vec![created_hashed(IBAN_B, "bob", "fresh-token")]),
        ),
        (
            "a new open IBAN keeps the command's token hash and nonce",
            alice_owns_a(),
            create_with(IBAN_B, "bob", "t-b", "nonce-1"),
            Ok(vec![BankAccountCreatedEvent {
                iban: IBAN_B.into(),
                token: String::new(),
                username: "bob".into(),
                token_hash: Some(hash("t-b")),
                token_nonce: Some("nonce-1".into()),
            }
            .into()]),
        ),
        (
            "the IBAN is checked before the token hash is looked at",
            alice_owns_a(),
            create_with(IBAN_A, "bob", "t-b", "nonce-1"),
            Err("iban already exist"),
        ),
    ]);
}

#[test]
fn add_user_to_bank_account() {
    let bob_owns_b = created(IBAN_B, "bob", "t-b");
    run(vec![
        (
            "unknown IBAN",
            vec![bob_owns_b.clone()],
            add(IBAN_A, "alice", "t-a", "carol"),
            Err("iban not known"),
        ),
        (
            "user to add already owner is checked before the adder",
            alice_owns_a(),
            add(IBAN_A, "mallory", "wrong", "alice"),
            Err("user to add is already owner of bank account"),
        ),
        (
            "the adder is not an owner (owner of another account)",
            alice_owns_a_with(vec![bob_owns_b]),
            add(IBAN_A, "bob", "t-b", "carol"),
            Err("user is not owner of account"),
        ),
        (
            "the adder's token is wrong",
            alice_owns_a(),
            add(IBAN_A, "alice", "t-b", "carol"),
            Err("token is not valid"),
        ),
        (
            "the adder's token in clear is not valid, only its hash",
            alice_owns_a(),
            in_clear(add(IBAN_A, "alice", "t-a", "carol"), "t-a"),
            Err("token is not valid"),
        ),
        (
            "the added user without a token hash gets the hash of the fresh token",
            alice_owns_a(),
            add(IBAN_A, "alice", "t-a", "carol"),
            Ok(vec![added_hashed(IBAN_A, "carol", "fresh-token")]),
        ),
        (
            "the added user gets the command's token hash and nonce",
            alice_owns_a(),
            add_with(IBAN_A, "alice", "t-a", "carol", "t-c"),
            Ok(vec![UserAddedToBankAccountEvent {
                username: "carol".into(),
                iban: IBAN_A.into(),
                token: String::new(),
                token_hash: Some(hash("t-c")),
                token_nonce: Some("nonce-2".into()),
            }
            .into()]),
        ),
        (
            "a co-owner may add with their own token",
            alice_owns_a_with(vec![added(IBAN_A, "bob", "t-b")]),
            add(IBAN_A, "bob", "t-b", "carol"),
            Ok(vec![added_hashed(IBAN_A, "carol", "fresh-token")]),
        ),
        (
            "a co-owner added with a token hash adds with that token",
            alice_owns_a_with(vec![added_hashed(IBAN_A, "bob", "t-b")]),
            add(IBAN_A, "bob", "t-b", "carol"),
            Ok(vec![added_hashed(IBAN_A, "carol", "fresh-token")]),
        ),
        (
            "an owner created with a token hash adds with that token",
            vec![created_hashed(IBAN_A, "alice", "t-a")],
            add(IBAN_A, "alice", "t-a", "carol"),
            Ok(vec![added_hashed(IBAN_A, "carol", "fresh-token")]),
        ),
        (
            "a removed user can be added again",
            alice_owns_a_with(vec![added(IBAN_A, "bob", "t-b"), removed(IBAN_A, "bob")]),
            add(IBAN_A, "alice", "t-a", "bob"),
            Ok(vec![added_hashed(IBAN_A, "bob", "fresh-token")]),
        ),
    ]);
}

#[test]
fn remove_user_from_bank_account() {
    run(vec![
        (
            "unknown IBAN",
            vec![],
            remove(IBAN_A, "alice", "t-a"),
            Err("iban not known"),
        ),
        (
            "not an owner is checked before the token",
            alice_owns_a(),
            remove(IBAN_A, "bob", "wrong"),
            Err("user to remove is not owner of bank account"),
        ),
        (
            "wrong token is checked before the balance",
            alice_owns_a_with(vec![credited(IBAN_A, 100, 1)]),
            remove(IBAN_A, "alice", "wrong"),
            Err("token is not valid"),
        ),
        (
            "the token in clear is not valid",
            alice_owns_a(),
            in_clear(remove(IBAN_A, "alice", "t-a"), "t-a"),
            Err("token is not valid"),
        ),
        (
            "last owner with a positive balance",
            alice_owns_a_with(vec![credited(IBAN_A, 100, 1)]),
            remove(IBAN_A, "alice", "t-a"),
            Err("last user and balance is not zero, so can't be removed"),
        ),
        (
            "last owner with a negative balance",
            alice_owns_a_with(vec![debited(IBAN_A, 100, 1)]),
            remove(IBAN_A, "alice", "t-a"),
            Err("last user and balance is not zero, so can't be removed"),
        ),
        (
            "last owner with balance zero",
            alice_owns_a_with(vec![credited(IBAN_A, 100, 1), debited(IBAN_A, 100, 2)]),
            remove(IBAN_A, "alice", "t-a"),
            Ok(vec![removed(IBAN_A, "alice")]),
        ),
        (
            "one of two owners with a balance",
            alice_owns_a_with(vec![credited(IBAN_A, 100, 1), added(IBAN_A, "bob", "t-b")]),
            remove(IBAN_A, "bob", "t-b"),
            Ok(vec![removed(IBAN_A, "bob")]),
        ),
        (
            "an owner added with a token hash removes themselves with that token",
            alice_owns_a_with(vec![added_hashed(IBAN_A, "bob", "t-b")]),
            remove(IBAN_A, "bob", "t-b"),
            Ok(vec![removed(IBAN_A, "bob")]),
        ),
    ]);
}

#[test]
fn debit_money() {
    run(vec![
        (
            "zero amount is judged before anything else",
            vec![],
            debit(IBAN_A, 0, 1),
            Err("amount should be positive"),
        ),
        (
            "negative amount",
            alice_owns_a(),
            debit(IBAN_A, -100, 1),
            Err("amount should be positive"),
        ),
        (
            "unknown IBAN",
            vec![],
            debit(IBAN_A, 100, 1),
            Err("iban not known"),
        ),
        (
            "not an owner is checked before the token",
            alice_owns_a(),
            debit_by(IBAN_A, 100, 1, "bob", "t-a"),
            Err("user is no owner of bank account"),
        ),
        (
            "wrong token",
            alice_owns_a(),
            debit_by(IBAN_A, 100, 1, "alice", "t-b"),
            Err("token is not valid"),
        ),
        (
            "wrong token is checked before the funds",
            alice_owns_a(),
            debit_by(IBAN_A, 60_000, 1, "alice", "t-b"),
            Err("token is not valid"),
        ),
        (
            "the token of an owner from before the hashes, in clear, is not valid",
            alice_owns_a(),
            in_clear(debit(IBAN_A, 100, 1), "t-a"),
            Err("token is not valid"),
        ),
        (
            "the hash itself as the token of an owner from before the hashes",
            vec![created(IBAN_A, "alice", &hash("t-a"))],
            debit(IBAN_A, 100, 1),
            Err("token is not valid"),
        ),
        (
            "an owner created with a token hash debits with that token",
            vec![created_hashed(IBAN_A, "alice", "t-a")],
            debit(IBAN_A, 100, 1),
            Ok(vec![debited(IBAN_A, 100, 1)]),
        ),
        (
            "an owner created with a token hash: a wrong token",
            vec![created_hashed(IBAN_A, "alice", "t-a")],
            debit_by(IBAN_A, 100, 1, "alice", "t-b"),
            Err("token is not valid"),
        ),
        (
            "a co-owner debits with their own token",
            alice_owns_a_with(vec![added(IBAN_A, "bob", "t-b")]),
            debit_by(IBAN_A, 100, 1, "bob", "t-b"),
            Ok(vec![debited(IBAN_A, 100, 1)]),
        ),
        (
            "a co-owner added with a token hash debits with that token",
            alice_owns_a_with(vec![added_hashed(IBAN_A, "bob", "t-b")]),
            debit_by(IBAN_A, 100, 1, "bob", "t-b"),
            Ok(vec![debited(IBAN_A, 100, 1)]),
        ),
        (
            "a removed owner cannot debit",
            alice_owns_a_with(vec![added(IBAN_A, "bob", "t-b"), removed(IBAN_A, "bob")]),
            debit_by(IBAN_A, 100, 1, "bob", "t-b"),
            Err("user is no owner of bank account"),
        ),
        (
            "boundary: one cent above the limit is allowed",
            alice_owns_a(),
            debit(IBAN_A, 49_999, 1),
            Ok(vec![debited(IBAN_A, 49_999, 1)]),
        ),
        (
            "boundary: landing exactly on the limit is refused",
            alice_owns_a(),
            debit(IBAN_A, 50_000, 1),
            Err("insufficient funds would be below the limit of € -500,00"),
        ),
        (
            "boundary: one cent below the limit is refused",
            alice_owns_a(),
            debit(IBAN_A, 50_001, 1),
            Err("insufficient funds would be below the limit of € -500,00"),
        ),
        (
            "boundary with a balance: 100,00 − 600,00 lands on the limit",
            alice_owns_a_with(vec![credited(IBAN_A, 10_000, 9)]),
            debit(IBAN_A, 60_000, 1),
            Err("insufficient funds would be below the limit of € -500,00"),
        ),
        (
            "boundary with a balance: 100,00 − 599,99 stays above it",
            alice_owns_a_with(vec![credited(IBAN_A, 10_000, 9)]),
            debit(IBAN_A, 59_999, 1),
            Ok(vec![debited(IBAN_A, 59_999, 1)]),
        ),
        (
            "the largest amount is insufficient, not an overflow",
            alice_owns_a(),
            debit(IBAN_A, i64::MAX, 1),
            Err("insufficient funds would be below the limit of € -500,00"),
        ),
        (
            "a subtraction below i64::MIN is refused, never wrapped",
            alice_owns_a_with(vec![debited(IBAN_A, i64::MAX, 9)]),
            debit(IBAN_A, 2, 1),
            Err("insufficient funds would be below the limit of € -500,00"),
        ),
        (
            "a redelivered debit succeeds once more without a second booking",
            alice_owns_a_with(vec![debited(IBAN_A, 30_000, 1)]),
            debit(IBAN_A, 30_000, 1),
            Ok(vec![]),
        ),
        (
            "a redelivered debit succeeds even after the token changed",
            alice_owns_a_with(vec![debited(IBAN_A, 30_000, 1)]),
            debit_by(IBAN_A, 30_000, 1, "alice", "old-token"),
            Ok(vec![]),
        ),
        (
            "another transfer's debit is a new booking",
            alice_owns_a_with(vec![debited(IBAN_A, 30_000, 1)]),
            debit(IBAN_A, 30_000, 2),
            Err("insufficient funds would be below the limit of € -500,00"),
        ),
    ]);
}

#[test]
fn credit_money() {
    let almost_full = credited(IBAN_A, i64::MAX - 10, 9);
    run(vec![
        (
            "zero amount",
            alice_owns_a(),
            credit(IBAN_A, 0, 1),
            Err("amount should be positive"),
        ),
        (
            "negative amount is judged before the IBAN",
            vec![],
            credit(IBAN_A, -1, 1),
            Err("amount should be positive"),
        ),
        (
            "unknown IBAN",
            vec![],
            credit(IBAN_A, 100, 1),
            Err("iban not known"),
        ),
        (
            "anyone's money may arrive",
            alice_owns_a(),
            credit(IBAN_A, 100, 1),
            Ok(vec![credited(IBAN_A, 100, 1)]),
        ),
        (
            "up to i64::MAX fits",
            alice_owns_a_with(vec![almost_full.clone()]),
            credit(IBAN_A, 10, 1),
            Ok(vec![credited(IBAN_A, 10, 1)]),
        ),
        (
            "beyond i64::MAX is refused",
            alice_owns_a_with(vec![almost_full]),
            credit(IBAN_A, 11, 1),
            Err("amount would overflow the balance"),
        ),
        (
            "a redelivered credit succeeds once more without a second booking",
            alice_owns_a_with(vec![credited(IBAN_A, 100, 1)]),
            credit(IBAN_A, 100, 1),
            Ok(vec![]),
        ),
        (
            "a credit of a transfer that debited this account is another booking",
            alice_owns_a_with(vec![debited(IBAN_A, 100, 1)]),
            credit(IBAN_A, 100, 1),
            Ok(vec![credited(IBAN_A, 100, 1)]),
        ),
    ]);
}

#[test]
fn return_money() {
    run(vec![
        (
            "zero amount",
            alice_owns_a(),
            give_back(IBAN_A, 0, 1),
            Err("amount should be positive"),
        ),
        (
            "negative amount",
            alice_owns_a(),
            give_back(IBAN_A, -1, 1),
            Err("amount should be positive"),
        ),
        (
            "unknown IBAN",
            vec![],
            give_back(IBAN_A, 100, 1),
            Err("iban not known"),
        ),
        (
            "the money comes back with the reason",
            alice_owns_a_with(vec![debited(IBAN_A, 100, 1)]),
            give_back(IBAN_A, 100, 1),
            Ok(vec![returned(IBAN_A, 100, 1)]),
        ),
        (
            "beyond i64::MAX is refused",
            alice_owns_a_with(vec![credited(IBAN_A, i64::MAX, 9)]),
            give_back(IBAN_A, 1, 1),
            Err("amount would overflow the balance"),
        ),
        (
            "a redelivered return succeeds once more without a second booking",
            alice_owns_a_with(vec![debited(IBAN_A, 100, 1), returned(IBAN_A, 100, 1)]),
            give_back(IBAN_A, 100, 1),
            Ok(vec![]),
        ),
    ]);
}

#[test]
fn a_new_account_starts_at_zero_with_the_default_limit() {
    let mut accounts = BankAccounts::default();
    accounts.evolve(&created(IBAN_A, "alice", "t-a"));
    let Some(account) = accounts.get(IBAN_A) else {
        panic!("account A exists");
    };
    assert_eq!(account.balance(), 0);
    assert_eq!(account.limit(), -50_000);
    assert_eq!(account.token_of("alice"), Some(hash("t-a").as_str()));
    assert_eq!(account.owners().collect::<Vec<_>>(), ["alice"]);
}

#[test]
fn owners_are_known_by_their_token_hash_whichever_event_named_them() {
    let mut accounts = BankAccounts::default();
    for event in [
        created_hashed(IBAN_A, "alice", "t-a"),
        added(IBAN_A, "bob", "t-b"),
        added_hashed(IBAN_A, "carol", "t-c"),
        created(IBAN_B, "dave", "t-d"),
    ] {
        accounts.evolve(&event);
    }
    let token_of = |iban: &str, username: &str| {
        accounts
            .get(iban)
            .and_then(|account| account.token_of(username))
            .map(String::from)
    };
    assert_eq!(
        token_of(IBAN_A, "alice"),
        Some(hash("t-a")),
        "new: as given"
    );
    assert_eq!(token_of(IBAN_A, "bob"), Some(hash("t-b")), "legacy: hashed");
    assert_eq!(token_of(IBAN_A, "carol"), Some(hash("t-c")));
    assert_eq!(token_of(IBAN_B, "dave"), Some(hash("t-d")));
    // What an account keeps, e.g. in a state store, holds no token in clear.
    let record = accounts.get(IBAN_A).map(|a| a.record()).expect("account A");
    for (username, kept) in &record.owners {
        assert_eq!(kept.len(), 64, "{username}: a SHA-256 in hex");
        assert!(!kept.starts_with("t-"), "{username}: {kept}");
    }
}

#[test]
fn evolve_ignores_duplicates_and_unknown_ibans() {
    let mut accounts = BankAccounts::default();
    for event in [
        created(IBAN_A, "alice", "t-a"),
        credited(IBAN_A, 500, 1),
        created(IBAN_A, "mallory", "t-m"),
        credited(IBAN_A, 500, 1),
        debited(IBAN_A, 200, 2),
        debited(IBAN_A, 200, 2),
        credited(IBAN_B, 1_000, 3),
        added(IBAN_B, "bob", "t-b"),
        removed(IBAN_B, "bob"),
    ] {
        accounts.evolve(&event);
    }
    let Some(account) = accounts.get(IBAN_A) else {
        panic!("account A exists");
    };
    assert_eq!(account.balance(), 300);
    assert_eq!(account.owners().collect::<Vec<_>>(), ["alice"]);
    assert_eq!(account.token_of("alice"), Some(hash("t-a").as_str()));
    assert!(account.has_booked(id(1), Movement::Credit));
    assert!(!account.has_booked(id(1), Movement::Debit));
    assert!(accounts.get(IBAN_B).is_none());
    assert_eq!(accounts.iter().count(), 1);
}

#[test]
fn authorize_uses_the_debit_reasons() {
    let mut accounts = BankAccounts::default();
    accounts.evolve(&created(IBAN_A, "alice", "t-a"));
    let cases = [
        (IBAN_B, "alice", hash("t-a"), Err("iban not known")),
        (
            IBAN_A,
            "bob",
            hash("t-a"),
            Err("user is no owner of bank account"),
        ),
        (IBAN_A, "alice", hash("t-b"), Err("token is not valid")),
        (
            IBAN_A,
            "alice",
            "t-a".to_string(),
            Err("token is not valid"),
        ),
        (IBAN_A, "alice", hash("t-a"), Ok(())),
    ];
    for (iban, username, token, expected) in cases {
        let outcome = accounts
            .authorize(iban, username, &token)
            .map_err(|reason| reason.to_string());
        assert_eq!(
            outcome,
            expected.map_err(String::from),
            "{iban} {username} {token}"
        );
    }
}
