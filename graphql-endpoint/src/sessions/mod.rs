//! Sessions of customers (`login`) and employees (`employee_login`): signed, expiring tokens
//! that every endpoint replica accepts, and that `logout` or a password change end on every
//! replica within a second.
//!
//! A token is a JWT signed with HMAC-SHA256 under the secret the replicas share
//! (`GRAPHQL_SESSION_SECRET`), carrying who (`sub`, `role`), which session (`sid`, 128 random
//! bits), when it was logged in (`auth_ms`) and two ends:
//! - `exp`: this token's end. A session is *idle* once nobody refreshed it for the idle
//!   lifetime (15 min by default): `refresh_session` hands out a new token of the same session
//!   with a later `exp`, as long as the session is valid.
//! - `max_exp`: the session's absolute end (12 h by default, an employee's
//!   `EMPLOYEE_SESSION_SECONDS`), which no refresh passes.
//!
//! Ending a session early cannot be done by the token alone: every replica must learn it. So
//! `logout` and a password change write a record to `session_events` (see [`log`]), which every
//! replica reads from the beginning at start and follows while it runs, into its
//! [`Revocations`]. The record names the session by the SHA-256 of its id only: a token is never
//! written anywhere by the bank.

pub mod bearer;
pub mod log;
pub mod revocations;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use topology::reasons::Refusal;

pub use bearer::Bearer;
pub use revocations::Revocations;

/// Whose session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Employee,
}

/// Why a request has no valid session. The messages are the public ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("{}", Refusal::LoginRequired)]
    Missing,
    #[error("{}", Refusal::SessionExpired)]
    Expired,
    #[error("{}", Refusal::SessionIsNotValid)]
    Invalid,
    /// Logged out, or ended by a password change.
    #[error("{}", Refusal::SessionEnded)]
    Ended,
}

/// What a session token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The username.
    pub sub: String,
    pub role: Role,
    /// The session's id: the same in every refreshed token of one login.
    pub sid: String,
    /// This token's own id: every token differs, also two of one session in one second.
    pub jti: String,
    /// When this token was issued, and when it ends (seconds since the epoch).
    pub iat: u64,
    pub exp: u64,
    /// When the session began (the login), in milliseconds since the epoch.
    pub auth_ms: i64,
    /// The session's absolute end, in seconds since the epoch.
    pub max_exp: u64,
}

impl Claims {
    /// How the session is named on `session_events`: the SHA-256 of its id, in hex.
    pub fn session_hash(&self) -> String {
        session_hash(&self.sid)
    }
}

pub fn session_hash(sid: &str) -> String {
    topology::proofs::hex(&Sha256::digest(sid.as_bytes()))
}

/// A token handed out by `login`, `employee_login` or `refresh_session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    /// When this token ends (RFC 3339, UTC): refresh before it.
    pub expires_at: String,
}

/// How long sessions of one role live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Without a refresh, a token ends this long after it was issued.
    pub idle: Duration,
    /// No token of a session lives past this long after the login.
    pub absolute: Duration,
}

impl Lifetimes {
    /// A bank's defaults: 15 minutes idle, 12 hours in all.
    pub const CUSTOMER_DEFAULT: Lifetimes = Lifetimes {
        idle: Duration::from_secs(15 * 60),
        absolute: Duration::from_secs(12 * 3600),
    };
}

/// Issues and checks sessions; shared by every request of one endpoint.
pub struct Sessions {
    encoding: EncodingKey,
    decoding: DecodingKey,
    customers: Lifetimes,
    employees: Lifetimes,
    revocations: Arc<Mutex<Revocations>>,
}

impl Sessions {
    /// The secret must not be empty.
    pub fn new(
        secret: &[u8],
        customers: Lifetimes,
        employees: Lifetimes,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            customers,
            employees,
            revocations: Arc::default(),
        })
    }

    /// The sessions ended early, as this replica knows them: filled from `session_events`.
    pub fn revocations(&self) -> Arc<Mutex<Revocations>> {
        Arc::clone(&self.revocations)
    }

    fn lifetimes(&self, role: Role) -> Lifetimes {
        match role {
            Role::Customer => self.customers,
            Role::Employee => self.employees,
        }
    }

    /// A new session for `username` (whose credentials were checked) as of `now`.
    pub fn issue(&self, username: &str, role: Role, now: SystemTime) -> Result<Session, SignError> {
        let lifetimes = self.lifetimes(role);
        let sid = uuid::Uuid::new_v4().simple().to_string();
        let claims = Claims {
            sub: username.to_string(),
            role,
            sid,
            jti: String::new(),
            iat: seconds(now),
            exp: 0,
            auth_ms: millis(now),
            max_exp: seconds(now + lifetimes.absolute),
        };
        self.sign(claims, now)
    }

    /// A new token of the same session, ending an idle lifetime from `now` (but never past the
    /// session's absolute end). The caller checked the session with [`Self::verify`].
    pub fn refresh(&self, claims: &Claims, now: SystemTime) -> Result<Session, SignError> {
        self.sign(claims.clone(), now)
    }

    fn sign(&self, mut claims: Claims, now: SystemTime) -> Result<Session, SignError> {
        let idle_end = seconds(now + self.lifetimes(claims.role).idle);
        claims.jti = uuid::Uuid::new_v4().simple().to_string();
        claims.iat = seconds(now);
        claims.exp = idle_end.min(claims.max_exp);
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| {
            tracing::error!(%error, "signing a session failed");
            SignError
        })?;
        Ok(Session {
            token,
            expires_at: humantime::format_rfc3339_seconds(
                UNIX_EPOCH + Duration::from_secs(claims.exp),
            )
            .to_string(),
        })
    }

    /// The claims of a token that is ours, has not expired and was not ended early.
    pub fn verify(&self, bearer: &Bearer) -> Result<Claims, SessionError> {
        let token = bearer.token().ok_or(SessionError::Missing)?;
        let mut validation = Validation::new(Algorithm::HS256);
        // Every replica signs and checks with the same clock source; a session ends on time.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => data.claims,
            Err(error) if matches!(error.kind(), ErrorKind::ExpiredSignature) => {
                return Err(SessionError::Expired)
            }
            Err(_) => return Err(SessionError::Invalid),
        };
        let ended = self
            .revocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .has_ended(&claims);
        if ended {
            return Err(SessionError::Ended);
        }
        Ok(claims)
    }
}

