//! The read model's history (every transaction with the alerts it fired, every finished
//! transfer's outcome) and the changes of the live data that must reach the [`Store`], wherever
//! they are on their way there.
//!
//! What the projection wrote since the last round is *pending*; the round a state store write
//! (on a thread of its own) is writing now is *in flight*; the rest is in the store. Readers
//! look in that order, so nothing is missing between a write and the end of its round's write,
//! and nothing is seen twice while a round moves on (see [`TieredHistory::walk_newest`]). Only
//! this module knows there are three places to look.
//!
//! Locking follows the read model's rules: a tier's lock is held only while copying out of it,
//! never while waiting for another tier's, except in [`TieredHistory::take_round`], which takes
//! both at once so that a reader finds a change in one of them, never in neither.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::{Bound, ControlFlow};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use topology::Id;

use super::standing_orders::RunFailure;
use super::{Transfer, TransferOutcome};
use crate::alerts::FiredAlert;
use crate::query_results::Transaction;
use crate::source::Source;
use crate::store::{Round, Store, StoreError, StoredAccount, StoredTransaction};

/// What the projection changed since the last round: the history it wrote, and which users,
/// accounts and transfers of the live data the round must persist as they stand then.
#[derive(Debug, Default)]
struct Pending {
    users: Vec<(String, String)>,
    accounts: BTreeSet<String>,
    transfers: BTreeSet<Id>,
    outcomes: HashMap<Id, TransferOutcome>,
    transactions: BTreeMap<i32, (Arc<Transaction>, Source)>,
    /// The alerts each pending transaction fired, by transaction id.
    alerts: BTreeMap<i32, Vec<FiredAlert>>,
    /// Standing orders' runs that failed, with the event they were derived from.
    run_failures: Vec<(Source, RunFailure)>,
}

/// The history in its three tiers: pending, in flight, stored.
#[derive(Debug)]
pub struct TieredHistory {
    /// Every transaction, and how every finished transfer ended.
    store: Store,
    pending: RwLock<Pending>,
    /// What a state store write (on a thread of its own) is writing now: readers look here
    /// after `pending` and before the store, so nothing is missing while it is written.
    in_flight: RwLock<Pending>,
}

impl TieredHistory {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            pending: RwLock::default(),
            in_flight: RwLock::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn pending(&self) -> RwLockReadGuard<'_, Pending> {
        self.pending.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn pending_mut(&self) -> RwLockWriteGuard<'_, Pending> {
        self.pending.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn in_flight(&self) -> RwLockReadGuard<'_, Pending> {
        self.in_flight
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn in_flight_mut(&self) -> RwLockWriteGuard<'_, Pending> {
        self.in_flight
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    // ---- writes: only the projection calls these ----

    /// A user created, or their password changed.
    pub fn record_user(&self, username: &str, password_hash: &str) {
        self.pending_mut()
            .users
            .push((username.to_string(), password_hash.to_string()));
    }

    /// Something of account `iban` changed: the round stores it as it stands then.
    pub fn record_account(&self, iban: &str) {
        self.pending_mut().accounts.insert(iban.to_string());
    }

    /// Transfer `id` started or changed: the round stores it as it stands then (gone once
    /// finished).
    pub fn record_transfer(&self, id: &Id) {
        self.pending_mut().transfers.insert(*id);
    }

    /// Transfer `id` is finished, with `outcome`.
    pub fn record_outcome(&self, id: &Id, outcome: TransferOutcome) {
        let mut pending = self.pending_mut();
        pending.transfers.insert(*id);
        pending.outcomes.insert(*id, outcome);
    }

    /// `transaction`, derived from the record at `source`, with the alerts it fired.
    pub fn record_transaction(
        &self,
        transaction: Arc<Transaction>,
        source: Source,
        alerts: Vec<FiredAlert>,
    ) {
        let mut pending = self.pending_mut();
        if !alerts.is_empty() {
            pending.alerts.insert(transaction.id, alerts);
        }
        pending
            .transactions
            .insert(transaction.id, (transaction, source));
    }

    /// A standing order's run failed, by the event at `source`: kept until its alert is out.
    pub fn record_run_failure(&self, source: Source, failure: RunFailure) {
        self.pending_mut().run_failures.push((source, failure));
    }

    // ---- the round: pending → in flight → stored ----

