//! Command handler of Open Bank on Kafka.
//!
//! [`domain`] holds every rule as pure functions over plain state, so the Kafka runtime only
//! moves records in and out and the rules can be tested without a broker.

pub mod domain;
