//! Exactly-once publishing of derived `TransactionHappenedEvent`s.
//!
//! The read model lives in memory, so at every start the projector replays `bank_events` (one
//! partition, kept forever) from offset 0. Replaying history must rebuild the model, yet must
//! not publish history's derived events a second time. Transaction ids are deterministic (see
//! [`crate::projection`]), so the only question is *which* derived events are already out;
//! [`crate::projection::DerivedTransaction::source_offset`] answers it.
//!
//! # Intended runtime design
//!
//! - One consumer of `bank_events` partition 0, manually assigned and started at offset 0,
//!   with `enable.auto.commit=false` and `isolation.level=read_committed`. Its consumer group
//!   (e.g. `projector`) is used only to store the publishing position, never to subscribe.
//! - One transactional producer with a stable `transactional.id` (e.g. `projector-transactions`):
//!   `init_transactions` at start fences a previous instance that might still be publishing.
//! - At start: read the group's committed offset of `bank_events`/0 and turn it into the last
//!   published source offset with [`last_published_offset`]. That committed offset is the
//!   source of truth; `transaction_events` is not: it keeps records for 60 s only, so after a
//!   longer stop it would look as if nothing had ever been published.
//! - For every event: [`crate::projection::BankProjector::project`]; for a derived transaction
//!   with [`should_publish`] true, in one producer transaction: produce it to
//!   `transaction_events` keyed by [`crate::projection::DerivedTransaction::key`] (the IBAN),
//!   `send_offsets_to_transaction` with `bank_events`/0 → [`offset_to_commit`] for the group,
//!   and commit. Several derived events may share one transaction; the offset sent is the one
//!   after the last of them. Events that derive nothing need no commit.
//! - If a commit fails with an abortable error: abort and send the same batch again (the
//!   derived events are still in hand; the read model must not be fed the events twice). If
//!   the producer is fenced or fails fatally: exit, and let the restart rebuild.
//! - Queries should be answered only once the replay has reached the high watermark seen at
//!   start; before that "does not exist" answers would be wrong, not merely stale.
//! - Only the instance holding the transactional id publishes. Other instances may rebuild and
//!   answer queries; their derived events are the same and are simply not published.
//!
//! The result: a derived event is on `transaction_events` exactly once (for consumers reading
//! with `read_committed`), whatever the number of restarts.

/// Whether the derived event of `source_offset` must be published, given the last source
/// offset whose derived events are already out (`None`: nothing published yet).
pub fn should_publish(source_offset: i64, last_published: Option<i64>) -> bool {
    last_published.is_none_or(|last| source_offset > last)
}

/// The last published source offset from the group's committed offset of `bank_events`/0.
///
/// Kafka commits the *next* offset to read, so the last published one is one less. `None` (no
/// committed offset, which rdkafka reports as `Offset::Invalid`) and `0` both mean nothing was
/// published yet.
pub fn last_published_offset(committed: Option<i64>) -> Option<i64> {
    committed.filter(|&next| next > 0).map(|next| next - 1)
}

/// The offset to commit with the derived events of `source_offset`: the next one to read.
pub fn offset_to_commit(source_offset: i64) -> i64 {
    source_offset.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::projection::{BankProjector, DerivedTransaction};
    use crate::read_model::ReadModel;
    use crate::test_events::mixed_history;

    #[test]
    fn everything_is_published_when_nothing_was() {
        assert!(should_publish(0, None));
        assert!(should_publish(41, None));
    }

    #[test]
    fn only_offsets_after_the_last_published_one_are_published() {
        assert!(!should_publish(3, Some(7)));
        assert!(!should_publish(7, Some(7)));
        assert!(should_publish(8, Some(7)));
    }

    #[test]
    fn the_committed_offset_is_the_next_to_read() {
        assert_eq!(last_published_offset(None), None);
        assert_eq!(last_published_offset(Some(0)), None);
        assert_eq!(last_published_offset(Some(-1001)), None);
        assert_eq!(last_published_offset(Some(8)), Some(7));
        assert_eq!(offset_to_commit(7), 8);
        assert_eq!(last_published_offset(Some(offset_to_commit(7))), Some(7));
    }

    fn run(
        events: &[topology::BankEvent],
        last_published: Option<i64>,
    ) -> (Vec<DerivedTransaction>, Option<i64>) {
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()));
        let mut published = Vec::new();
        let mut committed = last_published.map(offset_to_commit);
        for (offset, event) in (0..).zip(events) {
            if let Some(derived) = projector.project(offset, event).unwrap() {
                if should_publish(derived.source_offset, last_published) {
                    committed = Some(offset_to_commit(derived.source_offset));
                    published.push(derived);
                }
            }
        }
        (published, committed)
    }

    #[test]
    fn a_restart_publishes_only_what_the_first_run_did_not() {
        let history = mixed_history();
        let crash_after = 12; // the first run saw offsets 0..=12: transactions 1 to 5
        let (first, committed) = run(&history[..=crash_after], None);
        let (second, _) = run(&history, last_published_offset(committed));
        let (uninterrupted, _) = run(&history, None);

        assert_eq!(first.len(), 5);
        assert_eq!(second.len(), 1);
        let together: Vec<DerivedTransaction> = first.into_iter().chain(second).collect();
        assert_eq!(together, uninterrupted);
    }

    #[test]
    fn a_restart_after_everything_was_published_publishes_nothing() {
        let history = mixed_history();
        let (all, committed) = run(&history, None);
        assert_eq!(all.len(), 6);
        let (again, _) = run(&history, last_published_offset(committed));
        assert!(again.is_empty());
    }
}
