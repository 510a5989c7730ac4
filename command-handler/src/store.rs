//! The command handler's local state store: the state of the partitions it decides for, on
//! disk, with the offsets of `user_events` and `bank_events` it reflects.
//!
//! # Why
//!
//! Without it every takeover replays the owned partitions from offset 0, and every transfer
//! ever made stays in memory: its status (so a repeated id is refused) and its bookings on
//! both accounts (so a redelivered debit or credit is answered without moving money twice).
//! On 1,000,000 transfers that was a 24 s restart and 223 MB. With it, memory keeps the *live*
//! data (users, accounts, transfers the saga still drives), the store keeps those plus the
//! *history* (every status and booking), and a takeover loads the live data of its partitions
//! and replays only what was written after the store's offsets.
//!
//! # Why forgetting history in memory is safe
//!
//! A status or booking is only read when a command (or a feedback or event) of *its* transfer
//! is decided, and the runtime recalls that transfer's facts from the store right before
//! ([`Store::facts`] → [`crate::handling::Handler::recall`]). History is dropped from memory
//! only after the batch that wrote it is committed to Kafka and written here, so what the store
//! does not have yet is still in memory. A redelivered command of a transfer settled long ago
//! therefore meets its booking exactly as before; nothing about *which* commands can be
//! redelivered has to be proven.
//!
//! # Why it is always a state the log produced
//!
//! - It is written only after Kafka committed the batch, with the offsets Kafka gave that
//!   batch's events: never what the log does not hold. This instance is the only writer of its
//!   partitions of `user_events` and `bank_events` (a stale one is fenced), so the state after
//!   the batch is the state of the log up to those offsets.
//! - A batch's rows and offsets go in one redb transaction. Writes skip the fsync; a thread of
//!   the store makes them durable every 2 s (`topology::state_file`), and a batch that would
//!   wait for it is written with the next one instead; a crash falls back to an older but consistent state, and the replay goes on
//!   from its offsets.
//! - Rows of a partition are written only together with that partition's offset. A partition
//!   this instance lost and later gets back is replayed from its old offset, over rows that
//!   match it, so whatever another instance wrote in between is replayed.
//! - At a takeover the store is checked against the log: another format or cluster, or an
//!   offset of an owned partition past its end or before its first record → the store is
//!   emptied and the partitions are replayed from offset 0. A lost or stale store costs time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use topology::replay::PartitionEnd;
use topology::routing::{partition_of, user_event_key};
pub use topology::state_file::Positions;
use topology::state_file::{outside_the_log, Layout, Postcard, StateFile, Table};
use topology::topic_names::{BANK_EVENTS, USER_EVENTS};
use topology::{BankEvent, Id, UserEvent};

use crate::domain::bank_account::{AccountRecord, Movement};
use crate::domain::saga::{ProgressRecord, Saga};
use crate::domain::{BankState, CommandMeta, TransferFacts, TransferStatus};
use crate::handling::{Handler, Output, Ownership};

/// redb's page cache: lookups touch one transfer at a time.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// (user_events partition, username).
const USERS: Table<(i32, &str), ()> = Table::new("users");
/// (bank_events partition, IBAN) → its account.
const ACCOUNTS: Table<(i32, &str), Postcard<AccountRecord>> = Table::new("accounts");
/// Transfer (or hold, or standing order) id → [`TransferStatus::code`].
const STATUSES: Table<u128, u8> = Table::new("statuses");
/// (transfer id, IBAN, [`Movement::code`]): one booking.
const BOOKINGS: Table<(u128, &str, u8), ()> = Table::new("bookings");
/// Transfer id → the progress of a transfer the saga still drives.
const SAGA: Table<u128, Postcard<ProgressRecord>> = Table::new("saga");
/// Transfer id → the account that refused its credit, and the refusal (see
/// `crate::domain::refused_credits`).
const REFUSED_CREDITS: Table<u128, Postcard<(String, String)>> = Table::new("refused_credits");

const LAYOUT: Layout = Layout {
    // Bumped whenever a table's layout or encoding changes: an older store is then emptied.
    format: 6,
    tables: &[
        &USERS,
        &ACCOUNTS,
        &STATUSES,
        &BOOKINGS,
        &SAGA,
        &REFUSED_CREDITS,
    ],
};

pub use topology::state_file::StateFileError as StoreError;

