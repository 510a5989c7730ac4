//! A bank under load for the end-to-end tests that break things: users and their accounts,
//! clients sending transfers and queries through one or more endpoints (as behind a load
//! balancer), live readers of the money events and the derived transactions, subscribers, and
//! the checks that nothing was lost or duplicated and that money adds up.
//!
//! Every user signs up and logs in once, from a client address of their own (the endpoints
//! must trust this machine as a proxy: start them with [`super::trust_local_proxy`]), so the
//! login throttling, which counts every password check per address, sees each user apart.
//! After that, users act with their account token (transfers, which check no password) and
//! read with their session; the subscribers watch every account with an employee's session.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use rdkafka::Message;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use topology::values::format_euro;
use topology::{BankEvent, Id, TopicMessage, TransactionEvent, TransactionHappenedEvent};

use super::{Client, Protocol, Subscription, WAIT};

pub const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
pub const SESSION: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token reason } }";
/// The logged-in user's accounts, each with the user's own token.
pub const MY_ACCOUNTS: &str = "{ my_accounts { accounts { iban token } reason } }";
pub const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { uuid success reason ended } }";
pub const BY_IBAN: &str = "query($iban: String!, $n: Int!) { transactions_by_iban(iban: $iban, max_items: $n) { id iban new_balance } }";
pub const STREAM: &str = "subscription { stream_transactions { id iban } }";
pub const PASSWORD: &str = super::STRONG_PASSWORD;
pub const DEPOSIT: i64 = 10_000;
/// Transfers stay far below a deposit, so that hardly any is refused.
pub const MAX_AMOUNT: usize = 300;
pub const SETTLE: Duration = Duration::from_secs(60);
/// How far an endpoint's feed may lag behind this test's own reader of transaction_events (in
/// either direction) before a subscriber counts as having missed a transaction. It also covers
/// a new subscription going live a moment after it is started: nothing acknowledges that.
pub const FEED_LAG: Duration = Duration::from_secs(5);

/// The endpoints as a load balancer sees them: one is taken out of rotation just before it is
/// killed, and put back once its successor is ready.
pub struct Endpoints {
    in_rotation: Mutex<Vec<Option<Arc<Client>>>>,
}

impl Endpoints {
    pub fn new(ports: &[u16]) -> Self {
        let clients = ports.iter().map(|port| Some(Arc::new(Client::new(*port))));
        Self {
            in_rotation: Mutex::new(clients.collect()),
        }
    }

    pub fn take_out(&self, index: usize) {
        self.in_rotation.lock().unwrap()[index] = None;
    }

    pub fn put_back(&self, index: usize, port: u16) {
        self.in_rotation.lock().unwrap()[index] = Some(Arc::new(Client::new(port)));
    }

    pub fn is_in_rotation(&self, index: usize) -> bool {
        self.in_rotation.lock().unwrap()[index].is_some()
    }

    /// Endpoint `turn % n`, or the next one that is in rotation and not `avoid`.
    pub fn pick(&self, turn: usize, avoid: Option<usize>) -> (usize, Arc<Client>) {
        let slots = self.in_rotation.lock().unwrap();
        let order: Vec<usize> = (0..slots.len()).map(|n| (turn + n) % slots.len()).collect();
        let usable = |index: &&usize| slots[**index].is_some();
        let index = order
            .iter()
            .filter(usable)
            .find(|index| Some(**index) != avoid)
            .or_else(|| order.iter().find(usable))
            .copied()
            .expect("an endpoint in rotation");
        (index, slots[index].clone().expect("in rotation"))
    }
}

/// A GraphQL response and how long the client waited for it.
pub struct Answer {
    pub response: Value,
    pub latency: Duration,
    /// Sent again to the other endpoint because the first died before answering.
    pub retried: bool,
}

/// Who sends a request: the session it carries (`Authorization: Bearer`) and the client
/// address it comes from (`X-Forwarded-For`), each if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sender<'a> {
    pub session: Option<&'a str>,
    pub address: Option<&'a str>,
}

