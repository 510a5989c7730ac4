//! How the command handler and the projector gather what one transaction carries: everything
//! the consumer has already fetched and, under load, whatever arrives within a few milliseconds
//! more. Idle, an input goes alone and at once; under load, a transaction's cost to the broker
//! hardly depends on its size, so filling it is nearly free, and the time the previous commit
//! took has gathered the next batch already.

use std::time::Duration;

use futures::FutureExt;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use tokio::time::Instant;

/// How long a batch under load waits for more.
pub const LINGER_UNDER_LOAD: Duration = Duration::from_millis(3);

/// The rest of one batch, after its first message.
#[derive(Debug)]
pub struct Batch {
    taken: usize,
    max: usize,
    drained: bool,
    linger_end: Option<Instant>,
}

impl Batch {
    /// A batch of at most `max` messages that already holds its first.
    pub fn after_first(max: usize) -> Self {
        Self {
            taken: 1,
            max,
            drained: false,
            linger_end: None,
        }
    }

    /// The next message of the batch: one already fetched, else, when the caller says the
    /// batch shows load, one that arrives before the linger ends. `None`: the batch is complete.
    pub async fn next<'c, C: ConsumerContext + 'static>(
        &mut self,
        consumer: &'c StreamConsumer<C>,
        under_load: bool,
    ) -> Option<KafkaResult<BorrowedMessage<'c>>> {
        if self.taken >= self.max {
            return None;
        }
        if !self.drained {
            match consumer.recv().now_or_never() {
                Some(message) => {
                    self.taken += 1;
                    return Some(message);
                }
                None => self.drained = true,
            }
        }
        if !under_load {
            return None;
        }
        let end = *self
            .linger_end
            .get_or_insert_with(|| Instant::now() + LINGER_UNDER_LOAD);
        let message = tokio::time::timeout_at(end, consumer.recv()).await.ok()?;
        self.taken += 1;
        Some(message)
    }
}
