//! The GraphQL types of alerts: rules an owner sets on an account, and the alerts they fire.

use std::sync::Arc;

use async_graphql::{Context, Enum, Result, SimpleObject};
use topology::AlertTriggeredEvent;

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

/// An alert a rule fired.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(rename_fields = "snake_case")]
pub struct Alert {
    pub kind: AlertKind,
    pub iban: String,
    /// What happened, in words.
    pub message: String,
    /// The transaction that fired it.
    pub transaction_id: i32,
    /// When its money event was written: RFC 3339 in UTC.
    pub at: String,
}

impl Alert {
    /// `written_ms`: when the alert record itself was written, for an alert without the time
    /// of its money event.
    pub fn from_event(event: &AlertTriggeredEvent, written_ms: Option<i64>) -> Self {
        let at = event.at_millis.or(written_ms).unwrap_or_default();
        Self {
            kind: event.alert_kind.into(),
            iban: event.iban.clone(),
            message: event.message.clone(),
            transaction_id: event.transaction_id,
            at: crate::instants::format(at),
        }
    }
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
        let event = AlertTriggeredEvent {
            iban: "NL66OPEN0000000000".into(),
            alert_kind: topology::AlertKind::AnyCredit,
            threshold: None,
            message: "Credit".into(),
            transaction_id: 3,
            at_millis: Some(1_796_025_600_000),
        };
        let alert = Alert::from_event(&event, Some(0));
        assert_eq!(alert.at, "2026-11-30T08:00:00.000Z");
        assert_eq!(alert.kind, AlertKind::AnyCredit);
    }
}
