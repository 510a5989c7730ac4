//! A statement as CSV (RFC 4180, comma-separated, UTF-8), one row per line of the statement:
//!
//! | kind | booked_at | transaction_id | counterparty | description | amount | balance |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | `opening` | start of the period | | | | | opening balance |
//! | `booked` | when it was written (empty if unknown) | id | IBAN or `cash` | | signed | after it |
//! | `closing` | end of the period | | | | sum of the amounts | closing balance |
//!
//! Amounts are euros with a decimal point (`-12.34`). A spreadsheet would run a text cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, and descriptions come
//! from other customers, so such a cell gets a leading `'` (OWASP's advice on CSV injection).

use super::{decimal, Statement};
use crate::instants;

pub const HEADER: [&str; 7] = [
    "kind",
    "booked_at",
    "transaction_id",
    "counterparty",
    "description",
    "amount",
    "balance",
];

/// The statement as CSV, in chunks of at most [`super::CHUNK_LINES`] booked rows each: the
/// first with the header and opening row, the last with the closing row.
pub fn chunks(statement: &Statement) -> impl Iterator<Item = Result<Vec<u8>, csv::Error>> + '_ {
    let batches = statement.transactions.chunks(super::CHUNK_LINES);
    let count = batches.len().max(1);
    let empty: &[crate::reads::Transaction] = &[];
    let batches = batches.chain((statement.transactions.is_empty()).then_some(empty));
    batches.enumerate().map(move |(index, batch)| {
        let mut out = csv::Writer::from_writer(Vec::new());
        if index == 0 {
            out.write_record(HEADER)?;
            let opening = decimal(statement.opening_balance);
            let since = instants::format(statement.since);
            out.write_record(["opening", &since, "", "", "", "", &opening])?;
        }
        for transaction in batch {
            out.write_record([
                "booked",
                &transaction
                    .at_millis
                    .map(instants::format)
                    .unwrap_or_default(),
                &transaction.id.to_string(),
                &inert(&transaction.from_to),
                &inert(&transaction.description),
                &decimal(transaction.changed_by),
                &decimal(transaction.new_balance),
            ])?;
        }
        if index + 1 == count {
            let moved = statement.credits().saturating_sub(statement.debits());
            out.write_record([
                "closing",
                &instants::format(statement.until),
                "",
                "",
                "",
                &decimal(moved),
                &decimal(statement.closing_balance()),
            ])?;
        }
        out.into_inner().map_err(|error| error.into_error().into())
    })
}

/// The statement as one CSV text.
pub fn write(statement: &Statement) -> Result<String, csv::Error> {
    let mut bytes = Vec::new();
    for chunk in chunks(statement) {
        bytes.extend(chunk?);
    }
    // Every field written is a Rust string, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `text` as a spreadsheet shows it, never runs it.
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statements::tests::{statement, IBAN};

    #[test]
    fn rows_run_from_the_opening_to_the_closing_balance() {
        let text = write(&statement()).expect("csv");
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows,
            [
                "kind,booked_at,transaction_id,counterparty,description,amount,balance",
                "opening,2026-11-01T00:00:00.000Z,,,,,10.00",
                "booked,2026-11-02T10:00:00.000Z,7,cash,salary,1234.56,1244.56",
                "booked,2026-11-03T10:00:00.000Z,8,NL39OPEN0000000001,\"rent, \"\"November\"\"\",-1000.00,244.56",
                "booked,,9,NL39OPEN0000000001,\"'=HYPERLINK(\"\"x\"\")\",-0.56,244.00",
                "closing,2026-12-01T00:00:00.000Z,,,,234.00,244.00",
            ]
        );
        assert!(
            !text.contains(IBAN),
            "the account itself is not a counterparty"
        );
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_made_inert() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(inert(formula).starts_with('\''), "{formula:?}");
        }
        assert_eq!(inert("rent"), "rent");
        assert_eq!(inert(""), "");
    }
}
