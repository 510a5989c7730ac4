//! Every kind of event projected from one partition: balances, owners, transfers, derived
//! transactions, redeliveries, and queries reading while the projection writes.

use topology::proofs::token_hash;

use super::*;
use crate::test_events::*;

/// A projector of a one-partition `bank_events`: ids 1, 2, 3, … in order.
fn projector() -> BankProjector {
    BankProjector::new(Arc::new(ReadModel::new()), 1)
}

/// Projects `events` at offsets 0, 1, … of partition 0 (after those projected before) and
/// returns everything they derived.
fn derive_all(projector: &mut BankProjector, events: &[BankEvent]) -> Vec<Derived> {
    let start = projector
        .last_projected_offset(0)
        .map_or(0, |last| last + 1);
    events
        .iter()
        .zip(start..)
        .filter_map(|(event, offset)| projector.project(Source::at(0, offset), event).unwrap())
        .collect()
}

/// Projects `events` like [`derive_all`] and returns the derived transactions.
fn project_all(projector: &mut BankProjector, events: &[BankEvent]) -> Vec<DerivedTransaction> {
    derive_all(projector, events)
        .into_iter()
        .filter_map(Derived::transaction)
        .collect()
}

fn balance(projector: &BankProjector, iban: &str) -> i64 {
    projector.read_model().account(iban).unwrap().balance
}

#[test]
fn a_new_account_has_balance_zero_the_default_limit_and_its_creator_as_owner() {
    let mut projector = projector();
    project_all(&mut projector, &[account_created(A, "alice", "ta")]);
    let account = projector.read_model().account(A).unwrap();
    assert_eq!(account.balance, 0);
    assert_eq!(account.limit, -50_000);
    assert_eq!(account.owners.len(), 1);
    assert_eq!(account.owners[0].username, "alice");
    assert_eq!(
        account.owners[0].token_hash,
        token_hash("ta"),
        "an old event's token, hashed"
    );
    assert_eq!(projector.read_model().ibans_of_user("alice"), [A]);
}

#[test]
fn an_account_opened_now_keeps_the_owners_token_hash_and_nonce_only() {
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 1);
    project_all(&mut projector, &[account_opened(A, "alice", "h-a", "n-a")]);
    let account = projector.read_model().account(A).unwrap();
    assert_eq!(account.owners[0].token_hash, "h-a");
    assert_eq!(account.owners[0].token_nonce.as_deref(), Some("n-a"));
}

#[test]
fn balances_follow_credits_debits_and_returns() {
    let mut projector = projector();
    let derived = project_all(&mut projector, &transfer_between_accounts_then_return());
    // Deposit 10_000 into A; A → B 2_500 debited; credit to B fails; 2_500 returned to A.
    assert_eq!(balance(&projector, A), 10_000);
    assert!(projector.read_model().account(B).is_none());
    let balances: Vec<(String, i64, i64)> = derived
        .iter()
        .map(|d| {
            (
                d.event.iban.clone(),
                d.event.changed_by,
                d.event.new_balance,
            )
        })
        .collect();
    assert_eq!(
        balances,
        [
            (A.into(), 10_000, 10_000),
            (A.into(), -2_500, 7_500),
            (A.into(), 2_500, 10_000)
        ]
    );
}

#[test]
fn a_debit_may_go_below_zero_down_to_what_the_command_handler_allowed() {
    let mut projector = projector();
    let t = id(1);
    project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            transfer_started(t, A, B, "rent"),
            debited(t, A, 40_000),
        ],
    );
    assert_eq!(balance(&projector, A), -40_000);
}

#[test]
fn with_one_partition_ids_are_one_sequence_across_ibans() {
    let mut projector = projector();
    let (t1, t2) = (id(1), id(2));
    let derived = project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            account_created(B, "bob", "tb"),
            transfer_started(t1, CASH, A, "deposit"),
            credited(t1, A, 100),
            transfer_completed(t1),
            transfer_started(t2, A, B, "gift"),
            debited(t2, A, 40),
            credited(t2, B, 40),
            transfer_completed(t2),
        ],
    );
    let ids: Vec<(i32, &str)> = derived
        .iter()
        .map(|d| (d.event.transaction_id, d.event.iban.as_str()))
        .collect();
    assert_eq!(ids, [(1, A), (2, A), (3, B)]);
    assert_eq!(projector.transaction_count(), 3);
    let offsets: Vec<i64> = derived.iter().map(|d| d.source.offset).collect();
    assert_eq!(offsets, [3, 6, 7]);
    assert!(derived.iter().all(|d| d.key() == d.event.iban));
}

