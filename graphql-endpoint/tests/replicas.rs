//! Every service runs as two instances under load, and one instance of each is killed
//! (SIGKILL) in turn and replaced by a successor with the same ids: transfers and queries keep
//! being answered, every derived transaction is published once and streamed once to each
//! subscriber connected at the time, and money adds up.
//!
//! It prints how long each failover took ("failover figures") but asserts nothing about time:
//! the machine running it may be slow or busy.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    start_command_handler_as, start_graphql_endpoint, start_group_at_end, start_projector_as,
    unique, Client, Protocol, ServiceProcess, Subscription, WAIT,
};
use futures::future::join_all;
use rdkafka::Message;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use topology::values::format_euro;
use topology::{BankEvent, Id, TopicMessage, TransactionEvent, TransactionHappenedEvent};

const LOGIN: &str = "mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }";
const TRANSFER: &str = "mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) {
  money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { uuid success reason ended } }";
const BY_IBAN: &str = "query($iban: String!, $n: Int!) { transactions_by_iban(iban: $iban, max_items: $n) { id iban new_balance } }";
const STREAM: &str = "subscription { stream_transactions { id iban } }";
const PASSWORD: &str = "replicas password";

const USERS: usize = 12;
const DEPOSIT: i64 = 10_000;
/// Transfers stay far below a deposit, so that hardly any is refused.
const MAX_AMOUNT: usize = 300;
const LOAD: Duration = Duration::from_secs(40);
/// Clients sending requests side by side, each waiting for its answer before the next.
const CLIENTS: usize = 2;
const FIRST_KILL: Duration = Duration::from_secs(6);
/// Long enough after a successor is ready to see the load run normally again.
const BETWEEN_KILLS: Duration = Duration::from_secs(9);
const SETTLE: Duration = Duration::from_secs(60);
/// How far an endpoint's feed may lag behind this test's own reader of transaction_events (in
/// either direction) before a subscriber counts as having missed a transaction. It also covers
/// a new subscription going live a moment after it is started: nothing acknowledges that.
const FEED_LAG: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn two_instances_of_each_service_survive_a_kill_of_one_each_under_load() {
    let test_started = Instant::now();
    let run = unique("replicas");
    let handler_group = format!("{run}-handlers");
    start_group_at_end(&handler_group, &test_support::COMMAND_TOPICS);
    let publishing_group = format!("{run}-projectors");
    start_group_at_end(&publishing_group, &["bank_events"]);
    let query_group = format!("{run}-projector-queries");

    let handler = |n: usize| {
        let (group, id) = (handler_group.clone(), format!("{run}-handler-{n}"));
        Instance::start(
            &format!("command handler {n}"),
            ReadyWhen::CaughtUp,
            move || start_command_handler_as(&group, &id),
        )
    };
    let projector = |n: usize| {
        let (group, queries) = (publishing_group.clone(), query_group.clone());
        let id = format!("{run}-projector-{n}");
        Instance::start(&format!("projector {n}"), ReadyWhen::CaughtUp, move || {
            start_projector_as(&group, &queries, &id)
        })
    };
    let endpoint = |n: usize| {
        Instance::start(&format!("endpoint {n}"), ReadyWhen::Healthy, || {
            start_graphql_endpoint(&[("GRAPHQL_COMMAND_TIMEOUT", "30".into())])
        })
    };
    let (mut handler_1, mut handler_2) = (handler(1), handler(2));
    let (mut projector_1, mut projector_2) = (projector(1), projector(2));
    let (mut endpoint_1, mut endpoint_2) = (endpoint(1), endpoint(2));
    for instance in [
        &mut handler_1,
        &mut handler_2,
        &mut projector_1,
        &mut projector_2,
        &mut endpoint_1,
        &mut endpoint_2,
    ] {
        instance.wait_ready().await;
    }
    eprintln!(
        "all six instances ready after {:.1} s",
        test_started.elapsed().as_secs_f64()
    );

    // Before the first account exists, so that everything about our accounts is seen.
    let (derived_log, derived_reader) = read_live(derived);
    let (money_log, money_reader) = read_live(money);
    let mut watcher_1 =
        Watcher::start("endpoint 1", endpoint_1.port(), Protocol::TransportWs).await;
    let mut watcher_2 = Watcher::start("endpoint 2", endpoint_2.port(), Protocol::LegacyWs).await;
    // Nothing of ours exists yet: once the subscriptions are live, every transaction of ours
    // is due to both.
    tokio::time::sleep(Duration::from_secs(1)).await;
    watcher_1.live_from = Instant::now();
    watcher_2.live_from = Instant::now();

    let endpoints = Arc::new(Endpoints::new([endpoint_1.port(), endpoint_2.port()]));
    let tag = &Id::random().to_uuid_string()[..8];
    let users =
        join_all((0..USERS).map(|n| new_user(&endpoints, n, format!("replicas-{tag}-{n:02}"))))
            .await;
    let deposits = join_all(
        users
            .iter()
            .enumerate()
            .map(|(n, user)| deposit(&endpoints, n, user)),
    )
    .await;
    let users = Arc::new(users);
    let ours: HashSet<String> = users.iter().map(|u| u.iban.clone()).collect();
    eprintln!(
        "{USERS} accounts funded after {:.1} s",
        test_started.elapsed().as_secs_f64()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client_load(
                n,
                endpoints.clone(),
                users.clone(),
                stop.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(FIRST_KILL).await;
    let mut failovers = vec![handler_1.crash_and_replace().await];
    tokio::time::sleep(BETWEEN_KILLS).await;
    failovers.push(projector_1.crash_and_replace().await);
    tokio::time::sleep(BETWEEN_KILLS).await;
    endpoints.take_out(0);
    failovers.push(endpoint_1.crash_and_replace().await);
    let watcher_1_again = Watcher::start(
        "endpoint 1 after its restart",
        endpoint_1.port(),
        Protocol::TransportWs,
    )
    .await;
    endpoints.put_back(0, endpoint_1.port());
    let load_until = (load_started + LOAD).max(Instant::now() + BETWEEN_KILLS);
    tokio::time::sleep_until(load_until.into()).await;
    stop.store(true, Ordering::Relaxed);
    let mut load = Load::default();
    for client in join_all(clients).await {
        load.merge(client.expect("a load client"));
    }
    let load_ended = Instant::now();

    // Every transfer has ended, so its money events are written; the derived transactions and
    // the streams follow a moment later.
    let settle_started = Instant::now();
    let watchers = [&watcher_1, &watcher_2, &watcher_1_again];
    loop {
        let money = ours_only(&money_log, &ours, |m: &Money| &m.iban);
        let derived = ours_only(&derived_log, &ours, |e: &TransactionHappenedEvent| &e.iban);
        let published = distinct_ids(&derived);
        let streamed_everything = watchers
            .iter()
            .all(|w| w.missing(&derived, &ours).is_empty());
        if (published.len() == money.len() && streamed_everything)
            || settle_started.elapsed() > SETTLE
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "settled {:.1} s after the load",
        settle_started.elapsed().as_secs_f64()
    );
    derived_reader.abort();
    money_reader.abort();
    let money = ours_only(&money_log, &ours, |m: &Money| &m.iban);
    let derived = ours_only(&derived_log, &ours, |e: &TransactionHappenedEvent| &e.iban);

    print_failover_figures(&load, &derived, &failovers, load_started, load_ended);
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

    // Every request was answered.
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

    // The command handlers moved the money of every transfer exactly once.
    let transfers: Vec<&Transfer> = deposits.iter().chain(&load.transfers).collect();
    assert_money_moved_once(&transfers, &money);

    // The projectors published one derived transaction per money event, each exactly once.
    let mut publications: HashMap<(String, i32), usize> = HashMap::new();
    for (_, event) in &derived {
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
        money.len(),
        "one derived transaction per money event"
    );

    // Each subscriber got every transaction published while it was connected, once.
    for watcher in watchers {
        watcher.assert_streamed_once(&derived, &ours);
    }

    // Money adds up: per account, through the derived transactions and in the read model.
    let balances = assert_balances_follow_transfers(&users, &transfers, &derived);
    assert_eq!(
        balances.values().sum::<i64>(),
        DEPOSIT * i64::try_from(USERS).expect("a small count"),
        "the sum of our balances is the sum of the deposits"
    );
    assert_read_model_balances(&endpoints, &balances).await;

    eprintln!(
        "replicas test took {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
}

/// How a service says it is ready: the command handler and the projector report
/// `catching_up` before `ready`, the endpoint `starting`.
#[derive(Clone, Copy)]
enum ReadyWhen {
    CaughtUp,
    Healthy,
}

/// One instance of a service, and how to start it again in the same role: same ids, same
/// groups, same settings.
struct Instance {
    name: String,
    ready_when: ReadyWhen,
    start: Box<dyn Fn() -> ServiceProcess>,
    process: ServiceProcess,
}

/// One kill and the readiness of the successor.
struct Failover {
    name: String,
    /// The bank_events partitions a projector published for when it was killed: whose derived
    /// transactions wait for a successor.
    publishing: Vec<i64>,
    killed: Instant,
    ready: Instant,
}

impl Instance {
    fn start(
        name: &str,
        ready_when: ReadyWhen,
        start: impl Fn() -> ServiceProcess + 'static,
    ) -> Self {
        let process = start();
        Self {
            name: name.to_string(),
            ready_when,
            start: Box::new(start),
            process,
        }
    }

    fn port(&self) -> u16 {
        self.process.port()
    }

    async fn wait_ready(&mut self) {
        match self.ready_when {
            ReadyWhen::CaughtUp => self.process.wait_ready(WAIT).await,
            ReadyWhen::Healthy => self.process.wait_healthy(WAIT).await,
        }
    }

    /// SIGKILL, as in a crash, and at once its successor.
    async fn crash_and_replace(&mut self) -> Failover {
        let health = self.process.health().await.map(|(_, body)| body);
        let publishing = health
            .as_ref()
            .and_then(|body| body["publishing_partitions"].as_array())
            .map(|partitions| partitions.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        self.process.kill();
        let killed = Instant::now();
        self.process = (self.start)();
        self.wait_ready().await;
        let ready = Instant::now();
        eprintln!(
            "{} killed; its successor was ready {:.1} s later",
            self.name,
            (ready - killed).as_secs_f64()
        );
        Failover {
            name: self.name.clone(),
            publishing,
            killed,
            ready,
        }
    }
}

/// The endpoints as a load balancer sees them: one is taken out of rotation just before it is
/// killed, and put back once its successor is ready.
struct Endpoints {
    in_rotation: Mutex<[Option<Arc<Client>>; 2]>,
}

impl Endpoints {
    fn new(ports: [u16; 2]) -> Self {
        Self {
            in_rotation: Mutex::new(ports.map(|port| Some(Arc::new(Client::new(port))))),
        }
    }

    fn take_out(&self, index: usize) {
        self.in_rotation.lock().unwrap()[index] = None;
    }

    fn put_back(&self, index: usize, port: u16) {
        self.in_rotation.lock().unwrap()[index] = Some(Arc::new(Client::new(port)));
    }

    fn is_in_rotation(&self, index: usize) -> bool {
        self.in_rotation.lock().unwrap()[index].is_some()
    }

    /// Endpoint `turn % 2`, or the other one when that one is out of rotation or `avoid`.
    fn pick(&self, turn: usize, avoid: Option<usize>) -> (usize, Arc<Client>) {
        let slots = self.in_rotation.lock().unwrap();
        let order = [turn % 2, (turn + 1) % 2];
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
struct Answer {
    response: Value,
    latency: Duration,
    /// Sent again to the other endpoint because the first died before answering.
    retried: bool,
}

/// `query` on endpoint `turn % 2`, or on the other one when that one is out of rotation or
/// dies before answering: a client behind a load balancer retries, and a transfer keeps its
/// uuid, so a retry cannot move money twice. An endpoint in rotation that fails is an error.
async fn request(
    endpoints: &Endpoints,
    turn: usize,
    query: &str,
    variables: &Value,
) -> Result<Answer, String> {
    let started = Instant::now();
    let mut failed = None;
    loop {
        let (index, client) = endpoints.pick(turn, failed);
        let sent = client
            .http()
            .post(format!("{}/graphql", client.base))
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

struct User {
    name: String,
    iban: String,
    token: String,
}

async fn new_user(endpoints: &Endpoints, turn: usize, name: String) -> User {
    let variables = json!({"u": name, "p": PASSWORD});
    let answer = request(endpoints, turn, LOGIN, &variables)
        .await
        .expect("a login");
    let account = &answer.response["data"]["get_account"];
    assert!(
        account["reason"].is_null() && account["iban"].is_string(),
        "{}",
        answer.response
    );
    User {
        name,
        iban: account["iban"].as_str().expect("iban").to_string(),
        token: account["token"].as_str().expect("token").to_string(),
    }
}

/// One money_transfer and its outcome.
struct Transfer {
    uuid: String,
    from: String,
    to: String,
    amount: i64,
    success: bool,
    answered: Instant,
    latency: Duration,
    retried: bool,
}

fn transfer_variables(uuid: &str, user: &User, amount: i64, from: &str, to: &str) -> Value {
    json!({
        "uuid": uuid, "u": user.name, "t": user.token, "a": amount, "f": from, "to": to,
        "d": description(uuid),
    })
}

/// Names the transfer, so that its derived transactions can be told apart.
fn description(uuid: &str) -> String {
    format!("replicas {uuid}")
}

async fn deposit(endpoints: &Endpoints, turn: usize, user: &User) -> Transfer {
    let uuid = Id::random().to_uuid_string();
    let variables = transfer_variables(&uuid, user, DEPOSIT, "cash", &user.iban);
    let answer = request(endpoints, turn, TRANSFER, &variables)
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
struct Query {
    answered: Instant,
    latency: Duration,
    retried: bool,
}

/// What the clients saw under load.
#[derive(Default)]
struct Load {
    transfers: Vec<Transfer>,
    queries: Vec<Query>,
    refusals: BTreeMap<String, usize>,
    problems: Vec<String>,
}

impl Load {
    fn merge(&mut self, other: Load) {
        self.transfers.extend(other.transfers);
        self.queries.extend(other.queries);
        for (reason, count) in other.refusals {
            *self.refusals.entry(reason).or_default() += count;
        }
        self.problems.extend(other.problems);
    }

    fn transfer_answered(
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

    fn query_answered(&mut self, answer: Answer, field: &str, check: impl Fn(&Value) -> bool) {
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

/// One client: a transfer between two random accounts of ours, then a query (a page of an
/// account's transactions, or a login), alternating the endpoints, until `stop`.
async fn client_load(
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
        match request(&endpoints, turn, TRANSFER, &variables).await {
            Ok(answer) => load.transfer_answered(uuid, from, to, amount, answer),
            Err(problem) => load.problems.push(format!("transfer {uuid}: {problem}")),
        }

        let user = &users[dice.below(users.len())];
        let by_iban = round % 2 == 0;
        let (query, variables, field) = if by_iban {
            let variables = json!({"iban": user.iban, "n": 5});
            (BY_IBAN, variables, "transactions_by_iban")
        } else {
            (LOGIN, json!({"u": user.name, "p": PASSWORD}), "get_account")
        };
        let expected = |data: &Value| {
            if by_iban {
                data.is_array()
            } else {
                data["iban"] == user.iban.as_str() && data["token"] == user.token.as_str()
            }
        };
        match request(&endpoints, turn + 1, query, &variables).await {
            Ok(answer) => load.query_answered(answer, field, expected),
            Err(problem) => load.problems.push(format!("{field}: {problem}")),
        }
        round += 1;
    }
    load
}

/// xorshift64*, enough to pick accounts and amounts without another dependency.
struct Dice(u64);

impl Dice {
    fn new() -> Self {
        Self(RandomState::new().hash_one(0_u8) | 1)
    }

    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        usize::try_from(value).expect("32 bits") % bound
    }
}

/// What a live reader of a topic kept, each with when it was seen.
type Log<T> = Arc<Mutex<Vec<(Instant, T)>>>;

/// Reads `M`'s topic from its current end in the background and keeps what `keep` returns.
/// Live, because transaction_events keeps its records only 60 s.
fn read_live<M, T>(keep: fn(M) -> Option<T>) -> (Log<T>, JoinHandle<()>)
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
            let message = consumer.recv().await.expect("a record").detach();
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

fn derived(event: TransactionEvent) -> Option<TransactionHappenedEvent> {
    let TransactionEvent::TransactionHappenedEvent(event) = event;
    Some(event)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Movement {
    Debited,
    Credited,
    Returned,
}

/// A money event of bank_events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Money {
    transfer: String,
    movement: Movement,
    iban: String,
    amount: i64,
}

fn money(event: BankEvent) -> Option<Money> {
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

fn ours_only<T: Clone>(
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

fn distinct_ids(derived: &[(Instant, TransactionHappenedEvent)]) -> HashSet<(String, i64)> {
    derived
        .iter()
        .map(|(_, e)| (e.iban.clone(), i64::from(e.transaction_id)))
        .collect()
}

/// A `stream_transactions` subscriber without filters, in the background, keeping the
/// (iban, id) of every transaction it is sent until its socket closes.
struct Watcher {
    name: String,
    /// From when on it must have received everything (see [`FEED_LAG`]).
    live_from: Instant,
    received: Arc<Mutex<Vec<(String, i64)>>>,
    closed: Arc<Mutex<Option<Instant>>>,
    problems: Arc<Mutex<Vec<String>>>,
    _task: JoinHandle<()>,
}

impl Watcher {
    async fn start(name: &str, port: u16, protocol: Protocol) -> Self {
        let mut subscription = Subscription::start(port, protocol, STREAM, json!({})).await;
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
    fn due(&self, derived: &[(Instant, TransactionHappenedEvent)]) -> HashSet<(String, i64)> {
        let closed = *self.closed.lock().unwrap();
        derived
            .iter()
            .filter(|(seen, _)| *seen > self.live_from)
            .filter(|(seen, _)| closed.is_none_or(|closed| *seen + FEED_LAG < closed))
            .map(|(_, e)| (e.iban.clone(), i64::from(e.transaction_id)))
            .collect()
    }

    fn received_of_ours(&self, ours: &HashSet<String>) -> Vec<(String, i64)> {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .filter(|(iban, _)| ours.contains(iban))
            .cloned()
            .collect()
    }

    fn missing(
        &self,
        derived: &[(Instant, TransactionHappenedEvent)],
        ours: &HashSet<String>,
    ) -> Vec<(String, i64)> {
        let received: HashSet<_> = self.received_of_ours(ours).into_iter().collect();
        let mut missing: Vec<_> = self.due(derived).difference(&received).cloned().collect();
        missing.sort();
        missing
    }

    fn assert_streamed_once(
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
fn assert_money_moved_once(transfers: &[&Transfer], money: &[(Instant, Money)]) {
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
fn assert_balances_follow_transfers(
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
/// the projector answering may be a moment behind the one that published).
async fn assert_read_model_balances(endpoints: &Endpoints, balances: &HashMap<String, i64>) {
    for (turn, (iban, balance)) in balances.iter().enumerate() {
        let expected = format_euro(*balance);
        let deadline = Instant::now() + SETTLE;
        loop {
            let variables = json!({"iban": iban, "n": 1});
            let answer = request(endpoints, turn, BY_IBAN, &variables)
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

/// Per stretch of the load (before any kill, then from each kill to the next or the end),
/// what clients and subscribers of transaction_events experienced.
fn print_failover_figures(
    load: &Load,
    derived: &[(Instant, TransactionHappenedEvent)],
    failovers: &[Failover],
    load_started: Instant,
    load_ended: Instant,
) {
    let mut last_derived: HashMap<&str, Instant> = HashMap::new();
    for (seen, event) in derived {
        let latest = last_derived
            .entry(event.description.as_str())
            .or_insert(*seen);
        *latest = (*latest).max(*seen);
    }
    let seconds =
        |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.2}", d.as_secs_f64()));
    let mut stretches = vec![("before any kill".to_string(), load_started, None)];
    stretches.extend(
        failovers
            .iter()
            .map(|f| (format!("kill of {}", f.name), f.killed, Some(f))),
    );
    eprintln!(
        "\nfailover figures, in seconds: a stretch runs from its kill to the next kill or the end \
         of the load; \"first derived after kill\" counts, for a projector, only the bank_events \
         partitions it published"
    );
    eprintln!(
        "{:<26} | {:>10} | {:>9} | {:>16} | {:>7} | {:>13} | {:>7} | {:>13} | {:>16}",
        "stretch",
        "successor",
        "transfers",
        "longest transfer",
        "queries",
        "longest query",
        "retried",
        "first derived",
        "longest derived"
    );
    eprintln!(
        "{:<26} | {:>10} | {:>9} | {:>16} | {:>7} | {:>13} | {:>7} | {:>13} | {:>16}",
        "", "ready", "answered", "latency", "", "latency", "", "after kill", "after answer"
    );
    for (index, (name, from, failover)) in stretches.iter().enumerate() {
        let until = stretches.get(index + 1).map_or(load_ended, |s| s.1);
        let within = |at: &Instant| *from <= *at && *at < until;
        let transfers: Vec<_> = load
            .transfers
            .iter()
            .filter(|t| within(&t.answered))
            .collect();
        let queries: Vec<_> = load
            .queries
            .iter()
            .filter(|q| within(&q.answered))
            .collect();
        let retried = transfers.iter().filter(|t| t.retried).count()
            + queries.iter().filter(|q| q.retried).count();
        let first_derived = failover.and_then(|f| {
            derived
                .iter()
                .filter(|(_, e)| {
                    let partition = i64::from(topology::routing::partition_of(&e.iban));
                    f.publishing.is_empty() || f.publishing.contains(&partition)
                })
                .map(|(seen, _)| *seen)
                .filter(|seen| *seen > f.killed)
                .min()
                .map(|seen| seen - f.killed)
        });
        // By when the derived transactions came, not when the transfer was answered: those of
        // a transfer answered just before a projector's kill wait for its failover.
        let derived_lag = load
            .transfers
            .iter()
            .filter(|t| t.success)
            .filter_map(|t| {
                last_derived
                    .get(description(&t.uuid).as_str())
                    .map(|seen| (t, seen))
            })
            .filter(|(_, seen)| within(seen))
            .map(|(t, seen)| seen.saturating_duration_since(t.answered))
            .max();
        eprintln!(
            "{:<26} | {:>10} | {:>9} | {:>16} | {:>7} | {:>13} | {:>7} | {:>13} | {:>16}",
            name,
            seconds(failover.map(|f| f.ready - f.killed)),
            transfers.len(),
            seconds(transfers.iter().map(|t| t.latency).max()),
            queries.len(),
            seconds(queries.iter().map(|q| q.latency).max()),
            retried,
            seconds(first_derived),
            seconds(derived_lag),
        );
    }
    eprintln!();
}
