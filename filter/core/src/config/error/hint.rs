//! What to change, in words: the hint of each [`ConfigError`], produced here so that every tool
//! (the CLI's `check`, the filter's log line) says the same, and a reworded message cannot drop
//! its hint. A kind without a hint of its own gets an example of the field (when the field has
//! one) and the README section that documents it.

use super::{ConfigError, ConfigErrorKind};
use crate::config::fields::{
    HTTP_URI, LIMITS, MATCH, OIDC_DISCOVERY, PROVIDER, REMOTE_JWKS as REMOTE, REQUIRE, REVOCATION,
    ROUTE, TOP,
};
use crate::keys::jwk::{JwkError, MAX_RSA_BITS, MIN_RSA_BITS};
use crate::require::SubjectPatternError;

/// The path template grammar, for every refused `match.path`.
const PATH_TEMPLATE_HINT: &str = "path templates use literal segments, `{name}` (one segment, captured), `*` (one segment) and a final `**`";

/// The hint of `error`: what the kind says, else an example and the README section.
pub(super) fn hint(error: &ConfigError) -> String {
    specific(error).unwrap_or_else(|| generic(error))
}

/// The hint a kind has of its own, from its data.
fn specific(error: &ConfigError) -> Option<String> {
    use ConfigErrorKind as K;
    let path = error.path.as_str();
    let field = last_name(path);
    let fallback = format!("see the README, section {}", section(path));
    Some(match &error.kind {
        K::NotJson(_) => {
            "the policy must be one JSON object (`workload-authz check` also reads YAML from a .yaml file)"
                .to_string()
        }
        K::NotYaml(_) => {
            "fix the YAML syntax at the position shown; the policy must be one mapping".to_string()
        }
        K::Missing => match example(&field) {
            Some(example) => format!("add `{field}`, for example: {example}"),
            None => format!("add `{field}`; {fallback}"),
        },
        K::WrongType { expected } => match example(&field) {
            Some(example) => format!("`{field}` must be {expected}, for example: {example}"),
            None => format!("`{field}` must be {expected}; {fallback}"),
        },
        K::UnknownField { suggestion } => {
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
        K::Empty => format!("give `{field}` a value, or remove it to get the default; {fallback}"),
        K::OutOfRange { .. } => "use a whole number within the range".to_string(),
        K::NotAChoice { choice, .. } => format!("use {}", choice.list("\"")),
        K::NoRoutes => format!(
            "declare the actions that exist, for example: {}",
            example("routes").unwrap_or_default()
        ),
        K::NoProviders => format!(
            "declare who issues tokens, for example: \"providers\": {}",
            example("providers").unwrap_or_default()
        ),
        K::DuplicateIssuer { .. } => "the token's `iss` picks the provider, so each issuer belongs to one provider: merge them".to_string(),
        K::KeySourceConflict | K::MissingKeySource => format!(
            "give the provider exactly one key source: \"local_jwks\": {}, \"remote_jwks\": {} or \"oidc_discovery\": {}",
            example("local_jwks").unwrap_or_default(),
            example("remote_jwks").unwrap_or_default(),
            example("oidc_discovery").unwrap_or_default()
        ),
        K::JwksFilename => "run `workload-authz envoy POLICY` (or `istio`): it reads the file".to_string(),
        K::BadJwk(JwkError::RsaTooSmall(_)) => format!(
            "RSA keys need at least {MIN_RSA_BITS} bits; `workload-authz keygen --alg RS256` makes one"
        ),
        K::BadJwk(JwkError::RsaTooLarge(_)) => format!(
            "RSA keys have at most {MAX_RSA_BITS} bits; `workload-authz keygen --alg RS256` makes a {MIN_RSA_BITS}-bit one"
        ),
        K::BadAlgorithm { .. } => {
            "use asymmetric algorithms: RS256/384/512, PS256/384/512, ES256/384 or EdDSA".to_string()
        }
        K::SvidWithoutExpiration => {
            "remove `require_expiration`: a JWT-SVID without `exp` is never accepted".to_string()
        }
        K::SvidAlgorithm => {
            "list only RS, ES or PS algorithms for a SPIFFE provider, or omit `algorithms`".to_string()
        }
        K::BadTrustDomain { .. } => {
            "use the trust domain's name in lowercase, for example: \"prod.example\"".to_string()
        }
        K::BadHeaderName { .. } => {
            "header names use letters, digits, `-` and `_`, for example: \"x-tenant\"".to_string()
        }
        K::ReservedHeader { .. } => "pick another header name (e.g. `x-jwt-<claim>`)".to_string(),
        K::DuplicateHeader { .. } => "give each claim its own header".to_string(),
        K::EmptyClaimSegment { .. } => {
            "a claim path is claim names joined by `.` (e.g. `org.unit`), none of them empty"
                .to_string()
        }
        K::BadUriScheme { .. } | K::BadUriHost { .. } => {
            format!("for example: {}", example("uri").unwrap_or_default())
        }
        K::FieldConflict { field, other } => format!("keep only one of `{field}` and `{other}`"),
        K::BadDuration { .. } => {
            "write seconds with `s` (\"5s\", \"1.5s\") or milliseconds with `ms` (\"500ms\")".to_string()
        }
        K::BadClusterHost { .. } => format!(
            "a key is the host of a `jwks_uri`, with its port to match that port only, for example: {}",
            example("jwks_clusters").unwrap_or_default()
        ),
        K::BadPathTemplate(_) => PATH_TEMPLATE_HINT.to_string(),
        K::PublicRouteRequirement | K::PublicRouteLifetime => {
            "remove the field, or remove `\"public\": true` to protect the route".to_string()
        }
        K::UnknownProvider { declared, .. } if declared.is_empty() => {
            "declare the provider under `providers` first".to_string()
        }
        K::UnknownProvider { declared, .. } => {
            let names: Vec<String> = declared.iter().map(|n| format!("`{n}`")).collect();
            format!("the providers declared are: {}", names.join(", "))
        }
        K::NotATransactionProvider { name } => format!(
            "name a provider with \"token_type\": \"txn_token\", or give provider `{name}` that type"
        ),
        K::TransactionProviderAsAccess { name } => format!(
            "list only access-token providers here; ask for its token with \"transaction\": {{\"provider\": \"{name}\", \"purposes\": [...]}}"
        ),
        K::ScopeWithSpace { .. } => {
            "list each scope as its own string: [\"a\", \"b\"]".to_string()
        }
        K::UnknownCapture {
            template, captures, ..
        } => {
            let list = if captures.is_empty() {
                "no capture".to_string()
            } else {
                let names: Vec<String> = captures.iter().map(|n| format!("{{{n}}}")).collect();
                names.join(", ")
            };
            let route = path
                .split('.')
                .next()
                .filter(|r| r.starts_with("routes["))
                .map_or_else(|| "match.path".to_string(), |r| format!("{r}.match.path"));
            format!("`{route}` is `{template}`, which captures {list}: a template may only use those")
        }
        K::BadSubjectPattern(SubjectPatternError::Wildcard) => "subject patterns: `*` is one whole segment, a final `**` one or more (e.g. spiffe://prod.example/ns/*/sa/*)".to_string(),
        K::BadSubjectPattern(SubjectPatternError::NotSpiffe(_)) => "a `spiffe://` pattern must be a SPIFFE ID: lowercase trust domain, segments of letters, digits, `.`, `-`, `_`, no empty or dot segment (e.g. spiffe://prod.example/ns/*/sa/*)".to_string(),
        K::TxnClaimWithoutTransaction => {
            "add a `transaction` requirement to this route, or drop the `txn.` prefix".to_string()
        }
        K::DelegationContradiction => {
            "remove `max_delegation_depth`, or allow delegation".to_string()
        }
        K::McpTargetMethod { method, table } => format!(
            "remove `{method}` from `methods` and declare each allowed entry under `mcp.{table}`: anything not declared there is denied"
        ),
        K::BadResourceUri(_) => "for example: \"crm://customers/{tenant}/**\" (a literal `scheme://host`, then a path template)".to_string(),
        K::PublicRouteMcp => {
            "remove `\"public\": true`: MCP rules are judged on the caller's token".to_string()
        }
        K::DuplicateDenyRule { .. } => {
            "give each deny rule its own name: the decision record names the rule that denied"
                .to_string()
        }
        K::HeaderMatchTest => "for example: {\"name\": \"x-env\", \"exact\": \"prod\"}, {\"name\": \"x-canary\", \"present\": true} or {\"name\": \"x-debug\", \"absent\": true}".to_string(),
        K::EmptyList(_)
        | K::BadRealm
        | K::BadProviderName { .. }
        | K::BadActionName { .. }
        | K::BadRevocationList(_)
        | K::BadJwks(_)
        | K::BadJwk(_)
        | K::NoUsableKey { .. }
        | K::BadMethod { .. }
        | K::BadHostPattern { .. }
        | K::BadTemplate(_) => return None,
    })
}

/// An example of the field, when there is one, and the README section.
fn generic(error: &ConfigError) -> String {
    let path = error.path.as_str();
    let fallback = format!("see the README, section {}", section(path));
    match example(&last_name(path)) {
        Some(example) => format!("for example: {example}; {fallback}"),
        None => fallback,
    }
}

/// Path segments: `routes[2].require.scopes[0]` → `routes`, `[2]`, `require`, `scopes`, `[0]`.
pub(super) fn segments(path: &str) -> Vec<String> {
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

/// The last field name of a path (`routes[2].require.scopes[0]` → `scopes`).
pub(super) fn last_name(path: &str) -> String {
    segments(path)
        .into_iter()
        .rev()
        .find(|s| !s.starts_with('['))
        .unwrap_or_default()
}

/// The fields the schema knows in the object that holds `path`'s last member.
pub(super) fn siblings(path: &str) -> Option<&'static [&'static str]> {
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
        ["providers", _, "oidc_discovery"] => OIDC_DISCOVERY,
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
        Some("providers") if path.contains("oidc_discovery") => "\"OIDC discovery\"",
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
        "oidc_discovery" => "{\"http_uri\": {\"uri\": \"https://idp/.well-known/openid-configuration\", \"cluster\": \"idp\"}}",
        "jwks_clusters" => "{\"keys.example:443\": \"keys_cluster\"}",
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
        "timeout" => "\"5s\" (or \"1.5s\", \"500ms\")",
        _ => return None,
    })
}
