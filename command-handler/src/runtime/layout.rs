//! The partition layout the command handler relies on: every co-partitioned topic it reads or
//! writes has `topology::BANK_PARTITIONS` partitions (the others its principal may not even
//! see, by the topology's ACLs). Otherwise an account's commands and events would
//! live in different partition numbers and no instance could own all of them, so the handler
//! refuses to start and says what to do.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use topology::kafka::ADMIN_TIMEOUT;
use topology::{KafkaSettings, BANK_PARTITIONS, TOPICS};

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("reading the cluster's topics: {0}")]
    Metadata(KafkaError),
    #[error(
        "the co-partitioned topics do not have {expected} partitions each ({found}); apply the \
         topology with the synchronizer (it says how to move existing data to the new layout) \
         or, for local data, `scripts/infra.sh reset`"
    )]
    Mismatch { expected: i32, found: String },
}

/// The command handler's principal in the topology.
const PRINCIPAL: &str = "command-handler";

pub fn check(settings: &KafkaSettings) -> Result<(), LayoutError> {
    let consumer: BaseConsumer = settings
        .client_config()
        .create()
        .map_err(LayoutError::Metadata)?;
    let metadata = tokio::task::block_in_place(|| consumer.fetch_metadata(None, ADMIN_TIMEOUT))
        .map_err(LayoutError::Metadata)?;
    let mut wrong = Vec::new();
    let used = |readers_or_writers: &[&str]| readers_or_writers.contains(&PRINCIPAL);
    let relied_on = TOPICS
        .iter()
        .filter(|t| t.co_partitioned && (used(t.readers) || used(t.writers)));
    for spec in relied_on {
        let found = metadata
            .topics()
            .iter()
            .find(|t| t.name() == spec.name && t.error().is_none())
            .map(|t| t.partitions().len());
        match found {
            Some(count) if count == BANK_PARTITIONS as usize => {}
            Some(count) => wrong.push(format!("{}: {count}", spec.name)),
            None => wrong.push(format!("{}: missing", spec.name)),
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(LayoutError::Mismatch {
            expected: BANK_PARTITIONS,
            found: wrong.join(", "),
        })
    }
}
