//! Typed tables: a store declares what each of its tables keeps, and only this module turns
//! that into bytes.
//!
//! Keys are redb's own key types. Values are redb's own types for the few plain ones the stores
//! keep (a count, a code, a name, a set's `()`) and postcard bytes ([`Postcard`]) for their
//! records. Either way the redb types of a table are the ones the stores declared by hand
//! before, so a file written then still opens: redb refuses a table whose types differ.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::RangeBounds;

use redb::{
    AccessGuard, Key, ReadOnlyTable, ReadTransaction, ReadableTableMetadata, StorageError,
    TableDefinition, Value, WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StateFileError;

/// How a table's values are kept.
pub trait Codec: 'static {
    /// What redb stores.
    type Stored: Value + 'static;
    /// What a read answers and a write takes.
    type Value;

    fn decode(stored: <Self::Stored as Value>::SelfType<'_>)
        -> Result<Self::Value, StateFileError>;

    /// Hands the stored form of `value` to `store`: the form may borrow a buffer that lives
    /// only as long as this call.
    fn encode<R>(
        value: &Self::Value,
        store: impl FnOnce(<Self::Stored as Value>::SelfType<'_>) -> R,
    ) -> Result<R, StateFileError>;
}

/// Values kept as redb keeps them.
macro_rules! plain {
    ($($plain:ty),*) => {$(
        impl Codec for $plain {
            type Stored = $plain;
            type Value = $plain;

            fn decode(
                stored: <Self::Stored as Value>::SelfType<'_>,
            ) -> Result<Self::Value, StateFileError> {
                Ok(stored)
            }

            fn encode<R>(
                value: &Self::Value,
                store: impl FnOnce(<Self::Stored as Value>::SelfType<'_>) -> R,
            ) -> Result<R, StateFileError> {
                Ok(store(*value))
            }
        }
    )*};
}

plain!((), bool, u8, u32, u64, i32, i64);

impl Codec for &'static str {
    type Stored = &'static str;
    type Value = String;

    fn decode(stored: <Self::Stored as Value>::SelfType<'_>) -> Result<String, StateFileError> {
        Ok(stored.to_owned())
    }

    fn encode<R>(
        value: &String,
        store: impl FnOnce(<Self::Stored as Value>::SelfType<'_>) -> R,
    ) -> Result<R, StateFileError> {
        Ok(store(value.as_str()))
    }
}

impl Codec for &'static [u8] {
    type Stored = &'static [u8];
    type Value = Vec<u8>;

    fn decode(stored: <Self::Stored as Value>::SelfType<'_>) -> Result<Vec<u8>, StateFileError> {
        Ok(stored.to_vec())
    }

    fn encode<R>(
        value: &Vec<u8>,
        store: impl FnOnce(<Self::Stored as Value>::SelfType<'_>) -> R,
    ) -> Result<R, StateFileError> {
        Ok(store(value.as_slice()))
    }
}

/// A `T` kept as postcard bytes: a record that changes shape with the code, which the store's
/// format number covers.
pub struct Postcard<T>(PhantomData<fn() -> T>);

impl<T: Serialize + DeserializeOwned + 'static> Codec for Postcard<T> {
    type Stored = &'static [u8];
    type Value = T;

    fn decode(stored: <Self::Stored as Value>::SelfType<'_>) -> Result<T, StateFileError> {
        Ok(postcard::from_bytes(stored)?)
    }

    fn encode<R>(
        value: &T,
        store: impl FnOnce(<Self::Stored as Value>::SelfType<'_>) -> R,
    ) -> Result<R, StateFileError> {
        let bytes = postcard::to_stdvec(value)?;
        Ok(store(bytes.as_slice()))
    }
}

/// A table named `name`, of keys `K` and values kept as `V` says.
pub struct Table<K: Key + 'static, V: Codec> {
    name: &'static str,
    types: PhantomData<fn() -> (K, V)>,
}

impl<K: Key + 'static, V: Codec> fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Table").field(&self.name).finish()
    }
}

impl<K: Key + 'static, V: Codec> Table<K, V> {
    pub const fn new(name: &'static str) -> Self {
        // redb panics on an empty name when the table is opened; a constant fails to compile.
        assert!(!name.is_empty());
        Self {
            name,
            types: PhantomData,
        }
    }

    fn definition(&self) -> TableDefinition<'static, K, V::Stored> {
        TableDefinition::new(self.name)
    }

    /// The table as `transaction` sees it; an error if it does not exist.
    pub fn read(&self, transaction: &ReadTransaction) -> Result<ReadTable<K, V>, StateFileError> {
        Ok(ReadTable {
            table: transaction.open_table(self.definition())?,
            codec: PhantomData,
        })
    }

    /// The table to change within `transaction`, created if missing.
    pub fn write<'t>(
        &self,
        transaction: &'t WriteTransaction,
    ) -> Result<WriteTable<'t, K, V>, StateFileError> {
        Ok(WriteTable {
            table: transaction.open_table(self.definition())?,
            codec: PhantomData,
        })
    }
}

