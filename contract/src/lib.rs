//! What every side of Open Bank on Kafka must agree on, and nothing that talks to Kafka: the
//! records and topics, the keys and partitions, the values and the proofs, the refusals and
//! the answers to queries. Services, the synchronizer and the tests build on it through
//! `topology` (Kafka I/O), which re-exports it.
//!
//! - [`generated`]: Rust types for every record of `schemas.toml`, one enum per topic of
//!   `topology.toml`, and the static catalogue ([`TOPICS`], [`RECORDS`]).
//! - [`avro`]: how those types become Avro values and back.
//! - [`catalogue`]: the topics, records and principals, to look up by name.
//! - [`acls`]: the ACLs the topology declares for each service's principal.
//! - [`routing`]: which partition holds an account, a user or a transfer, and which
//!   partitions an instance decides for ([`routing::Ownership`]).
//! - [`consistency`]: read your own writes, the positions a command's answer carries.
//! - [`schedules`]: when each run of a standing order is due, and its transfer's id.
//! - [`values`]: open IBANs, tokens, ids and Dutch euro amounts.
//! - [`proofs`]: token hashes and the signatures of the saga's cross-instance credits.
//! - [`reasons`]: every refusal the bank answers with, word for word.
//! - [`query_results`]: the JSON shapes of the projector's answers, as the endpoint reads them.

pub mod acls;
pub mod avro;
pub mod catalogue;
pub mod consistency;
pub mod proofs;
pub mod query_results;
pub mod reasons;
pub mod routing;
pub mod schedules;
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
