//! The transaction pump: every transaction this instance writes goes through here, and so does
//! the decision what a failed one means.
//!
//! A transaction that could not be written leaves in-memory state the log does not have, so
//! the caller takes every partition over again (see [`super::tasks::Tasks::take_over_all`]).
//! A fatally failed producer (e.g. after a pause past the transaction timeout, when the
//! coordinator aborted the transaction under it) is replaced first; being fenced by a newer
//! process of this instance is not recoverable: that process is the instance now.

use std::sync::Arc;

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::TopicPartitionList;
use topology::codec::Codec;
use topology::consistency::Positions;
use topology::transactions::{TransactionError, Written};
use topology::KafkaSettings;

use super::transactions::{WriteError, Writer};
use super::RuntimeError;
use crate::handling::Output;

/// New producers in a row, without a batch committed in between, before the process gives up.
const MAX_RENEWALS: u32 = 3;

pub struct Pump<'a> {
    writer: Writer,
    kafka: &'a KafkaSettings,
    transactional_id: &'a str,
    codec: Arc<Codec>,
    /// The producer failed fatally: only a new one can go on (see [`Pump::renew_if_failed`]).
    producer_failed: bool,
    /// New producers since the last committed transaction.
    renewals: u32,
}

impl<'a> Pump<'a> {
    pub fn new(
        writer: Writer,
        kafka: &'a KafkaSettings,
        transactional_id: &'a str,
        codec: Arc<Codec>,
    ) -> Self {
        Self {
            writer,
            kafka,
            transactional_id,
            codec,
            producer_failed: false,
            renewals: 0,
        }
    }

    /// Writes `outputs` (each with the trace of the input it answers, see [`Writer::encode`])
    /// and commits `offsets` for the group of `group`, in one transaction; the answers among
    /// them name the events written and `depends_on`. `None`: not written, but the instance
    /// can go on by taking its partitions over again.
    pub async fn write(
        &mut self,
        outputs: &[Output],
        traces: &[Option<String>],
        depends_on: &Positions,
        offsets: &TopicPartitionList,
        group: &Arc<ConsumerGroupMetadata>,
    ) -> Result<Option<Written>, RuntimeError> {
        let records = self
            .writer
            .encode(outputs, traces)
            .await
            .map_err(WriteError::from)?;
        match self
            .writer
            .write(&records, depends_on, offsets, group)
            .await
        {
            Ok(written) => {
                self.renewals = 0;
                Ok(Some(written))
            }
            Err(error) if self.recoverable(&error) => {
                tracing::warn!(%error, records = records.len(), "transaction not written; taking the partitions over again");
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Whether the instance goes on after `error` by taking its partitions over again.
    fn recoverable(&mut self, error: &WriteError) -> bool {
        match error {
            WriteError::Transaction(
                TransactionError::LostOwnership(_) | TransactionError::GaveUp { .. },
            ) => true,
            WriteError::Transaction(
                TransactionError::Fatal(_) | TransactionError::Stuck { .. },
            ) => {
                self.producer_failed = true;
                true
            }
            _ => false,
        }
    }

    /// Replaces a fatally failed producer; `init_transactions` under the same transactional id
    /// aborts whatever the old one left open. Gives up when producers keep failing before any
    /// transaction commits.
    pub fn renew_if_failed(&mut self) -> Result<(), RuntimeError> {
        if !self.producer_failed {
            return Ok(());
        }
        self.renewals += 1;
        if self.renewals > MAX_RENEWALS {
            return Err(RuntimeError::ProducerKeepsFailing {
                renewals: MAX_RENEWALS,
            });
        }
        tracing::warn!(
            renewal = self.renewals,
            "the producer failed fatally; creating a new one"
        );
        let new = Writer::start(self.kafka, self.transactional_id, self.codec.clone())?;
        // Dropping a producer may wait for librdkafka to close it: not on the executor.
        topology::kafka::close_in_background(std::mem::replace(&mut self.writer, new));
        self.producer_failed = false;
        Ok(())
    }
}
