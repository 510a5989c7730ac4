//! Checks of client input before anything is sent to Kafka. Pure; each error message says
//! what is wrong with which argument.

use iban::Iban;
use topology::values::CASH;
use topology::Id;

pub const MIN_CREDENTIAL_CHARS: usize = 8;
/// Bounds the argon2 work and the size of what is stored per user.
pub const MAX_USERNAME_CHARS: usize = 100;
pub const MAX_PASSWORD_CHARS: usize = 1_000;
pub const MAX_DESCR_CHARS: usize = 1_000;
/// Longer than any IBAN (34) or token (20) the bank gives out; bounds what goes to Kafka.
pub const MAX_IBAN_CHARS: usize = 64;
pub const MAX_TOKEN_CHARS: usize = 64;
/// The projector answers at most this many transactions per IBAN.
pub const MAX_ITEMS: i32 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

fn invalid(message: impl Into<String>) -> InvalidInput {
    InvalidInput(message.into())
}

pub fn credentials(username: &str, password: &str) -> Result<(), InvalidInput> {
    let length = |field: &str, value: &str, max: usize| {
        let chars = value.chars().count();
        if chars < MIN_CREDENTIAL_CHARS {
            Err(invalid(format!(
                "{field} should be at least {MIN_CREDENTIAL_CHARS} characters"
            )))
        } else if chars > max {
            Err(invalid(format!(
                "{field} should be at most {max} characters"
            )))
        } else {
            Ok(())
        }
    };
    length("username", username, MAX_USERNAME_CHARS)?;
    if username.trim() != username || username.chars().any(char::is_control) {
        return Err(invalid(
            "username should not start or end with spaces nor contain control characters",
        ));
    }
    length("password", password, MAX_PASSWORD_CHARS)
}

/// A username given to name someone (not to log in): bounded and without control characters.
/// Whether the user exists is a domain answer, not an input error.
pub fn username(field: &str, username: &str) -> Result<(), InvalidInput> {
    at_most(field, username, MAX_USERNAME_CHARS)?;
    if username.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} should not contain control characters"
        )));
    }
    Ok(())
}

/// The arguments every command on an account carries. Only their size is checked here: an
/// unknown IBAN or a wrong token is the command handler's answer, with its reason.
pub fn account_command(iban: &str, username: &str, token: &str) -> Result<(), InvalidInput> {
    at_most("iban", iban, MAX_IBAN_CHARS)?;
    self::username("username", username)?;
    self::token(token)
}

/// A token as a client gives it (or its hash): bounded.
pub fn token(token: &str) -> Result<(), InvalidInput> {
    at_most("token", token, MAX_TOKEN_CHARS)
}

fn at_most(field: &str, value: &str, max: usize) -> Result<(), InvalidInput> {
    if value.chars().count() > max {
        Err(invalid(format!(
            "{field} should be at most {max} characters"
        )))
    } else {
        Ok(())
    }
}

/// A transfer as asked by a client, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: Id,
    pub username: String,
    /// The SHA-256 of the token that proves the right to move the money (see
    /// `topology::proofs`): what the command carries.
    pub token_hash: String,
    pub amount: i64,
    pub from: String,
    pub to: String,
    pub descr: String,
}

impl Transfer {
    pub fn is_deposit(&self) -> bool {
        self.from == CASH
    }
}

pub fn transfer(
    uuid: &str,
    username: &str,
    token: &str,
    amount: i64,
    from: &str,
    to: &str,
    descr: &str,
) -> Result<Transfer, InvalidInput> {
    let id = self::uuid(uuid)?;
    if amount <= 0 {
        return Err(invalid("amount should be positive"));
    }
    // `from` that is neither `cash` nor an IBAN of this bank, `from` = `to`, and a username or
    // token that does not own `from` are refusals of the saga (SPEC §4), answered as a failed
    // transfer with their reason; only their size is checked here.
    at_most("from", from, MAX_IBAN_CHARS)?;
    if !is_iban(to) {
        return Err(invalid(format!("to `{to}` is not a valid IBAN")));
    }
    if descr.chars().count() > MAX_DESCR_CHARS {
        return Err(invalid(format!(
            "descr should be at most {MAX_DESCR_CHARS} characters"
        )));
    }
    self::username("username", username)?;
    at_most("token", token, MAX_TOKEN_CHARS)?;
    Ok(Transfer {
        id,
        username: username.to_string(),
        token_hash: token.to_string(),
        amount,
        from: from.to_string(),
        to: to.to_string(),
        descr: descr.to_string(),
    })
}

/// A client's uuid as the id of what it names.
pub fn uuid(uuid: &str) -> Result<Id, InvalidInput> {
    uuid.parse()
        .map_err(|_| invalid(format!("uuid `{uuid}` is not a valid UUID")))
}

/// The uuid of what a command on account `iban` names (a hold, a standing order), checked with
/// the command's other arguments (see [`account_command`]).
pub fn named_on_account(
    uuid: &str,
    iban: &str,
    username: &str,
    token: &str,
) -> Result<Id, InvalidInput> {
    account_command(iban, username, token)?;
    self::uuid(uuid)
}

/// Any valid IBAN in its electronic form (no spaces), checksum included.
pub fn is_iban(candidate: &str) -> bool {
    !candidate.contains(' ') && candidate.parse::<Iban>().is_ok()
}

pub fn max_items(max_items: i32) -> Result<(), InvalidInput> {
    if (1..=MAX_ITEMS).contains(&max_items) {
        Ok(())
    } else {
        Err(invalid(format!(
            "max_items should be between 1 and {MAX_ITEMS}"
        )))
    }
}

/// The most points of one `balance_history`.
pub const MAX_POINTS: i32 = 500;

