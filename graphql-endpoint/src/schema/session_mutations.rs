//! Logging in and out: `login` (customers), `employee_login`, `refresh_session`, `logout` and
//! `change_password`. See [`crate::sessions`] for what a session is and how it ends everywhere.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_graphql::{Context, Object, Result};
use topology::{SessionEndedEvent, SessionEvent, UserSessionsEndedEvent};

use super::access::{caller, customer};
use super::errors::{graphql_error, invalid};
use super::types::{CommandResult, EmployeeSession, Session};
use crate::bank::{Bank, RequestError};
use crate::client_address::ClientAddress;
use crate::employees::Employees;
use crate::owners::CommandOutcome;
use crate::sessions::log::SessionLog;
use crate::sessions::{millis, Claims, Role, Sessions};
use crate::validation;

/// The client address of the request, for throttling.
fn address(ctx: &Context<'_>) -> Option<std::net::IpAddr> {
    ctx.data_opt::<ClientAddress>().map(|address| address.0)
}

/// Until when a record about `claims`' session matters: its absolute end.
fn session_end_ms(claims: &Claims) -> i64 {
    i64::try_from(claims.max_exp.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[derive(Default)]
pub struct SessionMutations;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl SessionMutations {
    /// Log in as a customer: a session `token` to send as `Authorization: Bearer <token>`
    /// (over WebSocket in the `connection_init` payload). It ends after 15 minutes without
    /// `refresh_session` and 12 hours after the login (by default), or at `logout`. An unknown
    /// username and a wrong password get the same reason.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        #[graphql(secret)] password: String,
    ) -> Result<Session> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let checked = bank
            .authenticate(&username, &password, address(ctx))
            .await
            .map_err(graphql_error)?;
        if let Err(reason) = checked {
            return Ok(Session::refused(reason));
        }
        let sessions = ctx.data::<Arc<Sessions>>()?;
        let session = sessions
            .issue(&username, Role::Customer, SystemTime::now())
            .map_err(|error| async_graphql::Error::new(error.to_string()))?;
        Ok(session.into())
    }

    /// Log in as a bank employee (employees are configured on the endpoint, not signed up).
    /// The session `token` goes along as `Authorization: Bearer <token>` with every operation
    /// that lists other customers (`all_accounts`), like a customer's.
    async fn employee_login(
        &self,
        ctx: &Context<'_>,
        username: String,
        #[graphql(secret)] password: String,
    ) -> Result<EmployeeSession> {
        validation::credentials(&username, &password).map_err(invalid)?;
        let employees = ctx.data::<Arc<Employees>>()?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let checked = employees
            .check(&bank.logins, &username, &password, address(ctx))
            .await
            .map_err(|e| graphql_error(RequestError::from(e)))?;
        let username = match checked {
            Ok(username) => username,
            Err(reason) => {
                return Ok(EmployeeSession {
                    reason: Some(reason),
                    ..EmployeeSession::default()
                })
            }
        };
        let sessions = ctx.data::<Arc<Sessions>>()?;
        let session = sessions
            .issue(&username, Role::Employee, SystemTime::now())
            .map_err(|error| async_graphql::Error::new(error.to_string()))?;
        Ok(EmployeeSession {
            token: Some(session.token),
            expires_at: Some(session.expires_at),
            reason: None,
        })
    }

    /// A new token of the caller's session (customer or employee), ending later: call it while
    /// the user is active. The session's absolute end does not move.
    async fn refresh_session(&self, ctx: &Context<'_>) -> Result<Session> {
        let claims = caller(ctx)?;
        let sessions = ctx.data::<Arc<Sessions>>()?;
        let session = sessions
            .refresh(&claims, SystemTime::now())
            .map_err(|error| async_graphql::Error::new(error.to_string()))?;
        Ok(session.into())
    }

    /// End the caller's session on every endpoint replica (within a second).
    async fn logout(&self, ctx: &Context<'_>) -> Result<CommandResult> {
        let claims = caller(ctx)?;
        let event = SessionEvent::from(SessionEndedEvent {
            session: claims.session_hash(),
            until: session_end_ms(&claims),
        });
        ctx.data::<Arc<SessionLog>>()?
            .publish(&claims.sub, event)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        let user = ctx.data::<Arc<Bank>>()?.logins.pseudonym(&claims.sub);
        tracing::info!(user, "logged out");
        Ok(CommandOutcome::succeeded().into())
    }

    /// Change the logged-in customer's password: `old_password` must be right and
    /// `new_password` strong enough. Every other session of the user ends; this one stays.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] old_password: String,
        #[graphql(secret)] new_password: String,
    ) -> Result<CommandResult> {
        let claims = customer(ctx)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let outcome = bank
            .change_password(&claims.sub, &old_password, &new_password, address(ctx))
            .await
            .map_err(graphql_error)?;
        if outcome.success {
            let event = SessionEvent::from(UserSessionsEndedEvent {
                username: claims.sub.clone(),
                issued_before: millis(SystemTime::now() + Duration::from_millis(1)),
                except_session: Some(claims.session_hash()),
                until: millis(SystemTime::now() + LONGEST_SESSION),
            });
            ctx.data::<Arc<SessionLog>>()?
                .publish(&claims.sub, event)
                .await
                .map_err(|e| graphql_error(e.into()))?;
            tracing::info!(
                username = claims.sub,
                "password changed; other sessions ended"
            );
        }
        Ok(outcome.into())
    }
}

/// Sessions that began before a password change may live at most this much longer; the record
/// ending them is kept that long. Longer than any configured absolute lifetime is allowed to be
/// (see `SESSION_MAX_SECONDS`).
pub const LONGEST_SESSION: Duration = Duration::from_secs(7 * 24 * 3600);
