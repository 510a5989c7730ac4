//! Several command-handler instances sharing the bank's partitions: concurrent transfers between
//! accounts spread over every partition (inside the bank, out of it, refused) while instances
//! are SIGKILLed and restarted, one is added, one is stopped and one is frozen (SIGSTOP) past
//! its session and woken up. Afterwards every transfer has
//! exactly one final state, nothing is booked twice, a failed transfer moved nothing net, and
//! the balances add up to the deposits minus what left the bank.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use common::*;
use topology::routing::partition_of;
use topology::{BankEvent, Id, BANK_PARTITIONS};

const ACCOUNTS: usize = 36;
const TRANSFERS: usize = 360;
const DEPOSIT: i64 = 100_000;
const FOREIGN_IBAN: &str = "NL91ABNA0417164300";
/// Bound on one handover: session timeout (10 s) + aborting a dead transaction + the rebuild.
const HANDOVER_WAIT: Duration = Duration::from_secs(60);

struct Cluster {
    group: String,
    prefix: String,
    instances: BTreeMap<usize, ServiceProcess>,
}

impl Cluster {
    fn new() -> Self {
        let ids = Ids::fresh();
        Self {
            group: ids.group,
            prefix: ids.transactional_id,
            instances: BTreeMap::new(),
        }
    }

    fn start(&mut self, n: usize, run: usize) {
        let ids = Ids {
            transactional_id: format!("{}-{n}", self.prefix),
            group: self.group.clone(),
        };
        let process = start_command_handler(&ids, &format!("scale-{n}-{run}"));
        self.instances.insert(n, process);
    }

    async fn wait_ready(&mut self) {
        for process in self.instances.values_mut() {
            process.wait_ready(WAIT).await;
        }
    }

