//! The command handler's refusals. Their words are a public contract (SPEC §4) shared with the
//! projector, the GraphQL endpoint and its clients, so they live in [`topology::reasons`].

use topology::reasons::Refusal;
use topology::values::format_euro;

use super::transfer::TransferStatus;

/// Why a command was refused or a transfer failed; `Display` is the exact user-visible string
/// that goes into `CommandFailed.reason` / `MarkTransferFailedCommand.reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("{}", Refusal::UserAlreadyExists)]
    UserAlreadyExists,
    #[error("{}", Refusal::InvalidOpenIban)]
    InvalidOpenIban,
    #[error("{}", Refusal::IbanAlreadyExists)]
    IbanAlreadyExists,
    #[error("{}", Refusal::IbanNotKnown)]
    IbanNotKnown,
    #[error("{}", Refusal::UserToAddIsAlreadyOwner)]
    UserToAddIsAlreadyOwner,
    #[error("{}", Refusal::UserIsNotOwnerOfAccount)]
    UserIsNotOwnerOfAccount,
    #[error("{}", Refusal::UserToRemoveIsNotOwner)]
    UserToRemoveIsNotOwner,
    #[error("{}", Refusal::TokenIsNotValid)]
    TokenIsNotValid,
    #[error("{}", Refusal::LastUserAndBalanceIsNotZero)]
    LastUserAndBalanceIsNotZero,
    /// The DebitMoney wording (also used for deposits), which differs from AddUser's on purpose.
    #[error("{}", Refusal::UserIsNoOwnerOfBankAccount)]
    UserIsNoOwnerOfBankAccount,
    #[error("{}", Refusal::InsufficientFunds.filled(&[("limit", &format_euro(*.limit))]))]
    InsufficientFunds { limit: i64 },
    /// Hardening: a zero or negative amount would turn a debit into a credit and vice versa.
    #[error("{}", Refusal::AmountShouldBePositive)]
    AmountShouldBePositive,
    /// Hardening: an i64 balance must never wrap around.
    #[error("{}", Refusal::AmountWouldOverflowTheBalance)]
    AmountWouldOverflowTheBalance,
    #[error("{}", Refusal::TransferWasAlreadyStarted.filled(&[("status", &.0.to_string())]))]
    TransferWasAlreadyStarted(TransferStatus),
    #[error("{}", Refusal::TransferNotKnown)]
    TransferNotKnown,
    #[error("{}", Refusal::TransferCouldNotBeCompleted.filled(&[("status", &.0.to_string())]))]
    TransferCouldNotBeCompleted(TransferStatus),
    #[error("{}", Refusal::TransferCouldNotBeFailed.filled(&[("status", &.0.to_string())]))]
    TransferCouldNotBeFailed(TransferStatus),
    #[error("{}", Refusal::FromAndToAreTheSame)]
    FromAndToAreTheSame,
    #[error("{}", Refusal::FromIsInvalid)]
    FromIsInvalid,
    /// An alert kind that compares against an amount needs one above zero.
    #[error("{}", Refusal::ThresholdShouldBePositive)]
    ThresholdShouldBePositive,
    /// Any credit fires for every amount; a threshold there would be silently ignored.
    #[error("{}", Refusal::ThresholdDoesNotApplyToAnyCredit)]
    ThresholdDoesNotApplyToAnyCredit,
    /// A password change for a user that was never created.
    #[error("{}", Refusal::UsernameDoesNotExist)]
    UsernameDoesNotExist,
    /// Cash comes into the bank only in bounded amounts: one deposit…
    #[error("{}", Refusal::CashDepositTooLarge)]
    DepositTooLarge,
    /// …and a day's deposits into one account (a UTC day).
    #[error("{}", Refusal::CashDailyLimit)]
    DailyDepositLimit,
    /// A hold waits 1 s to 30 days for its capture: long enough for a card payment to settle,
    /// short enough that an abandoned hold gives the money back.
    #[error("{}", Refusal::HoldExpiryOutOfRange)]
    HoldExpiryOutOfRange,
    #[error("{}", Refusal::HoldNotKnown)]
    HoldNotKnown,
    /// The hold's id was captured (then it is a transfer) or released.
    #[error("{}", Refusal::HoldIsNotOpen.filled(&[("status", &.0.to_string())]))]
    HoldIsNotOpen(TransferStatus),
    #[error("{}", Refusal::AmountIsMoreThanHeld.filled(&[("held", &format_euro(*.held))]))]
    AmountIsMoreThanHeld { held: i64 },
    /// Bounds an account's record and the work of every expiry check: without it a cent at a
    /// time could pile up tens of thousands of holds on one account.
    #[error("{}", Refusal::TooManyHolds)]
    TooManyHolds,
    #[error("{}", Refusal::StandingOrderRunsOutOfRange)]
    StandingOrderRunsOutOfRange,
    /// A first run long past would make up runs nobody meant; one years ahead is a typo.
    #[error("{}", Refusal::FirstRunOutOfRange)]
    FirstRunOutOfRange,
    /// Bounds the work each account's orders add to every tick, and the account's record.
    #[error("{}", Refusal::TooManyStandingOrders)]
    TooManyStandingOrders,
    #[error("{}", Refusal::StandingOrderNotKnown)]
    StandingOrderNotKnown,
    /// A refusal given before to the same request, repeated word for word (see
    /// [`super::refused_credits`]).
    #[error("{0}")]
    Repeated(String),
    /// The one path where money stays debited: kept explicit so it is visible to the user and
    /// in the event log instead of hidden behind the credit's reason.
    #[error("{}", return_failed(.credit_reason, .return_reason))]
    ReturnFailed {
        credit_reason: String,
        return_reason: String,
    },
}

