//! Pure projections: an event updates the [`ReadModel`] and, for a money event, derives a
//! `TransactionHappenedEvent` (SPEC §5).
//!
//! # Many partitions, one answer
//!
//! `bank_events` has `P` partitions (`topology::BANK_PARTITIONS`), keyed per account as
//! `topology::routing` says. Kafka keeps the order within a partition but hands the partitions
//! over in any interleaving, a different one at every replay. So everything here is computed
//! per partition: what an event of partition `p` derives depends only on the events before it
//! *in `p`*, never on how much of the other partitions was read.
//!
//! - **Transaction ids**: the `k`-th money event (`k` = 0, 1, …) of partition `p` gets id
//!   `k · P + p + 1` (arithmetic in [`crate::transaction_ids`]). `k` counts only `p`'s own money
//!   events, and Kafka never reorders a partition, so an id is fixed by its event's place in its
//!   partition: every restart, replay or second instance gives every transaction the same id
//!   whatever order it reads the partitions in. Ids are unique (partition `p` uses exactly the
//!   ids ≡ `p` + 1 mod `P`), and with `P` = 1 they are 1, 2, 3, … in `bank_events` order. An id
//!   that would not fit an Avro `int` is refused with [`ProjectionError::TransactionIdsExhausted`],
//!   leaving the balance untouched. `P` is the topic's partition count read at start; it must
//!   never change on a cluster with data (every id would change).
//! - **Balances and lists**: every money event of an IBAN (its credits, debits and returns) is
//!   keyed by that IBAN, so an account's balances and its transactions, newest first, follow the
//!   order of one partition.
//! - **Counterparty and description**: a debit or a return is keyed by the transfer's `from`,
//!   which is also the key of its `TransferStartedEvent` (a transfer's home, see
//!   `topology::routing::home`), so the start, and for a return the debit, came before it in
//!   the same partition: they look the transfer up. A credit is keyed by the `to` account, may
//!   sit in another partition and be read *before* its transfer starts, so it carries the
//!   transfer's `from` and description itself (`transfer_from`, `transfer_description`) and
//!   those are used. Only a field that is `None` (a record written before the fields existed,
//!   when `bank_events` had one partition and the start always came first) falls back to the
//!   transfer; so does a deposit's credit rightly, whose start shares its partition (a deposit's
//!   home is its `to`).
//! - **Transfer status**: a transfer's started, completed and failed events are all keyed by its
//!   home: one partition, in order.
//! - **A user's accounts** may live in several partitions. They are listed in the order the user
//!   became owner, by the [`Source`] of the event that made them owner (its timestamp, then
//!   partition and offset): stored with the records, so the same at every replay, unlike the
//!   order they happen to be read in.
//!
//! | event | `changed_by` | `from_to` | `description` |
//! | --- | --- | --- | --- |
//! | `MoneyCreditedEvent` | +amount | its `transfer_from` (else the transfer's `from`) | its `transfer_description` (else the transfer's) |
//! | `MoneyDebitedEvent` | −amount | the transfer's `to` | the transfer's |
//! | `MoneyReturnedEvent` | +amount | the transfer's `from` | `Cancelled transaction with id <debit's id> because <reason>` |
//!
//! A money event whose transfer is unknown (a log the command handler did not write: the saga
//! always writes `TransferStartedEvent` first) still changes the balance and still gets a
//! transaction, with `from_to` [`UNKNOWN_COUNTERPARTY`] and description
//! [`UNKNOWN_TRANSFER_DESCRIPTION`]; a return whose debit is unknown gets
//! `Cancelled transaction because <reason>`. Money is never silently dropped from a balance.

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;
use topology::{
    AlertTriggeredEvent, BankEvent, MoneyCreditedEvent, TransactionHappenedEvent, UserEvent,
};

use crate::query_results::{Owner, Transaction, TransferState};
use crate::read_model::{ReadModel, Transfer};
use crate::source::Source;
use crate::transaction_ids::TransactionIds;

/// `from_to` of a money event whose transfer is unknown.
pub const UNKNOWN_COUNTERPARTY: &str = "unknown";
/// `description` of a money event whose transfer is unknown.
pub const UNKNOWN_TRANSFER_DESCRIPTION: &str = "unknown transfer";

/// The description of a return: SPEC §5, byte for byte.
pub fn return_description(debit_transaction_id: Option<i32>, reason: &str) -> String {
    match debit_transaction_id {
        Some(id) => format!("Cancelled transaction with id {id} because {reason}"),
        None => format!("Cancelled transaction because {reason}"),
    }
}

