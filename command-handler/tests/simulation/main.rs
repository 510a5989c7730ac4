//! A deterministic simulation of the command side: one to three command-handler instances
//! (their [`Handler`](command_handler::handling::Handler)s, the saga and the partition hand-over
//! of the partition tasks) run over an in-memory Kafka ([`log`]) while a seeded scheduler
//! interleaves clients' transfers, holds (placed, captured in part or too much, voided, sent
//! again) and standing orders (once, weekly, monthly; cancelled now and then) with polls, aborted transactions, rebalances (a member may poll once more before
//! it hears of one, and is fenced), crashes, restarts, repeated credits and the clock releasing
//! expired holds. After every step the invariants of [`invariants`] hold; at the end every transfer
//! has ended exactly once and the money adds up. It complements the tests on a real broker:
//! what it cannot show is how Kafka behaves; what they cannot show is thousands of
//! interleavings.
//!
//! `SIMULATION_SEEDS=n` runs n seeds (default 2,000, on every core); a failing seed prints the
//! command that replays it alone, with its steps: `SIMULATION_SEED=<seed>`.
//! `SIMULATION_KEEP_GOING=1` runs every seed and lists the failed ones at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics fails with its message

mod cluster;
mod invariants;
mod log;

use topology::proofs::token_hash;
use topology::routing::home;
use topology::values::{open_iban_for_account, CASH};
use topology::{
    BankCommand, CancelStandingOrderCommand, CaptureHoldCommand, CreateBankAccountCommand,
    HoldMoneyCommand, Id, MoneyTransferCommand, SetStandingOrderCommand, StandingOrderSchedule,
    VoidHoldCommand,
};

use cluster::Cluster;
use test_support::seeded::Rng;

const DEFAULT_SEEDS: u64 = 2_000;
const ACCOUNTS: u32 = 6;
const TRANSFERS: u32 = 30;
/// Steps a settled run may take at most after the clients stop.
const MAX_SETTLING_STEPS: u32 = 20_000;
const FOREIGN_IBAN: &str = "NL91ABNA0417164300";
const DAY: i64 = 86_400_000;

struct Owner {
    username: String,
    iban: String,
}

/// A hold a client placed: its id, the owner's index and the amount.
struct Placed {
    id: Id,
    owner: usize,
    amount: i64,
}

/// One seed's run: the cluster, its clients, and what happened, for a replay's trace.
struct Run {
    rng: Rng,
    cluster: Cluster,
    owners: Vec<Owner>,
    sent: Vec<BankCommand>,
    holds: Vec<Placed>,
    /// Standing orders set: (id, owner's index).
    orders: Vec<(Id, usize)>,
    trace: bool,
}

impl Run {
    fn new(seed: u64, trace: bool) -> Self {
        let mut rng = Rng::new(seed);
        let instances = 1 + usize::try_from(rng.below(3)).unwrap();
        let mut cluster = Cluster::new(instances);
        cluster.trace = trace;
        let mut run = Run {
            rng,
            cluster,
            owners: Vec::new(),
            sent: Vec::new(),
            holds: Vec::new(),
            orders: Vec::new(),
            trace,
        };
        run.note(|| format!("seed {seed}: {instances} instance(s)"));
        for account in 1..=ACCOUNTS {
            let owner = Owner {
                username: format!("user-{account}"),
                iban: open_iban_for_account(account),
            };
            let create = BankCommand::from(CreateBankAccountCommand {
                id: run.new_id(),
                iban: owner.iban.clone(),
                username: owner.username.clone(),
                token_hash: Some(token_hash(&owner.username)),
                token_nonce: None,
            });
            run.cluster.log.produce(&owner.iban, create);
            run.owners.push(owner);
        }
        run
    }

