//! `/graphql/ws`: GraphQL subscriptions over WebSocket, both `graphql-transport-ws` and the
//! legacy `graphql-ws` protocol (picked from `Sec-WebSocket-Protocol`), with bounds a hostile
//! client cannot push past:
//! - the `Origin` of a browser must be one of `ALLOWED_ORIGINS` (a page elsewhere could open a
//!   socket with the user's cookies otherwise): 403;
//! - at most `GRAPHQL_MAX_SOCKETS_PER_ADDRESS` open sockets per client address: 429;
//! - at most `GRAPHQL_MAX_SUBSCRIPTIONS_PER_SOCKET` subscriptions on one socket; one more is
//!   refused with `TOO_MANY_SUBSCRIPTIONS`;
//! - a socket that does not send `connection_init` in time is closed (4408, as the
//!   graphql-transport-ws protocol says); the server pings every socket (WebSocket ping frames,
//!   which browsers and client libraries answer by themselves) and closes one it has not heard
//!   from for three intervals (a half-open socket: the client's machine or network is gone);
//!   a socket without any subscription for `GRAPHQL_WS_IDLE_SECONDS` is closed.
//!
//! async-graphql-axum's ready-made service upgrades with tungstenite's default buffers of
//! 128 KiB to read and 128 KiB to write per connection: 1,000 open subscriptions took 150 MB.
//! A subscription receives small documents and sends one small transaction at a time, so it
//! gets 4 KiB buffers (they grow when needed): 1,000 subscriptions take about 20 MB. The cap on
//! incoming messages keeps one client from making the server buffer megabytes.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Context, Data, ErrorExtensions};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dashmap::DashMap;
use futures::{SinkExt, StreamExt};

use crate::client_address::{ClientAddress, TrustedProxies};
use crate::schema::BankSchema;
use crate::server::AllowedOrigins;
use crate::sessions::{Bearer, Sessions};

const BUFFER_BYTES: usize = 4 * 1024;
/// A subscription document with its variables; far more than any real one needs.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// A write to a client that does not read (a full TCP window) gives up after this.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The bounds of every socket.
#[derive(Debug, Clone, Copy)]
pub struct SocketLimits {
    pub per_address: usize,
    pub subscriptions: usize,
    /// The server pings every this long, and closes a socket silent for three of them.
    pub ping_every: Duration,
    /// `connection_init` must come within this.
    pub init_within: Duration,
    /// A socket without subscriptions is closed after this.
    pub idle_after: Duration,
}

impl Default for SocketLimits {
    fn default() -> Self {
        Self {
            per_address: 64,
            subscriptions: 100,
            ping_every: Duration::from_secs(15),
            init_within: Duration::from_secs(10),
            idle_after: Duration::from_secs(300),
        }
    }
}

/// Everything the WebSocket route needs.
#[derive(Clone)]
pub struct Sockets {
    pub schema: BankSchema,
    pub sessions: Arc<Sessions>,
    pub origins: Arc<AllowedOrigins>,
    pub proxies: TrustedProxies,
    pub limits: SocketLimits,
    open: Arc<DashMap<IpAddr, usize>>,
}

impl Sockets {
    pub fn new(
        schema: BankSchema,
        sessions: Arc<Sessions>,
        origins: Arc<AllowedOrigins>,
        proxies: TrustedProxies,
        limits: SocketLimits,
    ) -> Self {
        Self {
            schema,
            sessions,
            origins,
            proxies,
            limits,
            open: Arc::default(),
        }
    }
}

/// One open socket of a client address, counted while it lives.
struct OpenSocket {
    open: Arc<DashMap<IpAddr, usize>>,
    address: IpAddr,
}

impl OpenSocket {
    fn take(open: &Arc<DashMap<IpAddr, usize>>, address: IpAddr, max: usize) -> Option<Self> {
        let mut count = open.entry(address).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Self {
            open: Arc::clone(open),
            address,
        })
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.open.remove_if_mut(&self.address, |_, count| {
            *count = count.saturating_sub(1);
            *count == 0
        });
    }
}

