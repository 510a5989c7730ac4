//! The guard of the fields that list other customers: a valid employee session.

use std::sync::Arc;

use async_graphql::{Context, Result};

use super::errors::unauthenticated;
use crate::employees::{Bearer, Claims, Employees, SessionError};

pub fn require_employee(ctx: &Context<'_>) -> Result<Claims> {
    let employees = ctx.data::<Arc<Employees>>()?;
    let no_bearer = Bearer::default();
    let bearer = ctx.data_opt::<Bearer>().unwrap_or(&no_bearer);
    employees.verify(bearer).map_err(|error| {
        if error != SessionError::Missing {
            tracing::info!(%error, "refused an employee session");
        }
        unauthenticated(error)
    })
}
