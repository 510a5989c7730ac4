//! Carries out a plan against the cluster and the registry.

use std::time::{Duration, Instant};

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use topology::registry::{RegistryClient, RegistryError};

use crate::plan::Change;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("Kafka: {action} {topic}: {code}")]
    Topic {
        action: &'static str,
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

pub async fn apply(
    admin: &AdminClient<DefaultClientContext>,
    registry: &RegistryClient,
    change: &Change,
) -> Result<(), ApplyError> {
    let options = AdminOptions::new()
        .request_timeout(Some(topology::kafka::ADMIN_TIMEOUT))
        .operation_timeout(Some(topology::kafka::ADMIN_TIMEOUT));
    match change {
        Change::CreateTopic {
            name,
            partitions,
            replication,
            config,
        } => {
            let mut topic = NewTopic::new(name, *partitions, TopicReplication::Fixed(*replication));
            for (key, value) in config {
                topic = topic.set(key, value);
            }
            let results = admin.create_topics([&topic], &options).await?;
            // Another synchronizer may have created it a moment ago: that is the goal, not a failure.
            check(
                results,
                "creating topic",
                &[RDKafkaErrorCode::TopicAlreadyExists],
            )?;
            wait_until_visible(admin, name, *partitions).await
        }
        Change::AddPartitions { name, to, .. } => {
            let partitions = NewPartitions::new(name, usize::try_from(*to).unwrap_or(0));
            let results = admin.create_partitions([&partitions], &options).await?;
            check(results, "raising partitions of", &[])?;
            wait_until_visible(admin, name, *to).await
        }
        Change::AlterConfig { name, config, .. } => {
            // AlterConfigs replaces the topic's whole override set: keys left out return to defaults.
            let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
            for (key, value) in config {
                alter = alter.set(key, value);
            }
            let results = admin.alter_configs([&alter], &options).await?;
            for result in results {
                result.map_err(|(_, code)| ApplyError::Topic {
                    action: "altering config of",
                    topic: name.clone(),
                    code,
                })?;
            }
            Ok(())
        }
        Change::DeleteTopic { name } => {
            let results = admin.delete_topics(&[name.as_str()], &options).await?;
            check(
                results,
                "deleting topic",
                &[RDKafkaErrorCode::UnknownTopicOrPartition],
            )?;
            wait_until_gone(admin, name).await;
            Ok(())
        }
        Change::RegisterSchema {
            subject, schema, ..
        } => {
            registry.register(subject, schema).await?;
            Ok(())
        }
        // Reported only; a pinned count makes `synchronize` refuse before anything runs.
        Change::PartitionCountPinned { .. }
        | Change::TooManyPartitions { .. }
        | Change::ReplicationDiffers { .. }
        | Change::UnknownTopic { .. } => Ok(()),
    }
}

fn check(
    results: Vec<Result<String, (String, RDKafkaErrorCode)>>,
    action: &'static str,
    tolerated: &[RDKafkaErrorCode],
) -> Result<(), ApplyError> {
    for result in results {
        match result {
            Ok(_) => {}
            Err((_, code)) if tolerated.contains(&code) => {}
            Err((topic, code)) => {
                return Err(ApplyError::Topic {
                    action,
                    topic,
                    code,
                })
            }
        }
    }
    Ok(())
}

/// Brokers learn about new topics and partitions asynchronously; `apply` returns only once the
/// metadata shows them, so a service started right after it finds every partition.
async fn wait_until_visible(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
) -> Result<(), ApplyError> {
    let wanted = usize::try_from(partitions).unwrap_or(0);
    let started = Instant::now();
    loop {
        let visible = admin
            .inner()
            .fetch_metadata(Some(name), Duration::from_secs(3))
            .map(|m| {
                m.topics().iter().any(|t| {
                    t.error().is_none()
                        && t.partitions().len() >= wanted
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            })
            .unwrap_or(false);
        if visible {
            return Ok(());
        }
        if started.elapsed() > VISIBILITY_TIMEOUT {
            return Err(ApplyError::Topic {
                action: "waiting for the metadata of",
                topic: name.to_string(),
                code: RDKafkaErrorCode::RequestTimedOut,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(30);

/// Topic deletion finishes asynchronously; wait a little so a following create does not race it.
async fn wait_until_gone(admin: &AdminClient<DefaultClientContext>, name: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let gone = admin
            .inner()
            .fetch_metadata(Some(name), Duration::from_secs(3))
            .map(|m| {
                m.topics()
                    .iter()
                    .all(|t| t.partitions().is_empty() || t.error().is_some())
            })
            .unwrap_or(false);
        if gone {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