/// A derived event with the `bank_events` partition and offset of the event it came from, so
/// the runtime can tell history from news per partition (see [`crate::publishing`]), and the
/// alerts the same money event fired, published with it (see [`crate::alerts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedTransaction {
    pub source: Source,
    pub event: TransactionHappenedEvent,
    pub alerts: Vec<AlertTriggeredEvent>,
    /// The trace of the money event it is derived from, carried on to `transaction_events`
    /// (none for one re-read from the state store after a restart).
    pub traceparent: Option<String>,
}

impl DerivedTransaction {
    /// The key on `transaction_events`: the IBAN.
    pub fn key(&self) -> &str {
        &self.event.iban
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProjectionError {
    /// Transaction ids are Avro `int`s; the id of this money event would not fit.
    #[error(
        "transaction ids are exhausted on bank_events partition {partition}: its money event \
         number {sequence} (0-based) would get an id that does not fit an int"
    )]
    TransactionIdsExhausted { partition: i32, sequence: i64 },
    /// An event of a partition the ids are not numbered for: its ids would collide.
    #[error(
        "bank_events partition {partition} is not one of the {partitions} partitions the \
         transaction ids are numbered for"
    )]
    PartitionOutOfRange { partition: i32, partitions: i32 },
}

/// An owner as an account event names them: the hash of their token (the hash of the token
/// itself for an event written before the hashes) and the nonce it derives from.
fn owner_of(
    username: &str,
    token_hash: Option<&str>,
    legacy_token: &str,
    token_nonce: Option<&String>,
) -> Owner {
    Owner {
        username: username.to_string(),
        token_hash: topology::proofs::token_hash_of(token_hash, legacy_token),
        token_nonce: token_nonce.cloned(),
    }
}

/// Applies one `user_events` event. `user_events` only touches the users model, so its
/// consumer may run on its own thread next to the [`BankProjector`]; there must be one.
pub fn project_user_event(model: &ReadModel, event: &UserEvent) {
    match event {
        UserEvent::UserAccountCreatedEvent(created) => {
            model.create_user(&created.username, &created.password)
        }
        UserEvent::UserPasswordChangedEvent(changed) => {
            model.change_password(&changed.username, &changed.password)
        }
    }
}

/// The single writer of everything `bank_events` feeds. `&mut self` makes "one consumer
/// thread" a compile-time fact; queries read the shared [`ReadModel`] meanwhile.
#[derive(Debug)]
pub struct BankProjector {
    model: Arc<ReadModel>,
    ids: TransactionIds,
    /// The last projected offset of each partition read so far, by partition.
    last_projected: Vec<Option<i64>>,
}

impl BankProjector {
    /// A projector of a `bank_events` of `partitions` partitions (its actual count; at least
    /// 1) over a fresh (or user-events-only) model; feed it every partition from offset 0.
    pub fn new(model: Arc<ReadModel>, partitions: i32) -> Self {
        Self {
            model,
            ids: TransactionIds::new(partitions),
            last_projected: Vec::new(),
        }
    }

    /// A projector that goes on where a state store left off: `issued` transaction ids per
    /// partition, and each partition projected up to `last_projected` (inclusive).
    pub fn resume(
        model: Arc<ReadModel>,
        partitions: i32,
        issued: &BTreeMap<i32, i64>,
        last_projected: &BTreeMap<i32, i64>,
    ) -> Self {
        let mut projector = Self::new(model, partitions);
        projector.ids = TransactionIds::resume(partitions, issued);
        for (&partition, &offset) in last_projected {
            if let Ok(index) = projector.ids.index(partition) {
                if projector.last_projected.len() <= index {
                    projector.last_projected.resize(index + 1, None);
                }
                projector.last_projected[index] = Some(offset);
            }
        }
        projector
    }

    /// Transaction ids handed out per partition, for the state store.
    pub fn issued(&self) -> Vec<(i32, i64)> {
        self.ids.issued_per_partition()
    }

    pub fn read_model(&self) -> &Arc<ReadModel> {
        &self.model
    }

    /// The partition count the transaction ids are numbered for.
    pub fn partitions(&self) -> i32 {
        self.ids.partitions()
    }

    /// How many transactions were derived, over all partitions.
    pub fn transaction_count(&self) -> i64 {
        self.ids.issued()
    }

    /// The last projected offset of `partition`; `None` before its first event.
    pub fn last_projected_offset(&self, partition: i32) -> Option<i64> {
        let index = usize::try_from(partition).ok()?;
        self.last_projected.get(index).copied().flatten()
    }

