//! Holds on a real broker: placed, refused beyond the available balance, captured in part to an
//! account of another partition (through the saga), captured twice (refused), voided, and a
//! SIGKILL of the handler mid-hold: after the restart an open hold is still captured once, and
//! one that expired while no handler ran is released exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::*;
use topology::proofs::token_hash;
use topology::routing::partition_of;
use topology::{BankCommand, BankEvent, CaptureHoldCommand, HoldMoneyCommand, Id, VoidHoldCommand};

const DEPOSIT: i64 = 100_000;
const HOUR_MILLIS: i64 = 3_600_000;

struct Owner<'a> {
    username: &'a str,
    iban: &'a str,
    token: &'a str,
}

impl Owner<'_> {
    async fn hold(&self, sender: &Sender, to: &str, amount: i64, expires_in: i64) -> Id {
        let id = Id::random();
        let command: BankCommand = HoldMoneyCommand {
            id,
            token: token_hash(self.token),
            amount,
            from: self.iban.into(),
            to: to.into(),
            description: "hotel".into(),
            username: self.username.into(),
            expires_in,
        }
        .into();
        sender.send(self.iban, &command).await;
        id
    }

    async fn capture(&self, sender: &Sender, hold: Id, amount: i64) {
        let command: BankCommand = CaptureHoldCommand {
            id: hold,
            iban: self.iban.into(),
            amount,
            username: self.username.into(),
            token: token_hash(self.token),
        }
        .into();
        sender.send(self.iban, &command).await;
    }

    async fn void(&self, sender: &Sender, hold: Id) {
        let command: BankCommand = VoidHoldCommand {
            id: hold,
            iban: self.iban.into(),
            username: self.username.into(),
            token: token_hash(self.token),
        }
        .into();
        sender.send(self.iban, &command).await;
    }
}

fn released(event: &BankEvent, hold: Id, why: &str) -> bool {
    matches!(event, BankEvent::HoldReleasedEvent(e) if e.id == hold && e.reason == why)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn holds_are_captured_voided_and_expired_once_across_a_crash() {
    let ids = Ids::fresh();
    let mut handler = start_command_handler(&ids, "holds-1");
    let sender = Sender::new();
    let mut watcher = Watcher::new();
    handler.wait_ready(WAIT).await;

    let accounts = funded_accounts(&sender, &mut watcher, "holder", 1, DEPOSIT).await;
    let (username, iban, token) = &accounts[0];
    let alice = Owner {
        username,
        iban,
        token,
    };
    // The payee in another partition, so the capture's credit is a step of its own.
    let payee = loop {
        let username = unique("payee");
        let (payee, _) = open_account(&sender, &mut watcher, &username).await;
        if partition_of(&payee) != partition_of(alice.iban) {
            break payee;
        }
    };

    // € 1.000,00 booked, limit € -500,00: € 300,00 held leaves € 1.200,00 to hold or spend.
    let hotel = alice.hold(&sender, &payee, 30_000, HOUR_MILLIS).await;
    assert_eq!(watcher.feedback(hotel).await, Ok(None), "hold placed");
    let too_much = alice.hold(&sender, &payee, 120_000, HOUR_MILLIS).await;
    assert_eq!(
        watcher.feedback(too_much).await,
        Err("insufficient funds would be below the limit of € -500,00".into()),
        "the held money is not available any more"
    );
    let spent = transfer(&sender, (username, token), iban, &payee, 120_000).await;
    assert_eq!(
        outcome(&mut watcher, spent).await,
        Err("insufficient funds would be below the limit of € -500,00".into()),
        "a debit sees the available balance too"
    );

    alice.capture(&sender, hotel, 20_000).await;
    assert_eq!(outcome(&mut watcher, hotel).await, Ok(()), "captured");
    assert_eq!(
        watcher.money_events(hotel, 2).await,
        [
            ("debited", iban.clone(), 20_000),
            ("credited", payee.clone(), 20_000)
        ]
    );
    let before = watcher.seen.len();
    alice.capture(&sender, hotel, 1_000).await;
    watcher
        .expect_feedback(
            hotel,
            Err("hold is not open, current status: complete".into()),
        )
        .await;

    let voided = alice.hold(&sender, &payee, 10_000, HOUR_MILLIS).await;
    assert_eq!(watcher.feedback(voided).await, Ok(None));
    alice.void(&sender, voided).await;
    watcher
        .bank_event("the void", |e| released(e, voided, "voided"))
        .await;

    // Mid-hold: one hold to capture after the crash, one that expires while no handler runs.
    let open = alice.hold(&sender, &payee, 5_000, HOUR_MILLIS).await;
    let short = alice.hold(&sender, &payee, 7_000, 2_000).await;
    assert_eq!(watcher.feedback(open).await, Ok(None));
    assert_eq!(watcher.feedback(short).await, Ok(None));
    handler.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut handler = start_command_handler(&ids, "holds-2");
    handler.wait_ready(WAIT).await;
    watcher
        .bank_event("the expiry after the restart", |e| {
            released(e, short, "expired")
        })
        .await;
    alice.capture(&sender, open, 5_000).await;
    assert_eq!(
        outcome(&mut watcher, open).await,
        Ok(()),
        "captured after the restart"
    );

    // Nothing is released twice, and no other money moved.
    watcher
        .nothing_since(before, Duration::from_secs(3), "a second release", |_| {
            false
        })
        .await;
    let events = all_bank_events().await;
    let releases = |hold: Id| {
        events
            .iter()
            .filter(|e| matches!(e, BankEvent::HoldReleasedEvent(r) if r.id == hold))
            .count()
    };
    assert_eq!(
        (releases(short), releases(voided), releases(hotel)),
        (1, 1, 0)
    );
    let balances = balances(&events, &[iban.clone(), payee.clone()]);
    assert_eq!(balances[iban], DEPOSIT - 20_000 - 5_000);
    assert_eq!(balances[&payee], 20_000 + 5_000);
    drop(handler);
}
