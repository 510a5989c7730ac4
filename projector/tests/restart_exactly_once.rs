//! 1,000 transfers, SIGKILL while publishing and after, restarts with the same ids: answers stay
//! identical and no derived event is published twice (see `common` for the setup).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::time::Duration;

use common::{start_projector, Answer, EventWriter, ProjectorIds, QueryClient};
use topology::values::{new_open_iban, CASH};
use topology::{
    AllBankAccountsQuery, AllLastTransactionsQuery, BankAccountCreatedEvent, BankEvent,
    FindBankAccountQuery, Id, MoneyCreditedEvent, MoneyDebitedEvent, TransactionsByIbanQuery,
    TransferCompletedEvent, TransferStartedEvent,
};

const ACCOUNTS: usize = 4;
const TRANSFERS: usize = 1_000;
/// One deposit per account, then a debit and a credit per transfer.
const DERIVED: usize = ACCOUNTS + 2 * TRANSFERS;
/// A SIGKILLed instance stays in the query group until its session times out (45 s by
/// default), and the group's partitions wait for it; the broker's minimum keeps restarts quick.
const FAST_REJOIN: &[(&str, &str)] = &[("KAFKA_SESSION_TIMEOUT_MS", "6000")];

/// A transfer's events as the command handler writes them (the writer keys them: the
/// transfer's own by its home, the money events by their IBAN, so a transfer between two
/// accounts usually spans two partitions).
fn transfer(id: Id, from: &str, to: &str, amount: i64) -> Vec<BankEvent> {
    let description = format!("transfer of {amount}");
    let started = TransferStartedEvent {
        id,
        token: "token".into(),
        amount,
        from: from.into(),
        to: to.into(),
        description: description.clone(),
        username: "someone".into(),
        at_millis: None,
        token_hash: None,
    };
    let mut events = vec![started.into()];
    if from != CASH {
        events.push(
            MoneyDebitedEvent {
                iban: from.into(),
                amount,
                id,
            }
            .into(),
        );
    }
    events.push(
        MoneyCreditedEvent {
            iban: to.into(),
            amount,
            id,
            transfer_from: Some(from.into()),
            transfer_description: Some(description),
        }
        .into(),
    );
    events.push(TransferCompletedEvent { id }.into());
    events
}

