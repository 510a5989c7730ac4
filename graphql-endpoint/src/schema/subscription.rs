//! The live streams. Each checks the caller's rights when it starts and again every
//! [`RECHECK`] while it lives: a session that expires or is logged out, or a customer removed
//! as an owner, ends the stream within seconds with one error (`UNAUTHENTICATED` /
//! `FORBIDDEN`), never with a silent stop.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_graphql::{Context, Result, Subscription};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::access::{caller, employee as require_employee, forbidden, unauthenticated};
use super::alerts::{rules_reader, Alert};
use super::errors::{invalid, owner_read_error};
use super::filter::TransactionFilter;
use super::operations_view::{snapshot, OperationsView, Watching, REFRESH};
use super::types::{Direction, Transaction};
use crate::bank::Bank;
use crate::feed::{AlertFeed, TransactionFeed};
use crate::sessions::{Bearer, Claims, Role, Sessions};
use crate::validation;
use crate::websocket::{SocketSession, SubscriptionSlots};

/// How often a live stream's rights are checked again.
pub const RECHECK: Duration = Duration::from_secs(2);

pub struct SubscriptionRoot;

/// Yields `items` while `check` (asked every [`RECHECK`]) passes; the first failure is the
/// stream's last item.
fn while_allowed<T, S, C, F>(items: S, mut check: C) -> impl Stream<Item = Result<T>>
where
    S: Stream<Item = T> + Send,
    C: FnMut() -> F + Send,
    F: std::future::Future<Output = Result<()>> + Send,
{
    let start = tokio::time::Instant::now() + RECHECK;
    let ticks =
        tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(start, RECHECK));
    let refusals = ticks
        .then(move |_| check())
        .filter_map(|checked| std::future::ready(checked.err().map(Err)));
    futures::stream::select(items.map(Ok), refusals).scan(false, |ended, item| {
        if *ended {
            return std::future::ready(None);
        }
        *ended = item.is_err();
        std::future::ready(Some(item))
    })
}

/// Where a stream's session comes from: its socket's (renewed by pings), or the request's.
#[derive(Clone)]
enum SessionOf {
    Socket(SocketSession),
    Request(Bearer),
}

/// What a stream needs to check its caller again.
#[derive(Clone)]
struct Recheck {
    sessions: Arc<Sessions>,
    session: SessionOf,
    bank: Arc<Bank>,
}

impl Recheck {
    fn of(ctx: &Context<'_>) -> Result<Self> {
        let session = match ctx.data_opt::<SocketSession>() {
            Some(socket) => SessionOf::Socket(socket.clone()),
            None => SessionOf::Request(ctx.data_opt::<Bearer>().cloned().unwrap_or_default()),
        };
        Ok(Self {
            sessions: Arc::clone(ctx.data::<Arc<Sessions>>()?),
            session,
            bank: Arc::clone(ctx.data::<Arc<Bank>>()?),
        })
    }

    fn session(&self) -> Result<Claims> {
        let bearer = match &self.session {
            SessionOf::Socket(socket) => socket.current(),
            SessionOf::Request(bearer) => bearer.clone(),
        };
        self.sessions
            .verify(&bearer)
            .map_err(|error| unauthenticated(error.to_string()))
    }

    /// The session is still valid and may still read `iban`.
    async fn reader_of(&self, iban: &str) -> Result<()> {
        let claims = self.session()?;
        super::access::may_read(&self.bank, &claims, iban).await
    }

    /// The session is still valid; for a customer, the IBANs they own now.
    async fn owned(&self) -> Result<Option<HashSet<String>>> {
        let claims = self.session()?;
        if claims.role == Role::Employee {
            return Ok(None);
        }
        let ibans = self
            .bank
            .rights
            .ibans_of(&self.bank.queries, &claims.sub)
            .await
            .map_err(|e| super::errors::graphql_error(e.into()))?;
        Ok(Some(ibans.into_iter().collect()))
    }
}

#[Subscription(rename_fields = "snake_case", rename_args = "snake_case")]
impl SubscriptionRoot {
    /// For employees only (the session in the `connection_init` payload): `operations`, now
    /// and then every 2 s.
    async fn operations_live(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<OperationsView>>> {
        require_employee(ctx)?;
        let slot = SubscriptionSlots::take(ctx)?;
        let watching = Arc::clone(ctx.data::<Arc<Watching>>()?);
        let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(REFRESH));
        let views = ticks.then(move |_| {
            let watching = Arc::clone(&watching);
            async move { snapshot(&watching).await }
        });
        let recheck = Recheck::of(ctx)?;
        Ok(while_allowed(views, move || {
            let (recheck, _slot) = (recheck.clone(), &slot);
            async move {
                match recheck.session()?.role {
                    Role::Employee => Ok(()),
                    Role::Customer => Err(forbidden(super::access::EMPLOYEES_ONLY)),
                }
            }
        }))
    }

