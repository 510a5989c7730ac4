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
//! [`Store`], behind a `TieredHistory` (`read_model/tiered_history.rs`): readers see what the
//! projection wrote at once, and [`ReadModel::take_round`] hands it to a state store write with
//! the offsets it reflects. Whether a piece of history is still in memory or already stored is
//! that module's concern alone; its locks follow the rules above.
//!
//! The list of every account (`AllBankAccountsQuery`) reads an [`AccountIndex`] of IBANs with
//! their owners' usernames, kept up to date by the writes, so a page of it neither sorts nor
//! copies every account. Its lock follows the first rule like a map: it is never held while a
//! map is touched.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use topology::{Id, StandingOrderRunFailedEvent};

use crate::account_index::{AccountIndex, AccountSearch};
use crate::alerts::{AlertRules, FiredAlert, Kind};
use crate::query_results::{Account, ListedAccount, Owner, Transaction, TransferState};
use crate::source::Source;
use crate::store::{Restored, Round, Store, StoredAccount};

mod holds;
mod standing_orders;
mod tiered_history;

pub use standing_orders::RunFailure;

use tiered_history::TieredHistory;

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
    /// The standing order it is a run of, and its amount: a failure is shown on the account.
    pub standing_order: Option<(String, i64)>,
}

/// How a transfer stands, why it failed, and who started it (None for a transfer whose start
/// was not projected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOutcome {
    pub state: TransferState,
    pub reason: Option<String>,
    pub initiator: Option<String>,
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
    /// Every transaction and how every finished transfer ended, with which of the maps above
    /// changed since the last round.
    history: TieredHistory,
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
            history: TieredHistory::new(store),
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
        self.history.store()
    }

    /// What changed since the last round, as a round to write to the store with the
    /// `positions` (topic, partition, next offset) and transaction ids `issued` (partition,
    /// count) it reflects. Readers go on seeing it, as in flight, until [`Self::written`].
    /// Only the projection thread calls it, after the previous round was written.
    pub fn take_round(&self, positions: Vec<(String, i32, i64)>, issued: Vec<(i32, i64)>) -> Round {
        self.history.take_round(
            positions,
            issued,
            |iban| self.stored_account(iban),
            |id| self.transfer(id),
        )
    }

    /// The round of [`Self::take_round`] is in the store.
    pub fn written(&self) {
        self.history.written();
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
        if let Some(outcome) = self.history.outcome(id) {
            return Some(outcome);
        }
        self.transfers.get(id).map(|transfer| TransferOutcome {
            state: TransferState::Started,
            reason: None,
            initiator: Some(transfer.initiator.clone()),
        })
    }

    /// A transfer that is started but not yet completed or failed.
    pub fn transfer(&self, id: &Id) -> Option<Transfer> {
        self.transfers
            .get(id)
            .map(|transfer| transfer.value().clone())
    }

    pub fn transaction(&self, id: i32) -> Option<Arc<Transaction>> {
        self.history.transaction(id)
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

    /// Visits the transactions of `iban` newest first until `visit` breaks, each once; the
    /// store is read only as far as `visit` goes.
    pub fn walk_newest(
        &self,
        iban: &str,
        visit: &mut dyn FnMut(&Arc<Transaction>) -> ControlFlow<()>,
    ) {
        self.history.walk_newest(iban, None, visit);
    }

    /// [`Self::walk_newest`] from the newest transaction older than transaction `below` on
    /// (all of them for `None`): where the page before ended.
    pub fn walk_below(
        &self,
        iban: &str,
        below: Option<i32>,
        visit: &mut dyn FnMut(&Arc<Transaction>) -> ControlFlow<()>,
    ) {
        self.history.walk_newest(iban, below, visit);
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
        self.history.record_user(username, password_hash);
    }

    /// A known user's new password hash (the command handler changes only existing users').
    pub(crate) fn change_password(&self, username: &str, password_hash: &str) {
        let Some(mut stored) = self.users.get_mut(username) else {
            return;
        };
        *stored = password_hash.to_string();
        drop(stored);
        self.history.record_user(username, password_hash);
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
        self.history.record_account(iban);
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
            self.history.record_account(iban);
        }
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, AccountIndex> {
        self.account_index
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The first start of a transfer id wins, as the command handler refuses a second one.
    pub(crate) fn start_transfer(&self, id: Id, mut transfer: Transfer) {
        if self.transfers.contains_key(&id) {
            return;
        }
        transfer.standing_order = self.run_of(&transfer.from, id);
        self.transfers.insert(id, transfer);
        self.history.record_transfer(&id);
    }

    pub(crate) fn remember_debit(&self, id: &Id, transaction_id: i32) {
        if let Some(mut transfer) = self.transfers.get_mut(id) {
            transfer.debit_transaction_id = Some(transaction_id);
        }
        self.history.record_transfer(id);
    }

    /// Once a transfer is completed or failed no money event that needs it comes any more: the
    /// saga writes a transfer's debit and return before its final event, all in the transfer's
    /// home partition. Its credit may come later (another partition) but carries what it needs.
    /// Transfer `id` ended (by the event at `source`); when it was a standing order's run that
    /// failed, answers the alert its owner gets.
    pub(crate) fn finish_transfer(
        &self,
        id: &Id,
        state: TransferState,
        reason: Option<String>,
        source: Source,
    ) -> Option<StandingOrderRunFailedEvent> {
        let transfer = self.transfers.remove(id).map(|(_, t)| t);
        let run_failure = match (&transfer, state, &reason) {
            (Some(transfer), TransferState::Failed, Some(reason)) => {
                self.run_failed(id, transfer, reason, source)
            }
            _ => None,
        };
        let initiator = transfer.map(|t| t.initiator);
        let outcome = TransferOutcome {
            state,
            reason,
            initiator,
        };
        self.history.record_outcome(id, outcome);
        run_failure
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
        self.history.record_account(iban);
        balance
    }

    /// Remembers when `iban` was opened; a duplicated creation keeps the first time.
    pub(crate) fn open_account(&self, iban: &str, source: Source) {
        if let Some(at) = source.timestamp_ms {
            self.opened_at.entry(iban.to_string()).or_insert(at);
            self.history.record_account(iban);
        }
    }

    pub(crate) fn set_alert_rule(&self, iban: &str, kind: Kind, threshold: Option<i64>) {
        self.alert_rules
            .entry(iban.to_string())
            .or_default()
            .set(kind, threshold);
        self.history.record_account(iban);
    }

    pub(crate) fn remove_alert_rule(&self, iban: &str, kind: Kind) {
        if let Some(mut rules) = self.alert_rules.get_mut(iban) {
            rules.remove(kind);
        }
        self.alert_rules
            .remove_if(iban, |_, rules| rules.is_empty());
        self.history.record_account(iban);
    }

    /// Adds the transaction derived from the record at `source`, with the alerts it fired.
    pub(crate) fn append_transaction(
        &self,
        transaction: Transaction,
        source: Source,
        alerts: Vec<FiredAlert>,
    ) {
        let transaction = Arc::new(transaction);
        self.history
            .record_transaction(Arc::clone(&transaction), source, alerts);
        self.last_transactions
            .insert(transaction.iban.clone(), transaction);
        self.transaction_count.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
