//! The shared heart of Open Bank on Kafka.
//!
//! - [`generated`]: Rust types for every record of `schemas.toml`, one enum per topic of
//!   `topology.toml`, and the static catalogue ([`TOPICS`], [`RECORDS`]).
//! - [`kafka`]: the one place that builds rdkafka clients from the environment.
//! - [`codec`]: typed encode/decode in the Confluent wire format through the schema registry.
//! - [`registry`]: the schema-registry calls the synchronizer needs.
//! - [`reasons`]: every refusal the bank answers with, word for word.
//! - [`routing`]: which partition holds an account, a user or a transfer.
//! - [`values`]: open IBANs, tokens, ids and Dutch euro amounts.

pub mod acls;
pub mod avro;
pub mod catalogue;
pub mod codec;
pub mod kafka;
pub mod logging;
pub mod process;
pub mod proofs;
pub mod reasons;
pub mod registry;
pub mod replay;
pub mod routing;
pub mod settings;
pub mod state_file;
pub mod telemetry;
pub mod trace_context;
pub mod transactions;
pub mod values;

#[cfg(test)]
mod codegen_tests;

/// Types generated from `schemas.toml` and `topology.toml` by `build.rs`.
#[allow(clippy::all)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

pub use avro::{AvroRecord, AvroShapeError, Identified, NamedBy, TopicMessage};
pub use catalogue::{RecordSpec, TopicSpec};
pub use generated::*;
pub use settings::{KafkaSettings, RegistrySettings, Settings};
