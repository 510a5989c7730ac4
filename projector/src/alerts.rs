//! Alerts: each account's rules, and the alerts a money event fires under them.
//!
//! # Where alerts are derived, and why exactly once
//!
//! A rule is an `AlertSetEvent` / `AlertRemovedEvent` on `bank_events`, keyed by the IBAN like
//! every money event of that account, so rules and money movements of one account sit in one
//! partition in one order. The projector already reads every partition in that order, keeps
//! the account's state, and publishes what it derives from each money event exactly once
//! (see [`crate::publishing`]). Alerts are derived in the same step as the transaction: from
//! the rules as they stand right before the money event in its partition, so a rule changed
//! just before a debit judges that debit, and the alerts go out in the *same* producer
//! transaction as the derived transaction, with the same committed offset. What
//! makes the transaction exactly once therefore covers its alerts too: a replay derives the
//! same alerts from the same prefix of the partition (the rules are part of the state the
//! replay rebuilds, and of the state store), and the committed offset says whether they are
//! already out. No other service needs to join rules with transactions.
//!
//! # The rules
//!
//! | kind | fires on a transaction that… |
//! | --- | --- |
//! | `BalanceBelow(t)` | takes the balance from at least `t` to below `t` (crossing, not every debit below) |
//! | `LargeDebit(t)` | takes out at least `t` |
//! | `AnyCredit` | brings money in: a credit, or money returned by a failed transfer |
//!
//! # Without a rule: a standing order's run that failed
//!
//! A run whose transfer fails moves no money, so it derives no transaction; its
//! `TransferFailedEvent` derives a `StandingOrderRunFailedEvent` on `alert_events` instead
//! (`read_model::standing_orders`), published from that event's partition and offset exactly
//! like a derived transaction, and kept in the state store until it is out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use topology::values::format_euro;
use topology::AlertTriggeredEvent;

/// One rule as `AlertRulesQuery` answers it: `{kind, threshold}`, the threshold in cents.
pub use crate::query_results::AlertRule;
/// [`topology::AlertKind`] with a stable encoding for the state store (by position) and the
/// query results (by name).
pub use crate::query_results::AlertRuleKind as Kind;
use crate::query_results::Transaction;

/// The rules of one account: at most one per kind; setting a kind again replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRules(BTreeMap<Kind, Option<i64>>);

impl AlertRules {
    pub fn set(&mut self, kind: Kind, threshold: Option<i64>) {
        self.0.insert(kind, threshold);
    }

    pub fn remove(&mut self, kind: Kind) {
        self.0.remove(&kind);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rules in kind order.
    pub fn list(&self) -> Vec<AlertRule> {
        self.0
            .iter()
            .map(|(&kind, &threshold)| AlertRule { kind, threshold })
            .collect()
    }

    /// The alerts `transaction` fires, in kind order. `changed_by` is signed (negative for
    /// money out) and `new_balance` is the balance right after it.
    pub fn judge(&self, transaction: &Transaction) -> Vec<FiredAlert> {
        self.0
            .iter()
            .filter_map(|(&kind, &threshold)| {
                let message = message(kind, threshold, transaction)?;
                Some(FiredAlert {
                    kind,
                    threshold,
                    message,
                })
            })
            .collect()
    }
}

/// An alert a transaction fired, kept with the transaction in the state store so an alert not
/// yet published when the projector stopped goes out after the restart without re-judging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredAlert {
    pub kind: Kind,
    pub threshold: Option<i64>,
    pub message: String,
}

impl FiredAlert {
    /// The record on `alert_events` for this alert of `transaction`.
    pub fn event(&self, transaction: &Transaction) -> AlertTriggeredEvent {
        AlertTriggeredEvent {
            iban: transaction.iban.clone(),
            alert_kind: self.kind.into(),
            threshold: self.threshold,
            message: self.message.clone(),
            transaction_id: transaction.id,
            at_millis: transaction.at_millis,
        }
    }
}

