//! What the services' local state stores have in common: a [redb] file with a bounded page
//! cache, its format and identity, typed tables ([`Table`]) that a store declares in its
//! [`Layout`], and writes that fsync at most every [`DURABLE_EVERY`].
//!
//! A store is a cache of what the log says, never a source of truth: each service writes it
//! only with the offsets its contents reflect, and checks it against the log before use (see
//! `command-handler/src/store.rs` and `projector/src/store.rs`). So a write may skip the fsync:
//! after a crash redb falls back to the last durable write, an older but consistent state, and
//! the service replays what came after it. The fsync (an empty durable commit, 80–180 ms on a
//! 300 MB file here) runs on a thread of its own; a service's write that would have to wait for
//! it is put off to its next write instead, so the fsync never stalls a service's loop.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak};
use std::time::{Duration, Instant};

use redb::backends::InMemoryBackend;
use redb::{Database, Durability, ReadTransaction, ReadableDatabase, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::replay::PartitionEnd;

mod table;

pub use table::{AnyTable, Codec, Entries, Postcard, ReadTable, Table, WriteTable};

/// At most this long between durable (fsynced) writes.
pub const DURABLE_EVERY: Duration = Duration::from_secs(2);

/// Format and identity of the store. The format is 4 big-endian bytes, the identity postcard:
/// read apart, so a store of another format still tells which it is.
const META: Table<&str, &[u8]> = Table::new("meta");
/// (topic, partition) → the next offset to read: how much of the log the store reflects.
const POSITIONS: Table<(&str, i32), i64> = Table::new("positions");

/// (topic, partition) → the next offset to read.
pub type Positions = BTreeMap<(String, i32), i64>;

/// What a store keeps, besides the format, identity and positions every store has.
#[derive(Debug)]
pub struct Layout {
    /// Bumped whenever a table's layout or encoding changes: a store of another format is
    /// emptied.
    pub format: u32,
    pub tables: &'static [&'static dyn AnyTable],
}

/// Why a store that reflects `topic`/`partition` up to offset `next` cannot be used with the
/// log as it is now (`end`, or `None` when the log has no such partition): the log must still
/// hold that offset, neither past its end (the store would hold what the log does not) nor
/// before its first record (retention removed what the replay would need).
pub fn outside_the_log(
    topic: &str,
    partition: i32,
    next: i64,
    end: Option<&PartitionEnd>,
) -> Option<String> {
    match end {
        Some(end) if (end.first..=end.end).contains(&next) => None,
        Some(end) => Some(format!(
            "{topic}/{partition} is at offset {next}, the log holds {}..{}",
            end.first, end.end
        )),
        None => Some(format!(
            "{topic}/{partition} is at offset {next}, the log has no such partition"
        )),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("state store {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<redb::Error>,
    },
    #[error("state store: {0}")]
    Redb(Box<redb::Error>),
    #[error("state store record cannot be read: {0}")]
    Decode(#[from] postcard::Error),
}

/// Every error of redb becomes the one [`StateFileError::Redb`], so the stores use `?` as is.
macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for StateFileError {
            fn from(error: $error) -> Self {
                Self::Redb(Box::new(error.into()))
            }
        }
    )*};
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// One redb database, in a file or in memory.
#[derive(Debug)]
pub struct StateFile {
    inner: Arc<Inner>,
    path: Option<PathBuf>,
    layout: &'static Layout,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    /// Held by a write, and by the background fsync: a write never waits for an fsync.
    writing: Mutex<()>,
    /// A write since the last durable commit skipped the fsync.
    behind: AtomicBool,
}

impl Inner {
    fn writing(&self) -> MutexGuard<'_, ()> {
        self.writing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An empty durable commit: it makes every earlier write durable. The caller holds
    /// `writing`.
    fn sync(&self) -> Result<(), StateFileError> {
        if !self.behind.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let started = Instant::now();
        let mut transaction = self.db.begin_write()?;
        // Saves the allocator state with the commit: reopening after a crash then needs no full
        // pass over the file.
        transaction.set_quick_repair(true);
        if let Err(error) = transaction.commit() {
            self.behind.store(true, Ordering::SeqCst);
            return Err(error.into());
        }
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(elapsed_ms, "state store synced");
        Ok(())
    }
}

