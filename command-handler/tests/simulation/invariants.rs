//! What must hold after every step of a simulation, read from the committed log and from the
//! live instances, and what must hold once everything has settled.

use std::collections::BTreeMap;

use topology::values::CASH;
use topology::{BankEvent, Id};

use super::cluster::Cluster;

/// What the committed `bank_events` say of one transfer.
#[derive(Debug, Default, Clone)]
struct Story {
    from: String,
    to: String,
    amount: i64,
    started: u32,
    debited: u32,
    credited: u32,
    returned: u32,
    completed: u32,
    failed: u32,
}

/// What the committed `bank_events` say of one hold.
#[derive(Debug, Default, Clone)]
struct HoldStory {
    held: u32,
    captured: u32,
    released: u32,
    /// The amount held, and the amount captured.
    amount: i64,
    captured_amount: i64,
}

/// What the committed `bank_events` say of one standing order.
#[derive(Debug, Default, Clone)]
struct OrderStory {
    set: u32,
    /// How many times each run was made, by run number.
    runs: BTreeMap<i32, u32>,
    /// At most this many runs (None: until cancelled; a one-off order runs once whatever it
    /// says).
    limit: Option<i32>,
    ended: u32,
    cancelled: bool,
}

/// Per transfer, hold and standing order its story, and per account its balance, folded from
/// the committed events.
struct Ledger {
    stories: BTreeMap<Id, Story>,
    holds: BTreeMap<Id, HoldStory>,
    orders: BTreeMap<Id, OrderStory>,
    balances: BTreeMap<String, i64>,
}

fn ledger(cluster: &Cluster) -> Ledger {
    let mut stories: BTreeMap<Id, Story> = BTreeMap::new();
    let mut balances: BTreeMap<String, i64> = BTreeMap::new();
    let mut holds: BTreeMap<Id, HoldStory> = BTreeMap::new();
    let mut orders: BTreeMap<Id, OrderStory> = BTreeMap::new();
    for event in cluster.log.bank_events.iter().flatten() {
        match event {
            BankEvent::BankAccountCreatedEvent(created) => {
                balances.entry(created.iban.clone()).or_insert(0);
            }
            BankEvent::TransferStartedEvent(started) => {
                let story = stories.entry(started.id).or_default();
                story.from.clone_from(&started.from);
                story.to.clone_from(&started.to);
                story.amount = started.amount;
                story.started += 1;
            }
            BankEvent::MoneyDebitedEvent(debited) => {
                stories.entry(debited.id).or_default().debited += 1;
                *balances.entry(debited.iban.clone()).or_default() -= debited.amount;
            }
            BankEvent::MoneyCreditedEvent(credited) => {
                stories.entry(credited.id).or_default().credited += 1;
                *balances.entry(credited.iban.clone()).or_default() += credited.amount;
            }
            BankEvent::MoneyReturnedEvent(returned) => {
                stories.entry(returned.id).or_default().returned += 1;
                *balances.entry(returned.iban.clone()).or_default() += returned.amount;
            }
            BankEvent::TransferCompletedEvent(completed) => {
                stories.entry(completed.id).or_default().completed += 1;
            }
            BankEvent::TransferFailedEvent(failed) => {
                stories.entry(failed.id).or_default().failed += 1;
            }
            BankEvent::MoneyHeldEvent(held) => {
                let hold = holds.entry(held.id).or_default();
                hold.held += 1;
                hold.amount = held.amount;
            }
            BankEvent::HoldCapturedEvent(captured) => {
                let hold = holds.entry(captured.id).or_default();
                hold.captured += 1;
                hold.captured_amount = captured.amount;
            }
            BankEvent::HoldReleasedEvent(released) => {
                holds.entry(released.id).or_default().released += 1;
            }
            BankEvent::StandingOrderSetEvent(set) => {
                let order = orders.entry(set.id).or_default();
                order.set += 1;
                order.limit = match set.schedule {
                    topology::StandingOrderSchedule::Once => Some(1),
                    _ => set.runs,
                };
            }
            BankEvent::StandingOrderRanEvent(ran) => {
                *orders
                    .entry(ran.id)
                    .or_default()
                    .runs
                    .entry(ran.run)
                    .or_default() += 1;
            }
            BankEvent::StandingOrderEndedEvent(ended) => {
                let order = orders.entry(ended.id).or_default();
                order.ended += 1;
                order.cancelled |= ended.reason == "cancelled";
            }
            _ => {}
        }
    }
    Ledger {
        stories,
        holds,
        orders,
        balances,
    }
}