pub async fn subscriptions(
    State(sockets): State<Sockets>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN) {
        if !sockets.origins.allows(origin) {
            tracing::info!(?origin, "refused a WebSocket from an origin not allowed");
            return (
                StatusCode::FORBIDDEN,
                "this origin may not open a WebSocket here",
            )
                .into_response();
        }
    }
    let address = sockets.proxies.client(peer, &headers);
    let Some(open) = OpenSocket::take(&sockets.open, address.0, sockets.limits.per_address) else {
        tracing::info!(address = %address.0, "refused a WebSocket: too many from this address");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many WebSockets from this address",
        )
            .into_response();
    };
    upgrade
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, sockets, protocol, address, open))
}

/// Milliseconds since `start`, for an atomic "last heard" mark.
fn since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn serve(
    socket: WebSocket,
    sockets: Sockets,
    protocol: GraphQLProtocol,
    address: ClientAddress,
    _open: OpenSocket,
) {
    let opened = Instant::now();
    let heard = Arc::new(AtomicU64::new(0));
    let initialised = Arc::new(AtomicBool::new(false));
    let slots = SubscriptionSlots::new(sockets.limits.subscriptions);
    let (sink, stream) = socket.split();
    let heard_by_reader = Arc::clone(&heard);
    let incoming = stream.inspect(move |_| heard_by_reader.store(since(opened), Ordering::Relaxed));
    let (to_client, from_graphql) = futures::channel::mpsc::channel::<Message>(32);
    let session = SocketSession::default();
    let mut data = Data::default();
    data.insert(address);
    data.insert(slots.clone());
    data.insert(session.clone());
    let init_seen = Arc::clone(&initialised);
    let (initial, renewed, sessions) = (session.clone(), session, Arc::clone(&sockets.sessions));
    let graphql = GraphQLWebSocket::new_with_pair(to_client, incoming, sockets.schema, protocol)
        .with_data(data)
        .on_connection_init(move |payload| async move {
            init_seen.store(true, Ordering::Relaxed);
            initial.set(Bearer::from_init_payload(&payload));
            Ok(Data::default())
        })
        .on_ping(move |_, payload| {
            if let Some(payload) = &payload {
                renewed.renew(&sessions, Bearer::from_init_payload(payload));
            }
            async { Ok(None) }
        })
        .serve();
    let watch = Watch {
        opened,
        heard,
        initialised,
        slots,
        limits: sockets.limits,
    };
    tokio::select! {
        () = graphql => {}
        () = watch.write(sink, from_graphql) => {}
    }
}

/// The writing half of a socket: what GraphQL sends, pings, and the decision to close.
struct Watch {
    opened: Instant,
    heard: Arc<AtomicU64>,
    initialised: Arc<AtomicBool>,
    slots: SubscriptionSlots,
    limits: SocketLimits,
}

impl Watch {
    async fn write(
        self,
        mut sink: futures::stream::SplitSink<WebSocket, Message>,
        mut from_graphql: futures::channel::mpsc::Receiver<Message>,
    ) {
        let check_every = (self.limits.ping_every / 3).max(Duration::from_millis(100));
        let mut checks = tokio::time::interval(check_every);
        let mut last_ping = Instant::now();
        let mut idle_since = Some(Instant::now());
        loop {
            let message = tokio::select! {
                next = from_graphql.next() => match next {
                    Some(message) => message,
                    None => return,
                },
                _ = checks.tick() => match self.verdict(&mut idle_since) {
                    Some(close) => {
                        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
                        return;
                    }
                    None if last_ping.elapsed() >= self.limits.ping_every => {
                        last_ping = Instant::now();
                        Message::Ping(Vec::new().into())
                    }
                    None => continue,
                },
            };
            match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    }

    /// A close frame when the socket must go.
    fn verdict(&self, idle_since: &mut Option<Instant>) -> Option<Message> {
        let close = |code: u16, reason: &str| {
            Some(Message::Close(Some(CloseFrame {
                code,
                reason: reason.to_string().into(),
            })))
        };
        if !self.initialised.load(Ordering::Relaxed)
            && self.opened.elapsed() > self.limits.init_within
        {
            return close(4408, "Connection initialisation timeout");
        }
        let silent = since(self.opened).saturating_sub(self.heard.load(Ordering::Relaxed));
        if Duration::from_millis(silent) > self.limits.ping_every * 3 {
            tracing::debug!("closing a WebSocket that stopped answering pings");
            return close(1001, "no answer to pings");
        }
        if self.slots.open() > 0 {
            *idle_since = None;
        } else if idle_since.get_or_insert_with(Instant::now).elapsed() > self.limits.idle_after {
            return close(1000, "idle: no subscription");
        }
        None
    }
}

/// The session of one socket: the one of `connection_init`, renewed by a ping that carries a
/// refreshed token of the same session.
#[derive(Clone, Default)]
pub struct SocketSession(Arc<RwLock<Bearer>>);

impl SocketSession {
    pub fn current(&self) -> Bearer {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, bearer: Bearer) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = bearer;
    }

