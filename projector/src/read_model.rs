//! The read models, each a concurrent map shaped for the queries that read it.
//!
//! One writer (the projection, see [`crate::projection`]) and many concurrent readers (the
//! query handlers) share one [`ReadModel`] through an `Arc`. Two rules keep that safe:
//!
//! - no method holds a guard of one map while touching another map, or another key of the same
//!   map: DashMap locks shards, and a reader holding shard A while waiting for shard B against a
//!   writer doing the opposite would deadlock;
//! - readers copy out what they need (an account, a few `Arc`s) and drop the guard before
//!   serializing, so a slow query never stalls the projection.
//!
//! The price is that a query may see one map a moment ahead of another (a transaction by id
//! before it is in its IBAN's list); an eventually consistent read side allows that.
//!
//! Memory holds the live data: users, accounts, transfers in progress and each account's newest
//! transaction. History (every transaction, every finished transfer's outcome) lives in the
//! [`Store`]: what the projection wrote this round waits in [`Pending`], where readers see it
//! at once, and [`ReadModel::flush`] writes the round to the store with the offsets it
//! reflects.
//!
//! The list of every account (`AllBankAccountsQuery`) reads an [`AccountIndex`] of IBANs with
//! their owners' usernames, kept up to date by the writes, so a page of it neither sorts nor
//! copies every account. Its lock follows the first rule like a map: it is never held while a
//! map is touched.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use topology::Id;

use crate::account_index::{AccountIndex, AccountSearch};
use crate::alerts::{AlertRules, FiredAlert, Kind};
use crate::query_results::{Account, ListedAccount, Owner, Transaction, TransferState};
use crate::source::Source;
use crate::store::{Restored, Round, Store, StoreError, StoredAccount, StoredTransaction};

/// The usernames of an account's owners, in order: what may be shown of them to anyone.
fn usernames(account: &Account) -> Vec<String> {
    account
        .owners
        .iter()
        .map(|owner| owner.username.clone())
        .collect()
}

/// What a money event needs from the transfer that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub from: String,
    pub to: String,
    pub description: String,
    /// The transaction of this transfer's debit: a later return's description names it.
    pub debit_transaction_id: Option<i32>,
    /// Who started it: the one customer who may ask how it stands.
    pub initiator: String,
}

/// How a transfer stands, why it failed, and who started it (None for a transfer whose start
/// was not projected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOutcome {
    pub state: TransferState,
    pub reason: Option<String>,
    pub initiator: Option<String>,
}

/// What the projection changed since the last [`ReadModel::flush`]: readers look here before
/// the store, so nothing is missing between a write and its flush.
#[derive(Debug, Default)]
struct Pending {
    users: Vec<(String, String)>,
    accounts: BTreeSet<String>,
    transfers: BTreeSet<Id>,
    outcomes: HashMap<Id, TransferOutcome>,
    transactions: BTreeMap<i32, (Arc<Transaction>, Source)>,
    /// The alerts each pending transaction fired, by transaction id.
    alerts: BTreeMap<i32, Vec<FiredAlert>>,
}

/// Every read model of the projector.
#[derive(Debug)]
pub struct ReadModel {
    /// username → password hash.
    users: DashMap<String, String>,
    /// IBAN → account (balance, limit, owners with tokens).
    accounts: DashMap<String, Account>,
    /// username → IBANs the user owns, each with the event that made the user owner, sorted by
    /// that event's [`Source`]: the order the user became owner, the same at every replay
    /// although the accounts may live in different partitions. A user without accounts has no
    /// entry.
    accounts_by_user: DashMap<String, Vec<(Source, String)>>,
    /// Transfers still in progress, by transfer id.
    transfers: DashMap<Id, Transfer>,
    /// IBAN → its newest transaction, so "last of every IBAN" never reads history.
    last_transactions: DashMap<String, Arc<Transaction>>,
    /// IBAN → its alert rules as they stand after the last projected event of its partition.
    alert_rules: DashMap<String, AlertRules>,
    /// IBAN → when its `BankAccountCreatedEvent` was written, in milliseconds.
    opened_at: DashMap<String, i64>,
    /// Every IBAN of `accounts` with the usernames of its owners (no tokens), sorted and
    /// searchable: what the list of every account pages through.
    account_index: RwLock<AccountIndex>,
    /// Every transaction, and how every finished transfer ended.
    store: Store,
    pending: RwLock<Pending>,
    /// What a state store write (on a thread of its own) is writing now: readers look here
    /// after `pending` and before the store, so nothing is missing while it is written.
    in_flight: RwLock<Pending>,
    transaction_count: AtomicUsize,
}

