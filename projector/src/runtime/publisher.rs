//! Publishes derived `TransactionHappenedEvent`s exactly once (design: [`crate::publishing`]).
//!
//! One producer transaction holds a batch of derived events *and*, for every `bank_events`
//! partition they come from, the offset after the last of them there, committed for the
//! publishing consumer group. Either both are visible or neither, so the group's committed
//! offset of each partition says exactly which of that partition's derived events are out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, ConsumerGroupMetadata, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use topology::codec::Codec;
use topology::kafka::ADMIN_TIMEOUT;
use topology::topic_names::TRANSACTION_EVENTS;
use topology::{KafkaSettings, TransactionEvent};

use super::RuntimeError;
use crate::projection::DerivedTransaction;
use crate::publishing::{offsets_to_commit, PublishedPositions};
/// How often an abortable transaction is retried before the process gives up (and its restart
/// retries from the committed offset).
const MAX_ATTEMPTS: u32 = 5;
/// `init_transactions` may wait for a previous instance's open transaction to be aborted.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Publisher {
    producer: FutureProducer,
    group_metadata: ConsumerGroupMetadata,
    bank_events_topic: String,
    codec: Arc<Codec>,
}

impl Publisher {
    /// Creates the transactional producer, fences any previous instance with the same
    /// transactional id, and reads the last published offset of every `bank_events` partition
    /// of `partitions` from `consumer`'s group. The order matters: fencing first aborts a
    /// transaction a killed instance left open, so the committed offsets read afterwards are
    /// stable.
    pub async fn start(
        settings: &KafkaSettings,
        transactional_id: &str,
        consumer: &StreamConsumer,
        group: &str,
        bank_events_topic: &str,
        partitions: &[i32],
        codec: Arc<Codec>,
    ) -> Result<(Self, PublishedPositions), RuntimeError> {
        let producer = settings
            .transactional_producer(transactional_id)
            .map_err(RuntimeError::Client)?;
        tokio::task::block_in_place(|| producer.init_transactions(INIT_TIMEOUT)).map_err(
            |source| RuntimeError::InitTransactions {
                transactional_id: transactional_id.to_string(),
                source,
            },
        )?;
        let group_metadata = consumer
            .group_metadata()
            .ok_or(RuntimeError::NoGroupMetadata)?;

        let committed_error = |source| RuntimeError::CommittedOffset {
            partition: format!("{bank_events_topic} for group {group}"),
            source,
        };
        let mut asked = TopicPartitionList::new();
        for &partition in partitions {
            asked
                .add_partition(bank_events_topic, partition)
                .set_offset(Offset::Invalid)
                .map_err(committed_error)?;
        }
        let committed =
            tokio::task::block_in_place(|| consumer.committed_offsets(asked, ADMIN_TIMEOUT))
                .map_err(committed_error)?;
        let published = PublishedPositions::from_committed(partitions.iter().map(|&partition| {
            let next = committed
                .find_partition(bank_events_topic, partition)
                .and_then(|element| match element.offset() {
                    Offset::Offset(next) => Some(next),
                    _ => None,
                });
            (partition, next)
        }));
        let last_published: Vec<(i32, i64)> = published.iter().collect();
        tracing::info!(
            transactional_id,
            group,
            partitions = partitions.len(),
            ?last_published,
            "transactions initialised; per partition, derived events after the last published offset will be published"
        );
        Ok((
            Self {
                producer,
                group_metadata,
                bank_events_topic: bank_events_topic.to_string(),
                codec,
            },
            published,
        ))
    }

    /// Publishes `batch` and commits, for each partition in it, the offset after its last
    /// event there, in one transaction. Retries abortable failures with the same batch; a
    /// fatal one (e.g. fenced by a newer instance) is returned.
    pub async fn publish(&self, batch: &[DerivedTransaction]) -> Result<(), RuntimeError> {
        if batch.is_empty() {
            return Ok(());
        }
        let next_offsets = offsets_to_commit(batch);
        let mut records = Vec::with_capacity(batch.len());
        for derived in batch {
            let message = TransactionEvent::from(derived.event.clone());
            records.push((
                derived.key().to_string(),
                self.codec.encode(&message).await?,
            ));
        }

        let mut attempt = 1;
        loop {
            match self.try_publish(&records, &next_offsets).await {
                Ok(()) => {
                    tracing::debug!(
                        events = batch.len(),
                        ?next_offsets,
                        "published derived events"
                    );
                    return Ok(());
                }
                Err(error) if is_fatal(&error) => return Err(RuntimeError::Publish(error)),
                Err(error) => {
                    tracing::warn!(%error, attempt, "publishing transaction failed; aborting it");
                    tokio::task::block_in_place(|| self.producer.abort_transaction(Timeout::Never))
                        .map_err(RuntimeError::Publish)?;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(RuntimeError::PublishGaveUp {
                            attempts: attempt,
                            last: error,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn try_publish(
        &self,
        records: &[(String, Vec<u8>)],
        next_offsets: &BTreeMap<i32, i64>,
    ) -> Result<(), KafkaError> {
        tokio::task::block_in_place(|| self.producer.begin_transaction())?;
        let mut deliveries = Vec::with_capacity(records.len());
        for (key, payload) in records {
            let record = FutureRecord::to(TRANSACTION_EVENTS)
                .key(key)
                .payload(payload);
            let delivery = self
                .producer
                .send_result(record)
                .map_err(|(error, _record)| error)?;
            deliveries.push(delivery);
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _message))) => return Err(error),
                Err(_canceled) => return Err(KafkaError::Canceled),
            }
        }
        let mut offsets = TopicPartitionList::new();
        for (&partition, &next) in next_offsets {
            offsets.add_partition_offset(
                &self.bank_events_topic,
                partition,
                Offset::Offset(next),
            )?;
        }
        tokio::task::block_in_place(|| {
            // Timeout::Never: librdkafka then uses the remaining transaction timeout, which it
            // recommends over a shorter client-side one.
            self.producer.send_offsets_to_transaction(
                &offsets,
                &self.group_metadata,
                Timeout::Never,
            )?;
            self.producer.commit_transaction(Timeout::Never)
        })
    }
}

/// Fenced, or the producer is unusable: another instance owns the transactional id now, or
/// only a new producer (a restart) can go on.
fn is_fatal(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(error) => error.is_fatal(),
        _ => false,
    }
}