    /// What changed since the last round, as a round to write to the store with the
    /// `positions` and transaction ids `issued` it reflects; each changed account and transfer
    /// as `stored_account` and `transfer` give it now. Readers go on seeing the round, as in
    /// flight, until [`Self::written`].
    pub fn take_round(
        &self,
        positions: Vec<(String, i32, i64)>,
        issued: Vec<(i32, i64)>,
        stored_account: impl Fn(&str) -> Option<StoredAccount>,
        transfer: impl Fn(&Id) -> Option<Transfer>,
    ) -> Round {
        // The live data is read under pending's read lock: only the projection, which is the
        // caller, writes pending, and no reader waits for pending while holding a map.
        let round = {
            let pending = self.pending();
            Round {
                users: pending.users.clone(),
                accounts: pending
                    .accounts
                    .iter()
                    .filter_map(|iban| Some((iban.clone(), stored_account(iban)?)))
                    .collect(),
                transfers: pending
                    .transfers
                    .iter()
                    .map(|id| (*id, transfer(id)))
                    .collect(),
                outcomes: pending
                    .outcomes
                    .iter()
                    .map(|(id, outcome)| (*id, outcome.clone()))
                    .collect(),
                transactions: pending
                    .transactions
                    .values()
                    .map(|(transaction, source)| StoredTransaction {
                        transaction: Transaction::clone(transaction),
                        source: *source,
                        alerts: pending
                            .alerts
                            .get(&transaction.id)
                            .cloned()
                            .unwrap_or_default(),
                    })
                    .collect(),
                run_failures: pending.run_failures.clone(),
                positions,
                issued,
            }
        };
        // Both locks at once: a reader finds a change in one of them, never in neither.
        let mut pending = self.pending_mut();
        let mut in_flight = self.in_flight_mut();
        *in_flight = std::mem::take(&mut *pending);
        round
    }

    /// The round of [`Self::take_round`] is in the store.
    pub fn written(&self) {
        *self.in_flight_mut() = Pending::default();
    }

    // ---- reads: safe from any thread, concurrently with the projection ----

    /// How finished transfer `id` ended; `None` for one not finished (or unknown).
    pub fn outcome(&self, id: &Id) -> Option<TransferOutcome> {
        if let Some(outcome) = self.pending().outcomes.get(id) {
            return Some(outcome.clone());
        }
        if let Some(outcome) = self.in_flight().outcomes.get(id) {
            return Some(outcome.clone());
        }
        stored(self.store.outcome(id))
    }

    pub fn transaction(&self, id: i32) -> Option<Arc<Transaction>> {
        if let Some((transaction, _)) = self.pending().transactions.get(&id) {
            return Some(Arc::clone(transaction));
        }
        if let Some((transaction, _)) = self.in_flight().transactions.get(&id) {
            return Some(Arc::clone(transaction));
        }
        stored(self.store.transaction(id)).map(|stored| Arc::new(stored.transaction))
    }

    /// Visits the transactions of `iban` newest first until `visit` breaks: the pending ones
    /// are newer than those in flight, and those newer than every stored one (an IBAN's
    /// transactions follow one partition's order, and so do their ids). A round may move on
    /// while this reads, so each later tier only adds what is older than everything visited
    /// so far. The store is read one transaction at a time, only as far as `visit` goes.
    /// With `below`, the walk starts under that transaction id.
    pub fn walk_newest(
        &self,
        iban: &str,
        below: Option<i32>,
        visit: &mut dyn FnMut(&Arc<Transaction>) -> ControlFlow<()>,
    ) {
        let upper = below.map_or(Bound::Unbounded, Bound::Excluded);
        let of_iban = |pending: &Pending| -> Vec<Arc<Transaction>> {
            pending
                .transactions
                .range((Bound::Unbounded, upper))
                .rev()
                .filter(|(_, (transaction, _))| transaction.iban == iban)
                .map(|(_, (transaction, _))| Arc::clone(transaction))
                .collect()
        };
        let mut oldest_seen: Option<i32> = None;
        let mut older_then_visit = |transaction: &Arc<Transaction>| {
            if oldest_seen.is_some_and(|oldest| transaction.id >= oldest) {
                return ControlFlow::Continue(());
            }
            oldest_seen = Some(transaction.id);
            visit(transaction)
        };
        let pending = of_iban(&self.pending());
        let in_flight = of_iban(&self.in_flight());
        for transaction in pending.iter().chain(&in_flight) {
            if older_then_visit(transaction).is_break() {
                return;
            }
        }
        if let Err(error) = self.store.walk_newest(iban, below, &mut older_then_visit) {
            tracing::error!(%error, "reading the state store");
        }
    }
}

/// A store read; a failure is logged and answers as if nothing were stored.
fn stored<T>(read: Result<Option<T>, StoreError>) -> Option<T> {
    read.unwrap_or_else(|error| {
        tracing::error!(%error, "reading the state store");
        None
    })
}
