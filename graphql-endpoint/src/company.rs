//! At start: make sure the company account exists and has been funded, once, from `cash`.
//!
//! Funding is idempotent across restarts and across several endpoint instances: its transfer
//! id is a fixed UUID v5, so every later MoneyTransferCommand is refused by the command
//! handler as already started and moves no money.

use std::time::Duration;

use topology::values::{CASH, COMPANY_IBAN};
use topology::Id;
use uuid::Uuid;

use crate::accounts::{Login, IBAN_EXISTS, USER_EXISTS};
use crate::bank::{Bank, RequestError};
use crate::bus::Feedback;
use crate::secrets::hash_password;
use crate::validation::Transfer;

pub const COMPANY_USER: &str = "openweb";

/// The one id of the company account's funding transfer.
pub fn funding_id() -> Id {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"urn:open-bank:company-account-funding",
    )
    .into()
}

#[derive(Debug, thiserror::Error)]
pub enum CompanyError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("{0}")]
    Refused(String),
}

/// One attempt; the caller retries (the command handler or projector may not be up yet).
pub async fn ensure(bank: &Bank, funding_cents: i64) -> Result<(), CompanyError> {
    // The funding transfer proves the right to deposit with the hash of the company's token.
    let token_hash = match bank
        .queries
        .find_account(COMPANY_IBAN)
        .await
        .map_err(RequestError::from)?
    {
        Some(account) => account
            .owners
            .into_iter()
            .find(|owner| owner.username == COMPANY_USER)
            .map(|owner| owner.token_hash)
            .ok_or_else(|| {
                CompanyError::Refused(format!(
                    "{COMPANY_IBAN} exists but {COMPANY_USER} does not own it"
                ))
            })?,
        None => create(bank).await?,
    };
    let transfer = Transfer {
        id: funding_id(),
        username: COMPANY_USER.into(),
        token_hash,
        amount: funding_cents,
        from: CASH.into(),
        to: COMPANY_IBAN.into(),
        descr: "initial funding of the company account".into(),
    };
    let outcome = bank.money_transfer(&transfer).await?;
    if outcome.success {
        tracing::info!(iban = COMPANY_IBAN, "company account ready and funded");
        Ok(())
    } else {
        Err(CompanyError::Refused(format!(
            "funding the company account: {}",
            outcome.reason.unwrap_or_default()
        )))
    }
}

/// Creates user `openweb` (with a random password nobody knows: it never logs in) and the
/// company account; returns the hash of the account's token.
async fn create(bank: &Bank) -> Result<String, CompanyError> {
    if bank
        .queries
        .find_user(COMPANY_USER)
        .await
        .map_err(RequestError::from)?
        .is_none()
    {
        let password = format!("{}{}", Uuid::new_v4(), Uuid::new_v4());
        // Retried on failure, like everything here (a busy hashing queue included).
        let hash = hash_password(password).await.map_err(RequestError::from)?;
        match bank.create_user(COMPANY_USER, hash).await? {
            Feedback::Succeeded { .. } => {}
            Feedback::Failed { reason, .. } if reason == USER_EXISTS => {}
            Feedback::Failed { reason, .. } => return Err(CompanyError::Refused(reason)),
        }
    }
    match bank
        .create_bank_account(COMPANY_USER, Some(COMPANY_IBAN))
        .await?
    {
        Login::Account {
            token: Some(token), ..
        } => Ok(topology::proofs::token_hash(&token)),
        Login::Account { token: None, .. } => Err(CompanyError::Refused(
            "the company account was created without a token".into(),
        )),
        // Created by another instance since we asked: its token comes with the next attempt.
        Login::Refused(reason) if reason == IBAN_EXISTS => Err(CompanyError::Refused(format!(
            "{COMPANY_IBAN} was just created elsewhere; retrying"
        ))),
        Login::Refused(reason) => Err(CompanyError::Refused(reason)),
    }
}

/// Retries [`ensure`] until it succeeds, waiting `pause` between attempts.
pub async fn ensure_with_retries(bank: &Bank, funding_cents: i64, pause: Duration) {
    let mut attempt = 1u32;
    loop {
        match ensure(bank, funding_cents).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(attempt, %error, "company account not ready yet; retrying");
            }
        }
        attempt += 1;
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_funding_id_never_changes() {
        assert_eq!(funding_id(), funding_id());
        assert_eq!(
            funding_id().to_uuid_string(),
            Uuid::new_v5(
                &Uuid::NAMESPACE_URL,
                b"urn:open-bank:company-account-funding"
            )
            .to_string()
        );
    }
}