/// `query` on endpoint `turn % n`, or on another one when that one is out of rotation or
/// dies before answering: a client behind a load balancer retries, and a transfer keeps its
/// uuid, so a retry cannot move money twice. An endpoint in rotation that fails is an error.
pub async fn request(
    endpoints: &Endpoints,
    turn: usize,
    sender: Sender<'_>,
    query: &str,
    variables: &Value,
) -> Result<Answer, String> {
    let started = Instant::now();
    let mut failed = None;
    loop {
        let (index, client) = endpoints.pick(turn, failed);
        let mut post = client.http().post(format!("{}/graphql", client.base));
        if let Some(session) = sender.session {
            post = post.bearer_auth(session);
        }
        if let Some(address) = sender.address {
            post = post.header("X-Forwarded-For", address);
        }
        let sent = post
            .json(&json!({ "query": query, "variables": variables }))
            .timeout(WAIT)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response.json::<Value>().await,
            Err(error) => Err(error),
        };
        match response {
            Ok(response) => {
                return Ok(Answer {
                    response,
                    latency: started.elapsed(),
                    retried: failed.is_some(),
                })
            }
            Err(error) if failed.is_none() && !endpoints.is_in_rotation(index) => {
                eprintln!(
                    "endpoint {} died under a request; sending it to the other: {error}",
                    index + 1
                );
                failed = Some(index);
            }
            Err(error) => return Err(format!("endpoint {} failed: {error}", index + 1)),
        }
    }
}

pub struct User {
    pub name: String,
    pub iban: String,
    pub token: String,
    /// The session of the user's one `login`, which every endpoint accepts (they share the
    /// secret), also one started after it was issued.
    pub session: String,
    /// The user's own client address.
    pub address: String,
}

impl User {
    /// The user's requests: with their session, from their address.
    pub fn sender(&self) -> Sender<'_> {
        Sender {
            session: Some(&self.session),
            address: Some(&self.address),
        }
    }
}

