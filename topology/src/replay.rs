//! Replaying topics from the beginning up to the end offsets seen at start.
//!
//! Services that keep their state in memory (the projector's read models, the command
//! handler's aggregates) rebuild it at every start from topics kept forever. They must not act
//! on that state (answer queries, validate commands) before the rebuild has reached the end the
//! topic had when they started; later records are news, not history.
//!
//! The recipe:
//!
//! 1. [`end_offsets`]: the end of every partition of the topics. With a `read_committed`
//!    consumer (every consumer [`crate::kafka`] builds) this is the last stable offset: records
//!    of a transaction still open at start are not part of the history to wait for.
//! 2. [`assign_from_beginning`]: assign (never subscribe) every partition at its first offset,
//!    so no group rebalance moves partitions away and no committed offset skips history.
//! 3. Consume, and tell a [`CatchUp`] the *position* (next offset to read) of each partition:
//!    after every message its offset + 1, and when no message came for a while the consumer's
//!    own [`positions`]. Transaction markers occupy offsets but are never delivered, so a topic
//!    whose last record is a commit marker would otherwise look one short forever; the
//!    consumer position moves past markers.
//!
//! [`start`] does steps 1 and 2. [`CatchUp`] is pure and unit-tested.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use crate::settings::KafkaSettings;
use crate::telemetry::LagReporter;

/// The end offset of one partition as read at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionEnd {
    pub topic: String,
    pub partition: i32,
    /// The first offset still stored (the low watermark): retention may have removed older ones.
    pub first: i64,
    /// The next offset to be written (the high watermark, or with `read_committed` the last
    /// stable offset); 0 for an empty partition.
    pub end: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("reading the metadata of topic {topic}: {source}")]
    Metadata { topic: String, source: KafkaError },
    #[error("topic {topic} does not exist (apply the topology with the synchronizer first)")]
    UnknownTopic { topic: String },
    #[error("reading the end offset of {topic}/{partition}: {source}")]
    Watermarks {
        topic: String,
        partition: i32,
        source: KafkaError,
    },
    #[error("assigning the partitions to replay: {0}")]
    Assign(KafkaError),
    #[error("reading the consumer position: {0}")]
    Position(KafkaError),
    #[error("creating a consumer: {0}")]
    Client(KafkaError),
    #[error("committing the start offsets of group {group}: {source}")]
    Commit { group: String, source: KafkaError },
}

impl KafkaSettings {
    /// A consumer for replay by assignment: sees only committed records, never commits by
    /// itself, and starts where it is assigned. `group` is needed only to read or commit the
    /// group's offsets (e.g. `send_offsets_to_transaction`); it is never joined. Without one,
    /// the consumer gets a throwaway group name, because librdkafka refuses `assign` without a
    /// `group.id` ("Unknown group"); a name never joined nor committed to leaves no broker state.
    pub fn replay_consumer(&self, group: Option<&str>) -> Result<StreamConsumer, KafkaError> {
        self.replay_config(group).create()
    }

    /// A [`KafkaSettings::replay_consumer`] that lives as long as the service and reports its
    /// lag (see [`crate::telemetry`]) as `consumer="<name>"`.
    pub fn observed_consumer(
        &self,
        name: &str,
        group: Option<&str>,
    ) -> Result<StreamConsumer<LagReporter>, KafkaError> {
        let mut config = self.replay_config(group);
        self.observe(&mut config, name);
        config.create_with_context(LagReporter)
    }

    fn replay_config(&self, group: Option<&str>) -> ClientConfig {
        let mut config = self.client_config();
        let group = group.map_or_else(|| format!("replay-{}", uuid::Uuid::new_v4()), String::from);
        config
            .set("group.id", group)
            .set("isolation.level", "read_committed")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false");
        // A replay reads one long partition front to back, so the fetch size per partition
        // bounds its speed: with librdkafka's 1 MiB default, 1,000,000 bank events took 7.7 s,
        // with 10 MiB 2.9 s (projector catch_up_bench). A `KAFKA_MAX_PARTITION_FETCH_BYTES`
        // override still wins.
        //
        // What a replay fetches ahead waits in librdkafka's queue, and a queued record costs far
        // more than its payload. With librdkafka's defaults (100,000 records per partition,
        // 64 MiB of payload), rebuilding a command handler from 726,000 events peaked at 445 MiB
        // of heap, nearly all of it queued records, and the process kept 512 MB resident;
        // 1,000 records per partition and 16 MiB of payload gave 286 MB at the same speed.
        for (setting, value) in REPLAY_SETTINGS {
            if !self.overrides.contains_key(setting) {
                config.set(setting, value);
            }
        }
        config
    }
}