    fn note(&self, what: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("{}", what());
        }
    }

    fn new_id(&mut self) -> Id {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.rng.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.rng.next_u64().to_be_bytes());
        Id(bytes)
    }

    /// A client's transfer: a deposit, between accounts, out of the bank, to an account that
    /// does not exist, one that cannot pass; now and then one sent again with its uuid, or a
    /// hold's command.
    fn client_sends(&mut self) {
        if !self.sent.is_empty() && self.rng.percent(5) {
            let again = self.rng.pick(&self.sent).clone();
            self.note(|| format!("client sends again {again:?}"));
            let key = match &again {
                BankCommand::MoneyTransferCommand(transfer) => home(&transfer.from, &transfer.to),
                BankCommand::HoldMoneyCommand(hold) => &hold.from,
                BankCommand::CaptureHoldCommand(capture) => &capture.iban,
                BankCommand::VoidHoldCommand(void) => &void.iban,
                BankCommand::SetStandingOrderCommand(order) => &order.from,
                BankCommand::CancelStandingOrderCommand(cancel) => &cancel.iban,
                _ => return,
            }
            .to_string();
            self.cluster.log.produce(&key, again);
            return;
        }
        if self.rng.percent(30) {
            return self.client_holds();
        }
        if self.rng.percent(15) {
            return self.client_orders();
        }
        let me = self.rng.index(self.owners.len());
        let other = self.rng.index(self.owners.len());
        let (mine, theirs) = (
            self.owners[me].iban.clone(),
            self.owners[other].iban.clone(),
        );
        let amount = 1 + i64::try_from(self.rng.below(40_000)).unwrap();
        let nobody = open_iban_for_account(900 + u32::try_from(self.rng.below(9)).unwrap());
        let (from, to) = match self.rng.below(10) {
            0..=2 => (CASH.to_string(), mine),
            3..=6 => (mine, theirs),
            7 => (mine, FOREIGN_IBAN.to_string()),
            8 => (mine, nobody),
            _ => (mine.clone(), mine),
        };
        let transfer = MoneyTransferCommand {
            id: self.new_id(),
            token: token_hash(&self.owners[me].username),
            amount,
            from: from.clone(),
            to: to.clone(),
            description: "simulated".into(),
            username: self.owners[me].username.clone(),
        };
        self.note(|| format!("client sends {amount} from {from} to {to}"));
        let command = BankCommand::from(transfer);
        self.cluster.log.produce(home(&from, &to), command.clone());
        self.sent.push(command);
    }

    /// A hold placed (on money there is or is not, expiring within seconds of simulated time),
    /// or one placed before captured (in part, whole, or too much) or voided.
    fn client_holds(&mut self) {
        let command = if self.holds.is_empty() || self.rng.percent(50) {
            let me = self.rng.index(self.owners.len());
            let other = self.rng.index(self.owners.len());
            let to = if self.rng.percent(20) {
                FOREIGN_IBAN.to_string()
            } else {
                self.owners[other].iban.clone()
            };
            let id = self.new_id();
            let amount = 1 + i64::try_from(self.rng.below(40_000)).unwrap();
            let expires_in = 1_000 + i64::try_from(self.rng.below(4_000)).unwrap();
            self.holds.push(Placed {
                id,
                owner: me,
                amount,
            });
            BankCommand::from(HoldMoneyCommand {
                id,
                token: token_hash(&self.owners[me].username),
                amount,
                from: self.owners[me].iban.clone(),
                to,
                description: "simulated hold".into(),
                username: self.owners[me].username.clone(),
                expires_in,
            })
        } else {
            let placed = self.rng.pick(&self.holds);
            let (id, owner, held) = (placed.id, &self.owners[placed.owner], placed.amount);
            if self.rng.percent(30) {
                BankCommand::from(VoidHoldCommand {
                    id,
                    iban: owner.iban.clone(),
                    username: owner.username.clone(),
                    token: token_hash(&owner.username),
                })
            } else {
                // Now and then more than was held, which is refused.
                let amount =
                    1 + i64::try_from(self.rng.below(u64::try_from(held).unwrap() + 10)).unwrap();
                BankCommand::from(CaptureHoldCommand {
                    id,
                    iban: owner.iban.clone(),
                    amount,
                    username: owner.username.clone(),
                    token: token_hash(&owner.username),
                })
            }
        };
        self.note(|| format!("client sends {command:?}"));
        let key = match &command {
            BankCommand::HoldMoneyCommand(hold) => hold.from.clone(),
            BankCommand::CaptureHoldCommand(capture) => capture.iban.clone(),
            BankCommand::VoidHoldCommand(void) => void.iban.clone(),
            _ => unreachable!("a hold's command"),
        };
        self.cluster.log.produce(&key, command.clone());
        self.sent.push(command);
    }

    /// A standing order set (once, or up to three weekly or monthly runs, from now to a few
    /// seconds ahead), or one set before cancelled.
    fn client_orders(&mut self) {
        let command = if self.orders.is_empty() || self.rng.percent(75) {
            let me = self.rng.index(self.owners.len());
            let other = self.rng.index(self.owners.len());
            let id = self.new_id();
            let schedule = match self.rng.below(3) {
                0 => StandingOrderSchedule::Once,
                1 => StandingOrderSchedule::Weekly,
                _ => StandingOrderSchedule::Monthly,
            };
            self.orders.push((id, me));
            BankCommand::from(SetStandingOrderCommand {
                id,
                token: token_hash(&self.owners[me].username),
                amount: 1 + i64::try_from(self.rng.below(30_000)).unwrap(),
                from: self.owners[me].iban.clone(),
                to: self.owners[other].iban.clone(),
                description: "simulated order".into(),
                username: self.owners[me].username.clone(),
                schedule,
                first_at: self.cluster.clock + i64::try_from(self.rng.below(3_000)).unwrap(),
                runs: Some(1 + i32::try_from(self.rng.below(3)).unwrap()),
            })
        } else {
            let (id, owner) = *self.rng.pick(&self.orders);
            let owner = &self.owners[owner];
            BankCommand::from(CancelStandingOrderCommand {
                id,
                iban: owner.iban.clone(),
                username: owner.username.clone(),
                token: token_hash(&owner.username),
            })
        };
        self.note(|| format!("client sends {command:?}"));
        let key = match &command {
            BankCommand::SetStandingOrderCommand(order) => order.from.clone(),
            BankCommand::CancelStandingOrderCommand(cancel) => cancel.iban.clone(),
            _ => unreachable!("a standing order's command"),
        };
        self.cluster.log.produce(&key, command.clone());
        self.sent.push(command);
    }

    fn random_instance(&mut self) -> usize {
        self.rng.index(self.cluster.instances.len())
    }

    /// One step the scheduler picks; clients only while `clients`.
    fn step(&mut self, clients: bool) {
        let instance = self.random_instance();
        let roll = self.rng.below(100);
        match roll {
            0..=24 if clients => self.client_sends(),
            0..=79 => self.cluster.poll(instance, &mut self.rng),
            80..=82 => self.cluster.ask_again(instance),
            83..=84 => {
                // Mostly a moment, now and then days: weekly and monthly runs fall due.
                let later = if self.rng.percent(20) {
                    i64::try_from(self.rng.below(40)).unwrap() * DAY
                } else {
                    i64::try_from(self.rng.below(2_000)).unwrap()
                };
                self.cluster.clock_moves(instance, later);
            }
            85..=88 => {
                self.note(|| "rebalance".into());
                self.cluster.rebalance(&mut self.rng);
            }
            89..=91 if self.cluster.is_live(instance) => {
                self.note(|| format!("instance {instance} crashes"));
                self.cluster.crash(instance);
            }
            _ if !self.cluster.is_live(instance) => {
                self.note(|| format!("instance {instance} restarts"));
                self.cluster.restart(instance);
            }
            _ => self.cluster.poll(instance, &mut self.rng),
        }
        invariants::check_step(&self.cluster);
        if roll.is_multiple_of(8) {
            invariants::check_replay(&self.cluster);
        }
    }

    fn run(mut self) -> Run {
        while self.sent.len() < TRANSFERS as usize {
            self.step(true);
        }
        // The clients stop; crashed instances come back and the bank settles.
        for instance in 0..self.cluster.instances.len() {
            if !self.cluster.is_live(instance) {
                self.cluster.restart(instance);
            }
        }
        let mut steps = 0;
        while !self.cluster.is_settled() {
            steps += 1;
            assert!(
                steps <= MAX_SETTLING_STEPS,
                "the bank did not settle within {MAX_SETTLING_STEPS} steps"
            );
            let instance = self.random_instance();
            if !self.cluster.is_live(instance) {
                self.cluster.restart(instance);
            }
            match self.rng.below(20) {
                0 => self.cluster.ask_again(instance),
                // Time goes on until every hold has expired and every order ran its runs.
                1 => self.cluster.clock_moves(instance, 10 * DAY),
                _ => self.cluster.poll(instance, &mut self.rng),
            }
            invariants::check_step(&self.cluster);
        }
        invariants::check_replay(&self.cluster);
        invariants::check_settled(&self.cluster);
        self
    }
}