fn return_failed(credit_reason: &str, return_reason: &str) -> String {
    Refusal::ReturnFailed.filled(&[
        ("credit_reason", credit_reason),
        ("return_reason", return_reason),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_the_exact_contract_string() {
        let cases = [
            (Reason::UserAlreadyExists, "user already exists"),
            (Reason::InvalidOpenIban, "invalid open iban"),
            (Reason::IbanAlreadyExists, "iban already exist"),
            (Reason::IbanNotKnown, "iban not known"),
            (
                Reason::UserToAddIsAlreadyOwner,
                "user to add is already owner of bank account",
            ),
            (
                Reason::UserIsNotOwnerOfAccount,
                "user is not owner of account",
            ),
            (
                Reason::UserToRemoveIsNotOwner,
                "user to remove is not owner of bank account",
            ),
            (Reason::TokenIsNotValid, "token is not valid"),
            (
                Reason::LastUserAndBalanceIsNotZero,
                "last user and balance is not zero, so can't be removed",
            ),
            (
                Reason::UserIsNoOwnerOfBankAccount,
                "user is no owner of bank account",
            ),
            (
                Reason::InsufficientFunds { limit: -50_000 },
                "insufficient funds would be below the limit of € -500,00",
            ),
            (
                Reason::InsufficientFunds { limit: -123_456 },
                "insufficient funds would be below the limit of € -1.234,56",
            ),
            (Reason::AmountShouldBePositive, "amount should be positive"),
            (
                Reason::HoldExpiryOutOfRange,
                "a hold expires after 1 s at the earliest and 30 days at the latest",
            ),
            (Reason::HoldNotKnown, "hold not known"),
            (
                Reason::TooManyHolds,
                "an account may have at most 100 open holds",
            ),
            (
                Reason::StandingOrderRunsOutOfRange,
                "runs should be 1 to 1200",
            ),
            (
                Reason::FirstRunOutOfRange,
                "the first run must be within the next 366 days, not in the past",
            ),
            (
                Reason::TooManyStandingOrders,
                "an account may have at most 20 standing orders",
            ),
            (Reason::StandingOrderNotKnown, "standing order not known"),
            (
                Reason::HoldIsNotOpen(TransferStatus::Released),
                "hold is not open, current status: released",
            ),
            (
                Reason::HoldIsNotOpen(TransferStatus::Complete),
                "hold is not open, current status: complete",
            ),
            (
                Reason::AmountIsMoreThanHeld { held: 12_345 },
                "amount is more than the hold of € 123,45",
            ),
            (
                Reason::AmountWouldOverflowTheBalance,
                "amount would overflow the balance",
            ),
            (
                Reason::TransferWasAlreadyStarted(TransferStatus::Started),
                "transfer was already started, current status: started",
            ),
            (
                Reason::TransferWasAlreadyStarted(TransferStatus::Complete),
                "transfer was already started, current status: complete",
            ),
            (
                Reason::TransferWasAlreadyStarted(TransferStatus::Failed),
                "transfer was already started, current status: failed",
            ),
            (Reason::TransferNotKnown, "transfer not known"),
            (
                Reason::TransferCouldNotBeCompleted(TransferStatus::Complete),
                "state of transfer was complete so could not be completed",
            ),
            (
                Reason::TransferCouldNotBeFailed(TransferStatus::Failed),
                "state of transfer was failed so could not be failed",
            ),
            (
                Reason::FromAndToAreTheSame,
                "from and to can't be same for transfer",
            ),
            (Reason::FromIsInvalid, "from is invalid"),
            (
                Reason::ThresholdShouldBePositive,
                "threshold should be positive",
            ),
            (
                Reason::ThresholdDoesNotApplyToAnyCredit,
                "threshold does not apply to ANY_CREDIT",
            ),
            (Reason::UsernameDoesNotExist, "username does not exist"),
            (
                Reason::DepositTooLarge,
                "a cash deposit may be at most € 10.000,00",
            ),
            (
                Reason::DailyDepositLimit,
                "cash deposits into this account may be at most € 25.000,00 a day",
            ),
            (
                Reason::ReturnFailed {
                    credit_reason: "iban not known".into(),
                    return_reason: "amount would overflow the balance".into(),
                },
                "iban not known, and returning the money failed: amount would overflow the balance",
            ),
        ];
        for (reason, expected) in cases {
            assert_eq!(reason.to_string(), expected, "{reason:?}");
        }
    }

    #[test]
    fn the_cash_refusals_name_the_limits_the_handler_applies() {
        use crate::domain::bank_account::{MAX_DAILY_DEPOSITS_CENTS, MAX_DEPOSIT_CENTS};
        assert_eq!(
            Reason::DepositTooLarge.to_string(),
            format!(
                "a cash deposit may be at most {}",
                format_euro(MAX_DEPOSIT_CENTS)
            )
        );
        assert_eq!(
            Reason::DailyDepositLimit.to_string(),
            format!(
                "cash deposits into this account may be at most {} a day",
                format_euro(MAX_DAILY_DEPOSITS_CENTS)
            )
        );
    }
}
