//! The arithmetic of transaction ids; why the rule makes them deterministic is told in
//! [`crate::projection`].
//!
//! The `k`-th money event (`k` = 0, 1, …) of `bank_events` partition `p`, out of `P`
//! partitions, gets id `k · P + p + 1`. Ids of one partition are `p + 1`, `p + 1 + P`, … (the
//! ids congruent to `p + 1` modulo `P`), so two partitions never share an id, and with `P` = 1
//! the ids are 1, 2, 3, … as they were with a single partition.

use std::collections::BTreeMap;

use crate::projection::ProjectionError;

/// The id of the `sequence`-th (0-based) money event of `partition` out of `partitions`, or
/// `None` when it does not fit an Avro `int` (or the arguments are out of range).
pub fn transaction_id(partitions: i32, partition: i32, sequence: i64) -> Option<i32> {
    if partitions < 1 || !(0..partitions).contains(&partition) || sequence < 0 {
        return None;
    }
    let id = sequence
        .checked_mul(i64::from(partitions))?
        .checked_add(i64::from(partition) + 1)?;
    i32::try_from(id).ok()
}

/// How many money events of each partition have an id: the next id of every partition.
///
/// The counters grow up to the highest partition read; Kafka numbers partitions 0 to `P` − 1,
/// so that is at most `P` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionIds {
    partitions: i32,
    /// Money events numbered so far, by partition.
    issued: Vec<i64>,
}

impl TransactionIds {
    /// Ids for a topic of `partitions` partitions (at least 1; a lower value counts as 1).
    pub fn new(partitions: i32) -> Self {
        Self {
            partitions: partitions.max(1),
            issued: Vec::new(),
        }
    }

    /// Ids for `partitions` partitions, `issued` (partition → count) of them already handed out.
    pub fn resume(partitions: i32, issued: &BTreeMap<i32, i64>) -> Self {
        let mut ids = Self::new(partitions);
        for (&partition, &count) in issued {
            if let Ok(index) = ids.index(partition) {
                if ids.issued.len() <= index {
                    ids.issued.resize(index + 1, 0);
                }
                ids.issued[index] = count.max(0);
            }
        }
        ids
    }

    /// How many ids each partition handed out, by partition.
    pub fn issued_per_partition(&self) -> Vec<(i32, i64)> {
        (0..).zip(self.issued.iter().copied()).collect()
    }

    /// The `P` of the rule.
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// The index of `partition` in per-partition state, or the error that it is not one of the
    /// partitions the ids are numbered for (a number from another partition count would
    /// collide with the ids of a real partition).
    pub fn index(&self, partition: i32) -> Result<usize, ProjectionError> {
        if !(0..self.partitions).contains(&partition) {
            return Err(ProjectionError::PartitionOutOfRange {
                partition,
                partitions: self.partitions,
            });
        }
        usize::try_from(partition).map_err(|_| ProjectionError::PartitionOutOfRange {
            partition,
            partitions: self.partitions,
        })
    }

    /// Gives the next money event of `partition` its id. Nothing is counted when it fails, so
    /// a refused event leaves no gap and no state behind.
    pub fn take(&mut self, partition: i32) -> Result<i32, ProjectionError> {
        let index = self.index(partition)?;
        let sequence = self.issued.get(index).copied().unwrap_or(0);
        let id = transaction_id(self.partitions, partition, sequence).ok_or(
            ProjectionError::TransactionIdsExhausted {
                partition,
                sequence,
            },
        )?;
        if self.issued.len() <= index {
            self.issued.resize(index + 1, 0);
        }
        self.issued[index] = sequence + 1;
        Ok(id)
    }

    /// Money events numbered so far, over all partitions.
    pub fn issued(&self) -> i64 {
        self.issued.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn one_partition_numbers_one_two_three() {
        let mut ids = TransactionIds::new(1);
        let taken: Vec<i32> = (0..5).map(|_| ids.take(0).unwrap()).collect();
        assert_eq!(taken, [1, 2, 3, 4, 5]);
        assert_eq!(ids.issued(), 5);
    }

    #[test]
    fn the_kth_money_event_of_partition_p_gets_k_times_p_plus_p_plus_one() {
        assert_eq!(transaction_id(12, 0, 0), Some(1));
        assert_eq!(transaction_id(12, 11, 0), Some(12));
        assert_eq!(transaction_id(12, 0, 1), Some(13));
        assert_eq!(transaction_id(12, 5, 3), Some(3 * 12 + 5 + 1));
        let mut ids = TransactionIds::new(12);
        assert_eq!(ids.take(5), Ok(6));
        assert_eq!(ids.take(5), Ok(18));
        assert_eq!(ids.take(0), Ok(1));
        assert_eq!(ids.take(5), Ok(30));
        assert_eq!(ids.issued(), 4);
    }

    #[test]
    fn ids_are_unique_positive_and_tell_their_partition() {
        for partitions in [1, 2, 3, 12, 24] {
            let mut seen = HashSet::new();
            for partition in 0..partitions {
                for sequence in 0..200 {
                    let id = transaction_id(partitions, partition, sequence).unwrap();
                    assert!(id > 0);
                    assert_eq!((id - 1) % partitions, partition);
                    assert!(seen.insert(id), "{id} twice with {partitions} partitions");
                }
            }
            // Together they are exactly 1..=n: no id is skipped either.
            let n = i32::try_from(seen.len()).unwrap();
            assert!((1..=n).all(|id| seen.contains(&id)));
        }
    }

    #[test]
    fn an_id_that_does_not_fit_an_int_is_refused_and_not_counted() {
        assert_eq!(
            transaction_id(1, 0, i64::from(i32::MAX) - 1),
            Some(i32::MAX)
        );
        assert_eq!(transaction_id(1, 0, i64::from(i32::MAX)), None);
        assert_eq!(transaction_id(12, 11, i64::MAX), None);

        assert_eq!(transaction_id(i32::MAX, i32::MAX - 1, 0), Some(i32::MAX));

        // With P = i32::MAX, partition 1 has exactly one id: 2; the next is past the int.
        let mut ids = TransactionIds::new(i32::MAX);
        assert_eq!(ids.take(1), Ok(2));
        let exhausted = Err(ProjectionError::TransactionIdsExhausted {
            partition: 1,
            sequence: 1,
        });
        assert_eq!(ids.take(1), exhausted);
        assert_eq!(ids.take(1), exhausted);
        assert_eq!(ids.issued(), 1);
    }

    #[test]
    fn a_partition_outside_the_count_is_refused() {
        let mut ids = TransactionIds::new(12);
        for partition in [-1, 12, 99] {
            assert_eq!(
                ids.take(partition),
                Err(ProjectionError::PartitionOutOfRange {
                    partition,
                    partitions: 12
                })
            );
        }
        assert_eq!(ids.issued(), 0);
        assert_eq!(TransactionIds::new(0).partitions(), 1);
        assert_eq!(transaction_id(0, 0, 0), None);
        assert_eq!(transaction_id(12, 0, -1), None);
    }
}