fn seeds_from_env() -> (Vec<u64>, bool) {
    if let Ok(seed) = std::env::var("SIMULATION_SEED") {
        let seed = seed.parse().expect("SIMULATION_SEED is a number");
        return (vec![seed], true);
    }
    let count = std::env::var("SIMULATION_SEEDS")
        .ok()
        .map(|count| count.parse().expect("SIMULATION_SEEDS is a number"))
        .unwrap_or(DEFAULT_SEEDS);
    (
        (0..count)
            .map(|n| n.wrapping_mul(0x5851_F42D_4C95_7F2D))
            .collect(),
        false,
    )
}

#[test]
fn every_interleaving_of_faults_keeps_the_bank_whole() {
    let (seeds, trace) = seeds_from_env();
    let started = std::time::Instant::now();
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let keep_going = std::env::var_os("SIMULATION_KEEP_GOING").is_some();
    let failed = std::sync::Mutex::new(Vec::new());
    let totals = std::sync::Mutex::new((0u64, 0u64, 0u64));
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (seeds, totals, failed) = (&seeds, &totals, &failed);
            scope.spawn(move || {
                for &seed in seeds.iter().skip(worker).step_by(workers) {
                    let outcome = std::panic::catch_unwind(|| Run::new(seed, trace).run());
                    match outcome {
                        Ok(run) => {
                            let mut totals = totals.lock().unwrap();
                            totals.0 += 1;
                            totals.1 += run.cluster.log.commits;
                            totals.2 += run.cluster.log.fenced;
                        }
                        Err(panic) => {
                            eprintln!(
                                "seed {seed} failed; replay it with its steps:\n  \
                                 SIMULATION_SEED={seed} cargo test -p command-handler --test simulation -- --nocapture"
                            );
                            if !keep_going {
                                std::panic::resume_unwind(panic);
                            }
                            failed.lock().unwrap().push(seed);
                        }
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(
        failed.is_empty(),
        "{} seeds failed: {failed:?}",
        failed.len()
    );
    let (runs, commits, fenced) = *totals.lock().unwrap();
    eprintln!(
        "simulation: {runs} seeds, {commits} transactions committed, {fenced} fenced, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
