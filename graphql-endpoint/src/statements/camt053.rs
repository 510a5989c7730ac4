//! A statement as ISO 20022 `camt.053.001.02` (BankToCustomerStatementV02), the XML statement
//! most European banks and bookkeeping programs exchange. A test validates it against the
//! official XSD (`scripts/camt053-check.sh`).
//!
//! What goes where:
//! - one `Stmt` for the account (`Acct/Id/IBAN`, currency EUR) and the period (`FrToDt`);
//! - two `Bal`: `OPBD` (opening booked) at the start and `CLBD` (closing booked) at the end,
//!   each as an amount without sign and `CRDT`/`DBIT` for its sign;
//! - `TxsSummry`: how many credits and debits, and their sums;
//! - one `Ntry` per transaction, all booked (`BOOK`): `NtryRef` and `AcctSvcrRef` are the
//!   transaction id, `BookgDt`/`ValDt` when it was written (left out if unknown), `BkTxCd` a
//!   proprietary code (`CASH` for cash, else `TRANSFER`), the counterparty's IBAN as
//!   `DbtrAcct` of a credit or `CdtrAcct` of a debit, and the description as `Ustrd` lines of
//!   at most 140 characters.
//!
//! Text comes from customers, so it is escaped by quick-xml, and characters XML 1.0 cannot hold
//! (control characters) become U+FFFD.

use std::io;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::{decimal, Statement};
use crate::instants;
use crate::reads::Transaction;

pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";
const CURRENCY: &str = "EUR";
/// Who issues the proprietary bank transaction codes.
const CODE_ISSUER: &str = "OPEN BANK ON KAFKA";
/// `Max140Text`: one `Ustrd` line.
const LINE_CHARS: usize = 140;
/// `Max35Text`: identifiers.
const ID_CHARS: usize = 35;

/// The statement as camt.053 XML created at `created_millis`, in chunks: the header (group
/// header, account, balances, summary), the entries [`super::CHUNK_LINES`] at a time, and the
/// closing tags. One writer writes them all, so the indentation runs on across chunks.
pub fn chunks(
    statement: &Statement,
    created_millis: i64,
) -> impl Iterator<Item = io::Result<Vec<u8>>> + '_ {
    Chunks {
        statement,
        created_millis,
        xml: Writer::new_with_indent(Vec::new(), b' ', 2),
        next: Part::Header,
    }
}

enum Part {
    Header,
    Entries(usize),
    Footer,
    Done,
}

struct Chunks<'a> {
    statement: &'a Statement,
    created_millis: i64,
    xml: Writer<Vec<u8>>,
    next: Part,
}

impl Iterator for Chunks<'_> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let written = match self.next {
            Part::Header => {
                self.next = Part::Entries(0);
                header(&mut self.xml, self.statement, self.created_millis)
            }
            Part::Entries(from) => {
                let transactions = &self.statement.transactions;
                let to = (from + super::CHUNK_LINES).min(transactions.len());
                self.next = if to < transactions.len() {
                    Part::Entries(to)
                } else {
                    Part::Footer
                };
                transactions[from..to]
                    .iter()
                    .try_for_each(|transaction| entry(&mut self.xml, transaction))
            }
            Part::Footer => {
                self.next = Part::Done;
                ["Stmt", "BkToCstmrStmt", "Document"]
                    .into_iter()
                    .try_for_each(|name| self.xml.write_event(Event::End(BytesEnd::new(name))))
            }
            Part::Done => return None,
        };
        Some(written.map(|()| std::mem::take(self.xml.get_mut())))
    }
}

/// Everything before the entries, leaving `Document`, `BkToCstmrStmt` and `Stmt` open.
fn header(xml: &mut Writer<Vec<u8>>, statement: &Statement, created_millis: i64) -> io::Result<()> {
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let created = instants::format(created_millis);
    let id = statement_id(statement);
    xml.write_event(Event::Start(
        BytesStart::new("Document").with_attributes([("xmlns", NAMESPACE)]),
    ))?;
    xml.write_event(Event::Start(BytesStart::new("BkToCstmrStmt")))?;
    xml.create_element("GrpHdr").write_inner_content(|xml| {
        text(xml, "MsgId", &id)?;
        text(xml, "CreDtTm", &created)
    })?;
    xml.write_event(Event::Start(BytesStart::new("Stmt")))?;
    text(xml, "Id", &id)?;
    text(xml, "CreDtTm", &created)?;
    xml.create_element("FrToDt").write_inner_content(|xml| {
        text(xml, "FrDtTm", &instants::format(statement.since))?;
        text(xml, "ToDtTm", &instants::format(statement.until))
    })?;
    xml.create_element("Acct").write_inner_content(|xml| {
        account(xml, &statement.iban)?;
        text(xml, "Ccy", CURRENCY)
    })?;
    balance(xml, "OPBD", statement.opening_balance, statement.since)?;
    balance(xml, "CLBD", statement.closing_balance(), statement.until)?;
    summary(xml, statement)
}

