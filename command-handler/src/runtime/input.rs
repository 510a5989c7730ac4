//! One input read from Kafka, decoded and handed to the [`Handler`]: what it decides, and the
//! transfer it may be about (so the state store can write that transfer's row).

use rdkafka::message::{BorrowedMessage, Message};
use topology::codec::{Codec, CodecError};
use topology::topic_names::{
    BANK_COMMANDS, TRANSFER_COMMANDS, TRANSFER_COMMAND_FEEDBACK, USER_COMMANDS,
};
use topology::{BankCommand, Id, TransferCommand, TransferCommandFeedback, UserCommand};

use super::RuntimeError;
use crate::domain::{CommandMeta, Fresh};
use crate::handling::{Handler, Output};
use crate::store::Store;

/// The records one input calls for (none for a record that cannot be read), and the transfer
/// it may be about. What the state store kept of that transfer is recalled first: a command,
/// or an answer, of a transfer is decided on its whole history.
pub async fn handle(
    handler: &mut Handler,
    store: Option<&Store>,
    codec: &Codec,
    message: &BorrowedMessage<'_>,
) -> Result<(Vec<Output>, Option<Id>), RuntimeError> {
    let recall = |handler: &mut Handler, transfer: Id| -> Result<Option<Id>, RuntimeError> {
        if let Some(store) = store {
            let facts = tokio::task::block_in_place(|| store.facts(transfer))
                .map_err(|error| RuntimeError::Store(Box::new(error)))?;
            handler.recall(transfer, facts);
        }
        Ok(Some(transfer))
    };
    let payload = message.payload();
    let handled = match message.topic() {
        USER_COMMANDS => readable(codec.decode::<UserCommand>(payload).await, message)?
            .map(|command| (handler.user_command(&command), None)),
        BANK_COMMANDS => match readable(codec.decode::<BankCommand>(payload).await, message)? {
            // Only the commands of a transfer, a hold or a new order need history; the id of any other is a fresh uuid.
            Some(command) => {
                let transfer = match &command {
                    BankCommand::MoneyTransferCommand(_)
                    | BankCommand::HoldMoneyCommand(_)
                    | BankCommand::CaptureHoldCommand(_)
                    | BankCommand::VoidHoldCommand(_)
                    | BankCommand::SetStandingOrderCommand(_) => {
                        recall(handler, command.command_id())?
                    }
                    // A final mark never travels (the handler ignores one read from Kafka).
                    _ => None,
                };
                Some((handler.bank_command(&command, &Fresh::generate()), transfer))
            }
            None => None,
        },
        TRANSFER_COMMANDS => {
            match readable(codec.decode::<TransferCommand>(payload).await, message)? {
                Some(command) => {
                    let transfer = if handler.sent_by_a_saga(&command) {
                        recall(handler, command.command_id())?
                    } else {
                        None
                    };
                    Some((handler.transfer_command(&command), transfer))
                }
                None => None,
            }
        }
        TRANSFER_COMMAND_FEEDBACK => match readable(
            codec.decode::<TransferCommandFeedback>(payload).await,
            message,
        )? {
            Some(feedback) => {
                let id = match &feedback {
                    TransferCommandFeedback::CommandSucceeded(ok) => ok.id,
                    TransferCommandFeedback::CommandFailed(failed) => failed.id,
                };
                let transfer = recall(handler, id)?;
                Some((handler.transfer_feedback(&feedback), transfer))
            }
            None => None,
        },
        other => {
            tracing::warn!(
                topic = other,
                "record from a topic not subscribed to; skipped"
            );
            None
        }
    };
    Ok(handled.unwrap_or_default())
}

/// `Some(input)`, or `None` for a record that will never decode (garbage, an unknown schema, a
/// record type this topic does not carry): without a readable id there is no one to answer, so
/// it is logged and its offset committed with the batch. A registry that cannot be reached is
/// an error instead, so the input is retried after a restart rather than dropped.
fn readable<C>(
    decoded: Result<C, CodecError>,
    message: &BorrowedMessage<'_>,
) -> Result<Option<C>, RuntimeError> {
    match decoded {
        Ok(command) => Ok(Some(command)),
        Err(error) if is_transient(&error) => Err(RuntimeError::TransientDecode {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            source: Box::new(error),
        }),
        Err(error) => {
            tracing::warn!(
                %error,
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                "unreadable input skipped"
            );
            Ok(None)
        }
    }
}

fn is_transient(error: &CodecError) -> bool {
    matches!(error, CodecError::Decode { source, .. } if source.retriable)
}
