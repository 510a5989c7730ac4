//! The list of every account (`AllBankAccountsQuery`): a sorted, searchable index of the IBANs
//! with their owners' usernames, kept up to date by the projection.
//!
//! - `entries` holds one entry per account in the order the accounts became known: its search
//!   text in one allocation (normalized IBAN, then the lower-case usernames), so a search is one
//!   pass over memory laid out roughly in that order, one short string per account.
//! - `by_iban` maps every IBAN to its entry in IBAN order: a page is a walk from the start,
//!   without sorting anything per query.
//!
//! The index answers with IBANs only; the read model takes balance and owners from the account
//! itself. Measured with `catch_up_bench accounts` (release, 2-core development machine), see
//! the projector section of the README.

use std::collections::{BTreeMap, HashMap};

/// The `search` of an `AllBankAccountsQuery`: keeps an account whose IBAN contains it, ignoring
/// case and white space (`nl66 open` finds `NL66OPEN0000000000`), or one of whose owners'
/// usernames contains it, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSearch {
    /// The search without white space, ASCII upper case (IBANs are ASCII).
    iban_part: String,
    /// The trimmed search, in lower case.
    username_part: String,
}

impl AccountSearch {
    /// `None` when nothing is searched: no search, or only white space.
    pub fn new(search: Option<&str>) -> Option<Self> {
        let trimmed = search.map(str::trim).filter(|s| !s.is_empty())?;
        Some(Self {
            iban_part: normalized_iban(trimmed),
            username_part: trimmed.to_lowercase(),
        })
    }

    /// Whether the account `iban` owned by `owners` is kept: the definition that the index
    /// implements on its search texts.
    pub fn matches<S: AsRef<str>>(&self, iban: &str, owners: &[S]) -> bool {
        contains(&normalized_iban(iban), &self.iban_part) || self.an_owner_matches(owners)
    }

    fn an_owner_matches<S: AsRef<str>>(&self, owners: &[S]) -> bool {
        owners
            .iter()
            .any(|owner| contains(&owner.as_ref().to_lowercase(), &self.username_part))
    }
}

/// Joins the usernames in an entry's search text.
const SEPARATOR: char = '\n';

/// An IBAN as searched: without white space, ASCII upper case.
fn normalized_iban(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Substring test for the short texts of the index: a first-byte scan, no searcher to set up.
/// Byte-wise is exact for UTF-8: a valid needle only matches at character boundaries.
fn contains(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    haystack.len() >= needle.len()
        && (0..=haystack.len() - needle.len())
            .any(|i| haystack[i] == first && &haystack[i + 1..i + needle.len()] == rest)
}

#[derive(Debug, Clone)]
struct Entry {
    /// The normalized IBAN, then each lower-case username after a [`SEPARATOR`].
    text: Box<str>,
    /// Length of the IBAN part of `text`.
    iban_len: u32,
}

impl Entry {
    fn new<S: AsRef<str>>(iban: &str, owners: &[S]) -> Self {
        let mut text = normalized_iban(iban);
        let iban_len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        for owner in owners {
            text.push(SEPARATOR);
            text.push_str(&owner.as_ref().to_lowercase());
        }
        Self {
            text: text.into_boxed_str(),
            iban_len,
        }
    }

    fn split(&self) -> (&str, &str) {
        self.text
            .split_at(usize::try_from(self.iban_len).unwrap_or(self.text.len()))
    }
}

/// A page of the index: IBANs in IBAN order, and how many accounts matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPage {
    pub total: usize,
    pub ibans: Vec<String>,
}

#[derive(Debug, Default)]
pub struct AccountIndex {
    entries: Vec<Entry>,
    by_iban: BTreeMap<Box<str>, usize>,
    /// The owners of the (in practice no) accounts where a username contains the
    /// [`SEPARATOR`]: only a search containing it can match there, and it is tested on each
    /// username of these accounts, never across two.
    separator_owners: HashMap<usize, Vec<String>>,
}

