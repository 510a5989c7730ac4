//! Users: one per username. Rules (SPEC §4 plus the security issue):
//! - CreateUserAccount: username taken → `user already exists`; else UserAccountCreated.
//! - ChangeUserPassword: unknown username → `username does not exist`; else
//!   UserPasswordChanged with the new hash. The endpoint checked the old password and the new
//!   one's strength before sending it: this aggregate never sees a password, only hashes.

use std::collections::HashSet;

use topology::{
    ChangeUserPasswordCommand, CreateUserAccountCommand, UserAccountCreatedEvent, UserEvent,
    UserPasswordChangedEvent,
};

use super::Reason;

/// The usernames taken so far; the password hash is not needed to decide anything here.
#[derive(Debug, Clone, Default)]
pub struct Users {
    usernames: HashSet<String>,
}

impl Users {
    /// A username a state store kept.
    pub fn restore(&mut self, username: String) {
        self.usernames.insert(username);
    }

    /// Keeps only the users `kept` accepts (by username): a hand-over of partitions.
    pub fn retain(&mut self, kept: impl Fn(&str) -> bool) {
        self.usernames.retain(|username| kept(username));
    }

    /// Takes the users of partitions rebuilt apart from these.
    pub fn absorb(&mut self, other: Users) {
        self.usernames.extend(other.usernames);
    }

    pub fn exists(&self, username: &str) -> bool {
        self.usernames.contains(username)
    }

    pub fn evolve(&mut self, event: &UserEvent) {
        match event {
            UserEvent::UserAccountCreatedEvent(created) => {
                self.usernames.insert(created.username.clone());
            }
            UserEvent::UserPasswordChangedEvent(_) => {}
        }
    }
}

pub fn decide(users: &Users, command: &CreateUserAccountCommand) -> Result<Vec<UserEvent>, Reason> {
    if users.exists(&command.username) {
        return Err(Reason::UserAlreadyExists);
    }
    Ok(vec![UserAccountCreatedEvent {
        username: command.username.clone(),
        password: command.password.clone(),
    }
    .into()])
}

pub fn decide_password_change(
    users: &Users,
    command: &ChangeUserPasswordCommand,
) -> Result<Vec<UserEvent>, Reason> {
    if !users.exists(&command.username) {
        return Err(Reason::UsernameDoesNotExist);
    }
    Ok(vec![UserPasswordChangedEvent {
        username: command.username.clone(),
        password: command.password.clone(),
    }
    .into()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::id;

    fn user_created(username: &str) -> UserEvent {
        UserAccountCreatedEvent {
            username: username.into(),
            password: "hash".into(),
        }
        .into()
    }

    type Row = (
        &'static str,
        Vec<UserEvent>,
        &'static str,
        Result<Vec<UserEvent>, &'static str>,
    );

    #[test]
    fn create_user_account() {
        let cases: [Row; 3] = [
            ("new user", vec![], "alice", Ok(vec![user_created("alice")])),
            (
                "other user exists",
                vec![user_created("bob")],
                "alice",
                Ok(vec![user_created("alice")]),
            ),
            (
                "username taken",
                vec![user_created("alice")],
                "alice",
                Err("user already exists"),
            ),
        ];
        for (name, given, username, expected) in cases {
            let mut users = Users::default();
            given.iter().for_each(|event| users.evolve(event));
            let command = CreateUserAccountCommand {
                id: id(1),
                username: username.into(),
                password: "hash".into(),
            };
            let outcome = decide(&users, &command).map_err(|reason| reason.to_string());
            assert_eq!(outcome, expected.map_err(String::from), "{name}");
        }
    }

    #[test]
    fn change_user_password() {
        let change = |username: &str| ChangeUserPasswordCommand {
            id: id(2),
            username: username.into(),
            password: "new hash".into(),
        };
        let mut users = Users::default();
        assert_eq!(
            decide_password_change(&users, &change("alice")).map_err(|r| r.to_string()),
            Err("username does not exist".to_string())
        );
        users.evolve(&user_created("alice"));
        let changed = decide_password_change(&users, &change("alice"));
        assert_eq!(
            changed,
            Ok(vec![UserPasswordChangedEvent {
                username: "alice".into(),
                password: "new hash".into()
            }
            .into()])
        );
        // A change changes nothing the command handler decides on.
        changed
            .unwrap_or_default()
            .iter()
            .for_each(|e| users.evolve(e));
        assert!(users.exists("alice"));
    }

    #[test]
    fn a_replayed_creation_is_harmless() {
        let mut users = Users::default();
        users.evolve(&user_created("alice"));
        users.evolve(&user_created("alice"));
        assert!(users.exists("alice"));
        assert!(!users.exists("bob"));
    }
}
