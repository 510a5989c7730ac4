//! Event builders and histories shared by the unit tests.

use topology::routing::{partition_for, TransferHomes};
use topology::values::open_iban_for_account;
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

/// The `n`-th id of a `kind` (ids of different kinds never meet).
pub fn numbered_id(kind: u8, n: u32) -> Id {
    let mut bytes = [kind; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    Id(bytes)
}

pub fn user_created(username: &str, password: &str) -> UserEvent {
    UserAccountCreatedEvent {
        username: username.into(),
        password: password.into(),
    }
    .into()
}

/// An account's creation as written before the token hashes: the token in clear.
pub fn account_created(iban: &str, username: &str, token: &str) -> BankEvent {
    BankAccountCreatedEvent {
        iban: iban.into(),
        token: token.into(),
        username: username.into(),
        token_hash: None,
        token_nonce: None,
    }
    .into()
}

/// An account's creation as written now: the hash of the owner's token and its nonce only.
pub fn account_opened(iban: &str, username: &str, token_hash: &str, nonce: &str) -> BankEvent {
    BankAccountCreatedEvent {
        iban: iban.into(),
        token: String::new(),
        username: username.into(),
        token_hash: Some(token_hash.into()),
        token_nonce: Some(nonce.into()),
    }
    .into()
}

/// An owner added as written before the token hashes: the token in clear.
pub fn user_added(iban: &str, username: &str, token: &str) -> BankEvent {
    UserAddedToBankAccountEvent {
        username: username.into(),
        iban: iban.into(),
        token: token.into(),
        token_hash: None,
        token_nonce: None,
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
        at_millis: None,
        token_hash: None,
    }
    .into()
}

/// A credit as written before it carried its transfer's `from` and description: the
/// projector must look its transfer up.
pub fn credited(id: Id, iban: &str, amount: i64) -> BankEvent {
    MoneyCreditedEvent {
        iban: iban.into(),
        amount,
        id,
        transfer_from: None,
        transfer_description: None,
    }
    .into()
}

/// A credit as the command handler writes it now: with its transfer's `from` and description.
pub fn credited_from(id: Id, iban: &str, amount: i64, from: &str, description: &str) -> BankEvent {
    MoneyCreditedEvent {
        iban: iban.into(),
        amount,
        id,
        transfer_from: Some(from.into()),
        transfer_description: Some(description.into()),
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

/// The saga as the command handler writes it, over three accounts, in one global order (for
/// one partition; [`partition_histories`] splits it). Six transactions:
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
        credited_from(deposit, A, 10_000, CASH, "deposit"),
        transfer_completed(deposit),
        transfer_started(rent, A, B, "rent"),
        debited(rent, A, 2_500),
        credited_from(rent, B, 2_500, A, "rent"),
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

/// Many accounts and transfers as the command handler writes them (credits carry their
/// transfer's `from` and description), in one global order: deposits, transfers between the
/// accounts, credits that fail and are returned, transfers out of the bank.
pub fn busy_history(accounts: u32, transfers: u32) -> Vec<BankEvent> {
    let ibans: Vec<String> = (0..accounts).map(open_iban_for_account).collect();
    let mut events = Vec::new();
    for (n, iban) in ibans.iter().enumerate() {
        let deposit = numbered_id(1, u32::try_from(n).unwrap());
        events.extend([
            account_created(iban, &format!("user-{n}"), "token"),
            transfer_started(deposit, CASH, iban, "deposit"),
            credited_from(deposit, iban, 100_000, CASH, "deposit"),
            transfer_completed(deposit),
        ]);
    }
    for t in 0..transfers {
        let transfer = numbered_id(2, t);
        let n = usize::try_from(t).unwrap();
        let from = &ibans[n % ibans.len()];
        let to = &ibans[(n * 7 + 1) % ibans.len()];
        let amount = i64::from(t) * 10 + 1;
        let description = format!("transfer {t}");
        events.push(transfer_started(transfer, from, to, &description));
        events.push(debited(transfer, from, amount));
        match t % 5 {
            // The credit is refused: the money goes back.
            3 => events.extend([
                returned(transfer, from, amount, "iban not known"),
                transfer_failed(transfer, "iban not known"),
            ]),
            // Out of the bank: nothing to credit.
            4 => events.push(transfer_completed(transfer)),
            _ => events.extend([
                credited_from(transfer, to, amount, from, &description),
                transfer_completed(transfer),
            ]),
        }
    }
    events
}

/// Splits a history written in one global order into the partitions of `bank_events` with
/// `partitions` partitions, keyed as `topology::routing` says: account and money events by
/// their IBAN, a transfer's own events by its home. Index = partition.
pub fn partition_histories(events: &[BankEvent], partitions: i32) -> Vec<Vec<BankEvent>> {
    let mut homes = TransferHomes::default();
    let mut histories = vec![Vec::new(); usize::try_from(partitions).unwrap()];
    for event in events {
        let key = homes.key_next(event);
        let partition = usize::try_from(partition_for(&key, partitions)).unwrap();
        histories[partition].push(event.clone());
    }
    histories
}

/// An event as a consumer receives it: partition, offset, event.
pub type Delivered<'a> = (i32, i64, &'a BankEvent);

/// Every event of `histories` (index = partition, offsets 0, 1, … in each), one partition after
/// the other, in the order of `partitions`.
pub fn one_partition_after_another<'a>(
    histories: &'a [Vec<BankEvent>],
    partitions: impl IntoIterator<Item = i32>,
) -> Vec<Delivered<'a>> {
    partitions
        .into_iter()
        .flat_map(|p| {
            (0..)
                .zip(&histories[usize::try_from(p).unwrap()])
                .map(move |(offset, event)| (p, offset, event))
        })
        .collect()
}

