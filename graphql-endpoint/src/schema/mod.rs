//! The GraphQL schema of SPEC §6: queries, mutations and the transaction subscription.

pub mod alerts;
pub mod auth;
pub mod errors;
pub mod filter;
pub mod history;
pub mod mutation;
pub mod observed;
pub mod operations_view;
pub mod query;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{Schema, SchemaBuilder};

use crate::bank::Bank;
use crate::employees::Employees;
use crate::feed::{AlertFeed, TransactionFeed};

pub use mutation::MutationRoot;
pub use operations_view::Watching;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

pub type BankSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Bounds on what one GraphQL document may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
}

pub fn build(
    bank: Arc<Bank>,
    feed: Arc<TransactionFeed>,
    alerts: Arc<AlertFeed>,
    employees: Arc<Employees>,
    watching: Arc<Watching>,
    limits: Limits,
) -> BankSchema {
    builder(limits)
        .extension(observed::Observed)
        .data(bank)
        .data(feed)
        .data(alerts)
        .data(employees)
        .data(watching)
        .finish()
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
    use std::time::{Duration, SystemTime};

    use async_graphql::extensions::Analyzer;
    use async_graphql::{Request, Value};

    use super::*;
    use crate::employees::Bearer;

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

    const ALL_ACCOUNTS: &str = "{ all_accounts { total offset accounts { iban balance owners } } }";

    #[tokio::test]
    async fn a_page_of_accounts_fits_the_default_limits() {
        let schema = builder(DEFAULTS).extension(Analyzer).finish();
        let response = schema.execute(ALL_ACCOUNTS).await;
        // Without a bank behind the schema the resolver fails, but only after the limits passed.
        let messages: Vec<&str> = response.errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .all(|m| !m.contains("too complex") && !m.contains("too deep")),
            "{messages:?}"
        );
        let analysis = response.extensions.get("analyzer").cloned();
        let analysis = analysis.expect("analysis").into_json().expect("json");
        eprintln!("a page of accounts: {analysis}");
        assert!(analysis["complexity"].as_u64() < Some(20), "{analysis}");
        assert!(analysis["depth"].as_u64() < Some(5), "{analysis}");
    }

    #[test]
    fn all_accounts_is_in_the_schema_with_its_defaults() {
        let sdl = sdl();
        let start = sdl.find("\tall_accounts(").expect("all_accounts");
        let field = &sdl[start..];
        let field = &field[..field.find("): AccountsPage!").expect("its type")];
        // Without the descriptions: `all_accounts(offset: Int = 0, max_items: Int = 10, search: String)`.
        let arguments: Vec<&str> = field
            .lines()
            .map(str::trim)
            .filter(|line| line.contains(':'))
            .collect();
        assert_eq!(
            arguments,
            ["offset: Int = 0,", "max_items: Int = 10,", "search: String"],
            "{field}"
        );
        for expected in [
            "type AccountsPage",
            "total: Int!",
            "accounts: [BankAccount!]!",
            "type BankAccount",
            "balance: String!",
            "owners: [String!]!",
        ] {
            assert!(sdl.contains(expected), "{expected} missing from\n{sdl}");
        }
    }

    fn with_employees() -> (BankSchema, Bearer) {
        let employees =
            Employees::new(None, b"test secret", Duration::from_secs(60)).expect("a secret");
        let session = employees
            .issue("employee", SystemTime::now())
            .expect("signed");
        let bearer = Bearer(Some(session.token));
        (builder(DEFAULTS).data(Arc::new(employees)).finish(), bearer)
    }

    fn code(error: &async_graphql::ServerError) -> Option<async_graphql::Value> {
        error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned()
    }

    #[tokio::test]
    async fn all_accounts_needs_a_valid_employee_session() {
        let (schema, _) = with_employees();
        let expired = Employees::new(None, b"test secret", Duration::from_secs(60))
            .expect("a secret")
            .issue("employee", SystemTime::now() - Duration::from_secs(120))
            .expect("signed");
        for (bearer, message) in [
            (Bearer(None), "employee login required"),
            (
                Bearer(Some("forged".into())),
                "employee session is not valid",
            ),
            (Bearer(Some(expired.token)), "employee session expired"),
        ] {
            let request = Request::new("{ all_accounts { total } }").data(bearer);
            let response = schema.execute(request).await;
            let error = response.errors.first().expect("refused");
            assert_eq!(error.message, message);
            assert_eq!(code(error), Some(Value::from("UNAUTHENTICATED")));
        }
    }

    #[tokio::test]
    async fn all_accounts_refuses_bad_paging_before_asking_anyone() {
        let (schema, bearer) = with_employees();
        for (query, message) in [
            (
                "{ all_accounts(max_items: 0) { total } }",
                "max_items should be between 1 and 1000",
            ),
            (
                "{ all_accounts(max_items: 1001) { total } }",
                "max_items should be between 1 and 1000",
            ),
            (
                "{ all_accounts(offset: -1) { total } }",
                "offset should not be negative",
            ),
        ] {
            let response = schema
                .execute(Request::new(query).data(bearer.clone()))
                .await;
            let error = response.errors.first().expect(query);
            assert_eq!(error.message, message, "{query}");
            assert_eq!(code(error), Some(Value::from("BAD_USER_INPUT")));
        }
        // null means the default: it passes the checks (and then finds no bank behind this
        // schema).
        let nulls = schema
            .execute(
                Request::new(
                    "{ all_accounts(offset: null, max_items: null, search: null) { total } }",
                )
                .data(bearer),
            )
            .await;
        assert!(
            nulls.errors[0].message.contains("does not exist"),
            "{:?}",
            nulls.errors
        );
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
