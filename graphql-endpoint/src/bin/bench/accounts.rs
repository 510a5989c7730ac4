//! The bench's own accounts: one new customer per run signs up (which opens a first account),
//! logs in once, opens the other accounts with that session and deposits into each from
//! `cash`. IBANs are random, so the bench counts where they landed and opens accounts until
//! every partition of the bank holds enough of them.
//!
//! One customer, not one per account: every password check (a sign-up, a login) counts against
//! the endpoint's per-address login throttle (10 at once, then one every 2 s), while opening an
//! account with a session checks none; and the customer's one session lets one subscription
//! watch all of the run's accounts. The transfers themselves carry each account's token, as
//! before, and check no password.

use std::time::Duration;

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::{json, Value};
use topology::routing::partition_of;
use topology::{Id, BANK_PARTITIONS};

use crate::graphql::{GraphQl, LOGIN, OPEN_ACCOUNT, SIGN_UP, TRANSFER};

/// Accounts opened at a time.
const PARALLEL_OPENS: usize = 4;
/// Cents deposited into each account: far more than the transfers of a run move out of it,
/// and within a cash deposit's limit (€ 10.000,00 each, € 25.000,00 per account a day).
const DEPOSIT_CENTS: i64 = 100_000;
const SET_UP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Account {
    pub name: String,
    pub iban: String,
    pub token: String,
    /// The partition of the bank topics that holds the account.
    pub partition: i32,
}

/// The run's customer: the endpoint with their session, and the session itself (for the
/// subscriptions' `connection_init`).
pub struct Customer {
    pub graphql: GraphQl,
    pub session: String,
}

/// The run's customer and at least `wanted` accounts of theirs, more until each partition
/// holds `min_per_partition`.
pub async fn create(
    graphql: &GraphQl,
    run: &str,
    wanted: usize,
    min_per_partition: usize,
) -> anyhow::Result<(Customer, Vec<Account>)> {
    let (customer, first) = sign_up(graphql, &format!("bench-{run}")).await?;
    deposit(&customer.graphql, &first).await?;
    // Random IBANs fill the partitions like balls fill bins; this many more is far beyond
    // bad luck and means the IBANs do not spread at all.
    let most = wanted + 20 * BANK_PARTITIONS as usize * min_per_partition.max(1);
    let mut accounts = vec![first];
    let mut batch = wanted.saturating_sub(1);
    if batch == 0 {
        batch = Spread::of(&accounts).missing(min_per_partition);
    }
    while batch > 0 {
        if accounts.len() + batch > most {
            bail!(
                "{most} accounts do not give every partition {min_per_partition}: {}",
                Spread::of(&accounts)
            );
        }
        let opened: Vec<anyhow::Result<Account>> = futures::stream::iter(0..batch)
            .map(|_| open_one(&customer.graphql, &accounts[0].name))
            .buffer_unordered(PARALLEL_OPENS)
            .collect()
            .await;
        for account in opened {
            accounts.push(account?);
        }
        batch = Spread::of(&accounts).missing(min_per_partition);
    }
    Ok((customer, accounts))
}

/// Signs a new customer up with a random password (strong, as the endpoint wants new ones)
/// and logs them in: their first account and their session.
async fn sign_up(graphql: &GraphQl, name: &str) -> anyhow::Result<(Customer, Account)> {
    let password = format!("bench {}", uuid::Uuid::new_v4().simple());
    let credentials = json!({"u": name, "p": password});
    let answer = graphql
        .post(SIGN_UP, credentials.clone(), SET_UP_TIMEOUT)
        .await
        .with_context(|| format!("signing up {name}"))?;
    let first = account(name, &answer["data"]["get_account"])
        .with_context(|| format!("signing up {name}: {answer}"))?;
    let answer = graphql
        .post(LOGIN, credentials, SET_UP_TIMEOUT)
        .await
        .with_context(|| format!("logging in {name}"))?;
    let Some(session) = answer["data"]["login"]["token"].as_str() else {
        bail!("logging in {name}: {answer}");
    };
    let customer = Customer {
        graphql: graphql.with_session(session),
        session: session.to_string(),
    };
    Ok((customer, first))
}

/// The account in a `get_account` or `open_account` answer.
fn account(name: &str, answer: &Value) -> anyhow::Result<Account> {
    let (Some(iban), Some(token)) = (answer["iban"].as_str(), answer["token"].as_str()) else {
        bail!("no account: {}", answer["reason"]);
    };
    Ok(Account {
        partition: partition_of(iban),
        name: name.to_string(),
        iban: iban.to_string(),
        token: token.to_string(),
    })
}

/// Opens one more account of the logged-in customer and deposits into it.
async fn open_one(customer: &GraphQl, name: &str) -> anyhow::Result<Account> {
    let answer = customer
        .post(OPEN_ACCOUNT, json!({}), SET_UP_TIMEOUT)
        .await
        .context("opening an account")?;
    let account = account(name, &answer["data"]["open_account"])
        .with_context(|| format!("opening an account: {answer}"))?;
    deposit(customer, &account).await?;
    Ok(account)
}

async fn deposit(graphql: &GraphQl, account: &Account) -> anyhow::Result<()> {
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
    Ok(())
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