/// Every event of `histories`, each partition in its own order but the partitions mixed at
/// random (a fixed `seed` gives a fixed mix), as Kafka may deliver them.
pub fn shuffled<'a>(histories: &'a [Vec<BankEvent>], seed: u64) -> Vec<Delivered<'a>> {
    let mut next: Vec<usize> = vec![0; histories.len()];
    let mut state = seed | 1;
    let mut delivered = Vec::new();
    loop {
        let open: Vec<usize> = (0..histories.len())
            .filter(|&p| next[p] < histories[p].len())
            .collect();
        if open.is_empty() {
            return delivered;
        }
        // xorshift64: enough randomness for a test, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let p = open[usize::try_from(state % open.len() as u64).unwrap()];
        let offset = i64::try_from(next[p]).unwrap();
        delivered.push((i32::try_from(p).unwrap(), offset, &histories[p][next[p]]));
        next[p] += 1;
    }
}

pub fn alert_set(iban: &str, kind: topology::AlertKind, threshold: Option<i64>) -> BankEvent {
    topology::AlertSetEvent {
        iban: iban.into(),
        alert_kind: kind,
        threshold,
    }
    .into()
}

pub fn alert_removed(iban: &str, kind: topology::AlertKind) -> BankEvent {
    topology::AlertRemovedEvent {
        iban: iban.into(),
        alert_kind: kind,
    }
    .into()
}

/// Standing order `order` from `from` to `to`: € 650,00 "rent", monthly, 12 runs.
pub fn standing_order_set(order: Id, from: &str, to: &str) -> BankEvent {
    topology::StandingOrderSetEvent {
        id: order,
        iban: from.into(),
        to: to.into(),
        amount: 65_000,
        description: "rent".into(),
        username: "alice".into(),
        token_hash: None,
        schedule: topology::StandingOrderSchedule::Monthly,
        first_at: 1_000,
        runs: Some(12),
    }
    .into()
}

/// Run `run` of standing order `order` from `from` is due: its transfer starts next.
pub fn standing_order_ran(order: Id, from: &str, run: u32) -> BankEvent {
    topology::StandingOrderRanEvent {
        id: order,
        iban: from.into(),
        run: i32::try_from(run).unwrap_or(i32::MAX),
        transfer_id: topology::schedules::run_transfer_id(order, run),
    }
    .into()
}

/// Projects `delivered` with a fresh projector of `partitions` partitions.
pub fn project_delivered(
    partitions: i32,
    delivered: &[Delivered<'_>],
) -> (
    crate::projection::BankProjector,
    Vec<crate::projection::DerivedTransaction>,
) {
    let model = std::sync::Arc::new(crate::read_model::ReadModel::new());
    let mut projector = crate::projection::BankProjector::new(model, partitions);
    let derived = delivered
        .iter()
        .filter_map(|&(partition, offset, event)| {
            projector
                .project(crate::source::Source::at(partition, offset), event)
                .unwrap()
                .and_then(crate::projection::Derived::transaction)
        })
        .collect();
    (projector, derived)
}

/// The derived events in id order: comparable whatever order the partitions were read in.
pub fn by_id(
    mut derived: Vec<crate::projection::DerivedTransaction>,
) -> Vec<crate::projection::DerivedTransaction> {
    derived.sort_by_key(|d| d.event.transaction_id);
    derived
}
