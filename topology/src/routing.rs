//! Which partition holds an account, a user or a transfer: the one rule every producer and the
//! command handler's ownership checks share.
//!
//! Every co-partitioned topic (`partitions = "bank"` in `topology.toml`) has
//! [`crate::BANK_PARTITIONS`] partitions and is keyed so that the same key lands on the same
//! partition number of each:
//!
//! | topic | key |
//! | --- | --- |
//! | `user_events`, `user_commands` | username |
//! | `bank_events` | account events: IBAN; transfer events: the transfer's [`home`] |
//! | `bank_commands` | account commands: IBAN; MoneyTransfer and Mark…: the transfer's [`home`] |
//! | `transfer_commands` | the IBAN the money moves on |
//! | `transfer_command_feedback` | the transfer's [`home`] (where its saga waits) |
//!
//! The partition of a key is Kafka's default (murmur2 of the key bytes, as the Java client and
//! librdkafka's `murmur2_random` partitioner compute it), so records produced by any Kafka
//! client under these keys land where the command handler expects them. Producers built by
//! [`crate::kafka`] use that partitioner.

use crate::values::CASH;
use crate::BANK_PARTITIONS;

/// The partition of `key` on every co-partitioned topic.
pub fn partition_of(key: &str) -> i32 {
    partition_for(key, BANK_PARTITIONS)
}

/// The partition of `key` on a topic of `partitions` partitions (at least 1).
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let positive = murmur2(key.as_bytes()) & 0x7fff_ffff;
    positive % partitions.max(1)
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
