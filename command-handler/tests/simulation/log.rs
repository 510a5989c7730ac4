//! The Kafka the simulated command handlers run on, in memory: partitioned topics, records
//! visible only once their transaction commits (what a `read_committed` reader sees), the
//! group's offsets committed in the same transaction, and a group generation that refuses the
//! offsets of a member that missed a rebalance (KIP-447 fencing).

use std::collections::BTreeMap;

use command_handler::handling::Output;
use topology::routing::partition_of;
use topology::{
    BankCommand, BankCommandFeedback, BankEvent, TransferCommand, TransferCommandFeedback,
    UserEvent, BANK_PARTITIONS,
};

/// A record an instance reads and decides on.
#[derive(Debug, Clone)]
pub enum Input {
    Bank(BankCommand),
    Transfer(TransferCommand),
    Feedback(TransferCommandFeedback),
}

/// The topics the command handler consumes, all partitioned like the accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum InputTopic {
    BankCommands,
    TransferCommands,
    TransferFeedback,
}

pub const INPUT_TOPICS: [InputTopic; 3] = [
    InputTopic::BankCommands,
    InputTopic::TransferCommands,
    InputTopic::TransferFeedback,
];

pub type Place = (InputTopic, i32);

/// A transaction carried offsets of a generation the group has left behind.
#[derive(Debug)]
pub struct Fenced;

pub struct Log {
    inputs: BTreeMap<Place, Vec<Input>>,
    /// `bank_events` and `user_events`, per partition.
    pub bank_events: Vec<Vec<BankEvent>>,
    pub user_events: Vec<Vec<UserEvent>>,
    /// `bank_command_feedback`: what the clients are answered.
    pub answers: Vec<BankCommandFeedback>,
    committed: BTreeMap<Place, usize>,
    generation: u64,
    pub commits: u64,
    pub fenced: u64,
}

impl Log {
    pub fn new() -> Self {
        let partitions = usize::try_from(BANK_PARTITIONS).unwrap();
        Self {
            inputs: BTreeMap::new(),
            bank_events: vec![Vec::new(); partitions],
            user_events: vec![Vec::new(); partitions],
            answers: Vec::new(),
            committed: BTreeMap::new(),
            generation: 0,
            commits: 0,
            fenced: 0,
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The group moved on: offsets of earlier generations are refused from now on.
    pub fn rebalance(&mut self) {
        self.generation += 1;
    }

    /// A client's command, produced outside any transaction, under its aggregate's key.
    pub fn produce(&mut self, key: &str, command: BankCommand) {
        let place = (InputTopic::BankCommands, partition_of(key));
        self.inputs
            .entry(place)
            .or_default()
            .push(Input::Bank(command));
    }

    pub fn read(&self, place: Place, offset: usize) -> Option<&Input> {
        self.inputs.get(&place)?.get(offset)
    }

    pub fn committed(&self, place: Place) -> usize {
        self.committed.get(&place).copied().unwrap_or(0)
    }

    /// Whether every input of every partition is consumed and committed.
    pub fn all_consumed(&self) -> bool {
        self.inputs
            .iter()
            .all(|(place, records)| self.committed(*place) == records.len())
    }

    /// Writes `outputs` and commits `offsets`, all or nothing, if `generation` is current.
    pub fn commit(
        &mut self,
        generation: u64,
        outputs: Vec<Output>,
        offsets: &BTreeMap<Place, usize>,
    ) -> Result<(), Fenced> {
        if generation != self.generation {
            self.fenced += 1;
            return Err(Fenced);
        }
        for (&place, &next) in offsets {
            let committed = self.committed(place);
            assert!(
                next >= committed,
                "the offset of {place:?} went back from {committed} to {next}"
            );
            self.committed.insert(place, next);
        }
        for output in outputs {
            self.append(output);
        }
        self.commits += 1;
        Ok(())
    }

    fn append(&mut self, output: Output) {
        let at = |key: &str| usize::try_from(partition_of(key)).unwrap();
        match output {
            Output::BankEvent(key, event) => self.bank_events[at(&key)].push(event),
            Output::UserEvent(key, event) => self.user_events[at(&key)].push(event),
            Output::BankFeedback(_, answer) => self.answers.push(answer),
            Output::UserFeedback(..) => {}
            Output::TransferFeedback(key, answer) => self
                .input(&key, InputTopic::TransferFeedback)
                .push(Input::Feedback(answer)),
            Output::BankCommand(key, command) => self
                .input(&key, InputTopic::BankCommands)
                .push(Input::Bank(command)),
            Output::TransferCommand(key, command) => self
                .input(&key, InputTopic::TransferCommands)
                .push(Input::Transfer(command)),
        }
    }

    fn input(&mut self, key: &str, topic: InputTopic) -> &mut Vec<Input> {
        self.inputs.entry((topic, partition_of(key))).or_default()
    }
}