/// A table of a [`super::Layout`], whatever it keeps: what the state file creates and empties.
pub trait AnyTable: fmt::Debug + Sync {
    fn create(&self, transaction: &WriteTransaction) -> Result<(), StateFileError>;

    fn delete(&self, transaction: &WriteTransaction) -> Result<(), StateFileError>;
}

impl<K: Key + 'static, V: Codec> AnyTable for Table<K, V> {
    fn create(&self, transaction: &WriteTransaction) -> Result<(), StateFileError> {
        transaction.open_table(self.definition())?;
        Ok(())
    }

    fn delete(&self, transaction: &WriteTransaction) -> Result<(), StateFileError> {
        transaction.delete_table(self.definition())?;
        Ok(())
    }
}

/// A [`Table`] in a read transaction; it keeps that transaction's snapshot while it lives.
pub struct ReadTable<K: Key + 'static, V: Codec> {
    table: ReadOnlyTable<K, V::Stored>,
    codec: PhantomData<fn() -> V>,
}

impl<K: Key + 'static, V: Codec> ReadTable<K, V> {
    pub fn get<'k>(
        &self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<V::Value>, StateFileError> {
        match self.table.get(key)? {
            Some(stored) => Ok(Some(V::decode(stored.value())?)),
            None => Ok(None),
        }
    }

    /// The entries of keys in `range`, in key order (either way).
    pub fn range<'k, KR>(
        &self,
        range: impl RangeBounds<KR>,
    ) -> Result<Entries<K, V>, StateFileError>
    where
        KR: Borrow<K::SelfType<'k>>,
    {
        Ok(Entries {
            range: self.table.range(range)?,
            codec: PhantomData,
        })
    }

    pub fn iter(&self) -> Result<Entries<K, V>, StateFileError> {
        self.range::<K::SelfType<'_>>(..)
    }

    /// How many entries the table holds.
    pub fn len(&self) -> Result<u64, StateFileError> {
        Ok(self.table.len()?)
    }

    pub fn is_empty(&self) -> Result<bool, StateFileError> {
        Ok(self.len()? == 0)
    }
}

/// Entries of a [`ReadTable`]: each key as redb holds it (`.value()` reads it in place) and its
/// value decoded.
pub struct Entries<K: Key + 'static, V: Codec> {
    range: redb::Range<'static, K, V::Stored>,
    codec: PhantomData<fn() -> V>,
}

type Entry<K, V> = (AccessGuard<'static, K>, <V as Codec>::Value);

fn entry<K: Key + 'static, V: Codec>(
    entry: Result<(AccessGuard<'static, K>, AccessGuard<'static, V::Stored>), StorageError>,
) -> Result<Entry<K, V>, StateFileError> {
    let (key, stored) = entry?;
    let value = V::decode(stored.value())?;
    Ok((key, value))
}

impl<K: Key + 'static, V: Codec> Iterator for Entries<K, V> {
    type Item = Result<Entry<K, V>, StateFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.range.next().map(entry::<K, V>)
    }
}

impl<K: Key + 'static, V: Codec> DoubleEndedIterator for Entries<K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.range.next_back().map(entry::<K, V>)
    }
}

/// A [`Table`] in a write transaction.
pub struct WriteTable<'t, K: Key + 'static, V: Codec> {
    table: redb::Table<'t, K, V::Stored>,
    codec: PhantomData<fn() -> V>,
}