const REPLAY_SETTINGS: [(&str, &str); 3] = [
    ("max.partition.fetch.bytes", "10485760"),
    ("queued.min.messages", "1000"),
    ("queued.max.messages.kbytes", "16384"),
];

/// The first and end offset of every partition of `topics`, in the order given.
pub fn end_offsets<X: ConsumerContext, C: Consumer<X> + Sync>(
    consumer: &C,
    topics: &[&str],
    timeout: Duration,
) -> Result<Vec<PartitionEnd>, ReplayError> {
    let mut partitions = Vec::new();
    for &topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .map_err(|source| ReplayError::Metadata {
                topic: topic.to_string(),
                source,
            })?;
        let before = partitions.len();
        // A missing topic comes back as an entry with an error and no partitions.
        for t in metadata.topics() {
            if t.name() == topic && t.error().is_none() {
                partitions.extend(t.partitions().iter().map(|p| (topic, p.id())));
            }
        }
        if partitions.len() == before {
            return Err(ReplayError::UnknownTopic {
                topic: topic.to_string(),
            });
        }
    }
    watermarks_of(consumer, &partitions, timeout)
}

/// The first offset and the *high watermark* of each given partition, open transactions
/// included: what a new owner of a partition must wait for before deciding anything on it.
///
/// The last stable offset that a `read_committed` consumer reports stops before a transaction
/// still open, and that transaction may yet commit (its producer was the partition's previous
/// owner, mid-batch when the partition moved). Replaying with `read_committed` up to the high
/// watermark waits until every transaction begun before this call is committed or aborted:
/// the consumer's position passes it only then.
pub fn high_watermarks(
    settings: &KafkaSettings,
    partitions: &[(&str, i32)],
    timeout: Duration,
) -> Result<Vec<PartitionEnd>, ReplayError> {
    let mut config = settings.client_config();
    config
        .set("group.id", format!("watermarks-{}", uuid::Uuid::new_v4()))
        .set("isolation.level", "read_uncommitted")
        .set("enable.auto.commit", "false");
    let consumer: rdkafka::consumer::BaseConsumer = config.create().map_err(ReplayError::Client)?;
    watermarks_of(&consumer, partitions, timeout)
}

/// The watermarks of all partitions, asked for at once: one at a time, the 24 partitions of a
/// feedback topic took about 10 s to start.
fn watermarks_of<X: ConsumerContext, C: Consumer<X> + Sync>(
    consumer: &C,
    partitions: &[(&str, i32)],
    timeout: Duration,
) -> Result<Vec<PartitionEnd>, ReplayError> {
    let watermarks: Vec<Result<(i64, i64), ReplayError>> = std::thread::scope(|scope| {
        let asks: Vec<_> = partitions
            .iter()
            .map(|&(topic, partition)| {
                scope.spawn(move || {
                    watermarks_within(consumer, topic, partition, timeout).map_err(|source| {
                        ReplayError::Watermarks {
                            topic: topic.to_string(),
                            partition,
                            source,
                        }
                    })
                })
            })
            .collect();
        asks.into_iter()
            .map(|ask| {
                ask.join()
                    .unwrap_or(Err(ReplayError::Position(KafkaError::Canceled)))
            })
            .collect()
    });
    partitions
        .iter()
        .zip(watermarks)
        .map(|(&(topic, partition), watermarks)| {
            let (first, end) = watermarks?;
            Ok(PartitionEnd {
                topic: topic.to_string(),
                partition,
                first: first.max(0),
                end: end.max(0),
            })
        })
        .collect()
}

