//! The projector's local state store: the read model on disk, with the offsets it reflects.
//!
//! # Why
//!
//! Without it every start replays both event topics from offset 0, and every transaction ever
//! made stays in memory: a restart on 1,000,000 transfers took 25 s and the process held
//! 750 MB. With it, memory holds the live data only (users, accounts, transfers in progress,
//! each account's newest transaction), history (every transaction and every finished
//! transfer's outcome) is read from disk when a query asks for it, and a restart loads the
//! live data and replays only what was written after the store's positions.
//!
//! # Why it is always a state the log produced
//!
//! - One write transaction per projection round holds the round's changes *and* what they
//!   reflect: the next offset of every topic partition read so far and the transaction ids
//!   handed out per partition. A reader of the store therefore sees the read model exactly as
//!   it was after some prefix of every partition, never half a round.
//! - Only `read_committed` events are projected, so nothing the log does not keep for good
//!   reaches the store.
//! - Commits skip the fsync; a thread of the store makes them durable every 2 s
//!   (`topology::state_file`). A crash falls back to the last durable commit, an older but
//!   equally consistent state, and the replay goes on from its positions.
//!
//! # A lost or stale store only costs time
//!
//! At start the store is checked against the log ([`Identity`] and the end offsets): written
//! by another format, for another cluster, topics or partition count, or ahead of a
//! partition's end (the log no longer holds what it reflects) → it is deleted and the
//! projector replays from offset 0, as it does without a store. A deleted file is the same.
//!
//! The store never decides what is published: the publishing group's committed offsets do
//! (see [`crate::publishing`]); the derived events between those and the store's positions
//! are read back from the stored transactions ([`Store::derived_after`]).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use topology::replay::PartitionEnd;
use topology::state_file::{
    outside_the_log, Layout, Positions, Postcard, StateFile, StateFileError, Table,
};
use topology::Id;

use crate::alerts::{AlertRules, FiredAlert};
use crate::query_results::{Account, Transaction};
use crate::read_model::{RunFailure, Transfer, TransferOutcome};
use crate::source::Source;

/// redb's page cache: queries read history one account at a time, so a small one serves them.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// `bank_events` partition → transaction ids handed out there.
const ISSUED: Table<i32, i64> = Table::new("issued");
/// username → password hash.
const USERS: Table<&str, &str> = Table::new("users");
/// IBAN → its account.
const ACCOUNTS: Table<&str, Postcard<StoredAccount>> = Table::new("accounts");
/// Transfer id → a transfer still in progress.
const TRANSFERS: Table<u128, Postcard<Transfer>> = Table::new("transfers");
/// Transfer id → its final state and reason.
const OUTCOMES: Table<u128, Postcard<TransferOutcome>> = Table::new("outcomes");
/// Transaction id → the transaction.
const TRANSACTIONS: Table<i32, Postcard<StoredTransaction>> = Table::new("transactions");
/// (IBAN, transaction id): an IBAN's transactions in id order, which is its partition's order.
const BY_IBAN: Table<(&str, i32), ()> = Table::new("transactions_by_iban");
/// (partition, offset) of a `TransferFailedEvent` → the standing order's run that failed by it,
/// whose alert is published from that source like a transaction.
const RUN_FAILURES: Table<(i32, i64), Postcard<StoredRunFailure>> = Table::new("run_failures");

const LAYOUT: Layout = Layout {
    // Bumped whenever a table's layout or encoding changes: an older store is then rebuilt.
    format: 8,
    tables: &[
        &ISSUED,
        &USERS,
        &ACCOUNTS,
        &TRANSFERS,
        &OUTCOMES,
        &TRANSACTIONS,
        &BY_IBAN,
        &RUN_FAILURES,
    ],
};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    File(#[from] StateFileError),
    #[error("removing the stale state store {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the store was built from; a store whose identity differs from the running one's is
/// rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub cluster_id: String,
    pub bank_events_topic: String,
    pub user_events_topic: Option<String>,
    /// `bank_events`' partition count: the `P` of every transaction id.
    pub partitions: i32,
}

/// An account with, for each owner in order, the event that made them owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAccount {
    pub account: Account,
    pub since: Vec<Source>,
    pub rules: AlertRules,
    /// When its creation was written, in milliseconds.
    pub opened_at: Option<i64>,
}

/// A transaction and the `bank_events` record it was derived from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTransaction {
    pub transaction: Transaction,
    pub source: Source,
    /// The alerts it fired, published with it.
    pub alerts: Vec<FiredAlert>,
}

/// A standing order's run that failed, and the `TransferFailedEvent` it failed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRunFailure {
    pub source: Source,
    pub failure: RunFailure,
}

