//! `workload-authz check POLICY`: compile exactly as `on_configure` does, print every error with
//! its path and a hint.

use crate::policy::{self, Loaded};
use crate::TextOrJson;
use serde_json::{json, Value};
use std::process::ExitCode;
use workload_authz_core::config::{ConfigError, ConfigErrorKind};

/// Runs `check`.
pub fn run(path: &str, format: TextOrJson) -> Result<ExitCode, String> {
    let loaded = policy::load(path)?;
    let source = &loaded.source.path;
    match (&loaded.compiled, format) {
        (Ok(policy), TextOrJson::Text) => {
            println!(
                "{source}: ok ({} provider(s), {} route(s), mode {}, policy {})",
                policy.providers.len(),
                policy.routes.len(),
                policy.mode.as_str(),
                policy.hash
            );
            Ok(ExitCode::SUCCESS)
        }
        (Ok(policy), TextOrJson::Json) => {
            let out = json!({
                "policy": source,
                "ok": true,
                "hash": policy.hash,
                "mode": policy.mode.as_str(),
                "providers": policy.providers.len(),
                "routes": policy.routes.len(),
                "errors": [],
            });
            println!("{out:#}");
            Ok(ExitCode::SUCCESS)
        }
        (Err(errors), TextOrJson::Text) => {
            for error in &errors.0 {
                println!("{}: error: {error}", loaded.place(&error.path));
                println!("  hint: {}", hint(error, loaded.value.as_ref()));
            }
            println!(
                "{source}: {} error(s); the filter refuses this configuration",
                errors.0.len()
            );
            Ok(ExitCode::from(1))
        }
        (Err(errors), TextOrJson::Json) => {
            let list: Vec<Value> = errors.0.iter().map(|e| error_json(e, &loaded)).collect();
            let out = json!({"policy": source, "ok": false, "errors": list});
            println!("{out:#}");
            Ok(ExitCode::from(1))
        }
    }
}

/// One error as JSON: path, line (JSON files), message, hint.
pub fn error_json(error: &ConfigError, loaded: &Loaded) -> Value {
    json!({
        "path": error.path,
        "line": loaded.line(&error.path),
        "message": error.to_string(),
        "hint": hint(error, loaded.value.as_ref()),
    })
}

// The known fields come from the compiler itself, so the hints never drift from what it accepts.
use workload_authz_core::config::fields::{
    HTTP_URI, LIMITS, MATCH, PROVIDER, REMOTE_JWKS as REMOTE, REQUIRE, REVOCATION, ROUTE, TOP,
};

/// Path segments: `routes[2].require.scopes[0]` → `routes`, `[2]`, `require`, `scopes`, `[0]`.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            let (name, tail) = rest.split_at(open);
            if !name.is_empty() {
                out.push(name.to_string());
            }
            let close = tail.find(']').map_or(tail.len(), |c| c + 1);
            out.push(tail.get(..close).unwrap_or(tail).to_string());
            rest = tail.get(close..).unwrap_or_default();
        }
        if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

/// The fields the schema knows in the object that holds `path`'s last member.
fn siblings(path: &str) -> Option<&'static [&'static str]> {
    let segs = segments(path);
    let parent: Vec<&str> = segs
        .iter()
        .take(segs.len().saturating_sub(1))
        .map(String::as_str)
        .collect();
    Some(match parent.as_slice() {
        [] => TOP,
        ["providers", _] => PROVIDER,
        ["providers", _, "remote_jwks"] => REMOTE,
        ["providers", _, "local_jwks"] => &["inline_string"],
        ["providers", _, "from_headers", _] => &["name", "value_prefix"],
        ["providers", _, "claim_to_headers", _] => &["header_name", "claim_name"],
        [.., "http_uri"] => HTTP_URI,
        ["revocation"] => REVOCATION,
        ["limits"] => LIMITS,
        ["revoked"] => &["jti", "subjects_revoked_before"],
        ["routes", _] => ROUTE,
        ["routes", _, "match"] => MATCH,
        ["routes", _, "require"] => REQUIRE,
        _ => return None,
    })
}

/// The README section that documents `path`.
fn section(path: &str) -> &'static str {
    let segs = segments(path);
    match segs.first().map(String::as_str) {
        Some("providers") if path.contains("remote_jwks") => "\"Remote key sets\"",
        Some("providers") => "\"Configuration > Provider\"",
        Some("routes") => "\"Configuration > Route\"",
        Some("revocation" | "revoked") => "\"Revocation\"",
        _ => "\"Configuration > Top level\"",
    }
}

