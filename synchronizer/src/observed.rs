//! What the cluster and the registry hold now, read through the topology crate's clients.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use topology::registry::{RegistryClient, RegistryError};
use topology::TopicSpec;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedTopic {
    pub partitions: i32,
    pub replication: i32,
    /// Every config value the broker reports for the topic.
    pub config: BTreeMap<String, String>,
    /// Keys set on the topic itself, as opposed to inherited defaults.
    pub overridden: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterState {
    pub brokers: usize,
    pub topics: BTreeMap<String, ObservedTopic>,
}

/// Latest schema text under each subject the topology needs (`None`: subject missing).
pub type RegistryState = BTreeMap<String, Option<String>>;

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("Kafka at {brokers} is not reachable after {waited:?}: {source}")]
    KafkaUnreachable {
        brokers: String,
        waited: Duration,
        source: KafkaError,
    },
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("Kafka: describing configs of {topic}: {reason}")]
    Config { topic: String, reason: String },
    #[error("schema registry at {url} is not reachable after {waited:?}: {source}")]
    RegistryUnreachable {
        url: String,
        waited: Duration,
        source: RegistryError,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

const POLL_TIMEOUT: Duration = Duration::from_secs(3);

/// Reads topics, partitions, replication and configs; waits up to `wait` for the brokers.
pub async fn cluster(
    admin: &AdminClient<DefaultClientContext>,
    brokers: &str,
    wait: Duration,
) -> Result<ClusterState, ObserveError> {
    let started = Instant::now();
    let metadata = loop {
        let attempt = admin.inner().fetch_metadata(None, POLL_TIMEOUT);
        let failure = match attempt {
            Ok(metadata) if !metadata.brokers().is_empty() => break metadata,
            Ok(_) => KafkaError::MetadataFetch(RDKafkaErrorCode::BrokerNotAvailable),
            Err(e) => e,
        };
        if started.elapsed() >= wait {
            return Err(ObserveError::KafkaUnreachable {
                brokers: brokers.to_string(),
                waited: started.elapsed(),
                source: failure,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut topics = BTreeMap::new();
    for topic in metadata.topics() {
        let replication = topic
            .partitions()
            .iter()
            .map(|p| p.replicas().len())
            .max()
            .unwrap_or(0);
        topics.insert(
            topic.name().to_string(),
            ObservedTopic {
                partitions: i32::try_from(topic.partitions().len()).unwrap_or(i32::MAX),
                replication: i32::try_from(replication).unwrap_or(i32::MAX),
                ..ObservedTopic::default()
            },
        );
    }
    let names: Vec<String> = topics.keys().cloned().collect();
    if !names.is_empty() {
        let specifiers: Vec<_> = names
            .iter()
            .map(|n| ResourceSpecifier::Topic(n.as_str()))
            .collect();
        let options = AdminOptions::new().request_timeout(Some(topology::kafka::ADMIN_TIMEOUT));
        let results = admin.describe_configs(&specifiers, &options).await?;
        for (name, result) in names.iter().zip(results) {
            let resource = result.map_err(|code| ObserveError::Config {
                topic: name.clone(),
                reason: code.to_string(),
            })?;
            if let Some(topic) = topics.get_mut(name) {
                for entry in &resource.entries {
                    if let Some(value) = &entry.value {
                        topic.config.insert(entry.name.clone(), value.clone());
                    }
                    if matches!(entry.source, ConfigSource::DynamicTopic) {
                        topic.overridden.push(entry.name.clone());
                    }
                }
            }
        }
    }
    Ok(ClusterState {
        brokers: metadata.brokers().len(),
        topics,
    })
}

/// Reads the latest schema of every subject the topology needs; waits up to `wait`.
pub async fn registry(
    client: &RegistryClient,
    topics: &[TopicSpec],
    wait: Duration,
) -> Result<RegistryState, ObserveError> {
    let started = Instant::now();
    loop {
        match client.subjects().await {
            Ok(_) => break,
            Err(RegistryError::Unreachable { .. }) if started.elapsed() < wait => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(source) => {
                return Err(ObserveError::RegistryUnreachable {
                    url: client.url().to_string(),
                    waited: started.elapsed(),
                    source,
                })
            }
        }
    }
    let mut state = RegistryState::new();
    for topic in topics {
        for (subject, _) in topic.subjects() {
            let latest = client.latest(&subject).await?.map(|v| v.schema);
            state.insert(subject, latest);
        }
    }
    Ok(state)
}
