//! Bank accounts: who owns an IBAN (each owner with their own token, known here by its SHA-256
//! only: commands carry the hash of the token, see `topology::proofs`), the balance and the
//! limit. Rules (SPEC §4 plus the hardening of the issue), checked in this order, the first
//! failing rule wins:
//!
//! - CreateBankAccount: not an open IBAN → `invalid open iban`; IBAN exists → `iban already
//!   exist`; else BankAccountCreated with a fresh token.
//! - AddUserToBankAccount: unknown IBAN → `iban not known`; user_to_add already owner → `user to
//!   add is already owner of bank account`; username not owner → `user is not owner of account`;
//!   wrong token → `token is not valid`; else UserAddedToBankAccount with a fresh token.
//! - RemoveUserFromBankAccount: unknown IBAN → `iban not known`; not owner → `user to remove is
//!   not owner of bank account`; wrong token → `token is not valid`; last owner and balance ≠ 0
//!   → `last user and balance is not zero, so can't be removed`; else UserRemovedFromBankAccount.
//! - DebitMoney: amount ≤ 0 → `amount should be positive`; unknown IBAN → `iban not known`;
//!   already booked → success without events; not owner → `user is no owner of bank account`;
//!   wrong token → `token is not valid`; available balance (balance − open holds) − amount not
//!   strictly above the limit → `insufficient funds would be below the limit of € -500,00`;
//!   else MoneyDebited.
//! - CreditMoney / ReturnMoney: amount ≤ 0 → `amount should be positive`; unknown IBAN → `iban
//!   not known`; already booked → success without events; balance + amount beyond i64 →
//!   `amount would overflow the balance`; else MoneyCredited / MoneyReturned.
//!
//! Why "already booked → success without events": the saga's Debit/Credit/ReturnMoney commands
//! carry the transfer id, and Kafka delivers at least once, so the same command can arrive
//! twice (a producer retry, a restart before the offset commit, the saga re-sending pending
//! commands after a restart). Each account remembers which (transfer id, movement) it booked,
//! rebuilt from the MoneyDebited/Credited/Returned events that carry that id. A second delivery
//! then changes nothing and still answers success, because the first one did succeed: the saga
//! must hear "done", not a refusal such as insufficient funds caused by the first debit itself.
//! Tokens: a command carries the SHA-256 of the owner's token and an account keeps only the
//! hashes, compared in constant time. A new owner's hash comes with the command (the GraphQL
//! endpoint made the token); a command without one (an older sender) gets the hash of a fresh
//! random token nobody knows, so the owner acts through a session until given a new one. Events
//! written before the hashes carry the token itself, hashed when they are read.
//!
//! Amount checks come first because they judge the command alone; the booking check comes
//! right after the IBAN lookup so that a later change of owners or tokens cannot turn a
//! redelivery of a booked movement into a failure.

use std::collections::{HashMap, HashSet};

use topology::proofs::{as_token_hash, same_hash, token_hash, token_hash_of};
use topology::values::{is_open_iban, CASH, DEFAULT_LIMIT_CENTS};
use topology::{
    AddUserToBankAccountCommand, BankAccountCreatedEvent, BankEvent, CreateBankAccountCommand,
    CreditMoneyCommand, DebitMoneyCommand, Id, MoneyCreditedEvent, MoneyDebitedEvent,
    MoneyReturnedEvent, RemoveUserFromBankAccountCommand, ReturnMoneyCommand,
    UserAddedToBankAccountEvent, UserRemovedFromBankAccountEvent,
};

use super::{Fresh, Reason};

