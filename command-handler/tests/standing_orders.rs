//! Standing orders on a real broker: a one-off order runs once at its time, to an account of
//! another partition; a weekly one runs its first time and is cancelled; a run that cannot be
//! paid fails like a transfer and is not tried again; and one that fell due while the handler
//! was SIGKILLed is made up once after the restart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::*;
use topology::proofs::token_hash;
use topology::routing::partition_of;
use topology::schedules::run_transfer_id;
use topology::{
    BankCommand, BankEvent, CancelStandingOrderCommand, Id, SetStandingOrderCommand,
    StandingOrderSchedule,
};

const DEPOSIT: i64 = 100_000;

fn now_millis() -> i64 {
    command_handler::domain::Fresh::generate().now_millis
}

struct Payer<'a> {
    username: &'a str,
    iban: &'a str,
    token: &'a str,
}

impl Payer<'_> {
    async fn order(
        &self,
        sender: &Sender,
        to: &str,
        amount: i64,
        schedule: StandingOrderSchedule,
        in_millis: i64,
    ) -> Id {
        let id = Id::random();
        let command: BankCommand = SetStandingOrderCommand {
            id,
            token: token_hash(self.token),
            amount,
            from: self.iban.into(),
            to: to.into(),
            description: "rent".into(),
            username: self.username.into(),
            schedule,
            first_at: now_millis() + in_millis,
            runs: None,
        }
        .into();
        sender.send(self.iban, &command).await;
        id
    }

    async fn cancel(&self, sender: &Sender, order: Id) -> Id {
        let command: BankCommand = CancelStandingOrderCommand {
            id: order,
            iban: self.iban.into(),
            username: self.username.into(),
            token: token_hash(self.token),
        }
        .into();
        sender.send(self.iban, &command).await;
        order
    }
}

fn ended(event: &BankEvent, order: Id, why: &str) -> bool {
    matches!(event, BankEvent::StandingOrderEndedEvent(e) if e.id == order && e.reason == why)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn standing_orders_run_once_each_also_across_a_crash() {
    let ids = Ids::fresh();
    let mut handler = start_command_handler(&ids, "orders-1");
    let sender = Sender::new();
    let mut watcher = Watcher::new();
    handler.wait_ready(WAIT).await;

    let accounts = funded_accounts(&sender, &mut watcher, "payer", 1, DEPOSIT).await;
    let (username, iban, token) = &accounts[0];
    let payer = Payer {
        username,
        iban,
        token,
    };
    let payee = loop {
        let (payee, _) = open_account(&sender, &mut watcher, &unique("landlord")).await;
        if partition_of(&payee) != partition_of(payer.iban) {
            break payee;
        }
    };

    let once = payer
        .order(&sender, &payee, 30_000, StandingOrderSchedule::Once, 2_000)
        .await;
    let weekly = payer
        .order(&sender, &payee, 5_000, StandingOrderSchedule::Weekly, 2_000)
        .await;
    let unpaid = payer
        .order(
            &sender,
            &payee,
            1_000_000,
            StandingOrderSchedule::Once,
            2_000,
        )
        .await;
    for order in [once, weekly, unpaid] {
        assert_eq!(watcher.feedback(order).await, Ok(None), "order {order} set");
    }
    assert_eq!(
        outcome(&mut watcher, run_transfer_id(once, 0)).await,
        Ok(()),
        "the one-off run"
    );
    watcher
        .bank_event("the one-off order's end", |e| ended(e, once, "completed"))
        .await;
    assert_eq!(
        outcome(&mut watcher, run_transfer_id(weekly, 0)).await,
        Ok(())
    );
    assert_eq!(
        outcome(&mut watcher, run_transfer_id(unpaid, 0)).await,
        Err("insufficient funds would be below the limit of € -500,00".into()),
        "a run that cannot be paid fails like a transfer"
    );
    let cancelled = payer.cancel(&sender, weekly).await;
    watcher
        .bank_event("the weekly order's end", |e| {
            ended(e, cancelled, "cancelled")
        })
        .await;

    // Due while no handler runs: made up once after the restart.
    let missed = payer
        .order(&sender, &payee, 2_000, StandingOrderSchedule::Once, 1_500)
        .await;
    assert_eq!(watcher.feedback(missed).await, Ok(None));
    handler.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut handler = start_command_handler(&ids, "orders-2");
    handler.wait_ready(WAIT).await;
    assert_eq!(
        outcome(&mut watcher, run_transfer_id(missed, 0)).await,
        Ok(())
    );
    watcher
        .nothing_since(0, Duration::from_secs(3), "reading on", |_| false)
        .await;

    let events = all_bank_events().await;
    let runs = |order: Id| {
        events
            .iter()
            .filter(|e| matches!(e, BankEvent::StandingOrderRanEvent(r) if r.id == order))
            .count()
    };
    assert_eq!(
        [runs(once), runs(weekly), runs(unpaid), runs(missed)],
        [1, 1, 1, 1],
        "every order ran once"
    );
    let balances = balances(&events, &[iban.clone(), payee.clone()]);
    assert_eq!(balances[iban], DEPOSIT - 30_000 - 5_000 - 2_000);
    assert_eq!(balances[&payee], 30_000 + 5_000 + 2_000);
    drop(handler);
}
