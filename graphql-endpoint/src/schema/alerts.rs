//! The GraphQL types of alerts: rules an owner sets on an account, and the alerts they fire.

use std::sync::Arc;

use async_graphql::{Context, Enum, Result, SimpleObject};
use topology::AlertEvent;

use super::access::{acting_owner, caller, forbidden, NOT_AN_OWNER};
use super::errors::graphql_error;
use crate::bank::Bank;
use crate::reads;
use crate::sessions::Role;

/// The credentials `alert_rules` and `alerts` ask the projector with (a username and the hash of
/// a token): the given ones, the logged-in owner's own, or for an employee those of one of the
/// account's owners (the endpoint has checked the employee's right to read; the projector
/// checks an owner's).
pub async fn rules_reader(
    ctx: &Context<'_>,
    iban: &str,
    username: Option<String>,
    token: Option<String>,
) -> Result<(String, String)> {
    if token.is_some() {
        return acting_owner(ctx, iban, username, token).await;
    }
    let claims = caller(ctx)?;
    if claims.role == Role::Customer {
        return acting_owner(ctx, iban, username, None).await;
    }
    let bank = ctx.data::<Arc<Bank>>()?;
    let owners = bank
        .rights
        .owners_of(&bank.queries, iban)
        .await
        .map_err(|e| graphql_error(e.into()))?;
    owners
        .and_then(|owners| owners.into_iter().next())
        .map(|owner| (owner.username, owner.token_hash))
        .ok_or_else(|| forbidden(NOT_AN_OWNER))
}

/// What an alert rule watches. Thresholds are in cents.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A transaction takes the balance from at least the threshold to below it.
    BalanceBelow,
    /// A debit of at least the threshold.
    LargeDebit,
    /// Any money coming in (no threshold).
    AnyCredit,
}

impl From<AlertKind> for topology::AlertKind {
    fn from(kind: AlertKind) -> Self {
        match kind {
            AlertKind::BalanceBelow => topology::AlertKind::BalanceBelow,
            AlertKind::LargeDebit => topology::AlertKind::LargeDebit,
            AlertKind::AnyCredit => topology::AlertKind::AnyCredit,
        }
    }
}

impl From<topology::AlertKind> for AlertKind {
    fn from(kind: topology::AlertKind) -> Self {
        match kind {
            topology::AlertKind::BalanceBelow => AlertKind::BalanceBelow,
            topology::AlertKind::LargeDebit => AlertKind::LargeDebit,
            topology::AlertKind::AnyCredit => AlertKind::AnyCredit,
        }
    }
}

impl From<reads::AlertRuleKind> for AlertKind {
    fn from(kind: reads::AlertRuleKind) -> Self {
        topology::AlertKind::from(kind).into()
    }
}

/// Why an alert fired: a rule of one of the [`AlertKind`]s, or a standing order's run that
/// failed (always told, no rule needed).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertCause {
    BalanceBelow,
    LargeDebit,
    AnyCredit,
    /// A run of a standing order failed (e.g. not enough money); the order goes on with its
    /// next run.
    StandingOrderFailed,
}

impl From<topology::AlertKind> for AlertCause {
    fn from(kind: topology::AlertKind) -> Self {
        match kind {
            topology::AlertKind::BalanceBelow => AlertCause::BalanceBelow,
            topology::AlertKind::LargeDebit => AlertCause::LargeDebit,
            topology::AlertKind::AnyCredit => AlertCause::AnyCredit,
        }
    }
}

/// One rule of an account.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct AlertRule {
    pub kind: AlertKind,
    /// Cents; null for ANY_CREDIT.
    pub threshold: Option<i64>,
}

impl AlertRule {
    pub fn from_read(rule: &reads::AlertRule) -> Self {
        Self {
            kind: rule.kind.into(),
            threshold: rule.threshold,
        }
    }
}

