//! Command-handler instances over the simulated [`Log`], doing what the runtime does with
//! Kafka (`command_handler::runtime`), step by step as a seeded scheduler asks:
//!
//! - a poll reads a few inputs of the instance's partitions, in an order that mixes the
//!   partitions, decides them with its [`Handler`] and commits the outputs with the offsets in
//!   one transaction; an aborted transaction, or one fenced because the group moved on, makes
//!   the instance take all its partitions over again from the log;
//! - a rebalance gives the partitions to the live instances anew; each instance notices at its
//!   next poll (a member that missed it may first poll once more and be fenced), then releases
//!   the revoked partitions, rebuilds only the new ones and resumes their transfers, as the
//!   partition tasks do;
//! - a crash loses an instance's memory; a restart (same member id, same partitions) rebuilds
//!   them from the log;
//! - an instance asks again for the credits other instances have not answered;
//! - the clock moves on and an instance decides what fell due on its accounts: holds that
//!   expired, runs of standing orders.

use std::collections::{BTreeMap, BTreeSet};

use command_handler::domain::saga::{Saga, SagaInput};
use command_handler::domain::{BankState, Fresh};
use command_handler::handling::{Handler, Output, Ownership};
use topology::proofs::SagaKey;
use topology::BANK_PARTITIONS;

use test_support::seeded::Rng;

use super::log::{Input, Log, Place, INPUT_TOPICS};

/// In how many of 100 transactions the broker aborts.
const ABORT_PERCENT: u64 = 4;
/// The most inputs one poll reads.
const MAX_POLL: u64 = 6;

pub struct Instance {
    /// `None` while crashed.
    handler: Option<Handler>,
    /// The generation of the assignment its handler owns.
    generation: u64,
    /// Where it reads next, per input partition it owns.
    positions: BTreeMap<Place, usize>,
    /// Per owned partition, where its `bank_events` and `user_events` ended after this
    /// instance's last write or rebuild: a kept partition must still end there.
    event_ends: BTreeMap<i32, (usize, usize)>,
}

pub struct Cluster {
    pub log: Log,
    pub instances: Vec<Instance>,
    /// The current generation's assignment: partition → instance.
    assignment: BTreeMap<i32, usize>,
    key: SagaKey,
    /// Simulated milliseconds, for the decisions' clock.
    pub clock: i64,
    decisions: u64,
    /// Print every read, write and hand-over (a seed replayed alone).
    pub trace: bool,
}

impl Cluster {
    pub fn new(instances: usize) -> Self {
        let assignment = (0..BANK_PARTITIONS)
            .map(|partition| (partition, usize::try_from(partition).unwrap() % instances))
            .collect();
        let mut cluster = Self {
            log: Log::new(),
            instances: Vec::new(),
            assignment,
            key: SagaKey::new(b"the simulated instances' shared saga key"),
            clock: 1_800_000_000_000,
            decisions: 0,
            trace: false,
        };
        for index in 0..instances {
            let handler = cluster.rebuild(&cluster.assigned_to(index));
            cluster.instances.push(Instance {
                handler: Some(handler),
                generation: 0,
                positions: BTreeMap::new(),
                event_ends: BTreeMap::new(),
            });
            cluster.reset_positions(index);
        }
        cluster
    }

    pub fn assigned_to(&self, instance: usize) -> BTreeSet<i32> {
        self.assignment
            .iter()
            .filter(|(_, owner)| **owner == instance)
            .map(|(partition, _)| *partition)
            .collect()
    }

    pub fn is_live(&self, instance: usize) -> bool {
        self.instances[instance].handler.is_some()
    }

    /// The handler of a live instance that is up to date with the group, for the checks.
    pub fn current_handler(&self, instance: usize) -> Option<&Handler> {
        let instance = &self.instances[instance];
        (instance.generation == self.log.generation())
            .then_some(instance.handler.as_ref())
            .flatten()
    }

    /// The state of `partitions` as a new owner rebuilds it from the committed events (what
    /// `command_handler::rebuild` does with Kafka).
    pub fn rebuild(&self, partitions: &BTreeSet<i32>) -> Handler {
        let mut state = BankState::default();
        let mut saga = Saga::default();
        for &partition in partitions {
            let at = usize::try_from(partition).unwrap();
            for event in &self.log.user_events[at] {
                state.evolve_user_event(event);
            }
            for event in &self.log.bank_events[at] {
                state.evolve_bank_event(event);
                saga.apply(SagaInput::Event(event));
                saga.forget_settled();
            }
        }
        Handler::new(state, saga, Ownership::new(partitions.iter().copied()))
            .with_saga_key(self.key.clone())
    }