/// Everything a client can see of the test's accounts.
async fn answers(queries: &QueryClient, ibans: &[String], owner: &str) -> Vec<Answer> {
    let mut answers = Vec::new();
    for iban in ibans {
        let account = FindBankAccountQuery {
            id: Id::random(),
            iban: iban.clone(),
        };
        answers.push(queries.bank(account).await);
        let transactions = TransactionsByIbanQuery {
            id: Id::random(),
            iban: iban.clone(),
            max_items: 1_000,
        };
        answers.push(queries.bank(transactions).await);
    }
    let all = queries
        .bank(AllLastTransactionsQuery { id: Id::random() })
        .await;
    let ours: Vec<serde_json::Value> = all
        .expect("all last transactions")
        .as_array()
        .expect("an array")
        .iter()
        .filter(|t| ibans.iter().any(|iban| t["iban"] == iban.as_str()))
        .cloned()
        .collect();
    answers.push(Ok(serde_json::Value::Array(ours)));
    let listed = AllBankAccountsQuery {
        id: Id::random(),
        offset: 0,
        max_items: 10,
        search: Some(owner.to_string()),
    };
    let listed = queries.bank(listed).await;
    assert_eq!(
        listed.as_ref().map(|page| page["total"].clone()),
        Ok(serde_json::json!(ibans.len())),
        "{listed:?}"
    );
    answers.push(listed);
    answers
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn restarts_rebuild_the_same_answers_and_publish_nothing_twice() {
    let ibans: Vec<String> = (0..ACCOUNTS).map(|_| new_open_iban()).collect();
    let owner = common::unique("restart-owner");
    let writer = EventWriter::new();

    let mut setup: Vec<BankEvent> = Vec::new();
    for iban in &ibans {
        setup.push(
            BankAccountCreatedEvent {
                iban: iban.clone(),
                token: "33333333333333333333".into(),
                username: owner.clone(),
                token_hash: None,
                token_nonce: None,
            }
            .into(),
        );
        setup.extend(transfer(Id::random(), CASH, iban, 1_000_000));
    }
    let transfers: Vec<Vec<BankEvent>> = (0..TRANSFERS)
        .map(|n| {
            let amount = i64::try_from(n % 97 + 1).expect("small");
            transfer(
                Id::random(),
                &ibans[n % ACCOUNTS],
                &ibans[(n + 1) % ACCOUNTS],
                amount,
            )
        })
        .collect();
    let (first_half, second_half) = transfers.split_at(TRANSFERS / 2);

    // Half the history before the first start, in many transactions like the command handler.
    writer.write(&[], &setup).await;
    for chunk in first_half.chunks(50) {
        writer.write(&[], &chunk.concat()).await;
    }

    let ids = ProjectorIds::unique();
    let mut projector = start_projector(&ids, "projector-restart-1", FAST_REJOIN);
    projector.wait_ready(Duration::from_secs(120)).await;

    // The other half: some while it runs, a SIGKILL right after (it may be mid-transaction),
    // the rest while it is down, so the restart must publish part of its replay.
    let (while_up, while_down) = second_half.split_at(second_half.len() / 2);
    for chunk in while_up.chunks(50) {
        writer.write(&[], &chunk.concat()).await;
    }
    projector.kill();
    let (_, counts) = common::derived_events(&ibans).await;
    eprintln!(
        "killed with {} of {DERIVED} derived events published",
        counts.len()
    );
    for chunk in while_down.chunks(50) {
        writer.write(&[], &chunk.concat()).await;
    }

    let mut projector = start_projector(&ids, "projector-restart-2", FAST_REJOIN);
    projector.wait_ready(Duration::from_secs(120)).await;
    common::wait_for_derived(&ibans, DERIVED, Duration::from_secs(120)).await;
    let queries = QueryClient::new();
    let before = answers(&queries, &ibans, &owner).await;
    // Sanity: money is conserved and every transfer is in the lists.
    let balances: i64 = before
        .iter()
        .step_by(2)
        .take(ACCOUNTS)
        .map(|account| {
            account.as_ref().expect("account")["balance"]
                .as_i64()
                .expect("balance")
        })
        .sum();
    assert_eq!(balances, 4 * 1_000_000);
    let listed: usize = before
        .iter()
        .skip(1)
        .step_by(2)
        .take(ACCOUNTS)
        .map(|list| {
            list.as_ref()
                .expect("list")
                .as_array()
                .expect("array")
                .len()
        })
        .sum();
    assert_eq!(listed, DERIVED);

    projector.kill();
    let mut projector = start_projector(&ids, "projector-restart-3", FAST_REJOIN);
    projector.wait_ready(Duration::from_secs(120)).await;
    let after = answers(&queries, &ibans, &owner).await;
    assert!(before == after, "answers changed across a restart");

    // Give a wrongly republishing instance time to show itself, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (events, counts) = common::derived_events(&ibans).await;
    assert_eq!(counts.len(), DERIVED);
    let twice: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    assert_eq!(events.len(), DERIVED);
    // Ids are unique, and each is one of its account's partition (k·P + p + 1).
    let partitions = common::bank_events_partitions();
    let ids: std::collections::HashSet<i32> = events.iter().map(|e| e.transaction_id).collect();
    assert_eq!(ids.len(), DERIVED, "transaction ids are unique");
    for event in &events {
        let partition = topology::routing::partition_for(&event.iban, partitions);
        assert_eq!(
            (event.transaction_id - 1) % partitions,
            partition,
            "{event:?}"
        );
    }
    assert!(projector.is_running(), "{}", projector.log_text());
}
