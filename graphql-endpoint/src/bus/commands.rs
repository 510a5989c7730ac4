//! Commands out on `user_commands` / `bank_commands`, keyed by their aggregate (username,
//! IBAN, a transfer's home account); feedback in from `user_command_feedback` /
//! `bank_command_feedback`, matched by the command id inside the record, whatever the key.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::producer::FutureProducer;
use tokio::time::Instant;
use topology::codec::Codec;
use topology::consistency::Positions;
use topology::{
    BankCommandFeedback, CommandFailed, CommandName, CommandSucceeded, Id, Identified,
    KafkaSettings, TopicMessage, UserCommandFeedback,
};

use super::admission::{Admission, Admitted};
use super::exchange::Exchange;
use super::listen::{consumer_at_end, spawn_dispatch, ListenError, Meta};
use super::routing::AggregateKeyed;
use super::waiters::{Waiter, Waiters};
use super::BusError;
use crate::consistency;
use crate::operations::{CommandSeen, Operations};

/// The answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    Succeeded {
        command: CommandName,
        info: Option<String>,
    },
    Failed {
        command: CommandName,
        reason: String,
    },
}

/// A transfer's id is answered twice on `bank_command_feedback`: once for the
/// MoneyTransferCommand (started or refused), and once more when the saga ends with
/// MarkTransferCompleted / MarkTransferFailed under the same id. They wait in separate slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Reply,
    TransferEnd,
}

type Key = (Id, Slot);

/// Feedback with the event positions its transaction names (see [`crate::consistency`]).
#[derive(Debug, Clone)]
struct Heard {
    feedback: Feedback,
    written: Positions,
}

/// The answer a request registered for: once heard, what it caused is known to the request.
pub struct Expected(Waiter<Key, Heard>);

impl Expected {
    /// The feedback, or `None` when `deadline` passed first.
    pub async fn until(&mut self, deadline: Instant) -> Option<Feedback> {
        let heard = self.0.until(deadline).await?;
        consistency::caused(&heard.written);
        Some(heard.feedback)
    }
}

pub struct CommandBus {
    exchange: Exchange<Key, Heard>,
    admission: Arc<Admission>,
}

impl CommandBus {
    /// Starts the two feedback consumers at the end of their topics; commands may be sent once
    /// this returns.
    /// Every feedback read, whoever's command it answers, is also shown to `operations`.
    pub async fn start(
        settings: &KafkaSettings,
        producer: FutureProducer,
        codec: Arc<Codec>,
        timeout: Duration,
        operations: Arc<Operations>,
        max_in_flight: usize,
    ) -> Result<Self, ListenError> {
        let waiters = Arc::new(Waiters::new());
        let user = consumer_at_end::<UserCommandFeedback>(settings).await?;
        let bank = consumer_at_end::<BankCommandFeedback>(settings).await?;
        let (to_user, seen_by_user) = (Arc::clone(&waiters), Arc::clone(&operations));
        let (to_bank, seen_by_bank) = (Arc::clone(&waiters), operations);
        let listeners = vec![
            spawn_dispatch(user, Arc::clone(&codec), move |fb, meta| match fb {
                UserCommandFeedback::CommandSucceeded(s) => {
                    seen_by_user.command_seen(seen_succeeded(&s, &meta));
                    dispatch_succeeded(&to_user, s, meta.written)
                }
                UserCommandFeedback::CommandFailed(f) => {
                    seen_by_user.command_seen(seen_failed(&f, &meta));
                    dispatch_failed(&to_user, f, meta.written)
                }
            }),
            spawn_dispatch(bank, Arc::clone(&codec), move |fb, meta| match fb {
                BankCommandFeedback::CommandSucceeded(s) => {
                    seen_by_bank.command_seen(seen_succeeded(&s, &meta));
                    dispatch_succeeded(&to_bank, s, meta.written)
                }
                BankCommandFeedback::CommandFailed(f) => {
                    seen_by_bank.command_seen(seen_failed(&f, &meta));
                    dispatch_failed(&to_bank, f, meta.written)
                }
            }),
        ];
        Ok(Self {
            exchange: Exchange::new(producer, codec, waiters, timeout, listeners),
            admission: Admission::new(max_in_flight),
        })
    }

    pub fn timeout(&self) -> Duration {
        self.exchange.timeout()
    }

    /// Registers for the answer of command `id` in `slot`; register before sending.
    pub fn expect(&self, id: Id, slot: Slot) -> Expected {
        Expected(self.exchange.expect((id, slot)))
    }

    /// Produces `command` under its aggregate's key (see [`super::routing`]) without waiting
    /// for its feedback.
    pub async fn send<M: Command>(&self, command: &M) -> Result<(), BusError> {
        self.exchange
            .send(record_key(command)?, command, None)
            .await
    }

    /// A place among the commands in flight, held until the answer is in (see
    /// [`super::admission`]); `BusError::Busy` when there is none.
    pub fn admit(&self) -> Result<Admitted, BusError> {
        self.admission.admit().ok_or_else(|| {
            count_shed();
            BusError::Busy
        })
    }