/// A balance series: `since` before `until` (milliseconds), and 2 to [`MAX_POINTS`] points.
pub fn balance_history(since: i64, until: i64, points: i32) -> Result<(), InvalidInput> {
    if !(2..=MAX_POINTS).contains(&points) {
        return Err(invalid(format!(
            "points should be between 2 and {MAX_POINTS}"
        )));
    }
    if since >= until {
        return Err(invalid("from should be before to"));
    }
    Ok(())
}

/// The longest period of one statement, in days (the projector refuses longer ones too).
pub const LONGEST_STATEMENT_DAYS: i64 = 366;

/// A statement's period: `since` before `until` (milliseconds), at most
/// [`LONGEST_STATEMENT_DAYS`] long.
pub fn statement(since: i64, until: i64) -> Result<(), InvalidInput> {
    if since >= until {
        return Err(invalid("from should be before to"));
    }
    if i128::from(until) - i128::from(since) > i128::from(LONGEST_STATEMENT_DAYS * 24 * 3600 * 1000)
    {
        return Err(invalid(
            topology::reasons::Refusal::StatementPeriodTooLong.text(),
        ));
    }
    Ok(())
}

pub fn offset(offset: i32) -> Result<(), InvalidInput> {
    if offset < 0 {
        Err(invalid("offset should not be negative"))
    } else {
        Ok(())
    }
}

/// A search as sent to the projector: trimmed, and none when nothing is left.
pub fn search(search: Option<&str>) -> Option<String> {
    search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn amount_range(min: Option<i64>, max: Option<i64>) -> Result<(), InvalidInput> {
    match (min, max) {
        (Some(min), Some(max)) if min > max => {
            Err(invalid("min_amount should not be more than max_amount"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_or_void_names_a_uuid_and_a_bounded_iban() {
        let uuid = "7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10";
        let held = named_on_account;
        assert!(held(uuid, "NL66OPEN0000000000", "alice", "hash").is_ok());
        assert!(held("not-a-uuid", "NL66OPEN0000000000", "alice", "hash").is_err());
        assert!(held(uuid, &"N".repeat(65), "alice", "hash").is_err());
    }

    const UUID: &str = "7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10";
    const OWN: &str = "NL66OPEN0000000000";
    const OTHER_BANK: &str = "NL91ABNA0417164300";

    fn ok_transfer(from: &str, to: &str) -> Result<Transfer, InvalidInput> {
        transfer(UUID, "someuser", "123", 100, from, to, "rent")
    }

    #[test]
    fn credentials_need_eight_characters() {
        assert!(credentials("username", "password").is_ok());
        assert_eq!(
            credentials("short", "password").unwrap_err().0,
            "username should be at least 8 characters"
        );
        assert_eq!(
            credentials("username", "pass").unwrap_err().0,
            "password should be at least 8 characters"
        );
        assert!(credentials(" username", "password").is_err());
        assert!(credentials(&"u".repeat(101), "password").is_err());
        assert!(
            credentials("ÄÖÜäöüßé", "wachtwoord").is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn transfers_are_checked_before_sending() {
        let good = ok_transfer("cash", OWN).expect("a deposit");
        assert!(good.is_deposit());
        assert!(
            ok_transfer(OWN, OTHER_BANK).is_ok(),
            "money may leave the bank"
        );
        assert_eq!(
            transfer("nope", "u", "t", 1, "cash", OWN, "")
                .unwrap_err()
                .0,
            "uuid `nope` is not a valid UUID"
        );
        for amount in [0, -1] {
            assert_eq!(
                transfer(UUID, "u", "t", amount, "cash", OWN, "")
                    .unwrap_err()
                    .0,
                "amount should be positive"
            );
        }
        // Refusals with a reason of the saga's, not input errors:
        assert!(ok_transfer(OTHER_BANK, OWN).is_ok(), "from is invalid");
        assert!(ok_transfer(OWN, OWN).is_ok(), "from and to can't be same");
        assert!(
            transfer(UUID, "", "", 1, "cash", OWN, "").is_ok(),
            "not an owner"
        );
        assert!(ok_transfer(&"N".repeat(65), OWN).is_err(), "over-long from");
        assert!(transfer(UUID, "u", &"1".repeat(65), 1, "cash", OWN, "").is_err());
        assert!(
            ok_transfer("cash", "NL67OPEN0000000000").is_err(),
            "checksum"
        );
        assert!(ok_transfer("cash", "NL66 OPEN 0000 0000 00").is_err());
        let long = "x".repeat(MAX_DESCR_CHARS + 1);
        assert!(transfer(UUID, "u", "t", 1, "cash", OWN, &long).is_err());
        assert!(transfer(UUID, "u", "t", 1, "cash", OWN, &long[1..]).is_ok());
    }

    #[test]
    fn list_sizes_and_ranges() {
        assert!(max_items(1).is_ok() && max_items(1000).is_ok());
        assert!(max_items(0).is_err() && max_items(1001).is_err());
        assert!(amount_range(Some(5), Some(5)).is_ok());
        assert!(amount_range(Some(6), Some(5)).is_err());
        assert!(amount_range(None, Some(5)).is_ok());
        assert!(offset(0).is_ok() && offset(i32::MAX).is_ok());
        assert_eq!(offset(-1).unwrap_err().0, "offset should not be negative");
        assert_eq!(
            max_items(0).unwrap_err().0,
            "max_items should be between 1 and 1000"
        );
    }

    #[test]
    fn searches_are_trimmed_and_blank_is_none() {
        assert_eq!(search(Some("  Alice ")).as_deref(), Some("Alice"));
        assert_eq!(search(Some("nl66 open")).as_deref(), Some("nl66 open"));
        assert_eq!(search(Some(" \t ")), None);
        assert_eq!(search(None), None);
    }
}
