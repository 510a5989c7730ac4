//! Every check of a password goes through here: throttled per username and client address
//! ([`crate::throttle`]), verified on the bounded hashing queue ([`crate::secrets`]) against
//! the stored hash or, for an unknown user, a stand-in (so both take as long), then counted on
//! `/metrics` (`open_bank_logins_total{kind, outcome}`) and, when refused, logged with the
//! username's pseudonym ([`crate::pseudonyms`]) and the address, never the password. A username that logged in from the same address
//! before waits in the known customers' lane ([`KnownClients`], [`Lane`]), which a guessing run
//! from any number of addresses cannot fill.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use metrics::counter;

use crate::pseudonyms::Pseudonyms;
use crate::secrets::{verify_password, Lane, SecretError};
use crate::throttle::{LoginThrottle, Throttled};

/// Whose password: a customer's (stored by the bank) or the configured employee's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customer,
    Employee,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Employee => "employee",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Matches,
    /// The wrong password, or no such user: callers that must not tell them apart do not.
    Refused,
    /// Too many attempts: answered at once, nothing was hashed.
    Throttled(Throttled),
    /// Too many checks waiting for a core: answered at once.
    Busy,
}

impl Checked {
    /// The reason a caller answers for anything but a match (`refused`: its own wording).
    pub fn reason(&self, refused: &str) -> Option<String> {
        match self {
            Checked::Matches => None,
            Checked::Refused => Some(refused.to_string()),
            Checked::Throttled(throttled) => Some(throttled.reason()),
            Checked::Busy => Some(SecretError::Busy.to_string()),
        }
    }
}

/// How long a successful login vouches for its (username, address) pair.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// The most pairs kept (about 100 bytes each); a full set takes no new ones until some expire.
const MAX_KNOWN: usize = 100_000;

/// The (username, client address) pairs that logged in successfully lately, on this replica:
/// a guesser cannot be among them for a username it does not know the password of, whatever
/// addresses it has.
#[derive(Default)]
pub struct KnownClients {
    seen: DashMap<(String, IpAddr), Instant>,
}

impl KnownClients {
    pub fn lane(&self, username: &str, address: Option<IpAddr>) -> Lane {
        let known = address.is_some_and(|address| {
            self.seen
                .get(&(username.to_string(), address))
                .is_some_and(|seen| seen.elapsed() < KNOWN_FOR)
        });
        if known {
            Lane::Known
        } else {
            Lane::Stranger
        }
    }

    pub fn remember(&self, username: &str, address: Option<IpAddr>) {
        let Some(address) = address else { return };
        if self.seen.len() >= MAX_KNOWN {
            self.seen.retain(|_, seen| seen.elapsed() < KNOWN_FOR);
            if self.seen.len() >= MAX_KNOWN {
                return;
            }
        }
        self.seen
            .insert((username.to_string(), address), Instant::now());
    }
}

#[derive(Default)]
pub struct Logins {
    throttle: LoginThrottle,
    known: KnownClients,
    pseudonyms: Pseudonyms,
}

impl Logins {
    pub fn new(pseudonyms: Pseudonyms) -> Self {
        Self {
            pseudonyms,
            ..Self::default()
        }
    }

    /// What the logs show for `username`.
    pub fn pseudonym(&self, username: &str) -> String {
        self.pseudonyms.of(username)
    }

    /// Checks `password` of `username` against `stored` (its hash; `None` for a user that
    /// does not exist), from `address`.
    pub async fn check(
        &self,
        kind: Kind,
        username: &str,
        password: &str,
        stored: Option<String>,
        address: Option<IpAddr>,
    ) -> Result<Checked, SecretError> {
        if let Err(throttled) = self.admit(kind, username, address) {
            return Ok(Checked::Throttled(throttled));
        }
        let lane = self.known.lane(username, address);
        let checked = match verify_password(password.to_string(), stored, lane).await {
            Ok(true) => {
                self.throttle.succeeded(username);
                self.known.remember(username, address);
                Checked::Matches
            }
            Ok(false) => {
                self.throttle.failed(username, address);
                let user = self.pseudonym(username);
                tracing::info!(kind = kind.label(), user, address = ?address, "a login was refused");
                Checked::Refused
            }
            Err(SecretError::Busy) => {
                let user = self.pseudonym(username);
                tracing::warn!(kind = kind.label(), user, address = ?address, "password checks are busy; refused at once");
                Checked::Busy
            }
            Err(error) => return Err(error),
        };
        let outcome = match checked {
            Checked::Matches => "succeeded",
            Checked::Refused => "failed",
            Checked::Busy => "busy",
            Checked::Throttled(_) => "throttled",
        };
        counter!("open_bank_logins_total", "kind" => kind.label(), "outcome" => outcome)
            .increment(1);
        Ok(checked)
    }

    /// An attempt that hashes a new password (a sign-up) is counted like a check, so one
    /// address cannot keep the hashing busy by signing up.
    pub fn admit(
        &self,
        kind: Kind,
        username: &str,
        address: Option<IpAddr>,
    ) -> Result<(), Throttled> {
        self.throttle.attempt(username, address).inspect_err(|throttled| {
            let user = self.pseudonym(username);
            tracing::info!(kind = kind.label(), user, address = ?address, wait = ?throttled.0, "a login was throttled");
            counter!("open_bank_logins_total", "kind" => kind.label(), "outcome" => "throttled").increment(1);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_known_from_the_address_it_logged_in_from_only() {
        let known = KnownClients::default();
        let (home, elsewhere) = ("192.0.2.7".parse().ok(), "198.51.100.9".parse().ok());
        assert_eq!(known.lane("alice", home), Lane::Stranger);
        known.remember("alice", home);
        assert_eq!(known.lane("alice", home), Lane::Known);
        assert_eq!(known.lane("alice", elsewhere), Lane::Stranger);
        assert_eq!(known.lane("mallory", home), Lane::Stranger);
        assert_eq!(known.lane("alice", None), Lane::Stranger);
    }
}
