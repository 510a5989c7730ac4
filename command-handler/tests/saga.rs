//! The transfer saga end to end: the final event and the money events of every path.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use common::*;
use topology::proofs::token_hash;
use topology::values::new_open_iban;
use topology::{BankCommand, BankEvent, MoneyTransferCommand};

const LIMIT_REASON: &str = "insufficient funds would be below the limit of € -500,00";
const FOREIGN_IBAN: &str = "NL91ABNA0417164300";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn every_saga_path_ends_once_with_the_right_money_events() {
    let ids = Ids::fresh();
    let mut handler = start_command_handler(&ids, "saga");
    let sender = Sender::new();
    let mut watcher = Watcher::new();
    handler.wait_ready(WAIT).await;

    let alice = unique("alice");
    let bob = unique("bob");
    let (a, a_token) = open_account(&sender, &mut watcher, &alice).await;
    let (b, _b_token) = open_account(&sender, &mut watcher, &bob).await;
    let as_alice = (alice.as_str(), a_token.as_str());

    // Cash deposit: credit only.
    let deposit = transfer(&sender, as_alice, "cash", &a, 10_000).await;
    assert_eq!(outcome(&mut watcher, deposit).await, Ok(()), "deposit");
    assert_eq!(
        watcher.money_events(deposit, 1).await,
        [("credited", a.clone(), 10_000)]
    );

    // Normal transfer: debit, then credit.
    let normal = transfer(&sender, as_alice, &a, &b, 3_000).await;
    assert_eq!(
        outcome(&mut watcher, normal).await,
        Ok(()),
        "normal transfer"
    );
    assert_eq!(
        watcher.money_events(normal, 2).await,
        [
            ("debited", a.clone(), 3_000),
            ("credited", b.clone(), 3_000)
        ]
    );

    // Out of the bank: the debit completes it.
    let out = transfer(&sender, as_alice, &a, FOREIGN_IBAN, 1_000).await;
    assert_eq!(
        outcome(&mut watcher, out).await,
        Ok(()),
        "transfer out of the bank"
    );
    assert_eq!(
        watcher.money_events(out, 1).await,
        [("debited", a.clone(), 1_000)]
    );

    // Debit refused by the limit: fails with that reason, no money moves.
    let too_much = transfer(&sender, as_alice, &a, &b, 1_000_000).await;
    assert_eq!(
        outcome(&mut watcher, too_much).await,
        Err(LIMIT_REASON.into())
    );

    // Credit refused: the money goes back, then the transfer fails with the credit's reason,
    // which the MarkTransferFailed feedback also carries as additional_info.
    let nowhere = new_open_iban();
    let refused_credit = transfer(&sender, as_alice, &a, &nowhere, 500).await;
    assert_eq!(
        outcome(&mut watcher, refused_credit).await,
        Err("iban not known".into())
    );
    assert_eq!(
        watcher.money_events(refused_credit, 2).await,
        [("debited", a.clone(), 500), ("returned", a.clone(), 500)]
    );
    watcher
        .any_feedback(refused_credit, Ok(Some("iban not known".into())))
        .await;

    // Same from and to; invalid from.
    let same = transfer(&sender, as_alice, &a, &a, 100).await;
    assert_eq!(
        outcome(&mut watcher, same).await,
        Err("from and to can't be same for transfer".into())
    );
    let invalid = transfer(&sender, as_alice, "XX00NOTANIBAN", &b, 100).await;
    assert_eq!(
        outcome(&mut watcher, invalid).await,
        Err("from is invalid".into())
    );

    // A duplicate transfer id is refused and moves no money twice.
    let twice = topology::Id::random();
    let command: BankCommand = MoneyTransferCommand {
        id: twice,
        token: token_hash(&a_token),
        amount: 200,
        from: a.clone(),
        to: b.clone(),
        description: "twice".into(),
        username: alice.clone(),
    }
    .into();
    sender.send(&twice.to_uuid_string(), &command).await;
    assert_eq!(outcome(&mut watcher, twice).await, Ok(()));
    sender.send(&twice.to_uuid_string(), &command).await;
    watcher
        .expect_feedback(
            twice,
            Err("transfer was already started, current status: complete".into()),
        )
        .await;

    // Nothing of these transfers happened more than once.
    for id in [
        deposit,
        normal,
        out,
        too_much,
        refused_credit,
        same,
        invalid,
        twice,
    ] {
        let finals = watcher
            .bank_events()
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    BankEvent::TransferCompletedEvent(_) | BankEvent::TransferFailedEvent(_)
                ) && transfer_id(e) == Some(id)
            })
            .count();
        assert_eq!(finals, 1, "final events of {id}");
    }
    assert_eq!(
        money_of(&watcher, twice).len(),
        2,
        "the duplicate moved no money"
    );
    let balances = balances(&watcher.bank_events(), &[a.clone(), b.clone()]);
    assert_eq!(balances[&a], 10_000 - 3_000 - 1_000 - 200);
    assert_eq!(balances[&b], 3_000 + 200);
    assert!(handler.terminate().is_some_and(|s| s.success()));
}
