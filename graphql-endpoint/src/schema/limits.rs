//! At most one credential check per request: every field that checks a password (`login`,
//! `get_account`, `open_account` and `my_accounts` given a password, `employee_login`,
//! `change_password`) costs an argon2 hash, and aliases or a batch would otherwise let one
//! request carry hundreds of guesses past the throttle's per-request view.
//!
//! Counted over the whole document (every operation and fragment, however aliased) by an
//! extension on every execution, also over WebSocket, and over a whole HTTP batch by the
//! server before anything runs.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Positioned, Request, ServerError, ServerResult, Variables};

/// Fields that always check a password.
const ALWAYS: [&str; 4] = ["login", "get_account", "employee_login", "change_password"];
/// Fields that check one when given a `password` argument.
const WITH_PASSWORD: [&str; 2] = ["open_account", "my_accounts"];

fn checks_credentials(field: &Field) -> bool {
    let name = field.name.node.as_str();
    ALWAYS.contains(&name)
        || (WITH_PASSWORD.contains(&name)
            && field
                .arguments
                .iter()
                .any(|(argument, _)| argument.node.as_str() == "password"))
}

fn count_in(selections: &SelectionSet) -> usize {
    selections
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(checks_credentials(&field.node))
                    + count_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_in(&fragment.node.selection_set.node),
            // Counted where the fragment is defined: every fragment of the document is.
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// How many credential-checking fields `document` holds, in all its operations and fragments
/// (a fragment spread twice is counted once, which the bound of one still catches: a second
/// spread needs a second field around it or a second operation).
pub fn credential_checks(document: &ExecutableDocument) -> usize {
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, operation)| count_in(&operation.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment: &Positioned<_>| count_in(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

fn too_many(count: usize) -> String {
    format!(
        "a request may check credentials at most once (login, get_account, employee_login, \
         change_password, open_account or my_accounts with a password); this one does it {count} times"
    )
}

/// The HTTP batch's check: `Err(message)` when its documents together check more than once.
/// A document that does not parse counts nothing here; its execution reports it.
pub fn one_credential_check(requests: &[Request]) -> Result<(), String> {
    let count: usize = requests
        .iter()
        .filter_map(|request| async_graphql::parser::parse_query(&request.query).ok())
        .map(|document| credential_checks(&document))
        .sum();
    if count > 1 {
        Err(too_many(count))
    } else {
        Ok(())
    }
}

/// The per-document check, for every execution (HTTP and WebSocket).
pub struct OneCredentialCheck;

impl ExtensionFactory for OneCredentialCheck {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OneCredentialCheck)
    }
}

#[async_trait::async_trait]
impl Extension for OneCredentialCheck {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let count = credential_checks(&document);
        if count > 1 {
            let mut error = ServerError::new(too_many(count), None);
            error.extensions = Some({
                let mut extensions = async_graphql::ErrorExtensionValues::default();
                extensions.set("code", "TOO_MANY_CREDENTIAL_CHECKS");
                extensions
            });
            return Err(error);
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(query: &str) -> usize {
        credential_checks(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn every_way_of_repeating_a_login_is_counted() {
        assert_eq!(
            count(r#"mutation { login(username: "a", password: "b") { token } }"#),
            1
        );
        assert_eq!(
            count(
                r#"mutation { a: login(username: "a", password: "b") { token } b: login(username: "a", password: "c") { token } }"#
            ),
            2
        );
        assert_eq!(
            count(
                r#"mutation { ...F } fragment F on Mutation { a: get_account(username: "a", password: "b") { iban } b: employee_login(username: "a", password: "b") { token } }"#
            ),
            2
        );
        assert_eq!(
            count(
                r#"mutation M { ... on Mutation { login(username: "a", password: "b") { token } } } query Q { my_accounts(username: "a", password: "b") { reason } }"#
            ),
            2
        );
        assert_eq!(
            count("query { my_accounts { reason } }"),
            0,
            "with a session only"
        );
        assert_eq!(count("mutation { open_account { iban } }"), 0);
        assert_eq!(count("{ bank_figures { accounts } }"), 0);
    }

    #[test]
    fn a_batch_is_counted_as_a_whole() {
        let login =
            || Request::new(r#"mutation { login(username: "a", password: "b") { token } }"#);
        let figures = Request::new("{ bank_figures { accounts } }");
        assert!(one_credential_check(&[login(), figures]).is_ok());
        let refused = one_credential_check(&[login(), login()]).expect_err("two");
        assert!(refused.ends_with("does it 2 times"), "{refused}");
    }
}
