//! Compiling a route's `require` block: providers, scopes, subjects, claims, actors, delegation,
//! authorization details, transaction tokens, binding and `typ`.

use super::error::{Choice, ConfigErrorKind as Kind, ListOf};
use super::ids::ProviderId;
use super::policy::{Provider, TokenKind};
use super::reader::{item, non_empty_str, wrong_type, Errors, Obj};
use super::route::REQUIRE_FIELDS;
pub use super::scope::PathScope;
use crate::require::{
    ClaimCondition, DetailRequirement, Expected, FieldValue, Requirements, SubjectPattern,
    TransactionRequirement,
};
use serde_json::Value;

/// The declared provider named `name`: its id (its position, which it keeps in the compiled
/// policy) and, when it compiled, the provider.
fn declared<'p>(
    name: &str,
    providers: &'p [(String, Option<Provider>)],
) -> Option<(ProviderId, Option<&'p Provider>)> {
    let index = providers.iter().position(|(n, _)| n == name)?;
    let provider = providers.get(index).and_then(|(_, p)| p.as_ref());
    Some((ProviderId::new(index), provider))
}

/// An unknown provider `name`, with the names the configuration declares.
fn unknown_provider(name: &str, providers: &[(String, Option<Provider>)]) -> Kind {
    Kind::UnknownProvider {
        name: name.to_string(),
        declared: providers.iter().map(|(n, _)| n.clone()).collect(),
    }
}

/// Compiles `require`; `providers` are the declared providers, by name.
pub fn compile_require(
    value: &Value,
    path: &str,
    pattern: &PathScope<'_>,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Option<Requirements> {
    let obj = Obj::new(value, path, REQUIRE_FIELDS, errors)?;
    Some(compile_require_fields(&obj, pattern, providers, errors))
}

/// Compiles the `require` vocabulary read from `obj` (a `require` block, or an `mcp` rule
/// whose other fields the caller reads and whose field list leaves out `providers`).
pub fn compile_require_fields(
    obj: &Obj<'_>,
    pattern: &PathScope<'_>,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Requirements {
    let mut require = Requirements::default();
    if let Some(names) = obj.opt_str_list("providers", errors) {
        let list_path = obj.path_of("providers");
        if names.is_empty() {
            errors.add(&list_path, Kind::EmptyList(ListOf::Providers));
        }
        let mut ids = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match declared(name, providers) {
                Some((id, provider)) => {
                    let transaction = provider.is_some_and(|p| p.kind == TokenKind::Transaction);
                    if transaction {
                        let kind = Kind::TransactionProviderAsAccess {
                            name: name.to_string(),
                        };
                        errors.add(&item(&list_path, i), kind);
                    }
                    ids.push(id);
                }
                None => errors.add(&item(&list_path, i), unknown_provider(name, providers)),
            }
        }
        require.providers = Some(ids);
    }
    for (field, target) in [
        ("scopes", &mut require.scopes),
        ("scopes_any", &mut require.scopes_any),
    ] {
        let Some(list) = obj.opt_str_list(field, errors) else {
            continue;
        };
        let list_path = obj.path_of(field);
        if field == "scopes_any" && list.is_empty() {
            errors.add(&list_path, Kind::EmptyList(ListOf::Scopes));
        }
        for (i, scope) in list.iter().enumerate() {
            if scope.chars().any(char::is_whitespace) {
                errors.add(
                    &item(&list_path, i),
                    Kind::ScopeWithSpace {
                        scope: scope.to_string(),
                    },
                );
                continue;
            }
            match pattern.compile(scope) {
                Ok(t) => target.push(t),
                Err(kind) => errors.add(&item(&list_path, i), kind),
            }
        }
    }
    if let Some(list) = obj.opt_str_list("subjects", errors) {
        let list_path = obj.path_of("subjects");
        if list.is_empty() {
            errors.add(&list_path, Kind::EmptyList(ListOf::Subjects));
        }
        for (i, subject) in list.iter().enumerate() {
            match SubjectPattern::compile(subject) {
                Ok(p) => require.subjects.push(p),
                Err(error) => errors.add(&item(&list_path, i), Kind::BadSubjectPattern(error)),
            }
        }
    }
    if let Some(value) = obj.get("claims") {
        let claims_path = obj.path_of("claims");
        match value.as_object() {
            None => errors.push(wrong_type(
                &claims_path,
                "an object of claim name to value(s)",
            )),
            Some(map) => {
                for (name, expected) in map {
                    let claim_path = format!("{claims_path}.{name}");
                    if name.is_empty() || name.split('.').any(str::is_empty) {
                        errors.add(
                            &claim_path,
                            Kind::EmptyClaimSegment {
                                claim: name.clone(),
                            },
                        );
                        continue;
                    }
                    let (from_transaction, path) = match name.strip_prefix("txn.") {
                        Some(rest) => (true, rest),
                        None => (false, name.as_str()),
                    };
                    if from_transaction && obj.get("transaction").is_none() {
                        errors.add(&claim_path, Kind::TxnClaimWithoutTransaction);
                        continue;
                    }
                    if let Some(allowed) = expected_values(expected, &claim_path, pattern, errors) {
                        require.claims.push(ClaimCondition {
                            name: name.clone(),
                            path: path.split('.').map(str::to_string).collect(),
                            allowed,
                            from_transaction,
                        });
                    }
                }
            }
        }
    }
    compile_identity(obj, pattern, providers, &mut require, errors);
    require
}

