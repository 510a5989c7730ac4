//! The raw session token a request came with, if any: put into each request's data by the
//! HTTP and WebSocket handlers, checked only by the fields that need a session.

/// `Authorization: Bearer <token>` over HTTP; over WebSocket the same value under
/// `Authorization` in the `connection_init` payload (browsers cannot set headers there).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bearer(Option<String>);

/// A bearer token is a secret: debug output never shows it.
impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Bearer(…)"
        } else {
            "Bearer(none)"
        })
    }
}

impl Bearer {
    /// From an `Authorization` value: `Bearer <token>` (scheme case-insensitive).
    pub fn from_authorization(value: Option<&str>) -> Self {
        let token = value.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            let token = token.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
        });
        Self(token)
    }

    /// From a WebSocket `connection_init` payload: `{"Authorization": "Bearer <token>"}`, any
    /// case of the key.
    pub fn from_init_payload(payload: &serde_json::Value) -> Self {
        let authorization = payload.as_object().and_then(|fields| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, value)| value.as_str())
        });
        Self::from_authorization(authorization)
    }

    pub fn token(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_bearer_authorizations_carry_a_token() {
        let token = |value| Bearer::from_authorization(value).token().map(String::from);
        assert_eq!(token(Some("Bearer abc")), Some("abc".into()));
        assert_eq!(token(Some("bearer   abc ")), Some("abc".into()));
        assert_eq!(token(Some("Basic abc")), None);
        assert_eq!(token(Some("Bearer ")), None);
        assert_eq!(token(Some("abc")), None);
        assert_eq!(token(None), None);
    }

    #[test]
    fn the_session_comes_from_the_init_payload() {
        let token = |payload| {
            Bearer::from_init_payload(&payload)
                .token()
                .map(String::from)
        };
        assert_eq!(
            token(json!({"Authorization": "Bearer abc"})),
            Some("abc".into())
        );
        assert_eq!(
            token(json!({"authorization": "Bearer abc"})),
            Some("abc".into())
        );
        assert_eq!(token(json!({})), None);
        assert_eq!(token(json!(null)), None);
        assert_eq!(token(json!({"Authorization": 5})), None);
    }

    #[test]
    fn debug_output_hides_the_token() {
        let bearer = Bearer::from_authorization(Some("Bearer secret-token"));
        assert_eq!(format!("{bearer:?}"), "Bearer(…)");
    }
}
