//! Projector of Open Bank on Kafka: the read side (SPEC §5).
//!
//! All modules but [`runtime`] are the pure core: no Kafka, no I/O, no async. The runtime feeds
//! it events and queries and publishes what it returns.
//!
//! - [`read_model`]: the read models in concurrent maps; one writer, many readers.
//! - [`projection`]: `user_events` / `bank_events` → read-model updates → derived
//!   `TransactionHappenedEvent`s with their source partition and offset; why the result does
//!   not depend on the order Kafka interleaves the partitions in.
//! - [`alerts`]: each account's alert rules, the `AlertTriggeredEvent`s a money event fires,
//!   and why they are published exactly once, with the transaction.
//! - [`history`]: an account as it was at an instant, and its balance over a period.
//! - [`transaction_ids`]: the id of the k-th money event of partition p of P: `k·P + p + 1`.
//! - [`source`]: where an event was read (partition, offset, timestamp), and the replay-stable
//!   order of facts from different partitions.
//! - [`publishing`]: which derived events to publish after a replay, per partition, and the
//!   exactly-once runtime design.
//! - [`queries`]: answers to `user_queries` / `bank_queries`, with the reasons of failures.
//! - [`account_index`]: the sorted, searchable list of every account that
//!   `AllBankAccountsQuery` pages through.
//! - [`query_results`]: the JSON shapes of successful answers, re-exported from the contract
//!   (`topology::query_results`), which the GraphQL endpoint reads with.
//! - [`runtime`]: the Kafka side (replay, publishing, query answering, health) that the
//!   `projector` binary runs.
//!
//! The runtime's loop, in short:
//!
//! ```
//! use std::sync::Arc;
//! use projector::{answer, project_user_event, BankProjector, PublishedPositions, ReadModel, Source};
//! use topology::{
//!     BankAccountCreatedEvent, BankEvent, BankQuery, FindBankAccountQuery, Id,
//!     UserAccountCreatedEvent, UserEvent,
//! };
//!
//! // The partition count of bank_events as read at start: transaction ids are numbered for it.
//! let mut bank = BankProjector::new(Arc::new(ReadModel::new()), topology::BANK_PARTITIONS);
//! let for_queries = Arc::clone(bank.read_model()); // shared with the query threads
//!
//! // user_events: every partition from offset 0 at every start, nothing to publish.
//! let user: UserEvent = UserAccountCreatedEvent { username: "openweb".into(), password: "hash".into() }.into();
//! project_user_event(bank.read_model(), &user);
//!
//! // bank_events: every partition from offset 0 at every start, publish only what is new.
//! // From the committed offsets of the bank_events partitions, see `publishing`.
//! let published = PublishedPositions::nothing();
//!
//! let event: BankEvent = BankAccountCreatedEvent {
//!     iban: "NL66OPEN0000000000".into(),
//!     token: String::new(),
//!     username: "openweb".into(),
//!     // The SHA-256 of the owner's token and the nonce the endpoint derives it from.
//!     token_hash: Some(topology::proofs::token_hash("01234567890123456789")),
//!     token_nonce: Some("5f0c2a".into()),
//! }
//! .into();
//! // Where the consumer read it: partition, offset and the record's timestamp.
//! let source = Source::written(topology::routing::partition_of("NL66OPEN0000000000"), 0, Some(1_700_000_000_000));
//! if let Some(derived) = bank.project(source, &event).map_err(|e| e.to_string())? {
//!     if published.should_publish(&derived) {
//!         // produce what it derived (a transaction with its alerts, or a failed standing-order
//!         // run's alert) in a Kafka transaction
//!     }
//! }
//!
//! let query: BankQuery = FindBankAccountQuery { id: Id([1; 16]), iban: "NL66OPEN0000000000".into() }.into();
//! let feedback: topology::BankQueryFeedback = answer(&for_queries, &query).into();
//! assert!(matches!(feedback, topology::BankQueryFeedback::QuerySucceeded(_)));
//! # Ok::<(), String>(())
//! ```

pub mod account_index;
pub mod account_queries;
pub mod alerts;
pub mod history;
pub mod projection;
pub mod publishing;
pub mod queries;
pub mod query_results;
pub mod read_model;
pub mod runtime;
pub mod source;
pub mod statements;
pub mod store;
pub mod transaction_ids;

#[cfg(test)]
mod alert_derivation_tests;
#[cfg(test)]
mod test_events;

pub use projection::{
    project_user_event, return_description, BankProjector, Derived, DerivedRunFailure,
    DerivedTransaction, ProjectionError,
};
pub use publishing::{
    last_published_offset, offset_to_commit, offsets_to_commit, should_publish, PublishedPositions,
};
pub use queries::{answer, Query, QueryAnswer};
pub use query_results::{Account, Owner, Transaction, User};
pub use read_model::{ReadModel, Transfer};
pub use source::Source;