/// Actors, delegation depth, authorization details, transaction tokens, binding, `typ`.
fn compile_identity(
    obj: &Obj<'_>,
    pattern: &PathScope<'_>,
    providers: &[(String, Option<Provider>)],
    require: &mut Requirements,
    errors: &mut Errors,
) {
    if let Some(value) = obj.get("actor") {
        let path = obj.path_of("actor");
        if let Some(actor) = Obj::new(value, &path, &["subjects"], errors) {
            for (i, subject) in actor
                .opt_str_list("subjects", errors)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                match SubjectPattern::compile(subject) {
                    Ok(p) => require.actor_subjects.push(p),
                    Err(error) => errors.add(
                        &item(&actor.path_of("subjects"), i),
                        Kind::BadSubjectPattern(error),
                    ),
                }
            }
            if require.actor_subjects.is_empty() {
                errors.add(&actor.path_of("subjects"), Kind::EmptyList(ListOf::Actors));
            }
        }
    }
    let depth = obj.opt_u64("max_delegation_depth", 0, 32, errors);
    let allow = obj.opt_bool("allow_delegation", errors);
    require.max_delegation_depth = match (allow, depth) {
        (Some(false), Some(d)) if d > 0 => {
            errors.add(
                &obj.path_of("max_delegation_depth"),
                Kind::DelegationContradiction,
            );
            None
        }
        (Some(false), _) => Some(0),
        (_, Some(d)) => usize::try_from(d).ok(),
        _ => None,
    };
    if let Some(value) = obj.get("authorization_details") {
        require.authorization_details = detail_requirement(
            value,
            &obj.path_of("authorization_details"),
            pattern,
            errors,
        );
    }
    if let Some(value) = obj.get("transaction") {
        let path = obj.path_of("transaction");
        if let Some(txn) = Obj::new(value, &path, &["provider", "purposes"], errors) {
            let purposes = txn.opt_str_list("purposes", errors).unwrap_or_default();
            match txn.req_str("provider", errors) {
                None => {}
                Some(name) => match declared(name, providers) {
                    None => errors.add(&txn.path_of("provider"), unknown_provider(name, providers)),
                    Some((id, provider)) => {
                        let is_txn = provider.is_none_or(|p| p.kind == TokenKind::Transaction);
                        if !is_txn {
                            errors.add(
                                &txn.path_of("provider"),
                                Kind::NotATransactionProvider {
                                    name: name.to_string(),
                                },
                            );
                        }
                        require.transaction = Some(TransactionRequirement {
                            provider: id,
                            purposes: purposes.iter().map(|p| p.to_string()).collect(),
                        });
                    }
                },
            }
        }
    }
    if let Some(binding) = obj.opt_str("bind_peer", errors) {
        if binding == "spiffe_id" {
            require.bind_peer = true;
        } else {
            errors.add(
                &obj.path_of("bind_peer"),
                Kind::not_a(Choice::Binding, binding),
            );
        }
    }
    if let Some(typ) = obj.opt_str("typ", errors) {
        if typ.is_empty() {
            errors.add(&obj.path_of("typ"), Kind::Empty);
        }
        require.typ = Some(typ.to_string());
    }
    if let Some(dpop) = obj.opt_bool("dpop", errors) {
        require.dpop = dpop;
    }
}

fn detail_requirement(
    value: &Value,
    path: &str,
    pattern: &PathScope<'_>,
    errors: &mut Errors,
) -> Option<DetailRequirement> {
    let Some(map) = value.as_object() else {
        errors.push(wrong_type(
            path,
            "an object (one RFC 9396 authorization detail)",
        ));
        return None;
    };
    let fields = Obj {
        path: path.to_string(),
        map,
    };
    let kind = fields.req_str("type", errors)?.to_string();
    let actions = fields.opt_str_list("actions", errors).unwrap_or_default();
    let locations = fields.opt_str_list("locations", errors).unwrap_or_default();
    let mut out = DetailRequirement {
        kind,
        actions: actions.iter().map(|a| a.to_string()).collect(),
        locations: locations.iter().map(|l| l.to_string()).collect(),
        fields: Vec::new(),
    };
    for (name, expected) in map {
        if matches!(name.as_str(), "type" | "actions" | "locations") {
            continue;
        }
        let field_path = format!("{path}.{name}");
        let value = match expected {
            Value::String(text) => match pattern.compile(text) {
                Ok(t) => FieldValue::Text(t),
                Err(kind) => {
                    errors.add(&field_path, kind);
                    continue;
                }
            },
            other => FieldValue::Exact(other.clone()),
        };
        out.fields.push((name.clone(), value));
    }
    Some(out)
}

/// The allowed value(s) of a claim (or argument) condition: a string template, a number, a
/// boolean, or a non-empty list of them.
pub fn expected_values(
    value: &Value,
    path: &str,
    pattern: &PathScope<'_>,
    errors: &mut Errors,
) -> Option<Vec<Expected>> {
    let one = |v: &Value, p: &str, errors: &mut Errors| -> Option<Expected> {
        match v {
            Value::String(_) => {
                let text = non_empty_str(v, p, errors)?;
                pattern
                    .compile(text)
                    .map(Expected::Text)
                    .map_err(|kind| errors.add(p, kind))
                    .ok()
            }
            Value::Number(n) => n.as_f64().map(Expected::Number),
            Value::Bool(b) => Some(Expected::Bool(*b)),
            _ => {
                errors.push(wrong_type(p, "a string, number, boolean or a list of them"));
                None
            }
        }
    };
    match value {
        Value::Array(items) if items.is_empty() => {
            errors.add(path, Kind::EmptyList(ListOf::AllowedValues));
            None
        }
        Value::Array(items) => {
            let values: Vec<Option<Expected>> = items
                .iter()
                .enumerate()
                .map(|(i, v)| one(v, &item(path, i), errors))
                .collect();
            values.into_iter().collect()
        }
        single => one(single, path, errors).map(|e| vec![e]),
    }
}
