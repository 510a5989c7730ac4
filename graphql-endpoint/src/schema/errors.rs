//! Request errors as GraphQL errors with a clear message and an `extensions.code`.

use async_graphql::{Error, ErrorExtensions};
use topology::reasons::Refusal;

use crate::bank::RequestError;
use crate::bus::BusError;
use crate::reads::ReadError;
use crate::validation::InvalidInput;

/// The `extensions.code` of a command refused by admission control, in its resolver or before
/// its request ran ([`crate::shedding`]).
pub const BUSY: &str = "BUSY";

pub fn graphql_error(error: RequestError) -> Error {
    let code = match &error {
        RequestError::Invalid(_) => "BAD_USER_INPUT",
        RequestError::Bus(BusError::Timeout(_))
        | RequestError::Read(ReadError::Bus(BusError::Timeout(_))) => "TIMEOUT",
        RequestError::Read(ReadError::Refused(reason))
            if Refusal::NotCaughtUpYet.matches(reason) =>
        {
            "NOT_CAUGHT_UP"
        }
        RequestError::Read(ReadError::Refused(_)) => "NOT_FOUND",
        RequestError::Bus(BusError::Busy) => BUSY,
        _ => "INTERNAL",
    };
    if code == "INTERNAL" {
        tracing::warn!(%error, "request failed");
    }
    Error::new(error.to_string()).extend_with(|_, e| e.set("code", code))
}

pub fn invalid(error: InvalidInput) -> Error {
    graphql_error(RequestError::Invalid(error))
}

/// A refused read about an account the caller must own: not being an owner, or a wrong
/// token, is `FORBIDDEN`; anything else as [`graphql_error`].
pub fn owner_read_error(error: ReadError) -> Error {
    match &error {
        ReadError::Refused(reason)
            if reason == Refusal::UserIsNoOwnerOfBankAccount.text()
                || reason == Refusal::TokenIsNotValid.text() =>
        {
            Error::new(reason.clone()).extend_with(|_, e| e.set("code", "FORBIDDEN"))
        }
        _ => graphql_error(error.into()),
    }
}
