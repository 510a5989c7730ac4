//! Passwords and tokens: argon2 hashes on a bounded queue, the strength of new passwords,
//! constant-time comparison. Nothing here logs a secret.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use subtle::ConstantTimeEq;
use tokio::sync::{Semaphore, SemaphorePermit};
use topology::reasons::Refusal;

/// The reason a new password is refused.
pub const TOO_EASY: &str = Refusal::PasswordIsTooEasy.text();
/// zxcvbn's scale: 0 (a top password) … 4 (very unguessable); 3 is "safely unguessable: moderate
/// protection from an offline slow-hash attack", what a bank asks for.
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// How many hashes may wait for a core besides the ones running, in each lane. Each argon2 run
/// takes 19 MiB and about 30 ms of one core; more than this many waiting are refused at once
/// ([`SecretError::Busy`]): a guessing run fills its queue, never the honest users' wait.
const MAX_WAITING: usize = 16;

/// Which line a password check waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A username that logged in from this client address before
    /// ([`crate::logins::KnownClients`]): it never waits behind more than one stranger's hash.
    Known,
    /// Anyone else: first logins, new addresses, and every guess of a botnet. They share all
    /// cores but one, so a guessing run from any number of addresses leaves a core to the
    /// customers the bank knows.
    Stranger,
}

/// One hash per core at a time: unbounded, a burst of logins would run on as many blocking
/// threads as requests (malloc keeps each thread's 19 MiB).
struct HashQueue {
    running: Semaphore,
    /// The cores strangers may use: all but one (at least one).
    strangers: Semaphore,
    waiting_known: AtomicUsize,
    waiting_strangers: AtomicUsize,
    max_waiting: usize,
}

static HASHING: LazyLock<HashQueue> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
    HashQueue::new(cores, MAX_WAITING)
});

/// Counts a waiting hash while it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The right to run one hash now.
struct Turn<'a> {
    _core: SemaphorePermit<'a>,
    _stranger: Option<SemaphorePermit<'a>>,
}

impl HashQueue {
    fn new(cores: usize, max_waiting: usize) -> Self {
        Self {
            running: Semaphore::new(cores),
            strangers: Semaphore::new(cores.saturating_sub(1).max(1)),
            waiting_known: AtomicUsize::new(0),
            waiting_strangers: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Waits for a place in `waiting` (refused at once when `max_waiting` wait there already)
    /// and then for a permit of `semaphore`.
    async fn queue<'a>(
        &'a self,
        semaphore: &'a Semaphore,
        waiting: &'a AtomicUsize,
    ) -> Result<SemaphorePermit<'a>, SecretError> {
        if let Ok(permit) = semaphore.try_acquire() {
            return Ok(permit);
        }
        if waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(SecretError::Busy);
        }
        let _waiting = Waiting(waiting);
        semaphore
            .acquire()
            .await
            .map_err(|_| SecretError::Cancelled)
    }

    async fn turn(&self, lane: Lane) -> Result<Turn<'_>, SecretError> {
        match lane {
            Lane::Known => Ok(Turn {
                _core: self.queue(&self.running, &self.waiting_known).await?,
                _stranger: None,
            }),
            Lane::Stranger => {
                let stranger = self.queue(&self.strangers, &self.waiting_strangers).await?;
                // At most cores − 1 strangers get here, so a known customer waits for one
                // running hash at worst.
                let core = self
                    .running
                    .acquire()
                    .await
                    .map_err(|_| SecretError::Cancelled)?;
                Ok(Turn {
                    _core: core,
                    _stranger: Some(stranger),
                })
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("hashing the password: {0}")]
    Hash(String),
    #[error("the hashing task was cancelled")]
    Cancelled,
    /// Too many password checks are waiting: refused at once rather than queued.
    #[error("{}", Refusal::TooManyLoginsAtOnce)]
    Busy,
}

/// An argon2id hash in PHC string form with a fresh random salt. Runs on a blocking thread:
/// a hash takes tens of milliseconds of CPU.
pub async fn hash_password(password: String) -> Result<String, SecretError> {
    // A new password: a sign-up or a change, queued with the strangers.
    let _turn = HASHING.turn(Lane::Stranger).await?;
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|_| SecretError::Cancelled)?
}

