//! The one place that builds Kafka clients. Services ask for a role (admin, producer,
//! transactional producer, consumer) and never set connection config themselves.

use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
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
        // librdkafka looks a partition's leader up again only when it has none; a leader that
        // died keeps its partitions in the client's view until the next periodic refresh
        // (5 minutes by default), long after the cluster moved them (it does once the
        // controller fences the broker, 4 s after its last heartbeat here). Records for those
        // partitions then wait in the client until they time out with their transaction,
        // which aborts it. Refreshed every second, a client finds the new leaders about a
        // second after the move, for one small Metadata request a second per client.
        self.set_default(&mut config, "topic.metadata.refresh.interval.ms", "1000");
        // A transactional producer looks its transaction coordinator up again only when its
        // connection to the old one changes state, i.e. after each reconnect attempt, and those
        // back off up to 10 s by default. When the coordinator's broker died, the cluster moves
        // the coordinator 3.5-8 s later, and the producer learned of it up to 10 s after that:
        // records waiting for their partitions to join the transaction timed out meanwhile
        // (the broker-loss test, with librdkafka's `eos` debug log). Retrying every second at
        // most costs one refused connection a second while a broker is down.
        self.set_default(&mut config, "reconnect.backoff.max.ms", "1000");
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
    pub fn transactional_producer<C: ClientContext + 'static>(
        &self,
        transactional_id: &str,
        context: C,
    ) -> Result<FutureProducer<C>, KafkaError> {
        let mut config = self.producer_config();
        config.set("transactional.id", transactional_id);
        // A transaction left open by a killed instance blocks the readers of its partitions
        // until the coordinator aborts it, this long after it began: it bounds how fast another
        // instance can take those partitions over. It also bounds every record of a
        // transaction (librdkafka caps message.timeout.ms at it): records whose partition
        // leader died wait for the cluster to move the partition, which took 5.5-7.7 s when the
        // lost broker was also the active controller (1.5-3.6 s to elect another, then the 4 s
        // broker session). At 6 s they timed out just before (the broker-loss test), and the
        // transaction was aborted, its producer often replaced and every partition taken over:
        // 12 s without answers instead of 5-10 s. A batch commits in milliseconds.
        self.set_default(&mut config, "transaction.timeout.ms", "10000");
        config.create_with_context(context)
    }

    /// A member of a consumer group that must fail over within seconds: static membership
    /// under `instance_id` (a restart takes its partitions back at once, without a rebalance,
    /// and a still-running older member with that id is fenced by the broker) and a 10 s
    /// session, so a killed member's partitions move to the others within seconds rather than
    /// the default 45 s. Not shorter: a lost broker that held the group's coordinator (and was
    /// the active controller) is replaced up to 7.7 s later, and the member must reach the new
    /// coordinator within the session or librdkafka ends it (below), which costs a rejoin and
    /// a takeover. `context` hears the rebalances.
    ///
    /// librdkafka ends such a member for good once it is fenced, which also happens to a live
    /// one that lost its coordinator for a session (e.g. the broker holding it died) and
    /// rejoined (librdkafka #3437): its owner then puts a new member with the same id in its
    /// place, after [`REJOIN_BACKOFF`], and closes the old one with [`close_in_background`].
    pub fn group_member<C: ConsumerContext + 'static>(
        &self,
        group_id: &str,
        instance_id: &str,
        context: C,
    ) -> Result<StreamConsumer<C>, KafkaError> {
        self.group_member_config(group_id, instance_id)
            .create_with_context(context)
    }

    /// A [`KafkaSettings::group_member`] of a group whose instances share co-partitioned
    /// topics, e.g. the command handlers: with the range assignor, and every topic subscribed
    /// having the same partition count, a member gets the same partition numbers of each topic.
    pub fn co_partitioned_member<C: ConsumerContext + 'static>(
        &self,
        group_id: &str,
        instance_id: &str,
        context: C,
    ) -> Result<StreamConsumer<C>, KafkaError> {
        let mut config = self.group_member_config(group_id, instance_id);
        config.set("partition.assignment.strategy", "range");
        config.create_with_context(context)
    }

    fn group_member_config(&self, group_id: &str, instance_id: &str) -> ClientConfig {
        let mut config = self.consumer_config(group_id);
        config.set("group.instance.id", instance_id);
        self.observe(&mut config, group_id);
        self.set_default(&mut config, "session.timeout.ms", "10000");
        self.set_default(&mut config, "heartbeat.interval.ms", "1500");
        config
    }

    /// Names the client `name` (its `consumer` label in the metrics) and has librdkafka report
    /// its statistics, which the client's context turns into consumer lag
    /// ([`crate::telemetry::record_consumer_lag`]).
    pub(crate) fn observe(&self, config: &mut ClientConfig, name: &str) {
        self.set_default(config, "client.id", name);
        if !crate::telemetry::enabled() {
            return;
        }
        self.set_default(
            config,
            "statistics.interval.ms",
            crate::telemetry::STATISTICS_INTERVAL_MS,
        );
    }

    /// Sets `key` unless a `KAFKA_*` override chose a value.
    fn set_default(&self, config: &mut ClientConfig, key: &str, value: &str) {
        if !self.overrides.contains_key(key) {
            config.set(key, value);
        }
    }

    fn producer_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            .set("compression.type", "lz4")
            // Kafka's default partitioner, which `crate::routing` computes too.
            .set("partitioner", "murmur2_random");
        config
    }

    /// A consumer that sees only committed records and commits offsets only when told to.
    pub fn consumer(&self, group_id: &str) -> Result<StreamConsumer, KafkaError> {
        self.consumer_config(group_id).create()
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

/// Pause before a new group member joins in place of one librdkafka ended (see
/// [`KafkaSettings::group_member`]).
pub const REJOIN_BACKOFF: Duration = Duration::from_secs(1);

/// Drops a Kafka client on a blocking thread: closing one waits until librdkafka has let go of
/// it, which must not hold up the async executor.
pub fn close_in_background<T: Send + 'static>(client: T) {
    tokio::task::spawn_blocking(move || drop(client));
}
