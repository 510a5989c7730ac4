//! Alert rules of an account: an owner asks to hear about money moving, and the read side
//! judges every money event against the rules as they stood at that event (see
//! `projector::alerts`). Checked in this order, the first failing rule wins:
//!
//! - SetAlert: BalanceBelow / LargeDebit without a threshold, or with one ≤ 0 → `threshold
//!   should be positive`; AnyCredit with a threshold → `threshold does not apply to
//!   ANY_CREDIT`; unknown IBAN → `iban not known`; not owner → `user is no owner of bank
//!   account`; wrong token → `token is not valid`; else AlertSet (replacing a rule of the same
//!   kind).
//! - RemoveAlert: unknown IBAN, not owner, wrong token as above; else AlertRemoved, also when
//!   no rule of that kind is set (removing is idempotent, like a retried DELETE).
//!
//! Why the owner checks are the debit's: a rule reveals the account's movements to whoever
//! sets it, exactly what taking money out of it would need. Threshold checks come first
//! because they judge the command alone, like a debit's amount check.
//!
//! The command side keeps no rules: nothing it decides depends on them. The events still go to
//! `bank_events`, keyed by the IBAN, so a rule and the money movements it watches share one
//! partition and are read in one order.

use topology::{
    AlertKind, AlertRemovedEvent, AlertSetEvent, BankEvent, RemoveAlertCommand, SetAlertCommand,
};

use super::{BankAccounts, Reason};

pub fn decide_set(accounts: &BankAccounts, c: &SetAlertCommand) -> Result<Vec<BankEvent>, Reason> {
    check_threshold(c.alert_kind, c.threshold)?;
    accounts.authorize(&c.iban, &c.username, &c.token)?;
    Ok(vec![AlertSetEvent {
        iban: c.iban.clone(),
        alert_kind: c.alert_kind,
        threshold: c.threshold,
    }
    .into()])
}

pub fn decide_remove(
    accounts: &BankAccounts,
    c: &RemoveAlertCommand,
) -> Result<Vec<BankEvent>, Reason> {
    accounts.authorize(&c.iban, &c.username, &c.token)?;
    Ok(vec![AlertRemovedEvent {
        iban: c.iban.clone(),
        alert_kind: c.alert_kind,
    }
    .into()])
}

fn check_threshold(kind: AlertKind, threshold: Option<i64>) -> Result<(), Reason> {
    match (kind, threshold) {
        (AlertKind::AnyCredit, None) => Ok(()),
        (AlertKind::AnyCredit, Some(_)) => Err(Reason::ThresholdDoesNotApplyToAnyCredit),
        (AlertKind::BalanceBelow | AlertKind::LargeDebit, Some(cents)) if cents > 0 => Ok(()),
        (AlertKind::BalanceBelow | AlertKind::LargeDebit, _) => {
            Err(Reason::ThresholdShouldBePositive)
        }
    }
}

#[cfg(test)]
mod tests {
    use topology::proofs::token_hash;
    use topology::{BankAccountCreatedEvent, Id};

    use super::*;

    const IBAN: &str = "NL66OPEN0000000000";

    /// alice owns the account with token `alice-token`: the command handler knows its hash.
    fn accounts() -> BankAccounts {
        let mut accounts = BankAccounts::default();
        accounts.evolve(
            &BankAccountCreatedEvent {
                iban: IBAN.into(),
                token: String::new(),
                username: "alice".into(),
                token_hash: Some(token_hash("alice-token")),
                token_nonce: None,
            }
            .into(),
        );
        accounts
    }

    /// The same account created before the token hashes: its event carries the token itself.
    fn legacy_accounts() -> BankAccounts {
        let mut accounts = BankAccounts::default();
        accounts.evolve(
            &BankAccountCreatedEvent {
                iban: IBAN.into(),
                token: "alice-token".into(),
                username: "alice".into(),
                token_hash: None,
                token_nonce: None,
            }
            .into(),
        );
        accounts
    }

    /// alice sets a rule; the command carries the hash of her token.
    fn set(kind: AlertKind, threshold: Option<i64>) -> SetAlertCommand {
        SetAlertCommand {
            id: Id([1; 16]),
            iban: IBAN.into(),
            username: "alice".into(),
            token: token_hash("alice-token"),
            alert_kind: kind,
            threshold,
        }
    }