/// Signs user `n` up (`get_account` creates the user and an account) and logs them in, from
/// an address of their own.
pub async fn new_user(endpoints: &Endpoints, n: usize, name: String) -> User {
    let address = format!("10.{}.{}.{}", 100 + n / 65_536, (n / 256) % 256, n % 256);
    let from_home = Sender {
        session: None,
        address: Some(&address),
    };
    let variables = json!({"u": name, "p": PASSWORD});
    let answer = request(endpoints, n, from_home, LOGIN, &variables)
        .await
        .expect("a sign-up");
    let account = &answer.response["data"]["get_account"];
    assert!(
        account["reason"].is_null() && account["iban"].is_string(),
        "{}",
        answer.response
    );
    let (iban, token) = (text(&account["iban"]), text(&account["token"]));
    let answer = request(endpoints, n + 1, from_home, SESSION, &variables)
        .await
        .expect("a login");
    let session = &answer.response["data"]["login"];
    assert!(
        session["reason"].is_null() && session["token"].is_string(),
        "{}",
        answer.response
    );
    User {
        session: text(&session["token"]),
        name,
        iban,
        token,
        address,
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string, got {value}"))
        .to_string()
}

/// One money_transfer and its outcome.
pub struct Transfer {
    pub uuid: String,
    pub from: String,
    pub to: String,
    pub amount: i64,
    pub success: bool,
    pub answered: Instant,
    pub latency: Duration,
    pub retried: bool,
}

pub fn transfer_variables(uuid: &str, user: &User, amount: i64, from: &str, to: &str) -> Value {
    json!({
        "uuid": uuid, "u": user.name, "t": user.token, "a": amount, "f": from, "to": to,
        "d": description(uuid),
    })
}

/// Names the transfer, so that its derived transactions can be told apart.
pub fn description(uuid: &str) -> String {
    format!("under load {uuid}")
}

pub async fn deposit(endpoints: &Endpoints, turn: usize, user: &User) -> Transfer {
    let uuid = Id::random().to_uuid_string();
    let variables = transfer_variables(&uuid, user, DEPOSIT, "cash", &user.iban);
    let answer = request(endpoints, turn, user.sender(), TRANSFER, &variables)
        .await
        .expect("a deposit");
    let result = &answer.response["data"]["money_transfer"];
    assert_eq!(
        result["success"], true,
        "deposit by {} into {} with token {}: {}",
        user.name, user.iban, user.token, answer.response
    );
    Transfer {
        uuid,
        from: "cash".into(),
        to: user.iban.clone(),
        amount: DEPOSIT,
        success: true,
        answered: Instant::now(),
        latency: answer.latency,
        retried: answer.retried,
    }
}

/// A query's latency.
pub struct Query {
    pub answered: Instant,
    pub latency: Duration,
    pub retried: bool,
}

/// What the clients saw under load.
#[derive(Default)]
pub struct Load {
    pub transfers: Vec<Transfer>,
    pub queries: Vec<Query>,
    pub refusals: BTreeMap<String, usize>,
    pub problems: Vec<String>,
}

impl Load {
    pub fn merge(&mut self, other: Load) {
        self.transfers.extend(other.transfers);
        self.queries.extend(other.queries);
        for (reason, count) in other.refusals {
            *self.refusals.entry(reason).or_default() += count;
        }
        self.problems.extend(other.problems);
    }

    pub fn transfer_answered(
        &mut self,
        uuid: String,
        from: &User,
        to: &User,
        amount: i64,
        answer: Answer,
    ) {
        let result = &answer.response["data"]["money_transfer"];
        let refusal = result["reason"].as_str();
        let answered = answer.response.get("errors").is_none()
            && result["uuid"] == uuid.as_str()
            && result["ended"] == true
            && (result["success"] == true || refusal.is_some());
        if !answered {
            self.problems
                .push(format!("transfer {uuid}: no outcome: {}", answer.response));
            return;
        }
        if let Some(reason) = refusal {
            *self.refusals.entry(reason.to_string()).or_default() += 1;
        }
        self.transfers.push(Transfer {
            uuid,
            from: from.iban.clone(),
            to: to.iban.clone(),
            amount,
            success: result["success"] == true,
            answered: Instant::now(),
            latency: answer.latency,
            retried: answer.retried,
        });
    }

    pub fn query_answered(&mut self, answer: Answer, field: &str, check: impl Fn(&Value) -> bool) {
        if answer.response.get("errors").is_some() || !check(&answer.response["data"][field]) {
            self.problems
                .push(format!("{field}: unexpected answer {}", answer.response));
            return;
        }
        self.queries.push(Query {
            answered: Instant::now(),
            latency: answer.latency,
            retried: answer.retried,
        });
    }
}

/// One client: a transfer between two random accounts of ours (with the account's token), then
/// a query with the session of a random user (a page of their account's transactions, or their
/// accounts with their tokens), alternating the endpoints, until `stop`. Every login was done
/// at the start: a login per round would be throttled, as a guessing run is.
pub async fn client_load(
    client: usize,
    endpoints: Arc<Endpoints>,
    users: Arc<Vec<User>>,
    stop: Arc<AtomicBool>,
) -> Load {
    let mut dice = Dice::new();
    let mut load = Load::default();
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        let turn = client + round;
        let from = dice.below(users.len());
        let to = (from + 1 + dice.below(users.len() - 1)) % users.len();
        let (from, to) = (&users[from], &users[to]);
        let amount = i64::try_from(1 + dice.below(MAX_AMOUNT)).expect("a small amount");
        let uuid = Id::random().to_uuid_string();
        let variables = transfer_variables(&uuid, from, amount, &from.iban, &to.iban);
        match request(&endpoints, turn, from.sender(), TRANSFER, &variables).await {
            Ok(answer) => load.transfer_answered(uuid, from, to, amount, answer),
            Err(problem) => load.problems.push(format!("transfer {uuid}: {problem}")),
        }

        let user = &users[dice.below(users.len())];
        let by_iban = round % 2 == 0;
        let (query, variables, field) = if by_iban {
            let variables = json!({"iban": user.iban, "n": 5});
            (BY_IBAN, variables, "transactions_by_iban")
        } else {
            (MY_ACCOUNTS, json!({}), "my_accounts")
        };
        let expected = |data: &Value| {
            if by_iban {
                data.is_array()
            } else {
                data["accounts"] == json!([{"iban": user.iban, "token": user.token}])
            }
        };
        match request(&endpoints, turn + 1, user.sender(), query, &variables).await {
            Ok(answer) => load.query_answered(answer, field, expected),
            Err(problem) => load.problems.push(format!("{field}: {problem}")),
        }
        round += 1;
    }
    load
}

