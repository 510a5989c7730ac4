//! Live transactions: ONE consumer of `transaction_events`, started at its end, fanned out to
//! every subscription through a broadcast channel. A subscription costs a channel receiver and
//! a filter, not a Kafka consumer.

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use topology::codec::Codec;
use topology::{KafkaSettings, TransactionEvent};

use crate::bus::listen::{consumer_at_end, spawn_dispatch, ListenError};
use crate::schema::types::Transaction;

/// How many transactions a slow subscriber may fall behind before it skips some.
const BUFFER: usize = 4_096;

pub struct TransactionFeed {
    sender: broadcast::Sender<Arc<Transaction>>,
    listener: JoinHandle<()>,
}

impl TransactionFeed {
    pub async fn start(settings: &KafkaSettings, codec: Arc<Codec>) -> Result<Self, ListenError> {
        let (sender, _) = broadcast::channel(BUFFER);
        let consumer = consumer_at_end::<TransactionEvent>(settings).await?;
        let to_subscribers = sender.clone();
        let listener = spawn_dispatch(consumer, codec, move |event, _| {
            let TransactionEvent::TransactionHappenedEvent(event) = event;
            // No subscribers is normal: nobody watches right now.
            let _ = to_subscribers.send(Arc::new(Transaction::from_event(&event)));
        });
        Ok(Self { sender, listener })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Transaction>> {
        self.sender.subscribe()
    }

    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl Drop for TransactionFeed {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
