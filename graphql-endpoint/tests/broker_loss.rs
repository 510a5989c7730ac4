//! The bank on a cluster of three brokers (replication 3, `min.insync.replicas=2`) loses one
//! broker to a SIGKILL under load and gets it back a while later: every transfer and query is
//! answered, money moves exactly once per transfer, every derived transaction is published and
//! streamed once, and balances add up.
//!
//! It needs the three-broker cluster of `scripts/infra.sh up --brokers 3`, which
//! `scripts/test.sh` starts for it after the other integration tests, and kills and restarts a
//! broker through that script. It prints how long answers paused ("broker loss figures") but
//! asserts nothing about time: the machine running it may be slow or busy.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::bank_load::{
    assert_bank_consistent, funded_users, start_load, Endpoints, Load, TopicReaders, Watcher,
};
use common::{
    start_command_handler_as, start_graphql_endpoint, start_group_at_end, start_projector_as,
    trust_local_proxy, unique, Protocol, WAIT,
};
use rdkafka::consumer::Consumer;

const BROKERS: usize = 3;
const USERS: usize = 8;
/// Clients sending requests side by side, each waiting for its answer before the next.
const CLIENTS: usize = 2;
const BEFORE_LOSS: Duration = Duration::from_secs(6);
/// How long the cluster runs on two brokers before the third is started again.
const BROKER_DOWN: Duration = Duration::from_secs(12);
/// Load while the broker restarts: it may take a minute to be back (it recovers every
/// partition's log), which the test does not wait for under load.
const WHILE_RESTARTING: Duration = Duration::from_secs(10);
/// Load after the broker is back in the cluster, when it is back that soon.
const AFTER_RETURN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a three-broker Kafka + schema registry: run scripts/test.sh"]
async fn the_bank_keeps_answering_while_a_broker_is_lost_and_comes_back() {
    let test_started = Instant::now();
    assert_three_brokers();
    let run = unique("broker-loss");
    let handler_group = format!("command-handler-{run}");
    start_group_at_end(&handler_group, &test_support::COMMAND_TOPICS);
    let publishing_group = format!("projector-{run}");
    start_group_at_end(&publishing_group, &["bank_events"]);

    let (handler_id, query_group, projector_id) = (
        format!("command-handler-{run}"),
        format!("projector-{run}-queries"),
        format!("projector-{run}-tx"),
    );
    let mut handler = start_command_handler_as(&handler_group, &handler_id);
    let mut projector = start_projector_as(&publishing_group, &query_group, &projector_id);
    let mut endpoint = start_graphql_endpoint(&[
        ("GRAPHQL_COMMAND_TIMEOUT", "30".into()),
        trust_local_proxy(),
    ]);
    handler.wait_ready(WAIT).await;
    projector.wait_ready(WAIT).await;
    endpoint.wait_healthy(WAIT).await;

    let readers = TopicReaders::start();
    let mut watcher = Watcher::start("endpoint", endpoint.port(), Protocol::TransportWs).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    watcher.live_from = Instant::now();

    let endpoints = Arc::new(Endpoints::new(&[endpoint.port()]));
    let (users, deposits) = funded_users(&endpoints, "broker-loss", USERS).await;
    let users = Arc::new(users);
    let ours: HashSet<String> = users.iter().map(|u| u.iban.clone()).collect();
    eprintln!(
        "{USERS} accounts funded after {:.1} s",
        test_started.elapsed().as_secs_f64()
    );

    // Whoever coordinates groups and transactions has the most to hand over: the broker that
    // coordinates most of this test's is the one to lose.
    let victim = most_coordinating_broker(&[
        (
            CoordinatorOf::Group,
            &handler_group,
            "the command handler's group",
        ),
        (
            CoordinatorOf::Transactions,
            &handler_id,
            "the command handler's transactions",
        ),
        (
            CoordinatorOf::Group,
            &publishing_group,
            "the projector's publishing group",
        ),
        (
            CoordinatorOf::Group,
            &query_group,
            "the projector's query group",
        ),
        (
            CoordinatorOf::Transactions,
            &projector_id,
            "the projector's transactions",
        ),
    ]);

    let stop = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let clients = start_load(CLIENTS, &endpoints, &users, &stop);
    tokio::time::sleep(BEFORE_LOSS).await;
    infra(&["kill-broker", &victim.to_string()]).await;
    let killed = Instant::now();
    tokio::time::sleep(BROKER_DOWN).await;
    let restarting = Instant::now();
    let mut restart = tokio::spawn(async {
        infra(&["up"]).await;
        Instant::now()
    });
    let back_under_load = match tokio::time::timeout(WHILE_RESTARTING, &mut restart).await {
        Ok(back) => {
            tokio::time::sleep(AFTER_RETURN).await;
            Some(back.expect("the restart"))
        }
        Err(_still_restarting) => None,
    };
    stop.store(true, Ordering::Relaxed);
    let load = clients.await.expect("the load clients");
    let load_ended = Instant::now();

    let watchers = [&watcher];
    let observed = readers.settle(&ours, &watchers).await;
    let mut stretches = vec![
        ("three brokers", load_started),
        ("one broker killed", killed),
        ("broker restarting", restarting),
    ];
    stretches.extend(back_under_load.map(|back| ("three brokers again", back)));
    print_figures(&load, &stretches, load_ended);
    assert_bank_consistent(
        &endpoints, &users, &deposits, &load, &watchers, &observed, &ours,
    )
    .await;
    for (name, service) in [
        ("command handler", &mut handler),
        ("projector", &mut projector),
    ] {
        assert!(
            service.is_running(),
            "the {name} exited while a broker was lost"
        );
    }
    // The cluster is whole again before the next test uses it.
    let back = match back_under_load {
        Some(back) => back,
        None => restart.await.expect("the restart"),
    };
    eprintln!(
        "broker {victim} killed; restarted {:.1} s later and back in the cluster {:.1} s after that",
        (restarting - killed).as_secs_f64(),
        (back - restarting).as_secs_f64()
    );
    eprintln!(
        "broker loss test took {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
}

/// A one-broker cluster would pass the test's checks without losing anything worth showing.
fn assert_three_brokers() {
    let consumer = test_support::consumer_at_end(&["bank_events"]);
    let metadata = consumer
        .fetch_metadata(None, WAIT)
        .expect("the cluster's metadata");
    assert_eq!(
        metadata.brokers().len(),
        BROKERS,
        "this test needs the three-broker cluster of `scripts/infra.sh up --brokers 3`"
    );
}

#[derive(Clone, Copy)]
enum CoordinatorOf {
    Group,
    Transactions,
}

/// The broker that leads the partitions of `__consumer_offsets` and `__transaction_state`
/// holding most of `roles`: Kafka keeps a group, or a transactional id, in the partition given
/// by the Java hash of its name.
fn most_coordinating_broker(roles: &[(CoordinatorOf, &str, &str)]) -> i32 {
    let consumer = test_support::consumer_at_end(&["bank_events"]);
    let metadata = consumer
        .fetch_metadata(None, WAIT)
        .expect("the cluster's metadata");
    let leader = |topic: &str, id: &str| {
        let topic = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .unwrap_or_else(|| panic!("{topic} exists once a group or transaction does"));
        let partitions = i32::try_from(topic.partitions().len()).expect("a few partitions");
        let partition = java_hash_abs(id) % partitions;
        topic
            .partitions()
            .iter()
            .find(|p| p.id() == partition)
            .map(|p| p.leader())
            .expect("the coordinator's partition")
    };
    let mut duties: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
    for (of, id, role) in roles {
        let topic = match of {
            CoordinatorOf::Group => "__consumer_offsets",
            CoordinatorOf::Transactions => "__transaction_state",
        };
        duties.entry(leader(topic, id)).or_default().push(role);
    }
    let (broker, roles) = duties
        .into_iter()
        .max_by_key(|(_, roles)| roles.len())
        .expect("some coordinator");
    eprintln!(
        "broker {broker} is to be lost; it coordinates {}",
        roles.join(", ")
    );
    broker
}

/// `Utils.abs(id.hashCode())` of Kafka's coordinators.
fn java_hash_abs(id: &str) -> i32 {
    let hash = id.encode_utf16().fold(0_i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    if hash == i32::MIN {
        0
    } else {
        hash.abs()
    }
}

/// Runs `scripts/infra.sh` with the test's environment (its OPEN_BANK_DATA is the cluster's).
async fn infra(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/infra.sh");
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let status = tokio::task::spawn_blocking(move || Command::new(script).args(&args).status())
        .await
        .expect("the infra.sh task")
        .expect("scripts/infra.sh runs");
    assert!(status.success(), "scripts/infra.sh failed: {status}");
}

/// Per stretch, what the clients experienced: how many answers, the slowest, and the longest
/// time in which no transfer was answered at all.
fn print_figures(load: &Load, stretches: &[(&str, Instant)], load_ended: Instant) {
    let seconds = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.2}", d.as_secs_f64()));
    eprintln!("\nbroker loss figures, in seconds (a stretch runs until the next one begins)");
    eprintln!(
        "{:<20} | {:>9} | {:>16} | {:>7} | {:>13} | {:>20}",
        "stretch",
        "transfers",
        "longest transfer",
        "queries",
        "longest query",
        "longest without any"
    );
    eprintln!(
        "{:<20} | {:>9} | {:>16} | {:>7} | {:>13} | {:>20}",
        "", "answered", "latency", "", "latency", "transfer answered"
    );
    for (index, (name, from)) in stretches.iter().enumerate() {
        let until = stretches.get(index + 1).map_or(load_ended, |s| s.1);
        let within = |at: &Instant| *from <= *at && *at < until;
        let mut answered: Vec<Instant> = load
            .transfers
            .iter()
            .map(|t| t.answered)
            .filter(within)
            .collect();
        answered.sort();
        let mut marks = vec![*from];
        marks.extend(&answered);
        marks.push(until);
        let longest_gap = marks.windows(2).map(|w| w[1] - w[0]).max();
        let queries: Vec<_> = load
            .queries
            .iter()
            .filter(|q| within(&q.answered))
            .collect();
        eprintln!(
            "{:<20} | {:>9} | {:>16} | {:>7} | {:>13} | {:>20}",
            name,
            answered.len(),
            seconds(
                load.transfers
                    .iter()
                    .filter(|t| within(&t.answered))
                    .map(|t| t.latency)
                    .max()
            ),
            queries.len(),
            seconds(queries.iter().map(|q| q.latency).max()),
            seconds(longest_gap),
        );
    }
    eprintln!();
}
