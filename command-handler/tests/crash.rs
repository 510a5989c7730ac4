//! Exactly once across a crash: 200 concurrent transfers between 20 accounts, the handler
//! killed with SIGKILL half-way and restarted with the same transactional id.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use common::*;
use topology::Id;

const ACCOUNTS: usize = 20;
const TRANSFERS: usize = 200;
const DEPOSIT: i64 = 100_000;
const FOREIGN_IBAN: &str = "NL91ABNA0417164300";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn a_killed_handler_resumes_without_losing_or_doubling_anything() {
    let ids = Ids::fresh();
    let mut handler = start_command_handler(&ids, "crash-1");
    let sender = Sender::new();
    let mut watcher = Watcher::new();
    handler.wait_ready(WAIT).await;

    let accounts = funded_accounts(&sender, &mut watcher, "crash", ACCOUNTS, DEPOSIT).await;
    let ibans: Vec<String> = accounts.iter().map(|(_, iban, _)| iban.clone()).collect();

    // Deterministic pseudo-random pairs and amounts: some transfers hit the limit, some leave
    // the bank, some fail on from = to.
    let mut next = pseudo_random(0x9E37_79B9_7F4A_7C15);
    let mut sent: BTreeMap<Id, (String, i64)> = BTreeMap::new();
    for n in 0..TRANSFERS {
        let (username, from, token) = &accounts[next(ACCOUNTS as u64) as usize];
        let to = if n % 10 == 0 {
            FOREIGN_IBAN.to_string()
        } else {
            ibans[next(ACCOUNTS as u64) as usize].clone()
        };
        let amount = 1 + next(60_000) as i64;
        let id = transfer(&sender, (username, token), from, &to, amount).await;
        sent.insert(id, (to, amount));
    }
    let ours: HashSet<Id> = sent.keys().copied().collect();
    let finals_seen = |seen: &[Seen]| finals_seen(seen, &ours);

    watcher
        .until("40% of the transfers final", |seen| {
            finals_seen(seen) >= TRANSFERS * 2 / 5
        })
        .await;
    handler.kill();
    eprintln!(
        "killed after {} of {TRANSFERS} final events",
        finals_seen(&watcher.seen)
    );

    let restarted_at = Instant::now();
    let mut handler = start_command_handler(&ids, "crash-2");
    handler.wait_ready(WAIT).await;
    eprintln!(
        "restarted instance ready after {:?}",
        restarted_at.elapsed()
    );
    watcher
        .until("every transfer final", |seen| {
            finals_seen(seen) >= TRANSFERS
        })
        .await;
    eprintln!("all final {:?} after the restart", restarted_at.elapsed());

    // The truth: bank_events from the beginning, read_committed.
    let events = all_bank_events().await;
    let finals = one_final_each(&events, &ours);
    let completed = finals.values().filter(|o| o.is_ok()).count();
    eprintln!("{completed} completed, {} failed", TRANSFERS - completed);

    let sent_out: i64 = sent
        .iter()
        .filter(|(id, (to, _))| to == FOREIGN_IBAN && finals[*id].is_ok())
        .map(|(_, (_, amount))| amount)
        .sum();
    assert_money_adds_up(&events, &ibans, DEPOSIT * ACCOUNTS as i64 - sent_out);
    assert!(handler.terminate().is_some_and(|s| s.success()));
}