impl<K: Key + 'static, V: Codec> WriteTable<'_, K, V> {
    /// Sets `key` to `value`, replacing what it held.
    pub fn insert<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: &V::Value,
    ) -> Result<(), StateFileError> {
        let table = &mut self.table;
        V::encode(value, |stored| table.insert(key, stored).map(drop))??;
        Ok(())
    }

    pub fn remove<'k>(&mut self, key: impl Borrow<K::SelfType<'k>>) -> Result<(), StateFileError> {
        self.table.remove(key)?;
        Ok(())
    }

    /// Sets `key` to `value`, or removes it when there is none.
    pub fn set<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: Option<&V::Value>,
    ) -> Result<(), StateFileError> {
        match value {
            Some(value) => self.insert(key, value),
            None => self.remove(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::super::{Layout, StateFile};
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Record {
        name: String,
        cents: i64,
        tags: Vec<u8>,
    }

    fn record(n: i64) -> Record {
        Record {
            name: format!("record {n}"),
            cents: n * 100,
            tags: vec![1, 2, 3],
        }
    }

    const RECORDS: Table<u128, Postcard<Record>> = Table::new("records");
    const BY_OWNER: Table<(&str, i32), ()> = Table::new("by_owner");
    const NAMES: Table<&str, &str> = Table::new("names");
    const CODES: Table<u128, u8> = Table::new("codes");
    const LAYOUT: Layout = Layout {
        format: 1,
        tables: &[&RECORDS, &BY_OWNER, &NAMES, &CODES],
    };

    #[test]
    fn a_record_reads_back_as_written_until_removed() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        file.write(true, |write| {
            let mut records = RECORDS.write(write)?;
            for n in 0..5 {
                records.insert(n as u128, &record(n))?;
            }
            records.set(1, None)?;
            records.set(2, Some(&record(20)))?;
            records.remove(3)?;
            // Removing what is not there is no error.
            records.remove(99)
        })
        .unwrap();
        let records = RECORDS.read(&file.read().unwrap()).unwrap();
        assert_eq!(records.get(0).unwrap(), Some(record(0)));
        assert_eq!(records.get(1).unwrap(), None);
        assert_eq!(records.get(2).unwrap(), Some(record(20)));
        assert_eq!(records.len().unwrap(), 3);
        let all: Vec<(u128, Record)> = records
            .iter()
            .unwrap()
            .map(|entry| entry.map(|(key, value)| (key.value(), value)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all, [(0, record(0)), (2, record(20)), (4, record(4))]);
    }

    #[test]
    fn a_range_walks_its_keys_in_order_either_way() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        file.write(true, |write| {
            let mut by_owner = BY_OWNER.write(write)?;
            for (owner, id) in [
                ("bob", 3),
                ("alice", 7),
                ("alice", -2),
                ("carol", 1),
                ("alice", 4),
            ] {
                by_owner.insert((owner, id), &())?;
            }
            Ok(())
        })
        .unwrap();
        let by_owner = BY_OWNER.read(&file.read().unwrap()).unwrap();
        let ids = |reversed: bool| -> Vec<i32> {
            let entries = by_owner
                .range(("alice", i32::MIN)..=("alice", i32::MAX))
                .unwrap();
            let keys: Vec<_> = if reversed {
                entries.rev().collect()
            } else {
                entries.collect()
            };
            keys.into_iter()
                .map(|entry| entry.unwrap().0.value().1)
                .collect()
        };
        assert_eq!(ids(false), [-2, 4, 7]);
        assert_eq!(ids(true), [7, 4, -2]);
    }

    #[test]
    fn plain_values_are_kept_as_redb_keeps_them() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        file.write(true, |write| {
            NAMES.write(write)?.insert("alice", &"hash-a".to_string())?;
            CODES.write(write)?.insert(7, &3)
        })
        .unwrap();
        let read = file.read().unwrap();
        assert_eq!(
            NAMES.read(&read).unwrap().get("alice").unwrap().as_deref(),
            Some("hash-a")
        );
        assert_eq!(CODES.read(&read).unwrap().get(7).unwrap(), Some(3));
        // The same bytes as a hand-declared table of redb's types: a file written before the
        // typed tables reads the same.
        let raw = read
            .open_table(TableDefinition::<&str, &str>::new("names"))
            .unwrap();
        assert_eq!(
            raw.get("alice").unwrap().map(|v| v.value().to_string()),
            Some("hash-a".to_string())
        );
    }

    #[test]
    fn a_record_written_by_hand_as_postcard_bytes_reads_the_same() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        let raw = TableDefinition::<u128, &[u8]>::new("records");
        let write = file.db().begin_write().unwrap();
        {
            let mut table = write.open_table(raw).unwrap();
            let bytes = postcard::to_stdvec(&record(1)).unwrap();
            table.insert(1, bytes.as_slice()).unwrap();
        }
        write.commit().unwrap();
        file.write(true, |write| RECORDS.write(write)?.insert(2, &record(2)))
            .unwrap();
        let read = file.read().unwrap();
        assert_eq!(
            RECORDS.read(&read).unwrap().get(1).unwrap(),
            Some(record(1))
        );
        let by_hand = read.open_table(raw).unwrap();
        let bytes = by_hand.get(2).unwrap().map(|v| v.value().to_vec());
        assert_eq!(bytes, Some(postcard::to_stdvec(&record(2)).unwrap()));
    }

    #[test]
    fn a_value_that_does_not_decode_is_an_error_not_a_panic() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        let write = file.db().begin_write().unwrap();
        {
            let mut table = write
                .open_table(TableDefinition::<u128, &[u8]>::new("records"))
                .unwrap();
            table.insert(1, [0xff_u8].as_slice()).unwrap();
        }
        write.commit().unwrap();
        let records = RECORDS.read(&file.read().unwrap()).unwrap();
        assert!(matches!(records.get(1), Err(StateFileError::Decode(_))));
        let first = records.iter().unwrap().next();
        assert!(matches!(first, Some(Err(StateFileError::Decode(_)))));
    }

    #[test]
    fn a_table_of_other_types_under_the_same_name_is_refused() {
        let file = StateFile::in_memory(&LAYOUT).unwrap();
        const WRONG: Table<u128, u8> = Table::new("records");
        let read = file.read().unwrap();
        assert!(matches!(WRONG.read(&read), Err(StateFileError::Redb(_))));
    }
}
