//! Conditions on a tool call's (or prompt's) `params.arguments`.
//!
//! `"arguments": { "region": ["eu", "us"], "customer.tenant": "{claim.tenant}" }`: a dotted
//! member path and the values allowed there, with the vocabulary of `claims` conditions
//! (strings with placeholders, numbers, booleans). Stricter than a claim condition, as the
//! caller writes the arguments: the argument must be present; an array argument must be
//! non-empty and *every* element allowed (`["eu", "cn"]` is refused where only `eu` is
//! allowed); an object is never a match. `{claim.<path>}` compares with a string claim of the
//! verified access token, `{name}` with a capture, `{header.x}` with a request header.

use crate::require::claims::lookup;
use crate::require::{Bindings, Expected};
use serde_json::{Map, Value};

/// One compiled argument condition.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgumentCondition {
    /// The member path as configured (`customer.tenant`).
    pub name: String,
    /// The path, split on `.`.
    pub path: Vec<String>,
    /// The allowed values.
    pub allowed: Vec<Expected>,
}

impl ArgumentCondition {
    /// Whether `arguments` satisfy this condition.
    pub fn holds<B: Bindings + ?Sized>(
        &self,
        arguments: &Map<String, Value>,
        bindings: &B,
    ) -> bool {
        let allowed = |value: &Value| {
            !matches!(value, Value::Array(_) | Value::Object(_))
                && self.allowed.iter().any(|e| e.matches(value, bindings))
        };
        match lookup(arguments, &self.path) {
            None => false,
            Some(Value::Array(items)) => !items.is_empty() && items.iter().all(allowed),
            Some(single) => allowed(single),
        }
    }
}

/// The first condition `arguments` fail, if any.
pub fn first_failed<'c, B: Bindings + ?Sized>(
    conditions: &'c [ArgumentCondition],
    arguments: &Map<String, Value>,
    bindings: &B,
) -> Option<&'c ArgumentCondition> {
    conditions.iter().find(|c| !c.holds(arguments, bindings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::require::Template;
    use serde_json::json;

    struct WithClaims(Map<String, Value>);

    impl Bindings for WithClaims {
        fn capture(&self, _index: usize) -> Option<&str> {
            None
        }
        fn claim(&self, path: &[String]) -> Option<&str> {
            lookup(&self.0, path).and_then(Value::as_str)
        }
    }

    fn text(s: &str) -> Expected {
        Expected::Text(Template::compile_with_claims(s, |_| None).unwrap())
    }

    fn condition(name: &str, allowed: Vec<Expected>) -> ArgumentCondition {
        ArgumentCondition {
            name: name.into(),
            path: name.split('.').map(str::to_string).collect(),
            allowed,
        }
    }

    #[test]
    fn every_element_of_an_array_must_be_allowed() {
        let region = condition("region", vec![text("eu"), text("us")]);
        let none = WithClaims(Map::new());
        let args = |v: Value| v.as_object().unwrap().clone();
        assert!(region.holds(&args(json!({"region": "eu"})), &none));
        assert!(!region.holds(&args(json!({"region": "cn"})), &none));
        assert!(region.holds(&args(json!({"region": ["eu", "us"]})), &none));
        assert!(!region.holds(&args(json!({"region": ["eu", "cn"]})), &none));
        assert!(!region.holds(&args(json!({"region": []})), &none));
        assert!(!region.holds(&args(json!({"region": {"eu": 1}})), &none));
        assert!(!region.holds(&args(json!({"region": [["eu"]]})), &none));
        assert!(!region.holds(&args(json!({})), &none));
        let n = condition("limit", vec![Expected::Number(10.0), Expected::Bool(true)]);
        assert!(n.holds(&args(json!({"limit": 10})), &none));
        assert!(!n.holds(&args(json!({"limit": "10"})), &none));
    }

    #[test]
    fn claim_templates_and_nesting() {
        let claims = WithClaims(
            json!({"tenant": "acme", "org": {"id": 7}})
                .as_object()
                .unwrap()
                .clone(),
        );
        let tenant = condition("customer.tenant", vec![text("{claim.tenant}")]);
        let args = |v: Value| v.as_object().unwrap().clone();
        assert!(tenant.holds(&args(json!({"customer": {"tenant": "acme"}})), &claims));
        assert!(!tenant.holds(&args(json!({"customer": {"tenant": "other"}})), &claims));
        assert!(!tenant.holds(&args(json!({"customer.tenant": "acme"})), &claims));
        // A claim that is not a string never matches.
        let org = condition("org", vec![text("{claim.org.id}")]);
        assert!(!org.holds(&args(json!({"org": "7"})), &claims));
        let missing = condition("t", vec![text("{claim.nope}")]);
        assert!(!missing.holds(&args(json!({"t": ""})), &claims));
        assert_eq!(
            first_failed(
                &[tenant.clone(), org.clone()],
                &args(json!({"customer": {"tenant": "acme"}})),
                &claims
            )
            .map(|c| c.name.as_str()),
            Some("org")
        );
    }
}
