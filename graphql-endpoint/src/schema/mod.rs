//! The GraphQL schema of SPEC §6: queries, mutations and the transaction subscription.

pub mod errors;
pub mod filter;
pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{Schema, SchemaBuilder};

use crate::bank::Bank;
use crate::feed::TransactionFeed;

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

pub type BankSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Bounds on what one GraphQL document may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
}

pub fn build(bank: Arc<Bank>, feed: Arc<TransactionFeed>, limits: Limits) -> BankSchema {
    builder(limits).data(bank).data(feed).finish()
}

fn builder(limits: Limits) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
}

/// The schema without Kafka behind it: for printing the SDL and checking limits offline.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .finish()
        .sdl()
}

#[cfg(test)]
mod tests {
    use async_graphql::extensions::Analyzer;

    use super::*;

    /// The defaults of `graphql-endpoint --help`.
    const DEFAULTS: Limits = Limits {
        depth: 16,
        complexity: 500,
    };

    #[tokio::test]
    async fn graphiql_introspection_fits_the_default_limits() {
        let schema = builder(DEFAULTS).extension(Analyzer).finish();
        let response = schema.execute(include_str!("introspection.graphql")).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let analysis = response.extensions.get("analyzer").cloned();
        eprintln!("introspection: {analysis:?}");
    }

    #[tokio::test]
    async fn deeper_or_bigger_documents_are_refused() {
        let schema = builder(Limits {
            depth: 3,
            complexity: 5,
        })
        .finish();
        let deep = schema
            .execute("{ __schema { types { fields { type { name } } } } }")
            .await;
        assert_eq!(deep.errors[0].message, "Query is nested too deep.");
        let big = schema
            .execute("{ __schema { types { name kind description } directives { name } } }")
            .await;
        assert_eq!(big.errors[0].message, "Query is too complex.");
    }
}
