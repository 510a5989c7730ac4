//! The pure domain of the command handler: state, rules and the transfer saga, free of Kafka,
//! I/O, clocks and randomness, so every decision can be replayed and tested exactly.
//!
//! One file per aggregate, each with its rules in SPEC order (first failing rule wins):
//! - [`user`] — CreateUserAccount.
//! - [`bank_account`] — CreateBankAccount, AddUserToBankAccount, RemoveUserFromBankAccount,
//!   DebitMoney, CreditMoney, ReturnMoney.
//! - [`holds`] — HoldMoney, CaptureHold, VoidHold, and the expiry of holds.
//! - [`refused_credits`] — a refused credit stays refused (CreditRefused).
//! - [`standing_orders`] — SetStandingOrder, CancelStandingOrder, and the runs when due.
//! - [`alert_rules`] — SetAlert, RemoveAlert.
//! - [`transfer`] — MoneyTransfer, MarkTransferCompleted, MarkTransferFailed.
//! - [`saga`] — which command a started transfer needs next.
//! - [`Reason`] — every user-visible refusal, in the words of [`topology::reasons`].
//!
//! How the runtime drives it:
//! 1. At start, fold every record of `user_events` and `bank_events` (from the beginning) into
//!    one [`BankState`] with [`BankState::evolve_user_event`] / [`BankState::evolve_bank_event`],
//!    and into the [`saga::Saga`] (see its docs for the feedback it also needs).
//! 2. Per command: `decide_*` → produce the events and the feedback → evolve the state with
//!    those same events *before deciding the next command*. Decisions are only correct if every
//!    command sees the effect of the one before, so commands from all partitions must be
//!    decided one at a time against this single state.
//! 3. Feed every `bank_events` record and every `transfer_command_feedback` record to
//!    [`saga::Saga::handle`] and send the commands it returns.

pub mod alert_rules;
pub mod bank_account;
mod command_meta;
pub mod holds;
mod reason;
pub mod refused_credits;
pub mod saga;
pub mod standing_orders;
pub mod transfer;
pub mod user;

#[cfg(test)]
pub(crate) mod fixtures;

pub use bank_account::BankAccounts;
pub use command_meta::CommandMeta;
pub use reason::Reason;
pub use transfer::{TransferStatus, Transfers};
pub use user::Users;

use std::collections::BTreeSet;

use topology::routing::partition_of;
use topology::values::new_token;
use topology::{BankCommand, BankEvent, Id, TransferCommand, UserCommand, UserEvent};

/// What a state store kept of one transfer: its status (in its home partition) and the
/// movements booked for it, by account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferFacts {
    pub status: Option<TransferStatus>,
    pub bookings: Vec<(String, bank_account::Movement)>,
    /// The account that refused the transfer's credit, and why.
    pub refused_credit: Option<(String, String)>,
}

/// Values a decision needs but must not make up itself: passing them in keeps `decide` a pure
/// function of its inputs, so tests are deterministic and a decision can be reproduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fresh {
    /// A token for a new owner whose command came without a token hash (its hash is kept, the
    /// token itself is thrown away).
    pub token: String,
    /// When the decision is made, in milliseconds since the epoch: a started transfer records
    /// it, and a day's cash deposits are counted by it.
    pub now_millis: i64,
}

impl Fresh {
    /// Random values and the clock for one decision; the runtime calls this, never the domain.
    pub fn generate() -> Self {
        let now_millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            });
        Fresh {
            token: new_token(),
            now_millis,
        }
    }
}

/// Everything the command handler must know to decide a command, rebuilt from `user_events`
/// and `bank_events`.
#[derive(Debug, Clone, Default)]
pub struct BankState {
    users: Users,
    accounts: BankAccounts,
    transfers: Transfers,
    refused_credits: refused_credits::RefusedCredits,
}

impl BankState {
    pub fn users(&self) -> &Users {
        &self.users
    }

    pub fn accounts(&self) -> &BankAccounts {
        &self.accounts
    }

    pub fn transfers(&self) -> &Transfers {
        &self.transfers
    }

    pub fn refused_credits(&self) -> &refused_credits::RefusedCredits {
        &self.refused_credits
    }

    pub fn evolve_user_event(&mut self, event: &UserEvent) {
        self.users.evolve(event);
    }

    // ---- a state store's view: live data kept in memory, a transfer's facts recalled ----

    pub fn restore_user(&mut self, username: String) {
        self.users.restore(username);
    }

    pub fn restore_account(&mut self, iban: String, record: bank_account::AccountRecord) {
        self.accounts
            .restore(iban, bank_account::BankAccount::from_record(record));
    }