    /// Takes `offered` if it is a valid token of the socket's session; anything else (another
    /// session, a forged or ended token) is ignored, and the streams go on judging the old one.
    fn renew(&self, sessions: &Sessions, offered: Bearer) {
        if offered.token().is_none() {
            return;
        }
        let current = sessions.session_id(&self.current());
        match sessions.verify(&offered) {
            Ok(claims) if Some(&claims.sid) == current.as_ref() => self.set(offered),
            Ok(_) => tracing::info!("ignored a ping with another session's token"),
            Err(error) => tracing::info!(%error, "ignored a ping with a token that is not valid"),
        }
    }
}

/// The subscriptions one socket may hold: put into the connection's data, taken by every
/// subscription for as long as its stream lives.
#[derive(Clone)]
pub struct SubscriptionSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

impl SubscriptionSlots {
    pub fn new(max: usize) -> Self {
        Self {
            open: Arc::default(),
            max,
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A slot of the request's socket (unbounded outside a socket), counted in
    /// `open_bank_graphql_subscriptions_open` while it lives.
    pub fn take(ctx: &Context<'_>) -> async_graphql::Result<Slot> {
        let Some(slots) = ctx.data_opt::<SubscriptionSlots>() else {
            return Ok(Slot::counted(None));
        };
        if slots.open.fetch_add(1, Ordering::AcqRel) >= slots.max {
            slots.open.fetch_sub(1, Ordering::AcqRel);
            let message = format!("a connection may hold at most {} subscriptions", slots.max);
            return Err(async_graphql::Error::new(message)
                .extend_with(|_, e| e.set("code", "TOO_MANY_SUBSCRIPTIONS")));
        }
        Ok(Slot::counted(Some(Arc::clone(&slots.open))))
    }
}

/// One subscription's place on its socket; given back when its stream is dropped (the client
/// stopped it, it ended, or the socket closed).
pub struct Slot(Option<Arc<AtomicUsize>>);

impl Slot {
    fn counted(open: Option<Arc<AtomicUsize>>) -> Self {
        metrics::gauge!("open_bank_graphql_subscriptions_open").increment(1.0);
        Self(open)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::gauge!("open_bank_graphql_subscriptions_open").decrement(1.0);
        if let Some(open) = &self.0 {
            open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_counted_per_address_and_given_back() {
        let open = Arc::new(DashMap::new());
        let address: IpAddr = "10.0.0.1".parse().expect("ip");
        let first = OpenSocket::take(&open, address, 2).expect("first");
        let second = OpenSocket::take(&open, address, 2).expect("second");
        assert!(
            OpenSocket::take(&open, address, 2).is_none(),
            "third refused"
        );
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        assert!(
            OpenSocket::take(&open, other, 2).is_some(),
            "another address is not"
        );
        drop(first);
        assert!(OpenSocket::take(&open, address, 2).is_some(), "room again");
        drop(second);
        assert!(open.get(&address).is_none(), "forgotten at zero");
    }
}