impl AccountIndex {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Makes `iban` known, without owners when it is new.
    pub fn insert(&mut self, iban: &str) {
        if !self.by_iban.contains_key(iban) {
            self.set_owners::<&str>(iban, &[]);
        }
    }

    /// Makes `iban` known with exactly these owners' usernames.
    pub fn set_owners<S: AsRef<str>>(&mut self, iban: &str, owners: &[S]) {
        let entry = Entry::new(iban, owners);
        let slot = match self.by_iban.get(iban) {
            Some(&slot) => {
                self.entries[slot] = entry;
                slot
            }
            None => {
                self.entries.push(entry);
                self.by_iban.insert(iban.into(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        if owners
            .iter()
            .any(|owner| owner.as_ref().contains(SEPARATOR))
        {
            let owners = owners.iter().map(|o| o.as_ref().to_string()).collect();
            self.separator_owners.insert(slot, owners);
        } else {
            self.separator_owners.remove(&slot);
        }
    }

    fn matches(&self, search: &AccountSearch, slot: usize, entry: &Entry) -> bool {
        let (iban, usernames) = entry.split();
        if contains(iban, &search.iban_part) {
            return true;
        }
        if search.username_part.contains(SEPARATOR) {
            // In the joined text it could match across two usernames: test them one by one.
            return self
                .separator_owners
                .get(&slot)
                .is_some_and(|owners| search.an_owner_matches(owners));
        }
        contains(usernames, &search.username_part)
    }

    /// The accounts `search` keeps (all without one), sorted by IBAN: how many, and at most
    /// `max_items` of their IBANs from position `offset` on.
    pub fn page(
        &self,
        search: Option<&AccountSearch>,
        offset: usize,
        max_items: usize,
    ) -> IndexPage {
        let Some(search) = search else {
            let ibans = self
                .by_iban
                .keys()
                .skip(offset)
                .take(max_items)
                .map(|iban| iban.to_string())
                .collect();
            return IndexPage {
                total: self.entries.len(),
                ibans,
            };
        };
        // One pass over the entries in memory order marks the matches ...
        let mut matched = vec![0u64; self.entries.len().div_ceil(64)];
        let mut total = 0;
        for (slot, entry) in self.entries.iter().enumerate() {
            if self.matches(search, slot, entry) {
                matched[slot / 64] |= 1 << (slot % 64);
                total += 1;
            }
        }
        // ... then a walk in IBAN order picks the page, stopping once it is full.
        let mut ibans = Vec::new();
        if offset < total && max_items > 0 {
            let mut position = 0;
            for (iban, &slot) in &self.by_iban {
                if matched[slot / 64] & (1 << (slot % 64)) == 0 {
                    continue;
                }
                if position >= offset {
                    ibans.push(iban.to_string());
                    if ibans.len() == max_items {
                        break;
                    }
                }
                position += 1;
            }
        }
        IndexPage { total, ibans }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(text: &str) -> AccountSearch {
        AccountSearch::new(Some(text)).expect("a search")
    }

    fn found(index: &AccountIndex, text: &str) -> Vec<String> {
        index.page(Some(&search(text)), 0, 100).ibans
    }

    #[test]
    fn blank_searches_are_none() {
        for blank in [None, Some(""), Some(" \t\n ")] {
            assert_eq!(AccountSearch::new(blank), None, "{blank:?}");
        }
    }

    #[test]
    fn an_iban_part_ignores_case_and_white_space() {
        let part = search(" nl66 open 0000 ");
        assert!(part.matches::<&str>("NL66OPEN0000000000", &[]));
        assert!(part.matches::<&str>("nl66 open 0000 0000 00", &[]));
        assert!(!part.matches::<&str>("NL39OPEN0000000001", &[]));
        // The username part keeps inner spaces.
        assert!(part.matches("NL39OPEN0000000001", &["Nl66 Open 0000-fan"]));
        assert!(!part.matches("NL39OPEN0000000001", &["nl66open0000"]));
        let mut index = AccountIndex::default();
        index.insert("NL66OPEN0000000000");
        index.insert("NL39OPEN0000000001");
        assert_eq!(found(&index, "nl66 OPEN 0000"), ["NL66OPEN0000000000"]);
    }

    #[test]
    fn a_username_part_ignores_case_also_beyond_ascii() {
        let part = search(" üNÏ ");
        assert!(part.matches("NL66OPEN0000000000", &["Ünïcode-user"]));
        assert!(!part.matches("NL66OPEN0000000000", &["unicode-user"]));
        let mut index = AccountIndex::default();
        index.set_owners("NL66OPEN0000000000", &["Ünïcode-user"]);
        index.set_owners("NL39OPEN0000000001", &["unicode-user"]);
        assert_eq!(found(&index, " üNÏ "), ["NL66OPEN0000000000"]);
    }

    #[test]
    fn a_search_never_matches_across_two_usernames() {
        let mut index = AccountIndex::default();
        index.set_owners("A", &["alice", "bob"]);
        for across in ["ice\nbob", "e\nb"] {
            assert_eq!(found(&index, across), Vec::<String>::new(), "{across:?}");
        }
        // A username with the separator in it is still found, but not across owners.
        index.set_owners("B", &["odd\nname", "bob"]);
        assert_eq!(found(&index, "d\nn"), ["B"]);
        assert_eq!(found(&index, "name\nbob"), Vec::<String>::new());
        index.set_owners("B", &["bob"]);
        assert_eq!(found(&index, "d\nn"), Vec::<String>::new());
        assert!(index.separator_owners.is_empty());
    }

    #[test]
    fn substrings_are_found_anywhere_and_only_whole() {
        for (haystack, needle, expected) in [
            ("bench-user-4242", "4242", true),
            ("bench-user-4242", "bench", true),
            ("bench-user-4242", "user-4", true),
            ("bench-user-4242", "42421", false),
            ("abc", "abcd", false),
            ("", "a", false),
            ("abc", "", true),
            ("aaab", "aab", true),
            ("ünï", "nï", true),
        ] {
            assert_eq!(contains(haystack, needle), expected, "{haystack} {needle}");
        }
    }

    #[test]
    fn owners_can_change_and_pages_are_in_iban_order() {
        let mut index = AccountIndex::default();
        index.set_owners("C", &["carol"]);
        index.set_owners("A", &["alice"]);
        index.insert("B");
        index.set_owners("C", &["carol", "alice"]);
        index.set_owners::<&str>("A", &[]);
        index.insert("C");
        assert_eq!(index.len(), 3);
        assert_eq!(
            index.page(None, 0, 10),
            IndexPage {
                total: 3,
                ibans: vec!["A".into(), "B".into(), "C".into()]
            }
        );
        assert_eq!(index.page(None, 1, 1).ibans, ["B"]);
        assert_eq!(index.page(None, 3, 10).ibans, Vec::<String>::new());
        // alice no longer owns A: her name finds C only; `insert` kept C's owners.
        assert_eq!(found(&index, "ALICE"), ["C"]);
        assert_eq!(found(&index, "carol"), ["C"]);
    }

    #[test]
    fn a_search_pages_through_its_matches_only() {
        let mut index = AccountIndex::default();
        // 300 accounts, inserted out of order; every third is owned by a "match" user.
        let iban = |n: usize| format!("NL{n:04}");
        for n in (0..300).map(|n| n * 7 % 300) {
            let owner = if n % 3 == 0 { "Match-user" } else { "other" };
            index.set_owners(&iban(n), &[owner]);
        }
        let matching: Vec<String> = (0..300).filter(|n| n % 3 == 0).map(iban).collect();
        let part = search("match");
        let mut seen = Vec::new();
        for offset in (0..100).step_by(7) {
            let page = index.page(Some(&part), offset, 7);
            assert_eq!(page.total, 100);
            seen.extend(page.ibans);
        }
        assert_eq!(seen, matching);
        assert_eq!(index.page(Some(&part), 100, 7).ibans, Vec::<String>::new());
        assert_eq!(index.page(Some(&part), 99, 7).ibans.len(), 1);
        assert_eq!(index.page(Some(&search("nobody")), 0, 7).total, 0);
    }
}