/// One round of the projection, written in one transaction.
#[derive(Debug, Default)]
pub struct Round {
    pub users: Vec<(String, String)>,
    pub accounts: Vec<(String, StoredAccount)>,
    /// `None`: the transfer is no longer in progress.
    pub transfers: Vec<(Id, Option<Transfer>)>,
    pub outcomes: Vec<(Id, TransferOutcome)>,
    pub transactions: Vec<StoredTransaction>,
    pub run_failures: Vec<(Source, RunFailure)>,
    pub positions: Vec<(String, i32, i64)>,
    pub issued: Vec<(i32, i64)>,
}

impl Round {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.accounts.is_empty()
            && self.transfers.is_empty()
            && self.outcomes.is_empty()
            && self.transactions.is_empty()
            && self.run_failures.is_empty()
            && self.positions.is_empty()
            && self.issued.is_empty()
    }
}

/// What a store on disk holds besides the history: where to go on and the live data.
#[derive(Debug, Default)]
pub struct Restored {
    /// (topic, partition) → next offset to read.
    pub positions: Positions,
    /// `bank_events` partition → transaction ids handed out.
    pub issued: BTreeMap<i32, i64>,
    pub users: Vec<(String, String)>,
    pub accounts: Vec<(String, StoredAccount)>,
    pub transfers: Vec<(Id, Transfer)>,
    /// Each account's newest transaction.
    pub last_transactions: Vec<Transaction>,
}

/// The store: a redb database in a file, or in memory when the projector runs without one.
#[derive(Debug)]
pub struct Store {
    file: StateFile,
}

fn id_key(id: &Id) -> u128 {
    u128::from_be_bytes(id.0)
}

