//! `AllBankAccountsQuery`: sorted by IBAN, paged, searched, and its checks in order.

use super::*;

/// (total, [IBAN, …]) of a page.
fn page_of(answer: QueryAnswer) -> (i64, Vec<String>) {
    let page = succeeded(answer);
    let ibans = page["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["iban"].as_str().unwrap().to_string())
        .collect();
    (page["total"].as_i64().unwrap(), ibans)
}

#[test]
fn all_bank_accounts_lists_every_account_sorted_by_iban_with_usernames_only() {
    // C (NL12…) < B (NL39…) < A (NL66…); C never had a transaction, D was never created.
    assert_eq!(
        succeeded(all_accounts(0, 10, None)),
        json!({"total": 3, "offset": 0, "accounts": [
            {"iban": C, "balance": 0, "owners": ["carol"]},
            {"iban": B, "balance": 2_000, "owners": ["bob", "alice"]},
            {"iban": A, "balance": 7_500, "owners": ["alice"]},
        ]})
    );
    let QueryAnswer::Succeeded(raw) = all_accounts(0, 10, None) else {
        panic!("expected success");
    };
    assert_eq!(raw.query_name, QueryName::AllBankAccountsQuery);
    for secret in [
        "token", "\"ta\"", "\"tb\"", "\"tb2\"", "\"tc\"", "password", "hash",
    ] {
        assert!(
            !raw.query_result.contains(secret),
            "{secret} in {}",
            raw.query_result
        );
    }
}

#[test]
fn all_bank_accounts_lists_an_account_without_transactions_with_balance_zero() {
    let model = model_with(&[account_created(A, "alice", "ta")]);
    let query: BankQuery = AllBankAccountsQuery {
        id: QUERY_ID,
        offset: 0,
        max_items: 10,
        search: Some("alice".into()),
    }
    .into();
    assert_eq!(
        succeeded(answer(&model, &query)),
        json!({"total": 1, "offset": 0,
               "accounts": [{"iban": A, "balance": 0, "owners": ["alice"]}]})
    );
    let empty: BankQuery = AllBankAccountsQuery {
        id: QUERY_ID,
        offset: 0,
        max_items: 10,
        search: None,
    }
    .into();
    assert_eq!(
        succeeded(answer(&model_with(&[]), &empty)),
        json!({"total": 0, "offset": 0, "accounts": []})
    );
}

#[test]
fn all_bank_accounts_pages_with_offset_and_max_items() {
    let all = |offset, max_items| page_of(all_accounts(offset, max_items, None));
    assert_eq!(all(0, 2), (3, vec![C.to_string(), B.to_string()]));
    assert_eq!(all(2, 2), (3, vec![A.to_string()]));
    assert_eq!(all(1, 1), (3, vec![B.to_string()]));
    assert_eq!(all(0, MAX_ITEMS_CAP).1.len(), 3);
    for past_the_end in [3, 4, i32::MAX] {
        assert_eq!(all(past_the_end, 10), (3, vec![]), "{past_the_end}");
    }
    assert_eq!(succeeded(all_accounts(7, 10, None))["offset"], 7);
}

#[test]
fn all_bank_accounts_pages_through_many_accounts_in_order() {
    let ibans: Vec<String> = (0..2_500)
        .map(topology::values::open_iban_for_account)
        .collect();
    let events: Vec<_> = ibans
        .iter()
        .rev()
        .map(|iban| account_created(iban, "someone", "t"))
        .collect();
    let model = model_with(&events);
    let mut sorted = ibans.clone();
    sorted.sort();
    let mut seen = Vec::new();
    for offset in (0..2_500).step_by(1_000) {
        let query: BankQuery = AllBankAccountsQuery {
            id: QUERY_ID,
            offset,
            max_items: MAX_ITEMS_CAP,
            search: Some("SOMEONE".into()),
        }
        .into();
        let (total, page) = page_of(answer(&model, &query));
        assert_eq!(total, 2_500);
        seen.extend(page);
    }
    assert_eq!(seen, sorted);
}

#[test]
fn all_bank_accounts_searches_iban_parts_and_usernames() {
    let search = |search: &str| page_of(all_accounts(0, 10, Some(search)));
    let ibans = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // A part of an IBAN, ignoring case and spaces.
    assert_eq!(search("nl39 open"), (1, ibans(&[B])));
    assert_eq!(search(" 0000 0000 02 "), (1, ibans(&[C])));
    assert_eq!(search("open"), (3, ibans(&[C, B, A])));
    // A part of an owner's username, ignoring case: alice owns B (added later) and A.
    assert_eq!(search("ALI"), (2, ibans(&[B, A])));
    assert_eq!(search("  Carol "), (1, ibans(&[C])));
    assert_eq!(search("bo"), (1, ibans(&[B])));
    // Nothing to search for keeps everything; no match is an empty page.
    for everything in ["", "   "] {
        assert_eq!(search(everything), (3, ibans(&[C, B, A])), "{everything:?}");
    }
    assert_eq!(page_of(all_accounts(0, 10, None)), search(""));
    assert_eq!(search("mallory"), (0, vec![]));
    // A token is not searchable: it is not part of the list.
    assert_eq!(search("tb2"), (0, vec![]));
    // Paging applies to the matches; total counts all of them.
    assert_eq!(page_of(all_accounts(1, 1, Some("ali"))), (2, ibans(&[A])));
    assert_eq!(page_of(all_accounts(2, 1, Some("ali"))), (2, vec![]));
}

#[test]
fn all_bank_accounts_checks_max_items_then_offset() {
    for out_of_range in [0, -1, MAX_ITEMS_CAP + 1, i32::MIN] {
        assert_eq!(
            failed(all_accounts(0, out_of_range, None)),
            "max_items should be between 1 and 1000",
            "{out_of_range}"
        );
    }
    for negative in [-1, i32::MIN] {
        assert_eq!(
            failed(all_accounts(negative, 10, Some("alice"))),
            "offset should not be negative",
            "{negative}"
        );
    }
    assert_eq!(OFFSET_IS_NEGATIVE, "offset should not be negative");
    assert_eq!(
        failed(all_accounts(-1, 0, None)),
        "max_items should be between 1 and 1000"
    );
}