/// xorshift64*, enough to pick accounts and amounts without another dependency.
pub struct Dice(u64);

impl Dice {
    pub fn new() -> Self {
        Self(RandomState::new().hash_one(0_u8) | 1)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        usize::try_from(value).expect("32 bits") % bound
    }
}

/// What a live reader of a topic kept, each with when it was seen.
pub type Log<T> = Arc<Mutex<Vec<(Instant, T)>>>;

/// Reads `M`'s topic from its current end in the background and keeps what `keep` returns.
/// Live, because transaction_events keeps its records only 60 s.
pub fn read_live<M, T>(keep: fn(M) -> Option<T>) -> (Log<T>, JoinHandle<()>)
where
    M: TopicMessage + Send + 'static,
    T: Send + 'static,
{
    let consumer = test_support::consumer_at_end(&[M::TOPIC]);
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = log.clone();
    let reader = tokio::spawn(async move {
        let codec = test_support::codec();
        loop {
            let message = match consumer.recv().await {
                Ok(message) => message.detach(),
                // A lost broker: librdkafka reconnects or moves to the new leader by itself.
                Err(error @ rdkafka::error::KafkaError::MessageConsumptionFatal(_)) => {
                    panic!("reading {}: {error}", M::TOPIC)
                }
                Err(_transient) => continue,
            };
            // Other tests may write records on purpose that no schema decodes.
            let Ok(decoded) = codec.decode::<M>(message.payload()).await else {
                continue;
            };
            if let Some(item) = keep(decoded) {
                kept.lock().unwrap().push((Instant::now(), item));
            }
        }
    });
    (log, reader)
}

pub fn derived(event: TransactionEvent) -> Option<TransactionHappenedEvent> {
    let TransactionEvent::TransactionHappenedEvent(event) = event;
    Some(event)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Movement {
    Debited,
    Credited,
    Returned,
}

/// A money event of bank_events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money {
    pub transfer: String,
    pub movement: Movement,
    pub iban: String,
    pub amount: i64,
}

pub fn money(event: BankEvent) -> Option<Money> {
    let (movement, iban, amount, id) = match event {
        BankEvent::MoneyDebitedEvent(e) => (Movement::Debited, e.iban, e.amount, e.id),
        BankEvent::MoneyCreditedEvent(e) => (Movement::Credited, e.iban, e.amount, e.id),
        BankEvent::MoneyReturnedEvent(e) => (Movement::Returned, e.iban, e.amount, e.id),
        _ => return None,
    };
    Some(Money {
        transfer: id.to_uuid_string(),
        movement,
        iban,
        amount,
    })
}

pub fn ours_only<T: Clone>(
    log: &Log<T>,
    ours: &HashSet<String>,
    iban: impl Fn(&T) -> &String,
) -> Vec<(Instant, T)> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|(_, item)| ours.contains(iban(item)))
        .cloned()
        .collect()
}

pub fn distinct_ids(derived: &[(Instant, TransactionHappenedEvent)]) -> HashSet<(String, i64)> {
    derived
        .iter()
        .map(|(_, e)| (e.iban.clone(), i64::from(e.transaction_id)))
        .collect()
}

/// A `stream_transactions` subscriber without filters, with an employee's session (who sees
/// every account's), in the background, keeping the (iban, id) of every transaction it is sent
/// until its socket closes.
pub struct Watcher {
    pub name: String,
    /// From when on it must have received everything (see [`FEED_LAG`]).
    pub live_from: Instant,
    pub received: Arc<Mutex<Vec<(String, i64)>>>,
    pub closed: Arc<Mutex<Option<Instant>>>,
    pub problems: Arc<Mutex<Vec<String>>>,
    pub _task: JoinHandle<()>,
}

