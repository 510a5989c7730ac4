//! Live records for subscriptions: ONE consumer per topic (`transaction_events`,
//! `alert_events`), started at its end, fanned out to every subscription through a broadcast
//! channel. A subscription costs a channel receiver and a filter, not a Kafka consumer.

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use topology::avro::TopicMessage;
use topology::codec::Codec;
use topology::{AlertEvent, KafkaSettings, TransactionEvent};

use crate::bus::listen::{consumer_at_end, spawn_dispatch, ListenError, Meta};
use crate::schema::alerts::Alert;
use crate::schema::types::Transaction;

/// How many records a slow subscriber may fall behind before it skips some.
const BUFFER: usize = 4_096;

pub struct Feed<T> {
    sender: broadcast::Sender<Arc<T>>,
    listener: JoinHandle<()>,
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
        let listener = spawn_dispatch(consumer, codec, move |record: M, meta| {
            // No subscribers is normal: nobody watches right now.
            let _ = to_subscribers.send(Arc::new(item(record, meta)));
        });
        Ok(Self { sender, listener })
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
            let AlertEvent::AlertTriggeredEvent(event) = event;
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