impl Store {
    /// A store that lives only as long as the process: the projector without a state directory.
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            file: StateFile::in_memory(&LAYOUT)?,
        })
    }

    /// Opens the store at `path`, or creates it. A store that does not match `identity`, or
    /// whose position in a partition is outside what the log holds now (`ends`: past its end,
    /// or before its first record), is deleted and created anew; the reason is logged.
    /// Answers what it holds unless it is new.
    pub fn open(
        path: &Path,
        identity: &Identity,
        ends: &[PartitionEnd],
    ) -> Result<(Self, Option<Restored>), StoreError> {
        if path.exists() {
            let store = Self::open_file(path)?;
            match store.check(identity, ends)? {
                None => {
                    let restored = store.restore()?;
                    return Ok((store, Some(restored)));
                }
                Some(stale) => {
                    tracing::warn!(path = %path.display(), stale, "the state store does not match the log; rebuilding it from offset 0");
                    drop(store);
                    // Deleting the file, not its tables, gives its space back.
                    std::fs::remove_file(path).map_err(|source| StoreError::Remove {
                        path: path.to_path_buf(),
                        source,
                    })?;
                }
            }
        }
        let store = Self::open_file(path)?;
        store.file.reset(identity)?;
        Ok((store, None))
    }

    fn open_file(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            file: StateFile::open(path, CACHE_BYTES, &LAYOUT)?,
        })
    }

    /// Why the store cannot be used, or `None` when it can.
    fn check(
        &self,
        identity: &Identity,
        ends: &[PartitionEnd],
    ) -> Result<Option<String>, StoreError> {
        // Every stored position counts: the projector reads every partition.
        Ok(self.file.check(identity, |positions| {
            positions.iter().find_map(|((topic, partition), next)| {
                let end = ends
                    .iter()
                    .find(|end| end.topic == *topic && end.partition == *partition);
                outside_the_log(topic, *partition, *next, end)
            })
        })?)
    }

    fn restore(&self) -> Result<Restored, StoreError> {
        let read = self.file.read()?;
        let mut restored = Restored {
            positions: self.file.positions()?,
            ..Restored::default()
        };
        for entry in ISSUED.read(&read)?.iter()? {
            let (partition, issued) = entry?;
            restored.issued.insert(partition.value(), issued);
        }
        for entry in USERS.read(&read)?.iter()? {
            let (username, hash) = entry?;
            restored.users.push((username.value().to_string(), hash));
        }
        for entry in TRANSFERS.read(&read)?.iter()? {
            let (id, transfer) = entry?;
            restored
                .transfers
                .push((Id(id.value().to_be_bytes()), transfer));
        }
        let by_iban = BY_IBAN.read(&read)?;
        let transactions = TRANSACTIONS.read(&read)?;
        for entry in ACCOUNTS.read(&read)?.iter()? {
            let (iban, account) = entry?;
            let iban = iban.value();
            let newest = by_iban
                .range((iban, i32::MIN)..=(iban, i32::MAX))?
                .next_back()
                .transpose()?;
            if let Some((key, ())) = newest {
                if let Some(stored) = transactions.get(key.value().1)? {
                    restored.last_transactions.push(stored.transaction);
                }
            }
            restored.accounts.push((iban.to_string(), account));
        }
        Ok(restored)
    }

    /// Writes one round, waiting for the background fsync if it runs (the projection writes
    /// from a thread of its own); with `durable` (at shutdown) makes it durable at once.
    pub fn write(&self, round: &Round, durable: bool) -> Result<(), StoreError> {
        if !round.is_empty() {
            self.file.write(true, |write| {
                let mut users = USERS.write(write)?;
                for (username, hash) in &round.users {
                    users.insert(username.as_str(), hash)?;
                }
                let mut accounts = ACCOUNTS.write(write)?;
                for (iban, account) in &round.accounts {
                    accounts.insert(iban.as_str(), account)?;
                }
                let mut transfers = TRANSFERS.write(write)?;
                for (id, transfer) in &round.transfers {
                    transfers.set(id_key(id), transfer.as_ref())?;
                }
                let mut outcomes = OUTCOMES.write(write)?;
                for (id, outcome) in &round.outcomes {
                    outcomes.insert(id_key(id), outcome)?;
                }
                let mut transactions = TRANSACTIONS.write(write)?;
                let mut by_iban = BY_IBAN.write(write)?;
                for stored in &round.transactions {
                    let transaction = &stored.transaction;
                    transactions.insert(transaction.id, stored)?;
                    by_iban.insert((transaction.iban.as_str(), transaction.id), &())?;
                }
                let mut run_failures = RUN_FAILURES.write(write)?;
                for (source, failure) in &round.run_failures {
                    let stored = StoredRunFailure {
                        source: *source,
                        failure: failure.clone(),
                    };
                    run_failures.insert((source.partition, source.offset), &stored)?;
                }
                write.set_positions(
                    round
                        .positions
                        .iter()
                        .map(|(topic, partition, next)| (topic.as_str(), *partition, *next)),
                )?;
                let mut issued = ISSUED.write(write)?;
                for (partition, count) in &round.issued {
                    issued.insert(*partition, count)?;
                }
                Ok(())
            })?;
        }
        if durable {
            self.file.sync()?;
        }
        Ok(())
    }

    /// Whether the store is a file (else it lives in memory, for as long as the process).
    pub fn is_on_disk(&self) -> bool {
        self.file.path().is_some()
    }

    pub fn transaction(&self, id: i32) -> Result<Option<StoredTransaction>, StoreError> {
        Ok(TRANSACTIONS.read(&self.file.read()?)?.get(id)?)
    }

    /// Visits the stored transactions of `iban` (below id `below`, if given) newest first until
    /// `visit` breaks.
    pub fn walk_newest(
        &self,
        iban: &str,
        below: Option<i32>,
        visit: &mut dyn FnMut(&Arc<Transaction>) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let read = self.file.read()?;
        let by_iban = BY_IBAN.read(&read)?;
        let transactions = TRANSACTIONS.read(&read)?;
        let upper = below.map_or(Bound::Included((iban, i32::MAX)), |id| {
            Bound::Excluded((iban, id))
        });
        for entry in by_iban
            .range((Bound::Included((iban, i32::MIN)), upper))?
            .rev()
        {
            let (key, ()) = entry?;
            if let Some(stored) = transactions.get(key.value().1)? {
                if visit(&Arc::new(stored.transaction)).is_break() {
                    break;
                }
            }
        }
        Ok(())
    }

    pub fn outcome(&self, id: &Id) -> Result<Option<TransferOutcome>, StoreError> {
        Ok(OUTCOMES.read(&self.file.read()?)?.get(id_key(id))?)
    }

    /// The stored transactions of `partition` (out of `partitions`) derived from records
    /// after offset `after` (`None`: all of them), oldest first: those of `issued` ids there,
    /// walked back from the newest until one is not after `after`.
    pub fn derived_after(
        &self,
        partitions: i32,
        partition: i32,
        issued: i64,
        after: Option<i64>,
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        let table = TRANSACTIONS.read(&self.file.read()?)?;
        let mut found = Vec::new();
        for sequence in (0..issued).rev() {
            let Some(id) = crate::transaction_ids::transaction_id(partitions, partition, sequence)
            else {
                break;
            };
            let Some(stored) = table.get(id)? else {
                break;
            };
            if after.is_some_and(|after| stored.source.offset <= after) {
                break;
            }
            found.push(stored);
        }
        found.reverse();
        Ok(found)
    }

    /// The stored failed runs of `partition` derived from records after offset `after`
    /// (`None`: all of them), oldest first.
    pub fn run_failures_after(
        &self,
        partition: i32,
        after: Option<i64>,
    ) -> Result<Vec<StoredRunFailure>, StoreError> {
        let table = RUN_FAILURES.read(&self.file.read()?)?;
        let from = after.map_or(Bound::Included((partition, i64::MIN)), |after| {
            Bound::Excluded((partition, after))
        });
        let mut found = Vec::new();
        for entry in table.range((from, Bound::Included((partition, i64::MAX))))? {
            let (_, stored) = entry?;
            found.push(stored);
        }
        Ok(found)
    }

    /// How many transactions the store holds.
    pub fn transaction_count(&self) -> Result<u64, StoreError> {
        Ok(TRANSACTIONS.read(&self.file.read()?)?.len()?)
    }
}

#[cfg(test)]
mod tests;
