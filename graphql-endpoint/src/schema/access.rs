//! Who may ask what: every read of a customer's data and every live stream checks the caller's
//! session here (see the README's "Security model").
//!
//! - No session, or one that is not valid, expired or ended: `UNAUTHENTICATED`.
//! - An employee may read every account; a customer only the accounts they own, anything else
//!   is `FORBIDDEN` (also for an IBAN that does not exist, so a stranger cannot tell).
//! - The seed contract's account token stays the capability to act on an account
//!   (`money_transfer`, owners, alerts); without one, the customer's session acts, and the
//!   endpoint sends the command with the hash of that customer's own token. Commands carry the
//!   token's SHA-256 only (`topology::proofs`), never the token.

use std::sync::Arc;

use async_graphql::{Context, Error, ErrorExtensions, Result};
use topology::reasons::Refusal;

use super::errors::graphql_error;
use crate::bank::{Bank, RequestError};
use crate::sessions::{Bearer, Claims, Role, SessionError, Sessions};
use crate::websocket::SocketSession;

pub const EMPLOYEES_ONLY: &str = Refusal::EmployeesOnly.text();
pub const NOT_AN_OWNER: &str = Refusal::UserIsNoOwnerOfBankAccount.text();
pub const NOT_THE_USER: &str = Refusal::UsernameIsNotTheLoggedInUser.text();
pub const EMPLOYEE_LOGIN_REQUIRED: &str = Refusal::EmployeeLoginRequired.text();

pub fn unauthenticated(message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", "UNAUTHENTICATED"))
}

pub fn forbidden(message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", "FORBIDDEN"))
}

/// The request's session token: its socket's current one over WebSocket (renewed by pings),
/// else the `Authorization` header's.
pub fn bearer(ctx: &Context<'_>) -> Bearer {
    match ctx.data_opt::<SocketSession>() {
        Some(socket) => socket.current(),
        None => ctx.data_opt::<Bearer>().cloned().unwrap_or_default(),
    }
}

/// The request's session, checked: `Err(SessionError::Missing)` when it came without one.
pub fn session(ctx: &Context<'_>) -> Result<Result<Claims, SessionError>> {
    let sessions = ctx.data::<Arc<Sessions>>()?;
    Ok(sessions.verify(&bearer(ctx)))
}

/// A valid session of anyone.
pub fn caller(ctx: &Context<'_>) -> Result<Claims> {
    session(ctx)?.map_err(|error| {
        if error != SessionError::Missing {
            tracing::info!(%error, "refused a session");
        }
        unauthenticated(error.to_string())
    })
}

/// A valid customer session.
pub fn customer(ctx: &Context<'_>) -> Result<Claims> {
    let claims = caller(ctx)?;
    match claims.role {
        Role::Customer => Ok(claims),
        Role::Employee => Err(forbidden(Refusal::CustomersOnly.text())),
    }
}

/// A valid employee session.
pub fn employee(ctx: &Context<'_>) -> Result<Claims> {
    match session(ctx)? {
        Err(SessionError::Missing) => Err(unauthenticated(EMPLOYEE_LOGIN_REQUIRED)),
        Err(error) => {
            tracing::info!(%error, "refused an employee session");
            Err(unauthenticated(error.to_string()))
        }
        Ok(claims) if claims.role == Role::Employee => Ok(claims),
        Ok(_) => Err(forbidden(EMPLOYEES_ONLY)),
    }
}

/// May `claims` read account `iban`? Employees may; a customer must own it.
pub async fn may_read(bank: &Bank, claims: &Claims, iban: &str) -> Result<()> {
    if claims.role == Role::Employee {
        return Ok(());
    }
    let owns = bank
        .rights
        .owns(&bank.queries, &claims.sub, iban)
        .await
        .map_err(|e| graphql_error(e.into()))?;
    if owns {
        Ok(())
    } else {
        Err(forbidden(NOT_AN_OWNER))
    }
}

/// The caller's session, allowed to read account `iban`.
pub async fn reader_of(ctx: &Context<'_>, iban: &str) -> Result<Claims> {
    let claims = caller(ctx)?;
    may_read(ctx.data::<Arc<Bank>>()?, &claims, iban).await?;
    Ok(claims)
}

/// Who acts on account `iban`, and the hash of the token that proves it: the given `username`
/// and `token` (the seed contract), or, without a token, the logged-in customer with the hash of
/// their own token for `iban` (empty when they own none, so the command handler answers its
/// usual refusal).
pub async fn acting_owner(
    ctx: &Context<'_>,
    iban: &str,
    username: Option<String>,
    token: Option<String>,
) -> Result<(String, String)> {
    if let Some(token) = token {
        crate::validation::token(&token).map_err(super::errors::invalid)?;
        let username = match username {
            Some(username) => username,
            None => customer(ctx)?.sub,
        };
        return Ok((username, topology::proofs::token_hash(&token)));
    }
    let claims = customer(ctx)?;
    if username.as_deref().is_some_and(|given| given != claims.sub) {
        return Err(forbidden(NOT_THE_USER));
    }
    let bank = ctx.data::<Arc<Bank>>()?;
    let token_hash = bank
        .rights
        .token_hash_of(&bank.queries, &claims.sub, iban)
        .await
        .map_err(|e| graphql_error(RequestError::from(e)))?
        .unwrap_or_default();
    Ok((claims.sub, token_hash))
}

/// What a mutation that moves money later or now asks for (`money_transfer`, `hold_money`,
/// `set_standing_order`), as its GraphQL arguments give it.
pub struct TransferArgs<'a> {
    pub uuid: &'a str,
    pub amount: i32,
    pub from: &'a str,
    pub to: &'a str,
    pub descr: &'a str,
}

/// The transfer `args` ask for, checked, by the acting owner of `home` (see [`acting_owner`]).
pub async fn acting_transfer(
    ctx: &Context<'_>,
    home: &str,
    username: Option<String>,
    token: Option<String>,
    args: TransferArgs<'_>,
) -> Result<crate::validation::Transfer> {
    let (username, token) = acting_owner(ctx, home, username, token).await?;
    crate::validation::transfer(
        args.uuid,
        &username,
        &token,
        i64::from(args.amount),
        args.from,
        args.to,
        args.descr,
    )
    .map_err(super::errors::invalid)
}
