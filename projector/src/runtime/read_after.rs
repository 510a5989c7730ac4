//! Read your own writes on the projector's side: how far the read model has applied each event
//! partition ([`Progress`]), and which queries still wait for it ([`Unanswered`]).
//!
//! A query that names positions (`topology::consistency`) is answered once every one of them
//! is applied, or refused as not caught up after [`READ_AFTER_WAIT`]. It waits on a task of its
//! own, so the queries behind it are answered meanwhile; its offset is committed only once it
//! is answered, so a crash still answers every query at least once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::watch;
use topology::consistency::Positions;

/// How long a query waits for the positions it names. Below the endpoint's query timeout, so
/// the asker hears why rather than a timeout.
pub const READ_AFTER_WAIT: Duration = Duration::from_secs(5);
/// Queries waiting at once; one more is refused at once as not caught up.
pub const MAX_WAITING: usize = 10_000;

/// Per (topic, partition), the offset after the last event the read model applied.
#[derive(Debug)]
pub struct Progress(watch::Sender<BTreeMap<(String, i32), i64>>);

impl Default for Progress {
    fn default() -> Self {
        Self(watch::Sender::new(BTreeMap::new()))
    }
}

impl Progress {
    /// Records that the read model holds everything before each `next` offset; a position
    /// never goes back.
    pub fn advance<'a>(&self, applied: impl IntoIterator<Item = (&'a (String, i32), &'a i64)>) {
        let mut applied = applied.into_iter().peekable();
        if applied.peek().is_none() {
            return;
        }
        self.0.send_modify(|progress| {
            for (key, &next) in applied {
                let at = progress.entry(key.clone()).or_insert(next);
                *at = (*at).max(next);
            }
        });
    }

    pub fn reached(&self, positions: &Positions) -> bool {
        reached(&self.0.borrow(), positions)
    }

    /// Waits until `positions` are applied, at most `wait`; whether they were.
    pub async fn wait_for(&self, positions: &Positions, wait: Duration) -> bool {
        let mut progress = self.0.subscribe();
        let waited = tokio::time::timeout(wait, async {
            progress
                .wait_for(|progress| reached(progress, positions))
                .await
                .is_ok()
        });
        waited.await.unwrap_or(false)
    }
}

fn reached(progress: &BTreeMap<(String, i32), i64>, positions: &Positions) -> bool {
    positions.reached_by(|topic, partition| {
        progress
            .get(&(topic.to_string(), partition))
            .copied()
            .unwrap_or(0)
    })
}

/// The query offsets handed out but not answered yet, per partition of the query topics, and
/// what may be committed: never past a query still waiting.
#[derive(Debug, Default)]
pub struct Unanswered {
    partitions: BTreeMap<(String, i32), Partition>,
}

#[derive(Debug, Default)]
struct Partition {
    waiting: BTreeSet<i64>,
    /// The offset after the last query read from the partition.
    read_up_to: i64,
}

impl Unanswered {
    pub fn waiting(&self) -> usize {
        self.partitions.values().map(|p| p.waiting.len()).sum()
    }

    /// Query `offset` was answered as soon as it was read: the offset to commit, unless an
    /// earlier one still waits.
    pub fn answered_at_once(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        let entry = self.entry(topic, partition);
        entry.read_up_to = entry.read_up_to.max(offset + 1);
        entry.waiting.is_empty().then_some(entry.read_up_to)
    }

    /// Query `offset` waits for its positions.
    pub fn wait(&mut self, topic: &str, partition: i32, offset: i64) {
        let entry = self.entry(topic, partition);
        entry.read_up_to = entry.read_up_to.max(offset + 1);
        entry.waiting.insert(offset);
    }

    /// Query `offset` got its answer after waiting: the offset to commit now, if it moved.
    pub fn answered_later(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        let entry = self.partitions.get_mut(&(topic.to_string(), partition))?;
        let was_oldest = entry.waiting.first() == Some(&offset);
        if !entry.waiting.remove(&offset) || !was_oldest {
            return None;
        }
        Some(entry.waiting.first().copied().unwrap_or(entry.read_up_to))
    }

    fn entry(&mut self, topic: &str, partition: i32) -> &mut Partition {
        self.partitions
            .entry((topic.to_string(), partition))
            .or_default()
    }
}

#[cfg(test)]
mod tests {
    use topology::topic_names::BANK_EVENTS;

    use super::*;

    const QUERIES: &str = "bank_queries";

    #[test]
    fn nothing_is_committed_past_a_query_that_still_waits() {
        let mut unanswered = Unanswered::default();
        assert_eq!(unanswered.answered_at_once(QUERIES, 0, 10), Some(11));
        unanswered.wait(QUERIES, 0, 11);
        unanswered.wait(QUERIES, 0, 12);
        assert_eq!(unanswered.answered_at_once(QUERIES, 0, 13), None);
        // Another partition goes on.
        assert_eq!(unanswered.answered_at_once(QUERIES, 1, 5), Some(6));
        assert_eq!(unanswered.waiting(), 2);
        // The younger one answered first: 11 still waits.
        assert_eq!(unanswered.answered_later(QUERIES, 0, 12), None);
        // The oldest answered: everything read is answered.
        assert_eq!(unanswered.answered_later(QUERIES, 0, 11), Some(14));
        assert_eq!(unanswered.waiting(), 0);
        assert_eq!(unanswered.answered_at_once(QUERIES, 0, 14), Some(15));
    }

    #[test]
    fn the_commit_stops_at_the_oldest_query_still_waiting() {
        let mut unanswered = Unanswered::default();
        unanswered.wait(QUERIES, 0, 1);
        unanswered.wait(QUERIES, 0, 2);
        unanswered.wait(QUERIES, 0, 3);
        assert_eq!(unanswered.answered_later(QUERIES, 0, 1), Some(2));
        assert_eq!(unanswered.answered_later(QUERIES, 0, 3), None);
        assert_eq!(unanswered.answered_later(QUERIES, 0, 2), Some(4));
        // An answer of a member that is gone (unknown offset) commits nothing.
        assert_eq!(unanswered.answered_later(QUERIES, 0, 2), None);
        assert_eq!(unanswered.answered_later(QUERIES, 7, 2), None);
    }

    #[tokio::test]
    async fn a_query_waits_until_its_positions_are_applied_and_no_longer() {
        let progress = std::sync::Arc::new(Progress::default());
        let positions = Positions::parse("bank_events:3:10").unwrap();
        assert!(!progress.reached(&positions));
        assert!(
            !progress
                .wait_for(&positions, Duration::from_millis(20))
                .await
        );
        let waiting = {
            let progress = std::sync::Arc::clone(&progress);
            let positions = positions.clone();
            tokio::spawn(async move { progress.wait_for(&positions, Duration::from_secs(5)).await })
        };
        progress.advance(&BTreeMap::from([((BANK_EVENTS.to_string(), 3), 9)]));
        progress.advance(&BTreeMap::from([((BANK_EVENTS.to_string(), 3), 10)]));
        assert!(waiting.await.unwrap());
        // Positions never go back.
        progress.advance(&BTreeMap::from([((BANK_EVENTS.to_string(), 3), 4)]));
        assert!(progress.reached(&positions));
    }
}