#[test]
fn from_to_is_from_for_a_credit_to_for_a_debit_and_from_for_a_return() {
    let mut projector = projector();
    let derived = project_all(&mut projector, &transfer_between_accounts_then_return());
    let from_to: Vec<&str> = derived.iter().map(|d| d.event.from_to.as_str()).collect();
    // credit of the deposit: from cash; debit A → B: to B; return to A: the transfer's from (A).
    assert_eq!(from_to, [CASH, B, A]);
}

#[test]
fn descriptions_are_the_transfers_and_a_return_cancels_the_debit() {
    let mut projector = projector();
    let derived = project_all(&mut projector, &transfer_between_accounts_then_return());
    let descriptions: Vec<&str> = derived
        .iter()
        .map(|d| d.event.description.as_str())
        .collect();
    assert_eq!(
        descriptions,
        [
            "deposit",
            "gift",
            "Cancelled transaction with id 2 because iban not known"
        ]
    );
}

#[test]
fn non_money_events_derive_nothing() {
    let mut projector = projector();
    let t = id(9);
    let derived = project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            user_added(A, "bob", "tb"),
            user_removed(A, "bob"),
            transfer_started(t, A, B, "x"),
            transfer_failed(t, "nope"),
        ],
    );
    assert!(derived.is_empty());
    assert_eq!(projector.transaction_count(), 0);
    assert_eq!(projector.last_projected_offset(0), Some(4));
}

#[test]
fn owners_and_accounts_per_user_follow_added_and_removed_users() {
    let mut projector = projector();
    project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            account_created(B, "bob", "tb"),
            user_added(A, "bob", "tb2"),
            user_removed(A, "alice"),
        ],
    );
    let model = projector.read_model();
    assert_eq!(model.ibans_of_user("bob"), [B, A]);
    assert!(model.ibans_of_user("alice").is_empty());
    let owners: Vec<(String, String)> = model
        .account(A)
        .unwrap()
        .owners
        .into_iter()
        .map(|o| (o.username, o.token_hash))
        .collect();
    assert_eq!(
        owners,
        [("bob".to_string(), token_hash("tb2"))],
        "bob's own token"
    );
    // Shared again after leaving: the account is listed as the user's newest.
    project_all(
        &mut projector,
        &[
            user_added(B, "carol", "tc"),
            user_removed(B, "carol"),
            user_added(B, "carol", "tc2"),
        ],
    );
    let model = projector.read_model();
    assert_eq!(model.ibans_of_user("carol"), [B]);
    let carol = model
        .account(B)
        .unwrap()
        .owners
        .into_iter()
        .find(|o| o.username == "carol");
    assert_eq!(carol.map(|o| o.token_hash), Some(token_hash("tc2")));
}

#[test]
fn a_transfer_is_forgotten_once_completed_or_failed() {
    let mut projector = projector();
    let (t1, t2, t3) = (id(1), id(2), id(3));
    project_all(
        &mut projector,
        &[
            transfer_started(t1, CASH, A, "a"),
            transfer_started(t2, A, B, "b"),
            transfer_started(t3, A, B, "c"),
            transfer_completed(t1),
            transfer_failed(t2, "r"),
        ],
    );
    let model = projector.read_model();
    assert_eq!(model.transfer(&t1), None);
    assert_eq!(model.transfer(&t2), None);
    assert_eq!(model.transfer(&t3).map(|t| t.description), Some("c".into()));
}

#[test]
fn a_money_event_of_an_unknown_transfer_still_moves_the_balance() {
    let mut projector = projector();
    let derived = project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            credited(id(1), A, 500),
            debited(id(2), A, 200),
            returned(id(3), A, 50, "why"),
        ],
    );
    assert_eq!(balance(&projector, A), 350);
    let shown: Vec<(&str, &str)> = derived
        .iter()
        .map(|d| (d.event.from_to.as_str(), d.event.description.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            (UNKNOWN_COUNTERPARTY, UNKNOWN_TRANSFER_DESCRIPTION),
            (UNKNOWN_COUNTERPARTY, UNKNOWN_TRANSFER_DESCRIPTION),
            (UNKNOWN_COUNTERPARTY, "Cancelled transaction because why"),
        ]
    );
}

#[test]
fn a_return_without_a_debit_names_no_transaction() {
    let mut projector = projector();
    let t = id(1);
    let derived = project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            transfer_started(t, B, A, "x"),
            returned(t, A, 10, "because"),
        ],
    );
    assert_eq!(
        derived[0].event.description,
        "Cancelled transaction because because"
    );
    assert_eq!(derived[0].event.from_to, B);
}