    /// Transactions as they happen: of one `iban` (for its owners and employees), or without
    /// one every account's (employees) or all of the customer's own accounts. Optionally only
    /// those with an amount (in cents, without sign) between `min_amount` and `max_amount`, in
    /// one `direction`, or whose description contains `descr_includes` (case-insensitive).
    async fn stream_transactions(
        &self,
        ctx: &Context<'_>,
        iban: Option<String>,
        min_amount: Option<i32>,
        max_amount: Option<i32>,
        direction: Option<Direction>,
        descr_includes: Option<String>,
    ) -> Result<impl Stream<Item = Result<Transaction>>> {
        let (min_amount, max_amount) = (min_amount.map(i64::from), max_amount.map(i64::from));
        validation::amount_range(min_amount, max_amount).map_err(invalid)?;
        let recheck = Recheck::of(ctx)?;
        // Subscribe before the check, so nothing slips between the two.
        let receiver = ctx.data::<Arc<TransactionFeed>>()?.subscribe();
        caller(ctx)?;
        let owned: Arc<RwLock<Option<HashSet<String>>>> = Arc::default();
        match &iban {
            Some(iban) => recheck.reader_of(iban).await?,
            None => *owned.write().unwrap_or_else(|e| e.into_inner()) = recheck.owned().await?,
        }
        let slot = SubscriptionSlots::take(ctx)?;
        let filter = TransactionFilter::new(
            iban.clone(),
            min_amount,
            max_amount,
            direction,
            descr_includes,
        );
        let visible = Arc::clone(&owned);
        let items = BroadcastStream::new(receiver).filter_map(move |received| {
            let passed = match received {
                Ok(transaction) => {
                    let allowed = visible
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_ref()
                        .is_none_or(|ibans| {
                            transaction.iban.as_ref().is_some_and(|i| ibans.contains(i))
                        });
                    (allowed && filter.matches(&transaction))
                        .then(|| Transaction::clone(&transaction))
                }
                Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a subscriber fell behind and skipped transactions");
                    None
                }
            };
            std::future::ready(passed)
        });
        Ok(while_allowed(items, move || {
            let (recheck, owned, iban, _slot) =
                (recheck.clone(), Arc::clone(&owned), iban.clone(), &slot);
            async move {
                match iban {
                    Some(iban) => recheck.reader_of(&iban).await,
                    None => {
                        let now = recheck.owned().await?;
                        *owned.write().unwrap_or_else(|e| e.into_inner()) = now;
                        Ok(())
                    }
                }
            }
        }))
    }

    /// The alerts of account `iban` as they fire, for its owner (the logged-in customer, or
    /// `username` proven by `token`) or an employee.
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        iban: String,
        username: Option<String>,
        #[graphql(secret)] token: Option<String>,
    ) -> Result<impl Stream<Item = Result<Alert>>> {
        let with_session = token.is_none();
        let (username, token) = rules_reader(ctx, &iban, username, token).await?;
        validation::account_command(&iban, &username, &token).map_err(invalid)?;
        // Subscribe before the check, so no alert slips between the two.
        let receiver = ctx.data::<Arc<AlertFeed>>()?.subscribe();
        let recheck = Recheck::of(ctx)?;
        let rules_allowed = {
            let (bank, iban) = (Arc::clone(&recheck.bank), iban.clone());
            move || {
                let (bank, iban, username, token) = (
                    Arc::clone(&bank),
                    iban.clone(),
                    username.clone(),
                    token.clone(),
                );
                async move {
                    bank.queries
                        .alert_rules(&iban, &username, &token)
                        .await
                        .map(|_| ())
                        .map_err(owner_read_error)
                }
            }
        };
        let check_rules = rules_allowed.clone();
        check_rules().await?;
        let slot = SubscriptionSlots::take(ctx)?;
        let watched = iban.clone();
        let items = BroadcastStream::new(receiver).filter_map(move |received| {
            let passed = match received {
                Ok(alert) => (alert.iban == watched).then(|| Alert::clone(&alert)),
                Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                    tracing::warn!(
                        skipped,
                        "an alert subscriber fell behind and skipped alerts"
                    );
                    None
                }
            };
            std::future::ready(passed)
        });
        let check_rules = rules_allowed;
        Ok(while_allowed(items, move || {
            let (recheck, iban, _slot) = (recheck.clone(), iban.clone(), &slot);
            let rules = check_rules();
            async move {
                if with_session {
                    recheck.reader_of(&iban).await?;
                }
                rules.await
            }
        }))
    }
}