/// After every step.
pub fn check_step(cluster: &Cluster) {
    let ledger = ledger(cluster);
    for (id, story) in &ledger.stories {
        assert!(story.started <= 1, "{id:?} started twice: {story:?}");
        assert!(
            story.debited <= 1 && story.credited <= 1 && story.returned <= 1,
            "money of {id:?} moved twice: {story:?}"
        );
        assert!(
            story.completed + story.failed <= 1,
            "{id:?} ended twice: {story:?}"
        );
        assert!(
            story.credited + story.returned <= 1,
            "{id:?} both credited and returned: {story:?}"
        );
        assert!(
            story.returned <= story.debited,
            "{id:?} returned what it never debited: {story:?}"
        );
    }
    for (id, hold) in &ledger.holds {
        assert!(hold.held <= 1, "{id:?} held twice: {hold:?}");
        assert!(
            hold.captured + hold.released <= hold.held,
            "{id:?} ended twice, or without being held: {hold:?}"
        );
        assert!(
            hold.captured_amount <= hold.amount,
            "{id:?} captured more than it held: {hold:?}"
        );
        if hold.captured == 1 {
            let story = ledger.stories.get(id);
            assert!(
                story.is_some_and(|story| story.started == 1 && story.amount == hold.captured_amount),
                "{id:?} captured without its transfer: {hold:?} {story:?}"
            );
        }
    }
    for (id, order) in &ledger.orders {
        assert!(
            order.set <= 1 && order.ended <= order.set,
            "{id:?}: {order:?}"
        );
        assert!(
            order.runs.values().all(|&times| times == 1),
            "{id:?} paid a run twice: {order:?}"
        );
        let made = i32::try_from(order.runs.len()).unwrap_or(i32::MAX);
        assert!(
            order.limit.is_none_or(|limit| made <= limit),
            "{id:?} ran more often than it may: {order:?}"
        );
        assert!(
            order.runs.keys().copied().eq(0..made),
            "{id:?} skipped a run: {order:?}"
        );
    }
    // Every live instance holds exactly what the log says of its accounts, none below its limit
    // (counting what is held).
    for index in 0..cluster.instances.len() {
        let Some(handler) = cluster.current_handler(index) else {
            continue;
        };
        for (iban, account) in handler.state().accounts().iter() {
            assert!(
                account.available() >= account.limit(),
                "{iban} is below its limit: {} booked, {} available",
                account.balance(),
                account.available()
            );
            let logged = ledger.balances.get(iban).copied().unwrap_or(0);
            assert_eq!(
                account.balance(),
                logged,
                "instance {index} holds a balance of {iban} the log does not have"
            );
        }
    }
}

/// Now and then: each live instance's state equals a replay of its partitions (its accounts,
/// transfers and refused credits; its sagas' next steps when nothing is in flight).
pub fn check_replay(cluster: &Cluster) {
    let ledger = ledger(cluster);
    for index in 0..cluster.instances.len() {
        let Some(handler) = cluster.current_handler(index) else {
            continue;
        };
        let replayed = cluster.rebuild(&handler.ownership().partitions().collect());
        let live: BTreeMap<&str, _> = handler.state().accounts().iter().collect();
        let again: BTreeMap<&str, _> = replayed.state().accounts().iter().collect();
        assert_eq!(
            live, again,
            "instance {index}: live accounts differ from a replay"
        );
        for id in ledger.stories.keys() {
            assert_eq!(
                format!("{:?}", handler.state().transfers().status(*id)),
                format!("{:?}", replayed.state().transfers().status(*id)),
                "instance {index}: transfer {id:?} differs from a replay"
            );
        }
        assert_eq!(
            handler.state().refused_credits(),
            replayed.state().refused_credits(),
            "instance {index}: refused credits differ from a replay"
        );
        // Answers still on their way are facts a replay of the instance's own partitions may
        // already see as events (a credit booked after its partition moved here): the saga's
        // next steps agree once everything is read.
        if !cluster.log.all_consumed() {
            continue;
        }
        let mut pending = handler.saga().pending();
        let mut replayed_pending = replayed.saga().pending();
        pending.sort_by_key(|command| command.transfer_id());
        replayed_pending.sort_by_key(|command| command.transfer_id());
        assert_eq!(
            format!("{pending:?}"),
            format!("{replayed_pending:?}"),
            "instance {index}: the saga's next steps differ from a replay"
        );
    }
}

/// Once settled: every transfer ended exactly once, its money where its end says, and the
/// bank holds exactly what came in from cash minus what left it.
pub fn check_settled(cluster: &Cluster) {
    let ledger = ledger(cluster);
    let mut came_in = 0;
    let mut went_out = 0;
    for (id, story) in &ledger.stories {
        assert_eq!(story.started, 1, "{id:?} never started: {story:?}");
        assert_eq!(
            story.completed + story.failed,
            1,
            "{id:?} did not end: {story:?}"
        );
        let from_cash = story.from == CASH;
        let to_us = ledger.balances.contains_key(&story.to);
        if story.completed == 1 {
            if from_cash {
                assert_eq!((story.debited, story.credited), (0, 1), "{id:?}: {story:?}");
                came_in += story.amount;
            } else if to_us {
                assert_eq!((story.debited, story.credited), (1, 1), "{id:?}: {story:?}");
            } else {
                assert_eq!((story.debited, story.credited), (1, 0), "{id:?}: {story:?}");
                went_out += story.amount;
            }
        } else {
            // A failed transfer moved nothing, or gave back what it took.
            assert_eq!(
                story.credited, 0,
                "{id:?} failed after its credit: {story:?}"
            );
            assert_eq!(
                story.debited, story.returned,
                "{id:?} kept money: {story:?}"
            );
        }
    }
    for (id, hold) in &ledger.holds {
        assert_eq!(
            hold.captured + hold.released,
            hold.held,
            "{id:?} neither captured nor released: {hold:?}"
        );
    }
    for (id, order) in &ledger.orders {
        assert_eq!(order.ended, order.set, "{id:?} never ended: {order:?}");
        if !order.cancelled {
            assert_eq!(
                order.limit,
                Some(i32::try_from(order.runs.len()).unwrap_or(i32::MAX)),
                "{id:?} completed without all its runs: {order:?}"
            );
        }
    }
    let held: i64 = ledger.balances.values().sum();
    assert_eq!(
        held,
        came_in - went_out,
        "money is not conserved: held {held}, in {came_in}, out {went_out}"
    );
}