#[test]
fn money_for_an_account_never_created_opens_it_without_owners() {
    let mut projector = projector();
    project_all(&mut projector, &[credited(id(1), A, 7)]);
    let account = projector.read_model().account(A).unwrap();
    assert_eq!(account.balance, 7);
    assert!(account.owners.is_empty());
}

#[test]
fn a_redelivered_offset_is_ignored() {
    let mut projector = projector();
    let t = id(1);
    let credit = credited(t, A, 100);
    project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            transfer_started(t, CASH, A, "d"),
        ],
    );
    assert!(projector
        .project(Source::at(0, 5), &credit)
        .unwrap()
        .is_some());
    assert_eq!(projector.project(Source::at(0, 5), &credit).unwrap(), None);
    assert_eq!(projector.project(Source::at(0, 3), &credit).unwrap(), None);
    assert_eq!(balance(&projector, A), 100);
    assert_eq!(projector.transaction_count(), 1);
}

#[test]
fn exhausted_transaction_ids_fail_without_touching_the_balance() {
    // With P = i32::MAX, partition 1 has one id (2); its second money event has none.
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), i32::MAX);
    let first = projector
        .project(Source::at(1, 0), &credited(id(1), A, 5))
        .unwrap();
    let first = first.and_then(Derived::transaction);
    assert_eq!(first.map(|d| d.event.transaction_id), Some(2));
    let error = projector
        .project(Source::at(1, 1), &credited(id(1), A, 5))
        .unwrap_err();
    assert_eq!(
        error,
        ProjectionError::TransactionIdsExhausted {
            partition: 1,
            sequence: 1
        }
    );
    assert_eq!(balance(&projector, A), 5);
    assert_eq!(projector.last_projected_offset(1), Some(0));
    assert_eq!(projector.transaction_count(), 1);
}

#[test]
fn an_event_of_a_partition_outside_the_count_changes_nothing() {
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 12);
    let error = projector
        .project(Source::at(12, 0), &credited(id(1), A, 5))
        .unwrap_err();
    assert_eq!(
        error,
        ProjectionError::PartitionOutOfRange {
            partition: 12,
            partitions: 12
        }
    );
    assert!(projector.read_model().account(A).is_none());
    assert_eq!(projector.last_projected_offset(12), None);
}

#[test]
fn extreme_amounts_saturate_instead_of_panicking() {
    let mut projector = projector();
    let derived = project_all(
        &mut projector,
        &[debited(id(1), A, i64::MIN), credited(id(2), A, i64::MAX)],
    );
    assert_eq!(derived[0].event.changed_by, i64::MAX);
    assert_eq!(balance(&projector, A), i64::MAX);
}

#[test]
fn rebuilding_from_the_same_events_derives_identical_events() {
    let events = mixed_history();
    let mut first = projector();
    let mut second = projector();
    let once = project_all(&mut first, &events);
    let again = project_all(&mut second, &events);
    assert!(!once.is_empty());
    assert_eq!(once, again);
}

#[test]
fn users_come_from_user_events() {
    let model = ReadModel::new();
    project_user_event(&model, &user_created("alice", "hash"));
    assert_eq!(model.password_hash("alice").as_deref(), Some("hash"));
}

#[test]
fn queries_read_while_the_projection_writes() {
    const DEPOSITS: usize = 2_000;
    let mut projector = projector();
    let model = Arc::clone(projector.read_model());
    let mut events = vec![account_created(A, "alice", "ta")];
    events.extend((0..DEPOSITS).map(|_| credited(id(1), A, 1)));
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut newest_seen = 0;
            while model.transaction_count() < DEPOSITS {
                if let Some(newest) = model.newest_transactions(A, 5).first() {
                    // Balances and ids only ever grow in this history.
                    assert!(newest.id >= newest_seen);
                    assert_eq!(newest.new_balance, i64::from(newest.id));
                    newest_seen = newest.id;
                }
                let _ = model.last_transactions();
                let _ = model.account(A);
                std::thread::yield_now();
            }
        });
        project_all(&mut projector, &events);
        assert!(reader.join().is_ok());
    });
    assert_eq!(model.account(A).map(|a| a.balance), Some(2_000));
}

#[test]
fn a_credits_own_fields_win_and_a_missing_one_falls_back_to_the_transfer() {
    let (t1, t2) = (id(1), id(2));
    let half: BankEvent = topology::MoneyCreditedEvent {
        iban: A.into(),
        amount: 1,
        id: t2,
        transfer_from: None,
        transfer_description: Some("from the event".into()),
    }
    .into();
    let mut projector = projector();
    let derived = project_all(
        &mut projector,
        &[
            transfer_started(t1, CASH, A, "deposit"),
            credited_from(t1, A, 1, "NL91ABNA0417164300", "as written"),
            transfer_started(t2, CASH, A, "from the transfer"),
            half,
        ],
    );
    let shown: Vec<(&str, &str)> = derived
        .iter()
        .map(|d| (d.event.from_to.as_str(), d.event.description.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("NL91ABNA0417164300", "as written"),
            (CASH, "from the event")
        ]
    );
}

