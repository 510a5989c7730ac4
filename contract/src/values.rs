//! Value helpers: open IBANs, tokens, ids and Dutch euro amounts.

use iban::Iban;
use rand::Rng;
use uuid::Uuid;

use crate::generated::Id;

/// Bank code of every account this bank owns.
pub const OPEN_BANK_CODE: &str = "OPEN";
/// The company account, created at start by the GraphQL endpoint.
pub const COMPANY_IBAN: &str = "NL66OPEN0000000000";
/// Starting credit limit of every account: € -500,00.
pub const DEFAULT_LIMIT_CENTS: i64 = -50_000;
/// The `from` of a deposit.
pub const CASH: &str = "cash";
/// The shortest and longest wait of a hold for its capture, in milliseconds: 1 s and 30 days.
pub const HOLD_EXPIRES_IN_MILLIS: std::ops::RangeInclusive<i64> = 1_000..=30 * 86_400_000;
/// The most runs one standing order may ask for (a hundred years of months).
pub const MAX_STANDING_ORDER_RUNS: i32 = 1_200;

/// A valid Dutch IBAN (checksum included) whose bank code is `OPEN`.
pub fn is_open_iban(candidate: &str) -> bool {
    candidate.starts_with("NL")
        && candidate
            .parse::<Iban>()
            .is_ok_and(|iban| iban.bank_identifier() == Some(OPEN_BANK_CODE))
        // The parser accepts the spaced paper form; on the wire only the electronic form counts.
        && !candidate.contains(' ')
}

/// A new open IBAN: `NL` + check digits + `OPEN` + `0` + nine random digits.
pub fn new_open_iban() -> String {
    let account: u32 = rand::rng().random_range(0..1_000_000_000);
    open_iban_for_account(account)
}

/// The open IBAN of account number `account` (below 10^9).
pub fn open_iban_for_account(account: u32) -> String {
    let bban = format!("{OPEN_BANK_CODE}0{:09}", account % 1_000_000_000);
    format!("NL{:02}{bban}", check_digits("NL", &bban))
}

/// ISO 13616 check digits: 98 − (BBAN + country + "00" as a number mod 97).
fn check_digits(country: &str, bban: &str) -> u32 {
    let rearranged = format!("{bban}{country}00");
    let remainder = rearranged.chars().fold(0u32, |acc, c| {
        let value = c.to_digit(36).unwrap_or(0);
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    });
    98 - remainder
}

/// A token that proves ownership of an account: 20 random digits.
pub fn new_token() -> String {
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

impl From<Uuid> for Id {
    fn from(uuid: Uuid) -> Self {
        Id(uuid.into_bytes())
    }
}

impl From<Id> for Uuid {
    fn from(id: Id) -> Self {
        Uuid::from_bytes(id.0)
    }
}

impl Id {
    /// A fresh random (v4) id.
    pub fn random() -> Self {
        Uuid::new_v4().into()
    }

    /// The id as a hyphenated UUID string: the key of commands and feedback.
    pub fn to_uuid_string(&self) -> String {
        Uuid::from(*self).hyphenated().to_string()
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", Uuid::from(*self).hyphenated())
    }
}

impl std::str::FromStr for Id {
    type Err = uuid::Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(Id::from)
    }
}

/// Cents as a Dutch euro string: `€ 1.234,56`, `€ -500,00`.
pub fn format_euro(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    let euros = (magnitude / 100).to_string();
    let mut grouped = String::with_capacity(euros.len() + euros.len() / 3);
    for (i, digit) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("€ {sign}{grouped},{:02}", magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_iban_is_an_open_iban() {
        assert!(is_open_iban(COMPANY_IBAN));
        assert_eq!(open_iban_for_account(0), COMPANY_IBAN);
    }

    #[test]
    fn rejects_bad_checksums_other_banks_and_other_countries() {
        for bad in [
            "NL67OPEN0000000000",
            "NL91ABNA0417164300",
            "DE89370400440532013000",
            "NL66 OPEN 0000 0000 00",
            "nl66open0000000000",
            "",
            "cash",
        ] {
            assert!(!is_open_iban(bad), "{bad} must not be an open IBAN");
        }
        assert!("NL91ABNA0417164300".parse::<Iban>().is_ok());
    }

    #[test]
    fn generated_ibans_are_valid_open_ibans() {
        for _ in 0..1_000 {
            let iban = new_open_iban();
            assert!(is_open_iban(&iban), "{iban}");
            assert_eq!(iban.len(), 18);
            assert_eq!(&iban[4..9], "OPEN0");
        }
        for account in [1, 42, 999_999_999] {
            assert!(is_open_iban(&open_iban_for_account(account)));
        }
    }

    #[test]
    fn tokens_are_twenty_digits_and_differ() {
        let token = new_token();
        assert_eq!(token.len(), 20);
        assert!(token.chars().all(|c| c.is_ascii_digit()));
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn uuid_and_id_round_trip() {
        let uuid = Uuid::new_v4();
        let id = Id::from(uuid);
        assert_eq!(Uuid::from(id), uuid);
        assert_eq!(id.to_uuid_string(), uuid.to_string());
        assert_eq!(id.to_string().parse::<Id>().ok(), Some(id));
        assert!("not-a-uuid".parse::<Id>().is_err());
    }

    #[test]
    fn formats_dutch_euros() {
        let cases = [
            (0, "€ 0,00"),
            (5, "€ 0,05"),
            (-5, "€ -0,05"),
            (100, "€ 1,00"),
            (123_456, "€ 1.234,56"),
            (-50_000, "€ -500,00"),
            (100_000_000, "€ 1.000.000,00"),
            (-123_456_789, "€ -1.234.567,89"),
            (i64::MIN, "€ -92.233.720.368.547.758,08"),
        ];
        for (cents, expected) in cases {
            assert_eq!(format_euro(cents), expected, "{cents}");
        }
    }
}
