//! The bench's own accounts: new users log in (which opens an account each) and deposit from
//! `cash`. IBANs are random, so the bench counts where they landed and adds accounts until
//! every partition of the bank holds enough of them.

use std::time::Duration;

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::json;
use topology::routing::partition_of;
use topology::{Id, BANK_PARTITIONS};

use crate::graphql::{GraphQl, LOGIN, TRANSFER};

/// Logins at a time: each hashes a password with argon2 (one per core on the endpoint).
const PARALLEL_LOGINS: usize = 4;
/// Cents deposited into each account: far more than the transfers of a run move out of it.
const DEPOSIT_CENTS: i64 = 100_000;
const SET_UP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Account {
    pub name: String,
    pub iban: String,
    pub token: String,
    /// The partition of the bank topics that holds the account.
    pub partition: i32,
}

/// At least `wanted` accounts, more until each partition holds `min_per_partition`.
pub async fn create(
    graphql: &GraphQl,
    run: &str,
    wanted: usize,
    min_per_partition: usize,
) -> anyhow::Result<Vec<Account>> {
    // Random IBANs fill the partitions like balls fill bins; this many more is far beyond
    // bad luck and means the IBANs do not spread at all.
    let most = wanted + 20 * BANK_PARTITIONS as usize * min_per_partition.max(1);
    let mut accounts = Vec::new();
    let mut batch = wanted;
    while batch > 0 {
        if accounts.len() + batch > most {
            bail!(
                "{most} accounts do not give every partition {min_per_partition}: {}",
                Spread::of(&accounts)
            );
        }
        let first = accounts.len();
        let created: Vec<anyhow::Result<Account>> = futures::stream::iter(first..first + batch)
            .map(|i| create_one(graphql, format!("bench-{run}-{i:04}")))
            .buffer_unordered(PARALLEL_LOGINS)
            .collect()
            .await;
        for account in created {
            accounts.push(account?);
        }
        batch = Spread::of(&accounts).missing(min_per_partition);
    }
    Ok(accounts)
}

/// Logs a new user in (which opens the account) and deposits into it.
async fn create_one(graphql: &GraphQl, name: String) -> anyhow::Result<Account> {
    let answer = graphql
        .post(
            LOGIN,
            json!({"u": name, "p": "bench password"}),
            SET_UP_TIMEOUT,
        )
        .await
        .with_context(|| format!("logging in {name}"))?;
    let login = &answer["data"]["get_account"];
    let (Some(iban), Some(token)) = (login["iban"].as_str(), login["token"].as_str()) else {
        bail!("logging in {name}: {answer}");
    };
    let account = Account {
        partition: partition_of(iban),
        name,
        iban: iban.to_string(),
        token: token.to_string(),
    };
    let answer = graphql
        .post(
            TRANSFER,
            json!({"uuid": Id::random().to_uuid_string(), "u": account.name, "t": account.token,
                   "a": DEPOSIT_CENTS, "f": "cash", "to": account.iban, "d": "bench deposit"}),
            SET_UP_TIMEOUT,
        )
        .await
        .with_context(|| format!("depositing into {}", account.iban))?;
    if answer["data"]["money_transfer"]["success"] != true {
        bail!("depositing into {}: {answer}", account.iban);
    }
    Ok(account)
}

/// How many accounts each partition holds.
pub struct Spread {
    per_partition: Vec<usize>,
}

impl Spread {
    pub fn of(accounts: &[Account]) -> Self {
        let mut per_partition = vec![0; BANK_PARTITIONS.max(1) as usize];
        for account in accounts {
            if let Some(count) = usize::try_from(account.partition)
                .ok()
                .and_then(|p| per_partition.get_mut(p))
            {
                *count += 1;
            }
        }
        Self { per_partition }
    }

    /// Accounts still lacking for every partition to hold `min` (a lower bound of how many
    /// more to create, since new ones land anywhere).
    fn missing(&self, min: usize) -> usize {
        self.per_partition
            .iter()
            .map(|&count| min.saturating_sub(count))
            .sum()
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let least = self.per_partition.iter().min().copied().unwrap_or(0);
        let most = self.per_partition.iter().max().copied().unwrap_or(0);
        let holding = self.per_partition.iter().filter(|&&c| c > 0).count();
        write!(
            f,
            "{holding} of {} partitions hold accounts, {least}–{most} each",
            self.per_partition.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_partition(partition: i32) -> Account {
        Account {
            name: String::new(),
            iban: String::new(),
            token: String::new(),
            partition,
        }
    }

    #[test]
    fn counts_what_each_partition_lacks() {
        let accounts: Vec<Account> = [0, 0, 1].into_iter().map(in_partition).collect();
        let spread = Spread::of(&accounts);
        let partitions = BANK_PARTITIONS as usize;
        assert_eq!(spread.missing(0), 0);
        // Partition 0 has 2, partition 1 has 1, the others none.
        assert_eq!(spread.missing(1), partitions - 2);
        assert_eq!(spread.missing(2), 1 + 2 * (partitions - 2));
        assert!(spread
            .to_string()
            .starts_with(&format!("2 of {partitions} partitions")));
    }
}