/// An alert: a rule fired, or a standing order's run failed.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct Alert {
    pub kind: AlertCause,
    pub iban: String,
    /// What happened, in words.
    pub message: String,
    /// The transaction that fired it; null for STANDING_ORDER_FAILED (no money moved).
    pub transaction_id: Option<i32>,
    /// The transfer of the standing order's run that failed (transfer_status tells its
    /// reason); null for the other kinds.
    pub transfer_id: Option<String>,
    /// When its event was written: RFC 3339 in UTC.
    pub at: String,
}

impl Alert {
    /// `written_ms`: when the alert record itself was written, for an alert without the time
    /// of its event.
    pub fn from_event(event: &AlertEvent, written_ms: Option<i64>) -> Self {
        match event {
            AlertEvent::AlertTriggeredEvent(event) => Self {
                kind: event.alert_kind.into(),
                iban: event.iban.clone(),
                message: event.message.clone(),
                transaction_id: Some(event.transaction_id),
                transfer_id: None,
                at: at(event.at_millis, written_ms),
            },
            AlertEvent::StandingOrderRunFailedEvent(event) => Self {
                kind: AlertCause::StandingOrderFailed,
                iban: event.iban.clone(),
                message: event.message.clone(),
                transaction_id: None,
                transfer_id: Some(event.transfer_id.to_uuid_string()),
                at: at(event.at_millis, written_ms),
            },
        }
    }
}

fn at(at_millis: Option<i64>, written_ms: Option<i64>) -> String {
    crate::instants::format(at_millis.or(written_ms).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_the_wire_and_the_projector_names() {
        for kind in [
            AlertKind::BalanceBelow,
            AlertKind::LargeDebit,
            AlertKind::AnyCredit,
        ] {
            assert_eq!(AlertKind::from(topology::AlertKind::from(kind)), kind);
            let read = reads::AlertRuleKind::from(topology::AlertKind::from(kind));
            assert_eq!(AlertKind::from(read), kind);
        }
        let read = reads::AlertRule {
            kind: reads::AlertRuleKind::LargeDebit,
            threshold: Some(5),
        };
        assert_eq!(
            AlertRule::from_read(&read),
            AlertRule {
                kind: AlertKind::LargeDebit,
                threshold: Some(5)
            }
        );
    }

    #[test]
    fn an_alert_shows_the_time_of_its_money_event() {
        let event = topology::AlertTriggeredEvent {
            iban: "NL66OPEN0000000000".into(),
            alert_kind: topology::AlertKind::AnyCredit,
            threshold: None,
            message: "Credit".into(),
            transaction_id: 3,
            at_millis: Some(1_796_025_600_000),
        };
        let alert = Alert::from_event(&AlertEvent::AlertTriggeredEvent(event), Some(0));
        assert_eq!(alert.at, "2026-11-30T08:00:00.000Z");
        assert_eq!(alert.kind, AlertCause::AnyCredit);
        assert_eq!(alert.transaction_id, Some(3));
    }

    #[test]
    fn a_failed_standing_order_run_is_an_alert_with_its_transfer() {
        let transfer = topology::Id::random();
        let event = topology::StandingOrderRunFailedEvent {
            id: topology::Id::random(),
            iban: "NL66OPEN0000000000".into(),
            transfer_id: transfer,
            to: "NL20OPEN0123456789".into(),
            amount: 1_200,
            description: "rent".into(),
            reason: "insufficient funds".into(),
            message: "Standing order payment failed".into(),
            at_millis: None,
        };
        let alert = Alert::from_event(
            &AlertEvent::StandingOrderRunFailedEvent(event),
            Some(1_796_025_600_000),
        );
        assert_eq!(alert.kind, AlertCause::StandingOrderFailed);
        assert_eq!(alert.transaction_id, None);
        assert_eq!(alert.transfer_id, Some(transfer.to_uuid_string()));
        assert_eq!(
            alert.at, "2026-11-30T08:00:00.000Z",
            "the record's own time"
        );
    }
}
