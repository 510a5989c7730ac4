//! What the services' local state stores have in common: a [redb] file with a bounded page
//! cache, its format and identity, and writes that fsync at most every [`DURABLE_EVERY`].
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
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak};
use std::time::{Duration, Instant};

use redb::backends::InMemoryBackend;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::replay::PartitionEnd;

/// At most this long between durable (fsynced) writes.
pub const DURABLE_EVERY: Duration = Duration::from_secs(2);

/// Format and identity of the store.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// (topic, partition) → the next offset to read: how much of the log the store reflects.
const POSITIONS: TableDefinition<(&str, i32), i64> = TableDefinition::new("positions");

/// (topic, partition) → the next offset to read.
pub type Positions = BTreeMap<(String, i32), i64>;

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
    Redb(#[from] Box<redb::Error>),
    #[error("state store durability: {0}")]
    Durability(String),
    #[error("state store record cannot be read: {0}")]
    Decode(#[from] postcard::Error),
}

/// Wraps any of redb's error types.
pub fn redb_error(error: impl Into<redb::Error>) -> StateFileError {
    StateFileError::Redb(Box::new(error.into()))
}

/// A value as stored.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StateFileError> {
    Ok(postcard::to_stdvec(value)?)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StateFileError> {
    Ok(postcard::from_bytes(bytes)?)
}

/// One redb database, in a file or in memory.
#[derive(Debug)]
pub struct StateFile {
    inner: Arc<Inner>,
    path: Option<PathBuf>,
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
        let mut transaction = self.db.begin_write().map_err(redb_error)?;
        // Saves the allocator state with the commit: reopening after a crash then needs no full
        // pass over the file.
        transaction.set_quick_repair(true);
        if let Err(error) = transaction.commit() {
            self.behind.store(true, Ordering::SeqCst);
            return Err(redb_error(error));
        }
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(elapsed_ms, "state store synced");
        Ok(())
    }
}

/// A write transaction of a [`StateFile`]; [`StateFile::commit`] ends it.
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

impl DerefMut for Write<'_> {
    fn deref_mut(&mut self) -> &mut WriteTransaction {
        &mut self.transaction
    }
}

