//! A credit, once refused, stays refused.
//!
//! A transfer's credit can reach the account's partition more than once: the saga asks again
//! when an answer is late (the first question may have expired from `transfer_commands`), so
//! both questions may still be there. Most refusals would hold the second time too, but not all:
//! `iban not known` turns into a credit once the account's creation (still on its way in
//! `bank_commands`) is decided, and an overflow once the balance went down. By then the saga has
//! heard the first refusal and returned the money, so booking the second credit would make money
//! out of nothing. Hence a refused credit is an event in the account's partition,
//! CreditRefused, and a credit of the same transfer is answered with the same refusal ever
//! after, without looking at the account. Found by the command side's simulation
//! (`tests/simulation`).

use std::collections::HashMap;

use topology::routing::partition_of;
use topology::{BankEvent, CreditMoneyCommand, CreditRefusedEvent, Id};

use super::Reason;

/// Per transfer, the account that refused its credit and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusedCredits {
    by_transfer: HashMap<Id, (String, String)>,
}

impl RefusedCredits {
    pub fn evolve(&mut self, event: &BankEvent) {
        if let BankEvent::CreditRefusedEvent(refused) = event {
            self.recall(refused.id, refused.iban.clone(), refused.reason.clone());
        }
    }

    /// The refusal a state store kept for `transfer`.
    pub fn recall(&mut self, transfer: Id, iban: String, reason: String) {
        self.by_transfer.insert(transfer, (iban, reason));
    }

    /// The refusal already given to the credit of `transfer`, if any.
    pub fn refusal_of(&self, transfer: Id) -> Option<&(String, String)> {
        self.by_transfer.get(&transfer)
    }

    /// Keeps the refusals of the accounts `kept` accepts (by IBAN): a hand-over of partitions.
    pub fn retain_partitions(&mut self, kept: impl Fn(i32) -> bool) {
        self.by_transfer
            .retain(|_, (iban, _)| kept(partition_of(iban)));
    }

    pub fn absorb(&mut self, other: RefusedCredits) {
        self.by_transfer.extend(other.by_transfer);
    }

    /// Drops every refusal but those of the transfers `keep` names: a state store keeps them.
    pub fn forget(&mut self, keep: impl Fn(Id) -> bool) {
        self.by_transfer.retain(|transfer, _| keep(*transfer));
    }
}

/// The credit of a transfer whose credit was refused before: the same refusal, word for word.
pub fn decide(refused: &RefusedCredits, credit: &CreditMoneyCommand) -> Result<(), Reason> {
    match refused.refusal_of(credit.id) {
        Some((_, reason)) => Err(Reason::Repeated(reason.clone())),
        None => Ok(()),
    }
}

/// The event that keeps `reason`, the refusal of `credit`.
pub fn refused(credit: &CreditMoneyCommand, reason: &Reason) -> BankEvent {
    BankEvent::from(CreditRefusedEvent {
        iban: credit.iban.clone(),
        id: credit.id,
        reason: reason.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(id: Id) -> CreditMoneyCommand {
        CreditMoneyCommand {
            id,
            iban: "NL20OPEN0123456789".into(),
            amount: 1_000,
            transfer_from: None,
            transfer_description: None,
            saga_signature: None,
        }
    }

    #[test]
    fn a_refused_credit_is_refused_again_with_the_same_words() {
        let (first, other) = (Id::random(), Id::random());
        let mut refused = RefusedCredits::default();
        assert_eq!(decide(&refused, &credit(first)), Ok(()));
        refused.evolve(&super::refused(&credit(first), &Reason::IbanNotKnown));
        assert_eq!(
            decide(&refused, &credit(first)).map_err(|reason| reason.to_string()),
            Err("iban not known".to_string())
        );
        assert_eq!(decide(&refused, &credit(other)), Ok(()));
    }

    #[test]
    fn refusals_move_with_their_account_partition() {
        let id = Id::random();
        let mut refused = RefusedCredits::default();
        refused.evolve(&super::refused(&credit(id), &Reason::IbanNotKnown));
        let partition = partition_of("NL20OPEN0123456789");
        let mut moved = refused.clone();
        moved.retain_partitions(|p| p != partition);
        assert!(moved.refusal_of(id).is_none());
        refused.retain_partitions(|p| p == partition);
        assert!(refused.refusal_of(id).is_some());
    }
}
