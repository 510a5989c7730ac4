//! Writing one batch's records and consumed offsets in one Kafka transaction
//! ([`topology::transactions`] does the writing; here the batch's outputs become records).
//!
//! Either all of a batch is visible to read_committed readers — events, feedback, saga
//! commands and the group's committed offsets — or none is. A restart or a new owner of a
//! partition therefore resumes exactly after the last committed batch, with a state rebuilt
//! from exactly the events of the committed batches. The offsets carry the group metadata read
//! with the batch, so an instance that lost its partitions can never commit for them; and since
//! every record is acknowledged before the offsets are sent, a new owner that replays up to the
//! high watermark read after the rebalance sees all of what the old one committed.

use std::sync::Arc;

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::TopicPartitionList;
use topology::codec::{Codec, CodecError};
use topology::consistency::Positions;
use topology::transactions::{Record, TransactionError, TransactionalWriter, Written};
use topology::{KafkaSettings, TopicMessage};

use crate::handling::Output;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    #[error("encoding a record: {0}")]
    Encode(Box<CodecError>),
    #[error("the consumer has no group metadata, so offsets cannot join the transaction")]
    NoGroupMetadata,
    #[error("listing the offsets to commit: {0}")]
    Offsets(KafkaError),
}

impl WriteError {
    /// A newer process of this instance (same transactional id) took over.
    pub fn is_fenced(&self) -> bool {
        matches!(self, WriteError::Transaction(TransactionError::Fenced(_)))
    }
}

pub struct Writer {
    transactions: TransactionalWriter,
    codec: Arc<Codec>,
}

impl Writer {
    /// Creates the producer and calls `init_transactions`, which fences every older producer
    /// with this transactional id and aborts the transaction it may have left open. Must come
    /// before anything is read: only then is the history final.
    pub fn start(
        settings: &KafkaSettings,
        transactional_id: &str,
        codec: Arc<Codec>,
    ) -> Result<Self, WriteError> {
        let transactions = TransactionalWriter::start(settings, transactional_id)?;
        Ok(Self {
            transactions,
            codec,
        })
    }

    /// The records of `outputs`, each with the `traceparent` of the input it answers (the
    /// two lists are parallel; a missing trace leaves the record without one).
    pub async fn encode(
        &self,
        outputs: &[Output],
        traces: &[Option<String>],
    ) -> Result<Vec<Record>, CodecError> {
        let mut records = Vec::with_capacity(outputs.len());
        for (index, output) in outputs.iter().enumerate() {
            let record = match output {
                Output::UserEvent(key, m) => self.record(key, m).await?,
                Output::BankEvent(key, m) => self.record(key, m).await?,
                Output::UserFeedback(key, m) => self.record(key, m).await?,
                Output::BankFeedback(key, m) => self.record(key, m).await?,
                Output::TransferFeedback(key, m) => self.record(key, m).await?,
                Output::BankCommand(key, m) => self.record(key, m).await?,
                Output::TransferCommand(key, m) => self.record(key, m).await?,
            };
            records.push(Record {
                traceparent: traces.get(index).cloned().flatten(),
                answer: output.is_answer(),
                ..record
            });
        }
        Ok(records)
    }

    async fn record<M: TopicMessage>(&self, key: &str, message: &M) -> Result<Record, CodecError> {
        Ok(Record {
            topic: M::TOPIC,
            key: key.to_string(),
            payload: self.codec.encode(message).await?,
            traceparent: None,
            answer: false,
        })
    }

    /// Writes `records` and commits `offsets` for the group of `group` (the metadata read with
    /// the batch), in one transaction; see [`TransactionalWriter::write`]. The answers among
    /// the records name the events written and `depends_on`. Answers where the records went.
    pub async fn write(
        &self,
        records: &[Record],
        depends_on: &Positions,
        offsets: &TopicPartitionList,
        group: &Arc<ConsumerGroupMetadata>,
    ) -> Result<Written, WriteError> {
        Ok(self
            .transactions
            .write(records, depends_on, offsets, group)
            .await?)
    }
}

impl From<CodecError> for WriteError {
    fn from(error: CodecError) -> Self {
        WriteError::Encode(Box::new(error))
    }
}