impl StateFile {
    /// Opens the file at `path` (and creates it and its directory if missing), with a page
    /// cache of `cache_bytes`: redb's 1 GiB default would make the store the largest user of
    /// memory. A thread of its own makes the writes durable every [`DURABLE_EVERY`].
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self, StateFileError> {
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
        let file = Self::over(db, Some(path.to_path_buf()));
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
    pub fn in_memory() -> Result<Self, StateFileError> {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .map_err(redb_error)?;
        Ok(Self::over(db, None))
    }

    fn over(db: Database, path: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                writing: Mutex::new(()),
                behind: AtomicBool::new(false),
            }),
            path,
        }
    }

    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Why the stored format and identity are not `format` and `identity` (including "it is
    /// new" when none are stored), or `None` when they are.
    pub fn mismatch<I>(&self, format: u32, identity: &I) -> Result<Option<String>, StateFileError>
    where
        I: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let read = self.db().begin_read().map_err(redb_error)?;
        let meta = match read.open_table(META) {
            Ok(meta) => meta,
            Err(redb::TableError::TableDoesNotExist(_)) => {
                return Ok(Some("it is new".to_string()))
            }
            Err(error) => return Err(redb_error(error)),
        };
        let stored_format = meta
            .get("format")
            .map_err(redb_error)?
            .and_then(|bytes| <[u8; 4]>::try_from(bytes.value()).ok())
            .map(u32::from_be_bytes);
        let stored: Option<I> = match meta.get("identity").map_err(redb_error)? {
            Some(bytes) => decode(bytes.value()).ok(),
            None => None,
        };
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
        let read = self.db().begin_read().map_err(redb_error)?;
        let meta = match read.open_table(META) {
            Ok(meta) => meta,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(error) => return Err(redb_error(error)),
        };
        let identity = meta.get("identity").map_err(redb_error)?;
        Ok(identity.and_then(|bytes| decode(bytes.value()).ok()))
    }

    /// Every stored position.
    pub fn positions(&self) -> Result<Positions, StateFileError> {
        let read = self.db().begin_read().map_err(redb_error)?;
        let table = match read.open_table(POSITIONS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Positions::new()),
            Err(error) => return Err(redb_error(error)),
        };
        let mut positions = Positions::new();
        for entry in table.iter().map_err(redb_error)? {
            let (key, next) = entry.map_err(redb_error)?;
            let (topic, partition) = key.value();
            positions.insert((topic.to_string(), partition), next.value());
        }
        Ok(positions)
    }

    /// Records `positions` with `write`, in the transaction of the rows they go with.
    pub fn set_positions<'a>(
        write: &WriteTransaction,
        positions: impl IntoIterator<Item = (&'a str, i32, i64)>,
    ) -> Result<(), StateFileError> {
        let mut table = write.open_table(POSITIONS).map_err(redb_error)?;
        for (topic, partition, next) in positions {
            table.insert((topic, partition), next).map_err(redb_error)?;
        }
        Ok(())
    }

    /// Forgets every position with `write`: the store reflects nothing of the log.
    pub fn clear_positions(write: &WriteTransaction) -> Result<(), StateFileError> {
        write.delete_table(POSITIONS).map_err(redb_error)?;
        Ok(())
    }

    /// Records `format` and `identity` with `write`.
    pub fn set_meta<I: Serialize>(
        write: &WriteTransaction,
        format: u32,
        identity: &I,
    ) -> Result<(), StateFileError> {
        let mut meta = write.open_table(META).map_err(redb_error)?;
        meta.insert("format", format.to_be_bytes().as_slice())
            .map_err(redb_error)?;
        meta.insert("identity", encode(identity)?.as_slice())
            .map_err(redb_error)?;
        Ok(())
    }

    /// Begins a write that skips the fsync (the background thread makes it durable later).
    /// `None` while that thread is syncing, if `wait` is false: the caller keeps what it would
    /// have written for its next write, instead of stalling for the fsync.
    pub fn begin(&self, wait: bool) -> Result<Option<Write<'_>>, StateFileError> {
        let writing = if wait {
            self.inner.writing()
        } else {
            match self.inner.writing.try_lock() {
                Ok(writing) => writing,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(None),
            }
        };
        let mut transaction = self.db().begin_write().map_err(redb_error)?;
        // Refused only after a persistent savepoint, which no store makes.
        transaction
            .set_durability(Durability::None)
            .map_err(|error| StateFileError::Durability(error.to_string()))?;
        Ok(Some(Write {
            transaction,
            _writing: writing,
        }))
    }

    pub fn commit(&self, write: Write<'_>) -> Result<(), StateFileError> {
        write.transaction.commit().map_err(redb_error)?;
        self.inner.behind.store(true, Ordering::SeqCst);
        Ok(())
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

    #[test]
    fn format_and_identity_tell_a_new_a_matching_and_a_foreign_store() {
        let (a, b) = ("cluster-a".to_string(), "cluster-b".to_string());
        let file = StateFile::in_memory().unwrap();
        assert_eq!(file.mismatch(1, &a).unwrap().as_deref(), Some("it is new"));
        let write = file.db().begin_write().unwrap();
        StateFile::set_meta(&write, 1, &a).unwrap();
        write.commit().unwrap();
        assert_eq!(file.mismatch(1, &a).unwrap(), None);
        assert_eq!(file.identity::<String>().unwrap(), Some(a.clone()));
        assert!(file.mismatch(1, &b).unwrap().is_some());
        assert!(file.mismatch(2, &a).unwrap().is_some());
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
    fn positions_are_written_with_a_write_and_cleared_with_another() {
        let file = StateFile::in_memory().unwrap();
        assert!(file.positions().unwrap().is_empty());
        let write = file.begin(true).unwrap().unwrap();
        StateFile::set_positions(&write, [("user_events", 0, 7), ("bank_events", 2, 9)]).unwrap();
        file.commit(write).unwrap();
        let positions = file.positions().unwrap();
        assert_eq!(positions.get(&("bank_events".to_string(), 2)), Some(&9));
        assert_eq!(positions.len(), 2);
        let write = file.begin(true).unwrap().unwrap();
        StateFile::clear_positions(&write).unwrap();
        file.commit(write).unwrap();
        assert!(file.positions().unwrap().is_empty());
    }

    #[test]
    fn a_write_that_would_wait_for_the_sync_is_put_off_unless_it_waits() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::open(&dir.path().join("file.redb"), 1 << 20).unwrap();
        let write = file.begin(false).unwrap().unwrap();
        file.commit(write).unwrap();
        assert!(file.inner.behind.load(Ordering::SeqCst));
        {
            let _syncing = file.inner.writing();
            assert!(file.begin(false).unwrap().is_none());
        }
        file.sync().unwrap();
        assert!(!file.inner.behind.load(Ordering::SeqCst));
        assert!(file.begin(true).unwrap().is_some());
    }
}
