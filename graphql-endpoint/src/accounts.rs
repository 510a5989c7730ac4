//! A customer's accounts and password: `get_account` (log in, or sign up on first use: a user
//! plus a bank account with a new open IBAN), `login`'s check, `open_account` (one more account
//! for an existing user), `my_accounts` (every account the user owns, each with the user's own
//! token) and `change_password`. Every password check goes through [`crate::logins`].

use std::net::IpAddr;

use topology::proofs::{same_hash, token_hash};
use topology::reasons::Refusal;
use topology::values::new_open_iban;
use topology::{
    BankCommand, ChangeUserPasswordCommand, CreateBankAccountCommand, CreateUserAccountCommand, Id,
    UserCommand,
};

use crate::bank::{Bank, RequestError};
use crate::bus::Feedback;
use crate::logins::Kind;
use crate::owners::CommandOutcome;
use crate::reads::Account;
use crate::secrets::{check_strength, hash_password, SecretError};
use crate::tokens::AccountTokens;
use crate::validation;

/// `get_account` and `change_password` with the wrong password (the seed contract's words).
pub const INVALID_PASSWORD: &str = Refusal::InvalidPassword.text();
/// `login`, `open_account` and `my_accounts`: the same for an unknown user and a wrong
/// password, so nobody learns which usernames exist.
pub const LOGIN_REFUSED: &str = Refusal::InvalidUsernameOrPassword.text();
pub const NO_ACCOUNT: &str = Refusal::NoLinkedBankAccountFound.text();
pub const USER_EXISTS: &str = Refusal::UserAlreadyExists.text();
pub const IBAN_EXISTS: &str = Refusal::IbanAlreadyExists.text();
/// New IBANs have nine random digits; a few collisions in a row mean something else is wrong.
const IBAN_ATTEMPTS: usize = 5;

/// The answer of `get_account`: an account, or the reason there is none. The token is `None`
/// for an owner from before the token hashes, whose token the bank cannot show any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Account { iban: String, token: Option<String> },
    Refused(String),
}

/// An account as its owner sees it: balance in cents, the owner's own token (`None` for an
/// owner from before the token hashes), every owner's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedAccount {
    pub iban: String,
    pub token: Option<String>,
    pub balance: i64,
    /// The balance less the open holds: what may still be spent or held.
    pub available: i64,
    /// Usernames, in the order they became owners.
    pub owners: Vec<String>,
    /// Open holds, oldest first.
    pub holds: Vec<topology::query_results::Hold>,
    /// Standing orders under way, oldest first.
    pub standing_orders: Vec<topology::query_results::StandingOrder>,
    /// The latest runs of standing orders that failed, newest first.
    pub failed_runs: Vec<topology::query_results::FailedRun>,
}

impl OwnedAccount {
    /// `None` when `username` is not (or no longer) among the owners.
    fn of(tokens: &AccountTokens, username: &str, account: Account) -> Option<Self> {
        let owner = account
            .owners
            .iter()
            .find(|owner| owner.username == username)?;
        // Shown only when it is the owner's: under another secret it would derive a wrong one.
        let token = owner
            .token_nonce
            .as_deref()
            .map(|nonce| tokens.token_of(&account.iban, username, nonce))
            .filter(|token| same_hash(&token_hash(token), &owner.token_hash));
        Some(Self {
            available: account.available(),
            iban: account.iban,
            token,
            balance: account.balance,
            owners: account.owners.into_iter().map(|o| o.username).collect(),
            holds: account.holds,
            standing_orders: account.standing_orders,
            failed_runs: account.failed_runs,
        })
    }
}

