//! What the services' local state stores have in common: a [redb] file with a bounded page
//! cache, its format and identity, and writes that fsync at most every [`DURABLE_EVERY`].
//!
//! A store is a cache of what the log says, never a source of truth: each service writes it
//! only with the offsets its contents reflect, and checks it against the log before use (see
//! `command-handler/src/store.rs` and `projector/src/store.rs`). So a write may skip the fsync:
//! after a crash redb falls back to the last durable write, an older but consistent state, and
//! the service replays what came after it.

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redb::backends::InMemoryBackend;
use redb::{Database, Durability, ReadableDatabase, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// At most this long between durable (fsynced) writes.
pub const DURABLE_EVERY: Duration = Duration::from_secs(2);

/// Format and identity of the store.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

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

#[derive(Debug)]
struct Durable {
    at: Instant,
    /// A write since then skipped the fsync.
    behind: bool,
}

/// One redb database, in a file or in memory.
#[derive(Debug)]
pub struct StateFile {
    db: Database,
    path: Option<PathBuf>,
    durable: Mutex<Durable>,
}

/// A write transaction of a [`StateFile`]; [`StateFile::commit`] ends it.
pub struct Write {
    transaction: WriteTransaction,
    durable: bool,
}

impl Deref for Write {
    type Target = WriteTransaction;

    fn deref(&self) -> &WriteTransaction {
        &self.transaction
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut WriteTransaction {
        &mut self.transaction
    }
}

impl StateFile {
    /// Opens the file at `path` (and creates it and its directory if missing), with a page
    /// cache of `cache_bytes`: redb's 1 GiB default would make the store the largest user of
    /// memory.
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
        Ok(Self::over(db, Some(path.to_path_buf())))
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
            db,
            path,
            durable: Mutex::new(Durable {
                at: Instant::now(),
                behind: false,
            }),
        }
    }

    pub fn db(&self) -> &Database {
        &self.db
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
        let read = self.db.begin_read().map_err(redb_error)?;
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

    /// Begins a write: durable when the last durable one is [`DURABLE_EVERY`] old or `durable`
    /// asks for it. `None` when there is nothing to do: no `changes`, and no skipped fsync due.
    pub fn begin(&self, changes: bool, durable: bool) -> Result<Option<Write>, StateFileError> {
        let state = self.durable.lock().unwrap_or_else(PoisonError::into_inner);
        let durable = durable || state.at.elapsed() >= DURABLE_EVERY;
        let fsync_due = durable && state.behind;
        if !(changes || fsync_due) {
            return Ok(None);
        }
        drop(state);
        let mut transaction = self.db.begin_write().map_err(redb_error)?;
        if durable {
            // Saves the allocator state with the commit: reopening after a crash then needs no
            // full pass over the file.
            transaction.set_quick_repair(true);
        } else {
            // Refused only after a persistent savepoint, which no store makes.
            transaction
                .set_durability(Durability::None)
                .map_err(|error| StateFileError::Durability(error.to_string()))?;
        }
        Ok(Some(Write {
            transaction,
            durable,
        }))
    }

    pub fn commit(&self, write: Write) -> Result<(), StateFileError> {
        write.transaction.commit().map_err(redb_error)?;
        let mut state = self.durable.lock().unwrap_or_else(PoisonError::into_inner);
        if write.durable {
            *state = Durable {
                at: Instant::now(),
                behind: false,
            };
        } else {
            state.behind = true;
        }
        Ok(())
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
        assert!(file.mismatch(1, &b).unwrap().is_some());
        assert!(file.mismatch(2, &a).unwrap().is_some());
    }

    #[test]
    fn a_write_happens_for_changes_or_for_a_due_fsync_only() {
        let file = StateFile::in_memory().unwrap();
        assert!(file.begin(false, false).unwrap().is_none());
        let write = file.begin(true, false).unwrap().unwrap();
        assert!(!write.durable, "the last durable write is not 2 s old");
        file.commit(write).unwrap();
        // Nothing changed, but a write skipped its fsync: asked for, one durable write is due.
        let write = file.begin(false, true).unwrap().unwrap();
        assert!(write.durable);
        file.commit(write).unwrap();
        assert!(file.begin(false, true).unwrap().is_none());
    }
}