    /// Waits until the running instances together serve every partition, each exactly once;
    /// returns how long that took.
    async fn wait_all_served(&mut self, since: Instant) -> Duration {
        let deadline = Instant::now() + HANDOVER_WAIT;
        loop {
            let mut served = Vec::new();
            let mut all_ready = true;
            for process in self.instances.values() {
                match process.health().await {
                    Some((200, body)) => served.extend(
                        body["partitions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|p| p.as_i64()),
                    ),
                    _ => all_ready = false,
                }
            }
            served.sort_unstable();
            let expected: Vec<i64> = (0..i64::from(BANK_PARTITIONS)).collect();
            if all_ready && served == expected {
                return since.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "partitions not all served within {HANDOVER_WAIT:?}: {served:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Partition tasks each running instance opened so far.
    async fn rebuilt_counts(&self) -> BTreeMap<usize, u64> {
        let mut counts = BTreeMap::new();
        for (n, process) in &self.instances {
            if let Some((_, body)) = process.health().await {
                counts.insert(*n, body["partitions_rebuilt"].as_u64().unwrap_or_default());
            }
        }
        counts
    }

    /// Waits until every partition is served again after a change at `since`; answers how long
    /// that took and how many partitions the running instances rebuilt for it (`before`: their
    /// counts when the change began).
    async fn handover(&mut self, since: Instant, before: &BTreeMap<usize, u64>) -> (Duration, u64) {
        let took = self.wait_all_served(since).await;
        let rebuilt = self
            .rebuilt_counts()
            .await
            .iter()
            .map(|(n, count)| count.saturating_sub(before.get(n).copied().unwrap_or_default()))
            .sum();
        (took, rebuilt)
    }

    fn counters(bodies: &[serde_json::Value], field: &str) -> u64 {
        bodies.iter().filter_map(|b| b[field].as_u64()).sum()
    }

    async fn health_bodies(&self) -> Vec<serde_json::Value> {
        let mut bodies = Vec::new();
        for process in self.instances.values() {
            if let Some((_, body)) = process.health().await {
                bodies.push(body);
            }
        }
        bodies
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn instances_come_and_go_without_losing_or_doubling_money() {
    let mut cluster = Cluster::new();
    for n in 1..=3 {
        cluster.start(n, 1);
    }
    cluster.wait_ready().await;
    let started = Instant::now();
    let first = cluster.wait_all_served(started).await;
    eprintln!("3 instances serve all {BANK_PARTITIONS} partitions after {first:?}");

    let sender = Sender::new();
    let mut watcher = Watcher::new();
    let accounts = funded_accounts(&sender, &mut watcher, "scale", ACCOUNTS, DEPOSIT).await;
    let ibans: Vec<String> = accounts.iter().map(|(_, iban, _)| iban.clone()).collect();
    let partitions: BTreeSet<i32> = ibans.iter().map(|iban| partition_of(iban)).collect();
    eprintln!(
        "{ACCOUNTS} accounts over {} of {BANK_PARTITIONS} partitions",
        partitions.len()
    );

    // Deterministic pseudo-random pairs and amounts: some transfers hit the limit, some leave
    // the bank, some fail on from = to.
    let mut next = pseudo_random(0x2545_F491_4F6C_DD1D);
    let mut sent: BTreeMap<Id, (String, String, i64)> = BTreeMap::new();
    let mut faults = Vec::new();
    let mut handovers = Vec::new();
    for n in 0..TRANSFERS {
        let (username, from, token) = &accounts[next(ACCOUNTS as u64) as usize];
        let to = if n % 10 == 0 {
            FOREIGN_IBAN.to_string()
        } else {
            ibans[next(ACCOUNTS as u64) as usize].clone()
        };
        let amount = 1 + next(60_000) as i64;
        let id = transfer(&sender, (username, token), from, &to, amount).await;
        sent.insert(id, (from.clone(), to, amount));
        tokio::time::sleep(Duration::from_millis(10)).await;
        // The faults, spread over the run while transfers keep coming.
        match n {
            40 => {
                let before = cluster.rebuilt_counts().await;
                if let Some(process) = cluster.instances.get_mut(&2) {
                    process.kill();
                }
                cluster.instances.remove(&2);
                faults.push("SIGKILL instance 2");
                let at = Instant::now();
                let took = cluster.handover(at, &before).await;
                handovers.push(("instance 2 killed, others take over", took));
            }
            100 => {
                let before = cluster.rebuilt_counts().await;
                let at = Instant::now();
                cluster.start(2, 2);
                cluster.wait_ready().await;
                faults.push("restart instance 2");
                handovers.push(("instance 2 back", cluster.handover(at, &before).await));
            }
            160 => {
                let before = cluster.rebuilt_counts().await;
                let at = Instant::now();
                cluster.start(4, 1);
                cluster.wait_ready().await;
                faults.push("add instance 4");
                handovers.push(("instance 4 added", cluster.handover(at, &before).await));
            }
            220 => {
                let before = cluster.rebuilt_counts().await;
                let at = Instant::now();
                if let Some(mut stopped) = cluster.instances.remove(&1) {
                    let status = stopped.terminate();
                    assert!(
                        status.is_some_and(|s| s.success()),
                        "instance 1 stops cleanly"
                    );
                }
                faults.push("stop instance 1 (SIGTERM)");
                handovers.push(("instance 1 stopped", cluster.handover(at, &before).await));
            }
            250 => {
                // A zombie: frozen past its session while transfers keep coming, then woken up
                // with whatever it had read. The group has moved on, so nothing it decided on
                // its stale state may commit.
                let before = cluster.rebuilt_counts().await;
                let at = Instant::now();
                if let Some(process) = cluster.instances.get_mut(&4) {
                    process.pause();
                }
                faults.push("SIGSTOP instance 4 for 15 s");
                let mut frozen = cluster.instances.remove(&4);
                handovers.push(("instance 4 frozen", cluster.handover(at, &before).await));
                // Past its session and transaction timeouts (10 s each).
                tokio::time::sleep(Duration::from_secs(15).saturating_sub(at.elapsed())).await;
                if let Some(process) = frozen.as_mut() {
                    process.resume();
                }
                faults.push("SIGCONT instance 4");
                // Woken past its transaction timeout, it finds its producer fenced (the
                // coordinator aborted the transaction it held) and exits with code 2, having
                // committed nothing; a supervisor starts it again. Woken between two
                // transactions, it simply rejoins.
                if let Some(mut process) = frozen {
                    match process.wait_exit(Duration::from_secs(5)) {
                        Some(status) => {
                            assert_eq!(status.code(), Some(2), "a woken zombie exits as fenced");
                            faults.push("instance 4 exited as fenced; restarted");
                            cluster.start(4, 2);
                        }
                        None => {
                            cluster.instances.insert(4, process);
                        }
                    }
                }
                let before = cluster.rebuilt_counts().await;
                let at = Instant::now();
                cluster.wait_ready().await;
                handovers.push(("instance 4 woke up", cluster.handover(at, &before).await));
            }
            280 => {
                let before = cluster.rebuilt_counts().await;
                if let Some(process) = cluster.instances.get_mut(&3) {
                    process.kill();
                }
                cluster.instances.remove(&3);
                faults.push("SIGKILL instance 3");
                let at = Instant::now();
                handovers.push(("instance 3 killed", cluster.handover(at, &before).await));
                cluster.start(3, 2);
                faults.push("restart instance 3");
            }
            _ => {}
        }
    }
    cluster.wait_ready().await;

    let ours: HashSet<Id> = sent.keys().copied().collect();
    watcher
        .until("every transfer final", |seen| {
            finals_seen(seen, &ours) >= TRANSFERS
        })
        .await;

    // The truth: bank_events from the beginning, every partition, read_committed.
    let events = all_bank_events().await;
    let finals = one_final_each(&events, &ours);
    let mut bookings: BTreeMap<(Id, &'static str), usize> = BTreeMap::new();
    let mut net: BTreeMap<Id, i64> = BTreeMap::new();
    for event in &events {
        match event {
            BankEvent::MoneyDebitedEvent(e) if ours.contains(&e.id) => {
                *bookings.entry((e.id, "debit")).or_default() += 1;
                *net.entry(e.id).or_default() -= e.amount;
            }
            BankEvent::MoneyCreditedEvent(e) if ours.contains(&e.id) => {
                *bookings.entry((e.id, "credit")).or_default() += 1;
                *net.entry(e.id).or_default() += e.amount;
            }
            BankEvent::MoneyReturnedEvent(e) if ours.contains(&e.id) => {
                *bookings.entry((e.id, "return")).or_default() += 1;
                *net.entry(e.id).or_default() += e.amount;
            }
            _ => {}
        }
    }
    for ((id, kind), count) in &bookings {
        assert_eq!(*count, 1, "transfer {id}: {kind} booked {count} times");
    }
    let mut completed = 0;
    let mut across = 0;
    for (id, (from, to, amount)) in &sent {
        let moved = net.get(id).copied().unwrap_or_default();
        if finals[id].is_ok() {
            completed += 1;
            let expected = if to == FOREIGN_IBAN { -amount } else { 0 };
            assert_eq!(moved, expected, "completed transfer {id} moved {moved}");
        } else {
            assert_eq!(moved, 0, "failed transfer {id} moved {moved} net");
        }
        if to != FOREIGN_IBAN && partition_of(from) != partition_of(to) {
            across += 1;
        }
    }
    let sent_out: i64 = sent
        .iter()
        .filter(|(id, (_, to, _))| to == FOREIGN_IBAN && finals[*id].is_ok())
        .map(|(_, (_, _, amount))| amount)
        .sum();
    assert_money_adds_up(&events, &ibans, DEPOSIT * ACCOUNTS as i64 - sent_out);

    let bodies = cluster.health_bodies().await;
    eprintln!("--- scale-out figures ---");
    eprintln!(
        "transfers: {TRANSFERS} ({completed} completed, {} failed), {across} between accounts in different partitions",
        TRANSFERS - completed
    );
    eprintln!("faults: {}", faults.join(", "));
    for (what, (took, rebuilt)) in &handovers {
        eprintln!(
            "handover: {what}: all partitions served again after {took:.1?}, {rebuilt} of {BANK_PARTITIONS} partitions rebuilt"
        );
    }
    eprintln!(
        "running instances now: local transfers {}, through the saga across instances {}",
        Cluster::counters(&bodies, "transfers_local"),
        Cluster::counters(&bodies, "transfers_across_instances")
    );
    for (_, mut process) in std::mem::take(&mut cluster.instances) {
        assert!(process.terminate().is_some_and(|s| s.success()));
    }
}