/// The statement as one camt.053 document, created at `created_millis`.
pub fn write(statement: &Statement, created_millis: i64) -> io::Result<String> {
    let mut bytes = Vec::new();
    for chunk in chunks(statement, created_millis) {
        bytes.extend(chunk?);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The statement's and the message's id: the account and the start of the period.
fn statement_id(statement: &Statement) -> String {
    // 2026-11-01T00:00:00.000Z → 20261101T000000: to the second.
    let start = instants::format(statement.since);
    let compact: String = start
        .chars()
        .take(19)
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("{}-{compact}", statement.iban)
        .chars()
        .take(ID_CHARS)
        .collect()
}

fn text(xml: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    xml.create_element(name)
        .write_text_content(BytesText::new(&xml_safe(value)))?;
    Ok(())
}

fn amount(xml: &mut Writer<Vec<u8>>, cents: i64) -> io::Result<()> {
    xml.create_element("Amt")
        .with_attribute(("Ccy", CURRENCY))
        .write_text_content(BytesText::new(&decimal(
            i64::try_from(cents.unsigned_abs()).unwrap_or(i64::MAX),
        )))?;
    text(xml, "CdtDbtInd", if cents < 0 { "DBIT" } else { "CRDT" })
}

fn account(xml: &mut Writer<Vec<u8>>, iban: &str) -> io::Result<()> {
    xml.create_element("Id")
        .write_inner_content(|xml| text(xml, "IBAN", iban))?;
    Ok(())
}

fn balance(xml: &mut Writer<Vec<u8>>, code: &str, cents: i64, at: i64) -> io::Result<()> {
    xml.create_element("Bal").write_inner_content(|xml| {
        xml.create_element("Tp").write_inner_content(|xml| {
            xml.create_element("CdOrPrtry")
                .write_inner_content(|xml| text(xml, "Cd", code))?;
            Ok(())
        })?;
        amount(xml, cents)?;
        xml.create_element("Dt")
            .write_inner_content(|xml| text(xml, "DtTm", &instants::format(at)))?;
        Ok(())
    })?;
    Ok(())
}

fn summary(xml: &mut Writer<Vec<u8>>, statement: &Statement) -> io::Result<()> {
    let count = |credit: bool| {
        statement
            .transactions
            .iter()
            .filter(|t| (t.changed_by >= 0) == credit)
            .count()
    };
    xml.create_element("TxsSummry").write_inner_content(|xml| {
        for (name, entries, cents) in [
            ("TtlCdtNtries", count(true), statement.credits()),
            ("TtlDbtNtries", count(false), statement.debits()),
        ] {
            xml.create_element(name).write_inner_content(|xml| {
                text(xml, "NbOfNtries", &entries.to_string())?;
                text(xml, "Sum", &decimal(cents))
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn entry(xml: &mut Writer<Vec<u8>>, transaction: &Transaction) -> io::Result<()> {
    let id = transaction.id.to_string();
    let cash = transaction.from_to == topology::values::CASH;
    xml.create_element("Ntry").write_inner_content(|xml| {
        text(xml, "NtryRef", &id)?;
        amount(xml, transaction.changed_by)?;
        text(xml, "Sts", "BOOK")?;
        if let Some(at) = transaction.at_millis {
            for name in ["BookgDt", "ValDt"] {
                xml.create_element(name)
                    .write_inner_content(|xml| text(xml, "DtTm", &instants::format(at)))?;
            }
        }
        text(xml, "AcctSvcrRef", &id)?;
        xml.create_element("BkTxCd").write_inner_content(|xml| {
            xml.create_element("Prtry").write_inner_content(|xml| {
                text(xml, "Cd", if cash { "CASH" } else { "TRANSFER" })?;
                text(xml, "Issr", CODE_ISSUER)
            })?;
            Ok(())
        })?;
        xml.create_element("NtryDtls").write_inner_content(|xml| {
            xml.create_element("TxDtls").write_inner_content(|xml| {
                xml.create_element("Refs")
                    .write_inner_content(|xml| text(xml, "AcctSvcrRef", &id))?;
                if !cash {
                    counterparty(xml, transaction)?;
                }
                let lines = description_lines(&transaction.description);
                if !lines.is_empty() {
                    xml.create_element("RmtInf").write_inner_content(|xml| {
                        lines.iter().try_for_each(|line| text(xml, "Ustrd", line))
                    })?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

/// The other side: who paid a credit (`DbtrAcct`), who was paid by a debit (`CdtrAcct`). A
/// counterparty that is no IBAN (none should be) is named instead (`Dbtr`/`Cdtr`).
fn counterparty(xml: &mut Writer<Vec<u8>>, transaction: &Transaction) -> io::Result<()> {
    let credit = transaction.changed_by >= 0;
    let other = transaction.from_to.as_str();
    xml.create_element("RltdPties").write_inner_content(|xml| {
        if looks_like_iban(other) {
            let name = if credit { "DbtrAcct" } else { "CdtrAcct" };
            xml.create_element(name)
                .write_inner_content(|xml| account(xml, other))?;
        } else if !other.is_empty() {
            let name = if credit { "Dbtr" } else { "Cdtr" };
            let shown: String = other.chars().take(LINE_CHARS).collect();
            xml.create_element(name)
                .write_inner_content(|xml| text(xml, "Nm", &shown))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// camt's `IBAN2007Identifier`: two capital letters, two digits, then 1 to 30 letters or digits.
fn looks_like_iban(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 5
        && bytes.len() <= 34
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..].iter().all(u8::is_ascii_alphanumeric)
}

/// The description cut into `Ustrd` lines of at most 140 characters; none when it is empty.
fn description_lines(description: &str) -> Vec<String> {
    let chars: Vec<char> = xml_safe(description).chars().collect();
    chars
        .chunks(LINE_CHARS)
        .map(|line| line.iter().collect())
        .collect()
}

/// `text` with every character XML 1.0 cannot hold replaced by U+FFFD.
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests;