    /// Applies the event read at `source` (partition, offset, timestamp) of `bank_events` and
    /// returns the derived transaction of a money event.
    ///
    /// An offset at or below the last projected one of its partition is ignored and derives
    /// nothing: a redelivery (after a seek or rebalance) must not change a balance twice. Gaps
    /// are fine (transaction markers take offsets). An event of a partition outside the
    /// partition count is refused before it changes anything.
    pub fn project(
        &mut self,
        source: Source,
        event: &BankEvent,
    ) -> Result<Option<DerivedTransaction>, ProjectionError> {
        let index = self.ids.index(source.partition)?;
        if self.last_projected.len() <= index {
            self.last_projected.resize(index + 1, None);
        }
        if self.last_projected[index].is_some_and(|last| source.offset <= last) {
            return Ok(None);
        }
        let derived = self.apply(source, event)?;
        self.last_projected[index] = Some(source.offset);
        Ok(derived.map(|(event, alerts)| DerivedTransaction {
            source,
            event,
            alerts,
            traceparent: None,
        }))
    }

    fn apply(
        &mut self,
        source: Source,
        event: &BankEvent,
    ) -> Result<Option<Derived>, ProjectionError> {
        let model = &*self.model;
        match event {
            BankEvent::BankAccountCreatedEvent(created) => {
                model.open_account(&created.iban, source);
                let owner = owner_of(
                    &created.username,
                    created.token_hash.as_deref(),
                    &created.token,
                    created.token_nonce.as_ref(),
                );
                model.add_owner(&created.iban, owner, source);
            }
            BankEvent::AlertSetEvent(set) => {
                model.set_alert_rule(&set.iban, set.alert_kind.into(), set.threshold)
            }
            BankEvent::AlertRemovedEvent(removed) => {
                model.remove_alert_rule(&removed.iban, removed.alert_kind.into())
            }
            BankEvent::UserAddedToBankAccountEvent(added) => {
                let owner = owner_of(
                    &added.username,
                    added.token_hash.as_deref(),
                    &added.token,
                    added.token_nonce.as_ref(),
                );
                model.add_owner(&added.iban, owner, source);
            }
            BankEvent::UserRemovedFromBankAccountEvent(removed) => {
                model.remove_owner(&removed.iban, &removed.username);
            }
            BankEvent::TransferStartedEvent(started) => model.start_transfer(
                started.id,
                Transfer {
                    from: started.from.clone(),
                    to: started.to.clone(),
                    description: started.description.clone(),
                    debit_transaction_id: None,
                    initiator: started.username.clone(),
                },
            ),
            BankEvent::TransferCompletedEvent(completed) => {
                model.finish_transfer(&completed.id, TransferState::Complete, None)
            }
            BankEvent::TransferFailedEvent(failed) => model.finish_transfer(
                &failed.id,
                TransferState::Failed,
                Some(failed.reason.clone()),
            ),
            BankEvent::MoneyCreditedEvent(credited) => {
                let (from_to, description) = credit_details(model, credited);
                return self
                    .transact(
                        source,
                        &credited.iban,
                        credited.amount,
                        from_to,
                        description,
                    )
                    .map(Some);
            }
            BankEvent::MoneyDebitedEvent(debited) => {
                let (from_to, description) = match model.transfer(&debited.id) {
                    Some(transfer) => (transfer.to, transfer.description),
                    None => unknown_transfer(),
                };
                let derived = self.transact(
                    source,
                    &debited.iban,
                    debited.amount.saturating_neg(),
                    from_to,
                    description,
                )?;
                self.model
                    .remember_debit(&debited.id, derived.0.transaction_id);
                return Ok(Some(derived));
            }
            BankEvent::MoneyReturnedEvent(returned) => {
                let transfer = model.transfer(&returned.id);
                let debit = transfer.as_ref().and_then(|t| t.debit_transaction_id);
                let from_to = transfer.map_or_else(|| UNKNOWN_COUNTERPARTY.to_string(), |t| t.from);
                let description = return_description(debit, &returned.reason);
                return self
                    .transact(
                        source,
                        &returned.iban,
                        returned.amount,
                        from_to,
                        description,
                    )
                    .map(Some);
            }
        }
        Ok(None)
    }

