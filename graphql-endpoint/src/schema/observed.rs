//! Metrics of every GraphQL operation: `open_bank_graphql_operations_total{operation, outcome}`
//! and `open_bank_graphql_operation_seconds{operation}`, where `operation` is the root field
//! the operation asks for (`money_transfer`, `all_accounts`, `__schema`, …): a client's own
//! operation names would let anyone mint label values, the schema's fields cannot.
//!
//! Only documents that passed validation reach `execute`, so the label is always a field of
//! the schema.
//!
//! Each operation also runs in a `graphql` span that starts its trace (see
//! `topology::trace_context`): the commands and queries it sends carry it, and the response
//! tells it in `extensions.trace_id`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection};
use async_graphql::{Response, ServerResult, Value, Variables};
use metrics::{counter, histogram};
use topology::trace_context;
use tracing::Instrument;

/// A caller's W3C `traceparent` header, if the request came with one.
#[derive(Debug, Clone, Default)]
pub struct IncomingTrace(pub Option<String>);

pub struct Observed;

impl ExtensionFactory for Observed {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObservedRequest::default())
    }
}

/// The root field of each operation of the request's document, by operation name.
#[derive(Default)]
struct ObservedRequest {
    root_fields: Mutex<Vec<(Option<String>, String)>>,
}

#[async_trait::async_trait]
impl Extension for ObservedRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        *self
            .root_fields
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = root_fields(&document);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let operation = self
            .root_fields
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(name, _)| operation_name.is_none() || name.as_deref() == operation_name)
            .map_or_else(|| "unknown".to_string(), |(_, field)| field.clone());
        // The trace every command and query of this operation carries on Kafka; it continues
        // a caller's `traceparent` header if one came.
        let span = tracing::info_span!(
            "graphql",
            operation = operation.as_str(),
            trace_id = tracing::field::Empty
        );
        let incoming = ctx.data_opt::<IncomingTrace>().and_then(|t| t.0.as_deref());
        trace_context::follow(&span, incoming);
        let mut response = next.run(ctx, operation_name).instrument(span.clone()).await;
        if let Some(trace_id) = trace_context::trace_id_of(&span) {
            response = response.extension("trace_id", Value::from(trace_id));
        }
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        counter!(
            "open_bank_graphql_operations_total",
            "operation" => operation.clone(),
            "outcome" => outcome
        )
        .increment(1);
        histogram!("open_bank_graphql_operation_seconds", "operation" => operation)
            .record(started.elapsed().as_secs_f64());
        response
    }
}

fn root_fields(document: &ExecutableDocument) -> Vec<(Option<String>, String)> {
    let first_field = |operation: &async_graphql::parser::types::OperationDefinition| {
        operation
            .selection_set
            .node
            .items
            .iter()
            .find_map(|selection| match &selection.node {
                Selection::Field(field) => Some(field.node.name.node.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "fragment".to_string())
    };
    match &document.operations {
        DocumentOperations::Single(operation) => vec![(None, first_field(&operation.node))],
        DocumentOperations::Multiple(operations) => operations
            .iter()
            .map(|(name, operation)| (Some(name.to_string()), first_field(&operation.node)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_is_named_by_its_first_root_field() {
        let single =
            async_graphql::parser::parse_query("{ all_last_transactions { id } }").expect("parses");
        assert_eq!(
            root_fields(&single),
            [(None, "all_last_transactions".to_string())]
        );
        let named = async_graphql::parser::parse_query(
            "query A { transaction_by_id(id: 1) { id } } mutation B { get_account(username: \"u\", password: \"p\") { iban } }",
        )
        .expect("parses");
        let mut found = root_fields(&named);
        found.sort();
        assert_eq!(
            found,
            [
                (Some("A".to_string()), "transaction_by_id".to_string()),
                (Some("B".to_string()), "get_account".to_string())
            ]
        );
    }
}
