//! Every refusal the bank answers with, in one place: the command handler's reasons, the
//! projector's and the GraphQL endpoint's. The texts are a public contract (SPEC §4): clients
//! compare them byte for byte, the web app explains them by their exact words, and the
//! endpoint's schema lists them (`enum Refusal`), from which the web app's constants are
//! generated. So never reword one; a new refusal goes here first.
//!
//! A text with `{name}` in it is a template: [`Refusal::filled`] puts the value in.

macro_rules! refusals {
    ($($(#[doc = $doc:literal])* $variant:ident => $text:literal,)*) => {
        /// A refusal; [`Refusal::text`] is its exact words.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Refusal {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Refusal {
            /// Every refusal, in the order of the schema.
            pub const ALL: &'static [Refusal] = &[$(Refusal::$variant),*];

            /// The exact text, or its template.
            pub const fn text(self) -> &'static str {
                match self {
                    $(Refusal::$variant => $text,)*
                }
            }

            /// The variant's name, `IbanNotKnown`: clients name refusals after it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Refusal::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

refusals! {
    // Users and accounts, answered by the command handler.
    UserAlreadyExists => "user already exists",
    InvalidOpenIban => "invalid open iban",
    IbanAlreadyExists => "iban already exist",
    IbanNotKnown => "iban not known",
    UserToAddIsAlreadyOwner => "user to add is already owner of bank account",
    /// AddUser's wording; a debit says [`Refusal::UserIsNoOwnerOfBankAccount`].
    UserIsNotOwnerOfAccount => "user is not owner of account",
    UserToRemoveIsNotOwner => "user to remove is not owner of bank account",
    TokenIsNotValid => "token is not valid",
    LastUserAndBalanceIsNotZero => "last user and balance is not zero, so can't be removed",
    /// The DebitMoney wording, also for deposits, alert rules and reads of an account.
    UserIsNoOwnerOfBankAccount => "user is no owner of bank account",
    UsernameDoesNotExist => "username does not exist",
    // Money and transfers.
    /// `limit`: the account's lowest balance in Dutch euros, `€ -500,00`.
    InsufficientFunds => "insufficient funds would be below the limit of {limit}",
    AmountShouldBePositive => "amount should be positive",
    AmountWouldOverflowTheBalance => "amount would overflow the balance",
    /// `status`: `started`, `complete` or `failed`.
    TransferWasAlreadyStarted => "transfer was already started, current status: {status}",
    TransferNotKnown => "transfer not known",
    TransferCouldNotBeCompleted => "state of transfer was {status} so could not be completed",
    TransferCouldNotBeFailed => "state of transfer was {status} so could not be failed",
    FromAndToAreTheSame => "from and to can't be same for transfer",
    FromIsInvalid => "from is invalid",
    /// Names the command handler's largest cash deposit (a test there checks it).
    CashDepositTooLarge => "a cash deposit may be at most € 10.000,00",
    /// Names the command handler's daily cash limit (a test there checks it).
    CashDailyLimit => "cash deposits into this account may be at most € 25.000,00 a day",
    /// The one path where money stays debited: both reasons, the credit's first.
    ReturnFailed => "{credit_reason}, and returning the money failed: {return_reason}",
    // Holds (two-phase transfers), by the command handler.
    /// `expires_in` of hold_money outside 1 s ..= 30 days.
    HoldExpiryOutOfRange => "a hold expires after 1 s at the earliest and 30 days at the latest",
    HoldNotKnown => "hold not known",
    /// `status`: what became of the hold's id, a transfer status word (`released` for a voided
    /// or expired hold; `started`, `complete` or `failed` once captured).
    HoldIsNotOpen => "hold is not open, current status: {status}",
    /// `held`: the amount of the hold in Dutch euros.
    AmountIsMoreThanHeld => "amount is more than the hold of {held}",
    TooManyHolds => "an account may have at most 100 open holds",
    // Standing orders, by the command handler.
    StandingOrderRunsOutOfRange => "runs should be 1 to 1200",
    FirstRunOutOfRange => "the first run must be within the next 366 days, not in the past",
    TooManyStandingOrders => "an account may have at most 20 standing orders",
    StandingOrderNotKnown => "standing order not known",
    // Alert rules.
    ThresholdShouldBePositive => "threshold should be positive",
    ThresholdDoesNotApplyToAnyCredit => "threshold does not apply to ANY_CREDIT",
    // Reads, answered by the projector.
    IbanDoesNotExist => "iban does not exist",
    IbanIsNotValid => "iban is not valid",
    UsernameDoesNotHaveAccounts => "username does not have accounts",
    TransactionDoesNotExist => "transaction does not exist",
    TransferDoesNotExist => "transfer does not exist",
    /// Names the projector's longest statement period (a test there checks it).
    StatementPeriodTooLong => "a statement covers at most 366 days",
    /// Names the GraphQL endpoint's largest statement (a test there checks it).
    StatementTooLong => "a statement has at most 200000 transactions: ask for a shorter period",
    /// A read brought a consistency token the projector did not reach in time (see
    /// `consistency`): the change it names is written, only not readable yet.
    NotCaughtUpYet => "the bank has not caught up with your last change yet, try again in a moment",
    // Signing up and logging in, answered by the GraphQL endpoint.
    InvalidPassword => "invalid password",
    /// The same for an unknown user and a wrong password, so a login tells neither apart.
    InvalidUsernameOrPassword => "invalid username or password",
    NoLinkedBankAccountFound => "no linked bank account found",
    PasswordIsTooEasy => "password is too easy to guess: use a longer phrase of uncommon words",
    TooManyLoginsAtOnce => "too many logins at once, try again in a moment",
    /// Admission control: the endpoint has as many commands in flight as it allows.
    BankIsBusy => "the bank is busy, try again in a moment",
    /// `seconds`: a whole number, at least 1.
    TooManyAttempts => "too many attempts, try again in {seconds} s",
    InvalidEmployeeUsernameOrPassword => "invalid employee username or password",
    EmployeeLoginIsNotConfigured => "employee login is not configured on this endpoint",
    // Sessions (`UNAUTHENTICATED`) and who may do what (`FORBIDDEN`), by the GraphQL endpoint.
    LoginRequired => "login required",
    SessionExpired => "session expired",
    SessionIsNotValid => "session is not valid",
    /// Logged out, or ended by a password change.
    SessionEnded => "session ended",
    EmployeeLoginRequired => "employee login required",
    EmployeesOnly => "employees only",
    CustomersOnly => "customers only",
    UsernameIsNotTheLoggedInUser => "username is not the logged-in user",
    UserDidNotStartThisTransfer => "user did not start this transfer",
}

impl Refusal {
    /// The text with each `{name}` of the template replaced by its value from `values`; a
    /// placeholder without a value stays as it is. Values go in as they are, so a reason put
    /// inside another (`{credit_reason}`) is never read as a template.
    pub fn filled(self, values: &[(&str, &str)]) -> String {
        let (fixed, names) = self.template();
        let mut text = String::from(fixed[0]);
        for (name, after) in names.iter().zip(&fixed[1..]) {
            match values.iter().find(|(key, _)| key == name) {
                Some((_, value)) => text.push_str(value),
                None => text.push_str(&format!("{{{name}}}")),
            }
            text.push_str(after);
        }
        text
    }

    /// Is `reason` this refusal, whatever values were filled in?
    pub fn matches(self, reason: &str) -> bool {
        let (fixed, _) = self.template();
        let Some(mut rest) = reason.strip_prefix(fixed[0]) else {
            return false;
        };
        let Some((last, between)) = fixed[1..].split_last() else {
            return rest.is_empty();
        };
        for part in between {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
        rest.ends_with(last)
    }

    /// The text around the placeholders (one part more than there are placeholders) and the
    /// placeholders' names.
    fn template(self) -> (Vec<&'static str>, Vec<&'static str>) {
        let mut fixed = Vec::new();
        let mut names = Vec::new();
        let mut rest = self.text();
        while let Some((open, close)) = rest
            .find('{')
            .and_then(|open| Some((open, open + rest[open..].find('}')?)))
        {
            fixed.push(&rest[..open]);
            names.push(&rest[open + 1..close]);
            rest = &rest[close + 1..];
        }
        fixed.push(rest);
        (fixed, names)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_text_is_one_plain_line_of_its_own() {
        let mut texts = HashSet::new();
        for refusal in Refusal::ALL {
            let text = refusal.text();
            assert!(texts.insert(text), "{refusal:?}: `{text}` twice");
            // The schema carries each as a description: a block string gives these back as
            // they are.
            assert!(
                !text.is_empty()
                    && text.trim() == text
                    && !text.contains(['\n', '\r', '\\'])
                    && !text.contains("\"\"\""),
                "{refusal:?}: `{text}`"
            );
        }
        assert_eq!(texts.len(), Refusal::ALL.len());
        let names: HashSet<&str> = Refusal::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), Refusal::ALL.len());
        assert_eq!(Refusal::IbanNotKnown.name(), "IbanNotKnown");
        assert_eq!(Refusal::IbanNotKnown.to_string(), "iban not known");
    }

    #[test]
    fn templates_are_filled_by_name() {
        assert_eq!(
            Refusal::InsufficientFunds.filled(&[("limit", "€ -500,00")]),
            "insufficient funds would be below the limit of € -500,00"
        );
        assert_eq!(
            Refusal::ReturnFailed.filled(&[
                ("return_reason", "amount would overflow the balance"),
                ("credit_reason", "iban not known"),
            ]),
            "iban not known, and returning the money failed: amount would overflow the balance"
        );
        // A value that looks like a placeholder is not filled again.
        assert_eq!(
            Refusal::ReturnFailed
                .filled(&[("credit_reason", "{return_reason}"), ("return_reason", "x")]),
            "{return_reason}, and returning the money failed: x"
        );
        assert_eq!(
            Refusal::TooManyAttempts.filled(&[]),
            "too many attempts, try again in {seconds} s"
        );
        assert_eq!(
            Refusal::IbanNotKnown.filled(&[("limit", "1")]),
            "iban not known"
        );
    }

    #[test]
    fn a_reason_matches_its_refusal_whatever_was_filled_in() {
        for (refusal, reason, expected) in [
            (Refusal::IbanNotKnown, "iban not known", true),
            (Refusal::IbanNotKnown, "iban not known!", false),
            (Refusal::IbanNotKnown, "an iban not known", false),
            (
                Refusal::TransferWasAlreadyStarted,
                "transfer was already started, current status: complete",
                true,
            ),
            (
                Refusal::TransferWasAlreadyStarted,
                "transfer was already started",
                false,
            ),
            (
                Refusal::TooManyAttempts,
                "too many attempts, try again in 30 s",
                true,
            ),
            (
                Refusal::TooManyAttempts,
                "too many attempts, try again in 30",
                false,
            ),
            (
                Refusal::ReturnFailed,
                "iban not known, and returning the money failed: iban not known",
                true,
            ),
            (Refusal::ReturnFailed, "iban not known", false),
        ] {
            assert_eq!(refusal.matches(reason), expected, "{refusal:?} {reason}");
        }
    }
}
