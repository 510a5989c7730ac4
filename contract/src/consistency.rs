//! Read your own writes: where a command's events went, as a token its asker hands back.
//!
//! The command handler commits a command's events and its answer in one transaction, but the
//! projector applies those events a little later, so a read right after the answer can miss
//! them. The answer therefore says how far each event partition must be read for the read
//! model to hold its effects: for every partition of [`user_events`](crate::topic_names) and
//! [`bank_events`](crate::topic_names) it wrote to, the offset after its last record there.
//! The GraphQL endpoint hands these [`Positions`] to its client as an opaque token; a read that
//! brings the token back is answered by a projector only once it has applied every one of
//! them (or, after a bounded wait, refused as not caught up yet).
//!
//! Kafka headers carry the positions, beside the trace context: [`WRITTEN_HEADER`] on the
//! command handler's answers, [`READ_AFTER_HEADER`] on the endpoint's queries. The text form
//! `bank_events:3:1204,user_events:0:17` is the same everywhere, and parsed strictly: it comes
//! back from clients.

use std::collections::BTreeMap;
use std::fmt;

use crate::topic_names::{BANK_EVENTS, USER_EVENTS};

/// On an answer to a command (and on the credit's answer between command handlers): the
/// positions of the events its transaction wrote, and of those it depends on.
pub const WRITTEN_HEADER: &str = "open-bank-written";
/// On a query: answer only after applying these positions.
pub const READ_AFTER_HEADER: &str = "open-bank-read-after";

/// The topics the projector builds its read model from: the only ones a token names.
pub const PROJECTED_TOPICS: [&str; 2] = [USER_EVENTS, BANK_EVENTS];

/// At most this many positions in a token: every partition of both event topics, twice over.
pub const MAX_POSITIONS: usize = 64;
/// The longest token text accepted.
pub const MAX_TOKEN_BYTES: usize = 2_048;
/// No topic here has more partitions (Kafka numbers them from 0).
const MAX_PARTITION: i32 = 1_023;

/// Per event partition, the offset a reader must have read up to (the offset after the last
/// record it must see).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions(BTreeMap<(&'static str, i32), i64>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("a consistency token is at most {MAX_TOKEN_BYTES} bytes")]
    TooLong,
    #[error("a consistency token names at most {MAX_POSITIONS} positions")]
    TooManyPositions,
    #[error("`{0}` is not a position like bank_events:3:1204 (topic, partition, offset)")]
    NotAPosition(String),
}

impl Positions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps, of `topic`'s partitions, what a reader must read up to; other topics are not
    /// projected and are left out.
    pub fn note(&mut self, topic: &str, partition: i32, next_offset: i64) {
        let Some(topic) = projected(topic) else {
            return;
        };
        let at = self.0.entry((topic, partition)).or_insert(next_offset);
        *at = (*at).max(next_offset);
    }

    /// Adds `other`'s positions: a read after both must wait for the later of each.
    pub fn merge(&mut self, other: &Positions) {
        for (&(topic, partition), &next) in &other.0 {
            self.note(topic, partition, next);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, i32, i64)> + '_ {
        self.0
            .iter()
            .map(|(&(topic, partition), &next)| (topic, partition, next))
    }

    /// Has a reader that read each partition up to `read(topic, partition)` (the offset after
    /// the last record it applied) seen every position?
    pub fn reached_by(&self, read: impl Fn(&str, i32) -> i64) -> bool {
        self.iter()
            .all(|(topic, partition, next)| read(topic, partition) >= next)
    }

    /// Parses a token's text; the empty text is no positions.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        if text.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLong);
        }
        let mut positions = Positions::new();
        let items = text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty());
        for (count, item) in items.enumerate() {
            if count >= MAX_POSITIONS {
                return Err(TokenError::TooManyPositions);
            }
            let (topic, partition, next) =
                parse_position(item).ok_or_else(|| TokenError::NotAPosition(item.to_string()))?;
            positions.note(topic, partition, next);
        }
        Ok(positions)
    }
}

fn projected(topic: &str) -> Option<&'static str> {
    PROJECTED_TOPICS.into_iter().find(|known| *known == topic)
}

fn parse_position(item: &str) -> Option<(&'static str, i32, i64)> {
    let mut parts = item.split(':');
    let topic = projected(parts.next()?)?;
    let partition: i32 = parts.next()?.parse().ok()?;
    let next: i64 = parts.next()?.parse().ok()?;
    let valid = parts.next().is_none() && (0..=MAX_PARTITION).contains(&partition) && next > 0;
    valid.then_some((topic, partition, next))
}

impl fmt::Display for Positions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (topic, partition, next)) in self.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{topic}:{partition}:{next}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_keeps_only_the_projected_topics() {
        let mut positions = Positions::new();
        positions.note(BANK_EVENTS, 3, 1_204);
        positions.note(USER_EVENTS, 0, 17);
        positions.note("bank_command_feedback", 3, 99);
        let text = positions.to_string();
        assert_eq!(text, "bank_events:3:1204,user_events:0:17");
        assert_eq!(Positions::parse(&text), Ok(positions));
        assert_eq!(Positions::parse(""), Ok(Positions::new()));
    }

    #[test]
    fn merging_keeps_the_later_offset_of_each_partition() {
        let mut first = Positions::parse("bank_events:3:10,bank_events:4:7").unwrap();
        let second = Positions::parse("bank_events:3:8,bank_events:5:2").unwrap();
        first.merge(&second);
        assert_eq!(
            first.to_string(),
            "bank_events:3:10,bank_events:4:7,bank_events:5:2"
        );
    }

    #[test]
    fn a_reader_reaches_the_positions_once_past_every_one() {
        let positions = Positions::parse("bank_events:3:10,user_events:0:2").unwrap();
        let read = |at: i64| {
            move |topic: &str, _partition: i32| match topic {
                BANK_EVENTS => at,
                _ => 2,
            }
        };
        assert!(!positions.reached_by(read(9)));
        assert!(positions.reached_by(read(10)));
        assert!(Positions::new().reached_by(|_, _| 0));
    }

    #[test]
    fn hostile_tokens_are_refused() {
        for bad in [
            "bank_events:3",
            "bank_events:3:10:1",
            "bank_commands:3:10",
            "bank_events:-1:10",
            "bank_events:1024:10",
            "bank_events:3:0",
            "bank_events:3:x",
            "bank_events:3:99999999999999999999",
        ] {
            assert!(
                matches!(Positions::parse(bad), Err(TokenError::NotAPosition(_))),
                "{bad}"
            );
        }
        let many = (0..65)
            .map(|p| format!("bank_events:{p}:1"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(Positions::parse(&many), Err(TokenError::TooManyPositions));
        assert_eq!(
            Positions::parse(&"x".repeat(MAX_TOKEN_BYTES + 1)),
            Err(TokenError::TooLong)
        );
    }
}