impl Bank {
    pub async fn get_account(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<Login, RequestError> {
        validation::credentials(username, password)?;
        match self.queries.find_user(username).await? {
            Some(user) => {
                self.log_in(username, password, user.password, address)
                    .await
            }
            None => self.sign_up(username, password, address).await,
        }
    }

    async fn log_in(
        &self,
        username: &str,
        password: &str,
        stored_hash: String,
        address: Option<IpAddr>,
    ) -> Result<Login, RequestError> {
        let checked = self
            .logins
            .check(
                Kind::Customer,
                username,
                password,
                Some(stored_hash),
                address,
            )
            .await?;
        if let Some(reason) = checked.reason(INVALID_PASSWORD) {
            return Ok(Login::Refused(reason));
        }
        let accounts = self.queries.accounts_of(username).await?;
        let found = accounts
            .into_iter()
            .find_map(|account| OwnedAccount::of(&self.tokens, username, account))
            .map(|first| Login::Account {
                iban: first.iban,
                token: first.token,
            });
        Ok(found.unwrap_or_else(|| Login::Refused(NO_ACCOUNT.into())))
    }

    async fn sign_up(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<Login, RequestError> {
        if let Err(reason) = check_strength(username, password) {
            return Ok(Login::Refused(reason.into()));
        }
        if let Err(throttled) = self.logins.admit(Kind::Customer, username, address) {
            return Ok(Login::Refused(throttled.reason()));
        }
        let hash = match hash_password(password.to_string()).await {
            Err(SecretError::Busy) => return Ok(Login::Refused(SecretError::Busy.to_string())),
            hashed => hashed?,
        };
        match self.create_user(username, hash).await? {
            Feedback::Succeeded { .. } => {}
            Feedback::Failed { reason, .. } if reason == USER_EXISTS => {
                // Someone signed up with this name since we asked: log in instead, if the
                // projector already knows the user.
                return match self.queries.find_user(username).await? {
                    Some(user) => {
                        self.log_in(username, password, user.password, address)
                            .await
                    }
                    None => Ok(Login::Refused(reason)),
                };
            }
            Feedback::Failed { reason, .. } => return Ok(Login::Refused(reason)),
        }
        self.create_bank_account(username, None).await
    }

    /// `Ok(Err(reason))` unless `password` is `username`'s: [`LOGIN_REFUSED`] for an unknown user
    /// and a wrong password alike (checked in the same time), or a throttling reason.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<Result<(), String>, RequestError> {
        validation::credentials(username, password)?;
        let stored = self
            .queries
            .find_user(username)
            .await?
            .map(|user| user.password);
        let checked = self
            .logins
            .check(Kind::Customer, username, password, stored, address)
            .await?;
        Ok(checked.reason(LOGIN_REFUSED).map_or(Ok(()), Err))
    }

    /// `open_account`: one more account, with a new IBAN, for an existing user whose
    /// credentials were checked (a password, or a session).
    pub async fn open_another_account(&self, username: &str) -> Result<Login, RequestError> {
        self.create_bank_account(username, None).await
    }

    /// `my_accounts`: every account the user owns, in the order they got them, each with only
    /// the user's own token (co-owners' tokens never leave the endpoint).
    pub async fn my_accounts(&self, username: &str) -> Result<Vec<OwnedAccount>, RequestError> {
        let accounts = self.queries.accounts_of(username).await?;
        Ok(accounts
            .into_iter()
            .filter_map(|account| OwnedAccount::of(&self.tokens, username, account))
            .collect())
    }

    /// `change_password` of a logged-in customer: the old password checked (throttled like a
    /// login), the new one's strength, then the new hash through the command handler. Ending
    /// the user's other sessions is the caller's part.
    pub async fn change_password(
        &self,
        username: &str,
        old_password: &str,
        new_password: &str,
        address: Option<IpAddr>,
    ) -> Result<CommandOutcome, RequestError> {
        validation::credentials(username, old_password)?;
        validation::credentials(username, new_password)?;
        let stored = self
            .queries
            .find_user(username)
            .await?
            .map(|user| user.password);
        let checked = self
            .logins
            .check(Kind::Customer, username, old_password, stored, address)
            .await?;
        if let Some(reason) = checked.reason(INVALID_PASSWORD) {
            return Ok(CommandOutcome::refused(reason));
        }
        if let Err(reason) = check_strength(username, new_password) {
            return Ok(CommandOutcome::refused(reason));
        }
        let hash = match hash_password(new_password.to_string()).await {
            Err(SecretError::Busy) => {
                return Ok(CommandOutcome::refused(SecretError::Busy.to_string()))
            }
            hashed => hashed?,
        };
        let command = UserCommand::from(ChangeUserPasswordCommand {
            id: Id::random(),
            username: username.to_string(),
            password: hash,
        });
        Ok(self.commands.execute(&command).await?.into())
    }

    pub async fn create_user(
        &self,
        username: &str,
        hash: String,
    ) -> Result<Feedback, RequestError> {
        let command = UserCommand::from(CreateUserAccountCommand {
            id: Id::random(),
            username: username.to_string(),
            password: hash,
        });
        Ok(self.commands.execute(&command).await?)
    }

    /// Creates a bank account owned by `username`: with `iban` if given (no retry), else with
    /// new random open IBANs until one is free. The owner's token is made here; only its hash
    /// and nonce go to Kafka.
    pub async fn create_bank_account(
        &self,
        username: &str,
        fixed_iban: Option<&str>,
    ) -> Result<Login, RequestError> {
        let mut refused = String::new();
        for _ in 0..IBAN_ATTEMPTS {
            let iban = fixed_iban.map_or_else(new_open_iban, str::to_string);
            let token = self.tokens.issue(&iban, username);
            let command = BankCommand::from(CreateBankAccountCommand {
                id: Id::random(),
                iban: iban.clone(),
                username: username.to_string(),
                token_hash: Some(token.hash),
                token_nonce: Some(token.nonce),
            });
            match self.commands.execute(&command).await? {
                Feedback::Succeeded { .. } => {
                    return Ok(Login::Account {
                        iban,
                        token: Some(token.token),
                    })
                }
                Feedback::Failed { reason, .. } => refused = reason,
            }
            if refused != IBAN_EXISTS || fixed_iban.is_some() {
                break;
            }
        }
        Ok(Login::Refused(refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::Owner;

    const IBAN: &str = "NL66OPEN0000000000";

    const SECRET: &[u8] = b"test secret";

    /// An account whose owners' token hashes are those derived under [`SECRET`].
    fn account(owners: &[(&str, Option<&str>)]) -> Account {
        let tokens = AccountTokens::new(SECRET);
        Account {
            iban: IBAN.into(),
            balance: 1_234,
            limit: -50_000,
            holds: Vec::new(),
            standing_orders: Vec::new(),
            failed_runs: Vec::new(),
            owners: owners
                .iter()
                .map(|(username, nonce)| Owner {
                    username: (*username).into(),
                    token_hash: token_hash(&tokens.token_of(
                        IBAN,
                        username,
                        nonce.unwrap_or("legacy"),
                    )),
                    token_nonce: nonce.map(String::from),
                })
                .collect(),
        }
    }

    #[test]
    fn an_owner_sees_their_own_token_and_every_owners_name() {
        let tokens = AccountTokens::new(SECRET);
        let shared = account(&[("alice-owner", Some("n1")), ("bob-the-owner", Some("n2"))]);
        let seen = OwnedAccount::of(&tokens, "bob-the-owner", shared).expect("bob owns it");
        assert_eq!(
            seen.token,
            Some(tokens.token_of(IBAN, "bob-the-owner", "n2"))
        );
        assert_eq!(seen.owners, ["alice-owner", "bob-the-owner"]);
        assert_eq!(seen.balance, 1_234);
        let legacy = account(&[("carol-owner", None)]);
        let seen = OwnedAccount::of(&tokens, "carol-owner", legacy).expect("carol owns it");
        assert_eq!(
            seen.token, None,
            "a token from before the hashes cannot be shown"
        );
        let elsewhere = AccountTokens::new(b"another secret than the one it was made with");
        let seen = OwnedAccount::of(
            &elsewhere,
            "alice-owner",
            account(&[("alice-owner", Some("n1"))]),
        )
        .expect("alice owns it");
        assert_eq!(seen.token, None, "never a wrong token");
    }

    #[test]
    fn an_account_the_user_left_is_not_theirs() {
        let tokens = AccountTokens::new(b"test secret");
        assert_eq!(
            OwnedAccount::of(
                &tokens,
                "carol-carol",
                account(&[("alice-owner", Some("n1"))])
            ),
            None
        );
    }
}
