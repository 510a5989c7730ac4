//! What the group assigned: which partitions this instance owns, and where its consumer
//! resumes reading them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use topology::kafka::ADMIN_TIMEOUT;

use super::tasks::Member;
use super::{RuntimeError, CONSUMED_TOPICS};
use crate::handling::Ownership;

/// Positions every assigned partition at the group's committed offset (or the first retained
/// record), so nothing read but not committed is skipped; answers those offsets as (topic,
/// partition, next).
pub fn rewind(
    consumer: &Member,
    assignment: &TopicPartitionList,
) -> Result<Vec<(String, i32, i64)>, RuntimeError> {
    if assignment.count() == 0 {
        return Ok(Vec::new());
    }
    let committed = tokio::task::block_in_place(|| {
        consumer.committed_offsets(assignment.clone(), ADMIN_TIMEOUT)
    })
    .map_err(RuntimeError::Consume)?;
    // Nothing committed yet: consumption starts at the first retained record. That offset is
    // remembered like a committed one, so that even the first transactions of a new group
    // carry offsets, and with them the group's fencing.
    let elements = committed.elements();
    let uncommitted: Vec<(&str, i32)> = elements
        .iter()
        .filter(|element| !matches!(element.offset(), Offset::Offset(_)))
        .map(|element| (element.topic(), element.partition()))
        .collect();
    let first_retained = first_retained_offsets(consumer, &uncommitted)?;
    let mut seek = TopicPartitionList::new();
    let mut positions = Vec::with_capacity(elements.len());
    for element in &elements {
        let (topic, partition) = (element.topic(), element.partition());
        let next = match element.offset() {
            Offset::Offset(next) => next,
            _ => first_retained
                .get(&(topic, partition))
                .copied()
                .unwrap_or_default(),
        };
        positions.push((topic.to_string(), partition, next));
        seek.add_partition_offset(topic, partition, Offset::Offset(next))
            .map_err(RuntimeError::Consume)?;
    }
    let sought = tokio::task::block_in_place(|| consumer.seek_partitions(seek, ADMIN_TIMEOUT))
        .map_err(RuntimeError::Consume)?;
    // A partition assigned a moment ago may not fetch yet and refuses the seek; it starts at
    // the committed offset anyway. The seek matters after an aborted batch, when every
    // partition is fetching.
    for element in sought.elements() {
        if let Err(error) = element.error() {
            tracing::warn!(topic = element.topic(), partition = element.partition(), %error, "rewinding a partition");
        }
    }
    Ok(positions)
}

/// The partitions of the assignment. With the range assignor and co-partitioned topics every
/// consumed topic has the same ones; a partition counts as owned only when all of them are
/// assigned, so no account is decided without its whole input.
pub fn owned_partitions(assignment: &TopicPartitionList) -> Ownership {
    let mut per_topic: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for element in assignment.elements() {
        per_topic
            .entry(element.topic().to_string())
            .or_default()
            .insert(element.partition());
    }
    let mut sets = CONSUMED_TOPICS
        .iter()
        .map(|topic| per_topic.remove(*topic).unwrap_or_default());
    let first = sets.next().unwrap_or_default();
    let mut owned = first.clone();
    for set in sets {
        if set != first {
            tracing::warn!(?first, ?set, "topics assigned with different partitions");
        }
        owned = owned.intersection(&set).copied().collect();
    }
    Ownership::new(owned)
}

/// The low watermark of each of `partitions`, asked side by side: one at a time, each took
/// about half a second, 24 s for the 48 partitions of a group that has committed nothing yet.
fn first_retained_offsets<'a>(
    consumer: &Member,
    partitions: &[(&'a str, i32)],
) -> Result<HashMap<(&'a str, i32), i64>, RuntimeError> {
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let asked: Vec<_> = partitions
                .iter()
                .map(|&(topic, partition)| {
                    let asking = scope.spawn(move || {
                        topology::replay::watermarks_within(
                            consumer,
                            topic,
                            partition,
                            ADMIN_TIMEOUT,
                        )
                    });
                    ((topic, partition), asking)
                })
                .collect();
            asked
                .into_iter()
                .map(|(key, asking)| {
                    let (low, _high) = asking
                        .join()
                        .map_err(|_| RuntimeError::WatermarkThread)?
                        .map_err(RuntimeError::Consume)?;
                    Ok((key, low))
                })
                .collect()
        })
    })
}
