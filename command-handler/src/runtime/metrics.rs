//! What the command handler counts and times, in Prometheus terms (served on `/metrics`; see
//! `topology::telemetry`). Recorded after a batch is committed, so a batch that is aborted and
//! handled again is counted once.

use std::time::Duration;

use metrics::{counter, gauge, histogram};
use topology::{BankCommandFeedback, BankEvent, TransferCommandFeedback, UserCommandFeedback};
use topology::{CommandFailed, CommandName, CommandSucceeded};

use crate::handling::Output;

/// Every answer a committed batch gave: `open_bank_commands_handled_total{command, outcome}`.
pub fn commands_answered(outputs: &[Output]) {
    for output in outputs {
        let Some((command, succeeded)) = answer_of(output) else {
            continue;
        };
        let outcome = if succeeded { "succeeded" } else { "failed" };
        counter!(
            "open_bank_commands_handled_total",
            "command" => command.symbol().1,
            "outcome" => outcome
        )
        .increment(1);
    }
}

fn answer_of(output: &Output) -> Option<(CommandName, bool)> {
    let answer = |succeeded: Option<&CommandSucceeded>, failed: Option<&CommandFailed>| {
        succeeded
            .map(|s| (s.command_name, true))
            .or(failed.map(|f| (f.command_name, false)))
    };
    match output {
        Output::UserFeedback(_, UserCommandFeedback::CommandSucceeded(s))
        | Output::BankFeedback(_, BankCommandFeedback::CommandSucceeded(s))
        | Output::TransferFeedback(_, TransferCommandFeedback::CommandSucceeded(s)) => {
            answer(Some(s), None)
        }
        Output::UserFeedback(_, UserCommandFeedback::CommandFailed(f))
        | Output::BankFeedback(_, BankCommandFeedback::CommandFailed(f))
        | Output::TransferFeedback(_, TransferCommandFeedback::CommandFailed(f)) => {
            answer(None, Some(f))
        }
        _ => None,
    }
}

/// What a committed due tick decided (see `crate::handling::Handler::decide_due`):
/// `open_bank_due_decisions_total{kind}`, kind `hold_expired`, `standing_order_run` or
/// `standing_order_completed`.
pub fn due_decided(outputs: &[Output]) {
    for output in outputs {
        let kind = match output {
            Output::BankEvent(_, BankEvent::HoldReleasedEvent(_)) => "hold_expired",
            Output::BankEvent(_, BankEvent::StandingOrderRanEvent(_)) => "standing_order_run",
            Output::BankEvent(_, BankEvent::StandingOrderEndedEvent(_)) => {
                "standing_order_completed"
            }
            _ => continue,
        };
        counter!("open_bank_due_decisions_total", "kind" => kind).increment(1);
    }
}

/// A transaction committed `inputs` commands (and feedback) in `took`.
pub fn transaction_committed(took: Duration, inputs: usize) {
    histogram!("open_bank_transaction_commit_seconds").record(took.as_secs_f64());
    histogram!("open_bank_transaction_batch_records").record(inputs as f64);
}

/// A takeover rebuilt `partitions` partition tasks' state, replaying `records` events.
pub fn rebuilt(took: Duration, partitions: usize, records: u64) {
    histogram!("open_bank_rebuild_seconds").record(took.as_secs_f64());
    counter!("open_bank_replayed_records_total").increment(records);
    counter!("open_bank_partitions_rebuilt_total").increment(partitions as u64);
}

pub fn open_transfers(open: u64) {
    gauge!("open_bank_open_transfers").set(open as f64);
}

#[cfg(test)]
mod tests {
    use topology::{Id, UserAccountCreatedEvent, UserEvent};

    use super::*;

    #[test]
    fn only_feedback_is_an_answer() {
        let id = Id::random();
        let succeeded = Output::BankFeedback(
            String::new(),
            BankCommandFeedback::CommandSucceeded(CommandSucceeded {
                id,
                command_name: CommandName::MoneyTransferCommand,
                additional_info: None,
            }),
        );
        let failed = Output::TransferFeedback(
            String::new(),
            TransferCommandFeedback::CommandFailed(CommandFailed {
                id,
                command_name: CommandName::DebitMoneyCommand,
                reason: "token is not valid".into(),
            }),
        );
        let event = Output::UserEvent(
            String::new(),
            UserEvent::UserAccountCreatedEvent(UserAccountCreatedEvent {
                username: "u".into(),
                password: "p".into(),
            }),
        );
        assert_eq!(
            answer_of(&succeeded),
            Some((CommandName::MoneyTransferCommand, true))
        );
        assert_eq!(
            answer_of(&failed),
            Some((CommandName::DebitMoneyCommand, false))
        );
        assert_eq!(answer_of(&event), None);
    }
}