    /// Takes the id first, so an exhausted id space leaves the balance untouched. The
    /// account's rules as they stand now, after every earlier event of its partition and
    /// before any later one, judge the transaction.
    fn transact(
        &mut self,
        source: Source,
        iban: &str,
        change: i64,
        from_to: String,
        description: String,
    ) -> Result<Derived, ProjectionError> {
        let id = self.ids.take(source.partition)?;
        let new_balance = self.model.change_balance(iban, change);
        let transaction = Transaction {
            id,
            iban: iban.to_string(),
            new_balance,
            changed_by: change,
            from_to,
            description,
            at_millis: source.timestamp_ms,
        };
        let fired = self.model.judge(&transaction);
        let event = TransactionHappenedEvent::from(&transaction);
        let alerts = fired
            .iter()
            .map(|alert| alert.event(&transaction))
            .collect();
        self.model.append_transaction(transaction, source, fired);
        Ok((event, alerts))
    }
}

/// What a money event derives: its transaction and the alerts it fired.
type Derived = (TransactionHappenedEvent, Vec<AlertTriggeredEvent>);

/// A credit's counterparty (the transfer's `from`) and description. The credit's own fields
/// come first: its transfer may start in a partition not read yet. The transfer is looked up
/// only for a field the record lacks (written before the fields existed, when the start always
/// preceded the credit in the one partition).
fn credit_details(model: &ReadModel, credited: &MoneyCreditedEvent) -> (String, String) {
    if let (Some(from), Some(description)) =
        (&credited.transfer_from, &credited.transfer_description)
    {
        return (from.clone(), description.clone());
    }
    let transfer = model.transfer(&credited.id);
    let from = credited
        .transfer_from
        .clone()
        .or_else(|| transfer.as_ref().map(|t| t.from.clone()))
        .unwrap_or_else(|| UNKNOWN_COUNTERPARTY.to_string());
    let description = credited
        .transfer_description
        .clone()
        .or_else(|| transfer.map(|t| t.description))
        .unwrap_or_else(|| UNKNOWN_TRANSFER_DESCRIPTION.to_string());
    (from, description)
}