/// A write transaction of a [`StateFile`] (see [`StateFile::write`]).
pub struct Write<'a> {
    transaction: WriteTransaction,
    _writing: MutexGuard<'a, ()>,
}

impl Deref for Write<'_> {
    type Target = WriteTransaction;

    fn deref(&self) -> &WriteTransaction {
        &self.transaction
    }
}

impl Write<'_> {
    /// Records `positions`, in the transaction of the rows they go with.
    pub fn set_positions<'a>(
        &self,
        positions: impl IntoIterator<Item = (&'a str, i32, i64)>,
    ) -> Result<(), StateFileError> {
        let mut table = POSITIONS.write(self)?;
        for (topic, partition, next) in positions {
            table.insert((topic, partition), &next)?;
        }
        Ok(())
    }
}

impl StateFile {
    /// Opens the file at `path` (and creates it and its directory if missing), with a page
    /// cache of `cache_bytes`: redb's 1 GiB default would make the store the largest user of
    /// memory. A thread of its own makes the writes durable every [`DURABLE_EVERY`].
    pub fn open(
        path: &Path,
        cache_bytes: usize,
        layout: &'static Layout,
    ) -> Result<Self, StateFileError> {
        let open_error = |source: redb::Error| StateFileError::Open {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|error| open_error(redb::Error::Io(error)))?;
        }
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|error| open_error(error.into()))?;
        let file = Self::over(db, Some(path.to_path_buf()), layout)?;
        let inner = Arc::downgrade(&file.inner);
        let spawned = std::thread::Builder::new()
            .name("state-store-sync".into())
            .spawn(move || sync_every(DURABLE_EVERY, inner));
        if let Err(error) = spawned {
            // Writes still reach the file; only a crash would fall back further.
            tracing::warn!(%error, "no thread to sync the state store; it is synced at shutdown only");
        }
        Ok(file)
    }

    /// A database that lives as long as the process.
    pub fn in_memory(layout: &'static Layout) -> Result<Self, StateFileError> {
        let db = Database::builder().create_with_backend(InMemoryBackend::new())?;
        Self::over(db, None, layout)
    }

    fn over(
        db: Database,
        path: Option<PathBuf>,
        layout: &'static Layout,
    ) -> Result<Self, StateFileError> {
        let file = Self {
            inner: Arc::new(Inner {
                db,
                writing: Mutex::new(()),
                behind: AtomicBool::new(false),
            }),
            path,
            layout,
        };
        // Every table exists from the start, so a read never meets a missing one.
        let write = file.db().begin_write()?;
        file.create_tables(&write)?;
        write.commit()?;
        Ok(file)
    }

    fn db(&self) -> &Database {
        &self.inner.db
    }

    fn tables(&self) -> impl Iterator<Item = &dyn AnyTable> {
        [&META as &dyn AnyTable, &POSITIONS]
            .into_iter()
            .chain(self.layout.tables.iter().copied())
    }

    fn create_tables(&self, write: &WriteTransaction) -> Result<(), StateFileError> {
        self.tables().try_for_each(|table| table.create(write))
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A snapshot to read tables in (see [`Table::read`]).
    pub fn read(&self) -> Result<ReadTransaction, StateFileError> {
        Ok(self.db().begin_read()?)
    }

    /// Why the store cannot be used with `identity`, or `None` when it can: its format or
    /// identity differ (or it is new), or `stale` finds a stored position the log no longer
    /// holds (see [`outside_the_log`]).
    pub fn check<I>(
        &self,
        identity: &I,
        stale: impl FnOnce(&Positions) -> Option<String>,
    ) -> Result<Option<String>, StateFileError>
    where
        I: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        if let Some(mismatch) = self.mismatch(identity)? {
            return Ok(Some(mismatch));
        }
        Ok(stale(&self.positions()?))
    }

    /// Why the stored format and identity are not the layout's and `identity` (including "it
    /// is new" when none are stored), or `None` when they are.
    fn mismatch<I>(&self, identity: &I) -> Result<Option<String>, StateFileError>
    where
        I: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let format = self.layout.format;
        let meta = META.read(&self.read()?)?;
        let stored_format = meta
            .get("format")?
            .and_then(|bytes| <[u8; 4]>::try_from(bytes.as_slice()).ok())
            .map(u32::from_be_bytes);
        // An identity that does not decode is another store's: a mismatch, not an error.
        let stored: Option<I> = meta
            .get("identity")?
            .and_then(|bytes| postcard::from_bytes(&bytes).ok());
        Ok(match (stored_format, stored) {
            (None, None) => Some("it is new".to_string()),
            (Some(stored_format), _) if stored_format != format => {
                Some(format!("format {stored_format}, expected {format}"))
            }
            (_, stored) if stored.as_ref() != Some(identity) => {
                Some(format!("built for {stored:?}, running with {identity:?}"))
            }
            _ => None,
        })
    }

    /// The identity the store was built for, if it records one.
    pub fn identity<I: DeserializeOwned>(&self) -> Result<Option<I>, StateFileError> {
        let identity = META.read(&self.read()?)?.get("identity")?;
        Ok(identity.and_then(|bytes| postcard::from_bytes(&bytes).ok()))
    }

    /// Every stored position.
    pub fn positions(&self) -> Result<Positions, StateFileError> {
        let mut positions = Positions::new();
        for entry in POSITIONS.read(&self.read()?)?.iter()? {
            let (key, next) = entry?;
            let (topic, partition) = key.value();
            positions.insert((topic.to_string(), partition), next);
        }
        Ok(positions)
    }

    /// Empties every table and records the layout's format and `identity`, in one durable
    /// write: the store reflects nothing of the log, and says what it is for.
    pub fn reset<I: Serialize>(&self, identity: &I) -> Result<(), StateFileError> {
        let write = self.db().begin_write()?;
        for table in self.tables() {
            table.delete(&write)?;
        }
        self.create_tables(&write)?;
        let mut meta = META.write(&write)?;
        meta.insert("format", &self.layout.format.to_be_bytes().to_vec())?;
        meta.insert("identity", &postcard::to_stdvec(identity)?)?;
        drop(meta);
        write.commit()?;
        Ok(())
    }

    /// Writes what `round` writes in one transaction that skips the fsync (the background
    /// thread makes it durable later). `false`, with nothing written, while that thread is
    /// syncing, if `wait` is false: the caller keeps what it would have written for its next
    /// write, instead of stalling for the fsync.
    pub fn write(
        &self,
        wait: bool,
        round: impl FnOnce(&Write<'_>) -> Result<(), StateFileError>,
    ) -> Result<bool, StateFileError> {
        let Some(write) = self.begin(wait)? else {
            return Ok(false);
        };
        round(&write)?;
        write.transaction.commit()?;
        self.inner.behind.store(true, Ordering::SeqCst);
        Ok(true)
    }

    fn begin(&self, wait: bool) -> Result<Option<Write<'_>>, StateFileError> {
        let writing = if wait {
            self.inner.writing()
        } else {
            match self.inner.writing.try_lock() {
                Ok(writing) => writing,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(None),
            }
        };
        let mut transaction = self.db().begin_write()?;
        // Refused only after a persistent savepoint, which no store makes.
        transaction.set_durability(Durability::None)?;
        Ok(Some(Write {
            transaction,
            _writing: writing,
        }))
    }

    /// Makes every write so far durable, now (e.g. at shutdown).
    pub fn sync(&self) -> Result<(), StateFileError> {
        let _writing = self.inner.writing();
        self.inner.sync()
    }
}

