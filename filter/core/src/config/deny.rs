//! Compiling the top-level `deny` list: explicit deny rules, judged before the routes (Istio's
//! `AuthorizationPolicy` DENY habit). `{ "name": "...", "match": {...}, "when": {...} }`: a
//! request the `match` fits (the vocabulary of a route's `match`) is refused with 403
//! `denied_by_rule`; with `when` (`subjects`, `claims`: the `require` vocabulary), only when the
//! verified token meets it.

use super::error::{ConfigErrorKind as Kind, ListOf};
use super::policy::Provider;
use super::reader::{item, Errors, Obj};
use super::requirements::compile_require_fields;
use super::route::{compile_match, required_name};
use super::scope::PathScope;
use crate::require::Requirements;
use crate::routes::RouteMatch;
use serde_json::Value;

/// The fields of a deny rule.
pub const DENY_FIELDS: &[&str] = &["name", "match", "when"];
/// The fields of a deny rule's `when`.
pub const WHEN_FIELDS: &[&str] = &["subjects", "claims"];

/// One explicit deny rule.
#[derive(Debug, Clone, PartialEq)]
pub struct DenyRule {
    /// Its name, recorded as `deny_rule`.
    pub name: String,
    /// The requests it applies to.
    pub matcher: RouteMatch,
    /// The token conditions under which it denies (`None`: always).
    pub when: Option<Requirements>,
}

/// Compiles `deny` (a list of rules).
pub fn compile(
    value: &Value,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Vec<DenyRule> {
    let Some(list) = value.as_array() else {
        errors.push(super::reader::wrong_type(
            "deny",
            "a list of {name, match, when}",
        ));
        return Vec::new();
    };
    let mut rules: Vec<DenyRule> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let path = item("deny", i);
        let Some(rule) = compile_rule(entry, &path, providers, errors) else {
            continue;
        };
        if rules.iter().any(|r| r.name == rule.name) {
            errors.add(
                &format!("{path}.name"),
                Kind::DuplicateDenyRule {
                    name: rule.name.clone(),
                },
            );
            continue;
        }
        rules.push(rule);
    }
    rules
}

fn compile_rule(
    value: &Value,
    path: &str,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Option<DenyRule> {
    let obj = Obj::new(value, path, DENY_FIELDS, errors)?;
    let before = errors.0.len();
    let name = required_name(&obj, "name", errors);
    let matcher = obj
        .required("match", errors)
        .and_then(|m| compile_match(m, &obj.path_of("match"), errors));
    let when = match (obj.get("when"), &matcher) {
        (Some(value), Some((m, template))) => {
            let when_path = obj.path_of("when");
            let scope = PathScope::route(&m.path, template);
            Obj::new(value, &when_path, WHEN_FIELDS, errors).map(|when| {
                let require = compile_require_fields(&when, &scope, providers, errors);
                if require.subjects.is_empty() && require.claims.is_empty() {
                    errors.add(&when_path, Kind::EmptyList(ListOf::Conditions));
                }
                require
            })
        }
        _ => None,
    };
    if errors.0.len() != before {
        return None;
    }
    Some(DenyRule {
        name: name?.to_string(),
        matcher: matcher?.0,
        when,
    })
}
