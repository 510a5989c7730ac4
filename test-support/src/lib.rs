//! Helpers shared by the integration tests of the Open Bank crates (a `[dev-dependencies]`
//! entry only; never part of a service).
//!
//! The integration tests run against one real broker + schema registry that every test, and
//! earlier runs, share (`scripts/test.sh` starts it and applies the topology). So names are made
//! unique, topics are read from their current end or up to their current end, and the services
//! under test run as child processes that never outlive their test.
// Only tests use this crate: a panic here is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod identity;
mod kafka;
mod process;
pub mod seeded;

pub use identity::{
    cluster_is_secured, password_of, service_identity, settings_anonymous, settings_as,
};
pub use kafka::{consumer_at_end, read_to_end, start_group_at_end, Sender, COMMAND_TOPICS};
pub use process::{free_port, state_dir, ServiceProcess};

use std::time::Duration;

use topology::codec::Codec;
use topology::{Id, Settings};

/// The bound of one Kafka request (metadata, produce, commit): a broker that does not answer
/// fails the test instead of hanging it.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Broker and registry as the services find them: `KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL`, ….
pub fn settings() -> Settings {
    Settings::from_env()
}

/// A codec on the registry of [`settings`], to write and read records as the services do.
pub fn codec() -> Codec {
    Codec::new(&settings().registry).expect("codec")
}

/// `<prefix>-<random UUID>`: usernames, groups and transactional ids that no other test or
/// earlier run on the shared cluster uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Id::random().to_uuid_string())
}