/// The message of an alert of `kind` fired by `transaction`, or `None` when it does not fire.
fn message(kind: Kind, threshold: Option<i64>, transaction: &Transaction) -> Option<String> {
    let change = transaction.changed_by;
    let after = transaction.new_balance;
    match (kind, threshold) {
        (Kind::BalanceBelow, Some(limit)) => {
            let before = after.saturating_sub(change);
            (before >= limit && after < limit).then(|| {
                format!(
                    "Balance of {} fell below {}: now {}",
                    transaction.iban,
                    format_euro(limit),
                    format_euro(after)
                )
            })
        }
        (Kind::LargeDebit, Some(limit)) => {
            let out = change.checked_neg().filter(|out| *out > 0)?;
            (out >= limit).then(|| {
                format!(
                    "Debit of {} from {} to {}: {}",
                    format_euro(out),
                    transaction.iban,
                    transaction.from_to,
                    transaction.description
                )
            })
        }
        (Kind::AnyCredit, _) => (change > 0).then(|| {
            format!(
                "Credit of {} to {} from {}: {}",
                format_euro(change),
                transaction.iban,
                transaction.from_to,
                transaction.description
            )
        }),
        // The command handler refuses these rules; one in a forged log fires nothing.
        (Kind::BalanceBelow | Kind::LargeDebit, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topology::AlertKind;

    const IBAN: &str = "NL66OPEN0000000000";

    fn transaction(changed_by: i64, new_balance: i64) -> Transaction {
        Transaction {
            id: 7,
            iban: IBAN.into(),
            new_balance,
            changed_by,
            from_to: "NL20OPEN0123456789".into(),
            description: "rent".into(),
            at_millis: Some(1_764_489_600_000),
        }
    }

    fn rules(kind: Kind, threshold: Option<i64>) -> AlertRules {
        let mut rules = AlertRules::default();
        rules.set(kind, threshold);
        rules
    }

    fn fires(kind: Kind, threshold: Option<i64>, changed_by: i64, new_balance: i64) -> bool {
        !rules(kind, threshold)
            .judge(&transaction(changed_by, new_balance))
            .is_empty()
    }

    #[test]
    fn balance_below_fires_when_the_balance_crosses_the_threshold() {
        let below = |changed_by, new_balance| {
            fires(Kind::BalanceBelow, Some(10_000), changed_by, new_balance)
        };
        assert!(
            below(-1, 9_999),
            "from exactly the threshold to one cent below"
        );
        assert!(below(-50_000, -40_000), "from far above to far below");
        assert!(
            !below(-1, 10_000),
            "down to exactly the threshold is not below"
        );
        assert!(!below(-1, 9_998), "already below before: no second alert");
        assert!(!below(5, 9_999), "a credit that stays below");
        assert!(!below(20_000, 29_999), "a credit that rises above");
    }

    #[test]
    fn large_debit_fires_from_the_threshold_on() {
        let large = |changed_by| fires(Kind::LargeDebit, Some(25_000), changed_by, 0);
        assert!(large(-25_000), "exactly the threshold");
        assert!(large(-25_001));
        assert!(!large(-24_999), "one cent less");
        assert!(!large(25_000), "a credit of that size");
        assert!(
            !large(i64::MIN),
            "an amount beyond negation fires nothing, and never panics"
        );
    }

    #[test]
    fn any_credit_fires_for_every_incoming_cent_and_no_debit() {
        assert!(fires(Kind::AnyCredit, None, 1, 1));
        assert!(!fires(Kind::AnyCredit, None, -1, -1));
    }

    #[test]
    fn a_rule_without_its_threshold_never_fires() {
        assert!(!fires(Kind::BalanceBelow, None, -1_000_000, -1_000_000));
        assert!(!fires(Kind::LargeDebit, None, -1_000_000, -1_000_000));
    }

    #[test]
    fn setting_a_kind_again_replaces_it_and_removing_it_silences_it() {
        let mut rules = rules(Kind::LargeDebit, Some(100));
        rules.set(Kind::LargeDebit, Some(1_000));
        assert_eq!(
            rules.list(),
            [AlertRule {
                kind: Kind::LargeDebit,
                threshold: Some(1_000)
            }]
        );
        assert!(rules.judge(&transaction(-500, 0)).is_empty());
        rules.remove(Kind::LargeDebit);
        assert!(rules.is_empty());
        assert!(rules.judge(&transaction(-5_000, 0)).is_empty());
    }

    #[test]
    fn every_rule_that_fires_gives_one_alert_in_kind_order_with_its_message() {
        let mut rules = AlertRules::default();
        rules.set(Kind::AnyCredit, None);
        rules.set(Kind::LargeDebit, Some(100));
        rules.set(Kind::BalanceBelow, Some(100));
        let fired = rules.judge(&transaction(-200, 50));
        assert_eq!(
            fired,
            [
                FiredAlert {
                    kind: Kind::BalanceBelow,
                    threshold: Some(100),
                    message: "Balance of NL66OPEN0000000000 fell below € 1,00: now € 0,50".into(),
                },
                FiredAlert {
                    kind: Kind::LargeDebit,
                    threshold: Some(100),
                    message: "Debit of € 2,00 from NL66OPEN0000000000 to NL20OPEN0123456789: rent"
                        .into(),
                },
            ]
        );
        let event = fired[1].event(&transaction(-200, 50));
        assert_eq!(event.alert_kind, AlertKind::LargeDebit);
        assert_eq!(event.transaction_id, 7);
        assert_eq!(event.at_millis, Some(1_764_489_600_000));
        assert_eq!(
            rules.judge(&transaction(300, 350))[0].message,
            "Credit of € 3,00 to NL66OPEN0000000000 from NL20OPEN0123456789: rent"
        );
    }
}
