//! The GraphQL schema of SPEC §6: queries, mutations and the transaction subscription.

pub mod access;
pub mod alerts;
pub mod errors;
pub mod filter;
pub mod history;
pub mod hold_mutations;
pub mod limits;
pub mod mutation;
pub mod observed;
pub mod operations_view;
pub mod order_mutations;
pub mod query;
pub mod refusals;
pub mod session_mutations;
pub mod statement;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{Schema, SchemaBuilder};

use crate::bank::Bank;
use crate::employees::Employees;
use crate::feed::{AlertFeed, TransactionFeed};
use crate::sessions::log::SessionLog;
use crate::sessions::Sessions;

pub use mutation::MutationRoot;
pub use operations_view::Watching;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

pub type BankSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Bounds on what one GraphQL document may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    /// Every field counts 1, and a list of transactions or accounts counts its fields once
    /// per item asked for (`max_items`), so aliases cannot multiply a large answer.
    pub complexity: usize,
    /// Whether the schema answers introspection (`__schema`, `__type`): GraphiQL needs it;
    /// production need not tell everyone every field.
    pub introspection: bool,
}

/// What the resolvers use.
pub struct Services {
    pub bank: Arc<Bank>,
    pub feed: Arc<TransactionFeed>,
    pub alerts: Arc<AlertFeed>,
    pub employees: Arc<Employees>,
    pub sessions: Arc<Sessions>,
    pub session_log: Arc<SessionLog>,
    pub watching: Arc<Watching>,
}

pub fn build(services: Services, limits: Limits) -> BankSchema {
    builder(limits)
        .extension(observed::Observed)
        .data(services.bank)
        .data(services.feed)
        .data(services.alerts)
        .data(services.employees)
        .data(services.sessions)
        .data(services.session_log)
        .data(services.watching)
        .finish()
}

fn builder(limits: Limits) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let builder = types()
        .extension(limits::OneCredentialCheck)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity);
    if limits.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The roots, and the types no field reaches that clients still need.
fn types() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot, MutationRoot::default(), SubscriptionRoot)
        .register_output_type::<refusals::Refusal>()
}

/// The schema without Kafka behind it: for printing the SDL and checking limits offline.
pub fn sdl() -> String {
    types().finish().sdl()
}

/// The SDL checked in beside the crate, which the web app's types are generated from.
pub const SDL_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");