impl Watcher {
    pub async fn start(name: &str, port: u16, protocol: Protocol) -> Self {
        let session = Client::new(port).employee_session().await;
        let mut subscription =
            Subscription::start_as(port, protocol, &session, STREAM, json!({})).await;
        let live_from = Instant::now() + FEED_LAG;
        let received = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(Mutex::new(None));
        let problems = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let (name, received, closed, problems) = (
                name.to_string(),
                received.clone(),
                closed.clone(),
                problems.clone(),
            );
            async move {
                while let Some(message) = subscription.next_raw_while_open().await {
                    let payload = &message["payload"];
                    let transaction = &payload["data"]["stream_transactions"];
                    let is_result = matches!(message["type"].as_str(), Some("next" | "data"));
                    match (transaction["iban"].as_str(), transaction["id"].as_i64()) {
                        (Some(iban), Some(id)) if is_result && payload.get("errors").is_none() => {
                            received.lock().unwrap().push((iban.to_string(), id));
                        }
                        _ => problems
                            .lock()
                            .unwrap()
                            .push(format!("{name}: unexpected message {message}")),
                    }
                }
                *closed.lock().unwrap() = Some(Instant::now());
            }
        });
        Self {
            name: name.to_string(),
            live_from,
            received,
            closed,
            problems,
            _task: task,
        }
    }

    /// The derived transactions of ours published while it was surely connected.
    pub fn due(&self, derived: &[(Instant, TransactionHappenedEvent)]) -> HashSet<(String, i64)> {
        let closed = *self.closed.lock().unwrap();
        derived
            .iter()
            .filter(|(seen, _)| *seen > self.live_from)
            .filter(|(seen, _)| closed.is_none_or(|closed| *seen + FEED_LAG < closed))
            .map(|(_, e)| (e.iban.clone(), i64::from(e.transaction_id)))
            .collect()
    }

    pub fn received_of_ours(&self, ours: &HashSet<String>) -> Vec<(String, i64)> {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .filter(|(iban, _)| ours.contains(iban))
            .cloned()
            .collect()
    }

    pub fn missing(
        &self,
        derived: &[(Instant, TransactionHappenedEvent)],
        ours: &HashSet<String>,
    ) -> Vec<(String, i64)> {
        let received: HashSet<_> = self.received_of_ours(ours).into_iter().collect();
        let mut missing: Vec<_> = self.due(derived).difference(&received).cloned().collect();
        missing.sort();
        missing
    }

    pub fn assert_streamed_once(
        &self,
        derived: &[(Instant, TransactionHappenedEvent)],
        ours: &HashSet<String>,
    ) {
        let received = self.received_of_ours(ours);
        let mut counts: HashMap<&(String, i64), usize> = HashMap::new();
        for transaction in &received {
            *counts.entry(transaction).or_default() += 1;
        }
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "{}: streamed more than once: {twice:?}",
            self.name
        );
        let published = distinct_ids(derived);
        let unknown: Vec<_> = counts.keys().filter(|t| !published.contains(t)).collect();
        assert!(
            unknown.is_empty(),
            "{}: streamed but never published: {unknown:?}",
            self.name
        );
        let missing = self.missing(derived, ours);
        assert!(
            missing.is_empty(),
            "{}: {} of {} transactions published while it was connected never came: {missing:?}",
            self.name,
            missing.len(),
            self.due(derived).len()
        );
        eprintln!(
            "{}: streamed {} of our transactions, each once ({} due while surely connected)",
            self.name,
            received.len(),
            self.due(derived).len()
        );
    }
}

/// Every transfer that succeeded debited `from` (unless cash) and credited `to` exactly once,
/// a refused one moved nothing, and nothing else moved money on our accounts.
pub fn assert_money_moved_once(transfers: &[&Transfer], money: &[(Instant, Money)]) {
    let mut expected: Vec<Money> = Vec::new();
    for transfer in transfers.iter().filter(|t| t.success) {
        if transfer.from != "cash" {
            expected.push(Money {
                transfer: transfer.uuid.clone(),
                movement: Movement::Debited,
                iban: transfer.from.clone(),
                amount: transfer.amount,
            });
        }
        expected.push(Money {
            transfer: transfer.uuid.clone(),
            movement: Movement::Credited,
            iban: transfer.to.clone(),
            amount: transfer.amount,
        });
    }
    let mut actual: Vec<Money> = money.iter().map(|(_, m)| m.clone()).collect();
    expected.sort();
    actual.sort();
    if actual != expected {
        let unexpected: Vec<_> = actual.iter().filter(|m| !expected.contains(m)).collect();
        let missing: Vec<_> = expected.iter().filter(|m| !actual.contains(m)).collect();
        panic!(
            "money events on bank_events ({}) differ from the transfers' ({}):\n\
             not expected: {unexpected:#?}\nmissing: {missing:#?}",
            actual.len(),
            expected.len()
        );
    }
}

