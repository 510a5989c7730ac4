use super::*;
use crate::statements::tests::{statement, IBAN};

fn xml() -> String {
    write(&statement(), 1_796_083_200_000).expect("xml")
}

#[test]
fn the_document_names_the_camt_053_001_02_namespace_and_the_account() {
    let xml = xml();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(xml.contains(&format!("<Document xmlns=\"{NAMESPACE}\">")));
    assert!(xml.contains(&format!("<IBAN>{IBAN}</IBAN>")));
    assert!(xml.contains("<MsgId>NL66OPEN0000000000-20261101T000000</MsgId>"));
}

#[test]
fn balances_and_entries_carry_amounts_without_sign() {
    let xml = xml();
    let compact: String = xml.split_whitespace().collect();
    assert!(compact.contains(
        "<Cd>OPBD</Cd></CdOrPrtry></Tp><AmtCcy=\"EUR\">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
    ));
    assert!(compact.contains(
        "<Cd>CLBD</Cd></CdOrPrtry></Tp><AmtCcy=\"EUR\">244.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
    ));
    assert!(compact.contains(
        "<NtryRef>8</NtryRef><AmtCcy=\"EUR\">1000.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>"
    ));
    assert!(compact
        .contains("<TtlCdtNtries><NbOfNtries>1</NbOfNtries><Sum>1234.56</Sum></TtlCdtNtries>"));
    assert!(compact
        .contains("<TtlDbtNtries><NbOfNtries>2</NbOfNtries><Sum>1000.56</Sum></TtlDbtNtries>"));
    assert_eq!(xml.matches("<Ntry>").count(), 3);
}

#[test]
fn counterparties_and_descriptions_are_escaped_and_placed_by_direction() {
    let xml = xml();
    assert!(xml.contains("<Ustrd>rent, &quot;November&quot;</Ustrd>"));
    assert!(xml.contains("<CdtrAcct>"));
    assert!(!xml.contains("<DbtrAcct>"), "the one credit is cash");
    assert!(xml.contains("<Cd>CASH</Cd>"));
}

#[test]
fn long_descriptions_become_lines_of_140_characters() {
    let lines = description_lines(&"é".repeat(300));
    assert_eq!(
        lines.iter().map(|l| l.chars().count()).collect::<Vec<_>>(),
        [140, 140, 20]
    );
    assert!(description_lines("").is_empty());
}

#[test]
fn characters_xml_cannot_hold_are_replaced() {
    assert_eq!(
        xml_safe("a\u{0}b\u{1b}c\td\u{FFFF}"),
        "a\u{FFFD}b\u{FFFD}c\td\u{FFFD}"
    );
}

#[test]
fn only_ibans_go_in_account_identifications() {
    assert!(looks_like_iban("NL91ABNA0417164300"));
    for not in ["cash", "nl91abna0417164300", "NL9", "NL91 ABNA", ""] {
        assert!(!looks_like_iban(not), "{not}");
    }
}
