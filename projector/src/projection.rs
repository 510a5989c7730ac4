//! Pure projections: an event updates the [`ReadModel`] and, for a money event, derives a
//! `TransactionHappenedEvent` (SPEC §5).
//!
//! Transaction ids are 1, 2, … over all IBANs in `bank_events` order. Since `bank_events` has
//! one partition and keeps everything, replaying it from offset 0 gives every transaction the
//! same id again: derived events are identical after a restart.
//!
//! | event | `changed_by` | `from_to` | `description` |
//! | --- | --- | --- | --- |
//! | `MoneyCreditedEvent` | +amount | the transfer's `from` | the transfer's |
//! | `MoneyDebitedEvent` | −amount | the transfer's `to` | the transfer's |
//! | `MoneyReturnedEvent` | +amount | the transfer's `from` | `Cancelled transaction with id <debit's id> because <reason>` |
//!
//! A money event whose transfer is unknown (a log the command handler did not write: the saga
//! always writes `TransferStartedEvent` first) still changes the balance and still gets a
//! transaction, with `from_to` [`UNKNOWN_COUNTERPARTY`] and description
//! [`UNKNOWN_TRANSFER_DESCRIPTION`]; a return whose debit is unknown gets
//! `Cancelled transaction because <reason>`. Money is never silently dropped from a balance.

use std::sync::Arc;

use thiserror::Error;
use topology::{BankEvent, TransactionHappenedEvent, UserEvent};

use crate::query_results::{Transaction, TransferState};
use crate::read_model::{ReadModel, Transfer};

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

/// A derived event with the `bank_events` offset (partition 0) of the event it came from, so
/// the runtime can tell history from news (see [`crate::publishing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedTransaction {
    pub source_offset: i64,
    pub event: TransactionHappenedEvent,
}

impl DerivedTransaction {
    /// The key on `transaction_events`: the IBAN.
    pub fn key(&self) -> &str {
        &self.event.iban
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProjectionError {
    /// Transaction ids are Avro `int`s; the next one would not fit.
    #[error(
        "transaction ids are exhausted at {last}: the next transaction id does not fit an int"
    )]
    TransactionIdsExhausted { last: i32 },
}

/// Applies one `user_events` event. `user_events` only touches the users model, so its
/// consumer may run on its own thread next to the [`BankProjector`]; there must be one.
pub fn project_user_event(model: &ReadModel, event: &UserEvent) {
    match event {
        UserEvent::UserAccountCreatedEvent(created) => {
            model.create_user(&created.username, &created.password)
        }
    }
}

/// The single writer of everything `bank_events` feeds. `&mut self` makes "one consumer
/// thread" a compile-time fact; queries read the shared [`ReadModel`] meanwhile.
#[derive(Debug)]
pub struct BankProjector {
    model: Arc<ReadModel>,
    last_transaction_id: i32,
    last_projected_offset: Option<i64>,
}

impl BankProjector {
    /// A projector over a fresh (or user-events-only) model; feed it `bank_events` from offset 0.
    pub fn new(model: Arc<ReadModel>) -> Self {
        Self {
            model,
            last_transaction_id: 0,
            last_projected_offset: None,
        }
    }

    pub fn read_model(&self) -> &Arc<ReadModel> {
        &self.model
    }

    /// 0 before the first money event.
    pub fn last_transaction_id(&self) -> i32 {
        self.last_transaction_id
    }

    pub fn last_projected_offset(&self) -> Option<i64> {
        self.last_projected_offset
    }

    /// Applies the event at `source_offset` of `bank_events` and returns the derived
    /// transaction of a money event.
    ///
    /// An offset at or below the last projected one is ignored and derives nothing: a
    /// redelivery (after a seek or rebalance) must not change a balance twice. Gaps are fine
    /// (transaction markers take offsets).
    pub fn project(
        &mut self,
        source_offset: i64,
        event: &BankEvent,
    ) -> Result<Option<DerivedTransaction>, ProjectionError> {
        if self
            .last_projected_offset
            .is_some_and(|last| source_offset <= last)
        {
            return Ok(None);
        }
        let derived = self.apply(event)?;
        self.last_projected_offset = Some(source_offset);
        Ok(derived.map(|event| DerivedTransaction {
            source_offset,
            event,
        }))
    }