/// Per account, the derived transactions chain from 0 and end at what the transfers add up
/// to; returns those balances.
pub fn assert_balances_follow_transfers(
    users: &[User],
    transfers: &[&Transfer],
    derived: &[(Instant, TransactionHappenedEvent)],
) -> HashMap<String, i64> {
    let mut expected: HashMap<String, i64> = users.iter().map(|u| (u.iban.clone(), 0)).collect();
    for transfer in transfers.iter().filter(|t| t.success) {
        if let Some(balance) = expected.get_mut(&transfer.from) {
            *balance -= transfer.amount;
        }
        *expected.get_mut(&transfer.to).expect("one of ours") += transfer.amount;
    }
    let mut by_iban: HashMap<&str, Vec<&TransactionHappenedEvent>> = HashMap::new();
    for (_, event) in derived {
        by_iban.entry(event.iban.as_str()).or_default().push(event);
    }
    for (iban, balance) in &expected {
        let mut events = by_iban.remove(iban.as_str()).unwrap_or_default();
        events.sort_by_key(|e| e.transaction_id);
        events.dedup_by_key(|e| e.transaction_id);
        let mut running = 0;
        for event in &events {
            running += event.changed_by;
            assert_eq!(
                event.new_balance, running,
                "{iban}: transaction {} does not follow the one before: {events:#?}",
                event.transaction_id
            );
        }
        assert_eq!(running, *balance, "{iban}: balance after all transfers");
    }
    expected
}

