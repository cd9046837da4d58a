//! Compiling the `routes` block.

use super::policy::TokenKind;
use super::policy::{accepted_provider_indexes, Mode, Provider, Route};
use super::provider::{is_name, MAX_LIFETIME_LIMIT};
use super::reader::{item, non_empty_str, wrong_type, Errors, Obj};
use crate::require::{
    ClaimCondition, DetailRequirement, Expected, FieldValue, Requirements, SubjectPattern,
    Template, TransactionRequirement,
};
use crate::routes::{HostPattern, PathPattern, RouteMatch};
use crate::token::HeaderSource;
use serde_json::Value;

/// The fields of a route.
pub const ROUTE_FIELDS: &[&str] = &[
    "action",
    "match",
    "public",
    "require",
    "max_lifetime_seconds",
    "mode",
];
/// The fields of `match`.
pub const MATCH_FIELDS: &[&str] = &["path", "methods", "hosts"];
/// The fields of `require`.
pub const REQUIRE_FIELDS: &[&str] = &[
    "providers",
    "scopes",
    "scopes_any",
    "subjects",
    "claims",
    "actor",
    "max_delegation_depth",
    "allow_delegation",
    "authorization_details",
    "transaction",
    "bind_peer",
    "typ",
];

/// Compiles one route; `providers` are the compiled providers (by name lookup).
pub fn compile(
    value: &Value,
    path: &str,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Option<Route> {
    let obj = Obj::new(value, path, ROUTE_FIELDS, errors)?;
    let before = errors.0.len();
    let action = obj.req_str("action", errors);
    if let Some(action) = action {
        if !is_name(action) {
            errors.invalid(
                &obj.path_of("action"),
                format!("`{action}` must use only letters, digits, `_`, `-`, `.` and `:`"),
            );
        }
    }
    let matcher = obj
        .required("match", errors)
        .and_then(|m| compile_match(m, &obj.path_of("match"), errors));
    let public = obj.opt_bool("public", errors).unwrap_or(false);
    let mode = obj
        .opt_str("mode", errors)
        .and_then(|m| parse_mode(m, &obj.path_of("mode"), errors));
    let max_lifetime_seconds = obj.opt_u64("max_lifetime_seconds", 1, MAX_LIFETIME_LIMIT, errors);
    let require = match obj.get("require") {
        Some(_) if public => {
            errors.invalid(
                &obj.path_of("require"),
                "a public route cannot have requirements",
            );
            None
        }
        Some(value) => matcher.as_ref().and_then(|m| {
            compile_require(value, &obj.path_of("require"), &m.path, providers, errors)
        }),
        None => Some(Requirements::default()),
    };
    if public && max_lifetime_seconds.is_some() {
        errors.invalid(
            &obj.path_of("max_lifetime_seconds"),
            "a public route takes no token, so no lifetime",
        );
    }
    if errors.0.len() != before {
        return None;
    }
    let require = require?;
    let (token_sources, source_providers) = token_sources(&require, providers);
    let headers_read = require.headers_read();
    Some(Route {
        action: action?.to_string(),
        matcher: matcher?,
        public,
        mode,
        max_lifetime_seconds,
        require,
        token_sources,
        source_providers,
        headers_read,
    })
}

/// Parses a `mode` value.
pub fn parse_mode(text: &str, path: &str, errors: &mut Errors) -> Option<Mode> {
    match text {
        "enforce" => Some(Mode::Enforce),
        "shadow" => Some(Mode::Shadow),
        other => {
            errors.invalid(
                path,
                format!("`{other}` is not a mode (use `enforce` or `shadow`)"),
            );
            None
        }
    }
}

fn compile_match(value: &Value, path: &str, errors: &mut Errors) -> Option<RouteMatch> {
    let obj = Obj::new(value, path, MATCH_FIELDS, errors)?;
    let pattern = obj.req_str("path", errors).and_then(|p| {
        PathPattern::compile(p)
            .map_err(|e| errors.invalid(&obj.path_of("path"), e.to_string()))
            .ok()
    });
    let methods = obj.opt_str_list("methods", errors).map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let valid = m.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
                if !valid {
                    errors.invalid(
                        &item(&obj.path_of("methods"), i),
                        format!("`{m}` is not a method"),
                    );
                }
                valid.then(|| m.to_ascii_uppercase())
            })
            .collect::<Vec<_>>()
    });
    if methods.as_ref().is_some_and(Vec::is_empty) {
        errors.invalid(
            &obj.path_of("methods"),
            "must list at least one method (omit it for any)",
        );
    }
    let hosts = obj.opt_str_list("hosts", errors).map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let pattern = HostPattern::compile(h);
                if pattern.is_none() {
                    errors.invalid(
                        &item(&obj.path_of("hosts"), i),
                        format!("`{h}` is not a host pattern"),
                    );
                }
                pattern
            })
            .collect::<Vec<_>>()
    });
    if hosts.as_ref().is_some_and(Vec::is_empty) {
        errors.invalid(
            &obj.path_of("hosts"),
            "must list at least one host (omit it for any)",
        );
    }
    Some(RouteMatch {
        path: pattern?,
        methods,
        hosts,
    })
}