fn hash_now(password: &str) -> Result<String, SecretError> {
    // A v4 UUID is 16 bytes from the OS's secure random source: a proper salt.
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| SecretError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// A hash of a password nobody knows, made once: checking a password of an unknown user
/// against it takes as long as checking a known user's, so timing does not tell them apart.
static NOBODY: LazyLock<Option<String>> = LazyLock::new(|| {
    hash_now(&uuid::Uuid::new_v4().to_string())
        .map_err(|error| tracing::error!(%error, "hashing the stand-in password"))
        .ok()
});

/// Whether `password` matches `stored` (the user's hash); with no stored hash (no such user)
/// it does the same work against a stand-in and answers false. A hash that does not parse
/// matches nothing.
pub async fn verify_password(
    password: String,
    stored: Option<String>,
    lane: Lane,
) -> Result<bool, SecretError> {
    let _turn = HASHING.turn(lane).await?;
    tokio::task::spawn_blocking(move || {
        let (hash, known) = match &stored {
            Some(hash) => (hash.as_str(), true),
            None => (NOBODY.as_deref().unwrap_or_default(), false),
        };
        let matches = match PasswordHash::new(hash) {
            Ok(hash) => Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok(),
            Err(error) => {
                tracing::warn!(%error, "a stored password hash does not parse");
                false
            }
        };
        matches && known
    })
    .await
    .map_err(|_| SecretError::Cancelled)
}

/// Whether a new password is strong enough, judged by zxcvbn (common passwords, dictionary
/// words, names, keyboard patterns, dates, the username itself). `Err` carries the reason.
pub fn check_strength(username: &str, password: &str) -> Result<(), &'static str> {
    if zxcvbn::zxcvbn(password, &[username]).score() >= MIN_SCORE {
        Ok(())
    } else {
        Err(TOO_EASY)
    }
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
        let verify = |password: &str, stored: Option<String>| {
            verify_password(password.into(), stored, Lane::Stranger)
        };
        assert!(verify("correct horse", Some(hash.clone()))
            .await
            .expect("verify"));
        assert!(!verify("wrong horse", Some(hash)).await.expect("verify"));
        assert!(!verify("x", Some("not a hash".into()))
            .await
            .expect("verify"));
        assert!(!verify("anything", None).await.expect("verify"));
    }

    #[test]
    fn weak_and_common_passwords_are_refused() {
        for weak in [
            "12345678",
            "password1",
            "P@ssw0rd1",
            "qwertyuiop",
            "alice-2026",
        ] {
            assert_eq!(check_strength("alice-2026", weak), Err(TOO_EASY), "{weak}");
        }
        for strong in [
            "violet harbor lantern 42",
            "correct-horse-battery-staple",
            "Gx7#qL9!vR2p",
        ] {
            assert_eq!(check_strength("alice-2026", strong), Ok(()), "{strong}");
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let queue = HashQueue::new(1, 2);
        let running = queue.turn(Lane::Stranger).await.expect("the one core");
        let mut first = Box::pin(queue.turn(Lane::Stranger));
        let mut second = Box::pin(queue.turn(Lane::Stranger));
        assert!(futures::poll!(&mut first).is_pending(), "waits");
        assert!(futures::poll!(&mut second).is_pending(), "waits");
        assert!(
            matches!(queue.turn(Lane::Stranger).await, Err(SecretError::Busy)),
            "refused at once"
        );
        drop(running);
        assert!(first.await.is_ok(), "its turn came");
        drop(second);
        assert!(queue.turn(Lane::Stranger).await.is_ok(), "room again");
    }

    #[tokio::test]
    async fn a_known_customer_waits_for_one_strangers_hash_at_most() {
        let queue = HashQueue::new(2, 2);
        let stranger = queue.turn(Lane::Stranger).await.expect("a stranger's core");
        // The strangers' queue is full: more of them are refused...
        let mut waiting = [
            Box::pin(queue.turn(Lane::Stranger)),
            Box::pin(queue.turn(Lane::Stranger)),
        ];
        for turn in &mut waiting {
            assert!(futures::poll!(turn).is_pending());
        }
        assert!(matches!(
            queue.turn(Lane::Stranger).await,
            Err(SecretError::Busy)
        ));
        // ... while a known customer gets the core strangers may not use, at once.
        let known = queue.turn(Lane::Known).await.expect("the reserved core");
        drop((known, stranger));
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("01234567890123456789", "01234567890123456789"));
        assert!(!same_token("01234567890123456788", "01234567890123456789"));
        assert!(!same_token("0123", "01234567890123456789"));
    }
}