/// The read model, through the endpoints, ends at the same balances (asked again for a while:
/// the projector answering may be a moment behind the one that published), as each owner reads
/// it.
pub async fn assert_read_model_balances(
    endpoints: &Endpoints,
    users: &[User],
    balances: &HashMap<String, i64>,
) {
    for (turn, (iban, balance)) in balances.iter().enumerate() {
        let owner = users
            .iter()
            .find(|user| user.iban == *iban)
            .expect("one of ours");
        let expected = format_euro(*balance);
        let deadline = Instant::now() + SETTLE;
        loop {
            let variables = json!({"iban": iban, "n": 1});
            let answer = request(endpoints, turn, owner.sender(), BY_IBAN, &variables)
                .await
                .expect("an answer");
            let newest = &answer.response["data"]["transactions_by_iban"][0]["new_balance"];
            if newest == expected.as_str() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{iban}: read model says {newest}, the transfers {expected}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Live readers of the money events on bank_events and the derived transactions on
/// transaction_events, started before the first account of a test exists.
pub struct TopicReaders {
    money: Log<Money>,
    derived: Log<TransactionHappenedEvent>,
    tasks: [JoinHandle<()>; 2],
}

/// What the readers saw of a test's accounts.
pub struct Observed {
    pub money: Vec<(Instant, Money)>,
    pub derived: Vec<(Instant, TransactionHappenedEvent)>,
}

impl TopicReaders {
    pub fn start() -> Self {
        let (derived, derived_task) = read_live(derived);
        let (money, money_task) = read_live(money);
        Self {
            money,
            derived,
            tasks: [derived_task, money_task],
        }
    }

    fn observed(&self, ours: &HashSet<String>) -> Observed {
        Observed {
            money: ours_only(&self.money, ours, |m: &Money| &m.iban),
            derived: ours_only(&self.derived, ours, |e: &TransactionHappenedEvent| &e.iban),
        }
    }

    /// Once every transfer has been answered: waits (at most [`SETTLE`]) until every money
    /// event of ours has its derived transaction and every watcher has what was due to it,
    /// then stops reading.
    pub async fn settle(self, ours: &HashSet<String>, watchers: &[&Watcher]) -> Observed {
        let started = Instant::now();
        loop {
            let observed = self.observed(ours);
            let published = distinct_ids(&observed.derived);
            let streamed_everything = watchers
                .iter()
                .all(|w| w.missing(&observed.derived, ours).is_empty());
            if (published.len() == observed.money.len() && streamed_everything)
                || started.elapsed() > SETTLE
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "settled {:.1} s after the load",
            started.elapsed().as_secs_f64()
        );
        for task in &self.tasks {
            task.abort();
        }
        self.observed(ours)
    }
}

/// Everything a test's users did, and the checks that hold whatever failed on the way: every
/// request answered, money moved exactly once per successful transfer, one derived transaction
/// per money event, each published once and streamed once to every watcher connected at the
/// time, and balances that add up, in the events and in the read model.
pub async fn assert_bank_consistent(
    endpoints: &Endpoints,
    users: &[User],
    deposits: &[Transfer],
    load: &Load,
    watchers: &[&Watcher],
    observed: &Observed,
    ours: &HashSet<String>,
) {
    eprintln!(
        "load: {} transfers ({} succeeded, refused: {:?}), {} queries, {} requests sent again \
         after their endpoint died",
        load.transfers.len(),
        load.transfers.iter().filter(|t| t.success).count(),
        load.refusals,
        load.queries.len(),
        load.transfers.iter().filter(|t| t.retried).count()
            + load.queries.iter().filter(|q| q.retried).count(),
    );
    let mut problems = load.problems.clone();
    for watcher in watchers {
        problems.extend(watcher.problems.lock().unwrap().iter().cloned());
    }
    assert!(
        problems.is_empty(),
        "problems under load:\n{}",
        problems.join("\n")
    );
    assert!(!load.transfers.is_empty() && !load.queries.is_empty());

    let transfers: Vec<&Transfer> = deposits.iter().chain(&load.transfers).collect();
    assert_money_moved_once(&transfers, &observed.money);

    let mut publications: HashMap<(String, i32), usize> = HashMap::new();
    for (_, event) in &observed.derived {
        *publications
            .entry((event.iban.clone(), event.transaction_id))
            .or_default() += 1;
    }
    let duplicates: Vec<_> = publications.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "published more than once: {duplicates:?}"
    );
    assert_eq!(
        publications.len(),
        observed.money.len(),
        "one derived transaction per money event"
    );

    for watcher in watchers {
        watcher.assert_streamed_once(&observed.derived, ours);
    }

    let balances = assert_balances_follow_transfers(users, &transfers, &observed.derived);
    assert_eq!(
        balances.values().sum::<i64>(),
        DEPOSIT * i64::try_from(users.len()).expect("a small count"),
        "the sum of our balances is the sum of the deposits"
    );
    assert_read_model_balances(endpoints, users, &balances).await;
}

/// Creates `count` users named `<prefix>-<n>`, each with a funded account.
pub async fn funded_users(
    endpoints: &Endpoints,
    prefix: &str,
    count: usize,
) -> (Vec<User>, Vec<Transfer>) {
    let tag = &Id::random().to_uuid_string()[..8];
    let users =
        join_all((0..count).map(|n| new_user(endpoints, n, format!("{prefix}-{tag}-{n:02}"))))
            .await;
    let deposits = join_all(
        users
            .iter()
            .enumerate()
            .map(|(n, user)| deposit(endpoints, n, user)),
    )
    .await;
    (users, deposits)
}

/// Runs `clients` load clients until `stop` is set, and merges what they saw.
pub fn start_load(
    clients: usize,
    endpoints: &Arc<Endpoints>,
    users: &Arc<Vec<User>>,
    stop: &Arc<AtomicBool>,
) -> JoinHandle<Load> {
    let clients: Vec<_> = (0..clients)
        .map(|n| {
            tokio::spawn(client_load(
                n,
                endpoints.clone(),
                users.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::spawn(async move {
        let mut load = Load::default();
        for client in join_all(clients).await {
            load.merge(client.expect("a load client"));
        }
        load
    })
}
