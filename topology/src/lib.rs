//! Open Bank on Kafka's Kafka I/O and service plumbing, on top of the [`contract`] (records,
//! topics, routing, values), which it re-exports so a service needs one dependency.
//!
//! - [`kafka`]: the one place that builds rdkafka clients from the environment.
//! - [`codec`]: typed encode/decode in the Confluent wire format through the schema registry.
//! - [`registry`]: the schema-registry calls the synchronizer needs.
//! - [`replay`], [`transactions`], [`batching`]: reading partitions to their end, writing
//!   exactly once, gathering a transaction's inputs.
//! - [`state_file`]: the redb file under every local state store.
//! - [`health`], [`settings`], [`logging`], [`telemetry`], [`trace_context`], [`process`]: what every
//!   service sets up the same way.

pub mod acls;
pub mod batching;
pub mod codec;
pub mod health;
pub mod kafka;
pub mod logging;
pub mod process;
pub mod registry;
pub mod replay;
pub mod settings;
pub mod state_file;
pub mod telemetry;
pub mod trace_context;
pub mod transactions;

pub use contract::{self, *};
pub use settings::{KafkaSettings, RegistrySettings, Settings};
