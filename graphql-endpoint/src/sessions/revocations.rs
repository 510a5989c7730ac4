//! Sessions ended before their time, as one endpoint replica knows them: what `session_events`
//! said, kept until the sessions it names would have ended anyway. Pure: the log follower
//! feeds it, [`super::Sessions::verify`] asks it.

use std::collections::HashMap;

use topology::SessionEvent;

use super::Claims;

/// Every user's sessions that began before `issued_before` (milliseconds) are ended, but
/// `except` (the session that changed the password).
#[derive(Debug, Clone, PartialEq, Eq)]
struct UserCutoff {
    issued_before: i64,
    except: Option<String>,
    until: i64,
}

#[derive(Debug, Default)]
pub struct Revocations {
    /// Session hash → when that session would have ended anyway (milliseconds).
    ended: HashMap<String, i64>,
    /// Username → its password changes still within a session's lifetime.
    users: HashMap<String, Vec<UserCutoff>>,
}

impl Revocations {
    /// One record of `session_events`.
    pub fn apply(&mut self, event: &SessionEvent) {
        match event {
            SessionEvent::SessionEndedEvent(ended) => self.end_session(&ended.session, ended.until),
            SessionEvent::UserSessionsEndedEvent(ended) => self.end_user_sessions(
                &ended.username,
                ended.issued_before,
                ended.except_session.clone(),
                ended.until,
            ),
        }
    }

    pub fn end_session(&mut self, session_hash: &str, until: i64) {
        let kept = self.ended.entry(session_hash.to_string()).or_insert(until);
        *kept = (*kept).max(until);
    }

    pub fn end_user_sessions(
        &mut self,
        username: &str,
        issued_before: i64,
        except: Option<String>,
        until: i64,
    ) {
        let cutoff = UserCutoff {
            issued_before,
            except,
            until,
        };
        let cutoffs = self.users.entry(username.to_string()).or_default();
        if !cutoffs.contains(&cutoff) {
            cutoffs.push(cutoff);
        }
    }

    pub fn has_ended(&self, claims: &Claims) -> bool {
        let hash = claims.session_hash();
        if self.ended.contains_key(&hash) {
            return true;
        }
        self.users.get(&claims.sub).is_some_and(|cutoffs| {
            cutoffs.iter().any(|cutoff| {
                claims.auth_ms < cutoff.issued_before && cutoff.except.as_deref() != Some(&hash)
            })
        })
    }

    /// Forgets what no longer matters at `now_ms`: sessions that have ended anyway.
    pub fn forget_before(&mut self, now_ms: i64) {
        self.ended.retain(|_, until| *until >= now_ms);
        self.users.retain(|_, cutoffs| {
            cutoffs.retain(|cutoff| cutoff.until >= now_ms);
            !cutoffs.is_empty()
        });
    }

    /// How many records it keeps (for tests and `/health`).
    pub fn len(&self) -> usize {
        self.ended.len() + self.users.values().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use topology::{SessionEndedEvent, UserSessionsEndedEvent};

    use super::super::{session_hash, Role};
    use super::*;

    fn claims(username: &str, sid: &str, auth_ms: i64) -> Claims {
        Claims {
            sub: username.into(),
            role: Role::Customer,
            sid: sid.into(),
            jti: String::new(),
            iat: 0,
            exp: 0,
            auth_ms,
            max_exp: 0,
        }
    }

    #[test]
    fn a_logout_ends_that_session_only() {
        let mut revocations = Revocations::default();
        revocations.apply(&SessionEvent::from(SessionEndedEvent {
            session: session_hash("s-1"),
            until: 1_000,
        }));
        assert!(revocations.has_ended(&claims("alice", "s-1", 10)));
        assert!(!revocations.has_ended(&claims("alice", "s-2", 10)));
    }

    #[test]
    fn a_password_change_ends_the_users_older_sessions_but_its_own() {
        let mut revocations = Revocations::default();
        revocations.apply(&SessionEvent::from(UserSessionsEndedEvent {
            username: "alice".into(),
            issued_before: 500,
            except_session: Some(session_hash("changer")),
            until: 2_000,
        }));
        assert!(revocations.has_ended(&claims("alice", "older", 499)));
        assert!(!revocations.has_ended(&claims("alice", "changer", 100)));
        assert!(!revocations.has_ended(&claims("alice", "newer", 500)));
        assert!(!revocations.has_ended(&claims("bob", "older", 100)));
    }

    #[test]
    fn what_ended_anyway_is_forgotten_and_replays_are_harmless() {
        let mut revocations = Revocations::default();
        revocations.end_session("a", 1_000);
        revocations.end_session("a", 1_000);
        revocations.end_user_sessions("alice", 10, None, 3_000);
        revocations.end_user_sessions("alice", 10, None, 3_000);
        assert_eq!(revocations.len(), 2);
        revocations.forget_before(2_000);
        assert_eq!(revocations.len(), 1);
        revocations.forget_before(3_001);
        assert!(revocations.is_empty());
    }
}
