//! What an account keeps besides its balance, each a piece of live data a state store saves
//! with the account: its owners, the cash deposited on its latest day, its open holds and its
//! standing orders.

use serde::{Deserialize, Serialize};
use topology::{Id, StandingOrderSchedule};

/// username → the SHA-256 of that owner's token, sorted by username. A vector, not a map: an account has one
/// owner or a few, and a `BTreeMap`'s first node alone takes about 500 bytes, which made the
/// owners the largest part of 100,000 accounts in memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Owners(pub(super) Vec<(String, String)>);

impl Owners {
    pub(super) fn position(&self, username: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(owner, _)| owner.as_str().cmp(username))
    }

    pub(super) fn get(&self, username: &str) -> Option<&str> {
        let at = self.position(username).ok()?;
        Some(self.0[at].1.as_str())
    }

    pub(super) fn insert(&mut self, username: &str, token: &str) {
        match self.position(username) {
            Ok(at) => self.0[at].1 = token.to_string(),
            Err(at) => self.0.insert(at, (username.to_string(), token.to_string())),
        }
    }

    pub(super) fn remove(&mut self, username: &str) {
        if let Ok(at) = self.position(username) {
            self.0.remove(at);
        }
    }
}

impl From<Vec<(String, String)>> for Owners {
    fn from(mut owners: Vec<(String, String)>) -> Self {
        owners.sort();
        owners.dedup_by(|a, b| a.0 == b.0);
        Owners(owners)
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

/// The cash deposited into an account on its latest day with a deposit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyDeposits {
    /// Days since the Unix epoch, UTC.
    pub day: i64,
    pub cents: i64,
}

impl DailyDeposits {
    fn day_of(at_millis: i64) -> i64 {
        at_millis.div_euclid(MILLIS_PER_DAY)
    }

    /// What was deposited on the day of `at_millis`.
    pub fn on(&self, at_millis: i64) -> i64 {
        if self.day == Self::day_of(at_millis) {
            self.cents
        } else {
            0
        }
    }

    pub(super) fn add(&mut self, at_millis: i64, cents: i64) {
        let day = Self::day_of(at_millis);
        if day > self.day {
            *self = DailyDeposits { day, cents: 0 };
        }
        if day == self.day {
            self.cents = self.cents.saturating_add(cents);
        }
    }
}

/// Money reserved on an account until it is captured, voided or expires (see [`crate::domain::holds`]):
/// what the capture's transfer needs, kept with the account because it is live data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    #[serde(with = "id_bytes")]
    pub id: Id,
    pub to: String,
    pub amount: i64,
    pub description: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

/// A hold's id in a state store: its 16 bytes.
mod id_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use topology::Id;

    pub fn serialize<S: Serializer>(id: &Id, serializer: S) -> Result<S::Ok, S::Error> {
        id.0.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        <[u8; 16]>::deserialize(deserializer).map(Id)
    }
}

/// A standing order of an account (see [`crate::domain::standing_orders`]): what each run's
/// transfer needs, and which run is next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingOrder {
    #[serde(with = "id_bytes")]
    pub id: Id,
    pub to: String,
    pub amount: i64,
    pub description: String,
    /// Who set it, and the hash of the token they set it with: each run's debit checks both.
    pub username: String,
    pub token_hash: String,
    #[serde(with = "schedule_symbol")]
    pub schedule: StandingOrderSchedule,
    pub first_at: i64,
    /// How many runs at most; `None`: until cancelled.
    pub runs: Option<u32>,
    /// The number of the next run (0 before the first).
    pub next_run: u32,
}

/// A schedule in a state store: its Avro symbol's position.
mod schedule_symbol {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use topology::StandingOrderSchedule;

    const ALL: [StandingOrderSchedule; 3] = [
        StandingOrderSchedule::Once,
        StandingOrderSchedule::Weekly,
        StandingOrderSchedule::Monthly,
    ];

    pub fn serialize<S: Serializer>(
        schedule: &StandingOrderSchedule,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        schedule.symbol().0.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<StandingOrderSchedule, D::Error> {
        let position = u32::deserialize(deserializer)?;
        ALL.into_iter()
            .find(|schedule| schedule.symbol().0 == position)
            .ok_or_else(|| serde::de::Error::custom(format!("no schedule at {position}")))
    }
}