    fn apply(
        &mut self,
        event: &BankEvent,
    ) -> Result<Option<TransactionHappenedEvent>, ProjectionError> {
        let model = &*self.model;
        match event {
            BankEvent::BankAccountCreatedEvent(created) => {
                model.add_owner(&created.iban, &created.username, &created.token);
            }
            BankEvent::UserAddedToBankAccountEvent(added) => {
                model.add_owner(&added.iban, &added.username, &added.token);
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
                let (from_to, description) = match model.transfer(&credited.id) {
                    Some(transfer) => (transfer.from, transfer.description),
                    None => unknown_transfer(),
                };
                return self
                    .transact(&credited.iban, credited.amount, from_to, description)
                    .map(Some);
            }
            BankEvent::MoneyDebitedEvent(debited) => {
                let (from_to, description) = match model.transfer(&debited.id) {
                    Some(transfer) => (transfer.to, transfer.description),
                    None => unknown_transfer(),
                };
                let event = self.transact(
                    &debited.iban,
                    debited.amount.saturating_neg(),
                    from_to,
                    description,
                )?;
                self.model.remember_debit(&debited.id, event.transaction_id);
                return Ok(Some(event));
            }
            BankEvent::MoneyReturnedEvent(returned) => {
                let transfer = model.transfer(&returned.id);
                let debit = transfer.as_ref().and_then(|t| t.debit_transaction_id);
                let from_to = transfer.map_or_else(|| UNKNOWN_COUNTERPARTY.to_string(), |t| t.from);
                let description = return_description(debit, &returned.reason);
                return self
                    .transact(&returned.iban, returned.amount, from_to, description)
                    .map(Some);
            }
        }
        Ok(None)
    }

    /// Takes the next id first, so an exhausted id space leaves the balance untouched.
    fn transact(
        &mut self,
        iban: &str,
        change: i64,
        from_to: String,
        description: String,
    ) -> Result<TransactionHappenedEvent, ProjectionError> {
        let id = self.last_transaction_id.checked_add(1).ok_or(
            ProjectionError::TransactionIdsExhausted {
                last: self.last_transaction_id,
            },
        )?;
        self.last_transaction_id = id;
        let new_balance = self.model.change_balance(iban, change);
        let transaction = Transaction {
            id,
            iban: iban.to_string(),
            new_balance,
            changed_by: change,
            from_to,
            description,
        };
        let event = TransactionHappenedEvent::from(&transaction);
        self.model.append_transaction(transaction);
        Ok(event)
    }
}

fn unknown_transfer() -> (String, String) {
    (
        UNKNOWN_COUNTERPARTY.to_string(),
        UNKNOWN_TRANSFER_DESCRIPTION.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_events::*;

    fn projector() -> BankProjector {
        BankProjector::new(Arc::new(ReadModel::new()))
    }

    /// Projects `events` at offsets 0, 1, … and returns the derived events.
    fn project_all(projector: &mut BankProjector, events: &[BankEvent]) -> Vec<DerivedTransaction> {
        let start = projector.last_projected_offset().map_or(0, |last| last + 1);
        events
            .iter()
            .zip(start..)
            .filter_map(|(event, offset)| projector.project(offset, event).unwrap())
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
        assert_eq!(account.owners[0].token, "ta");
        assert_eq!(projector.read_model().ibans_of_user("alice"), [A]);
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
    fn transaction_ids_are_one_global_sequence_across_ibans() {
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
        assert_eq!(projector.last_transaction_id(), 3);
        let offsets: Vec<i64> = derived.iter().map(|d| d.source_offset).collect();
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
        assert_eq!(projector.last_transaction_id(), 0);
        assert_eq!(projector.last_projected_offset(), Some(4));
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
        let owners: Vec<String> = model
            .account(A)
            .unwrap()
            .owners
            .into_iter()
            .map(|o| o.username)
            .collect();
        assert_eq!(owners, ["bob"]);
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
        assert!(projector.project(5, &credit).unwrap().is_some());
        assert_eq!(projector.project(5, &credit).unwrap(), None);
        assert_eq!(projector.project(3, &credit).unwrap(), None);
        assert_eq!(balance(&projector, A), 100);
        assert_eq!(projector.last_transaction_id(), 1);
    }

    #[test]
    fn exhausted_transaction_ids_fail_without_touching_the_balance() {
        let mut projector = projector();
        projector.last_transaction_id = i32::MAX;
        let error = projector.project(0, &credited(id(1), A, 5)).unwrap_err();
        assert_eq!(
            error,
            ProjectionError::TransactionIdsExhausted { last: i32::MAX }
        );
        assert!(projector.read_model().account(A).is_none());
        assert_eq!(projector.last_projected_offset(), None);
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
}