    /// Reads on from the committed offsets of the instance's partitions, whose events it holds
    /// up to their current ends.
    fn reset_positions(&mut self, instance: usize) {
        let assigned = self.assigned_to(instance);
        let positions = assigned
            .iter()
            .flat_map(|&partition| INPUT_TOPICS.map(|topic| (topic, partition)))
            .map(|place| (place, self.log.committed(place)))
            .collect();
        self.instances[instance].positions = positions;
        self.note_event_ends(instance, &assigned);
    }

    fn note_event_ends(&mut self, instance: usize, partitions: &BTreeSet<i32>) {
        let ends = partitions
            .iter()
            .map(|&partition| (partition, self.event_ends(partition)))
            .collect();
        self.instances[instance].event_ends = ends;
    }

    fn event_ends(&self, partition: i32) -> (usize, usize) {
        let at = usize::try_from(partition).unwrap();
        (
            self.log.bank_events[at].len(),
            self.log.user_events[at].len(),
        )
    }

    fn fresh(&mut self) -> Fresh {
        self.decisions += 1;
        self.clock += 7;
        Fresh {
            token: format!("{:020}", self.decisions),
            now_millis: self.clock,
        }
    }

    /// The group gives the partitions to the live instances anew (at random).
    pub fn rebalance(&mut self, rng: &mut Rng) {
        let live: Vec<usize> = (0..self.instances.len())
            .filter(|&index| self.is_live(index))
            .collect();
        if live.is_empty() {
            return;
        }
        for owner in self.assignment.values_mut() {
            *owner = *rng.pick(&live);
        }
        self.log.rebalance();
    }

    pub fn crash(&mut self, instance: usize) {
        self.instances[instance].handler = None;
        self.instances[instance].positions.clear();
    }

    /// A restart under the same member id: the instance keeps its partitions (static
    /// membership) and rebuilds them all.
    pub fn restart(&mut self, instance: usize) {
        self.take_over_all(instance);
    }

    /// Rebuilds every partition of the current assignment, as the runtime does after a
    /// transaction that was not written, and resumes their transfers.
    fn take_over_all(&mut self, instance: usize) {
        let assigned = self.assigned_to(instance);
        let mut handler = self.rebuild(&assigned);
        let resumed = handler.resume();
        self.instances[instance].handler = Some(handler);
        self.instances[instance].generation = self.log.generation();
        self.reset_positions(instance);
        self.write_unprompted(instance, resumed);
    }

    /// The partition tasks' way through a rebalance: release the revoked partitions, rebuild
    /// the new ones only, resume their transfers; kept partitions go on as they are.
    fn reassign(&mut self, instance: usize) {
        let assigned = self.assigned_to(instance);
        if self.trace {
            eprintln!(
                "  instance {instance} hears of generation {}: {assigned:?}",
                self.log.generation()
            );
        }
        let Some(mut handler) = self.instances[instance].handler.take() else {
            return;
        };
        // A partition is kept only if nobody wrote its events meanwhile (the instance may
        // have missed a generation in which another owned it); else it is opened again.
        let ends = &self.instances[instance].event_ends;
        let owned: BTreeSet<i32> = handler
            .ownership()
            .partitions()
            .filter(|&p| assigned.contains(&p) && ends.get(&p) == Some(&self.event_ends(p)))
            .collect();
        let revoked: BTreeSet<i32> = handler
            .ownership()
            .partitions()
            .filter(|p| !owned.contains(p))
            .collect();
        let added: BTreeSet<i32> = assigned.difference(&owned).copied().collect();
        handler.release(&revoked);
        handler.adopt(self.rebuild(&added));
        let resumed = handler.resume_in(&added);
        self.instances[instance].handler = Some(handler);
        self.instances[instance].generation = self.log.generation();
        self.reset_positions(instance);
        self.write_unprompted(instance, resumed);
    }

    /// After a committed write: the instance's partitions end where it wrote.
    fn written(&mut self, instance: usize) {
        let owned = self.instances[instance]
            .handler
            .as_ref()
            .map(|handler| handler.ownership().partitions().collect())
            .unwrap_or_default();
        self.note_event_ends(instance, &owned);
    }

