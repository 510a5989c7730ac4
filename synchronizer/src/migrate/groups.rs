//! Whether the services that read or write the migrated topics are still running: a consumer
//! group with members means an instance is (or was, a moment ago) consuming.

use std::fmt;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;

/// A consumer group that still has members, with who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveGroup {
    pub group: String,
    /// `client id @ host` of each member.
    pub members: Vec<String>,
}

/// The groups of `groups` that have members now.
pub fn active_groups(
    admin: &AdminClient<DefaultClientContext>,
    groups: &[String],
    timeout: Duration,
) -> Result<Vec<ActiveGroup>, KafkaError> {
    let mut active = Vec::new();
    for group in groups {
        // An unknown group comes back without members, like an empty one.
        let list = admin.inner().fetch_group_list(Some(group), timeout)?;
        for info in list.groups().iter().filter(|g| g.name() == group) {
            if !info.members().is_empty() {
                active.push(ActiveGroup {
                    group: group.clone(),
                    members: info
                        .members()
                        .iter()
                        .map(|m| format!("{}@{}", m.client_id(), m.client_host()))
                        .collect(),
                });
            }
        }
    }
    Ok(active)
}

/// The refusal to migrate while services run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct GroupsActive(pub Vec<ActiveGroup>);

impl fmt::Display for GroupsActive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing to migrate, nothing was changed: consumer group(s) still have members:"
        )?;
        for group in &self.0 {
            write!(f, " {} ({});", group.group, group.members.join(", "))?;
        }
        write!(
            f,
            " stop every command handler and the projector first (`scripts/run.sh stop`). A \
             stopped instance with a static group.instance.id stays a member until its session \
             times out (45 s by default): wait that long and run migrate again."
        )
    }
}
