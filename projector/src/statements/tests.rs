use super::*;
use crate::projection::BankProjector;
use crate::queries::{IBAN_IS_NOT_VALID, MAX_ITEMS_OUT_OF_RANGE as LIST_MAX_ITEMS};
use crate::source::Source;
use crate::test_events::*;
use topology::{BankEvent, Id};

/// Account A opened at 1,000; at 2,000, 3,000, ... 11,000 ten deposits of 1..=10 €, then at
/// 12,000 a withdrawal of 5 €; account B opened at 1,000 without transactions.
fn model() -> Arc<ReadModel> {
    let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 1);
    let mut events: Vec<(i64, BankEvent)> = vec![
        (1_000, account_created(A, "alice", "ta")),
        (1_000, account_created(B, "bob", "tb")),
    ];
    for n in 1..=10u8 {
        events.push((
            1_000 + 1_000 * i64::from(n),
            credited(id(n), A, 100 * i64::from(n)),
        ));
    }
    events.push((12_000, debited(id(11), A, 500)));
    for (offset, (at, event)) in (0..).zip(&events) {
        projector
            .project(Source::written(0, offset, Some(*at)), event)
            .expect("projects");
    }
    Arc::clone(projector.read_model())
}

fn query(iban: &str, since: i64, until: i64, max_items: i32) -> StatementQuery {
    StatementQuery {
        id: Id([1; 16]),
        iban: iban.into(),
        since,
        until,
        before: None,
        max_items,
    }
}

/// Every page of a statement, asked one after another as the endpoint does.
fn pages(model: &ReadModel, first: StatementQuery) -> Vec<StatementPage> {
    let mut pages = Vec::new();
    let mut query = first;
    loop {
        let page = statement_page(model, &query).expect("a page");
        let next = page.next_before;
        pages.push(page);
        match next {
            Some(before) => query.before = Some(before),
            None => return pages,
        }
    }
}

fn amounts(pages: &[StatementPage]) -> Vec<i64> {
    pages
        .iter()
        .flat_map(|page| page.transactions.iter().map(|t| t.changed_by))
        .collect()
}

#[test]
fn a_statement_holds_the_period_between_its_opening_and_closing_balance() {
    let model = model();
    // [4,000, 8,000): the deposits of 3, 4, 5 and 6 €, after 1 + 2 € = 300 cents.
    let pages = pages(&model, query(A, 4_000, 8_000, 100));
    assert_eq!(pages.len(), 1);
    assert_eq!(amounts(&pages), [600, 500, 400, 300]);
    assert_eq!(pages[0].opening_balance, Some(300));
    assert_eq!(pages[0].transactions[0].new_balance, 300 + 1_800);
}

#[test]
fn pages_together_are_the_same_statement_and_it_reconciles() {
    let model = model();
    let whole = pages(&model, query(A, 0, 100_000, 100));
    for size in [1, 2, 3, 11] {
        let paged = pages(&model, query(A, 0, 100_000, size));
        assert_eq!(amounts(&paged), amounts(&whole), "pages of {size}");
        assert!(paged[..paged.len() - 1]
            .iter()
            .all(|page| page.opening_balance.is_none() && page.next_before.is_some()));
        assert_eq!(paged.last().and_then(|p| p.opening_balance), Some(0));
    }
    let closing = whole[0].transactions[0].new_balance;
    assert_eq!(closing, 5_500 - 500);
    let opening = whole.last().and_then(|page| page.opening_balance);
    assert_eq!(
        opening.map(|o| o + amounts(&whole).iter().sum::<i64>()),
        Some(closing)
    );
}

#[test]
fn a_period_without_transactions_has_equal_opening_and_closing_balances() {
    let model = model();
    let after = pages(&model, query(A, 50_000, 60_000, 10));
    assert_eq!(
        (after[0].transactions.len(), after[0].opening_balance),
        (0, Some(5_000))
    );
    let before = pages(&model, query(A, 0, 1_500, 10));
    assert_eq!(
        (before[0].transactions.len(), before[0].opening_balance),
        (0, Some(0))
    );
    let empty_account = pages(&model, query(B, 0, 60_000, 10));
    assert_eq!(empty_account[0].opening_balance, Some(0));
}

#[test]
fn the_period_includes_its_start_and_excludes_its_end() {
    let model = model();
    let pages = pages(&model, query(A, 2_000, 3_000, 10));
    assert_eq!(amounts(&pages), [100]);
}

#[test]
fn a_transaction_without_a_time_belongs_before_every_period() {
    let untimed = Arc::new(Transaction {
        id: 1,
        iban: A.into(),
        new_balance: 700,
        changed_by: 700,
        from_to: CASH.into(),
        description: String::new(),
        at_millis: None,
    });
    let mut walk = PageWalk::new(&query(A, 0, 10, 10));
    assert!(walk.visit(&untimed).is_break());
    let page = walk.finish(A);
    assert_eq!(
        (page.transactions.len(), page.opening_balance),
        (0, Some(700))
    );
}

#[test]
fn a_page_stops_at_its_byte_budget() {
    let long = |id: i32| {
        Arc::new(Transaction {
            id,
            iban: A.into(),
            new_balance: i64::from(id),
            changed_by: 1,
            from_to: CASH.into(),
            description: "x".repeat(PAGE_BYTES / 3),
            at_millis: Some(5),
        })
    };
    let mut walk = PageWalk::new(&query(A, 0, 10, MAX_PAGE_ITEMS));
    let visits: Vec<bool> = (0..4)
        .rev()
        .map(|n| walk.visit(&long(n)).is_break())
        .collect();
    assert_eq!(visits, [false, false, true, true]);
    let page = walk.finish(A);
    assert_eq!(page.transactions.len(), 2);
    assert_eq!((page.next_before, page.opening_balance), (Some(2), None));
}

#[test]
fn bad_queries_are_refused_in_rule_order() {
    let model = model();
    let refused = |query: StatementQuery| statement_page(&model, &query).err();
    assert_eq!(
        refused(query("nonsense", 0, 0, 0)),
        Some(IBAN_IS_NOT_VALID.into())
    );
    assert_eq!(
        refused(query(A, 0, 0, 0)),
        Some(MAX_ITEMS_OUT_OF_RANGE.into())
    );
    assert_eq!(
        refused(query(A, 0, 10, MAX_PAGE_ITEMS + 1)),
        Some(MAX_ITEMS_OUT_OF_RANGE.into())
    );
    assert_eq!(refused(query(A, 10, 10, 1)), Some(PERIOD_IS_EMPTY.into()));
    let year = LONGEST_PERIOD_DAYS * DAY_MILLIS;
    assert_eq!(refused(query(A, 0, year, 1)), None);
    assert_eq!(
        refused(query(A, 0, year + 1, 1)),
        Some(PERIOD_TOO_LONG.into())
    );
    assert_eq!(
        refused(query(A, i64::MIN, i64::MAX, 1)),
        Some(PERIOD_TOO_LONG.into())
    );
    assert_eq!(
        refused(query(C, 0, 10, 1)),
        Some(IBAN_DOES_NOT_EXIST.into())
    );
}

#[test]
fn the_reasons_name_the_limits() {
    assert!(MAX_ITEMS_OUT_OF_RANGE.ends_with(&MAX_PAGE_ITEMS.to_string()));
    assert!(PERIOD_TOO_LONG.contains(&format!("{LONGEST_PERIOD_DAYS} days")));
    assert_ne!(MAX_ITEMS_OUT_OF_RANGE, LIST_MAX_ITEMS);
}
