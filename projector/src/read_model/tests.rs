//! The read model's maps and their history, read while the projection writes them.

use super::*;

fn transaction(id: i32, iban: &str) -> Transaction {
    Transaction {
        id,
        iban: iban.into(),
        new_balance: i64::from(id),
        changed_by: 1,
        from_to: "cash".into(),
        description: String::new(),
        at_millis: None,
    }
}

fn owner(username: &str, token_hash: &str) -> Owner {
    Owner {
        username: username.into(),
        token_hash: token_hash.into(),
        token_nonce: None,
    }
}

#[test]
fn owners_keep_their_order_and_a_re_added_owner_keeps_its_place() {
    let model = ReadModel::new();
    model.add_owner("A", owner("alice", "t1"), Source::at(0, 0));
    model.add_owner("A", owner("bob", "t2"), Source::at(0, 1));
    model.add_owner("A", owner("alice", "t3"), Source::at(0, 2));
    let owners: Vec<(String, String)> = model
        .account("A")
        .unwrap()
        .owners
        .into_iter()
        .map(|o| (o.username, o.token_hash))
        .collect();
    assert_eq!(
        owners,
        [("alice".into(), "t3".into()), ("bob".into(), "t2".into())]
    );
    assert_eq!(model.ibans_of_user("alice"), ["A"]);
}

#[test]
fn a_user_without_accounts_leaves_no_entry() {
    let model = ReadModel::new();
    model.add_owner("A", owner("alice", "t"), Source::at(0, 0));
    model.remove_owner("A", "alice");
    assert!(model.ibans_of_user("alice").is_empty());
    assert!(model.accounts_by_user.is_empty());
    assert!(model.account("A").unwrap().owners.is_empty());
}

#[test]
fn transactions_are_shared_not_copied() {
    let model = ReadModel::new();
    model.append_transaction(transaction(1, "A"), Source::at(0, 0), Vec::new());
    let by_id = model.transaction(1).unwrap();
    let newest = model.newest_transactions("A", 10);
    assert!(Arc::ptr_eq(&by_id, &newest[0]));
    assert!(Arc::ptr_eq(&by_id, &model.last_transactions()[0]));
}

#[test]
fn newest_transactions_walk_backwards_and_stop_at_max() {
    let model = ReadModel::new();
    for id in 1..=5 {
        model.append_transaction(
            transaction(id, "A"),
            Source::at(0, i64::from(id)),
            Vec::new(),
        );
    }
    let ids: Vec<i32> = model
        .newest_transactions("A", 3)
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [5, 4, 3]);
    assert!(model.newest_transactions("B", 3).is_empty());
}

#[test]
fn a_round_on_its_way_to_the_store_is_read_once_from_wherever_it_is() {
    let model = ReadModel::new();
    let ids = |model: &ReadModel| -> Vec<i32> {
        model
            .newest_transactions("A", 10)
            .iter()
            .map(|t| t.id)
            .collect()
    };
    for id in 1..=3 {
        model.append_transaction(
            transaction(id, "A"),
            Source::at(0, i64::from(id)),
            Vec::new(),
        );
    }
    let round = model.take_round(Vec::new(), Vec::new());
    for id in 4..=5 {
        model.append_transaction(
            transaction(id, "A"),
            Source::at(0, i64::from(id)),
            Vec::new(),
        );
    }
    // A walk below an id (a statement's next page) starts in whichever tier holds it.
    let below = |model: &ReadModel, id: i32| -> Vec<i32> {
        let mut seen = Vec::new();
        model.walk_below("A", Some(id), &mut |t| {
            seen.push(t.id);
            ControlFlow::Continue(())
        });
        seen
    };
    let belows = |model: &ReadModel| [5, 4, 2].map(|id| below(model, id));
    let expected = [vec![4, 3, 2, 1], vec![3, 2, 1], vec![1]];
    assert_eq!(ids(&model), [5, 4, 3, 2, 1], "pending, then in flight");
    assert_eq!(belows(&model), expected);
    model.store().write(&round, false).unwrap();
    assert_eq!(ids(&model), [5, 4, 3, 2, 1], "in flight and stored: once");
    assert_eq!(belows(&model), expected);
    model.written();
    assert_eq!(ids(&model), [5, 4, 3, 2, 1], "pending, then stored");
    assert_eq!(belows(&model), expected);
    assert_eq!(model.transaction(2).map(|t| t.id), Some(2));
    assert_eq!(model.newest_transactions("A", 2).len(), 2);
}

fn listed(page: &AccountPage) -> Vec<(&str, i64, Vec<&str>)> {
    page.accounts
        .iter()
        .map(|a| {
            let owners = a.owners.iter().map(String::as_str).collect();
            (a.iban.as_str(), a.balance, owners)
        })
        .collect()
}

#[test]
fn the_account_index_follows_owners_and_accounts_without_owners() {
    let model = ReadModel::new();
    model.add_owner("B", owner("bob", "t1"), Source::at(0, 0));
    model.add_owner("A", owner("alice", "t2"), Source::at(0, 1));
    model.add_owner("B", owner("alice", "t3"), Source::at(0, 2));
    model.add_owner("B", owner("bob", "t4"), Source::at(0, 3));
    model.change_balance("B", 250);
    model.change_balance("C", -5);
    model.remove_owner("A", "alice");
    let all = model.accounts_page(None, 0, 10);
    assert_eq!(all.total, 3);
    assert_eq!(
        listed(&all),
        [
            ("A", 0, vec![]),
            ("B", 250, vec!["bob", "alice"]),
            ("C", -5, vec![])
        ]
    );
    assert_eq!(
        listed(&model.accounts_page(None, 1, 1)),
        [("B", 250, vec!["bob", "alice"])]
    );
    let past_the_end = model.accounts_page(None, 3, 10);
    assert_eq!((past_the_end.total, past_the_end.accounts.len()), (3, 0));
    let alice = AccountSearch::new(Some("alice"));
    let filtered = model.accounts_page(alice.as_ref(), 0, 10);
    assert_eq!(
        (filtered.total, listed(&filtered)),
        (1, vec![("B", 250, vec!["bob", "alice"])])
    );
    assert_eq!(model.account_count(), 3);
}

#[test]
fn a_users_accounts_are_in_the_order_of_their_sources_whatever_the_reading_order() {
    let model = ReadModel::new();
    // Read partition 7 first, although its event was written later.
    model.add_owner("B", owner("alice", "t"), Source::written(7, 0, Some(2_000)));
    model.add_owner("C", owner("alice", "t"), Source::written(3, 0, Some(3_000)));
    model.add_owner("A", owner("alice", "t"), Source::written(5, 0, Some(1_000)));
    model.add_owner("D", owner("alice", "t"), Source::written(2, 0, Some(2_000)));
    assert_eq!(model.ibans_of_user("alice"), ["A", "D", "B", "C"]);
    model.remove_owner("D", "alice");
    model.add_owner("D", owner("alice", "t"), Source::written(2, 1, Some(4_000)));
    assert_eq!(model.ibans_of_user("alice"), ["A", "B", "C", "D"]);
}

#[test]
fn first_user_creation_wins() {
    let model = ReadModel::new();
    model.create_user("alice", "h1");
    model.create_user("alice", "h2");
    assert_eq!(model.password_hash("alice").as_deref(), Some("h1"));
    assert_eq!(model.password_hash("bob"), None);
}
