//! `enum Refusal` of the schema: every refusal of [`topology::reasons`], its exact words as the
//! description of its value. No field answers it (a `reason` stays a string, also for the
//! clients of the seed contract); it is there so that clients generate their constants from
//! the schema instead of copying the words.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::{Deprecation, MetaEnumValue, MetaType, MetaTypeId, Registry};
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};
use topology::reasons;

const DESCRIPTION: &str = "Every refusal the bank answers with: the `reason` of a result, or the \
message of an `UNAUTHENTICATED` or `FORBIDDEN` error. Each value's description is its exact \
text, which clients compare byte for byte. In a text, `{limit}` is an amount in Dutch euros, \
`{status}` a transfer's status (`started`, `complete`, `failed`), `{seconds}` a whole number \
and `{credit_reason}` / `{return_reason}` other reasons. No field answers this type: `reason` \
stays a `String`.";

pub struct Refusal(pub reasons::Refusal);

/// `IbanNotKnown` → `IBAN_NOT_KNOWN`, the names GraphQL gives enum values.
pub fn value_name(refusal: reasons::Refusal) -> String {
    let mut name = String::new();
    for (i, c) in refusal.name().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

impl OutputType for Refusal {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("Refusal")
    }

    fn create_type_info(registry: &mut Registry) -> String {
        registry.create_output_type::<Self, _>(MetaTypeId::Enum, |_| MetaType::Enum {
            name: Self::type_name().into_owned(),
            description: Some(DESCRIPTION.to_string()),
            enum_values: reasons::Refusal::ALL
                .iter()
                .map(|&refusal| {
                    let name = value_name(refusal);
                    let value = MetaEnumValue {
                        name: name.clone(),
                        description: Some(refusal.text().to_string()),
                        deprecation: Deprecation::NoDeprecated,
                        visible: None,
                        inaccessible: false,
                        tags: Vec::new(),
                        directive_invocations: Vec::new(),
                    };
                    (name, value)
                })
                .collect(),
            visible: None,
            inaccessible: false,
            tags: Vec::new(),
            rust_typename: Some(std::any::type_name::<Self>()),
            directive_invocations: Vec::new(),
            requires_scopes: Vec::new(),
        })
    }

    async fn resolve(
        &self,
        _: &ContextSelectionSet<'_>,
        _: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(Value::Enum(Name::new(value_name(self.0))))
    }
}
