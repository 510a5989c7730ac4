//! The JSON shapes of `QuerySucceeded.query_result`: the contract's
//! ([`topology::query_results`], documented there), which the GraphQL endpoint reads with.
//!
//! The read model stores these very types, so answering a query serializes what is stored.

pub use topology::query_results::*;
