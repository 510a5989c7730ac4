//! Pending requests waiting for their answer from a feedback topic.
//!
//! A request registers under its key *before* its command or query is produced, so an answer
//! can never arrive unseen. Several waiters may share a key (a client retrying a transfer with
//! the same uuid while the first request still waits); an answer goes to all of them. A waiter
//! that is dropped — answered, timed out, or its HTTP request cancelled — removes itself, so
//! the map only holds requests still being waited for.

use std::hash::Hash;
use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use tokio::sync::oneshot;
use tokio::time::Instant;

pub struct Waiters<K: Eq + Hash + Clone, V> {
    pending: Arc<DashMap<K, Vec<oneshot::Sender<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Waiters<K, V> {
    pub fn new() -> Self {
        Self {
            pending: Arc::new(DashMap::new()),
        }
    }

    /// Waits for the next answer under `key`.
    pub fn register(&self, key: K) -> Waiter<K, V> {
        let (sender, receiver) = oneshot::channel();
        self.pending.entry(key.clone()).or_default().push(sender);
        Waiter {
            key,
            receiver,
            pending: Arc::clone(&self.pending),
        }
    }

    /// Hands `value` to every waiter of `key`; false when nobody waited (an answer for another
    /// instance, or for a request that gave up).
    pub fn resolve(&self, key: &K, value: V) -> bool {
        let Some((_, senders)) = self.pending.remove(key) else {
            return false;
        };
        let mut delivered = false;
        for sender in senders {
            delivered |= sender.send(value.clone()).is_ok();
        }
        delivered
    }

    /// How many keys are waited for.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Default for Waiters<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// One registered request; removes itself from the map when dropped.
pub struct Waiter<K: Eq + Hash + Clone, V> {
    key: K,
    receiver: oneshot::Receiver<V>,
    pending: Arc<DashMap<K, Vec<oneshot::Sender<V>>>>,
}

impl<K: Eq + Hash + Clone, V> Waiter<K, V> {
    /// The answer, or `None` when `deadline` passes first.
    pub async fn until(&mut self, deadline: Instant) -> Option<V> {
        tokio::time::timeout_at(deadline, &mut self.receiver)
            .await
            .ok()?
            .ok()
    }
}

impl<K: Eq + Hash + Clone, V> Drop for Waiter<K, V> {
    fn drop(&mut self) {
        self.receiver.close();
        if let Entry::Occupied(mut entry) = self.pending.entry(self.key.clone()) {
            entry.get_mut().retain(|sender| !sender.is_closed());
            if entry.get().is_empty() {
                entry.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(50)
    }

    #[tokio::test]
    async fn an_answer_reaches_every_waiter_of_its_key() {
        let waiters = Waiters::<u32, &str>::new();
        let mut first = waiters.register(1);
        let mut second = waiters.register(1);
        let mut other = waiters.register(2);
        assert!(waiters.resolve(&1, "done"));
        assert_eq!(first.until(soon()).await, Some("done"));
        assert_eq!(second.until(soon()).await, Some("done"));
        assert_eq!(other.until(soon()).await, None);
    }

    #[tokio::test]
    async fn a_dropped_waiter_leaves_nothing_behind() {
        let waiters = Waiters::<u32, &str>::new();
        let mut timed_out = waiters.register(7);
        assert_eq!(timed_out.until(soon()).await, None);
        let still_waiting = waiters.register(7);
        drop(timed_out);
        assert_eq!(waiters.len(), 1, "the other waiter of the key stays");
        drop(still_waiting);
        assert!(waiters.is_empty());
        assert!(!waiters.resolve(&7, "late"), "nobody waits any more");
    }
}
