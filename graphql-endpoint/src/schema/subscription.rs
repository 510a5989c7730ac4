//! The live streams. Each checks the caller's rights when it starts and again every
//! [`RECHECK`] while it lives: a session that expires or is logged out, or a customer removed
//! as an owner, ends the stream within seconds with one error (`UNAUTHENTICATED` /
//! `FORBIDDEN`), never with a silent stop. A subscriber that falls so far behind the feed that
//! records were dropped for it gets every record up to the gap, then one `RESYNC` error naming
//! the last one delivered, and the stream ends: the client reads again and subscribes again,
//! rather than missing transactions without knowing.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_graphql::{value, Context, ErrorExtensions, Result, Subscription, Value};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
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

/// Yields `items` while `check` (asked every [`RECHECK`]) passes; the first failure, of the
/// check or among the items, is the stream's last item.
fn while_allowed<T, S, C, F>(items: S, mut check: C) -> impl Stream<Item = Result<T>>
where
    S: Stream<Item = Result<T>> + Send,
    C: FnMut() -> F + Send,
    F: std::future::Future<Output = Result<()>> + Send,
{
    let start = tokio::time::Instant::now() + RECHECK;
    let ticks =
        tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(start, RECHECK));
    let refusals = ticks
        .then(move |_| check())
        .filter_map(|checked| std::future::ready(checked.err().map(Err)));
    futures::stream::select(items, refusals).scan(false, |ended, item| {
        if *ended {
            return std::future::ready(None);
        }
        *ended = item.is_err();
        std::future::ready(Some(item))
    })
}

/// The records of `receiver` that `keep` selects, in order. If the subscriber falls so far behind
/// that the feed's buffer dropped records for it, the stream ends with one [`resync`] error that
/// carries the `position` of the last record it delivered.
fn delivered_or_resync<T, U, K>(
    receiver: broadcast::Receiver<Arc<T>>,
    mut keep: K,
    position: fn(&U) -> Value,
) -> impl Stream<Item = Result<U>>
where
    T: Send + Sync + 'static,
    U: Send + 'static,
    K: FnMut(&T) -> Option<U> + Send + 'static,
{
    BroadcastStream::new(receiver)
        .scan(None::<Value>, move |last, received| {
            let item = match received {
                Ok(record) => keep(&record).map(|kept| {
                    *last = Some(position(&kept));
                    Ok(kept)
                }),
                Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a subscriber fell behind the feed; told to resync");
                    metrics::counter!("open_bank_subscription_resyncs_total").increment(1);
                    Some(Err(resync(skipped, last.take())))
                }
            };
            std::future::ready(Some(item))
        })
        .filter_map(std::future::ready)
}

/// The error that ends a stream whose subscriber fell behind: `extensions.code` `RESYNC`,
/// `skipped` (how many records of the feed it missed, its own and others'), and
/// `last_delivered` (the position of the last record it received, absent if none).
fn resync(skipped: u64, last_delivered: Option<Value>) -> async_graphql::Error {
    async_graphql::Error::new(
        "this stream fell behind and missed records: read again, then subscribe again",
    )
    .extend_with(|_, extensions| {
        extensions.set("code", RESYNC);
        extensions.set("skipped", skipped);
        if let Some(position) = last_delivered {
            extensions.set("last_delivered", position);
        }
    })
}

/// `extensions.code` of [`resync`].
pub const RESYNC: &str = "RESYNC";

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
        Ok(while_allowed(views.map(Ok), move || {
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
        let keep = move |transaction: &Transaction| {
            let allowed = visible
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_none_or(|ibans| transaction.iban.as_ref().is_some_and(|i| ibans.contains(i)));
            (allowed && filter.matches(transaction)).then(|| transaction.clone())
        };
        let items = delivered_or_resync(
            receiver,
            keep,
            |transaction| value!({ "iban": transaction.iban, "id": transaction.id }),
        );
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
        let keep = move |alert: &Alert| (alert.iban == watched).then(|| alert.clone());
        let items = delivered_or_resync(receiver, keep, |alert| {
            value!({
                "iban": alert.iban,
                "transaction_id": alert.transaction_id,
                "transfer_id": alert.transfer_id,
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn code(error: &async_graphql::Error) -> Option<Value> {
        error.extensions.as_ref()?.get("code").cloned()
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_gets_what_came_before_the_gap_then_one_resync() {
        let (feed, receiver) = broadcast::channel::<Arc<i32>>(4);
        // Only even records are this subscriber's; the position is the record itself.
        let keep = |n: &i32| (n % 2 == 0).then_some(*n);
        let items = delivered_or_resync(receiver, keep, |n| Value::from(*n));
        let mut stream = Box::pin(while_allowed(items, || async { Ok(()) }));
        for n in 1..=2 {
            feed.send(Arc::new(n)).unwrap();
        }
        assert_eq!(stream.next().await.unwrap().unwrap(), 2);
        // Ten more while it does not read: the buffer keeps the last four, 9 to 12.
        for n in 3..=12 {
            feed.send(Arc::new(n)).unwrap();
        }
        let error = stream.next().await.unwrap().unwrap_err();
        assert_eq!(code(&error), Some(Value::from(RESYNC)));
        let extensions = error.extensions.as_ref().unwrap();
        assert_eq!(extensions.get("skipped"), Some(&Value::from(6)));
        assert_eq!(extensions.get("last_delivered"), Some(&Value::from(2)));
        // The stream ends there: what follows the gap comes from a new subscription.
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn a_subscriber_that_keeps_up_gets_every_record_in_order() {
        let (feed, receiver) = broadcast::channel::<Arc<i32>>(4);
        let items = delivered_or_resync(receiver, |n: &i32| Some(*n), |n| Value::from(*n));
        let mut stream = Box::pin(while_allowed(items, || async { Ok(()) }));
        for n in 0..100 {
            feed.send(Arc::new(n)).unwrap();
            assert_eq!(stream.next().await.unwrap().unwrap(), n);
        }
    }
}