    /// The bound on commands in flight, for refusing before a request runs (see
    /// [`crate::shedding`]).
    pub fn admission(&self) -> Arc<Admission> {
        Arc::clone(&self.admission)
    }

    /// Sends `command` under its aggregate's key and waits (up to the configured timeout) for
    /// the feedback to its id.
    pub async fn execute<M: Command>(&self, command: &M) -> Result<Feedback, BusError> {
        let _admitted = self.admit()?;
        let key = record_key(command)?;
        let heard = self
            .exchange
            .request((command.id(), Slot::Reply), key, command, None)
            .await?;
        consistency::caused(&heard.written);
        Ok(heard.feedback)
    }

    /// Requests still waiting for feedback (for tests and diagnostics).
    pub fn pending(&self) -> usize {
        self.exchange.pending()
    }
}

/// A command refused for want of a place (`open_bank_commands_shed_total`), in its resolver or
/// before its request ran.
pub fn count_shed() {
    metrics::counter!("open_bank_commands_shed_total").increment(1);
}

/// What the endpoint can send on a command topic: a command with an id that its feedback
/// repeats, and an aggregate that picks its partition.
pub trait Command: TopicMessage + Identified + AggregateKeyed {}

impl<M: TopicMessage + Identified + AggregateKeyed> Command for M {}

fn record_key<M: Command>(command: &M) -> Result<&str, BusError> {
    command.aggregate_key().ok_or(BusError::NoAggregateKey {
        record: command.full_name(),
    })
}

fn seen(command: CommandName, reason: Option<String>, meta: &Meta) -> CommandSeen {
    let at = meta
        .timestamp_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map_or_else(SystemTime::now, |ms| UNIX_EPOCH + Duration::from_millis(ms));
    CommandSeen {
        at,
        command: command.symbol().1,
        succeeded: reason.is_none(),
        reason,
        trace_id: meta
            .traceparent
            .as_deref()
            .and_then(topology::trace_context::trace_id_in),
    }
}

fn seen_succeeded(succeeded: &CommandSucceeded, meta: &Meta) -> CommandSeen {
    // A failed transfer ends with MarkTransferFailed succeeding; its reason is the transfer's.
    let reason = (succeeded.command_name == CommandName::MarkTransferFailedCommand)
        .then(|| succeeded.additional_info.clone())
        .flatten();
    CommandSeen {
        reason,
        succeeded: true,
        ..seen(succeeded.command_name, None, meta)
    }
}

fn seen_failed(failed: &CommandFailed, meta: &Meta) -> CommandSeen {
    seen(failed.command_name, Some(failed.reason.clone()), meta)
}

fn slot_of(command: CommandName) -> Slot {
    match command {
        CommandName::MarkTransferCompletedCommand | CommandName::MarkTransferFailedCommand => {
            Slot::TransferEnd
        }
        _ => Slot::Reply,
    }
}

fn dispatch_succeeded(
    waiters: &Waiters<Key, Heard>,
    feedback: CommandSucceeded,
    written: Positions,
) {
    let key = (feedback.id, slot_of(feedback.command_name));
    let feedback = Feedback::Succeeded {
        command: feedback.command_name,
        info: feedback.additional_info,
    };
    waiters.resolve(&key, Heard { feedback, written });
}

fn dispatch_failed(waiters: &Waiters<Key, Heard>, feedback: CommandFailed, written: Positions) {
    let slot = slot_of(feedback.command_name);
    if slot == Slot::TransferEnd {
        // The saga marks a transfer once; a refused mark (e.g. a replayed one) does not end
        // it, the successful mark does.
        tracing::debug!(id = %feedback.id, reason = %feedback.reason, "ignoring a refused transfer mark");
        return;
    }
    let failed = Feedback::Failed {
        command: feedback.command_name,
        reason: feedback.reason,
    };
    waiters.resolve(
        &(feedback.id, slot),
        Heard {
            feedback: failed,
            written,
        },
    );
}

#[cfg(test)]
mod tests {
    use topology::{BankCommand, MarkTransferCompletedCommand, MoneyTransferCommand};

    use super::*;

    #[test]
    fn a_command_goes_out_under_its_aggregate_and_is_answered_by_its_id() {
        let id = Id::random();
        let deposit = BankCommand::from(MoneyTransferCommand {
            id,
            token: "12345678901234567890".into(),
            amount: 100,
            from: "cash".into(),
            to: "NL20OPEN0123456789".into(),
            description: "first deposit".into(),
            username: "alice-demo".into(),
        });
        assert!(matches!(record_key(&deposit), Ok("NL20OPEN0123456789")));
        assert_eq!(deposit.id(), id);
    }

    #[test]
    fn a_saga_step_is_refused_rather_than_sent_to_a_random_partition() {
        let mark = BankCommand::from(MarkTransferCompletedCommand { id: Id::random() });
        assert!(matches!(
            record_key(&mark),
            Err(BusError::NoAggregateKey {
                record: "nl.openweb.data.MarkTransferCompletedCommand"
            })
        ));
    }
}
