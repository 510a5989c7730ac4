//! The static description of every topic and record, generated from the topology files.

pub use crate::generated::PRINCIPALS;
use crate::generated::RECORDS;
pub use crate::generated::TOPICS;

/// One record type and its full Avro schema.
#[derive(Debug)]
pub struct RecordSpec {
    pub full_name: &'static str,
    pub schema: &'static str,
}

/// One topic the suite owns.
#[derive(Debug)]
pub struct TopicSpec {
    pub name: &'static str,
    pub partitions: i32,
    /// Keyed per account or user and sharing [`crate::BANK_PARTITIONS`] with the other
    /// co-partitioned topics, so partition `p` of each holds the same accounts.
    pub co_partitioned: bool,
    /// Wanted replication; a cluster with fewer brokers gets one replica per broker.
    pub replication: i32,
    /// Topic configs exactly as the broker reports them.
    pub config: &'static [(&'static str, &'static str)],
    /// Full names of the records this topic carries.
    pub records: &'static [&'static str],
    /// Principals (see [`Principal`]) that may read it, and that may write it.
    pub readers: &'static [&'static str],
    pub writers: &'static [&'static str],
}

/// The Kafka principal (SASL/SCRAM user) of one service, and what it may use besides topics.
#[derive(Debug)]
pub struct Principal {
    pub name: &'static str,
    /// Prefixes of the consumer groups it joins or commits to.
    pub groups: &'static [&'static str],
    /// Prefixes of the transactional ids it produces under.
    pub transactional_ids: &'static [&'static str],
    /// Prefixes of topics that are its own (it creates and uses them).
    pub topic_prefixes: &'static [&'static str],
}

pub fn principal(name: &str) -> Option<&'static Principal> {
    PRINCIPALS.iter().find(|p| p.name == name)
}

impl TopicSpec {
    /// Schema-registry subject of one record on this topic (TopicRecordNameStrategy).
    pub fn subject(&self, record_full_name: &str) -> String {
        format!("{}-{}", self.name, record_full_name)
    }

    /// Every subject this topic needs, with the schema to register under it.
    pub fn subjects(&self) -> impl Iterator<Item = (String, &'static RecordSpec)> + '_ {
        self.records.iter().filter_map(move |name| {
            record(name).map(|record| (self.subject(record.full_name), record))
        })
    }

    /// Replication to use on a cluster of `brokers` brokers.
    pub fn replication_for(&self, brokers: usize) -> i32 {
        let brokers = i32::try_from(brokers).unwrap_or(i32::MAX).max(1);
        self.replication.min(brokers)
    }
}

pub fn topic(name: &str) -> Option<&'static TopicSpec> {
    TOPICS.iter().find(|t| t.name == name)
}

pub fn record(full_name: &str) -> Option<&'static RecordSpec> {
    RECORDS.iter().find(|r| r.full_name == full_name)
}

/// Topics that belong to Kafka or the schema registry, never to the suite.
pub fn is_internal_topic(name: &str) -> bool {
    name.starts_with('_') || name.starts_with("kafkasql-") || name == "schemas"
}