    fn remove(username: &str, token: &str) -> RemoveAlertCommand {
        RemoveAlertCommand {
            id: Id([2; 16]),
            iban: IBAN.into(),
            username: username.into(),
            token: token_hash(token),
            alert_kind: AlertKind::LargeDebit,
        }
    }

    #[test]
    fn an_owner_sets_each_kind_with_the_threshold_it_needs() {
        for (kind, threshold) in [
            (AlertKind::BalanceBelow, Some(1)),
            (AlertKind::LargeDebit, Some(10_000)),
            (AlertKind::AnyCredit, None),
        ] {
            assert_eq!(
                decide_set(&accounts(), &set(kind, threshold)),
                Ok(vec![AlertSetEvent {
                    iban: IBAN.into(),
                    alert_kind: kind,
                    threshold,
                }
                .into()])
            );
        }
    }

    #[test]
    fn a_missing_zero_or_negative_threshold_is_refused_where_one_is_needed() {
        for kind in [AlertKind::BalanceBelow, AlertKind::LargeDebit] {
            for threshold in [None, Some(0), Some(-1), Some(i64::MIN)] {
                assert_eq!(
                    decide_set(&accounts(), &set(kind, threshold)),
                    Err(Reason::ThresholdShouldBePositive),
                    "{kind:?} {threshold:?}"
                );
            }
        }
    }

    #[test]
    fn any_credit_refuses_a_threshold() {
        assert_eq!(
            decide_set(&accounts(), &set(AlertKind::AnyCredit, Some(5))),
            Err(Reason::ThresholdDoesNotApplyToAnyCredit)
        );
    }

    #[test]
    fn owner_and_token_are_checked_with_the_debit_reasons() {
        let mut stranger = set(AlertKind::AnyCredit, None);
        stranger.username = "mallory".into();
        assert_eq!(
            decide_set(&accounts(), &stranger),
            Err(Reason::UserIsNoOwnerOfBankAccount)
        );
        let mut wrong_token = set(AlertKind::AnyCredit, None);
        wrong_token.token = token_hash("guess");
        assert_eq!(
            decide_set(&accounts(), &wrong_token),
            Err(Reason::TokenIsNotValid)
        );
        let mut in_clear = set(AlertKind::AnyCredit, None);
        in_clear.token = "alice-token".into();
        for accounts in [accounts(), legacy_accounts()] {
            assert_eq!(
                decide_set(&accounts, &in_clear),
                Err(Reason::TokenIsNotValid),
                "the token itself instead of its hash"
            );
        }
        let mut unknown = set(AlertKind::AnyCredit, None);
        unknown.iban = "NL66OPEN0000000001".into();
        assert_eq!(decide_set(&accounts(), &unknown), Err(Reason::IbanNotKnown));
        assert_eq!(
            decide_remove(&accounts(), &remove("mallory", "alice-token")),
            Err(Reason::UserIsNoOwnerOfBankAccount)
        );
        assert_eq!(
            decide_remove(&accounts(), &remove("alice", "guess")),
            Err(Reason::TokenIsNotValid)
        );
    }

    #[test]
    fn the_threshold_is_judged_before_the_owner() {
        let mut stranger = set(AlertKind::LargeDebit, None);
        stranger.username = "mallory".into();
        assert_eq!(
            decide_set(&accounts(), &stranger),
            Err(Reason::ThresholdShouldBePositive)
        );
    }

    #[test]
    fn an_owner_from_before_the_token_hashes_uses_the_hash_of_their_token() {
        assert_eq!(
            decide_set(&legacy_accounts(), &set(AlertKind::AnyCredit, None)),
            Ok(vec![AlertSetEvent {
                iban: IBAN.into(),
                alert_kind: AlertKind::AnyCredit,
                threshold: None,
            }
            .into()])
        );
        assert_eq!(
            decide_remove(&legacy_accounts(), &remove("alice", "guess")),
            Err(Reason::TokenIsNotValid)
        );
    }

    #[test]
    fn removing_a_rule_that_is_not_set_still_succeeds() {
        assert_eq!(
            decide_remove(&accounts(), &remove("alice", "alice-token")),
            Ok(vec![AlertRemovedEvent {
                iban: IBAN.into(),
                alert_kind: AlertKind::LargeDebit,
            }
            .into()])
        );
    }
}
