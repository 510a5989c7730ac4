//! Passwords and tokens: argon2 hashes, constant-time comparison. Nothing here logs a secret.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// Each argon2 run takes 19 MiB and tens of milliseconds of CPU. Unbounded, a burst of logins
/// would run on as many blocking threads as requests (malloc keeps each thread's 19 MiB), so
/// at most one hash per core runs at a time; the others wait their turn.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, |cores| cores.get()))
});

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("hashing the password: {0}")]
    Hash(String),
    #[error("the hashing task was cancelled")]
    Cancelled,
}

/// An argon2id hash in PHC string form with a fresh random salt. Runs on a blocking thread:
/// a hash takes tens of milliseconds of CPU.
pub async fn hash_password(password: String) -> Result<String, SecretError> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|_| SecretError::Cancelled)?;
    tokio::task::spawn_blocking(move || {
        // A v4 UUID is 16 bytes from the OS's secure random source: a proper salt.
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| SecretError::Hash(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| SecretError::Hash(e.to_string()))
    })
    .await
    .map_err(|_| SecretError::Cancelled)?
}

/// Whether `password` matches the stored hash; a hash that does not parse matches nothing.
pub async fn verify_password(password: String, stored: String) -> Result<bool, SecretError> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|_| SecretError::Cancelled)?;
    tokio::task::spawn_blocking(move || match PasswordHash::new(&stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(error) => {
            tracing::warn!(%error, "a stored password hash does not parse");
            false
        }
    })
    .await
    .map_err(|_| SecretError::Cancelled)
}

/// Token equality without an early exit on the first differing byte, so response times do not
/// reveal how much of a guessed token is right.
pub fn same_token(given: &str, stored: &str) -> bool {
    given.as_bytes().ct_eq(stored.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse".into(), hash.clone())
            .await
            .expect("verify"));
        assert!(!verify_password("wrong horse".into(), hash)
            .await
            .expect("verify"));
        assert!(!verify_password("x".into(), "not a hash".into())
            .await
            .expect("verify"));
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("01234567890123456789", "01234567890123456789"));
        assert!(!same_token("01234567890123456788", "01234567890123456789"));
        assert!(!same_token("0123", "01234567890123456789"));
    }
}
