//! Command handler of Open Bank on Kafka.
//!
//! [`domain`] holds every rule as pure functions over plain state, so the Kafka runtime only
//! moves records in and out and the rules can be tested without a broker. [`handling`] applies
//! one command to the in-memory state and lists the records to write; [`rebuild`] restores that
//! state from the event topics at start; [`runtime`] wires both to Kafka with transactions.

pub mod domain;
pub mod handling;
pub mod rebuild;
pub mod runtime;
pub mod store;