fn id_key(id: Id) -> u128 {
    u128::from_be_bytes(id.0)
}

/// What the store was built for; one built for something else is emptied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub cluster_id: String,
    /// The partition count of the co-partitioned topics: what every key is routed by.
    pub partitions: i32,
}

/// A handler as the store keeps it (see [`Store::load`]).
#[derive(Debug)]
pub struct Loaded {
    pub handler: Handler,
    /// Where each partition goes on.
    pub positions: Positions,
    /// How many users, accounts and transfers under way were loaded.
    pub rows: usize,
}

/// The live data of some partitions, and where to go on reading them.
#[derive(Debug, Default)]
pub struct Restored {
    /// (topic, partition) → next offset to read.
    pub positions: Positions,
    pub users: Vec<String>,
    pub accounts: Vec<(String, AccountRecord)>,
    pub saga: Vec<ProgressRecord>,
}

/// What one committed batch (or a stretch of a replay) changed, to be written to the store.
#[derive(Debug, Default)]
pub struct Changes {
    users: BTreeSet<String>,
    accounts: BTreeSet<String>,
    transfers: BTreeSet<Id>,
    bookings: BTreeSet<(Id, String, Movement)>,
    /// Transfer id → (IBAN, reason) of a refused credit.
    refused_credits: BTreeMap<Id, (String, String)>,
    /// (topic, partition) → next offset.
    positions: BTreeMap<(String, i32), i64>,
}

impl Changes {
    /// What a committed transaction with `outputs` changed: the rows its events touched, and
    /// the transfers of its commands and of its `inputs`, whose saga may have moved without an
    /// event. Offsets are added with [`Changes::position`].
    pub fn of(outputs: &[Output], inputs: &[Id]) -> Self {
        let mut changes = Self::default();
        for output in outputs {
            match output {
                Output::UserEvent(_, event) => changes.user_event(event),
                Output::BankEvent(_, event) => changes.bank_event(event),
                Output::BankCommand(_, command) => changes.transfer(command.command_id()),
                Output::TransferCommand(_, command) => changes.transfer(command.command_id()),
                Output::UserFeedback(..)
                | Output::BankFeedback(..)
                | Output::TransferFeedback(..) => {}
            }
        }
        for &transfer in inputs {
            changes.transfer(transfer);
        }
        changes
    }

    pub fn user_event(&mut self, event: &UserEvent) {
        self.users.insert(user_event_key(event).to_string());
    }

    pub fn bank_event(&mut self, event: &BankEvent) {
        if let Some((transfer, iban, movement)) = Movement::booked_by(event) {
            self.bookings.insert((transfer, iban.to_string(), movement));
        }
        if let Some(iban) = account_of(event) {
            self.accounts.insert(iban.to_string());
        }
        if let Some(transfer) = crate::domain::saga::transfer_id(event) {
            self.transfers.insert(transfer);
        }
        if let Some(hold) = crate::domain::holds::hold_id(event) {
            self.transfers.insert(hold);
        }
        if let Some(order) = crate::domain::standing_orders::order_id(event) {
            self.transfers.insert(order);
        }
        if let BankEvent::CreditRefusedEvent(refused) = event {
            let refusal = (refused.iban.clone(), refused.reason.clone());
            self.refused_credits.insert(refused.id, refusal);
        }
    }

    /// A transfer whose saga progress may have changed without an event (a feedback).
    pub fn transfer(&mut self, transfer: Id) {
        self.transfers.insert(transfer);
    }

    /// The state now reflects `topic`/`partition` up to `next` (exclusive).
    pub fn position(&mut self, topic: &str, partition: i32, next: i64) {
        let position = self
            .positions
            .entry((topic.to_string(), partition))
            .or_insert(next);
        *position = (*position).max(next);
    }

    /// Adds `later` changes: written together, they take the values of the state after both.
    pub fn absorb(&mut self, later: Changes) {
        self.users.extend(later.users);
        self.accounts.extend(later.accounts);
        self.transfers.extend(later.transfers);
        self.bookings.extend(later.bookings);
        self.refused_credits.extend(later.refused_credits);
        for ((topic, partition), next) in later.positions {
            self.position(&topic, partition, next);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.accounts.is_empty()
            && self.transfers.is_empty()
            && self.bookings.is_empty()
            && self.refused_credits.is_empty()
            && self.positions.is_empty()
    }

    /// Every transfer it writes a row of: a status, a booking or a refused credit.
    pub fn transfers_written(&self) -> impl Iterator<Item = Id> + '_ {
        self.transfers
            .iter()
            .copied()
            .chain(self.bookings.iter().map(|(transfer, _, _)| *transfer))
            .chain(self.refused_credits.keys().copied())
    }