    /// Puts back what a state store kept of one transfer, before a command of it is decided:
    /// its status, and its bookings on the accounts in memory.
    pub fn recall(&mut self, transfer: Id, facts: TransferFacts) {
        if let Some(status) = facts.status {
            self.transfers.recall(transfer, status);
        }
        for (iban, movement) in facts.bookings {
            self.accounts.recall_booking(&iban, transfer, movement);
        }
        if let Some((iban, reason)) = facts.refused_credit {
            self.refused_credits.recall(transfer, iban, reason);
        }
    }

    /// Drops the statuses and bookings of every transfer but those `keep` names: once in the
    /// state store, they are history, recalled when needed.
    pub fn forget_history(&mut self, keep: impl Fn(Id) -> bool) {
        self.transfers.forget(&keep);
        self.refused_credits.forget(&keep);
        self.accounts.forget_bookings(keep);
    }

    // ---- a hand-over of partitions between instances ----

    /// Forgets every aggregate of the partitions in `released`: users and accounts by their
    /// key, transfers by their home. What stays is exactly the state of the other partitions.
    pub fn release(&mut self, released: &BTreeSet<i32>) {
        let kept = |key: &str| !released.contains(&partition_of(key));
        self.users.retain(kept);
        self.accounts.retain(kept);
        self.transfers
            .retain_homes(|partition| !released.contains(&partition));
        self.refused_credits
            .retain_partitions(|partition| !released.contains(&partition));
    }

    /// Takes in the state of partitions rebuilt on their own (none of them held here).
    pub fn absorb(&mut self, other: BankState) {
        self.users.absorb(other.users);
        self.accounts.absorb(other.accounts);
        self.transfers.absorb(other.transfers);
        self.refused_credits.absorb(other.refused_credits);
    }

    pub fn evolve_bank_event(&mut self, event: &BankEvent) {
        self.accounts.evolve(event);
        self.transfers.evolve(event);
        self.refused_credits.evolve(event);
    }

    /// A command from `user_commands`; its events go to `user_events`.
    pub fn decide_user_command(&self, command: &UserCommand) -> Result<Vec<UserEvent>, Reason> {
        match command {
            UserCommand::CreateUserAccountCommand(command) => user::decide(&self.users, command),
            UserCommand::ChangeUserPasswordCommand(command) => {
                user::decide_password_change(&self.users, command)
            }
        }
    }

    /// A command from `bank_commands`; its events go to `bank_events`.
    pub fn decide_bank_command(
        &self,
        command: &BankCommand,
        fresh: &Fresh,
    ) -> Result<Vec<BankEvent>, Reason> {
        use bank_account::Command as Account;
        use holds::Command as Hold;
        use standing_orders::Command as Order;
        use transfer::Command as Transfer;
        let (accounts, transfers) = (&self.accounts, &self.transfers);
        match command {
            BankCommand::CreateBankAccountCommand(c) => {
                bank_account::decide(accounts, Account::CreateBankAccount(c, fresh))
            }
            BankCommand::AddUserToBankAccountCommand(c) => {
                bank_account::decide(accounts, Account::AddUserToBankAccount(c, fresh))
            }
            BankCommand::RemoveUserFromBankAccountCommand(c) => {
                bank_account::decide(accounts, Account::RemoveUserFromBankAccount(c))
            }
            BankCommand::MoneyTransferCommand(c) => transfer::decide(
                transfers,
                accounts,
                Transfer::MoneyTransfer(c, fresh.now_millis),
            ),
            BankCommand::MarkTransferCompletedCommand(c) => {
                transfer::decide(transfers, accounts, Transfer::MarkTransferCompleted(c))
            }
            BankCommand::MarkTransferFailedCommand(c) => {
                transfer::decide(transfers, accounts, Transfer::MarkTransferFailed(c))
            }
            BankCommand::SetAlertCommand(c) => alert_rules::decide_set(accounts, c),
            BankCommand::RemoveAlertCommand(c) => alert_rules::decide_remove(accounts, c),
            BankCommand::HoldMoneyCommand(c) => {
                holds::decide(transfers, accounts, Hold::HoldMoney(c, fresh.now_millis))
            }
            BankCommand::CaptureHoldCommand(c) => {
                holds::decide(transfers, accounts, Hold::CaptureHold(c, fresh.now_millis))
            }
            BankCommand::VoidHoldCommand(c) => {
                holds::decide(transfers, accounts, Hold::VoidHold(c))
            }
            BankCommand::SetStandingOrderCommand(c) => {
                standing_orders::decide(transfers, accounts, Order::Set(c, fresh.now_millis))
            }
            BankCommand::CancelStandingOrderCommand(c) => {
                standing_orders::decide(transfers, accounts, Order::Cancel(c))
            }
        }
    }

