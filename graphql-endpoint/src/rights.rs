//! Who owns what, as the projector knows it, looked up for authorization and kept for a
//! moment: a page that shows an account asks several reads at once, and every live stream of
//! a customer is re-checked every few seconds; each of them would otherwise be a query.
//!
//! An answer is kept for [`KEPT_FOR`] (1 s): that bounds how long a removed owner still reads,
//! on top of the projector's own delay. A user's own change of owners forgets what was kept.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use topology::reasons::Refusal;

use crate::bus::QueryBus;
use crate::reads::{Owner, ReadError};

const KEPT_FOR: Duration = Duration::from_secs(1);
/// Above this many kept answers, stale ones are swept on the next insert.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone)]
struct Kept<T> {
    at: Instant,
    value: T,
}

#[derive(Debug, Default)]
pub struct Rights {
    /// IBAN → its owners (None: no such account).
    accounts: DashMap<String, Kept<Option<Vec<Owner>>>>,
    /// Username → the IBANs the user owns.
    users: DashMap<String, Kept<Vec<String>>>,
}

fn fresh<T: Clone>(kept: Option<dashmap::mapref::one::Ref<'_, String, Kept<T>>>) -> Option<T> {
    kept.filter(|kept| kept.at.elapsed() < KEPT_FOR)
        .map(|kept| kept.value.clone())
}

fn keep<T>(map: &DashMap<String, Kept<T>>, key: &str, value: T) {
    if map.len() > SWEEP_ABOVE {
        map.retain(|_, kept| kept.at.elapsed() < KEPT_FOR);
    }
    map.insert(
        key.to_string(),
        Kept {
            at: Instant::now(),
            value,
        },
    );
}

impl Rights {
    /// The owners of `iban` (each with their token), or `None` when it does not exist.
    pub async fn owners_of(
        &self,
        queries: &QueryBus,
        iban: &str,
    ) -> Result<Option<Vec<Owner>>, ReadError> {
        if let Some(owners) = fresh(self.accounts.get(iban)) {
            return Ok(owners);
        }
        let owners = match queries.find_account(iban).await {
            Ok(account) => account.map(|account| account.owners),
            // Not an IBAN of this bank at all: nobody owns it.
            Err(ReadError::Refused(reason)) if reason == Refusal::IbanIsNotValid.text() => None,
            Err(other) => return Err(other),
        };
        keep(&self.accounts, iban, owners.clone());
        Ok(owners)
    }

    pub async fn owns(
        &self,
        queries: &QueryBus,
        username: &str,
        iban: &str,
    ) -> Result<bool, ReadError> {
        Ok(self
            .owners_of(queries, iban)
            .await?
            .is_some_and(|owners| owners.iter().any(|owner| owner.username == username)))
    }

    /// The hash of `username`'s own token for `iban` (what a command carries), if the user owns
    /// it.
    pub async fn token_hash_of(
        &self,
        queries: &QueryBus,
        username: &str,
        iban: &str,
    ) -> Result<Option<String>, ReadError> {
        Ok(self.owners_of(queries, iban).await?.and_then(|owners| {
            owners
                .into_iter()
                .find(|owner| owner.username == username)
                .map(|owner| owner.token_hash)
        }))
    }

    /// The IBANs `username` owns.
    pub async fn ibans_of(
        &self,
        queries: &QueryBus,
        username: &str,
    ) -> Result<Vec<String>, ReadError> {
        if let Some(ibans) = fresh(self.users.get(username)) {
            return Ok(ibans);
        }
        let ibans: Vec<String> = queries
            .accounts_of(username)
            .await?
            .into_iter()
            .map(|account| account.iban)
            .collect();
        keep(&self.users, username, ibans.clone());
        Ok(ibans)
    }

    /// After a change of owners made through this endpoint.
    pub fn forget(&self, iban: &str, usernames: &[&str]) {
        self.accounts.remove(iban);
        for username in usernames {
            self.forget_user(username);
        }
    }

    /// After a user opened an account through this endpoint.
    pub fn forget_user(&self, username: &str) {
        self.users.remove(username);
    }
}
