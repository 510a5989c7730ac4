use super::*;

pub const IBAN: &str = "NL66OPEN0000000000";
const OTHER: &str = "NL39OPEN0000000001";
/// 2026-11-01T00:00:00Z and 2026-12-01T00:00:00Z.
const NOVEMBER: (i64, i64) = (1_793_491_200_000, 1_796_083_200_000);
const DAY: i64 = 24 * 3600 * 1000;

fn transaction(
    id: i32,
    changed_by: i64,
    new_balance: i64,
    from_to: &str,
    description: &str,
) -> Transaction {
    Transaction {
        id,
        iban: IBAN.into(),
        new_balance,
        changed_by,
        from_to: from_to.into(),
        description: description.into(),
        at_millis: Some(NOVEMBER.0 + i64::from(id - 6) * DAY + 10 * 3600 * 1000),
    }
}

/// November: 10.00 opening, a salary, the rent, and an attacker's "description" without a time.
pub fn statement() -> Statement {
    let pages = vec![
        StatementPage {
            iban: IBAN.into(),
            transactions: vec![
                Transaction {
                    at_millis: None,
                    ..transaction(9, -56, 24_400, OTHER, "=HYPERLINK(\"x\")")
                },
                transaction(8, -100_000, 24_456, OTHER, "rent, \"November\""),
            ],
            next_before: Some(8),
            opening_balance: None,
        },
        StatementPage {
            iban: IBAN.into(),
            transactions: vec![transaction(7, 123_456, 124_456, "cash", "salary")],
            next_before: None,
            opening_balance: Some(1_000),
        },
    ];
    Statement::from_pages(IBAN, NOVEMBER.0, NOVEMBER.1, pages).expect("reconciles")
}

#[test]
fn pages_newest_first_make_a_statement_oldest_first() {
    let statement = statement();
    let ids: Vec<i32> = statement.transactions.iter().map(|t| t.id).collect();
    assert_eq!(ids, [7, 8, 9]);
    assert_eq!(statement.opening_balance, 1_000);
    assert_eq!(statement.closing_balance(), 24_400);
    assert_eq!(
        (statement.credits(), statement.debits()),
        (123_456, 100_056)
    );
    assert_eq!(
        statement.opening_balance + statement.credits() - statement.debits(),
        statement.closing_balance()
    );
}

#[test]
fn a_statement_that_does_not_reconcile_is_refused() {
    let page = |opening| StatementPage {
        iban: IBAN.into(),
        transactions: vec![transaction(7, 500, 1_500, "cash", "")],
        next_before: None,
        opening_balance: Some(opening),
    };
    assert!(Statement::from_pages(IBAN, 0, 1, vec![page(1_000)]).is_ok());
    assert!(matches!(
        Statement::from_pages(IBAN, 0, 1, vec![page(999)]),
        Err(StatementError::DoesNotReconcile { transaction: 7 })
    ));
}

#[test]
fn a_period_without_transactions_closes_at_its_opening_balance() {
    let page = StatementPage {
        iban: IBAN.into(),
        transactions: Vec::new(),
        next_before: None,
        opening_balance: Some(-2_500),
    };
    let statement = Statement::from_pages(IBAN, 0, 1, vec![page]).expect("reconciles");
    assert_eq!(statement.closing_balance(), -2_500);
}

#[test]
fn decimals_have_a_point_and_two_digits() {
    assert_eq!(decimal(0), "0.00");
    assert_eq!(decimal(5), "0.05");
    assert_eq!(decimal(-123_456), "-1234.56");
    assert_eq!(decimal(i64::MIN), "-92233720368547758.08");
}

#[test]
fn the_too_long_reason_names_the_limit() {
    assert!(TOO_LONG.contains(&MAX_TRANSACTIONS.to_string()));
}

/// A statement of `count` deposits of one cent each, opening at 0.
pub fn long_statement(count: i32) -> Statement {
    let transactions = (1..=count)
        .rev()
        .map(|id| transaction(id, 1, i64::from(id), "cash", "d"))
        .collect();
    let page = StatementPage {
        iban: IBAN.into(),
        transactions,
        next_before: None,
        opening_balance: Some(0),
    };
    Statement::from_pages(IBAN, NOVEMBER.0, NOVEMBER.1, vec![page]).expect("reconciles")
}

#[test]
fn files_are_written_in_chunks_that_make_the_whole_file() {
    let statement = long_statement(2_500);
    let csv: Vec<Vec<u8>> = csv::chunks(&statement).map(|c| c.expect("csv")).collect();
    assert_eq!(csv.len(), 3);
    let text = String::from_utf8(csv.concat()).expect("utf-8");
    assert_eq!(text, csv::write(&statement).expect("csv"));
    assert_eq!(text.lines().count(), 1 + 1 + 2_500 + 1);

    let xml: Vec<Vec<u8>> = camt053::chunks(&statement, 0)
        .map(|c| c.expect("xml"))
        .collect();
    assert_eq!(
        xml.len(),
        1 + 3 + 1,
        "header, three chunks of entries, footer"
    );
    let text = String::from_utf8(xml.concat()).expect("utf-8");
    assert_eq!(text, camt053::write(&statement, 0).expect("xml"));
    assert_eq!(text.matches("<Ntry>").count(), 2_500);
    assert!(text.trim_end().ends_with("</Document>"));
}

#[test]
fn an_empty_statement_is_one_chunk_from_opening_to_closing() {
    let statement = long_statement(0);
    let csv: Vec<Vec<u8>> = csv::chunks(&statement).map(|c| c.expect("csv")).collect();
    assert_eq!(csv.len(), 1);
    let text = String::from_utf8(csv.concat()).expect("utf-8");
    assert_eq!(text.lines().count(), 3, "header, opening, closing: {text}");
    let xml = camt053::write(&statement, 0).expect("xml");
    assert!(!xml.contains("<Ntry>"));
    assert!(xml.trim_end().ends_with("</Document>"));
}
