//! A customer's accounts: `get_account` (log in, or sign up on first use: a user plus a bank
//! account with a new open IBAN), `open_account` (one more account for an existing user) and
//! `my_accounts` (every account the user owns, each with the user's own token).

use topology::values::new_open_iban;
use topology::{BankCommand, CreateBankAccountCommand, CreateUserAccountCommand, Id, UserCommand};

use crate::bank::{Bank, RequestError};
use crate::bus::Feedback;
use crate::reads::{Account, USER_UNKNOWN};
use crate::secrets::{hash_password, verify_password};
use crate::validation;

pub const INVALID_PASSWORD: &str = "invalid password";
pub const NO_ACCOUNT: &str = "no linked bank account found";
pub const USER_EXISTS: &str = "user already exists";
pub const IBAN_EXISTS: &str = "iban already exist";
/// New IBANs have nine random digits; a few collisions in a row mean something else is wrong.
const IBAN_ATTEMPTS: usize = 5;

/// The answer of `get_account`: an account, or the reason there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Account { iban: String, token: String },
    Refused(String),
}

/// An account as its owner sees it: balance in cents, the owner's own token, every owner's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedAccount {
    pub iban: String,
    pub token: String,
    pub balance: i64,
    /// Usernames, in the order they became owners.
    pub owners: Vec<String>,
}

impl OwnedAccount {
    /// `None` when `username` is not (or no longer) among the owners.
    fn of(username: &str, account: Account) -> Option<Self> {
        let token = account
            .owners
            .iter()
            .find(|owner| owner.username == username)?
            .token
            .clone();
        Some(Self {
            iban: account.iban,
            token,
            balance: account.balance,
            owners: account.owners.into_iter().map(|o| o.username).collect(),
        })
    }
}

impl Bank {
    pub async fn get_account(&self, username: &str, password: &str) -> Result<Login, RequestError> {
        validation::credentials(username, password)?;
        match self.queries.find_user(username).await? {
            Some(user) => self.log_in(username, password, user.password).await,
            None => self.sign_up(username, password).await,
        }
    }

    async fn log_in(
        &self,
        username: &str,
        password: &str,
        stored_hash: String,
    ) -> Result<Login, RequestError> {
        if !verify_password(password.to_string(), stored_hash).await? {
            return Ok(Login::Refused(INVALID_PASSWORD.into()));
        }
        let accounts = self.queries.accounts_of(username).await?;
        let found = accounts.into_iter().find_map(|account| {
            let owner = account
                .owners
                .into_iter()
                .find(|o| o.username == username)?;
            Some(Login::Account {
                iban: account.iban,
                token: owner.token,
            })
        });
        Ok(found.unwrap_or_else(|| Login::Refused(NO_ACCOUNT.into())))
    }

    async fn sign_up(&self, username: &str, password: &str) -> Result<Login, RequestError> {
        let hash = hash_password(password.to_string()).await?;
        match self.create_user(username, hash).await? {
            Feedback::Succeeded { .. } => {}
            Feedback::Failed { reason, .. } if reason == USER_EXISTS => {
                // Someone signed up with this name since we asked: log in instead, if the
                // projector already knows the user.
                return match self.queries.find_user(username).await? {
                    Some(user) => self.log_in(username, password, user.password).await,
                    None => Ok(Login::Refused(reason)),
                };
            }
            Feedback::Failed { reason, .. } => return Ok(Login::Refused(reason)),
        }
        self.create_bank_account(username, None).await
    }

    /// `Ok(Err(reason))` when the user is unknown or the password does not match: the
    /// answer every operation that takes a username and password gives then.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<(), String>, RequestError> {
        validation::credentials(username, password)?;
        let Some(user) = self.queries.find_user(username).await? else {
            return Ok(Err(USER_UNKNOWN.into()));
        };
        if verify_password(password.to_string(), user.password).await? {
            Ok(Ok(()))
        } else {
            Ok(Err(INVALID_PASSWORD.into()))
        }
    }

    /// `open_account`: one more account, with a new IBAN, for an existing user.
    pub async fn open_another_account(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Login, RequestError> {
        if let Err(reason) = self.authenticate(username, password).await? {
            return Ok(Login::Refused(reason));
        }
        self.create_bank_account(username, None).await
    }

    /// `my_accounts`: every account the user owns, in the order they got them, each with only
    /// the user's own token (co-owners' tokens never leave the endpoint).
    pub async fn my_accounts(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<Vec<OwnedAccount>, String>, RequestError> {
        if let Err(reason) = self.authenticate(username, password).await? {
            return Ok(Err(reason));
        }
        let accounts = self.queries.accounts_of(username).await?;
        Ok(Ok(accounts
            .into_iter()
            .filter_map(|account| OwnedAccount::of(username, account))
            .collect()))
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
    /// new random open IBANs until one is free.
    pub async fn create_bank_account(
        &self,
        username: &str,
        fixed_iban: Option<&str>,
    ) -> Result<Login, RequestError> {
        let mut refused = String::new();
        for _ in 0..IBAN_ATTEMPTS {
            let iban = fixed_iban.map_or_else(new_open_iban, str::to_string);
            let command = BankCommand::from(CreateBankAccountCommand {
                id: Id::random(),
                iban: iban.clone(),
                username: username.to_string(),
            });
            match self.commands.execute(&command).await? {
                Feedback::Succeeded {
                    info: Some(token), ..
                } => return Ok(Login::Account { iban, token }),
                Feedback::Succeeded { info: None, .. } => {
                    return Ok(Login::Refused(
                        "the bank account was created without a token".into(),
                    ))
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

    fn account(owners: &[(&str, &str)]) -> Account {
        Account {
            iban: "NL66OPEN0000000000".into(),
            balance: 1_234,
            limit: -50_000,
            owners: owners
                .iter()
                .map(|(username, token)| Owner {
                    username: (*username).into(),
                    token: (*token).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn an_owner_sees_their_own_token_and_every_owners_name() {
        let shared = account(&[("alice-owner", "111"), ("bob-the-owner", "222")]);
        let seen = OwnedAccount::of("bob-the-owner", shared).expect("bob owns it");
        assert_eq!(seen.token, "222");
        assert_eq!(seen.owners, ["alice-owner", "bob-the-owner"]);
        assert_eq!(seen.balance, 1_234);
    }

    #[test]
    fn an_account_the_user_left_is_not_theirs() {
        assert_eq!(
            OwnedAccount::of("carol-carol", account(&[("alice-owner", "111")])),
            None
        );
    }
}
