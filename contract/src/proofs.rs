//! What proves a right on the wire, without the secret itself ever being written to Kafka, a
//! state store or a log:
//!
//! - **Account tokens.** A token is the capability to move an account's money. Commands carry
//!   its SHA-256 ([`token_hash`], hex), and events, state stores and read models keep only that
//!   hash: the command handler compares the hash a command carries with the owner's in constant
//!   time ([`same_hash`]). Tokens are 20 digits drawn from a keyed function the GraphQL endpoint
//!   holds (about 66 bits), so their hash cannot be reversed by trying them all. Events written
//!   before the hashes carry the token itself; readers hash it when they read such an event
//!   ([`token_hash_of`]), so old tokens keep working.
//! - **The saga's commands.** A CreditMoneyCommand that crosses from one command-handler instance
//!   to another carries an HMAC-SHA256 of what it asks ([`SagaKey`]), under a key only the command
//!   handlers share: a credit that no saga of the bank asked for is refused, whoever could write
//!   the topic.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::CreditMoneyCommand;

/// The SHA-256 of an account token, in lowercase hex: what every command carries in its
/// `token` field and every event in `token_hash`.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The hash of an event's owner token: its `token_hash`, or for an event written before the
/// hashes, the hash of the token it carries in clear.
pub fn token_hash_of(token_hash: Option<&str>, legacy_token: &str) -> String {
    match token_hash {
        Some(hash) => hash.to_string(),
        None => self::token_hash(legacy_token),
    }
}

/// Whether `text` has the shape of a [`token_hash`]: 64 lowercase hex digits.
pub fn is_token_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A hash to keep for a new owner from what a command gave: a hash as it is, anything else
/// (a sender that gave the token itself by mistake) hashed first, so a clear token is never
/// kept.
pub fn as_token_hash(given: &str) -> String {
    if is_token_hash(given) {
        given.to_string()
    } else {
        token_hash(given)
    }
}

/// Equality of two hashes (or any two secrets) without an early exit on the first differing
/// byte, so the time taken tells nothing about how much of a guess was right.
pub fn same_hash(given: &str, known: &str) -> bool {
    given.as_bytes().ct_eq(known.as_bytes()).into()
}

/// Lower-case hex of `bytes`, as every hash and signature here is written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The key the command handlers sign and check the saga's cross-instance commands with
/// (`COMMAND_HANDLER_SAGA_SECRET`, the same on every instance).
#[derive(Clone)]
pub struct SagaKey(Vec<u8>);

impl std::fmt::Debug for SagaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SagaKey(…)")
    }
}

impl SagaKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    /// A key nobody else has: credits signed with it are accepted by this process only.
    pub fn random() -> Self {
        Self(rand::random::<[u8; 32]>().to_vec())
    }

    /// What a credit asks, field by field: the transfer, the account, the amount and what the
    /// credit's event will say about the transfer.
    /// Every field the credit asks with, each length-prefixed (and an absent one told apart
    /// from an empty one), so no two different credits have the same text: a description
    /// cannot borrow from the field before it.
    fn credit_text(credit: &CreditMoneyCommand) -> String {
        let field = |value: Option<&str>| match value {
            Some(value) => format!("{}:{value}", value.len()),
            None => "-".to_string(),
        };
        [
            field(Some("credit")),
            field(Some(&credit.id.to_uuid_string())),
            field(Some(&credit.iban)),
            field(Some(&credit.amount.to_string())),
            field(credit.transfer_from.as_deref()),
            field(credit.transfer_description.as_deref()),
        ]
        .join(",")
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; new_from_slice fails only for fixed-size MACs.
        Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC key"))
    }

    /// The signature a saga puts on `credit` (hex).
    pub fn sign_credit(&self, credit: &CreditMoneyCommand) -> String {
        let mut mac = self.mac();
        mac.update(Self::credit_text(credit).as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `credit` carries this key's signature of exactly what it asks.
    pub fn signed_credit(&self, credit: &CreditMoneyCommand) -> bool {
        let Some(signature) = credit.saga_signature.as_deref() else {
            return false;
        };
        same_hash(signature, &self.sign_credit(credit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Id;

    #[test]
    fn a_token_hash_is_sha256_in_hex_and_legacy_tokens_are_hashed_on_read() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(token_hash_of(Some("h"), "ignored"), "h");
        assert_eq!(token_hash_of(None, "abc"), token_hash("abc"));
        assert!(same_hash("same", "same"));
        assert!(!same_hash("same", "sane"));
        assert!(!same_hash("same", "same-but-longer"));
        let hash = token_hash("12345678901234567890");
        assert!(is_token_hash(&hash));
        assert_eq!(as_token_hash(&hash), hash);
        assert_eq!(
            as_token_hash("12345678901234567890"),
            hash,
            "a clear token is hashed"
        );
        assert!(!is_token_hash(&hash.to_uppercase()));
        assert!(!is_token_hash(&hash[1..]));
    }

    #[test]
    fn a_description_cannot_borrow_from_the_account_it_comes_from() {
        let key = SagaKey::new(b"the command handlers' secret");
        let credit = |from: Option<&str>, description: Option<&str>| CreditMoneyCommand {
            id: Id([7; 16]),
            iban: "NL66OPEN0000000000".into(),
            amount: 500,
            transfer_from: from.map(String::from),
            transfer_description: description.map(String::from),
            saga_signature: None,
        };
        let signed = key.sign_credit(&credit(Some("NL39OPEN0000000001"), Some("rent")));
        let mut shifted = credit(Some("NL39OPEN000000000"), Some("1\nrent"));
        shifted.saga_signature = Some(signed.clone());
        assert!(!key.signed_credit(&shifted));
        let mut absent = credit(None, Some("rent"));
        absent.saga_signature = Some(key.sign_credit(&credit(Some(""), Some("rent"))));
        assert!(!key.signed_credit(&absent), "absent is not empty");
    }

    #[test]
    fn only_the_keys_signature_of_exactly_this_credit_passes() {
        let key = SagaKey::new(b"the command handlers' secret");
        let mut credit = CreditMoneyCommand {
            id: Id([7; 16]),
            iban: "NL66OPEN0000000000".into(),
            amount: 500,
            transfer_from: Some("NL39OPEN0000000001".into()),
            transfer_description: Some("rent".into()),
            saga_signature: None,
        };
        assert!(!key.signed_credit(&credit), "unsigned");
        credit.saga_signature = Some(key.sign_credit(&credit));
        assert!(key.signed_credit(&credit));
        let other = SagaKey::new(b"another secret");
        assert!(!other.signed_credit(&credit), "another key");
        let mut more = credit.clone();
        more.amount = 50_000;
        assert!(!key.signed_credit(&more), "a changed amount");
        let mut elsewhere = credit;
        elsewhere.iban = "NL12OPEN0000000002".into();
        assert!(!key.signed_credit(&elsewhere), "another account");
    }
}