impl Default for ReadModel {
    fn default() -> Self {
        Self::new()
    }
}

/// A page of the accounts a search keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    /// How many accounts the search keeps, on all pages together.
    pub total: usize,
    /// At most `max_items` of them, sorted by IBAN, from position `offset` on.
    pub accounts: Vec<ListedAccount>,
}

impl ReadModel {
    /// A model whose history lives in memory, for as long as the process.
    pub fn new() -> Self {
        // Creating an in-memory database touches no file; only a bug could make it fail.
        let store = Store::in_memory().unwrap_or_else(|error| panic!("in-memory store: {error}"));
        Self::with_store(store)
    }

    /// A model over `store`, empty: what the store holds is added with [`Self::restore`].
    pub fn with_store(store: Store) -> Self {
        Self {
            users: DashMap::new(),
            accounts: DashMap::new(),
            accounts_by_user: DashMap::new(),
            transfers: DashMap::new(),
            last_transactions: DashMap::new(),
            alert_rules: DashMap::new(),
            opened_at: DashMap::new(),
            account_index: RwLock::default(),
            store,
            pending: RwLock::default(),
            in_flight: RwLock::default(),
            transaction_count: AtomicUsize::new(0),
        }
    }

    /// Loads the live data a store on disk holds; before any projection.
    pub fn restore(&self, restored: Restored) {
        for (username, hash) in restored.users {
            self.users.insert(username, hash);
        }
        let mut index = self.write_index();
        for (iban, stored) in restored.accounts {
            for (owner, since) in stored.account.owners.iter().zip(&stored.since) {
                self.accounts_by_user
                    .entry(owner.username.clone())
                    .or_default()
                    .push((*since, iban.clone()));
            }
            index.insert(&iban);
            index.set_owners(&iban, &usernames(&stored.account));
            if !stored.rules.is_empty() {
                self.alert_rules.insert(iban.clone(), stored.rules);
            }
            if let Some(opened_at) = stored.opened_at {
                self.opened_at.insert(iban.clone(), opened_at);
            }
            self.accounts.insert(iban, stored.account);
        }
        drop(index);
        for mut owned in self.accounts_by_user.iter_mut() {
            owned.sort();
        }
        for (id, transfer) in restored.transfers {
            self.transfers.insert(id, transfer);
        }
        for transaction in restored.last_transactions {
            self.last_transactions
                .insert(transaction.iban.clone(), Arc::new(transaction));
        }
        let issued: i64 = restored.issued.values().sum();
        self.transaction_count
            .store(usize::try_from(issued).unwrap_or(0), Ordering::Relaxed);
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

    /// What changed since the last round, as a round to write to the store with the
    /// `positions` (topic, partition, next offset) and transaction ids `issued` (partition,
    /// count) it reflects. Readers go on seeing it, as in flight, until [`Self::written`].
    /// Only the projection thread calls it, after the previous round was written.
    pub fn take_round(&self, positions: Vec<(String, i32, i64)>, issued: Vec<(i32, i64)>) -> Round {
        let round = {
            let pending = self.pending();
            Round {
                users: pending.users.clone(),
                accounts: pending
                    .accounts
                    .iter()
                    .filter_map(|iban| Some((iban.clone(), self.stored_account(iban)?)))
                    .collect(),
                transfers: pending
                    .transfers
                    .iter()
                    .map(|id| (*id, self.transfer(id)))
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
                positions,
                issued,
            }
        };
        // Both locks at once: a reader finds a change in one of them, never in neither.
        let mut pending = self.pending_mut();
        let mut in_flight = self
            .in_flight
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *in_flight = std::mem::take(&mut *pending);
        round
    }

    /// The round of [`Self::take_round`] is in the store.
    pub fn written(&self) {
        *self
            .in_flight
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Pending::default();
    }

    fn stored_account(&self, iban: &str) -> Option<StoredAccount> {
        let account = self.account(iban)?;
        let since = account
            .owners
            .iter()
            .map(|owner| {
                self.accounts_by_user
                    .get(&owner.username)
                    .and_then(|owned| {
                        owned
                            .iter()
                            .find(|(_, owned)| owned == iban)
                            .map(|(since, _)| *since)
                    })
                    .unwrap_or(Source::at(0, 0))
            })
            .collect();
        Some(StoredAccount {
            account,
            since,
            rules: self.alert_rules(iban),
            opened_at: self.opened_at(iban),
        })
    }

    // ---- reads: safe from any thread, concurrently with the projection ----

    /// The stored password hash of `username`.
    pub fn password_hash(&self, username: &str) -> Option<String> {
        self.users.get(username).map(|hash| hash.value().clone())
    }

    pub fn account(&self, iban: &str) -> Option<Account> {
        self.accounts
            .get(iban)
            .map(|account| account.value().clone())
    }

    /// The IBANs `username` owns, in the order the user became owner (by [`Source`]).
    pub fn ibans_of_user(&self, username: &str) -> Vec<String> {
        self.accounts_by_user
            .get(username)
            .map(|owned| owned.iter().map(|(_, iban)| iban.clone()).collect())
            .unwrap_or_default()
    }

    /// How transfer `id` stands, and why it failed.
    pub fn transfer_outcome(&self, id: &Id) -> Option<TransferOutcome> {
        if let Some(outcome) = self.pending().outcomes.get(id) {
            return Some(outcome.clone());
        }
        if let Some(outcome) = self.in_flight().outcomes.get(id) {
            return Some(outcome.clone());
        }
        if let Some(outcome) = self.stored(self.store.outcome(id)) {
            return Some(outcome);
        }
        self.transfers.get(id).map(|transfer| TransferOutcome {
            state: TransferState::Started,
            reason: None,
            initiator: Some(transfer.initiator.clone()),
        })
    }

    /// A store read; a failure is logged and answers as if nothing were stored.
    fn stored<T>(&self, read: Result<Option<T>, StoreError>) -> Option<T> {
        read.unwrap_or_else(|error| {
            tracing::error!(%error, "reading the state store");
            None
        })
    }

    /// A transfer that is started but not yet completed or failed.
    pub fn transfer(&self, id: &Id) -> Option<Transfer> {
        self.transfers
            .get(id)
            .map(|transfer| transfer.value().clone())
    }

    pub fn transaction(&self, id: i32) -> Option<Arc<Transaction>> {
        if let Some((transaction, _)) = self.pending().transactions.get(&id) {
            return Some(Arc::clone(transaction));
        }
        if let Some((transaction, _)) = self.in_flight().transactions.get(&id) {
            return Some(Arc::clone(transaction));
        }
        self.stored(self.store.transaction(id))
            .map(|stored| Arc::new(stored.transaction))
    }

    /// At most `max_items` transactions of `iban`, newest first (see [`Self::walk_newest`]).
    pub fn newest_transactions(&self, iban: &str, max_items: usize) -> Vec<Arc<Transaction>> {
        let mut newest = Vec::new();
        if max_items == 0 {
            return newest;
        }
        self.walk_newest(iban, &mut |transaction| {
            newest.push(Arc::clone(transaction));
            if newest.len() < max_items {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
        newest
    }

    /// Visits the transactions of `iban` newest first until `visit` breaks: the pending ones
    /// are newer than those in flight, and those newer than every stored one (an IBAN's
    /// transactions follow one partition's order, and so do their ids). A round may move on
    /// while this reads, so each later source only adds what is older than everything visited
    /// so far. The store is read one transaction at a time, only as far as `visit` goes.
    pub fn walk_newest(
        &self,
        iban: &str,
        visit: &mut dyn FnMut(&Arc<Transaction>) -> ControlFlow<()>,
    ) {
        let of_iban = |pending: &Pending| -> Vec<Arc<Transaction>> {
            pending
                .transactions
                .values()
                .rev()
                .filter(|(transaction, _)| transaction.iban == iban)
                .map(|(transaction, _)| Arc::clone(transaction))
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
        if let Err(error) = self.store.walk_newest(iban, &mut older_then_visit) {
            tracing::error!(%error, "reading the state store");
        }
    }

    /// The alerts `transaction` fires under the rules of its account as they stand now; judged
    /// in place (no copy of the rules per money event), touching no other map meanwhile.
    pub(crate) fn judge(&self, transaction: &Transaction) -> Vec<FiredAlert> {
        self.alert_rules
            .get(&transaction.iban)
            .map(|rules| rules.judge(transaction))
            .unwrap_or_default()
    }

    /// The alert rules of `iban` (none for an unknown account).
    pub fn alert_rules(&self, iban: &str) -> AlertRules {
        self.alert_rules
            .get(iban)
            .map(|rules| rules.value().clone())
            .unwrap_or_default()
    }

    /// When `iban` was opened, in milliseconds; `None` when its creation record had no time.
    pub fn opened_at(&self, iban: &str) -> Option<i64> {
        self.opened_at.get(iban).map(|at| *at.value())
    }

    /// The newest transaction of every IBAN that has one, sorted by IBAN.
    pub fn last_transactions(&self) -> Vec<Arc<Transaction>> {
        let mut last: Vec<Arc<Transaction>> = self
            .last_transactions
            .iter()
            .map(|entry| Arc::clone(entry.value()))
            .collect();
        // DashMap iterates in hash order; IBANs are unique keys, so an unstable sort is exact.
        last.sort_unstable_by(|a, b| a.iban.cmp(&b.iban));
        last
    }

    /// The accounts `search` keeps (every account without one), sorted by IBAN: how many
    /// there are, and at most `max_items` of them from position `offset` on (none past the end).
    ///
    /// The index lock is held only while the index is read; the balances of the page are read
    /// after it is released.
    pub fn accounts_page(
        &self,
        search: Option<&AccountSearch>,
        offset: usize,
        max_items: usize,
    ) -> AccountPage {
        let page = self
            .account_index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .page(search, offset, max_items);
        let accounts = page
            .ibans
            .into_iter()
            .map(|iban| {
                // The index is written after the map, so its IBANs are in the map already.
                let (balance, owners) = self
                    .accounts
                    .get(&iban)
                    .map(|account| (account.balance, usernames(&account)))
                    .unwrap_or_default();
                ListedAccount {
                    iban,
                    balance,
                    owners,
                }
            })
            .collect();
        AccountPage {
            total: page.total,
            accounts,
        }
    }

    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    pub fn transaction_count(&self) -> usize {
        self.transaction_count.load(Ordering::Relaxed)
    }

    // ---- writes: only the single projection thread calls these ----

    /// The first creation of a username wins, as the command handler refuses a second one.
    pub(crate) fn create_user(&self, username: &str, password_hash: &str) {
        if self.users.contains_key(username) {
            return;
        }
        self.users
            .insert(username.to_string(), password_hash.to_string());
        self.pending_mut()
            .users
            .push((username.to_string(), password_hash.to_string()));
    }

    /// A known user's new password hash (the command handler changes only existing users').
    pub(crate) fn change_password(&self, username: &str, password_hash: &str) {
        let Some(mut stored) = self.users.get_mut(username) else {
            return;
        };
        *stored = password_hash.to_string();
        drop(stored);
        self.pending_mut()
            .users
            .push((username.to_string(), password_hash.to_string()));
    }

    /// Adds `owner` to `iban` by the event at `since`, creating the account when it is new. An
    /// existing owner gets the new token hash and nonce and keeps its place.
    pub(crate) fn add_owner(&self, iban: &str, owner: Owner, since: Source) {
        let username = owner.username.clone();
        let username = username.as_str();
        let owners = {
            let mut account = self
                .accounts
                .entry(iban.to_string())
                .or_insert_with(|| Account::new(iban));
            match account.owners.iter_mut().find(|o| o.username == username) {
                Some(known) => *known = owner,
                None => account.owners.push(owner),
            }
            usernames(&account)
        };
        {
            let mut owned = self
                .accounts_by_user
                .entry(username.to_string())
                .or_default();
            if !owned.iter().any(|(_, owned)| owned == iban) {
                // Events of other partitions may be read later yet be older: insert in place.
                let at = owned.partition_point(|(earlier, _)| *earlier <= since);
                owned.insert(at, (since, iban.to_string()));
            }
        }
        self.write_index().set_owners(iban, &owners);
        self.pending_mut().accounts.insert(iban.to_string());
    }

    /// The account itself stays: its balance and transactions remain queryable.
    pub(crate) fn remove_owner(&self, iban: &str, username: &str) {
        let owners = self.accounts.get_mut(iban).map(|mut account| {
            account.owners.retain(|owner| owner.username != username);
            usernames(&account)
        });
        if let Some(mut owned) = self.accounts_by_user.get_mut(username) {
            owned.retain(|(_, owned)| owned != iban);
        }
        self.accounts_by_user
            .remove_if(username, |_, owned| owned.is_empty());
        if let Some(owners) = owners {
            self.write_index().set_owners(iban, &owners);
            self.pending_mut().accounts.insert(iban.to_string());
        }
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, AccountIndex> {
        self.account_index
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The first start of a transfer id wins, as the command handler refuses a second one.
    pub(crate) fn start_transfer(&self, id: Id, transfer: Transfer) {
        if self.transfers.contains_key(&id) {
            return;
        }
        self.transfers.insert(id, transfer);
        self.pending_mut().transfers.insert(id);
    }

    pub(crate) fn remember_debit(&self, id: &Id, transaction_id: i32) {
        if let Some(mut transfer) = self.transfers.get_mut(id) {
            transfer.debit_transaction_id = Some(transaction_id);
        }
        self.pending_mut().transfers.insert(*id);
    }

    /// Once a transfer is completed or failed no money event that needs it comes any more: the
    /// saga writes a transfer's debit and return before its final event, all in the transfer's
    /// home partition. Its credit may come later (another partition) but carries what it needs.
    pub(crate) fn finish_transfer(&self, id: &Id, state: TransferState, reason: Option<String>) {
        let initiator = self.transfers.remove(id).map(|(_, t)| t.initiator);
        let mut pending = self.pending_mut();
        pending.transfers.insert(*id);
        let outcome = TransferOutcome {
            state,
            reason,
            initiator,
        };
        pending.outcomes.insert(*id, outcome);
    }

    /// Changes the balance of `iban` by `change` and returns the new balance. An IBAN never
    /// created gets an account without owners: the event is a fact even if its account's
    /// creation is missing from the log.
    pub(crate) fn change_balance(&self, iban: &str, change: i64) -> i64 {
        let mut created = false;
        let balance = {
            let mut account = self.accounts.entry(iban.to_string()).or_insert_with(|| {
                created = true;
                Account::new(iban)
            });
            // Saturating: a malformed amount must not panic the projector.
            account.balance = account.balance.saturating_add(change);
            account.balance
        };
        if created {
            self.write_index().insert(iban);
        }
        self.pending_mut().accounts.insert(iban.to_string());
        balance
    }

    /// Remembers when `iban` was opened; a duplicated creation keeps the first time.
    pub(crate) fn open_account(&self, iban: &str, source: Source) {
        if let Some(at) = source.timestamp_ms {
            self.opened_at.entry(iban.to_string()).or_insert(at);
            self.pending_mut().accounts.insert(iban.to_string());
        }
    }

    pub(crate) fn set_alert_rule(&self, iban: &str, kind: Kind, threshold: Option<i64>) {
        self.alert_rules
            .entry(iban.to_string())
            .or_default()
            .set(kind, threshold);
        self.pending_mut().accounts.insert(iban.to_string());
    }

    pub(crate) fn remove_alert_rule(&self, iban: &str, kind: Kind) {
        if let Some(mut rules) = self.alert_rules.get_mut(iban) {
            rules.remove(kind);
        }
        self.alert_rules
            .remove_if(iban, |_, rules| rules.is_empty());
        self.pending_mut().accounts.insert(iban.to_string());
    }

    /// Adds the transaction derived from the record at `source`, with the alerts it fired.
    pub(crate) fn append_transaction(
        &self,
        transaction: Transaction,
        source: Source,
        alerts: Vec<FiredAlert>,
    ) {
        let transaction = Arc::new(transaction);
        let mut pending = self.pending_mut();
        if !alerts.is_empty() {
            pending.alerts.insert(transaction.id, alerts);
        }
        pending
            .transactions
            .insert(transaction.id, (Arc::clone(&transaction), source));
        drop(pending);
        self.last_transactions
            .insert(transaction.iban.clone(), transaction);
        self.transaction_count.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transaction(id: i32, iban: &str) -> Transaction {
        Transaction {
            id,
            iban: iban.into(),
            new_balance: i64::from(id),
            changed_by: 1,
            from_to: "cash".into(),
            description: String::new(),
            at_millis: None,
        }
    }

    fn owner(username: &str, token_hash: &str) -> Owner {
        Owner {
            username: username.into(),
            token_hash: token_hash.into(),
            token_nonce: None,
        }
    }

    #[test]
    fn owners_keep_their_order_and_a_re_added_owner_keeps_its_place() {
        let model = ReadModel::new();
        model.add_owner("A", owner("alice", "t1"), Source::at(0, 0));
        model.add_owner("A", owner("bob", "t2"), Source::at(0, 1));
        model.add_owner("A", owner("alice", "t3"), Source::at(0, 2));
        let owners: Vec<(String, String)> = model
            .account("A")
            .unwrap()
            .owners
            .into_iter()
            .map(|o| (o.username, o.token_hash))
            .collect();
        assert_eq!(
            owners,
            [("alice".into(), "t3".into()), ("bob".into(), "t2".into())]
        );
        assert_eq!(model.ibans_of_user("alice"), ["A"]);
    }

    #[test]
    fn a_user_without_accounts_leaves_no_entry() {
        let model = ReadModel::new();
        model.add_owner("A", owner("alice", "t"), Source::at(0, 0));
        model.remove_owner("A", "alice");
        assert!(model.ibans_of_user("alice").is_empty());
        assert!(model.accounts_by_user.is_empty());
        assert!(model.account("A").unwrap().owners.is_empty());
    }

    #[test]
    fn transactions_are_shared_not_copied() {
        let model = ReadModel::new();
        model.append_transaction(transaction(1, "A"), Source::at(0, 0), Vec::new());
        let by_id = model.transaction(1).unwrap();
        let newest = model.newest_transactions("A", 10);
        assert!(Arc::ptr_eq(&by_id, &newest[0]));
        assert!(Arc::ptr_eq(&by_id, &model.last_transactions()[0]));
    }

    #[test]
    fn newest_transactions_walk_backwards_and_stop_at_max() {
        let model = ReadModel::new();
        for id in 1..=5 {
            model.append_transaction(
                transaction(id, "A"),
                Source::at(0, i64::from(id)),
                Vec::new(),
            );
        }
        let ids: Vec<i32> = model
            .newest_transactions("A", 3)
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, [5, 4, 3]);
        assert!(model.newest_transactions("B", 3).is_empty());
    }

    #[test]
    fn a_round_on_its_way_to_the_store_is_read_once_from_wherever_it_is() {
        let model = ReadModel::new();
        let ids = |model: &ReadModel| -> Vec<i32> {
            model
                .newest_transactions("A", 10)
                .iter()
                .map(|t| t.id)
                .collect()
        };
        for id in 1..=3 {
            model.append_transaction(
                transaction(id, "A"),
                Source::at(0, i64::from(id)),
                Vec::new(),
            );
        }
        let round = model.take_round(Vec::new(), Vec::new());
        for id in 4..=5 {
            model.append_transaction(
                transaction(id, "A"),
                Source::at(0, i64::from(id)),
                Vec::new(),
            );
        }
        assert_eq!(ids(&model), [5, 4, 3, 2, 1], "pending, then in flight");
        model.store().write(&round, false).unwrap();
        assert_eq!(ids(&model), [5, 4, 3, 2, 1], "in flight and stored: once");
        model.written();
        assert_eq!(ids(&model), [5, 4, 3, 2, 1], "pending, then stored");
        assert_eq!(model.transaction(2).map(|t| t.id), Some(2));
        assert_eq!(model.newest_transactions("A", 2).len(), 2);
    }

    fn listed(page: &AccountPage) -> Vec<(&str, i64, Vec<&str>)> {
        page.accounts
            .iter()
            .map(|a| {
                let owners = a.owners.iter().map(String::as_str).collect();
                (a.iban.as_str(), a.balance, owners)
            })
            .collect()
    }

    #[test]
    fn the_account_index_follows_owners_and_accounts_without_owners() {
        let model = ReadModel::new();
        model.add_owner("B", owner("bob", "t1"), Source::at(0, 0));
        model.add_owner("A", owner("alice", "t2"), Source::at(0, 1));
        model.add_owner("B", owner("alice", "t3"), Source::at(0, 2));
        model.add_owner("B", owner("bob", "t4"), Source::at(0, 3));
        model.change_balance("B", 250);
        model.change_balance("C", -5);
        model.remove_owner("A", "alice");
        let all = model.accounts_page(None, 0, 10);
        assert_eq!(all.total, 3);
        assert_eq!(
            listed(&all),
            [
                ("A", 0, vec![]),
                ("B", 250, vec!["bob", "alice"]),
                ("C", -5, vec![])
            ]
        );
        assert_eq!(
            listed(&model.accounts_page(None, 1, 1)),
            [("B", 250, vec!["bob", "alice"])]
        );
        let past_the_end = model.accounts_page(None, 3, 10);
        assert_eq!((past_the_end.total, past_the_end.accounts.len()), (3, 0));
        let alice = AccountSearch::new(Some("alice"));
        let filtered = model.accounts_page(alice.as_ref(), 0, 10);
        assert_eq!(
            (filtered.total, listed(&filtered)),
            (1, vec![("B", 250, vec!["bob", "alice"])])
        );
        assert_eq!(model.account_count(), 3);
    }

    #[test]
    fn a_users_accounts_are_in_the_order_of_their_sources_whatever_the_reading_order() {
        let model = ReadModel::new();
        // Read partition 7 first, although its event was written later.
        model.add_owner("B", owner("alice", "t"), Source::written(7, 0, Some(2_000)));
        model.add_owner("C", owner("alice", "t"), Source::written(3, 0, Some(3_000)));
        model.add_owner("A", owner("alice", "t"), Source::written(5, 0, Some(1_000)));
        model.add_owner("D", owner("alice", "t"), Source::written(2, 0, Some(2_000)));
        assert_eq!(model.ibans_of_user("alice"), ["A", "D", "B", "C"]);
        model.remove_owner("D", "alice");
        model.add_owner("D", owner("alice", "t"), Source::written(2, 1, Some(4_000)));
        assert_eq!(model.ibans_of_user("alice"), ["A", "B", "C", "D"]);
    }

    #[test]
    fn first_user_creation_wins() {
        let model = ReadModel::new();
        model.create_user("alice", "h1");
        model.create_user("alice", "h2");
        assert_eq!(model.password_hash("alice").as_deref(), Some("h1"));
        assert_eq!(model.password_hash("bob"), None);
    }
}
