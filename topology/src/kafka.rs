//! The one place that builds Kafka clients. Services ask for a role (admin, producer,
//! transactional producer, consumer) and never set connection config themselves.

use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;

use crate::settings::KafkaSettings;

impl KafkaSettings {
    /// Connection settings shared by every client: brokers plus the `KAFKA_*` overrides.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.overrides {
            config.set(key, value);
        }
        config
    }

    pub fn admin(&self) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
        self.client_config().create()
    }

    /// An idempotent producer: no duplicates or reordering on retries.
    pub fn producer(&self) -> Result<FutureProducer, KafkaError> {
        self.producer_config().create()
    }

    /// A producer for exactly-once processing; call `init_transactions` before use. A second
    /// process with the same `transactional_id` fences this one.
    pub fn transactional_producer(
        &self,
        transactional_id: &str,
    ) -> Result<FutureProducer, KafkaError> {
        let mut config = self.producer_config();
        config.set("transactional.id", transactional_id);
        config.create()
    }

    fn producer_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            .set("compression.type", "lz4");
        config
    }

    /// A consumer that sees only committed records and commits offsets only when told to.
    pub fn consumer(&self, group_id: &str) -> Result<StreamConsumer, KafkaError> {
        self.consumer_config(group_id).create()
    }

    /// [`KafkaSettings::consumer`] with static group membership under `instance_id`.
    ///
    /// For a single active instance whose restart must take over at once: a dynamic member
    /// killed with SIGKILL keeps its partitions until its session times out (45 s), so its
    /// successor would sit idle that long; a restart with the same `group.instance.id` replaces
    /// the old member immediately, and a still-running older member is fenced by the broker.
    pub fn static_member_consumer(
        &self,
        group_id: &str,
        instance_id: &str,
    ) -> Result<StreamConsumer, KafkaError> {
        let mut config = self.consumer_config(group_id);
        config.set("group.instance.id", instance_id);
        config.create()
    }

    fn consumer_config(&self, group_id: &str) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("group.id", group_id)
            .set("isolation.level", "read_committed")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false");
        config
    }
}

/// How long a metadata or admin call may take before it is reported as unreachable.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