/// The first pause between two attempts to read a partition's watermarks; it doubles up to
/// [`WATERMARKS_LONGEST_PAUSE`].
const WATERMARKS_FIRST_PAUSE: Duration = Duration::from_millis(50);
const WATERMARKS_LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// A partition's watermarks, asked again until `timeout` has passed: while leadership moves
/// (a broker restarting, a preferred leader taking its partitions back) the broker asked answers
/// "not leader for partition" at once, and librdkafka leaves it to the caller to ask again once
/// its metadata has caught up. Seen on the three-broker cluster: an endpoint starting just after
/// a broker came back exited on that answer.
pub fn watermarks_within<X: ConsumerContext, C: Consumer<X>>(
    consumer: &C,
    topic: &str,
    partition: i32,
    timeout: Duration,
) -> Result<(i64, i64), KafkaError> {
    let deadline = std::time::Instant::now() + timeout;
    let mut pause = WATERMARKS_FIRST_PAUSE;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match consumer.fetch_watermarks(topic, partition, left) {
            Ok(watermarks) => return Ok(watermarks),
            Err(error) if left > pause => {
                tracing::debug!(topic, partition, %error, "reading watermarks again");
                std::thread::sleep(pause);
                pause = (pause * 2).min(WATERMARKS_LONGEST_PAUSE);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Assigns every partition of `ends` at its first available offset, replacing any assignment.
pub fn assign_from_beginning<X: ConsumerContext, C: Consumer<X>>(
    consumer: &C,
    ends: &[PartitionEnd],
) -> Result<(), ReplayError> {
    let assignment = partition_list(ends, |_| Offset::Beginning)?;
    consumer.assign(&assignment).map_err(ReplayError::Assign)
}

/// Assigns every partition of `ends` at its offset in `resume` ((topic, partition) → next
/// offset to read, e.g. from a local state store), or from the beginning when it has none.
pub fn assign_from<X: ConsumerContext, C: Consumer<X>>(
    consumer: &C,
    ends: &[PartitionEnd],
    resume: &std::collections::BTreeMap<(String, i32), i64>,
) -> Result<(), ReplayError> {
    let assignment = partition_list(ends, |end| {
        resume
            .get(&(end.topic.clone(), end.partition))
            .map_or(Offset::Beginning, |&next| Offset::Offset(next))
    })?;
    consumer.assign(&assignment).map_err(ReplayError::Assign)
}

/// Assigns every partition of `topics` at its current end: the consumer sees only what is
/// written from now on (e.g. the answers to requests sent after this returns).
pub fn assign_at_end<X: ConsumerContext, C: Consumer<X> + Sync>(
    consumer: &C,
    topics: &[&str],
    timeout: Duration,
) -> Result<(), ReplayError> {
    let ends = end_offsets(consumer, topics, timeout)?;
    let assignment = partition_list(&ends, |end| Offset::Offset(end.end))?;
    consumer.assign(&assignment).map_err(ReplayError::Assign)
}

/// Commits `group`'s offsets at the current end of `topics`, so a member that joins the group
/// later starts with what is written from now on instead of the retained history.
pub fn commit_group_at_end(
    settings: &KafkaSettings,
    group: &str,
    topics: &[&str],
    timeout: Duration,
) -> Result<(), ReplayError> {
    let consumer = settings.consumer(group).map_err(ReplayError::Client)?;
    let ends = end_offsets(&consumer, topics, timeout)?;
    let offsets = partition_list(&ends, |end| Offset::Offset(end.end))?;
    consumer
        .commit(&offsets, rdkafka::consumer::CommitMode::Sync)
        .map_err(|source| ReplayError::Commit {
            group: group.to_string(),
            source,
        })
}

fn partition_list(
    ends: &[PartitionEnd],
    offset: impl Fn(&PartitionEnd) -> Offset,
) -> Result<TopicPartitionList, ReplayError> {
    let mut list = TopicPartitionList::new();
    for end in ends {
        list.add_partition_offset(&end.topic, end.partition, offset(end))
            .map_err(ReplayError::Assign)?;
    }
    Ok(list)
}

/// Reads the end offsets of `topics`, assigns them from the beginning, and returns the
/// [`CatchUp`] that tells when the replay has reached those ends.
pub fn start<X: ConsumerContext, C: Consumer<X> + Sync>(
    consumer: &C,
    topics: &[&str],
    timeout: Duration,
) -> Result<CatchUp, ReplayError> {
    let ends = end_offsets(consumer, topics, timeout)?;
    assign_from_beginning(consumer, &ends)?;
    Ok(CatchUp::new(&ends))
}

/// The consumer's current position (next offset to read) of every assigned partition that has
/// one; partitions not fetched yet have none and are left out.
pub fn positions<X: ConsumerContext, C: Consumer<X>>(
    consumer: &C,
) -> Result<Vec<(String, i32, i64)>, ReplayError> {
    let list = consumer.position().map_err(ReplayError::Position)?;
    Ok(list
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(next) => Some((e.topic().to_string(), e.partition(), next)),
            _ => None,
        })
        .collect())
}

/// Which partitions still have history to replay. Pure: feed it positions, ask if done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    /// (topic, partition) → end offset still to reach. Reached partitions are removed, so a
    /// position reported late (or lower, from an older poll) can never undo readiness.
    behind: BTreeMap<(String, i32), i64>,
}

