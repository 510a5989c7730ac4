//! Account tokens, made and shown again by the endpoint alone.
//!
//! A token (20 digits, the seed contract's capability to move an account's money) is an
//! HMAC-SHA256 under `GRAPHQL_TOKEN_SECRET` of the account, the owner and a random nonce. Only its
//! SHA-256 and the nonce go to Kafka (`CreateBankAccountCommand` / `AddUserToBankAccountCommand`
//! → the account's events → the read models): the command handler checks hashes, and the
//! endpoint, which holds the secret, derives the token again from the nonce when it must show it
//! (`get_account`, `my_accounts`). Every replica needs the same secret, and it must never change:
//! tokens of accounts opened under another secret can no longer be shown (they still work).
//!
//! Accounts opened before the hashes have no nonce: their tokens, kept in clear in their old
//! events only, keep working, and the bank cannot show them any more.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A token just made for an owner, with what goes to Kafka for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub token: String,
    /// `topology::proofs::token_hash` of the token.
    pub hash: String,
    pub nonce: String,
}

#[derive(Clone)]
pub struct AccountTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for AccountTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountTokens(…)")
    }
}

/// 10^20: tokens are 20 digits.
const TOKEN_SPACE: u128 = 100_000_000_000_000_000_000;

impl AccountTokens {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: secret.to_vec(),
        }
    }

    /// A new token for `username` as an owner of `iban`.
    pub fn issue(&self, iban: &str, username: &str) -> NewToken {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let token = self.token_of(iban, username, &nonce);
        NewToken {
            hash: topology::proofs::token_hash(&token),
            token,
            nonce,
        }
    }

    /// The token of `username` for `iban` made with `nonce`.
    pub fn token_of(&self, iban: &str, username: &str, nonce: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("account token\n{iban}\n{username}\n{nonce}").as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        // 2^128 is 3.4·10^18 times 10^20: the remainder is as good as uniform.
        format!("{:020}", u128::from_be_bytes(first) % TOKEN_SPACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_twenty_digits_shown_again_from_its_nonce_by_the_same_secret_only() {
        let tokens = AccountTokens::new(b"the endpoint's token secret");
        let issued = tokens.issue("NL66OPEN0000000000", "alice-owner");
        assert_eq!(issued.token.len(), 20);
        assert!(issued.token.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(issued.hash, topology::proofs::token_hash(&issued.token));
        assert_eq!(
            tokens.token_of("NL66OPEN0000000000", "alice-owner", &issued.nonce),
            issued.token
        );
        let other_secret = AccountTokens::new(b"another secret");
        assert_ne!(
            other_secret.token_of("NL66OPEN0000000000", "alice-owner", &issued.nonce),
            issued.token
        );
        assert_ne!(
            tokens.token_of("NL66OPEN0000000000", "bob-the-owner", &issued.nonce),
            issued.token,
            "each owner their own"
        );
        assert_ne!(
            tokens.issue("NL66OPEN0000000000", "alice-owner"),
            issued,
            "a new nonce"
        );
    }
}