/// An example value for a field, by its name.
fn example(field: &str) -> Option<&'static str> {
    Some(match field {
        "mode" => "\"enforce\" or \"shadow\"",
        "realm" => "\"orders-api\"",
        "providers" => "{\"mesh\": {\"issuer\": ..., \"audiences\": [...], \"local_jwks\": {...}}}",
        "routes" => "[{\"action\": \"orders.read\", \"match\": {\"path\": \"/orders/{id}\"}}]",
        "issuer" => "\"https://issuer.prod.example\"",
        "audiences" => "[\"orders\"]",
        "local_jwks" => "{\"inline_string\": \"{\\\"keys\\\": [...]}\"}",
        "remote_jwks" => "{\"http_uri\": {\"uri\": \"http://idp/.well-known/jwks.json\", \"cluster\": \"idp\"}}",
        "http_uri" => "{\"uri\": \"http://idp.internal/jwks.json\", \"cluster\": \"idp\", \"timeout_ms\": 1000}",
        "algorithms" => "[\"ES256\", \"RS256\"]",
        "from_headers" => "[{\"name\": \"authorization\", \"value_prefix\": \"Bearer \"}]",
        "claim_to_headers" => "[{\"header_name\": \"x-tenant\", \"claim_name\": \"tenant\"}]",
        "action" => "\"orders.read\"",
        "match" => "{\"path\": \"/tenants/{tenant}/orders\", \"methods\": [\"GET\"]}",
        "path" => "\"/tenants/{tenant}/orders/{id}\"",
        "methods" => "[\"GET\", \"HEAD\"]",
        "hosts" => "[\"api.example.com\", \"*.example.com\"]",
        "require" => "{\"scopes\": [\"orders:read\"]}",
        "scopes" | "scopes_any" => "[\"orders:read\", \"orders:write:{tenant}\"]",
        "subjects" => "[\"spiffe://prod.example/ns/*/sa/*\"]",
        "claims" => "{\"tenant\": \"{tenant}\", \"org.unit\": [\"ops\", \"sre\"]}",
        "public" | "forward" | "require_expiration" | "identity_headers" => "true or false",
        "max_lifetime_seconds" => "300",
        "clock_skew_seconds" => "60",
        "uri" => "\"http://idp.internal/.well-known/jwks.json\"",
        "cluster" => "\"idp\" (an Envoy cluster name)",
        _ => return None,
    })
}

fn last_name(path: &str) -> String {
    segments(path)
        .into_iter()
        .rev()
        .find(|s| !s.starts_with('['))
        .unwrap_or_default()
}

