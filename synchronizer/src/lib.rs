//! Makes a Kafka cluster and a schema registry match the Open Bank topology
//! (`contract/topology.toml` + `contract/schemas.toml`, compiled in), and moves an older
//! partition layout to it.
//!
//! A library as well as the `synchronizer` binary, so that the integration tests can run
//! `plan`, `apply` and `migrate` against a catalogue of their own, uniquely named topics on a
//! shared cluster.
//!
//! - [`observed`]: what the cluster and the registry hold now.
//! - [`plan`]: the difference to a catalogue (pure).
//! - [`refusal`]: why `apply` refuses to change a partition count in place.
//! - [`apply`]: carries out one change.
//! - [`synchronize`]: `plan` / `apply` from start to end.
//! - [`acls`]: the services' ACLs, reconciled with the topology's.
//! - [`migrate`]: the old layout to the co-partitioned one, history kept.

pub mod acls;
pub mod apply;
pub mod migrate;
pub mod observed;
pub mod plan;
pub mod refusal;
pub mod synchronize;