    /// How many rows it will write, roughly: to bound a replay's batch.
    pub fn len(&self) -> usize {
        self.users.len()
            + self.accounts.len()
            + self.transfers.len()
            + self.bookings.len()
            + self.refused_credits.len()
    }
}

/// The account a bank event changes.
fn account_of(event: &BankEvent) -> Option<&str> {
    match event {
        BankEvent::BankAccountCreatedEvent(e) => Some(&e.iban),
        BankEvent::UserAddedToBankAccountEvent(e) => Some(&e.iban),
        BankEvent::UserRemovedFromBankAccountEvent(e) => Some(&e.iban),
        BankEvent::MoneyDebitedEvent(e) => Some(&e.iban),
        BankEvent::MoneyCreditedEvent(e) => Some(&e.iban),
        BankEvent::MoneyReturnedEvent(e) => Some(&e.iban),
        BankEvent::MoneyHeldEvent(e) => Some(&e.iban),
        BankEvent::HoldCapturedEvent(e) => Some(&e.iban),
        BankEvent::HoldReleasedEvent(e) => Some(&e.iban),
        BankEvent::StandingOrderSetEvent(e) => Some(&e.iban),
        BankEvent::StandingOrderRanEvent(e) => Some(&e.iban),
        BankEvent::StandingOrderEndedEvent(e) => Some(&e.iban),
        // A deposit counts towards its account's cash of the day.
        BankEvent::TransferStartedEvent(e) if e.from == topology::values::CASH => Some(&e.to),
        // Alert rules are the read side's: the command side keeps no state for them.
        BankEvent::TransferStartedEvent(_)
        | BankEvent::TransferCompletedEvent(_)
        | BankEvent::TransferFailedEvent(_)
        | BankEvent::AlertSetEvent(_)
        | BankEvent::AlertRemovedEvent(_)
        | BankEvent::CreditRefusedEvent(_) => None,
    }
}

#[derive(Debug)]
pub struct Store {
    file: StateFile,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, or creates it (and its directory).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            file: StateFile::open(path, CACHE_BYTES, &LAYOUT)?,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The identity the store was built for, if it records one.
    pub fn identity(&self) -> Result<Option<Identity>, StoreError> {
        self.file.identity()
    }

    /// Why the store cannot serve the partitions of `ends` (their first and end offsets now),
    /// or `None` when it can.
    pub fn check(
        &self,
        identity: &Identity,
        ends: &[PartitionEnd],
    ) -> Result<Option<String>, StoreError> {
        // Only the partitions taken over count: the stored position of another is checked
        // when this instance takes that one over.
        self.file.check(identity, |positions| {
            ends.iter().find_map(|end| {
                let next = positions.get(&(end.topic.clone(), end.partition))?;
                outside_the_log(&end.topic, end.partition, *next, Some(end))
            })
        })
    }

    /// Deletes everything and records `identity`: the partitions are replayed from offset 0.
    pub fn reset(&self, identity: &Identity) -> Result<(), StoreError> {
        self.file.reset(identity)
    }

    /// Whether no transfer has a row here (a status, a booking or a refused credit): then
    /// [`Self::facts`] finds nothing of any transfer not written since.
    pub fn holds_no_transfers(&self) -> Result<bool, StoreError> {
        let read = self.file.read()?;
        Ok(STATUSES.read(&read)?.is_empty()?
            && BOOKINGS.read(&read)?.is_empty()?
            && REFUSED_CREDITS.read(&read)?.is_empty()?)
    }

    /// The live data of `partitions` and where they go on.
    pub fn restore(&self, partitions: &BTreeSet<i32>) -> Result<Restored, StoreError> {
        let read = self.file.read()?;
        let mut restored = Restored::default();
        let positions = self.file.positions()?;
        let users = USERS.read(&read)?;
        let accounts = ACCOUNTS.read(&read)?;
        for &partition in partitions {
            for topic in [USER_EVENTS, BANK_EVENTS] {
                let key = (topic.to_string(), partition);
                if let Some(&next) = positions.get(&key) {
                    restored.positions.insert(key, next);
                }
            }
            for entry in users.range((partition, "")..(partition + 1, ""))? {
                let (key, ()) = entry?;
                restored.users.push(key.value().1.to_string());
            }
            for entry in accounts.range((partition, "")..(partition + 1, ""))? {
                let (key, record) = entry?;
                restored.accounts.push((key.value().1.to_string(), record));
            }
        }
        for entry in SAGA.read(&read)?.iter()? {
            let (_, record) = entry?;
            if partitions.contains(&partition_of(record.home())) {
                restored.saga.push(record);
            }
        }
        Ok(restored)
    }

