//! Usernames in the logs: a pseudonym, never the name.
//!
//! Why: a log line is a copy of personal data that outlives what the bank erases (the right to
//! be forgotten, docs/right-to-be-forgotten.md), is read by more people than the data, and
//! is shipped to other systems. Operators still need to see that the refusals of one minute
//! hit one username, or that a logout followed a login: the same name gets the same pseudonym
//! on every replica and after every restart. The pseudonym is an HMAC-SHA256 of the name under
//! `GRAPHQL_TOKEN_SECRET` (with a label of its own, so it is never an account token), cut to
//! 64 bits: without the secret nobody can tell whose it is, not even by trying every name;
//! with it, support can find one customer's lines (HMAC-SHA256 of `log pseudonym`, a newline
//! and the username, the first 8 bytes in hex, after `user-`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone)]
pub struct Pseudonyms {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(…)")
    }
}

/// A random key: pseudonyms of this process only (tests, and what is built without the
/// endpoint's configuration).
impl Default for Pseudonyms {
    fn default() -> Self {
        Self::new(&rand::random::<[u8; 32]>())
    }
}

impl Pseudonyms {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: secret.to_vec(),
        }
    }

    /// What the logs show for `username`: `user-` and 16 hex digits.
    pub fn of(&self, username: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"log pseudonym\n");
        mac.update(username.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("user-{}", topology::proofs::hex(&digest[..8]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_one_pseudonym_under_one_secret_and_nothing_of_the_name_in_it() {
        let pseudonyms = Pseudonyms::new(b"the endpoint's token secret");
        let alice = pseudonyms.of("alice-customer");
        assert_eq!(
            alice,
            Pseudonyms::new(b"the endpoint's token secret").of("alice-customer")
        );
        assert_eq!(alice.len(), "user-".len() + 16);
        assert!(!alice.contains("alice"));
        assert_ne!(alice, pseudonyms.of("alice-customer2"));
        assert_ne!(
            alice,
            Pseudonyms::new(b"another secret").of("alice-customer")
        );
        assert_ne!(alice, Pseudonyms::default().of("alice-customer"));
    }
}
