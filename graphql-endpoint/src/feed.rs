//! Live records for subscriptions: ONE consumer per topic (`transaction_events`,
//! `alert_events`), started at its end, fanned out to every subscription through a broadcast
//! channel. A subscription costs a channel receiver and a filter, not a Kafka consumer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use topology::avro::TopicMessage;
use topology::codec::Codec;
use topology::{AlertEvent, KafkaSettings, TransactionEvent};

use crate::bus::listen::{consumer_at_end, spawn_dispatch, ListenError, Meta};
use crate::schema::alerts::Alert;
use crate::schema::types::Transaction;

/// How many records a slow subscriber may fall behind before its stream ends with RESYNC.
const BUFFER: usize = 4_096;

pub struct Feed<T> {
    sender: broadcast::Sender<Arc<T>>,
    listener: JoinHandle<()>,
    activity: Arc<Activity>,
}

/// How many records arrived in each of the last 60 seconds: bank-wide figures that name no
/// account. One slot per second of the minute, each stamped with its second.
#[derive(Debug)]
pub struct Activity {
    slots: [(AtomicU64, AtomicU64); 60],
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| (AtomicU64::new(0), AtomicU64::new(0))),
        }
    }
}

fn epoch_second() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl Activity {
    fn record(&self, second: u64) {
        let (stamp, count) = &self.slots[(second % 60) as usize];
        if stamp.swap(second, Ordering::AcqRel) != second {
            count.store(0, Ordering::Release);
        }
        count.fetch_add(1, Ordering::AcqRel);
    }

    fn last_minute(&self, now: u64) -> u64 {
        self.slots
            .iter()
            .filter(|(stamp, _)| now.saturating_sub(stamp.load(Ordering::Acquire)) < 60)
            .map(|(_, count)| count.load(Ordering::Acquire))
            .sum()
    }
}

/// Every derived transaction, as it is published.
pub type TransactionFeed = Feed<Transaction>;
/// Every alert that fires, as it is published.
pub type AlertFeed = Feed<Alert>;

impl<T: Send + Sync + 'static> Feed<T> {
    /// Follows topic `M` from its end; `item` turns each record into what subscribers get.
    pub async fn start<M: TopicMessage + Send + 'static>(
        settings: &KafkaSettings,
        codec: Arc<Codec>,
        item: fn(M, Meta) -> T,
    ) -> Result<Self, ListenError> {
        let (sender, _) = broadcast::channel(BUFFER);
        let consumer = consumer_at_end::<M>(settings).await?;
        let to_subscribers = sender.clone();
        let activity = Arc::new(Activity::default());
        let counted = Arc::clone(&activity);
        let listener = spawn_dispatch(consumer, codec, move |record: M, meta| {
            counted.record(epoch_second());
            // No subscribers is normal: nobody watches right now.
            let _ = to_subscribers.send(Arc::new(item(record, meta)));
        });
        Ok(Self {
            sender,
            listener,
            activity,
        })
    }

    /// How many records arrived in the last 60 seconds.
    pub fn seen_last_minute(&self) -> u64 {
        self.activity.last_minute(epoch_second())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<T>> {
        self.sender.subscribe()
    }

    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl TransactionFeed {
    pub async fn transactions(
        settings: &KafkaSettings,
        codec: Arc<Codec>,
    ) -> Result<Self, ListenError> {
        Self::start(settings, codec, |event: TransactionEvent, _| {
            let TransactionEvent::TransactionHappenedEvent(event) = event;
            Transaction::from_event(&event)
        })
        .await
    }
}

impl AlertFeed {
    pub async fn alerts(settings: &KafkaSettings, codec: Arc<Codec>) -> Result<Self, ListenError> {
        Self::start(settings, codec, |event: AlertEvent, meta| {
            Alert::from_event(&event, meta.timestamp_ms)
        })
        .await
    }
}

impl<T> Drop for Feed<T> {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_counts_the_last_sixty_seconds_only() {
        let activity = Activity::default();
        for second in [1_000, 1_000, 1_030, 1_059] {
            activity.record(second);
        }
        assert_eq!(activity.last_minute(1_059), 4);
        assert_eq!(activity.last_minute(1_060), 2, "second 1000 has passed");
        activity.record(1_060);
        assert_eq!(activity.last_minute(1_060), 3, "its slot is reused");
        assert_eq!(activity.last_minute(2_000), 0);
    }
}