    /// The handler of `owned` as the store keeps it: live data, and the facts of every transfer
    /// its saga drives.
    pub fn load(&self, owned: &Ownership) -> Result<Loaded, StoreError> {
        let restored = self.restore(&owned.partitions().collect())?;
        let rows = restored.users.len() + restored.accounts.len() + restored.saga.len();
        let mut state = BankState::default();
        let mut saga = Saga::default();
        for username in restored.users {
            state.restore_user(username);
        }
        for (iban, account) in restored.accounts {
            state.restore_account(iban, account);
        }
        let mut driven = Vec::new();
        for record in restored.saga {
            driven.push(record.transfer_id());
            saga.restore(record);
        }
        let mut handler = Handler::new(state, saga, owned.clone());
        for transfer in driven {
            handler.recall(transfer, self.facts(transfer)?);
        }
        Ok(Loaded {
            handler,
            positions: restored.positions,
            rows,
        })
    }

    /// What the store kept of `transfer`.
    pub fn facts(&self, transfer: Id) -> Result<TransferFacts, StoreError> {
        let read = self.file.read()?;
        let key = id_key(transfer);
        let status = STATUSES
            .read(&read)?
            .get(key)?
            .and_then(TransferStatus::from_code);
        let mut bookings = Vec::new();
        for entry in BOOKINGS
            .read(&read)?
            .range((key, "", 0)..=(key, "\u{10FFFF}", u8::MAX))?
        {
            let (booking, ()) = entry?;
            let (_, iban, movement) = booking.value();
            if let Some(movement) = Movement::from_code(movement) {
                bookings.push((iban.to_string(), movement));
            }
        }
        let refused_credit = REFUSED_CREDITS.read(&read)?.get(key)?;
        Ok(TransferFacts {
            status,
            bookings,
            refused_credit,
        })
    }

    /// Writes `changes` with the values `bank` and `saga` hold now: they must be exactly the
    /// state of the log up to the offsets in `changes`.
    ///
    /// `false`: not written, because the store's background fsync holds the file and `wait` is
    /// false; the caller keeps `changes` (see [`Changes::absorb`]) and writes them later.
    pub fn write(
        &self,
        bank: &BankState,
        saga: &Saga,
        changes: &Changes,
        wait: bool,
    ) -> Result<bool, StoreError> {
        if changes.is_empty() {
            return Ok(true);
        }
        self.file.write(wait, |write| {
            let mut users = USERS.write(write)?;
            for username in &changes.users {
                users.insert((partition_of(username), username.as_str()), &())?;
            }
            let mut accounts = ACCOUNTS.write(write)?;
            for iban in &changes.accounts {
                if let Some(account) = bank.accounts().get(iban) {
                    accounts.insert((partition_of(iban), iban.as_str()), &account.record())?;
                }
            }
            let mut statuses = STATUSES.write(write)?;
            let mut saga_table = SAGA.write(write)?;
            for &transfer in &changes.transfers {
                if let Some(status) = bank.transfers().status(transfer) {
                    statuses.insert(id_key(transfer), &status.code())?;
                }
                saga_table.set(id_key(transfer), saga.record(transfer).as_ref())?;
            }
            let mut bookings = BOOKINGS.write(write)?;
            for (transfer, iban, movement) in &changes.bookings {
                bookings.insert((id_key(*transfer), iban.as_str(), movement.code()), &())?;
            }
            let mut refused_credits = REFUSED_CREDITS.write(write)?;
            for (transfer, refusal) in &changes.refused_credits {
                refused_credits.insert(id_key(*transfer), refusal)?;
            }
            write.set_positions(
                changes
                    .positions
                    .iter()
                    .map(|((topic, partition), next)| (topic.as_str(), *partition, *next)),
            )
        })
    }
}

#[cfg(test)]
mod tests;
