//! Claim conditions: a dotted path into the claims and the values allowed there.

use super::template::{Bindings, Template};
use serde_json::{Map, Value};

/// One allowed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// A string, possibly with `{capture}` placeholders.
    Text(Template),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
}

impl Expected {
    /// Whether `actual` is this value (a string filled in from `bindings`).
    pub fn matches<B: Bindings + ?Sized>(&self, actual: &Value, bindings: &B) -> bool {
        match (self, actual) {
            (Expected::Text(t), Value::String(s)) => t.matches(s, bindings),
            (Expected::Number(n), Value::Number(m)) => m.as_f64() == Some(*n),
            (Expected::Bool(b), Value::Bool(c)) => b == c,
            _ => false,
        }
    }
}

/// A compiled condition: the claim at `path` must equal one of `allowed`
/// (an array claim must contain one of them).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCondition {
    /// Claim name, as written in the configuration.
    pub name: String,
    /// The path, split on `.`.
    pub path: Vec<String>,
    /// The allowed values.
    pub allowed: Vec<Expected>,
    /// Whether the path reads the transaction token (`txn.` prefix, stripped from `path`).
    pub from_transaction: bool,
}

/// The value at a dotted path.
pub fn lookup<'c>(claims: &'c Map<String, Value>, path: &[String]) -> Option<&'c Value> {
    let (first, rest) = path.split_first()?;
    let mut current = claims.get(first)?;
    for key in rest {
        current = current.as_object()?.get(key)?;
    }
    Some(current)
}

impl Expected {
    /// The value as the configuration means it here (a template filled in from `bindings`).
    pub fn describe<B: Bindings + ?Sized>(&self, bindings: &B) -> String {
        match self {
            Expected::Text(t) => format!("\"{}\"", t.render(bindings)),
            Expected::Number(n) => n.to_string(),
            Expected::Bool(b) => b.to_string(),
        }
    }
}

impl ClaimCondition {
    /// `explain`'s words for this condition: the values expected against the claim's (a claim
    /// value: for `explain` only, never for logs or answers).
    pub fn explain<B: Bindings + ?Sized>(
        &self,
        claims: &Map<String, Value>,
        bindings: &B,
    ) -> String {
        let expected: Vec<String> = self.allowed.iter().map(|e| e.describe(bindings)).collect();
        let verdict = if self.holds(claims, bindings) {
            "holds"
        } else {
            "FAILS"
        };
        let actual = lookup(claims, &self.path).map_or("absent".to_string(), Value::to_string);
        format!(
            "`{}` {verdict}: expected {}, token has {actual}",
            self.name,
            expected.join(" or ")
        )
    }

    /// Whether the claims satisfy this condition.
    pub fn holds<B: Bindings + ?Sized>(&self, claims: &Map<String, Value>, bindings: &B) -> bool {
        let Some(actual) = lookup(claims, &self.path) else {
            return false;
        };
        let fits = |value: &Value| self.allowed.iter().any(|e| e.matches(value, bindings));
        match actual {
            Value::Array(items) => items.iter().any(fits),
            single => fits(single),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(s: &str) -> Expected {
        Expected::Text(Template::compile(s, |n| (n == "tenant").then_some(0)).unwrap())
    }

    fn condition(path: &str, allowed: Vec<Expected>) -> ClaimCondition {
        ClaimCondition {
            name: path.into(),
            path: path.split('.').map(str::to_string).collect(),
            allowed,
            from_transaction: false,
        }
    }

    #[test]
    fn strings_numbers_bools_arrays_and_nesting() {
        let claims = json!({"tenant": "acme", "groups": ["a", "b"], "n": {"level": 3, "ok": true}});
        let claims = claims.as_object().unwrap();
        assert!(condition("tenant", vec![text("{tenant}")]).holds(claims, &["acme"][..]));
        assert!(!condition("tenant", vec![text("{tenant}")]).holds(claims, &["other"][..]));
        assert!(condition("groups", vec![text("b")]).holds(claims, &[][..]));
        assert!(!condition("groups", vec![text("c")]).holds(claims, &[][..]));
        assert!(condition("n.level", vec![Expected::Number(3.0)]).holds(claims, &[][..]));
        assert!(condition("n.ok", vec![Expected::Bool(true)]).holds(claims, &[][..]));
        assert!(!condition("n.ok", vec![text("true")]).holds(claims, &[][..]));
        assert!(!condition("n.missing", vec![text("x")]).holds(claims, &[][..]));
        assert!(!condition("tenant.x", vec![text("x")]).holds(claims, &[][..]));
        assert!(condition("tenant", vec![text("x"), text("acme")]).holds(claims, &[][..]));
    }
}
