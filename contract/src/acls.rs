//! Kafka ACLs: what one principal may do on one resource. The topology declares them
//! (`topology.toml`: each topic's `readers` and `writers`, each principal's groups and
//! transactional ids, see [`wanted`]); the synchronizer reconciles a cluster with them through
//! `topology::acls::AclAdmin`.

use std::collections::BTreeSet;
use std::fmt;

use crate::catalogue::{Principal, TOPICS};

/// The resources the bank's ACLs name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Topic,
    Group,
    TransactionalId,
}

/// How a binding's name matches resource names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pattern {
    Literal,
    Prefixed,
}

/// The operations the bank's ACLs allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    All,
    Read,
    Write,
    Create,
    Describe,
    DescribeConfigs,
}

/// One allowed operation of one principal on one resource, from any host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclBinding {
    /// `User:<name>`.
    pub principal: String,
    pub resource: Resource,
    pub pattern: Pattern,
    pub name: String,
    pub operation: Operation,
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pattern = match self.pattern {
            Pattern::Literal => "",
            Pattern::Prefixed => "*",
        };
        write!(
            f,
            "{} may {:?} {:?} {}{pattern}",
            self.principal, self.operation, self.resource, self.name
        )
    }
}

impl Operation {
    /// The name Strimzi's KafkaUser uses.
    pub fn strimzi_name(self) -> &'static str {
        match self {
            Operation::All => "All",
            Operation::Read => "Read",
            Operation::Write => "Write",
            Operation::Create => "Create",
            Operation::Describe => "Describe",
            Operation::DescribeConfigs => "DescribeConfigs",
        }
    }
}

impl Resource {
    /// The name Strimzi's KafkaUser uses.
    pub fn strimzi_name(self) -> &'static str {
        match self {
            Resource::Topic => "topic",
            Resource::Group => "group",
            Resource::TransactionalId => "transactionalId",
        }
    }
}

impl Pattern {
    /// The name Strimzi's KafkaUser uses.
    pub fn strimzi_name(self) -> &'static str {
        match self {
            Pattern::Literal => "literal",
            Pattern::Prefixed => "prefix",
        }
    }
}

/// `User:<name>` of a principal of the topology.
pub fn user(name: &str) -> String {
    format!("User:{name}")
}

/// Every ACL the topology declares, for every principal of [`crate::catalogue::PRINCIPALS`]
/// (Kafka's Read and Write imply Describe, so it is never granted on its own):
/// - a topic's readers may Read it, its writers Write it;
/// - a principal may Read (join, fetch and commit offsets of) the groups named by its group
///   prefixes, and Write (produce under) the transactional ids named by its prefixes;
/// - a principal with a topic prefix (the schema registry) may Create, read the configs of,
///   Read and Write those topics, which it makes itself.
pub fn wanted(principals: &[Principal]) -> BTreeSet<AclBinding> {
    let mut acls = BTreeSet::new();
    let mut allow = |principal: &str, resource, pattern, name: &str, operations: &[Operation]| {
        for &operation in operations {
            acls.insert(AclBinding {
                principal: user(principal),
                resource,
                pattern,
                name: name.to_string(),
                operation,
            });
        }
    };
    for topic in TOPICS {
        for reader in topic.readers {
            allow(
                reader,
                Resource::Topic,
                Pattern::Literal,
                topic.name,
                &[Operation::Read],
            );
        }
        for writer in topic.writers {
            allow(
                writer,
                Resource::Topic,
                Pattern::Literal,
                topic.name,
                &[Operation::Write],
            );
        }
    }
    for principal in principals {
        for group in principal.groups {
            allow(
                principal.name,
                Resource::Group,
                Pattern::Prefixed,
                group,
                &[Operation::Read],
            );
        }
        for id in principal.transactional_ids {
            allow(
                principal.name,
                Resource::TransactionalId,
                Pattern::Prefixed,
                id,
                &[Operation::Write],
            );
        }
        for prefix in principal.topic_prefixes {
            allow(
                principal.name,
                Resource::Topic,
                Pattern::Prefixed,
                prefix,
                &[
                    Operation::Create,
                    Operation::DescribeConfigs,
                    Operation::Read,
                    Operation::Write,
                ],
            );
        }
    }
    acls
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::PRINCIPALS;

    fn allows(
        acls: &BTreeSet<AclBinding>,
        principal: &str,
        resource: Resource,
        name: &str,
        operation: Operation,
    ) -> bool {
        acls.iter().any(|acl| {
            acl.principal == user(principal)
                && acl.resource == resource
                && acl.operation == operation
                && match acl.pattern {
                    Pattern::Literal => acl.name == name,
                    Pattern::Prefixed => name.starts_with(&acl.name),
                }
        })
    }

    #[test]
    fn least_privilege_as_the_topology_declares_it() {
        let acls = wanted(PRINCIPALS);
        let (topic, write, read) = (Resource::Topic, Operation::Write, Operation::Read);
        // Only the command handler writes events and the saga's commands.
        for events in [
            "bank_events",
            "user_events",
            "transfer_commands",
            "transfer_command_feedback",
        ] {
            assert!(
                allows(&acls, "command-handler", topic, events, write),
                "{events}"
            );
            for other in ["graphql-endpoint", "projector", "schema-registry"] {
                assert!(
                    !allows(&acls, other, topic, events, write),
                    "{other} writes {events}"
                );
            }
        }
        // The endpoint writes client commands and queries, reads what it answers from, and never
        // reads events.
        for written in [
            "user_commands",
            "bank_commands",
            "user_queries",
            "bank_queries",
            "session_events",
        ] {
            assert!(
                allows(&acls, "graphql-endpoint", topic, written, write),
                "{written}"
            );
        }
        for events in ["bank_events", "user_events"] {
            assert!(
                !allows(&acls, "graphql-endpoint", topic, events, read),
                "{events}"
            );
        }
        assert!(allows(
            &acls,
            "graphql-endpoint",
            topic,
            "transaction_events",
            read
        ));
        // Groups and transactional ids by prefix.
        assert!(allows(
            &acls,
            "command-handler",
            Resource::Group,
            "command-handler",
            read
        ));
        assert!(allows(
            &acls,
            "projector",
            Resource::TransactionalId,
            "projector-transactions",
            write
        ));
        assert!(!allows(
            &acls,
            "graphql-endpoint",
            Resource::TransactionalId,
            "command-handler",
            write
        ));
        // The registry keeps to its own topics.
        assert!(allows(
            &acls,
            "schema-registry",
            topic,
            "_apicurio-kafkasql-journal",
            Operation::Create
        ));
        assert!(!allows(
            &acls,
            "schema-registry",
            topic,
            "bank_events",
            read
        ));
    }
}