/// Syncs the file every `period` while it is open.
fn sync_every(period: Duration, file: Weak<Inner>) {
    loop {
        std::thread::sleep(period);
        let Some(inner) = file.upgrade() else {
            return;
        };
        let _writing = inner.writing();
        if let Err(error) = inner.sync() {
            tracing::warn!(%error, "syncing the state store failed; trying again later");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Table<&str, ()> = Table::new("names");
    const LAYOUT: Layout = Layout {
        format: 1,
        tables: &[&NAMES],
    };

    #[test]
    fn format_and_identity_tell_a_new_a_matching_and_a_foreign_store() {
        let (a, b) = ("cluster-a".to_string(), "cluster-b".to_string());
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        assert_eq!(file.mismatch(&a).unwrap().as_deref(), Some("it is new"));
        assert_eq!(file.identity::<String>().unwrap(), None);
        file.reset(&a).unwrap();
        assert_eq!(file.mismatch(&a).unwrap(), None);
        assert_eq!(file.identity::<String>().unwrap(), Some(a.clone()));
        assert!(file.mismatch(&b).unwrap().is_some());
        let write = file.db().begin_write().unwrap();
        META.write(&write)
            .unwrap()
            .insert("format", &2u32.to_be_bytes().to_vec())
            .unwrap();
        write.commit().unwrap();
        assert_eq!(
            file.mismatch(&a).unwrap().as_deref(),
            Some("format 2, expected 1")
        );
    }

    #[test]
    fn a_position_is_usable_only_inside_what_the_log_holds() {
        let end = PartitionEnd {
            topic: "bank_events".into(),
            partition: 3,
            first: 10,
            end: 20,
        };
        for usable in [10, 15, 20] {
            assert_eq!(outside_the_log("bank_events", 3, usable, Some(&end)), None);
        }
        for stale in [9, 21] {
            assert!(outside_the_log("bank_events", 3, stale, Some(&end)).is_some());
        }
        assert!(outside_the_log("bank_events", 3, 0, None).is_some());
    }

    #[test]
    fn positions_are_written_with_the_rows_and_a_reset_forgets_both() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        assert!(file.positions().unwrap().is_empty());
        let written = file
            .write(true, |write| {
                NAMES.write(write)?.insert("alice", &())?;
                write.set_positions([("user_events", 0, 7), ("bank_events", 2, 9)])
            })
            .unwrap();
        assert!(written);
        let positions = file.positions().unwrap();
        assert_eq!(positions.get(&("bank_events".to_string(), 2)), Some(&9));
        assert_eq!(positions.len(), 2);
        let stale = |positions: &Positions| {
            positions.iter().find_map(|((topic, partition), next)| {
                outside_the_log(topic, *partition, *next, None)
            })
        };
        file.reset(&"cluster-a").unwrap();
        assert_eq!(file.check(&"cluster-a".to_string(), stale).unwrap(), None);
        assert!(file.positions().unwrap().is_empty());
        assert!(NAMES
            .read(&file.read().unwrap())
            .unwrap()
            .is_empty()
            .unwrap());
    }

    #[test]
    fn a_failed_round_writes_nothing() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        let failed = file.write(true, |write| {
            write.set_positions([("user_events", 0, 7)])?;
            NAMES.write(write)?.insert("alice", &())?;
            Err(postcard::Error::DeserializeUnexpectedEnd.into())
        });
        assert!(failed.is_err());
        assert!(file.positions().unwrap().is_empty());
        assert!(NAMES
            .read(&file.read().unwrap())
            .unwrap()
            .is_empty()
            .unwrap());
    }

    #[test]
    fn a_write_that_would_wait_for_the_sync_is_put_off_unless_it_waits() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::open(&dir.path().join("file.redb"), 1 << 20, &LAYOUT).unwrap();
        assert!(file.write(false, |_| Ok(())).unwrap());
        assert!(file.inner.behind.load(Ordering::SeqCst));
        {
            let _syncing = file.inner.writing();
            let mut ran = false;
            let written = file
                .write(false, |_| {
                    ran = true;
                    Ok(())
                })
                .unwrap();
            assert!(!written && !ran);
        }
        file.sync().unwrap();
        assert!(!file.inner.behind.load(Ordering::SeqCst));
        assert!(file.write(true, |_| Ok(())).unwrap());
    }
}