    /// Writes records no input asked for, with the committed offsets.
    fn write_unprompted(&mut self, instance: usize, outputs: Vec<Output>) {
        if outputs.is_empty() {
            return;
        }
        if self.trace {
            eprintln!("  instance {instance} writes unprompted: {outputs:?}");
        }
        let generation = self.instances[instance].generation;
        match self.log.commit(generation, outputs, &BTreeMap::new()) {
            Ok(()) => self.written(instance),
            Err(_fenced) => self.take_over_all(instance),
        }
    }

    /// One poll of `instance`: read, decide, commit (or abort, or be fenced).
    pub fn poll(&mut self, instance: usize, rng: &mut Rng) {
        if !self.is_live(instance) {
            return;
        }
        let stale = self.instances[instance].generation != self.log.generation();
        // A member that missed the rebalance may poll once more before it hears of it.
        if stale && !rng.percent(50) {
            self.reassign(instance);
        }
        let mut places: Vec<Place> = self.instances[instance].positions.keys().copied().collect();
        rng.shuffle(&mut places);
        let mut budget = 1 + rng.below(MAX_POLL);
        let mut outputs = Vec::new();
        let mut offsets = BTreeMap::new();
        for place in places {
            while budget > 0 {
                let position = self.instances[instance].positions[&place];
                let Some(input) = self.log.read(place, position).cloned() else {
                    break;
                };
                budget -= 1;
                let fresh = self.fresh();
                let Some(handler) = self.instances[instance].handler.as_mut() else {
                    return;
                };
                let decided = match &input {
                    Input::Bank(command) => handler.bank_command(command, &fresh),
                    Input::Transfer(command) => handler.transfer_command(command),
                    Input::Feedback(answer) => handler.transfer_feedback(answer),
                };
                if self.trace {
                    eprintln!("  instance {instance} (gen {}) reads {place:?}@{position}: {input:?}\n    -> {decided:?}", self.instances[instance].generation);
                }
                outputs.extend(decided);
                self.instances[instance]
                    .positions
                    .insert(place, position + 1);
                offsets.insert(place, position + 1);
            }
        }
        if offsets.is_empty() {
            return;
        }
        if rng.percent(ABORT_PERCENT) {
            if self.trace {
                eprintln!("  instance {instance}: transaction aborted; taking over all");
            }
            self.take_over_all(instance);
            return;
        }
        let generation = self.instances[instance].generation;
        match self.log.commit(generation, outputs, &offsets) {
            Ok(()) => {
                if let Some(handler) = self.instances[instance].handler.as_mut() {
                    handler.forget_settled();
                }
                self.written(instance);
            }
            Err(_fenced) => {
                if self.trace {
                    eprintln!("  instance {instance}: fenced; taking over all");
                }
                self.take_over_all(instance);
            }
        }
    }

    /// Asks again for every credit another instance has not answered.
    pub fn ask_again(&mut self, instance: usize) {
        if self.instances[instance].generation != self.log.generation() {
            return;
        }
        let Some(handler) = self.instances[instance].handler.as_ref() else {
            return;
        };
        let outputs: Vec<Output> = handler
            .awaiting_remote()
            .into_iter()
            .filter_map(|transfer| handler.ask_again(transfer))
            .collect();
        self.write_unprompted(instance, outputs);
    }

    /// The clock moves `later` ms on; `instance` decides what fell due by then (holds that
    /// expired, runs of standing orders).
    pub fn clock_moves(&mut self, instance: usize, later: i64) {
        self.clock += later;
        if self.instances[instance].generation != self.log.generation() {
            return;
        }
        let now = self.clock;
        let Some(handler) = self.instances[instance].handler.as_mut() else {
            return;
        };
        let outputs = handler.decide_due(now);
        self.write_unprompted(instance, outputs);
    }

    /// Nothing left to do: every input consumed, no transfer waiting for another instance, no
    /// hold open, no standing order under way.
    pub fn is_settled(&self) -> bool {
        self.log.all_consumed()
            && (0..self.instances.len()).all(|index| {
                self.current_handler(index).is_some_and(|handler| {
                    handler.awaiting_remote().is_empty() && handler.next_due().is_none()
                })
            })
    }
}
