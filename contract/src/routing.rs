//! Which partition holds an account, a user or a transfer: the one rule every producer and the
//! command handler's ownership checks ([`Ownership`]) share.
//!
//! Every co-partitioned topic (`partitions = "bank"` in `topology.toml`) has
//! [`crate::BANK_PARTITIONS`] partitions and is keyed so that the same key lands on the same
//! partition number of each:
//!
//! | topic | key |
//! | --- | --- |
//! | `user_events`, `user_commands` | username |
//! | `bank_events` | account events (holds and standing orders too): IBAN; transfer events: the transfer's [`home`] |
//! | `bank_commands` | account commands (holds: the held IBAN); MoneyTransfer and Mark…: the transfer's [`home`] |
//! | `transfer_commands` | the IBAN the money moves on |
//! | `transfer_command_feedback` | the transfer's [`home`] (where its saga waits) |
//!
//! The partition of a key is Kafka's default (murmur2 of the key bytes, as the Java client and
//! librdkafka's `murmur2_random` partitioner compute it), so records produced by any Kafka
//! client under these keys land where the command handler expects them. Producers built by
//! `topology::kafka` use that partitioner.

use std::collections::{BTreeSet, HashMap};

use crate::values::CASH;
use crate::{BankEvent, Id, UserEvent, BANK_PARTITIONS};

/// The partition of `key` on every co-partitioned topic.
pub fn partition_of(key: &str) -> i32 {
    partition_for(key, BANK_PARTITIONS)
}

/// The partition of `key` on a topic of `partitions` partitions (at least 1).
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let positive = murmur2(key.as_bytes()) & 0x7fff_ffff;
    positive % partitions.max(1)
}

/// The partitions of the co-partitioned topics an instance decides for: it owns a key when the
/// key's partition ([`partition_of`]) is one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownership {
    partitions: BTreeSet<i32>,
}

impl Ownership {
    pub fn new(partitions: impl IntoIterator<Item = i32>) -> Self {
        Self {
            partitions: partitions.into_iter().collect(),
        }
    }

    /// Every partition: a single instance, or a test.
    pub fn all() -> Self {
        Self::new(0..BANK_PARTITIONS)
    }

    pub fn owns(&self, key: &str) -> bool {
        self.owns_partition(partition_of(key))
    }

    pub fn owns_partition(&self, partition: i32) -> bool {
        self.partitions.contains(&partition)
    }

    /// The owned partitions, in ascending order.
    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.partitions.iter().copied()
    }
}

/// The account a transfer belongs to: its `from` (where the money leaves and, on failure,
/// returns), or for a deposit from `cash` its `to`. The transfer's own events, its saga and
/// every answer about it live in this account's partition.
pub fn home<'a>(from: &'a str, to: &'a str) -> &'a str {
    if from == CASH {
        to
    } else {
        from
    }
}

/// The key of a `user_events` record: its username.
pub fn user_event_key(event: &UserEvent) -> &str {
    match event {
        UserEvent::UserAccountCreatedEvent(e) => &e.username,
        UserEvent::UserPasswordChangedEvent(e) => &e.username,
    }
}

/// The key of a `bank_events` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankEventKey {
    /// The IBAN, or the transfer's home account.
    Routed(String),
    /// The end of a transfer whose TransferStarted was not seen: keyed by the transfer id, as
    /// the command handler does then. Never happens in a history the handler wrote.
    UnknownTransfer(Id),
}

impl BankEventKey {
    pub fn into_string(self) -> String {
        match self {
            BankEventKey::Routed(key) => key,
            BankEventKey::UnknownTransfer(id) => id.to_uuid_string(),
        }
    }
}

/// Keys `bank_events` records read or written in order, the way the command handler keys
/// them: account and money events by the IBAN they change, a transfer's own events by its
/// home. TransferCompleted / TransferFailed carry only the transfer id, so the home of each
/// transfer is remembered from its TransferStarted.
#[derive(Debug, Default)]
pub struct TransferHomes {
    homes: HashMap<Id, String>,
}

impl TransferHomes {
    /// Remembers the home of a transfer from its TransferStarted; other events are ignored.
    pub fn learn(&mut self, event: &BankEvent) {
        if let BankEvent::TransferStartedEvent(e) = event {
            self.homes.insert(e.id, home(&e.from, &e.to).to_string());
        }
    }