/// The commands this aggregate decides; the two that hand out a token come with the fresh one.
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    CreateBankAccount(&'a CreateBankAccountCommand, &'a Fresh),
    AddUserToBankAccount(&'a AddUserToBankAccountCommand, &'a Fresh),
    RemoveUserFromBankAccount(&'a RemoveUserFromBankAccountCommand),
    DebitMoney(&'a DebitMoneyCommand),
    CreditMoney(&'a CreditMoneyCommand),
    ReturnMoney(&'a ReturnMoneyCommand),
}

/// The most cash one deposit may bring in: € 10.000,00, as its refusal says (a test checks it).
pub const MAX_DEPOSIT_CENTS: i64 = 1_000_000;
/// The most cash an account may take in on one UTC day: € 25.000,00, as its refusal says.
pub const MAX_DAILY_DEPOSITS_CENTS: i64 = 2_500_000;
mod kept;
mod movement;

use kept::Owners;
pub use kept::{DailyDeposits, Hold, StandingOrder};
pub use movement::Movement;

/// An account as a state store keeps it: everything but its bookings, which are kept per
/// transfer and recalled when a command of that transfer comes (see [`BankAccounts::recall_booking`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountRecord {
    pub balance: i64,
    pub limit: i64,
    /// (username, SHA-256 of the owner's token), by username.
    pub owners: Vec<(String, String)>,
    pub deposits: DailyDeposits,
    pub holds: Vec<Hold>,
    pub orders: Vec<StandingOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    balance: i64,
    limit: i64,
    owners: Owners,
    booked: HashSet<(Id, Movement)>,
    deposits: DailyDeposits,
    /// Open holds, oldest first: a few at most on any account.
    holds: Vec<Hold>,
    /// Standing orders under way, oldest first (at most [`super::standing_orders::MAX_ORDERS`]).
    orders: Vec<StandingOrder>,
}

impl BankAccount {
    fn new(username: &str, token: &str) -> Self {
        BankAccount {
            balance: 0,
            limit: DEFAULT_LIMIT_CENTS,
            owners: Owners(vec![(username.to_string(), token.to_string())]),
            booked: HashSet::new(),
            deposits: DailyDeposits::default(),
            holds: Vec::new(),
            orders: Vec::new(),
        }
    }

    pub fn balance(&self) -> i64 {
        self.balance
    }

    /// The booked balance less every open hold: what a debit or a new hold may use.
    pub fn available(&self) -> i64 {
        self.holds.iter().fold(self.balance, |available, hold| {
            available.saturating_sub(hold.amount)
        })
    }

    pub fn holds(&self) -> &[Hold] {
        &self.holds
    }

    pub fn hold(&self, id: Id) -> Option<&Hold> {
        self.holds.iter().find(|hold| hold.id == id)
    }

    pub fn standing_orders(&self) -> &[StandingOrder] {
        &self.orders
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }

    pub fn is_owner(&self, username: &str) -> bool {
        self.owners.get(username).is_some()
    }

    pub fn token_of(&self, username: &str) -> Option<&str> {
        self.owners.get(username)
    }

    pub fn owners(&self) -> impl Iterator<Item = &str> {
        self.owners.0.iter().map(|(username, _)| username.as_str())
    }

    pub fn record(&self) -> AccountRecord {
        AccountRecord {
            balance: self.balance,
            limit: self.limit,
            owners: self
                .owners
                .0
                .iter()
                .map(|(username, token)| (username.clone(), token.clone()))
                .collect(),
            deposits: self.deposits,
            holds: self.holds.clone(),
            orders: self.orders.clone(),
        }
    }

    pub fn from_record(record: AccountRecord) -> Self {
        BankAccount {
            balance: record.balance,
            limit: record.limit,
            owners: Owners::from(record.owners),
            booked: HashSet::new(),
            deposits: record.deposits,
            holds: record.holds,
            orders: record.orders,
        }
    }

    /// Cash deposited on the UTC day of `at_millis`.
    pub fn deposited_on(&self, at_millis: i64) -> i64 {
        self.deposits.on(at_millis)
    }

    pub fn has_booked(&self, transfer: Id, movement: Movement) -> bool {
        self.booked.contains(&(transfer, movement))
    }

    /// Owner first, then token: the commands differ only in how they word "not an owner".
    /// `given` is the hash a command carries; the comparison takes the same time however much
    /// of it is right.
    pub(super) fn check_owner(
        &self,
        username: &str,
        given: &str,
        not_owner: Reason,
    ) -> Result<(), Reason> {
        match self.token_of(username) {
            None => Err(not_owner),
            Some(known) if !same_hash(given, known) => Err(Reason::TokenIsNotValid),
            Some(_) => Ok(()),
        }
    }
}

/// Every account by IBAN.
#[derive(Debug, Clone, Default)]
pub struct BankAccounts {
    by_iban: HashMap<String, BankAccount>,
}

impl BankAccounts {
    /// An account a state store kept.
    pub fn restore(&mut self, iban: String, account: BankAccount) {
        self.by_iban.insert(iban, account);
    }

    /// Keeps only the accounts `kept` accepts (by IBAN): a hand-over of partitions.
    pub fn retain(&mut self, kept: impl Fn(&str) -> bool) {
        self.by_iban.retain(|iban, _| kept(iban));
    }

    /// Takes the accounts of partitions rebuilt apart from these.
    pub fn absorb(&mut self, other: BankAccounts) {
        self.by_iban.extend(other.by_iban);
    }

    /// A booking a state store kept, for an account in memory.
    pub fn recall_booking(&mut self, iban: &str, transfer: Id, movement: Movement) {
        if let Some(account) = self.by_iban.get_mut(iban) {
            account.booked.insert((transfer, movement));
        }
    }

    /// Drops the bookings of every transfer but those `keep` names: they are in the state
    /// store, and recalled from there before a command of their transfer is decided.
    pub fn forget_bookings(&mut self, keep: impl Fn(Id) -> bool) {
        for account in self.by_iban.values_mut() {
            account.booked.retain(|(transfer, _)| keep(*transfer));
        }
    }

    pub fn get(&self, iban: &str) -> Option<&BankAccount> {
        self.by_iban.get(iban)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &BankAccount)> {
        self.by_iban
            .iter()
            .map(|(iban, account)| (iban.as_str(), account))
    }

    pub(super) fn known(&self, iban: &str) -> Result<&BankAccount, Reason> {
        self.get(iban).ok_or(Reason::IbanNotKnown)
    }

    /// May `username` with (the hash of) `token` take money out of (or deposit cash into) `iban`? Answers
    /// with the DebitMoney reasons, which the transfer aggregate reuses for deposits.
    pub fn authorize(&self, iban: &str, username: &str, token: &str) -> Result<(), Reason> {
        self.known(iban)?
            .check_owner(username, token, Reason::UserIsNoOwnerOfBankAccount)
    }

    /// May `amount` cents of cash go into `iban` at `now_millis`? Per deposit, then per day.
    pub fn check_deposit(&self, iban: &str, amount: i64, now_millis: i64) -> Result<(), Reason> {
        if amount > MAX_DEPOSIT_CENTS {
            return Err(Reason::DepositTooLarge);
        }
        let today = self.known(iban)?.deposited_on(now_millis);
        match today.checked_add(amount) {
            Some(total) if total <= MAX_DAILY_DEPOSITS_CENTS => Ok(()),
            _ => Err(Reason::DailyDepositLimit),
        }
    }

    pub fn evolve(&mut self, event: &BankEvent) {
        match event {
            BankEvent::BankAccountCreatedEvent(e) => {
                // A duplicated creation in the log must not reset the balance or the owners.
                self.by_iban.entry(e.iban.clone()).or_insert_with(|| {
                    BankAccount::new(
                        &e.username,
                        &token_hash_of(e.token_hash.as_deref(), &e.token),
                    )
                });
            }
            BankEvent::UserAddedToBankAccountEvent(e) => {
                if let Some(account) = self.by_iban.get_mut(&e.iban) {
                    let hash = token_hash_of(e.token_hash.as_deref(), &e.token);
                    account.owners.insert(&e.username, &hash);
                }
            }
            BankEvent::UserRemovedFromBankAccountEvent(e) => {
                if let Some(account) = self.by_iban.get_mut(&e.iban) {
                    account.owners.remove(&e.username);
                }
            }
            BankEvent::MoneyDebitedEvent(e) => self.book(&e.iban, e.id, Movement::Debit, e.amount),
            BankEvent::MoneyCreditedEvent(e) => {
                self.book(&e.iban, e.id, Movement::Credit, e.amount)
            }
            BankEvent::MoneyReturnedEvent(e) => {
                self.book(&e.iban, e.id, Movement::Return, e.amount)
            }
            BankEvent::TransferStartedEvent(e) if e.from == CASH => {
                // Started deposits from before the time was recorded count for no day.
                if let (Some(account), Some(at)) = (self.by_iban.get_mut(&e.to), e.at_millis) {
                    account.deposits.add(at, e.amount);
                }
            }
            BankEvent::MoneyHeldEvent(e) => {
                if let Some(account) = self.by_iban.get_mut(&e.iban) {
                    // decide holds an id once; a duplicated event must not hold it twice.
                    if account.hold(e.id).is_none() {
                        account.holds.push(Hold {
                            id: e.id,
                            to: e.to.clone(),
                            amount: e.amount,
                            description: e.description.clone(),
                            expires_at: e.expires_at,
                        });
                    }
                }
            }
            BankEvent::HoldCapturedEvent(e) => self.end_hold(&e.iban, e.id),
            BankEvent::StandingOrderSetEvent(e) => {
                if let Some(account) = self.by_iban.get_mut(&e.iban) {
                    if !account.orders.iter().any(|order| order.id == e.id) {
                        account.orders.push(StandingOrder {
                            id: e.id,
                            to: e.to.clone(),
                            amount: e.amount,
                            description: e.description.clone(),
                            username: e.username.clone(),
                            // Without a hash no run's debit will pass.
                            token_hash: e.token_hash.clone().unwrap_or_default(),
                            schedule: e.schedule,
                            first_at: e.first_at,
                            runs: e.runs.and_then(|runs| u32::try_from(runs).ok()),
                            next_run: 0,
                        });
                    }
                }
            }
            BankEvent::StandingOrderRanEvent(e) => {
                let order = self
                    .by_iban
                    .get_mut(&e.iban)
                    .and_then(|account| account.orders.iter_mut().find(|o| o.id == e.id));
                if let (Some(order), Ok(run)) = (order, u32::try_from(e.run)) {
                    order.next_run = order.next_run.max(run.saturating_add(1));
                }
            }
            BankEvent::StandingOrderEndedEvent(e) => {
                if let Some(account) = self.by_iban.get_mut(&e.iban) {
                    account.orders.retain(|order| order.id != e.id);
                }
            }
            BankEvent::HoldReleasedEvent(e) => self.end_hold(&e.iban, e.id),
            BankEvent::TransferStartedEvent(_)
            | BankEvent::TransferCompletedEvent(_)
            | BankEvent::TransferFailedEvent(_)
            | BankEvent::AlertSetEvent(_)
            | BankEvent::AlertRemovedEvent(_)
            | BankEvent::CreditRefusedEvent(_) => {}
        }
    }

    fn end_hold(&mut self, iban: &str, hold: Id) {
        if let Some(account) = self.by_iban.get_mut(iban) {
            account.holds.retain(|open| open.id != hold);
        }
    }

    /// Books a movement once, so a duplicated event in the log moves no money either.
    fn book(&mut self, iban: &str, transfer: Id, movement: Movement, amount: i64) {
        let Some(account) = self.by_iban.get_mut(iban) else {
            return;
        };
        if !account.booked.insert((transfer, movement)) {
            return;
        }
        // decide never emits a movement that leaves the i64 range; saturating keeps a forged
        // event from wrapping a balance around into a fortune instead of panicking on replay.
        account.balance = match movement {
            Movement::Debit => account.balance.saturating_sub(amount),
            Movement::Credit | Movement::Return => account.balance.saturating_add(amount),
        };
    }
}

pub fn decide(accounts: &BankAccounts, command: Command<'_>) -> Result<Vec<BankEvent>, Reason> {
    match command {
        Command::CreateBankAccount(c, fresh) => create(accounts, c, fresh),
        Command::AddUserToBankAccount(c, fresh) => add_user(accounts, c, fresh),
        Command::RemoveUserFromBankAccount(c) => remove_user(accounts, c),
        Command::DebitMoney(c) => debit(accounts, c),
        Command::CreditMoney(c) => {
            let credited = MoneyCreditedEvent {
                iban: c.iban.clone(),
                amount: c.amount,
                id: c.id,
                transfer_from: c.transfer_from.clone(),
                transfer_description: c.transfer_description.clone(),
            };
            add_money(
                accounts,
                &c.iban,
                c.id,
                c.amount,
                Movement::Credit,
                credited,
            )
        }
        Command::ReturnMoney(c) => {
            let returned = MoneyReturnedEvent {
                iban: c.iban.clone(),
                amount: c.amount,
                id: c.id,
                reason: c.reason.clone(),
            };
            add_money(
                accounts,
                &c.iban,
                c.id,
                c.amount,
                Movement::Return,
                returned,
            )
        }
    }
}

fn create(
    accounts: &BankAccounts,
    c: &CreateBankAccountCommand,
    fresh: &Fresh,
) -> Result<Vec<BankEvent>, Reason> {
    if !is_open_iban(&c.iban) {
        return Err(Reason::InvalidOpenIban);
    }
    if accounts.get(&c.iban).is_some() {
        return Err(Reason::IbanAlreadyExists);
    }
    Ok(vec![BankAccountCreatedEvent {
        iban: c.iban.clone(),
        token: String::new(),
        username: c.username.clone(),
        token_hash: Some(new_owner_hash(c.token_hash.as_deref(), fresh)),
        token_nonce: c.token_nonce.clone(),
    }
    .into()])
}

fn add_user(
    accounts: &BankAccounts,
    c: &AddUserToBankAccountCommand,
    fresh: &Fresh,
) -> Result<Vec<BankEvent>, Reason> {
    let account = accounts.known(&c.iban)?;
    if account.is_owner(&c.user_to_add) {
        return Err(Reason::UserToAddIsAlreadyOwner);
    }
    account.check_owner(&c.username, &c.token, Reason::UserIsNotOwnerOfAccount)?;
    Ok(vec![UserAddedToBankAccountEvent {
        username: c.user_to_add.clone(),
        iban: c.iban.clone(),
        token: String::new(),
        token_hash: Some(new_owner_hash(c.token_hash.as_deref(), fresh)),
        token_nonce: c.token_nonce.clone(),
    }
    .into()])
}

/// A new owner's token hash: the command's, or that of a fresh token nobody will ever see.
fn new_owner_hash(given: Option<&str>, fresh: &Fresh) -> String {
    given.map_or_else(|| token_hash(&fresh.token), as_token_hash)
}

fn remove_user(
    accounts: &BankAccounts,
    c: &RemoveUserFromBankAccountCommand,
) -> Result<Vec<BankEvent>, Reason> {
    let account = accounts.known(&c.iban)?;
    account.check_owner(&c.username, &c.token, Reason::UserToRemoveIsNotOwner)?;
    // An account without owners could never be emptied again, so its money would be stuck.
    if account.owners.0.len() == 1 && account.balance != 0 {
        return Err(Reason::LastUserAndBalanceIsNotZero);
    }
    Ok(vec![UserRemovedFromBankAccountEvent {
        username: c.username.clone(),
        iban: c.iban.clone(),
    }
    .into()])
}

fn debit(accounts: &BankAccounts, c: &DebitMoneyCommand) -> Result<Vec<BankEvent>, Reason> {
    positive(c.amount)?;
    let account = accounts.known(&c.iban)?;
    if account.has_booked(c.id, Movement::Debit) {
        return Ok(Vec::new());
    }
    account.check_owner(&c.username, &c.token, Reason::UserIsNoOwnerOfBankAccount)?;
    // SPEC: "balance − amount must stay strictly above the limit"; a subtraction that leaves
    // the i64 range is certainly below it. Held money is spoken for: the available balance.
    let stays_above_limit = account
        .available()
        .checked_sub(c.amount)
        .is_some_and(|after| after > account.limit);
    if !stays_above_limit {
        return Err(Reason::InsufficientFunds {
            limit: account.limit,
        });
    }
    Ok(vec![MoneyDebitedEvent {
        iban: c.iban.clone(),
        amount: c.amount,
        id: c.id,
    }
    .into()])
}

/// CreditMoney and ReturnMoney share every rule; only the event differs.
fn add_money(
    accounts: &BankAccounts,
    iban: &str,
    transfer: Id,
    amount: i64,
    movement: Movement,
    event: impl Into<BankEvent>,
) -> Result<Vec<BankEvent>, Reason> {
    positive(amount)?;
    let account = accounts.known(iban)?;
    if account.has_booked(transfer, movement) {
        return Ok(Vec::new());
    }
    if account.balance.checked_add(amount).is_none() {
        return Err(Reason::AmountWouldOverflowTheBalance);
    }
    Ok(vec![event.into()])
}

fn positive(amount: i64) -> Result<(), Reason> {
    if amount > 0 {
        Ok(())
    } else {
        Err(Reason::AmountShouldBePositive)
    }
}

#[cfg(test)]
mod tests;