/// What updates [`SDL_FILE`] after a change of the schema.
pub const UPDATE_SDL: &str = "cargo run -p graphql-endpoint --bin print-schema -- --write";

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use async_graphql::extensions::Analyzer;
    use async_graphql::{Request, Value};

    use super::*;
    use crate::sessions::{Bearer, Lifetimes, Role};

    /// The defaults of `graphql-endpoint --help`.
    const DEFAULTS: Limits = Limits {
        depth: 16,
        complexity: 5_000,
        introspection: true,
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
        // 3 fields of 10 accounts, and the page's own: far below the limit.
        assert!(analysis["complexity"].as_u64() < Some(100), "{analysis}");
        assert!(analysis["depth"].as_u64() < Some(5), "{analysis}");
    }

    #[test]
    fn the_checked_in_schema_is_the_servers() {
        let checked_in = std::fs::read_to_string(SDL_FILE).unwrap_or_default();
        let served = sdl();
        if checked_in != served {
            let line = checked_in
                .lines()
                .zip(served.lines())
                .position(|(old, new)| old != new)
                .unwrap_or_else(|| checked_in.lines().count().min(served.lines().count()));
            panic!(
                "{SDL_FILE} differs from the schema the endpoint serves, from line {} on; \
                 update it (and then the web app's generated types, `npm run codegen` in \
                 frontend/) with:\n\n    {UPDATE_SDL}\n",
                line + 1
            );
        }
    }

    #[test]
    fn the_schema_names_every_refusal_in_its_exact_words() {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

        let document = async_graphql::parser::parse_schema(sdl()).expect("the SDL parses");
        let values = document
            .definitions
            .iter()
            .find_map(|definition| match definition {
                TypeSystemDefinition::Type(t) if t.node.name.node == "Refusal" => {
                    match &t.node.kind {
                        TypeKind::Enum(e) => Some(e.values.clone()),
                        _ => None,
                    }
                }
                _ => None,
            })
            .expect("enum Refusal");
        let read: Vec<(String, Option<String>)> = values
            .iter()
            .map(|value| {
                let value = &value.node;
                (
                    value.value.node.to_string(),
                    value.description.as_ref().map(|d| d.node.clone()),
                )
            })
            .collect();
        let expected: Vec<(String, Option<String>)> = topology::reasons::Refusal::ALL
            .iter()
            .map(|&refusal| {
                (
                    refusals::value_name(refusal),
                    Some(refusal.text().to_string()),
                )
            })
            .collect();
        assert_eq!(read, expected);
        assert!(read
            .iter()
            .any(|(name, text)| name == "IBAN_NOT_KNOWN"
                && text.as_deref() == Some("iban not known")));
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

    fn sessions() -> Sessions {
        Sessions::new(
            b"test secret",
            Lifetimes::CUSTOMER_DEFAULT,
            Lifetimes::CUSTOMER_DEFAULT,
        )
        .expect("a secret")
    }

    fn bearer_of(sessions: &Sessions, role: Role, at: SystemTime) -> Bearer {
        let session = sessions.issue("someone-here", role, at).expect("signed");
        Bearer::from_authorization(Some(&format!("Bearer {}", session.token)))
    }

    fn with_employees() -> (BankSchema, Bearer) {
        let sessions = sessions();
        let bearer = bearer_of(&sessions, Role::Employee, SystemTime::now());
        (builder(DEFAULTS).data(Arc::new(sessions)).finish(), bearer)
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
        let sessions = sessions();
        let long_ago = SystemTime::now() - Duration::from_secs(13 * 3600);
        let cases = [
            (
                Bearer::default(),
                "employee login required",
                "UNAUTHENTICATED",
            ),
            (
                Bearer::from_authorization(Some("Bearer forged")),
                "session is not valid",
                "UNAUTHENTICATED",
            ),
            (
                bearer_of(&sessions, Role::Employee, long_ago),
                "session expired",
                "UNAUTHENTICATED",
            ),
            (
                bearer_of(&sessions, Role::Customer, SystemTime::now()),
                "employees only",
                "FORBIDDEN",
            ),
        ];
        let schema = builder(DEFAULTS).data(Arc::new(sessions)).finish();
        for (bearer, message, expected) in cases {
            for query in [
                "{ all_accounts { total } }",
                "{ all_last_transactions { id } }",
            ] {
                let response = schema
                    .execute(Request::new(query).data(bearer.clone()))
                    .await;
                let error = response.errors.first().expect("refused");
                assert_eq!(error.message, message, "{query}");
                assert_eq!(code(error), Some(Value::from(expected)), "{query}");
            }
        }
    }

    #[tokio::test]
    async fn reads_of_customers_data_need_a_session() {
        let schema = builder(DEFAULTS).data(Arc::new(sessions())).finish();
        for query in [
            "{ transaction_by_id(id: 1) { id } }",
            r#"{ transactions_by_iban(iban: "NL66OPEN0000000000", max_items: 5) { id } }"#,
            r#"{ account_at(iban: "NL66OPEN0000000000", at: "2026-11-30T08:00:00Z") { balance } }"#,
            r#"{ balance_history(iban: "NL66OPEN0000000000", from: "2026-11-30T08:00:00Z", to: "2026-11-30T09:00:00Z", points: 2) { at } }"#,
            r#"{ transfer_status(uuid: "7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10") { status } }"#,
            r#"{ alert_rules(iban: "NL66OPEN0000000000") { kind } }"#,
            "{ my_accounts { reason } }",
        ] {
            let response = schema.execute(query).await;
            let error = response
                .errors
                .first()
                .unwrap_or_else(|| panic!("{query} refused"));
            assert_eq!(error.message, "login required", "{query}");
            assert_eq!(code(error), Some(Value::from("UNAUTHENTICATED")), "{query}");
        }
    }

    #[tokio::test]
    async fn aliases_cannot_multiply_a_large_answer() {
        let schema = builder(DEFAULTS).finish();
        let one = r#"{ transactions_by_iban(iban: "NL66OPEN0000000000", max_items: 500) { id iban new_balance changed_by from_to descr direction at } }"#;
        let response = schema.execute(one).await;
        assert!(
            response
                .errors
                .iter()
                .all(|e| !e.message.contains("too complex")),
            "one page of 500 passes: {:?}",
            response.errors
        );
        let aliased: String = (0..3)
            .map(|n| format!(r#"a{n}: transactions_by_iban(iban: "NL66OPEN0000000000", max_items: 1000) {{ id iban new_balance changed_by from_to descr direction at }} "#))
            .collect();
        let response = schema.execute(format!("{{ {aliased} }}")).await;
        assert_eq!(response.errors[0].message, "Query is too complex.");
    }

    #[tokio::test]
    async fn introspection_can_be_switched_off() {
        let schema = builder(Limits {
            introspection: false,
            ..DEFAULTS
        })
        .finish();
        let response = schema.execute("{ __schema { queryType { name } } }").await;
        let data = response.data.into_json().expect("json");
        assert!(
            !response.errors.is_empty() || data["__schema"].is_null(),
            "{data} {:?}",
            response.errors
        );
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
            introspection: true,
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