fn unknown_transfer() -> (String, String) {
    (
        UNKNOWN_COUNTERPARTY.to_string(),
        UNKNOWN_TRANSFER_DESCRIPTION.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use topology::proofs::token_hash;
    use topology::routing::partition_for;

    use super::*;
    use crate::test_events::*;

    /// A projector of a one-partition `bank_events`: ids 1, 2, 3, … in order.
    fn projector() -> BankProjector {
        BankProjector::new(Arc::new(ReadModel::new()), 1)
    }

    /// Projects `events` at offsets 0, 1, … of partition 0 and returns the derived events.
    fn project_all(projector: &mut BankProjector, events: &[BankEvent]) -> Vec<DerivedTransaction> {
        let start = projector
            .last_projected_offset(0)
            .map_or(0, |last| last + 1);
        events
            .iter()
            .zip(start..)
            .filter_map(|(event, offset)| projector.project(Source::at(0, offset), event).unwrap())
            .collect()
    }

    fn balance(projector: &BankProjector, iban: &str) -> i64 {
        projector.read_model().account(iban).unwrap().balance
    }

    #[test]
    fn a_new_account_has_balance_zero_the_default_limit_and_its_creator_as_owner() {
        let mut projector = projector();
        project_all(&mut projector, &[account_created(A, "alice", "ta")]);
        let account = projector.read_model().account(A).unwrap();
        assert_eq!(account.balance, 0);
        assert_eq!(account.limit, -50_000);
        assert_eq!(account.owners.len(), 1);
        assert_eq!(account.owners[0].username, "alice");
        assert_eq!(
            account.owners[0].token_hash,
            token_hash("ta"),
            "an old event's token, hashed"
        );
        assert_eq!(projector.read_model().ibans_of_user("alice"), [A]);
    }

    #[test]
    fn an_account_opened_now_keeps_the_owners_token_hash_and_nonce_only() {
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 1);
        project_all(&mut projector, &[account_opened(A, "alice", "h-a", "n-a")]);
        let account = projector.read_model().account(A).unwrap();
        assert_eq!(account.owners[0].token_hash, "h-a");
        assert_eq!(account.owners[0].token_nonce.as_deref(), Some("n-a"));
    }

    #[test]
    fn balances_follow_credits_debits_and_returns() {
        let mut projector = projector();
        let derived = project_all(&mut projector, &transfer_between_accounts_then_return());
        // Deposit 10_000 into A; A → B 2_500 debited; credit to B fails; 2_500 returned to A.
        assert_eq!(balance(&projector, A), 10_000);
        assert!(projector.read_model().account(B).is_none());
        let balances: Vec<(String, i64, i64)> = derived
            .iter()
            .map(|d| {
                (
                    d.event.iban.clone(),
                    d.event.changed_by,
                    d.event.new_balance,
                )
            })
            .collect();
        assert_eq!(
            balances,
            [
                (A.into(), 10_000, 10_000),
                (A.into(), -2_500, 7_500),
                (A.into(), 2_500, 10_000)
            ]
        );
    }

    #[test]
    fn a_debit_may_go_below_zero_down_to_what_the_command_handler_allowed() {
        let mut projector = projector();
        let t = id(1);
        project_all(
            &mut projector,
            &[
                account_created(A, "alice", "ta"),
                transfer_started(t, A, B, "rent"),
                debited(t, A, 40_000),
            ],
        );
        assert_eq!(balance(&projector, A), -40_000);
    }

    #[test]
    fn with_one_partition_ids_are_one_sequence_across_ibans() {
        let mut projector = projector();
        let (t1, t2) = (id(1), id(2));
        let derived = project_all(
            &mut projector,
            &[
                account_created(A, "alice", "ta"),
                account_created(B, "bob", "tb"),
                transfer_started(t1, CASH, A, "deposit"),
                credited(t1, A, 100),
                transfer_completed(t1),
                transfer_started(t2, A, B, "gift"),
                debited(t2, A, 40),
                credited(t2, B, 40),
                transfer_completed(t2),
            ],
        );
        let ids: Vec<(i32, &str)> = derived
            .iter()
            .map(|d| (d.event.transaction_id, d.event.iban.as_str()))
            .collect();
        assert_eq!(ids, [(1, A), (2, A), (3, B)]);
        assert_eq!(projector.transaction_count(), 3);
        let offsets: Vec<i64> = derived.iter().map(|d| d.source.offset).collect();
        assert_eq!(offsets, [3, 6, 7]);
        assert!(derived.iter().all(|d| d.key() == d.event.iban));
    }

    #[test]
    fn from_to_is_from_for_a_credit_to_for_a_debit_and_from_for_a_return() {
        let mut projector = projector();
        let derived = project_all(&mut projector, &transfer_between_accounts_then_return());
        let from_to: Vec<&str> = derived.iter().map(|d| d.event.from_to.as_str()).collect();
        // credit of the deposit: from cash; debit A → B: to B; return to A: the transfer's from (A).
        assert_eq!(from_to, [CASH, B, A]);
    }

    #[test]
    fn descriptions_are_the_transfers_and_a_return_cancels_the_debit() {
        let mut projector = projector();
        let derived = project_all(&mut projector, &transfer_between_accounts_then_return());
        let descriptions: Vec<&str> = derived
            .iter()
            .map(|d| d.event.description.as_str())
            .collect();
        assert_eq!(
            descriptions,
            [
                "deposit",
                "gift",
                "Cancelled transaction with id 2 because iban not known"
            ]
        );
    }

    #[test]
    fn non_money_events_derive_nothing() {
        let mut projector = projector();
        let t = id(9);
        let derived = project_all(
            &mut projector,
            &[
                account_created(A, "alice", "ta"),
                user_added(A, "bob", "tb"),
                user_removed(A, "bob"),
                transfer_started(t, A, B, "x"),
                transfer_failed(t, "nope"),
            ],
        );
        assert!(derived.is_empty());
        assert_eq!(projector.transaction_count(), 0);
        assert_eq!(projector.last_projected_offset(0), Some(4));
    }

    #[test]
    fn owners_and_accounts_per_user_follow_added_and_removed_users() {
        let mut projector = projector();
        project_all(
            &mut projector,
            &[
                account_created(A, "alice", "ta"),
                account_created(B, "bob", "tb"),
                user_added(A, "bob", "tb2"),
                user_removed(A, "alice"),
            ],
        );
        let model = projector.read_model();
        assert_eq!(model.ibans_of_user("bob"), [B, A]);
        assert!(model.ibans_of_user("alice").is_empty());
        let owners: Vec<(String, String)> = model
            .account(A)
            .unwrap()
            .owners
            .into_iter()
            .map(|o| (o.username, o.token_hash))
            .collect();
        assert_eq!(
            owners,
            [("bob".to_string(), token_hash("tb2"))],
            "bob's own token"
        );
        // Shared again after leaving: the account is listed as the user's newest.
        project_all(
            &mut projector,
            &[
                user_added(B, "carol", "tc"),
                user_removed(B, "carol"),
                user_added(B, "carol", "tc2"),
            ],
        );
        let model = projector.read_model();
        assert_eq!(model.ibans_of_user("carol"), [B]);
        let carol = model
            .account(B)
            .unwrap()
            .owners
            .into_iter()
            .find(|o| o.username == "carol");
        assert_eq!(carol.map(|o| o.token_hash), Some(token_hash("tc2")));
    }

    #[test]
    fn a_transfer_is_forgotten_once_completed_or_failed() {
        let mut projector = projector();
        let (t1, t2, t3) = (id(1), id(2), id(3));
        project_all(
            &mut projector,
            &[
                transfer_started(t1, CASH, A, "a"),
                transfer_started(t2, A, B, "b"),
                transfer_started(t3, A, B, "c"),
                transfer_completed(t1),
                transfer_failed(t2, "r"),
            ],
        );
        let model = projector.read_model();
        assert_eq!(model.transfer(&t1), None);
        assert_eq!(model.transfer(&t2), None);
        assert_eq!(model.transfer(&t3).map(|t| t.description), Some("c".into()));
    }

    #[test]
    fn a_money_event_of_an_unknown_transfer_still_moves_the_balance() {
        let mut projector = projector();
        let derived = project_all(
            &mut projector,
            &[
                account_created(A, "alice", "ta"),
                credited(id(1), A, 500),
                debited(id(2), A, 200),
                returned(id(3), A, 50, "why"),
            ],
        );
        assert_eq!(balance(&projector, A), 350);
        let shown: Vec<(&str, &str)> = derived
            .iter()
            .map(|d| (d.event.from_to.as_str(), d.event.description.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (UNKNOWN_COUNTERPARTY, UNKNOWN_TRANSFER_DESCRIPTION),
                (UNKNOWN_COUNTERPARTY, UNKNOWN_TRANSFER_DESCRIPTION),
                (UNKNOWN_COUNTERPARTY, "Cancelled transaction because why"),
            ]
        );
    }

    #[test]
    fn a_return_without_a_debit_names_no_transaction() {
        let mut projector = projector();
        let t = id(1);
        let derived = project_all(
            &mut projector,
            &[
                account_created(A, "alice", "ta"),
                transfer_started(t, B, A, "x"),
                returned(t, A, 10, "because"),
            ],
        );
        assert_eq!(
            derived[0].event.description,
            "Cancelled transaction because because"
        );
        assert_eq!(derived[0].event.from_to, B);
    }

    #[test]
    fn money_for_an_account_never_created_opens_it_without_owners() {
        let mut projector = projector();
        project_all(&mut projector, &[credited(id(1), A, 7)]);
        let account = projector.read_model().account(A).unwrap();
        assert_eq!(account.balance, 7);
        assert!(account.owners.is_empty());
    }

    #[test]
    fn a_redelivered_offset_is_ignored() {
        let mut projector = projector();
        let t = id(1);
        let credit = credited(t, A, 100);
        project_all(
            &mut projector,
            &[
                account_created(A, "alice", "ta"),
                transfer_started(t, CASH, A, "d"),
            ],
        );
        assert!(projector
            .project(Source::at(0, 5), &credit)
            .unwrap()
            .is_some());
        assert_eq!(projector.project(Source::at(0, 5), &credit).unwrap(), None);
        assert_eq!(projector.project(Source::at(0, 3), &credit).unwrap(), None);
        assert_eq!(balance(&projector, A), 100);
        assert_eq!(projector.transaction_count(), 1);
    }

    #[test]
    fn exhausted_transaction_ids_fail_without_touching_the_balance() {
        // With P = i32::MAX, partition 1 has one id (2); its second money event has none.
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()), i32::MAX);
        let first = projector
            .project(Source::at(1, 0), &credited(id(1), A, 5))
            .unwrap();
        assert_eq!(first.map(|d| d.event.transaction_id), Some(2));
        let error = projector
            .project(Source::at(1, 1), &credited(id(1), A, 5))
            .unwrap_err();
        assert_eq!(
            error,
            ProjectionError::TransactionIdsExhausted {
                partition: 1,
                sequence: 1
            }
        );
        assert_eq!(balance(&projector, A), 5);
        assert_eq!(projector.last_projected_offset(1), Some(0));
        assert_eq!(projector.transaction_count(), 1);
    }

    #[test]
    fn an_event_of_a_partition_outside_the_count_changes_nothing() {
        let mut projector = BankProjector::new(Arc::new(ReadModel::new()), 12);
        let error = projector
            .project(Source::at(12, 0), &credited(id(1), A, 5))
            .unwrap_err();
        assert_eq!(
            error,
            ProjectionError::PartitionOutOfRange {
                partition: 12,
                partitions: 12
            }
        );
        assert!(projector.read_model().account(A).is_none());
        assert_eq!(projector.last_projected_offset(12), None);
    }

    #[test]
    fn extreme_amounts_saturate_instead_of_panicking() {
        let mut projector = projector();
        let derived = project_all(
            &mut projector,
            &[debited(id(1), A, i64::MIN), credited(id(2), A, i64::MAX)],
        );
        assert_eq!(derived[0].event.changed_by, i64::MAX);
        assert_eq!(balance(&projector, A), i64::MAX);
    }

    #[test]
    fn rebuilding_from_the_same_events_derives_identical_events() {
        let events = mixed_history();
        let mut first = projector();
        let mut second = projector();
        let once = project_all(&mut first, &events);
        let again = project_all(&mut second, &events);
        assert!(!once.is_empty());
        assert_eq!(once, again);
    }

    #[test]
    fn users_come_from_user_events() {
        let model = ReadModel::new();
        project_user_event(&model, &user_created("alice", "hash"));
        assert_eq!(model.password_hash("alice").as_deref(), Some("hash"));
    }

    #[test]
    fn queries_read_while_the_projection_writes() {
        const DEPOSITS: usize = 2_000;
        let mut projector = projector();
        let model = Arc::clone(projector.read_model());
        let mut events = vec![account_created(A, "alice", "ta")];
        events.extend((0..DEPOSITS).map(|_| credited(id(1), A, 1)));
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut newest_seen = 0;
                while model.transaction_count() < DEPOSITS {
                    if let Some(newest) = model.newest_transactions(A, 5).first() {
                        // Balances and ids only ever grow in this history.
                        assert!(newest.id >= newest_seen);
                        assert_eq!(newest.new_balance, i64::from(newest.id));
                        newest_seen = newest.id;
                    }
                    let _ = model.last_transactions();
                    let _ = model.account(A);
                    std::thread::yield_now();
                }
            });
            project_all(&mut projector, &events);
            assert!(reader.join().is_ok());
        });
        assert_eq!(model.account(A).map(|a| a.balance), Some(2_000));
    }

    /// Twelve partitions, like the topology's `bank_events`.
    const P: i32 = 12;

    #[test]
    fn ids_are_identical_whatever_order_the_partitions_are_read_in() {
        let history = busy_history(16, 60);
        let histories = partition_histories(&history, P);
        let used = histories.iter().filter(|h| !h.is_empty()).count();
        assert!(used >= 6, "the history should spread: {used} partitions");

        let ascending = one_partition_after_another(&histories, 0..P);
        let descending = one_partition_after_another(&histories, (0..P).rev());
        let (first, first_derived) = project_delivered(P, &ascending);
        let first_derived = by_id(first_derived);
        // 16 deposits; 60 debits; 36 credits and 12 returns (every fifth transfer leaves the bank).
        assert_eq!(first_derived.len(), 16 + 60 + 36 + 12);
        for other in [
            descending,
            shuffled(&histories, 1),
            shuffled(&histories, 4242),
        ] {
            assert_ne!(other, ascending, "a different interleaving");
            let (again, derived) = project_delivered(P, &other);
            assert_eq!(by_id(derived), first_derived);
            for d in &first_derived {
                let iban = &d.event.iban;
                assert_eq!(
                    again.read_model().newest_transactions(iban, 1_000),
                    first.read_model().newest_transactions(iban, 1_000)
                );
                assert_eq!(
                    again.read_model().transaction(d.event.transaction_id),
                    first.read_model().transaction(d.event.transaction_id)
                );
            }
            assert_eq!(
                again.read_model().last_transactions(),
                first.read_model().last_transactions()
            );
        }

        // Balances do not depend on the partitioning: the same as in one partition.
        let mut one = projector();
        project_all(&mut one, &history);
        for d in &first_derived {
            assert_eq!(balance(&first, &d.event.iban), balance(&one, &d.event.iban));
        }
    }

    #[test]
    fn ids_are_unique_follow_the_rule_and_are_found_by_id() {
        let history = busy_history(16, 60);
        let histories = partition_histories(&history, P);
        let (projector, derived) = project_delivered(P, &shuffled(&histories, 7));
        let model = projector.read_model();

        let ids: HashSet<i32> = derived.iter().map(|d| d.event.transaction_id).collect();
        assert_eq!(ids.len(), derived.len(), "every id once");
        assert_eq!(model.transaction_count(), derived.len());
        for d in &derived {
            let stored = model.transaction(d.event.transaction_id).unwrap();
            assert_eq!(TransactionHappenedEvent::from(&*stored), d.event);
        }
        // Per partition: p + 1, p + 1 + P, p + 1 + 2P, … in offset order.
        for p in 0..P {
            let mut own: Vec<&DerivedTransaction> =
                derived.iter().filter(|d| d.source.partition == p).collect();
            own.sort_by_key(|d| d.source.offset);
            let expected: Vec<i32> = (0..).map(|k| k * P + p + 1).take(own.len()).collect();
            let got: Vec<i32> = own.iter().map(|d| d.event.transaction_id).collect();
            assert_eq!(got, expected, "partition {p}");
        }
    }

    #[test]
    fn a_return_names_the_debit_of_its_own_partition() {
        let history = busy_history(16, 60);
        let histories = partition_histories(&history, P);
        let (projector, derived) = project_delivered(P, &shuffled(&histories, 3));
        let returns: Vec<&DerivedTransaction> = derived
            .iter()
            .filter(|d| d.event.description.starts_with("Cancelled"))
            .collect();
        assert_eq!(returns.len(), 12);
        for r in returns {
            let named = r
                .event
                .description
                .strip_prefix("Cancelled transaction with id ")
                .and_then(|rest| rest.strip_suffix(" because iban not known"))
                .and_then(|id| id.parse::<i32>().ok())
                .unwrap_or_else(|| panic!("{}", r.event.description));
            let debit = projector.read_model().transaction(named).unwrap();
            assert_eq!(debit.iban, r.event.iban);
            assert_eq!(debit.changed_by, -r.event.changed_by);
            assert_ne!(debit.from_to, UNKNOWN_COUNTERPARTY);
            // A return's counterparty is the transfer's `from`: the account itself.
            assert_eq!(r.event.from_to, r.event.iban);
            assert_eq!((named - 1) % P, r.source.partition);
            assert!(named < r.event.transaction_id);
        }
    }

    #[test]
    fn a_credit_read_before_its_transfer_starts_takes_from_and_description_from_the_event() {
        let rent = id(1);
        let history = [
            account_created(A, "alice", "ta"),
            account_created(B, "bob", "tb"),
            transfer_started(rent, A, B, "rent"),
            debited(rent, A, 2_500),
            credited_from(rent, B, 2_500, A, "rent"),
            transfer_completed(rent),
        ];
        let histories = partition_histories(&history, P);
        let (home, other) = (partition_for(A, P), partition_for(B, P));
        assert_ne!(home, other, "A and B should be in different partitions");
        // B's partition (the credit) first, the transfer's home after it.
        let delivered = one_partition_after_another(&histories, [other, home]);
        let (projector, derived) = project_delivered(P, &delivered);

        let shown: Vec<(&str, i64, &str, &str)> = derived
            .iter()
            .map(|d| {
                let e = &d.event;
                (
                    e.iban.as_str(),
                    e.changed_by,
                    e.from_to.as_str(),
                    e.description.as_str(),
                )
            })
            .collect();
        assert_eq!(shown, [(B, 2_500, A, "rent"), (A, -2_500, B, "rent")]);
        assert_eq!(derived[0].event.transaction_id, other + 1);
        assert_eq!(derived[1].event.transaction_id, home + 1);
        assert_eq!(balance(&projector, B), 2_500);
    }

    #[test]
    fn a_credits_own_fields_win_and_a_missing_one_falls_back_to_the_transfer() {
        let (t1, t2) = (id(1), id(2));
        let half: BankEvent = topology::MoneyCreditedEvent {
            iban: A.into(),
            amount: 1,
            id: t2,
            transfer_from: None,
            transfer_description: Some("from the event".into()),
        }
        .into();
        let mut projector = projector();
        let derived = project_all(
            &mut projector,
            &[
                transfer_started(t1, CASH, A, "deposit"),
                credited_from(t1, A, 1, "NL91ABNA0417164300", "as written"),
                transfer_started(t2, CASH, A, "from the transfer"),
                half,
            ],
        );
        let shown: Vec<(&str, &str)> = derived
            .iter()
            .map(|d| (d.event.from_to.as_str(), d.event.description.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("NL91ABNA0417164300", "as written"),
                (CASH, "from the event")
            ]
        );
    }
}
