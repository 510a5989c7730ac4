//! Where a `bank_events` event was read: what tells history from news per partition, and what
//! orders facts that live in different partitions.

/// The partition, offset and timestamp of a `bank_events` record.
///
/// Sources are ordered by timestamp, then partition, then offset. Kafka keeps no order between
/// partitions, and the order a consumer reads them in changes from one replay to the next; this
/// order uses only what is stored with the records, so it is the same at every replay. It is
/// how the projector orders facts of one user that live in several partitions (the accounts a
/// user owns), where "the order they were read in" would change across restarts. Within one
/// partition with equal (or missing) timestamps it is the offset order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Source {
    /// The record's timestamp in milliseconds (the producer's create time, or the broker's
    /// append time on a topic configured so); `None` when the record has none.
    pub timestamp_ms: Option<i64>,
    pub partition: i32,
    pub offset: i64,
}

impl Source {
    /// A record without a timestamp, e.g. in tests.
    pub fn at(partition: i32, offset: i64) -> Self {
        Self {
            timestamp_ms: None,
            partition,
            offset,
        }
    }

    /// A record written at `timestamp_ms`.
    pub fn written(partition: i32, offset: i64, timestamp_ms: Option<i64>) -> Self {
        Self {
            timestamp_ms,
            partition,
            offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_order_first_then_partition_then_offset() {
        let mut sources = vec![
            Source::written(0, 9, Some(20)),
            Source::written(7, 1, Some(10)),
            Source::written(3, 5, Some(10)),
            Source::written(3, 4, Some(10)),
            Source::at(11, 0),
        ];
        sources.sort();
        assert_eq!(
            sources,
            [
                Source::at(11, 0),
                Source::written(3, 4, Some(10)),
                Source::written(3, 5, Some(10)),
                Source::written(7, 1, Some(10)),
                Source::written(0, 9, Some(20)),
            ]
        );
    }
}
