//! Pure projections: an event updates the [`ReadModel`] and, for a money event, derives a
//! `TransactionHappenedEvent` (SPEC §5); the failure of a standing order's run derives its
//! alert ([`DerivedRunFailure`]).
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
    AlertTriggeredEvent, BankEvent, MoneyCreditedEvent, StandingOrderRunFailedEvent,
    TransactionHappenedEvent, UserEvent,
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

/// A standing order's run that failed, derived from its transfer's `TransferFailedEvent`: the
/// alert to the owner of the paying account, published like a transaction (see
/// [`crate::alerts`]) although no money moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedRunFailure {
    pub source: Source,
    pub event: StandingOrderRunFailedEvent,
    pub traceparent: Option<String>,
}

/// What one `bank_events` record derives for other services, published exactly once from its
/// source (see [`crate::publishing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derived {
    Transaction(DerivedTransaction),
    RunFailure(DerivedRunFailure),
}

impl Derived {
    pub fn source(&self) -> Source {
        match self {
            Self::Transaction(derived) => derived.source,
            Self::RunFailure(derived) => derived.source,
        }
    }

    /// The transaction, if a money event derived this.
    pub fn transaction(self) -> Option<DerivedTransaction> {
        match self {
            Self::Transaction(derived) => Some(derived),
            Self::RunFailure(_) => None,
        }
    }

    pub fn set_traceparent(&mut self, traceparent: Option<String>) {
        match self {
            Self::Transaction(derived) => derived.traceparent = traceparent,
            Self::RunFailure(derived) => derived.traceparent = traceparent,
        }
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
    /// returns what it derives: the transaction of a money event, or the alert of a standing
    /// order's run that failed.
    ///
    /// An offset at or below the last projected one of its partition is ignored and derives
    /// nothing: a redelivery (after a seek or rebalance) must not change a balance twice. Gaps
    /// are fine (transaction markers take offsets). An event of a partition outside the
    /// partition count is refused before it changes anything.
    pub fn project(
        &mut self,
        source: Source,
        event: &BankEvent,
    ) -> Result<Option<Derived>, ProjectionError> {
        let index = self.ids.index(source.partition)?;
        if self.last_projected.len() <= index {
            self.last_projected.resize(index + 1, None);
        }
        if self.last_projected[index].is_some_and(|last| source.offset <= last) {
            return Ok(None);
        }
        let derived = self.apply(source, event)?;
        self.last_projected[index] = Some(source.offset);
        Ok(derived)
    }

    fn apply(
        &mut self,
        source: Source,
        event: &BankEvent,
    ) -> Result<Option<Derived>, ProjectionError> {
        let transaction = |(event, alerts)| {
            Derived::Transaction(DerivedTransaction {
                source,
                event,
                alerts,
                traceparent: None,
            })
        };
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
            // The command handler's memory of a refused credit: no money moved, nothing to read.
            BankEvent::CreditRefusedEvent(_) => {}
            // Held money is not booked: no transaction, the account's available balance drops.
            BankEvent::MoneyHeldEvent(held) => model.hold_money(held),
            // A capture's money moves with the TransferStarted that follows it.
            BankEvent::HoldCapturedEvent(captured) => model.capture_hold(captured),
            BankEvent::HoldReleasedEvent(released) => model.release_hold(released),
            // A standing order moves no money itself; each run is a transfer of its own.
            BankEvent::StandingOrderSetEvent(set) => model.set_standing_order(set),
            BankEvent::StandingOrderRanEvent(ran) => model.standing_order_ran(ran),
            BankEvent::StandingOrderEndedEvent(ended) => model.end_standing_order(ended),
            BankEvent::TransferStartedEvent(started) => model.start_transfer(
                started.id,
                Transfer {
                    from: started.from.clone(),
                    to: started.to.clone(),
                    description: started.description.clone(),
                    debit_transaction_id: None,
                    initiator: started.username.clone(),
                    standing_order: None,
                },
            ),
            BankEvent::TransferCompletedEvent(completed) => {
                model.finish_transfer(&completed.id, TransferState::Complete, None, source);
            }
            BankEvent::TransferFailedEvent(failed) => {
                let run_failure = model.finish_transfer(
                    &failed.id,
                    TransferState::Failed,
                    Some(failed.reason.clone()),
                    source,
                );
                return Ok(run_failure.map(|event| {
                    Derived::RunFailure(DerivedRunFailure {
                        source,
                        event,
                        traceparent: None,
                    })
                }));
            }
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
                    .map(transaction)
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
                return Ok(Some(transaction(derived)));
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
                    .map(transaction)
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
    ) -> Result<TransactionAndAlerts, ProjectionError> {
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
type TransactionAndAlerts = (TransactionHappenedEvent, Vec<AlertTriggeredEvent>);

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
mod tests;