/// The index of the route a path is under (`routes[2]...` → 2).
fn route_index(path: &str) -> Option<usize> {
    let segs = segments(path);
    if segs.first().map(String::as_str) != Some("routes") {
        return None;
    }
    segs.get(1)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Capture names of a route's raw path template.
fn captures_of(value: Option<&Value>, route: usize) -> Option<(String, Vec<String>)> {
    let template = value?
        .get("routes")?
        .get(route)?
        .get("match")?
        .get("path")?
        .as_str()?;
    let names = template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect();
    Some((template.to_string(), names))
}

/// A hint for one error: what to change, in words.
pub fn hint(error: &ConfigError, value: Option<&Value>) -> String {
    let path = error.path.as_str();
    let field = last_name(path);
    let fallback = format!("see the README, section {}", section(path));
    match &error.kind {
        ConfigErrorKind::NotJson(_) => {
            "the policy must be one JSON object (the CLI also reads YAML: name the file .yaml)"
                .to_string()
        }
        ConfigErrorKind::Missing => match example(&field) {
            Some(example) => format!("add `{field}`, for example: {example}"),
            None => format!("add `{field}`; {fallback}"),
        },
        ConfigErrorKind::WrongType { expected } => match example(&field) {
            Some(example) => format!("`{field}` must be {expected}, for example: {example}"),
            None => format!("`{field}` must be {expected}; {fallback}"),
        },
        ConfigErrorKind::UnknownField { suggestion } => {
            let known = siblings(path)
                .map(|k| format!("; the fields here are: {}", k.join(", ")))
                .unwrap_or_default();
            match suggestion {
                Some(s) => format!(
                    "rename it to `{s}` (unknown fields are refused so a typo cannot weaken a policy){known}"
                ),
                None => format!("remove it{known}"),
            }
        }
        ConfigErrorKind::Empty => {
            format!("give `{field}` a value, or remove it to get the default; {fallback}")
        }
        ConfigErrorKind::Invalid(message) => {
            invalid_hint(path, message, value).unwrap_or_else(|| match example(&field) {
                Some(example) => format!("for example: {example}; {fallback}"),
                None => fallback,
            })
        }
    }
}

fn invalid_hint(path: &str, message: &str, value: Option<&Value>) -> Option<String> {
    let has = |s: &str| message.contains(s);
    if message.starts_with("not valid YAML") {
        return Some(
            "fix the YAML syntax at the position shown; the policy must be one mapping".into(),
        );
    }
    if has("unknown capture") {
        let route = route_index(path)?;
        let (template, names) = captures_of(value, route)?;
        let list = if names.is_empty() {
            "no capture".to_string()
        } else {
            names
                .iter()
                .map(|n| format!("{{{n}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Some(format!(
            "`routes[{route}].match.path` is `{template}`, which captures {list}: a template may only use those"
        ));
    }
    if has("unknown provider") {
        let names: Vec<String> = value
            .and_then(|v| v.get("providers"))
            .and_then(Value::as_object)
            .map(|m| m.keys().map(|k| format!("`{k}`")).collect())
            .unwrap_or_default();
        return Some(if names.is_empty() {
            "declare the provider under `providers` first".to_string()
        } else {
            format!("the providers declared are: {}", names.join(", "))
        });
    }
    if has("bits") || has("RSA modulus") {
        return Some(
            "RSA keys need at least 2048 bits; `workload-authz keygen --alg RS256` makes one"
                .into(),
        );
    }
    if has("symmetric") || has("`none`") || has("is not supported") {
        return Some(
            "use asymmetric algorithms: RS256/384/512, PS256/384/512, ES256/384 or EdDSA".into(),
        );
    }
    if has("needs `local_jwks` or `remote_jwks`") || has("not both") {
        return Some(format!(
            "give the provider exactly one key source: \"local_jwks\": {} or \"remote_jwks\": {}",
            example("local_jwks").unwrap_or_default(),
            example("remote_jwks").unwrap_or_default()
        ));
    }
    if has("public route cannot have requirements") || has("public route takes no token") {
        return Some("remove the field, or remove `\"public\": true` to protect the route".into());
    }
    if has("is already used by provider") {
        return Some("the token's `iss` picks the provider, so each issuer belongs to one provider: merge them".into());
    }
    if has("must start with http") || has("no usable host") {
        return Some(format!(
            "for example: {}",
            example("uri").unwrap_or_default()
        ));
    }
    if has("is not a mode") {
        return Some("use \"enforce\" or \"shadow\"".into());
    }
    if has("at least one route") {
        return Some(format!(
            "declare the actions that exist, for example: {}",
            example("routes").unwrap_or_default()
        ));
    }
    if has("protected routes need at least one provider") {
        return Some(format!(
            "declare who issues tokens, for example: \"providers\": {}",
            example("providers").unwrap_or_default()
        ));
    }
    if has("segment") || has("must start with `/`") || has("`**`") || has("capture {") {
        return Some(
            "path templates use literal segments, `{name}` (one segment, captured), `*` (one segment) and a final `**`"
                .into(),
        );
    }
    if has("must be between") {
        return Some("use a whole number within the range".into());
    }
    if has("reserved") {
        return Some("pick another header name (e.g. `x-jwt-<claim>`)".into());
    }
    if has("one word") {
        return Some("list each scope as its own string: [\"a\", \"b\"]".into());
    }
    if has("`*` must be a whole segment") {
        return Some(
            "subject patterns: `*` is one whole segment, a final `**` one or more (e.g. spiffe://prod.example/ns/*/sa/*)"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_split_into_segments() {
        assert_eq!(
            segments("routes[2].require.scopes[0]"),
            vec!["routes", "[2]", "require", "scopes", "[0]"]
        );
        assert_eq!(route_index("routes[12].match"), Some(12));
        assert_eq!(last_name("routes[2].require.scopes[0]"), "scopes");
        assert_eq!(siblings("routes[1].require.scope"), Some(REQUIRE));
        assert_eq!(siblings("providers.mesh.isuer"), Some(PROVIDER));
        assert_eq!(
            siblings("providers.m.remote_jwks.http_uri.url"),
            Some(HTTP_URI)
        );
    }
}
