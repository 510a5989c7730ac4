//! `money_transfer`: start a transfer and answer when its saga ends.
//!
//! A deposit into an account the caller does not own is refused by the command handler before
//! anything is recorded (the MoneyTransfer decision checks owner and token), so it needs no
//! look-up here, which could also lag behind an account created a moment ago.
//!
//! The client's uuid is the command id, so a retry with the same uuid is refused by the
//! command handler as already started and moves no money; the retry then reports the
//! original transfer's outcome (from `transfer_status` and the end feedback).

use std::time::Duration;

use tokio::time::Instant;
use topology::reasons::Refusal;
use topology::{BankCommand, CommandName, Id, MoneyTransferCommand};

use crate::bank::{Bank, RequestError};
use crate::bus::commands::{Expected, Slot};
use crate::bus::Feedback;
use crate::operations::TransferOutcome;
use crate::reads::TransferState;
use crate::validation::Transfer;

/// How often a retry asks the projector whether the original transfer has ended.
const STATUS_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub success: bool,
    pub reason: Option<String>,
    /// False when the wait ran out before the saga ended: the transfer may still complete, so
    /// a client must retry with the same uuid (or ask `transfer_status`), never with a new one.
    pub ended: bool,
}

impl Outcome {
    fn success() -> Self {
        Self {
            success: true,
            reason: None,
            ended: true,
        }
    }

    pub(crate) fn failed(reason: impl Into<String>) -> Self {
        Self {
            success: false,
            reason: Some(reason.into()),
            ended: true,
        }
    }

    fn timed_out(after: Duration) -> Self {
        Self {
            ended: false,
            ..Self::failed(format!(
                "no answer within {} s; the transfer may still end, ask transfer_status with this uuid",
                after.as_secs_f32()
            ))
        }
    }
}

type EndWaiter = Expected;

impl Bank {
    /// Starts the transfer and waits for its end (or the timeout); every answered transfer is
    /// timed from here: `open_bank_transfer_seconds{outcome}`.
    pub async fn money_transfer(&self, transfer: &Transfer) -> Result<Outcome, RequestError> {
        let started = std::time::Instant::now();
        let outcome = self.transfer_until_ended(transfer).await?;
        let (label, seen) = match (outcome.ended, outcome.success) {
            (false, _) => ("timeout", TransferOutcome::TimedOut),
            (true, true) => ("succeeded", TransferOutcome::Succeeded),
            (true, false) => ("failed", TransferOutcome::Failed),
        };
        let took = started.elapsed();
        metrics::histogram!("open_bank_transfer_seconds", "outcome" => label)
            .record(took.as_secs_f64());
        self.operations.transfer_answered(took, seen);
        Ok(outcome)
    }

    async fn transfer_until_ended(&self, transfer: &Transfer) -> Result<Outcome, RequestError> {
        let command = BankCommand::from(MoneyTransferCommand {
            id: transfer.id,
            token: transfer.token_hash.clone(),
            amount: transfer.amount,
            from: transfer.from.clone(),
            to: transfer.to.clone(),
            description: transfer.descr.clone(),
            username: transfer.username.clone(),
        });
        let started_before = |reason: &str| Refusal::TransferWasAlreadyStarted.matches(reason);
        self.until_transfer_ended(transfer.id, &command, started_before)
            .await
    }

    /// Sends `command`, which starts transfer `id` (a MoneyTransfer, or a hold's capture), and
    /// waits for the transfer's end. A refusal that `started_before` recognises means a retry:
    /// the outcome is then the earlier transfer's.
    pub(crate) async fn until_transfer_ended(
        &self,
        id: Id,
        command: &BankCommand,
        started_before: impl Fn(&str) -> bool,
    ) -> Result<Outcome, RequestError> {
        let _admitted = self.commands.admit()?;
        let timeout = self.commands.timeout();
        let deadline = Instant::now() + timeout;
        // Both answers are registered before sending: the saga may end before we look.
        let mut reply = self.commands.expect(id, Slot::Reply);
        let end = self.commands.expect(id, Slot::TransferEnd);
        self.commands.send(command).await?;
        match reply.until(deadline).await {
            None => Ok(Outcome::timed_out(timeout)),
            Some(Feedback::Failed { reason, .. }) if started_before(&reason) => {
                self.outcome_of_earlier(id, end, deadline, timeout).await
            }
            Some(Feedback::Failed { reason, .. }) => Ok(Outcome::failed(reason)),
            Some(Feedback::Succeeded { .. }) => {
                let mut end = end;
                Ok(match end.until(deadline).await {
                    Some(feedback) => end_outcome(feedback),
                    None => Outcome::timed_out(timeout),
                })
            }
        }
    }

    /// The outcome of a transfer started earlier under the same id: its recorded status, or
    /// its end feedback if it is still running.
    async fn outcome_of_earlier(
        &self,
        id: Id,
        mut end: EndWaiter,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Outcome, RequestError> {
        loop {
            // The projector may lag behind the command handler, so "started" is asked again.
            if let Some(status) = self.queries.transfer_status(id).await? {
                match status.status {
                    TransferState::Complete => return Ok(Outcome::success()),
                    TransferState::Failed => {
                        return Ok(Outcome::failed(
                            status.reason.unwrap_or_else(|| "transfer failed".into()),
                        ))
                    }
                    TransferState::Started => {}
                }
            }
            let poll = (Instant::now() + STATUS_POLL).min(deadline);
            if let Some(feedback) = end.until(poll).await {
                return Ok(end_outcome(feedback));
            }
            if Instant::now() >= deadline {
                return Ok(Outcome::timed_out(timeout));
            }
        }
    }
}

/// The saga's last word: MarkTransferCompleted → success; MarkTransferFailed → its reason.
fn end_outcome(feedback: Feedback) -> Outcome {
    match feedback {
        Feedback::Succeeded {
            command: CommandName::MarkTransferCompletedCommand,
            ..
        } => Outcome::success(),
        Feedback::Succeeded { info, .. } => {
            Outcome::failed(info.unwrap_or_else(|| "transfer failed".into()))
        }
        Feedback::Failed { reason, .. } => Outcome::failed(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_feedback_tells_the_outcome() {
        let completed = Feedback::Succeeded {
            command: CommandName::MarkTransferCompletedCommand,
            info: None,
        };
        assert_eq!(end_outcome(completed), Outcome::success());
        let failed = Feedback::Succeeded {
            command: CommandName::MarkTransferFailedCommand,
            info: Some("insufficient funds would be below the limit of € -500,00".into()),
        };
        assert_eq!(
            end_outcome(failed),
            Outcome::failed("insufficient funds would be below the limit of € -500,00")
        );
    }

    #[test]
    fn only_a_timeout_leaves_the_transfer_open() {
        assert!(Outcome::success().ended);
        assert!(Outcome::failed("iban not known").ended);
        let waited = Outcome::timed_out(Duration::from_secs(10));
        assert!(!waited.ended && !waited.success);
        assert!(waited
            .reason
            .is_some_and(|r| r.starts_with("no answer within 10 s")));
    }
}
