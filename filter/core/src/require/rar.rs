//! Rich authorization requests (RFC 9396): `authorization_details` a route requires.

use super::template::{Bindings, Template};
use serde_json::{Map, Value};

/// A required value of one field of an authorization detail.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A string template (`{captures}`, `{header.*}`).
    Text(Template),
    /// Any other JSON value, compared exactly.
    Exact(Value),
}

/// The route's `authorization_details` requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailRequirement {
    /// `type`, compared exactly.
    pub kind: String,
    /// Every one of these must be in the detail's `actions`.
    pub actions: Vec<String>,
    /// When not empty, the detail's `locations` must contain one of these.
    pub locations: Vec<String>,
    /// Other fields that must equal these values.
    pub fields: Vec<(String, FieldValue)>,
}

/// Why the token's details cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailsError {
    /// `authorization_details` is not an array.
    Malformed,
    /// More entries than `limits.max_authorization_details`.
    TooMany,
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl DetailRequirement {
    fn granted_by<B: Bindings + ?Sized>(&self, detail: &Map<String, Value>, bindings: &B) -> bool {
        if detail.get("type").and_then(Value::as_str) != Some(self.kind.as_str()) {
            return false;
        }
        let actions = strings(detail.get("actions"));
        if !self.actions.iter().all(|a| actions.contains(&a.as_str())) {
            return false;
        }
        if !self.locations.is_empty() {
            let locations = strings(detail.get("locations"));
            if !self
                .locations
                .iter()
                .any(|l| locations.contains(&l.as_str()))
            {
                return false;
            }
        }
        self.fields
            .iter()
            .all(|(name, expected)| match (expected, detail.get(name)) {
                (FieldValue::Text(t), Some(Value::String(s))) => t.matches(s, bindings),
                (FieldValue::Exact(v), Some(actual)) => v == actual,
                _ => false,
            })
    }

    /// Whether one of the token's details grants this requirement.
    pub fn check<B: Bindings + ?Sized>(
        &self,
        claims: &Map<String, Value>,
        max_entries: usize,
        bindings: &B,
    ) -> Result<bool, DetailsError> {
        let Some(value) = claims.get("authorization_details") else {
            return Ok(false);
        };
        let entries = value.as_array().ok_or(DetailsError::Malformed)?;
        if entries.len() > max_entries {
            return Err(DetailsError::TooMany);
        }
        Ok(entries
            .iter()
            .filter_map(Value::as_object)
            .any(|d| self.granted_by(d, bindings)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn requirement() -> DetailRequirement {
        DetailRequirement {
            kind: "payment_initiation".into(),
            actions: vec!["initiate".into()],
            locations: vec!["https://api.example/payments".into()],
            fields: vec![(
                "identifier".into(),
                FieldValue::Text(
                    Template::compile("{account}", |n| (n == "account").then_some(0)).unwrap(),
                ),
            )],
        }
    }

    fn claims(details: Value) -> Map<String, Value> {
        json!({ "authorization_details": details })
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn one_matching_detail_grants() {
        let ok = json!([{"type": "payment_initiation", "actions": ["initiate", "status"],
                         "locations": ["https://api.example/payments"], "identifier": "acc-1"}]);
        assert_eq!(
            requirement().check(&claims(ok), 16, &["acc-1"][..]),
            Ok(true)
        );
        let mixed = json!([{"type": "account_information", "actions": ["initiate"], "identifier": "acc-1",
                            "locations": ["https://api.example/payments"]},
                           {"type": "payment_initiation", "actions": ["initiate"],
                            "locations": ["https://api.example/payments"], "identifier": "acc-1"}]);
        assert_eq!(
            requirement().check(&claims(mixed), 16, &["acc-1"][..]),
            Ok(true)
        );
    }

    #[test]
    fn anything_else_does_not() {
        let base = json!({"type": "payment_initiation", "actions": ["initiate"],
                          "locations": ["https://api.example/payments"], "identifier": "acc-1"});
        let r = requirement();
        let mut wrong_account = base.clone();
        wrong_account["identifier"] = json!("acc-2");
        let mut no_action = base.clone();
        no_action["actions"] = json!(["status"]);
        let mut wrong_location = base.clone();
        wrong_location["locations"] = json!(["https://evil.example"]);
        let mut unknown_type = base.clone();
        unknown_type["type"] = json!("something_new");
        for detail in [wrong_account, no_action, wrong_location, unknown_type] {
            assert_eq!(
                r.check(&claims(json!([detail])), 16, &["acc-1"][..]),
                Ok(false)
            );
        }
        assert_eq!(r.check(&Map::new(), 16, &["acc-1"][..]), Ok(false));
        assert_eq!(
            r.check(&claims(json!({})), 16, &["acc-1"][..]),
            Err(DetailsError::Malformed)
        );
        let many = Value::Array(vec![base; 17]);
        assert_eq!(
            r.check(&claims(many), 16, &["acc-1"][..]),
            Err(DetailsError::TooMany)
        );
    }
}
