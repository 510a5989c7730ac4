//! Every user-visible refusal in one place, because the strings are a public contract
//! (SPEC §4): clients and tests compare them byte for byte, so never reword one.

use topology::values::format_euro;

use super::transfer::TransferStatus;

/// Why a command was refused or a transfer failed; `Display` is the exact user-visible string
/// that goes into `CommandFailed.reason` / `MarkTransferFailedCommand.reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("user already exists")]
    UserAlreadyExists,
    #[error("invalid open iban")]
    InvalidOpenIban,
    #[error("iban already exist")]
    IbanAlreadyExists,
    #[error("iban not known")]
    IbanNotKnown,
    #[error("user to add is already owner of bank account")]
    UserToAddIsAlreadyOwner,
    #[error("user is not owner of account")]
    UserIsNotOwnerOfAccount,
    #[error("user to remove is not owner of bank account")]
    UserToRemoveIsNotOwner,
    #[error("token is not valid")]
    TokenIsNotValid,
    #[error("last user and balance is not zero, so can't be removed")]
    LastUserAndBalanceIsNotZero,
    /// The DebitMoney wording (also used for deposits), which differs from AddUser's on purpose.
    #[error("user is no owner of bank account")]
    UserIsNoOwnerOfBankAccount,
    #[error("insufficient funds would be below the limit of {}", format_euro(*.limit))]
    InsufficientFunds { limit: i64 },
    /// Hardening: a zero or negative amount would turn a debit into a credit and vice versa.
    #[error("amount should be positive")]
    AmountShouldBePositive,
    /// Hardening: an i64 balance must never wrap around.
    #[error("amount would overflow the balance")]
    AmountWouldOverflowTheBalance,
    #[error("transfer was already started, current status: {0}")]
    TransferWasAlreadyStarted(TransferStatus),
    #[error("transfer not known")]
    TransferNotKnown,
    #[error("state of transfer was {0} so could not be completed")]
    TransferCouldNotBeCompleted(TransferStatus),
    #[error("state of transfer was {0} so could not be failed")]
    TransferCouldNotBeFailed(TransferStatus),
    #[error("from and to can't be same for transfer")]
    FromAndToAreTheSame,
    #[error("from is invalid")]
    FromIsInvalid,
    /// An alert kind that compares against an amount needs one above zero.
    #[error("threshold should be positive")]
    ThresholdShouldBePositive,
    /// Any credit fires for every amount; a threshold there would be silently ignored.
    #[error("threshold does not apply to ANY_CREDIT")]
    ThresholdDoesNotApplyToAnyCredit,
    /// A password change for a user that was never created.
    #[error("username does not exist")]
    UsernameDoesNotExist,
    /// Cash comes into the bank only in bounded amounts: one deposit…
    #[error("a cash deposit may be at most {}", format_euro(*.max))]
    DepositTooLarge { max: i64 },
    /// …and a day's deposits into one account (a UTC day).
    #[error("cash deposits into this account may be at most {} a day", format_euro(*.max))]
    DailyDepositLimit { max: i64 },
    /// The one path where money stays debited: kept explicit so it is visible to the user and
    /// in the event log instead of hidden behind the credit's reason.
    #[error("{credit_reason}, and returning the money failed: {return_reason}")]
    ReturnFailed {
        credit_reason: String,
        return_reason: String,
    },
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
                Reason::DepositTooLarge { max: 1_000_000 },
                "a cash deposit may be at most € 10.000,00",
            ),
            (
                Reason::DailyDepositLimit { max: 2_500_000 },
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
}
