//! Employee login: configured employees (never self-registered) get a signed, expiring session
//! token, and everything that lists other customers asks for one.
//!
//! The token is a JWT signed with HMAC-SHA256 under a secret the endpoint replicas share
//! (`GRAPHQL_SESSION_SECRET`), so any replica accepts a session another one issued, and none
//! keeps session state. A client sends it as `Authorization: Bearer <token>` over HTTP, or in
//! the WebSocket `connection_init` payload under `Authorization`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secrets::{verify_password, SecretError};

pub const LOGIN_REFUSED: &str = "invalid employee username or password";
pub const NOT_CONFIGURED: &str = "employee login is not configured on this endpoint";

/// Why a request has no employee session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("employee login required")]
    Missing,
    #[error("employee session expired")]
    Expired,
    #[error("employee session is not valid")]
    Invalid,
}

/// What a session token says: who, and until when (seconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
}

/// A session handed out at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// The one configured employee, by username and argon2 hash.
#[derive(Debug, Clone)]
pub struct Employee {
    pub username: String,
    pub password_hash: String,
}

/// The raw bearer token a request came with, if any: put into each request's data by the
/// HTTP and WebSocket handlers, checked only by the fields that need an employee.
#[derive(Debug, Clone, Default)]
pub struct Bearer(pub Option<String>);

impl Bearer {
    /// From an `Authorization` value: `Bearer <token>` (scheme case-insensitive).
    pub fn from_authorization(value: Option<&str>) -> Self {
        let token = value.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            let token = token.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
        });
        Self(token)
    }
}

pub struct Employees {
    employee: Option<Employee>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
}

impl Employees {
    /// `employee` none: nobody can log in as employee (and nothing that needs it is served).
    /// The secret must not be empty.
    pub fn new(
        employee: Option<Employee>,
        secret: &[u8],
        lifetime: Duration,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(Self {
            employee,
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            lifetime,
        })
    }

    /// A session for the right username and password, else the reason there is none.
    pub async fn log_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<Session, &'static str>, SecretError> {
        let Some(employee) = &self.employee else {
            return Ok(Err(NOT_CONFIGURED));
        };
        // The hash is checked even for a wrong username, so timing tells nothing about it.
        let password_matches =
            verify_password(password.to_string(), employee.password_hash.clone()).await?;
        if !password_matches || username != employee.username {
            return Ok(Err(LOGIN_REFUSED));
        }
        Ok(self.issue(&employee.username, SystemTime::now()))
    }

    /// A session for `username` as issued at `now` (the login has been checked).
    pub fn issue(&self, username: &str, now: SystemTime) -> Result<Session, &'static str> {
        let iat = seconds_since_epoch(now);
        let expires = now + self.lifetime;
        let claims = Claims {
            sub: username.to_string(),
            iat,
            exp: seconds_since_epoch(expires),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| {
            tracing::error!(%error, "signing an employee session failed");
            "the session could not be signed"
        })?;
        Ok(Session {
            token,
            expires_at: humantime::format_rfc3339_seconds(expires).to_string(),
        })
    }

    /// The session's claims when its signature is ours and it has not expired.
    pub fn verify(&self, bearer: &Bearer) -> Result<Claims, SessionError> {
        let token = bearer.0.as_deref().ok_or(SessionError::Missing)?;
        let mut validation = Validation::new(Algorithm::HS256);
        // Every replica signs and checks with the same clock source; a session ends on time.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(error) if matches!(error.kind(), ErrorKind::ExpiredSignature) => {
                Err(SessionError::Expired)
            }
            Err(_) => Err(SessionError::Invalid),
        }
    }
}

fn seconds_since_epoch(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::hash_password;

    const SECRET: &[u8] = b"a secret every replica shares";

    async fn employees(lifetime: Duration) -> Employees {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        Employees::new(
            Some(Employee {
                username: "employee".into(),
                password_hash: hash,
            }),
            SECRET,
            lifetime,
        )
        .expect("a secret")
    }

    fn bearer(session: &Session) -> Bearer {
        Bearer::from_authorization(Some(&format!("Bearer {}", session.token)))
    }

    #[tokio::test]
    async fn the_right_password_gets_a_session_every_replica_accepts() {
        let here = employees(Duration::from_secs(60)).await;
        let session = here
            .log_in("employee", "correct horse")
            .await
            .expect("no hashing error")
            .expect("a session");
        let claims = here.verify(&bearer(&session)).expect("valid here");
        assert_eq!(claims.sub, "employee");
        assert_eq!(claims.exp - claims.iat, 60);
        assert!(session.expires_at.ends_with('Z'), "{}", session.expires_at);
        let replica = Employees::new(None, SECRET, Duration::from_secs(60)).expect("a secret");
        assert_eq!(replica.verify(&bearer(&session)), Ok(claims));
    }

    #[tokio::test]
    async fn wrong_credentials_and_no_configuration_are_refused() {
        let here = employees(Duration::from_secs(60)).await;
        for (username, password) in [("employee", "wrong horse"), ("someone", "correct horse")] {
            let answer = here.log_in(username, password).await.expect("no error");
            assert_eq!(answer, Err(LOGIN_REFUSED));
        }
        let nobody = Employees::new(None, SECRET, Duration::from_secs(60)).expect("a secret");
        let answer = nobody.log_in("employee", "correct horse").await;
        assert_eq!(answer.expect("no error"), Err(NOT_CONFIGURED));
    }

    #[tokio::test]
    async fn expired_forged_and_missing_sessions_are_told_apart() {
        let here = employees(Duration::from_secs(60)).await;
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3_600);
        let old = here.issue("employee", an_hour_ago).expect("signed");
        assert_eq!(here.verify(&bearer(&old)), Err(SessionError::Expired));
        let other_key =
            Employees::new(None, b"another secret", Duration::from_secs(60)).expect("a secret");
        let forged = other_key
            .issue("employee", SystemTime::now())
            .expect("signed");
        assert_eq!(here.verify(&bearer(&forged)), Err(SessionError::Invalid));
        let garbage = Bearer::from_authorization(Some("Bearer not.a.jwt"));
        assert_eq!(here.verify(&garbage), Err(SessionError::Invalid));
        assert_eq!(here.verify(&Bearer(None)), Err(SessionError::Missing));
    }

    #[test]
    fn only_bearer_authorizations_carry_a_token() {
        let token = |value| Bearer::from_authorization(value).0;
        assert_eq!(token(Some("Bearer abc")), Some("abc".into()));
        assert_eq!(token(Some("bearer   abc ")), Some("abc".into()));
        assert_eq!(token(Some("Basic abc")), None);
        assert_eq!(token(Some("Bearer ")), None);
        assert_eq!(token(Some("abc")), None);
        assert_eq!(token(None), None);
    }
}