impl CatchUp {
    /// Partitions with nothing stored are caught up from the start: a consumer never reports a
    /// position for them, so waiting would never end. That includes a partition whose records
    /// all expired (first = end > 0), as on the 60 s retention topics.
    pub fn new(ends: &[PartitionEnd]) -> Self {
        let behind = ends
            .iter()
            .filter(|e| e.end > e.first)
            .map(|e| ((e.topic.clone(), e.partition), e.end))
            .collect();
        Self { behind }
    }

    /// Records that the next offset to read from `topic`/`partition` is `next_offset` (a
    /// message's offset + 1, or a consumer position). Partitions not being waited for are
    /// ignored. Returns whether everything is caught up now.
    pub fn observe(&mut self, topic: &str, partition: i32, next_offset: i64) -> bool {
        let key = (topic.to_string(), partition);
        if self.behind.get(&key).is_some_and(|&end| next_offset >= end) {
            self.behind.remove(&key);
        }
        self.is_caught_up()
    }

    /// [`CatchUp::observe`] for every position of [`positions`].
    pub fn observe_all<'a>(
        &mut self,
        positions: impl IntoIterator<Item = &'a (String, i32, i64)>,
    ) -> bool {
        for (topic, partition, next) in positions {
            self.observe(topic, *partition, *next);
        }
        self.is_caught_up()
    }

    pub fn is_caught_up(&self) -> bool {
        self.behind.is_empty()
    }

    /// The partitions still behind with the end offset they must reach.
    pub fn behind(&self) -> impl Iterator<Item = (&str, i32, i64)> {
        self.behind
            .iter()
            .map(|((topic, partition), end)| (topic.as_str(), *partition, *end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(topic: &str, partition: i32, end: i64) -> PartitionEnd {
        PartitionEnd {
            topic: topic.into(),
            partition,
            first: 0,
            end,
        }
    }

    #[test]
    fn empty_topics_are_caught_up_at_once() {
        assert!(CatchUp::new(&[]).is_caught_up());
        assert!(CatchUp::new(&[end("a", 0, 0), end("b", 0, 0)]).is_caught_up());
    }

    #[test]
    fn partitions_whose_records_all_expired_are_caught_up_at_once() {
        let expired = PartitionEnd {
            first: 1,
            ..end("feedback", 15, 1)
        };
        assert!(CatchUp::new(&[expired]).is_caught_up());
    }

    #[test]
    fn every_partition_must_reach_its_end() {
        let mut catch_up = CatchUp::new(&[end("a", 0, 10), end("b", 0, 3)]);
        assert!(!catch_up.observe("a", 0, 10));
        assert_eq!(catch_up.behind().collect::<Vec<_>>(), [("b", 0, 3)]);
        assert!(!catch_up.observe("b", 0, 2));
        assert!(catch_up.observe("b", 0, 3));
    }

    #[test]
    fn a_trailing_transaction_marker_is_passed_only_by_the_position() {
        // Offsets 0..=8 are records, 9 is the commit marker: the end is 10. The last message
        // says 9; only the consumer position (10) reaches the end.
        let mut catch_up = CatchUp::new(&[end("events", 0, 10)]);
        assert!(!catch_up.observe("events", 0, 8 + 1));
        let positions = vec![("events".to_string(), 0, 10)];
        assert!(catch_up.observe_all(&positions));
    }

    #[test]
    fn records_written_after_start_do_not_delay_readiness() {
        let mut catch_up = CatchUp::new(&[end("events", 0, 5)]);
        assert!(catch_up.observe("events", 0, 7));
    }

    #[test]
    fn readiness_is_never_undone_and_unknown_partitions_are_ignored() {
        let mut catch_up = CatchUp::new(&[end("events", 0, 5)]);
        assert!(!catch_up.observe("other", 0, 100));
        assert!(!catch_up.observe("events", 1, 100));
        assert!(catch_up.observe("events", 0, 5));
        assert!(catch_up.observe("events", 0, 1));
    }
}