mod partitions;

#[test]
fn a_hold_shows_on_its_account_until_captured_or_released_and_books_nothing() {
    use topology::{HoldCapturedEvent, HoldReleasedEvent, MoneyHeldEvent};
    let held = |n: u8, amount: i64| -> BankEvent {
        MoneyHeldEvent {
            id: id(n),
            iban: A.into(),
            to: B.into(),
            amount,
            description: "hotel".into(),
            username: "alice".into(),
            at_millis: Some(1_000),
            expires_at: 3_601_000,
        }
        .into()
    };
    let mut projector = projector();
    let derived = project_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            transfer_started(id(9), CASH, A, "cash"),
            credited(id(9), A, 1_000),
            held(1, 300),
            held(1, 300),
            held(2, 100),
        ],
    );
    assert_eq!(derived.len(), 1, "only the deposit is a transaction");
    let account = projector.read_model().account(A).unwrap();
    assert_eq!((account.balance, account.available()), (1_000, 600));
    assert_eq!(
        account.holds.len(),
        2,
        "a duplicated event holds nothing twice"
    );
    assert_eq!(account.holds[0].id, id(1).to_uuid_string());
    assert_eq!(
        (account.holds[0].to.as_str(), account.holds[0].expires_at),
        (B, 3_601_000)
    );

    let captured: BankEvent = HoldCapturedEvent {
        id: id(1),
        iban: A.into(),
        amount: 250,
    }
    .into();
    let released: BankEvent = HoldReleasedEvent {
        id: id(2),
        iban: A.into(),
        amount: 100,
        reason: "expired".into(),
    }
    .into();
    let derived = project_all(&mut projector, &[captured, released]);
    assert!(derived.is_empty());
    let account = projector.read_model().account(A).unwrap();
    assert_eq!((account.balance, account.available()), (1_000, 1_000));
    assert!(account.holds.is_empty());
}

#[test]
fn a_failed_run_of_a_standing_order_is_kept_on_the_paying_account() {
    use topology::schedules::run_transfer_id;
    let order = id(7);
    let set = standing_order_set(order, A, B);
    let ran = |run: u32| standing_order_ran(order, A, run);
    let first = run_transfer_id(order, 0);
    let second = run_transfer_id(order, 1);
    let mut projector = projector();
    let derived = derive_all(
        &mut projector,
        &[
            account_created(A, "alice", "ta"),
            set,
            ran(0),
            transfer_started(first, A, B, "rent"),
            transfer_failed(
                first,
                "insufficient funds would be below the limit of € -500,00",
            ),
            ran(1),
            transfer_started(second, A, B, "rent"),
            transfer_completed(second),
            transfer_started(id(8), A, B, "not a run"),
            transfer_failed(id(8), "iban not known"),
        ],
    );
    let account = projector.read_model().account(A).unwrap();
    assert_eq!(account.failed_runs.len(), 1, "{:?}", account.failed_runs);
    let failed = &account.failed_runs[0];
    assert_eq!(
        (
            failed.order.as_str(),
            failed.transfer.as_str(),
            failed.amount,
            failed.reason.as_str()
        ),
        (
            order.to_uuid_string().as_str(),
            first.to_uuid_string().as_str(),
            65_000,
            "insufficient funds would be below the limit of € -500,00"
        )
    );
    assert_eq!(account.standing_orders[0].next_run, 2);

    // Its owner is told once, from the run's TransferFailed (offset 4); the failure of a
    // transfer that is no run tells nothing.
    let told: Vec<&DerivedRunFailure> = derived
        .iter()
        .filter_map(|derived| match derived {
            Derived::RunFailure(failure) => Some(failure),
            Derived::Transaction(_) => None,
        })
        .collect();
    assert_eq!(told.len(), 1, "{derived:?}");
    let alert = &told[0].event;
    assert_eq!(told[0].source, Source::at(0, 4));
    assert_eq!(
        (
            alert.id,
            alert.transfer_id,
            alert.iban.as_str(),
            alert.amount
        ),
        (order, first, A, 65_000)
    );
    assert_eq!(
        alert.message,
        format!(
            "Standing order payment of € 650,00 from {A} to {B} (rent) failed: insufficient \
             funds would be below the limit of € -500,00"
        )
    );
}
