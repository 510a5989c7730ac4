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
use crate::read_model::{Transfer, TransferOutcome};
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

const LAYOUT: Layout = Layout {
    // Bumped whenever a table's layout or encoding changes: an older store is then rebuilt.
    format: 4,
    tables: &[
        &ISSUED,
        &USERS,
        &ACCOUNTS,
        &TRANSFERS,
        &OUTCOMES,
        &TRANSACTIONS,
        &BY_IBAN,
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

/// One round of the projection, written in one transaction.
#[derive(Debug, Default)]
pub struct Round {
    pub users: Vec<(String, String)>,
    pub accounts: Vec<(String, StoredAccount)>,
    /// `None`: the transfer is no longer in progress.
    pub transfers: Vec<(Id, Option<Transfer>)>,
    pub outcomes: Vec<(Id, TransferOutcome)>,
    pub transactions: Vec<StoredTransaction>,
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

    /// Visits the stored transactions of `iban` newest first until `visit` breaks.
    pub fn walk_newest(
        &self,
        iban: &str,
        visit: &mut dyn FnMut(&Arc<Transaction>) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let read = self.file.read()?;
        let by_iban = BY_IBAN.read(&read)?;
        let transactions = TRANSACTIONS.read(&read)?;
        for entry in by_iban.range((iban, i32::MIN)..=(iban, i32::MAX))?.rev() {
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

    /// How many transactions the store holds.
    pub fn transaction_count(&self) -> Result<u64, StoreError> {
        Ok(TRANSACTIONS.read(&self.file.read()?)?.len()?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use topology::values::open_iban_for_account;
    use topology::BankEvent;

    use super::*;
    use crate::projection::{BankProjector, DerivedTransaction};
    use crate::read_model::ReadModel;
    use crate::test_events::*;

    const TOPIC: &str = "bank_events";
    const PARTITIONS: i32 = 3;

    fn identity(cluster: &str) -> Identity {
        Identity {
            cluster_id: cluster.into(),
            bank_events_topic: TOPIC.into(),
            user_events_topic: None,
            partitions: PARTITIONS,
        }
    }

    fn ends(histories: &[Vec<BankEvent>]) -> Vec<PartitionEnd> {
        (0..)
            .zip(histories)
            .map(|(partition, history)| PartitionEnd {
                topic: TOPIC.into(),
                partition,
                first: 0,
                end: i64::try_from(history.len()).unwrap(),
            })
            .collect()
    }

    /// Projects `delivered`, flushing every `round` events as the runtime does; returns the
    /// derived events.
    fn project(
        projector: &mut BankProjector,
        delivered: &[(i32, i64, &BankEvent)],
        round: usize,
    ) -> Vec<DerivedTransaction> {
        let mut derived = Vec::new();
        for chunk in delivered.chunks(round) {
            let mut moved = BTreeMap::new();
            for &(partition, offset, event) in chunk {
                derived.extend(
                    projector
                        .project(Source::at(partition, offset), event)
                        .unwrap(),
                );
                moved.insert(partition, offset + 1);
            }
            let positions = moved
                .into_iter()
                .map(|(partition, next)| (TOPIC.to_string(), partition, next))
                .collect();
            let issued = projector.issued();
            let model = projector.read_model();
            let round = model.take_round(positions, issued);
            model.store().write(&round, false).unwrap();
            model.written();
        }
        derived
    }

    /// What the queries read, as comparable text.
    fn everything(model: &ReadModel, accounts: u32, transfers: u32) -> Vec<String> {
        let mut seen = Vec::new();
        for n in 0..accounts {
            let iban = open_iban_for_account(n);
            seen.push(format!("{:?}", model.account(&iban)));
            seen.push(format!("{:?}", model.newest_transactions(&iban, 1_000)));
            seen.push(format!("{:?}", model.ibans_of_user(&format!("user-{n}"))));
        }
        seen.push(format!("{:?}", model.last_transactions()));
        for id in 0..=model.transaction_count() + 1 {
            seen.push(format!(
                "{:?}",
                model.transaction(i32::try_from(id).unwrap())
            ));
        }
        for t in 0..transfers {
            seen.push(format!("{:?}", model.transfer_outcome(&numbered_id(2, t))));
        }
        seen.push(format!("{:?}", model.accounts_page(None, 0, 1_000)));
        seen
    }

    #[test]
    fn a_projector_resumed_from_its_store_answers_as_one_that_replayed_everything() {
        let (accounts, transfers) = (7, 60);
        let histories = partition_histories(&busy_history(accounts, transfers), PARTITIONS);
        let delivered = shuffled(&histories, 11);
        let mut full = BankProjector::new(Arc::new(ReadModel::new()), PARTITIONS);
        let all_derived = project(&mut full, &delivered, 1_000_000);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("projector.redb");
        let (store, restored) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
        assert!(restored.is_none());
        let mut first = BankProjector::new(Arc::new(ReadModel::with_store(store)), PARTITIONS);
        let half = delivered.len() / 2;
        let mut derived = project(&mut first, &delivered[..half], 7);
        // A round after the last flush is lost, as in a crash.
        first
            .project(
                Source::at(delivered[half].0, delivered[half].1),
                delivered[half].2,
            )
            .unwrap();
        drop(first);

        let (store, restored) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
        let restored = restored.expect("the store is kept");
        let positions = restored.positions.clone();
        let issued = restored.issued.clone();
        let model = Arc::new(ReadModel::with_store(store));
        model.restore(restored);
        let last_projected = positions
            .iter()
            .map(|((_, partition), next)| (*partition, next - 1))
            .collect();
        let mut resumed = BankProjector::resume(model, PARTITIONS, &issued, &last_projected);
        let rest: Vec<_> = delivered
            .iter()
            .copied()
            .filter(|&(partition, offset, _)| {
                positions
                    .get(&(TOPIC.to_string(), partition))
                    .is_none_or(|&next| offset >= next)
            })
            .collect();
        // The event projected after the last flush is read again.
        assert_eq!(rest.len(), delivered.len() - half);
        derived.extend(project(&mut resumed, &rest, 5));

        let by_source = |mut d: Vec<DerivedTransaction>| {
            d.sort_by_key(|d| (d.source.partition, d.source.offset));
            d
        };
        assert_eq!(by_source(derived), by_source(all_derived));
        assert_eq!(
            everything(resumed.read_model(), accounts, transfers),
            everything(full.read_model(), accounts, transfers)
        );
    }

    #[test]
    fn the_derived_events_after_a_published_offset_are_read_back_in_order() {
        let histories = partition_histories(&busy_history(4, 30), PARTITIONS);
        let delivered = one_partition_after_another(&histories, 0..PARTITIONS);
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()), PARTITIONS);
        let derived = project(&mut projector, &delivered, 4);
        let store = projector.read_model().store();
        for (partition, issued) in projector.issued() {
            let of_partition: Vec<&DerivedTransaction> = derived
                .iter()
                .filter(|d| d.source.partition == partition)
                .collect();
            let middle = of_partition
                .get(of_partition.len() / 2)
                .map(|d| d.source.offset);
            for after in [None, Some(0), middle, Some(i64::MAX)] {
                let expected: Vec<(i64, i32)> = of_partition
                    .iter()
                    .filter(|d| after.is_none_or(|after| d.source.offset > after))
                    .map(|d| (d.source.offset, d.event.transaction_id))
                    .collect();
                let read: Vec<(i64, i32)> = store
                    .derived_after(PARTITIONS, partition, issued, after)
                    .unwrap()
                    .iter()
                    .map(|s| (s.source.offset, s.transaction.id))
                    .collect();
                assert_eq!(read, expected, "partition {partition} after {after:?}");
            }
        }
    }

    #[test]
    fn a_store_that_does_not_match_the_log_is_rebuilt() {
        let histories = partition_histories(&busy_history(3, 10), PARTITIONS);
        let delivered = shuffled(&histories, 5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("projector.redb");
        let fill = || {
            let (store, _) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
            let mut projector =
                BankProjector::new(Arc::new(ReadModel::with_store(store)), PARTITIONS);
            project(&mut projector, &delivered, 10);
        };
        fill();
        let reopened = |identity: &Identity, ends: &[PartitionEnd]| {
            Store::open(&path, identity, ends).unwrap().1.is_some()
        };
        assert!(reopened(&identity("c1"), &ends(&histories)));
        // Another cluster.
        assert!(!reopened(&identity("c2"), &ends(&histories)));
        fill();
        // Another partition count.
        let mut other = identity("c1");
        other.partitions = PARTITIONS + 1;
        assert!(!reopened(&other, &ends(&histories)));
        fill();
        // The log ends before what the store reflects.
        let mut shorter = ends(&histories);
        shorter[1].end -= 1;
        assert!(!reopened(&identity("c1"), &shorter));
        fill();
        // Retention removed records the store has not read.
        let mut trimmed = ends(&histories);
        trimmed[2].first = trimmed[2].end + 1;
        trimmed[2].end += 2;
        assert!(!reopened(&identity("c1"), &trimmed));
        // A rebuilt store holds nothing of the old one.
        let (store, restored) = Store::open(&path, &identity("c1"), &ends(&histories)).unwrap();
        let restored = restored.unwrap();
        assert!(restored.positions.is_empty() && restored.accounts.is_empty());
        assert_eq!(store.transaction_count().unwrap(), 0);
    }
}