impl Sessions {
    /// The session id of a token signed by us, expired or not: to tell whether a new token
    /// belongs to the same session (see `websocket::SocketSession`).
    pub fn session_id(&self, bearer: &Bearer) -> Option<String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["sub"]);
        jsonwebtoken::decode::<Claims>(bearer.token()?, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims.sid)
    }
}

/// A session could not be signed (never expected: HMAC over a small JSON document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session could not be signed")]
pub struct SignError;

pub fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

pub fn millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a secret every replica shares";
    const LIFETIMES: Lifetimes = Lifetimes {
        idle: Duration::from_secs(60),
        absolute: Duration::from_secs(300),
    };

    fn sessions() -> Sessions {
        Sessions::new(SECRET, LIFETIMES, LIFETIMES).expect("a secret")
    }

    fn bearer(session: &Session) -> Bearer {
        Bearer::from_authorization(Some(&format!("Bearer {}", session.token)))
    }

    #[test]
    fn a_session_every_replica_accepts_until_it_is_idle() {
        let here = sessions();
        let session = here
            .issue("alice-customer", Role::Customer, SystemTime::now())
            .expect("signed");
        let claims = here.verify(&bearer(&session)).expect("valid here");
        assert_eq!(
            (claims.sub.as_str(), claims.role),
            ("alice-customer", Role::Customer)
        );
        assert_eq!(claims.exp - claims.iat, 60);
        assert_eq!(claims.max_exp - claims.iat, 300);
        assert!(session.expires_at.ends_with('Z'), "{}", session.expires_at);
        assert_eq!(sessions().verify(&bearer(&session)), Ok(claims));
        let idle = here
            .issue(
                "alice-customer",
                Role::Customer,
                SystemTime::now() - Duration::from_secs(61),
            )
            .expect("signed");
        assert_eq!(here.verify(&bearer(&idle)), Err(SessionError::Expired));
    }

    #[test]
    fn a_refresh_extends_the_idle_end_but_never_the_absolute_one() {
        let here = sessions();
        let now = SystemTime::now();
        // Logged in 200 s ago: the absolute end is 100 s from now.
        let first = here
            .issue(
                "bob-customer",
                Role::Customer,
                now - Duration::from_secs(200),
            )
            .expect("signed");
        let claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(&first.token)
            .expect("claims")
            .claims;
        assert_eq!(
            here.verify(&bearer(&first)),
            Err(SessionError::Expired),
            "idle"
        );
        let refreshed = here.refresh(&claims, now).expect("signed");
        let same_second = here.refresh(&claims, now).expect("signed");
        assert_ne!(refreshed.token, same_second.token, "every token its own");
        let again = here.verify(&bearer(&refreshed)).expect("valid again");
        assert_eq!(again.sid, claims.sid, "the same session");
        assert_eq!(again.exp, seconds(now) + 60);
        let later = here
            .refresh(&again, now + Duration::from_secs(70))
            .expect("signed");
        let later = here.verify(&bearer(&later)).expect("valid");
        assert_eq!(later.exp, claims.max_exp, "capped by the absolute end");
    }

    #[test]
    fn forged_garbage_missing_and_ended_sessions_are_told_apart() {
        let here = sessions();
        let other = Sessions::new(b"another secret", LIFETIMES, LIFETIMES).expect("a secret");
        let forged = other
            .issue("carol-customer", Role::Employee, SystemTime::now())
            .expect("signed");
        assert_eq!(here.verify(&bearer(&forged)), Err(SessionError::Invalid));
        let garbage = Bearer::from_authorization(Some("Bearer not.a.jwt"));
        assert_eq!(here.verify(&garbage), Err(SessionError::Invalid));
        assert_eq!(here.verify(&Bearer::default()), Err(SessionError::Missing));
        let session = here
            .issue("dave-customer", Role::Customer, SystemTime::now())
            .expect("signed");
        let claims = here.verify(&bearer(&session)).expect("valid");
        here.revocations()
            .lock()
            .expect("not poisoned")
            .end_session(&claims.session_hash(), i64::MAX);
        assert_eq!(here.verify(&bearer(&session)), Err(SessionError::Ended));
    }

    #[test]
    fn the_session_hash_is_sha256_in_hex() {
        assert_eq!(
            session_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
