//! Every check of a password goes through here: throttled per username and client address
//! ([`crate::throttle`]), verified on the bounded hashing queue ([`crate::secrets`]) against
//! the stored hash or, for an unknown user, a stand-in (so both take as long), then counted on
//! `/metrics` (`open_bank_logins_total{kind, outcome}`) and, when refused, logged with the
//! username and address, never the password.

use std::net::IpAddr;

use metrics::counter;

use crate::secrets::{verify_password, SecretError};
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

#[derive(Default)]
pub struct Logins {
    throttle: LoginThrottle,
}

impl Logins {
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
        let checked = match verify_password(password.to_string(), stored).await {
            Ok(true) => {
                self.throttle.succeeded(username);
                Checked::Matches
            }
            Ok(false) => {
                self.throttle.failed(username, address);
                tracing::info!(kind = kind.label(), username, address = ?address, "a login was refused");
                Checked::Refused
            }
            Err(SecretError::Busy) => {
                tracing::warn!(kind = kind.label(), username, address = ?address, "password checks are busy; refused at once");
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
            tracing::info!(kind = kind.label(), username, address = ?address, wait = ?throttled.0, "a login was throttled");
            counter!("open_bank_logins_total", "kind" => kind.label(), "outcome" => "throttled").increment(1);
        })
    }
}