fn compile_require(
    value: &Value,
    path: &str,
    pattern: &PathPattern,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Option<Requirements> {
    let obj = Obj::new(value, path, REQUIRE_FIELDS, errors)?;
    let mut require = Requirements::default();
    if let Some(names) = obj.opt_str_list("providers", errors) {
        let list_path = obj.path_of("providers");
        if names.is_empty() {
            errors.invalid(
                &list_path,
                "must name at least one provider (omit it for any)",
            );
        }
        let mut indexes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match providers.iter().position(|(n, _)| n == name) {
                Some(index) => indexes.push(index),
                None => errors.invalid(&item(&list_path, i), format!("unknown provider `{name}`")),
            }
        }
        require.providers = Some(indexes);
    }
    let resolve = |name: &str| pattern.capture_index(name);
    for (field, target) in [
        ("scopes", &mut require.scopes),
        ("scopes_any", &mut require.scopes_any),
    ] {
        let Some(list) = obj.opt_str_list(field, errors) else {
            continue;
        };
        let list_path = obj.path_of(field);
        if field == "scopes_any" && list.is_empty() {
            errors.invalid(
                &list_path,
                "must list at least one scope (omit it for none)",
            );
        }
        for (i, scope) in list.iter().enumerate() {
            if scope.chars().any(char::is_whitespace) {
                errors.invalid(&item(&list_path, i), "a scope is one word, without spaces");
                continue;
            }
            match Template::compile(scope, resolve) {
                Ok(t) => target.push(t),
                Err(e) => errors.invalid(&item(&list_path, i), e.to_string()),
            }
        }
    }
    if let Some(list) = obj.opt_str_list("subjects", errors) {
        let list_path = obj.path_of("subjects");
        if list.is_empty() {
            errors.invalid(
                &list_path,
                "must list at least one subject pattern (omit it for any)",
            );
        }
        for (i, subject) in list.iter().enumerate() {
            match SubjectPattern::compile(subject) {
                Ok(p) => require.subjects.push(p),
                Err(error) => errors.invalid(&item(&list_path, i), error.to_string()),
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
                        errors.invalid(&claim_path, "claim path has an empty segment");
                        continue;
                    }
                    let (from_transaction, path) = match name.strip_prefix("txn.") {
                        Some(rest) => (true, rest),
                        None => (false, name.as_str()),
                    };
                    if from_transaction && obj.get("transaction").is_none() {
                        errors.invalid(
                            &claim_path,
                            "`txn.` conditions need a `transaction` requirement on this route",
                        );
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
    compile_identity(&obj, pattern, providers, &mut require, errors);
    Some(require)
}

/// Actors, delegation depth, authorization details, transaction tokens, binding, `typ`.
fn compile_identity(
    obj: &Obj<'_>,
    pattern: &PathPattern,
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
                    Err(error) => {
                        errors.invalid(&item(&actor.path_of("subjects"), i), error.to_string())
                    }
                }
            }
            if require.actor_subjects.is_empty() {
                errors.invalid(
                    &actor.path_of("subjects"),
                    "must list at least one actor pattern",
                );
            }
        }
    }
    let depth = obj.opt_u64("max_delegation_depth", 0, 32, errors);
    let allow = obj.opt_bool("allow_delegation", errors);
    require.max_delegation_depth = match (allow, depth) {
        (Some(false), Some(d)) if d > 0 => {
            errors.invalid(
                &obj.path_of("max_delegation_depth"),
                "contradicts `allow_delegation: false`",
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
                Some(name) => match providers.iter().position(|(n, _)| n == name) {
                    None => errors.invalid(
                        &txn.path_of("provider"),
                        format!("unknown provider `{name}`"),
                    ),
                    Some(index) => {
                        let is_txn = providers
                            .get(index)
                            .and_then(|(_, p)| p.as_ref())
                            .is_none_or(|p| p.kind == TokenKind::Transaction);
                        if !is_txn {
                            errors.invalid(
                                &txn.path_of("provider"),
                                format!("provider `{name}` is not a `txn_token` provider"),
                            );
                        }
                        require.transaction = Some(TransactionRequirement {
                            provider: index,
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
            errors.invalid(
                &obj.path_of("bind_peer"),
                format!("`{binding}` is not a binding (use `spiffe_id`)"),
            );
        }
    }
    if let Some(typ) = obj.opt_str("typ", errors) {
        if typ.is_empty() {
            errors.invalid(&obj.path_of("typ"), "must not be empty");
        }
        require.typ = Some(typ.to_string());
    }
}

fn detail_requirement(
    value: &Value,
    path: &str,
    pattern: &PathPattern,
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
            Value::String(text) => match Template::compile(text, |n| pattern.capture_index(n)) {
                Ok(t) => FieldValue::Text(t),
                Err(e) => {
                    errors.invalid(&field_path, e.to_string());
                    continue;
                }
            },
            other => FieldValue::Exact(other.clone()),
        };
        out.fields.push((name.clone(), value));
    }
    Some(out)
}

fn expected_values(
    value: &Value,
    path: &str,
    pattern: &PathPattern,
    errors: &mut Errors,
) -> Option<Vec<Expected>> {
    let one = |v: &Value, p: &str, errors: &mut Errors| -> Option<Expected> {
        match v {
            Value::String(_) => {
                let text = non_empty_str(v, p, errors)?;
                Template::compile(text, |n| pattern.capture_index(n))
                    .map(Expected::Text)
                    .map_err(|e| errors.invalid(p, e.to_string()))
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
            errors.invalid(path, "must list at least one allowed value");
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

fn token_sources(
    require: &Requirements,
    providers: &[(String, Option<Provider>)],
) -> (Vec<HeaderSource>, Vec<Vec<usize>>) {
    // Transaction-token providers never authenticate the caller: they are read by `transaction`.
    let accepted = accepted_provider_indexes(require, providers.len(), |i| {
        providers.get(i).and_then(|(_, p)| p.as_ref())
    });
    let mut sources: Vec<HeaderSource> = Vec::new();
    let mut readers: Vec<Vec<usize>> = Vec::new();
    for index in accepted {
        let Some((_, Some(provider))) = providers.get(index) else {
            continue;
        };
        for source in &provider.from_headers {
            match sources.iter().position(|s| s == source) {
                Some(at) => {
                    if let Some(list) = readers.get_mut(at) {
                        list.push(index);
                    }
                }
                None => {
                    sources.push(source.clone());
                    readers.push(vec![index]);
                }
            }
        }
    }
    (sources, readers)
}
