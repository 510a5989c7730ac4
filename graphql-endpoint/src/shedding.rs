//! Refusing commands before any GraphQL work while the bank is already busy.
//!
//! Admission control ([`crate::bus::admission`]) refuses a command once the most allowed are
//! waiting for their answers, but only inside its resolver: by then the request has been
//! parsed, validated and executed up to that field, its session checked and its answer
//! serialized, and past the knee that work, done for every refused request, takes the CPU the
//! admitted ones need (the README's saturation curve: the endpoint spent 0.53 of the 2 cores at
//! 2,000/s offered, nearly all of it on refusals). So while no command would be admitted, a
//! request whose every operation is a mutation made only of command fields is refused by the
//! HTTP handler as soon as its documents are parsed: `503` with `Retry-After` and the same
//! `BUSY` error the resolver gives. Anything else (a query, a login, a mutation with one
//! field that sends no command) runs as usual and meets admission control, if at all, in its
//! resolver.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::Request;

/// The mutation fields that send a command and wait for its answer: each needs a place among
/// the commands in flight. `get_account` is not one (for a known user it only checks the
/// password), nor are the session mutations other than `change_password`.
pub const COMMAND_FIELDS: [&str; 12] = [
    "open_account",
    "add_owner",
    "remove_owner",
    "set_alert",
    "remove_alert",
    "money_transfer",
    "hold_money",
    "capture_hold",
    "void_hold",
    "set_standing_order",
    "cancel_standing_order",
    "change_password",
];

/// Whether every request of the batch would run only command fields: each names (or holds
/// only) a mutation whose selection is command fields, however aliased. A document that does
/// not parse, or an operation that cannot be told, counts as not: it runs and is answered as
/// usual.
pub fn only_commands(requests: &[Request]) -> bool {
    !requests.is_empty()
        && requests.iter().all(|request| {
            async_graphql::parser::parse_query(&request.query).is_ok_and(|document| {
                operation(&document, request.operation_name.as_deref())
                    .is_some_and(is_command_mutation)
            })
        })
}

/// The operation a request runs: the only one of its document, or the one it names.
fn operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .iter()
            .find(|(candidate, _)| candidate.as_str() == name)
            .map(|(_, operation)| &operation.node),
        // One named operation, asked for without its name, runs too.
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

fn is_command_mutation(operation: &OperationDefinition) -> bool {
    let fields = &operation.selection_set.node.items;
    operation.ty == OperationType::Mutation
        && !fields.is_empty()
        && fields.iter().all(|selection| match &selection.node {
            Selection::Field(field) => COMMAND_FIELDS.contains(&field.node.name.node.as_str()),
            // A fragment at the root is left to the executor.
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> Request {
        Request::new(query)
    }

    #[test]
    fn a_mutation_of_command_fields_is_shed_however_aliased() {
        let transfer = r#"mutation { money_transfer(uuid: "u", from: "a", to: "b", amount: 1, descr: "d") { success } }"#;
        assert!(only_commands(&[request(transfer)]));
        let aliased = r#"mutation Pay { a: money_transfer(uuid: "u", from: "a", to: "b", amount: 1, descr: "d") { success } b: void_hold(uuid: "h", iban: "i") { success } }"#;
        assert!(only_commands(&[request(aliased)]));
        assert!(only_commands(&[request(transfer), request(aliased)]));
    }

    #[test]
    fn anything_that_may_run_more_than_commands_runs() {
        let login = r#"mutation { login(username: "u", password: "p") { token } }"#;
        let mixed = r#"mutation { logout money_transfer(uuid: "u", from: "a", to: "b", amount: 1, descr: "d") { success } }"#;
        let query = r#"{ my_accounts { iban } }"#;
        let fragment = r#"mutation { ...F } fragment F on MutationRoot { void_hold(uuid: "h", iban: "i") { success } }"#;
        for query in [login, mixed, query, fragment, "not graphql", ""] {
            assert!(!only_commands(&[request(query)]), "{query}");
        }
        let transfer = r#"mutation { void_hold(uuid: "h", iban: "i") { success } }"#;
        assert!(!only_commands(&[request(transfer), request(login)]));
        assert!(!only_commands(&[]));
    }

    #[test]
    fn the_operation_run_is_the_one_named() {
        let two = r#"mutation Pay { void_hold(uuid: "h", iban: "i") { success } } query Look { my_accounts { iban } }"#;
        assert!(only_commands(&[request(two).operation_name("Pay")]));
        assert!(!only_commands(&[request(two).operation_name("Look")]));
        assert!(!only_commands(&[request(two)]));
        assert!(!only_commands(&[request(two).operation_name("Other")]));
    }

    /// The body of `type MutationRoot` in the published schema.
    fn schema_mutations() -> &'static str {
        include_str!("../schema.graphql")
            .split("type MutationRoot {")
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .expect("the schema has a MutationRoot")
    }

    /// Every name listed is a mutation of the published schema, so a renamed field cannot
    /// silently drop out of the list.
    #[test]
    fn every_command_field_is_a_mutation_of_the_schema() {
        let mutations = schema_mutations();
        for field in COMMAND_FIELDS {
            assert!(
                mutations.contains(&format!("\n\t{field}(")),
                "{field} is not a mutation of schema.graphql"
            );
        }
    }

    /// Every mutation of the published schema is either listed as a command or known not to
    /// be one, so a new mutation has to be placed in one list or the other.
    #[test]
    fn every_mutation_of_the_schema_is_classified() {
        const NOT_COMMANDS: [&str; 5] = [
            "get_account",
            "login",
            "employee_login",
            "refresh_session",
            "logout",
        ];
        let mutations = schema_mutations();
        for line in mutations.lines() {
            let Some(field) = line
                .strip_prefix('\t')
                .and_then(|rest| rest.split(['(', ':']).next())
                .filter(|name| {
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                })
            else {
                continue;
            };
            assert!(
                COMMAND_FIELDS.contains(&field) || NOT_COMMANDS.contains(&field),
                "the mutation {field} is neither in COMMAND_FIELDS nor known not to send a command"
            );
        }
    }
}
