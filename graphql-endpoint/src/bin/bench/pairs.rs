//! Random (from, to) pairs of accounts, reproducible from a seed, so transfers cross
//! partitions (and command-handler instances) as real traffic would.

/// SplitMix64: tiny, fast and good enough to pick pairs; not for anything secret.
pub struct Pairs {
    state: u64,
    accounts: usize,
}

impl Pairs {
    /// Pairs of `accounts` (at least 2) indexes.
    pub fn new(seed: u64, accounts: usize) -> Self {
        Self {
            state: seed,
            accounts: accounts.max(2),
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`; the modulo bias is negligible for a few thousand accounts.
    fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    /// Two different account indexes, every ordered pair equally likely.
    pub fn next_pair(&mut self) -> (usize, usize) {
        let from = self.below(self.accounts);
        let mut to = self.below(self.accounts - 1);
        if to >= from {
            to += 1;
        }
        (from, to)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn never_from_an_account_to_itself_and_every_pair_occurs() {
        let mut pairs = Pairs::new(7, 4);
        let mut seen = HashSet::new();
        for _ in 0..2_000 {
            let (from, to) = pairs.next_pair();
            assert_ne!(from, to);
            assert!(from < 4 && to < 4);
            seen.insert((from, to));
        }
        assert_eq!(seen.len(), 4 * 3);
    }

    #[test]
    fn the_same_seed_gives_the_same_pairs() {
        let mut a = Pairs::new(42, 36);
        let mut b = Pairs::new(42, 36);
        for _ in 0..100 {
            assert_eq!(a.next_pair(), b.next_pair());
        }
    }
}