    /// How many transfers have a known home.
    pub fn transfers(&self) -> usize {
        self.homes.len()
    }

    pub fn key(&self, event: &BankEvent) -> BankEventKey {
        let transfer = |id: &Id| {
            self.homes
                .get(id)
                .map_or(BankEventKey::UnknownTransfer(*id), |home| {
                    BankEventKey::Routed(home.clone())
                })
        };
        let routed = |key: &str| BankEventKey::Routed(key.to_string());
        match event {
            BankEvent::BankAccountCreatedEvent(e) => routed(&e.iban),
            BankEvent::UserAddedToBankAccountEvent(e) => routed(&e.iban),
            BankEvent::UserRemovedFromBankAccountEvent(e) => routed(&e.iban),
            BankEvent::MoneyDebitedEvent(e) => routed(&e.iban),
            BankEvent::MoneyCreditedEvent(e) => routed(&e.iban),
            BankEvent::MoneyReturnedEvent(e) => routed(&e.iban),
            BankEvent::CreditRefusedEvent(e) => routed(&e.iban),
            BankEvent::AlertSetEvent(e) => routed(&e.iban),
            BankEvent::AlertRemovedEvent(e) => routed(&e.iban),
            BankEvent::MoneyHeldEvent(e) => routed(&e.iban),
            BankEvent::HoldCapturedEvent(e) => routed(&e.iban),
            BankEvent::HoldReleasedEvent(e) => routed(&e.iban),
            BankEvent::StandingOrderSetEvent(e) => routed(&e.iban),
            BankEvent::StandingOrderRanEvent(e) => routed(&e.iban),
            BankEvent::StandingOrderEndedEvent(e) => routed(&e.iban),
            BankEvent::TransferStartedEvent(e) => routed(home(&e.from, &e.to)),
            BankEvent::TransferCompletedEvent(e) => transfer(&e.id),
            BankEvent::TransferFailedEvent(e) => transfer(&e.id),
        }
    }

    /// [`TransferHomes::learn`], then [`TransferHomes::key`]: for events taken in log order.
    pub fn key_next(&mut self, event: &BankEvent) -> String {
        self.learn(event);
        self.key(event).into_string()
    }
}

/// Kafka's murmur2 (32-bit MurmurHash2 with seed 0x9747b28c), as a signed int like Java's.
fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= u32::from(tail[2]) << 16;
        }
        if tail.len() >= 2 {
            h ^= u32::from(tail[1]) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values the Kafka project's own tests expect of its murmur2.
    #[test]
    fn murmur2_matches_kafka() {
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()), expected, "{key}");
        }
    }

    #[test]
    fn partitions_are_in_range_and_stable() {
        for n in [1, 2, 12, 24] {
            for key in ["NL66OPEN0000000000", "alice", "", "cash"] {
                let p = partition_for(key, n);
                assert!((0..n).contains(&p), "{key} on {n}: {p}");
                assert_eq!(p, partition_for(key, n));
            }
        }
        assert_eq!(partition_for("anything", 1), 0);
    }

    #[test]
    fn an_instance_owns_the_keys_of_its_partitions() {
        let alice = partition_of("alice");
        let owned = Ownership::new([alice]);
        assert!(owned.owns("alice"));
        assert!(owned.owns_partition(alice));
        assert_eq!(owned.partitions().collect::<Vec<_>>(), [alice]);
        assert!(!Ownership::default().owns("alice"));
        assert!(Ownership::all().owns("alice"));
        assert_eq!(
            Ownership::all().partitions().count(),
            BANK_PARTITIONS as usize
        );
    }

    #[test]
    fn a_transfer_lives_with_the_money_that_leaves() {
        assert_eq!(
            home("NL66OPEN0000000000", "NL01OPEN0000000001"),
            "NL66OPEN0000000000"
        );
        assert_eq!(home(CASH, "NL01OPEN0000000001"), "NL01OPEN0000000001");
    }

    #[test]
    fn accounts_spread_over_the_partitions() {
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..200 {
            seen.insert(partition_for(&format!("NL00OPEN{n:010}"), 12));
        }
        assert_eq!(seen.len(), 12);
    }
}
