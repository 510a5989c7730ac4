//! What the command bus and the query bus share: requests produced to Kafka, answers resolved
//! by the feedback listeners into waiters, one timeout for both.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::FutureProducer;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use topology::codec::Codec;
use topology::consistency::Positions;
use topology::TopicMessage;

use super::waiters::{Waiter, Waiters};
use super::{produce, BusError};

/// Requests out, answers of type `A` in, matched by key `K`.
pub struct Exchange<K: Eq + Hash + Clone, A> {
    producer: FutureProducer,
    codec: Arc<Codec>,
    waiters: Arc<Waiters<K, A>>,
    timeout: Duration,
    /// Resolve `waiters`; aborted when the exchange is dropped.
    listeners: Vec<JoinHandle<()>>,
}

impl<K: Eq + Hash + Clone, A: Clone> Exchange<K, A> {
    pub fn new(
        producer: FutureProducer,
        codec: Arc<Codec>,
        waiters: Arc<Waiters<K, A>>,
        timeout: Duration,
        listeners: Vec<JoinHandle<()>>,
    ) -> Self {
        Self {
            producer,
            codec,
            waiters,
            timeout,
            listeners,
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Registers for the answer under `key`; register before sending.
    pub fn expect(&self, key: K) -> Waiter<K, A> {
        self.waiters.register(key)
    }

    /// Produces `message` under the record key `record_key`, without waiting for an answer;
    /// `read_after`: see [`produce`].
    pub async fn send<M: TopicMessage>(
        &self,
        record_key: &str,
        message: &M,
        read_after: Option<&Positions>,
    ) -> Result<(), BusError> {
        produce(
            &self.producer,
            &self.codec,
            record_key,
            message,
            read_after,
            self.timeout,
        )
        .await
    }

    /// Sends `message` and waits, up to the timeout, for the answer under `key`.
    pub async fn request<M: TopicMessage>(
        &self,
        key: K,
        record_key: &str,
        message: &M,
        read_after: Option<&Positions>,
    ) -> Result<A, BusError> {
        let deadline = Instant::now() + self.timeout;
        let mut waiter = self.expect(key);
        self.send(record_key, message, read_after).await?;
        waiter
            .until(deadline)
            .await
            .ok_or(BusError::Timeout(self.timeout))
    }

    /// Requests still waiting for their answer (for tests and diagnostics).
    pub fn pending(&self) -> usize {
        self.waiters.len()
    }
}

impl<K: Eq + Hash + Clone, A> Drop for Exchange<K, A> {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}
