//! Every service runs as two instances under load, and one instance of each is killed
//! (SIGKILL) in turn and replaced by a successor with the same ids: transfers and queries keep
//! being answered, every derived transaction is published once and streamed once to each
//! subscriber connected at the time, and money adds up.
//!
//! It prints how long each failover took ("failover figures") but asserts nothing about time:
//! the machine running it may be slow or busy.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::bank_load::{
    assert_bank_consistent, description, funded_users, start_load, Endpoints, Load, TopicReaders,
    Watcher,
};
use common::{
    start_command_handler_as, start_graphql_endpoint, start_group_at_end, start_projector_as,
    trust_local_proxy, unique, Protocol, ServiceProcess, WAIT,
};
use serde_json::Value;
use topology::TransactionHappenedEvent;

const USERS: usize = 12;
const LOAD: Duration = Duration::from_secs(40);
/// Clients sending requests side by side, each waiting for its answer before the next.
const CLIENTS: usize = 2;
const FIRST_KILL: Duration = Duration::from_secs(6);
/// Long enough after a successor is ready to see the load run normally again.
const BETWEEN_KILLS: Duration = Duration::from_secs(9);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka + schema registry: run scripts/test.sh"]
async fn two_instances_of_each_service_survive_a_kill_of_one_each_under_load() {
    let test_started = Instant::now();
    let run = unique("replicas");
    let handler_group = format!("command-handler-{run}");
    start_group_at_end(&handler_group, &test_support::COMMAND_TOPICS);
    let publishing_group = format!("projector-{run}");
    start_group_at_end(&publishing_group, &["bank_events"]);
    let query_group = format!("projector-{run}-queries");

    let handler = |n: usize| {
        let (group, id) = (handler_group.clone(), format!("command-handler-{run}-{n}"));
        Instance::start(
            &format!("command handler {n}"),
            ReadyWhen::CaughtUp,
            move || start_command_handler_as(&group, &id),
        )
    };
    let projector = |n: usize| {
        let (group, queries) = (publishing_group.clone(), query_group.clone());
        let id = format!("projector-{run}-{n}");
        Instance::start(&format!("projector {n}"), ReadyWhen::CaughtUp, move || {
            start_projector_as(&group, &queries, &id)
        })
    };
    let endpoint = |n: usize| {
        Instance::start(&format!("endpoint {n}"), ReadyWhen::Healthy, || {
            start_graphql_endpoint(&[
                ("GRAPHQL_COMMAND_TIMEOUT", "30".into()),
                trust_local_proxy(),
            ])
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
    let readers = TopicReaders::start();
    let mut watcher_1 =
        Watcher::start("endpoint 1", endpoint_1.port(), Protocol::TransportWs).await;
    let mut watcher_2 = Watcher::start("endpoint 2", endpoint_2.port(), Protocol::LegacyWs).await;
    // Nothing of ours exists yet: once the subscriptions are live, every transaction of ours
    // is due to both.
    tokio::time::sleep(Duration::from_secs(1)).await;
    watcher_1.live_from = Instant::now();
    watcher_2.live_from = Instant::now();

    let endpoints = Arc::new(Endpoints::new(&[endpoint_1.port(), endpoint_2.port()]));
    let (users, deposits) = funded_users(&endpoints, "replicas", USERS).await;
    let users = Arc::new(users);
    let ours: HashSet<String> = users.iter().map(|u| u.iban.clone()).collect();
    eprintln!(
        "{USERS} accounts funded after {:.1} s",
        test_started.elapsed().as_secs_f64()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let clients = start_load(CLIENTS, &endpoints, &users, &stop);

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
    let load = clients.await.expect("the load clients");
    let load_ended = Instant::now();

    // Every transfer has ended, so its money events are written; the derived transactions and
    // the streams follow a moment later.
    let watchers = [&watcher_1, &watcher_2, &watcher_1_again];
    let observed = readers.settle(&ours, &watchers).await;
    print_failover_figures(
        &load,
        &observed.derived,
        &failovers,
        load_started,
        load_ended,
    );
    assert_bank_consistent(
        &endpoints, &users, &deposits, &load, &watchers, &observed, &ours,
    )
    .await;

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
