//! The key each historical event gets in the co-partitioned layout, as `topology::routing` and
//! the command handler key new ones: user events by username, account events by the IBAN they
//! change, transfer events by the transfer's home account.

use topology::{routing, BankEvent, TopicMessage, UserEvent};

/// Which records a history topic holds, and so how to key them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `UserEvent`s, keyed by username.
    User,
    /// `BankEvent`s, keyed by IBAN or by the transfer's home.
    Bank,
}

impl EventKind {
    /// The kind of the topology's event topic `name`.
    pub fn of_topic(name: &str) -> Option<EventKind> {
        if name == UserEvent::TOPIC {
            Some(EventKind::User)
        } else if name == BankEvent::TOPIC {
            Some(EventKind::Bank)
        } else {
            None
        }
    }
}

/// The key rules themselves live with the partitioning, in `topology::routing`.
pub use topology::routing::{BankEventKey as BankKey, TransferHomes};

pub fn user_key(event: &UserEvent) -> String {
    routing::user_event_key(event).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use topology::values::CASH;
    use topology::Id;
    use topology::{
        MoneyCreditedEvent, MoneyDebitedEvent, TransferCompletedEvent, TransferFailedEvent,
        TransferStartedEvent, UserAccountCreatedEvent,
    };

    const ALICE: &str = "NL66OPEN0000000001";
    const BOB: &str = "NL66OPEN0000000002";

    fn started(id: Id, from: &str, to: &str) -> BankEvent {
        BankEvent::from(TransferStartedEvent {
            id,
            token: "token".into(),
            amount: 100,
            from: from.into(),
            to: to.into(),
            description: "rent".into(),
            username: "alice".into(),
            at_millis: None,
            token_hash: None,
        })
    }

    #[test]
    fn topic_names_pick_the_kind() {
        assert_eq!(EventKind::of_topic("user_events"), Some(EventKind::User));
        assert_eq!(EventKind::of_topic("bank_events"), Some(EventKind::Bank));
        assert_eq!(EventKind::of_topic("bank_commands"), None);
    }

    #[test]
    fn users_are_keyed_by_username() {
        let event = UserEvent::from(UserAccountCreatedEvent {
            username: "alice".into(),
            password: "hash".into(),
        });
        assert_eq!(user_key(&event), "alice");
    }

    #[test]
    fn money_events_go_to_the_account_they_change() {
        let homes = TransferHomes::default();
        let id = Id::random();
        let credited = BankEvent::from(MoneyCreditedEvent {
            iban: BOB.into(),
            amount: 100,
            id,
            transfer_from: Some(ALICE.into()),
            transfer_description: None,
        });
        let debited = BankEvent::from(MoneyDebitedEvent {
            iban: ALICE.into(),
            amount: 100,
            id,
        });
        assert_eq!(homes.key(&credited), BankKey::Routed(BOB.into()));
        assert_eq!(homes.key(&debited), BankKey::Routed(ALICE.into()));
    }

    #[test]
    fn transfer_events_go_to_the_transfers_home() {
        let mut homes = TransferHomes::default();
        let transfer = Id::random();
        let deposit = Id::random();
        for event in [started(transfer, ALICE, BOB), started(deposit, CASH, BOB)] {
            homes.learn(&event);
            assert!(matches!(homes.key(&event), BankKey::Routed(_)));
        }
        assert_eq!(homes.transfers(), 2);
        let completed = BankEvent::from(TransferCompletedEvent { id: transfer });
        let failed = BankEvent::from(TransferFailedEvent {
            id: deposit,
            reason: "closed".into(),
        });
        assert_eq!(homes.key(&completed), BankKey::Routed(ALICE.into()));
        assert_eq!(
            homes.key(&failed),
            BankKey::Routed(BOB.into()),
            "a deposit lives at `to`"
        );
    }

    #[test]
    fn a_transfer_end_without_its_start_is_keyed_by_the_transfer_id() {
        let homes = TransferHomes::default();
        let id = Id::random();
        let key = homes.key(&BankEvent::from(TransferCompletedEvent { id }));
        assert_eq!(key, BankKey::UnknownTransfer(id));
        assert_eq!(key.into_string(), id.to_uuid_string());
    }
}
