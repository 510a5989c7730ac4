//! Holds on the read side: an account shows its open holds, and with them what is available
//! besides its booked balance. A hold and its end are keyed by the held IBAN, so they follow
//! the order of one partition like the account's money events.

use topology::{HoldCapturedEvent, HoldReleasedEvent, Id, MoneyHeldEvent};

use super::ReadModel;
use crate::query_results::{Account, Hold};

impl ReadModel {
    pub(crate) fn hold_money(&self, held: &MoneyHeldEvent) {
        let id = held.id.to_uuid_string();
        {
            let mut account = self
                .accounts
                .entry(held.iban.clone())
                .or_insert_with(|| Account::new(&held.iban));
            // A duplicated event holds nothing twice.
            if account.holds.iter().any(|hold| hold.id == id) {
                return;
            }
            account.holds.push(Hold {
                id,
                to: held.to.clone(),
                amount: held.amount,
                description: held.description.clone(),
                expires_at: held.expires_at,
            });
        }
        self.history.record_account(&held.iban);
    }

    pub(crate) fn capture_hold(&self, captured: &HoldCapturedEvent) {
        self.end_hold(&captured.iban, captured.id);
    }

    pub(crate) fn release_hold(&self, released: &HoldReleasedEvent) {
        self.end_hold(&released.iban, released.id);
    }

    fn end_hold(&self, iban: &str, id: Id) {
        let id = id.to_uuid_string();
        if let Some(mut account) = self.accounts.get_mut(iban) {
            account.holds.retain(|hold| hold.id != id);
        }
        self.history.record_account(iban);
    }
}
