//! What the GraphQL resolvers call: the command bus and the query bus together, password
//! checks, who owns what, and the errors a request can end in besides a domain reason.

use crate::bus::{BusError, CommandBus, QueryBus};
use crate::logins::Logins;
use crate::reads::ReadError;
use crate::rights::Rights;
use crate::secrets::SecretError;
use crate::tokens::AccountTokens;
use crate::validation::InvalidInput;

pub struct Bank {
    pub commands: CommandBus,
    pub queries: QueryBus,
    /// What the operations view shows; the bank reports its transfers' latencies there.
    pub operations: std::sync::Arc<crate::operations::Operations>,
    /// Every password check, throttled.
    pub logins: Logins,
    /// Who owns which account, for authorization.
    pub rights: Rights,
    /// Makes owners' tokens and shows them again.
    pub tokens: AccountTokens,
}

/// Why a request got no answer at all (a domain refusal is an answer, with a reason).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}