    /// What falls due at `now_millis` on this state's accounts without a command: the
    /// releases of expired holds (see [`holds`]) and the runs of standing orders (see
    /// [`standing_orders`]).
    pub fn decide_due(&self, now_millis: i64) -> Vec<BankEvent> {
        let mut events = holds::expire(&self.accounts, now_millis);
        events.extend(standing_orders::due(
            &self.accounts,
            &self.transfers,
            now_millis,
        ));
        events
    }

    /// When [`BankState::decide_due`] has something to decide next, if ever.
    pub fn next_due(&self) -> Option<i64> {
        let holds = holds::next_expiry(&self.accounts);
        let orders = standing_orders::next_due(&self.accounts);
        holds.into_iter().chain(orders).min()
    }

    /// A saga command from `transfer_commands`; its events go to `bank_events`.
    pub fn decide_transfer_command(
        &self,
        command: &TransferCommand,
    ) -> Result<Vec<BankEvent>, Reason> {
        use bank_account::Command as Account;
        let command = match command {
            TransferCommand::DebitMoneyCommand(c) => Account::DebitMoney(c),
            TransferCommand::CreditMoneyCommand(c) => {
                refused_credits::decide(&self.refused_credits, c)?;
                Account::CreditMoney(c)
            }
            TransferCommand::ReturnMoneyCommand(c) => Account::ReturnMoney(c),
        };
        bank_account::decide(&self.accounts, command)
    }

    /// The events that record `command`'s refusal for `reason`: a first refusal of a credit
    /// (see [`refused_credits`]); no other refusal leaves an event.
    pub fn refusal_events(&self, command: &TransferCommand, reason: &Reason) -> Vec<BankEvent> {
        match (command, reason) {
            (TransferCommand::CreditMoneyCommand(_), Reason::Repeated(_)) => Vec::new(),
            (TransferCommand::CreditMoneyCommand(credit), _) => {
                vec![refused_credits::refused(credit, reason)]
            }
            _ => Vec::new(),
        }
    }
}

/// The `additional_info` of the `CommandSucceeded` for a command that produced `events`: the
/// reason of a failed transfer (so whoever waits for the transfer learns why). A new account's
/// token is not told: it never travels, the GraphQL endpoint made it.
pub fn additional_info(events: &[BankEvent]) -> Option<String> {
    events.iter().find_map(|event| match event {
        BankEvent::TransferFailedEvent(failed) => Some(failed.reason.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use topology::{MarkTransferFailedCommand, TransferCompletedEvent, TransferFailedEvent};

    #[test]
    fn additional_info_is_the_failure_reason_never_a_token() {
        let cases: [(Vec<BankEvent>, Option<&str>); 5] = [
            (vec![created(IBAN_A, "alice", "t-1")], None),
            (vec![created_hashed(IBAN_A, "alice", "t-1")], None),
            (
                vec![TransferFailedEvent {
                    id: id(1),
                    reason: "iban not known".into(),
                }
                .into()],
                Some("iban not known"),
            ),
            (vec![TransferCompletedEvent { id: id(1) }.into()], None),
            (vec![], None),
        ];
        for (events, expected) in cases {
            assert_eq!(additional_info(&events).as_deref(), expected, "{events:?}");
        }
    }

    #[test]
    fn fresh_values_are_new_tokens() {
        let fresh = Fresh::generate();
        assert_eq!(fresh.token.len(), 20);
        assert_ne!(fresh, Fresh::generate());
        assert!(fresh.now_millis > 1_700_000_000_000, "{fresh:?}");
    }

    #[test]
    fn decided_events_evolve_the_state_they_were_decided_on() {
        let mut state = BankState::default();
        state.evolve_bank_event(&created(IBAN_A, "alice", "t-a"));
        let start = transfer_command(1, CASH_FROM, IBAN_A, 500);
        let started = state
            .decide_bank_command(&start.into(), &fresh())
            .unwrap_or_default();
        started.iter().for_each(|e| state.evolve_bank_event(e));
        assert_eq!(
            state.transfers().status(id(1)),
            Some(TransferStatus::Started)
        );

        let fail = MarkTransferFailedCommand {
            id: id(1),
            reason: "because".into(),
        };
        let failed = state.decide_bank_command(&fail.into(), &fresh());
        assert_eq!(
            failed,
            Ok(vec![TransferFailedEvent {
                id: id(1),
                reason: "because".into()
            }
            .into()])
        );
    }
}
