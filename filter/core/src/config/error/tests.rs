//! Every kind has its message and its hint; the hints that need data get it from the compiler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::{Choice, ConfigError, ConfigErrorKind as K, ListOf};
use crate::config::compile_value;
use crate::identity::spiffe::SpiffeError;
use crate::keys::{AlgorithmError, JwkError, JwksError};
use crate::mcp::UriPatternError;
use crate::require::{SubjectPatternError, TemplateError};
use crate::revocation::RevocationError;
use crate::routes::PathPatternError;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A policy that compiles: one provider with a remote key set, one protected route.
fn base() -> Value {
    json!({
        "providers": {
            "mesh": {
                "issuer": "https://issuer.prod.example",
                "audiences": ["orders"],
                "remote_jwks": {"http_uri": {"uri": "http://idp/jwks.json", "cluster": "idp"}}
            }
        },
        "routes": [
            {"action": "orders.write", "match": {"path": "/tenants/{tenant}/orders/{id}"},
             "require": {"scopes": ["orders:write"]}}
        ]
    })
}

/// The only error `value` compiles to.
fn only_error(value: &Value) -> ConfigError {
    let errors = compile_value(value).expect_err("refused").0;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn the_base_policy_compiles() {
    assert!(compile_value(&base()).is_ok());
}

#[test]
fn an_unknown_capture_names_the_template_and_its_captures() {
    let mut value = base();
    value["routes"][0]["require"]["scopes"] = json!(["orders:write:{tennant}"]);
    let error = only_error(&value);
    assert_eq!(
        error.to_string(),
        "routes[0].require.scopes[0]: unknown capture {tennant}"
    );
    assert_eq!(
        error.kind,
        K::UnknownCapture {
            name: "tennant".into(),
            template: "/tenants/{tenant}/orders/{id}".into(),
            captures: vec!["tenant".into(), "id".into()],
        }
    );
    assert_eq!(
        error.hint(),
        "`routes[0].match.path` is `/tenants/{tenant}/orders/{id}`, which captures {tenant}, {id}: a template may only use those"
    );
    // Claims and authorization details are templates too.
    let mut value = base();
    value["routes"][0]["match"]["path"] = json!("/orders");
    value["routes"][0]["require"] = json!({"claims": {"tenant": "{tenant}"}});
    let error = only_error(&value);
    assert_eq!(error.path, "routes[0].require.claims.tenant");
    assert_eq!(
        error.hint(),
        "`routes[0].match.path` is `/orders`, which captures no capture: a template may only use those"
    );
    let mut value = base();
    value["routes"][0]["require"] =
        json!({"authorization_details": {"type": "t", "tenant": "{x}"}});
    assert!(matches!(only_error(&value).kind, K::UnknownCapture { name, .. } if name == "x"));
}

#[test]
fn an_unknown_provider_lists_the_declared_ones() {
    let mut value = base();
    value["providers"]["edge"] = value["providers"]["mesh"].clone();
    value["providers"]["edge"]["issuer"] = json!("https://edge.example");
    value["routes"][0]["require"]["providers"] = json!(["meshh"]);
    let error = only_error(&value);
    assert_eq!(
        error.to_string(),
        "routes[0].require.providers[0]: unknown provider `meshh`"
    );
    assert_eq!(error.hint(), "the providers declared are: `edge`, `mesh`");
    // The transaction provider is looked up the same way.
    let mut value = base();
    value["routes"][0]["require"]["transaction"] = json!({"provider": "txn"});
    let error = only_error(&value);
    assert_eq!(error.path, "routes[0].require.transaction.provider");
    assert_eq!(error.hint(), "the providers declared are: `mesh`");
}

#[test]
fn a_shared_issuer_names_the_first_provider() {
    let mut value = base();
    value["providers"]["twin"] = value["providers"]["mesh"].clone();
    let error = only_error(&value);
    assert_eq!(
        error.kind,
        K::DuplicateIssuer {
            issuer: "https://issuer.prod.example".into(),
            other_provider: "mesh".into(),
        }
    );
    assert!(error.hint().contains("each issuer belongs to one provider"));
}

#[test]
fn a_jwks_filename_is_refused_naming_the_field_and_what_to_do() {
    let mut value = base();
    let mesh = value["providers"]["mesh"].as_object_mut().unwrap();
    mesh.remove("remote_jwks");
    mesh.insert("local_jwks".into(), json!({"filename": "keys/jwks.json"}));
    let error = only_error(&value);
    assert_eq!(error.kind, K::JwksFilename);
    assert_eq!(
        error.to_string(),
        "providers.mesh.local_jwks.filename: the filter cannot read files (the proxy-wasm sandbox); inline the key set as local_jwks.inline_string, or let workload-authz envoy|istio inline the file for you"
    );
    assert!(
        error.hint().contains("`workload-authz envoy POLICY`"),
        "{}",
        error.hint()
    );
    // With an inline key set next to it, the file is still refused (not silently ignored).
    value["providers"]["mesh"]["local_jwks"]["inline_string"] = json!("{\"keys\": []}");
    assert_eq!(
        only_error(&value).path,
        "providers.mesh.local_jwks.filename"
    );
}

#[test]
fn the_log_line_carries_message_and_hint() {
    let error = ConfigError::new("routes[0].mode", K::not_a(Choice::Mode, "audit"));
    assert_eq!(
        error.with_hint(),
        "routes[0].mode: `audit` is not a mode (use `enforce` or `shadow`); hint: use \"enforce\" or \"shadow\""
    );
    assert_eq!(
        ConfigError::new("", K::NotJson("eof".into())).to_string(),
        "configuration: not valid JSON: eof"
    );
}

#[test]
fn paths_split_into_segments() {
    use super::hint::{last_name, segments, siblings};
    use crate::config::fields::{HTTP_URI, PROVIDER, REQUIRE};
    assert_eq!(
        segments("routes[2].require.scopes[0]"),
        vec!["routes", "[2]", "require", "scopes", "[0]"]
    );
    assert_eq!(last_name("routes[2].require.scopes[0]"), "scopes");
    assert_eq!(siblings("routes[1].require.scope"), Some(REQUIRE));
    assert_eq!(siblings("providers.mesh.isuer"), Some(PROVIDER));
    assert_eq!(
        siblings("providers.m.remote_jwks.http_uri.url"),
        Some(HTTP_URI)
    );
}

/// A number per variant: adding a kind fails to compile here until the table below covers it.
fn variant(kind: &K) -> usize {
    match kind {
        K::NotJson(_) => 0,
        K::NotYaml(_) => 1,
        K::Missing => 2,
        K::WrongType { .. } => 3,
        K::UnknownField { .. } => 4,
        K::Empty => 5,
        K::EmptyList(_) => 6,
        K::OutOfRange { .. } => 7,
        K::NotAChoice { .. } => 8,
        K::BadRealm => 9,
        K::BadProviderName { .. } => 10,
        K::BadActionName { .. } => 11,
        K::NoRoutes => 12,
        K::NoProviders => 13,
        K::DuplicateIssuer { .. } => 14,
        K::BadRevocationList(_) => 15,
        K::KeySourceConflict => 16,
        K::MissingKeySource => 17,
        K::BadJwks(_) => 18,
        K::BadJwk(_) => 19,
        K::NoUsableKey { .. } => 20,
        K::BadAlgorithm { .. } => 21,
        K::SvidWithoutExpiration => 22,
        K::SvidAlgorithm => 23,
        K::BadTrustDomain { .. } => 24,
        K::BadHeaderName { .. } => 25,
        K::ReservedHeader { .. } => 26,
        K::DuplicateHeader { .. } => 27,
        K::EmptyClaimSegment { .. } => 28,
        K::BadUriScheme { .. } => 29,
        K::BadUriHost { .. } => 30,
        K::BadPathTemplate(_) => 31,
        K::BadMethod { .. } => 32,
        K::BadHostPattern { .. } => 33,
        K::PublicRouteRequirement => 34,
        K::PublicRouteLifetime => 35,
        K::UnknownProvider { .. } => 36,
        K::NotATransactionProvider { .. } => 37,
        K::ScopeWithSpace { .. } => 38,
        K::UnknownCapture { .. } => 39,
        K::BadTemplate(_) => 40,
        K::BadSubjectPattern(_) => 41,
        K::TxnClaimWithoutTransaction => 42,
        K::DelegationContradiction => 43,
        K::TransactionProviderAsAccess { .. } => 44,
        K::McpTargetMethod { .. } => 45,
        K::BadResourceUri(_) => 46,
        K::PublicRouteMcp => 47,
        K::FieldConflict { .. } => 48,
        K::BadDuration { .. } => 49,
        K::BadClusterHost { .. } => 50,
        K::HeaderMatchTest => 51,
        K::DuplicateDenyRule { .. } => 52,
        K::JwksFilename => 53,
    }
}
const VARIANTS: usize = 54;

#[test]
fn every_kind_has_its_message_and_hint() {
    let s = |t: &str| t.to_string();
    let route = "see the README, section \"Configuration > Route\"";
    let provider = "see the README, section \"Configuration > Provider\"";
    let top = "see the README, section \"Configuration > Top level\"";
    let cases: Vec<(&str, K, &str, String)> = vec![
        ("", K::NotJson(s("eof")), "configuration: not valid JSON: eof",
         s("the policy must be one JSON object (`workload-authz check` also reads YAML from a .yaml file)")),
        ("", K::NotYaml(s("bad indent")), "configuration: not valid YAML: bad indent",
         s("fix the YAML syntax at the position shown; the policy must be one mapping")),
        ("routes[0].action", K::Missing, "routes[0].action: required field is missing",
         s("add `action`, for example: \"orders.read\"")),
        ("providers.mesh.audiences", K::WrongType { expected: "a list of strings" },
         "providers.mesh.audiences: must be a list of strings",
         s("`audiences` must be a list of strings, for example: [\"orders\"]")),
        ("routes[1].require.scope", K::UnknownField { suggestion: Some("scopes") },
         "routes[1].require.scope: unknown field (did you mean `scopes`?)",
         s("rename it to `scopes` (unknown fields are refused so a typo cannot weaken a policy); the fields here are: providers, scopes, scopes_any, subjects, claims, actor, max_delegation_depth, allow_delegation, authorization_details, transaction, bind_peer, typ, dpop")),
        ("routes[0].require.typ", K::Empty, "routes[0].require.typ: must not be empty",
         format!("give `typ` a value, or remove it to get the default; {route}")),
        ("routes[0].match.methods", K::EmptyList(ListOf::Methods),
         "routes[0].match.methods: must list at least one method (omit it for any)",
         format!("for example: [\"GET\", \"HEAD\"]; {route}")),
        ("limits.max_headers", K::OutOfRange { min: 8, max: 1024 },
         "limits.max_headers: must be between 8 and 1024", s("use a whole number within the range")),
        ("decision_record", K::not_a(Choice::RecordLevel, "all"),
         "decision_record: `all` is not a level (use `struct`, `keys`, `compact` or `off`)",
         s("use \"struct\", \"keys\", \"compact\" or \"off\"")),
        ("realm", K::BadRealm, "realm: must be non-empty printable ASCII without `\"` or `\\`",
         format!("for example: \"orders-api\"; {top}")),
        ("providers.a b", K::BadProviderName { name: s("a b") },
         "providers.a b: provider names use letters, digits, `_`, `-` and `.`", s(provider)),
        ("routes[0].action", K::BadActionName { name: s("a b") },
         "routes[0].action: `a b` must use only letters, digits, `_`, `-`, `.` and `:`",
         format!("for example: \"orders.read\"; {route}")),
        ("routes", K::NoRoutes, "routes: must declare at least one route (everything else is denied)",
         s("declare the actions that exist, for example: [{\"action\": \"orders.read\", \"match\": {\"path\": \"/orders/{id}\"}}]")),
        ("providers", K::NoProviders, "providers: protected routes need at least one provider",
         s("declare who issues tokens, for example: \"providers\": {\"mesh\": {\"issuer\": ..., \"audiences\": [...], \"local_jwks\": {...}}}")),
        ("providers.twin.issuer", K::DuplicateIssuer { issuer: s("https://i"), other_provider: s("mesh") },
         "providers.twin.issuer: issuer `https://i` is already used by provider `mesh`",
         s("the token's `iss` picks the provider, so each issuer belongs to one provider: merge them")),
        ("revoked", K::BadRevocationList(RevocationError::BadMember("jti")),
         "revoked: `jti` must be a list of strings", s("see the README, section \"Revocation\"")),
        ("providers.mesh", K::KeySourceConflict,
         "providers.mesh: set one of `local_jwks`, `remote_jwks` or `oidc_discovery`, not several",
         s("give the provider exactly one key source: \"local_jwks\": {\"inline_string\": \"{\\\"keys\\\": [...]}\"}, \"remote_jwks\": {\"http_uri\": {\"uri\": \"http://idp/.well-known/jwks.json\", \"cluster\": \"idp\"}} or \"oidc_discovery\": {\"http_uri\": {\"uri\": \"https://idp/.well-known/openid-configuration\", \"cluster\": \"idp\"}}")),
        ("providers.mesh", K::MissingKeySource, "providers.mesh: needs `local_jwks`, `remote_jwks` or `oidc_discovery`",
         s("give the provider exactly one key source: \"local_jwks\": {\"inline_string\": \"{\\\"keys\\\": [...]}\"}, \"remote_jwks\": {\"http_uri\": {\"uri\": \"http://idp/.well-known/jwks.json\", \"cluster\": \"idp\"}} or \"oidc_discovery\": {\"http_uri\": {\"uri\": \"https://idp/.well-known/openid-configuration\", \"cluster\": \"idp\"}}")),
        ("providers.mesh.oidc_discovery.http_uri.timeout", K::FieldConflict { field: "timeout", other: "timeout_ms" },
         "providers.mesh.oidc_discovery.http_uri.timeout: set either `timeout` or `timeout_ms`, not both",
         s("keep only one of `timeout` and `timeout_ms`")),
        ("revocation.http_uri.timeout", K::BadDuration { value: s("5") },
         "revocation.http_uri.timeout: `5` is not a duration from 1ms to 60s",
         s("write seconds with `s` (\"5s\", \"1.5s\") or milliseconds with `ms` (\"500ms\")")),
        ("providers.mesh.oidc_discovery.jwks_clusters.a b", K::BadClusterHost { host: s("a b") },
         "providers.mesh.oidc_discovery.jwks_clusters.a b: `a b` is not a host or host:port",
         s("a key is the host of a `jwks_uri`, with its port to match that port only, for example: {\"keys.example:443\": \"keys_cluster\"}")),
        ("providers.mesh.local_jwks.filename", K::JwksFilename,
         "providers.mesh.local_jwks.filename: the filter cannot read files (the proxy-wasm sandbox); inline the key set as local_jwks.inline_string, or let workload-authz envoy|istio inline the file for you",
         s("run `workload-authz envoy POLICY` (or `istio`): it reads the file")),
        ("providers.mesh.local_jwks.inline_string", K::BadJwks(JwksError::NoKeysArray),
         "providers.mesh.local_jwks.inline_string: must be an object with a `keys` array", s(provider)),
        ("providers.mesh.local_jwks.inline_string.keys[0]", K::BadJwk(JwkError::RsaTooSmall(1024)),
         "providers.mesh.local_jwks.inline_string.keys[0]: RSA modulus is 1024 bits, below the 2048-bit minimum",
         s("RSA keys need at least 2048 bits; `workload-authz keygen --alg RS256` makes one")),
        ("providers.mesh.local_jwks.inline_string", K::NoUsableKey { skipped: vec![] },
         "providers.mesh.local_jwks.inline_string: holds no usable signing key", s(provider)),
        ("providers.mesh.local_jwks.inline_string", K::NoUsableKey { skipped: vec![s("the key with kid `k1`: an EC P-256 key, which none of the provider's algorithms (RS256) uses")] },
         "providers.mesh.local_jwks.inline_string: holds no usable signing key: the key with kid `k1`: an EC P-256 key, which none of the provider's algorithms (RS256) uses", s(provider)),
        ("providers.mesh.algorithms[0]", K::BadAlgorithm { name: s("HS256"), error: AlgorithmError::Symmetric },
         "providers.mesh.algorithms[0]: `HS256` is symmetric (HMAC) and never allowed with public keys",
         s("use asymmetric algorithms: RS256/384/512, PS256/384/512, ES256/384 or EdDSA")),
        ("providers.spire.require_expiration", K::SvidWithoutExpiration,
         "providers.spire.require_expiration: JWT-SVIDs always need `exp`",
         s("remove `require_expiration`: a JWT-SVID without `exp` is never accepted")),
        ("providers.spire.algorithms", K::SvidAlgorithm,
         "providers.spire.algorithms: JWT-SVIDs are signed with RS, ES or PS algorithms only",
         s("list only RS, ES or PS algorithms for a SPIFFE provider, or omit `algorithms`")),
        ("providers.spire.spiffe.trust_domain", K::BadTrustDomain { value: s("Prod") },
         "providers.spire.spiffe.trust_domain: `Prod` is not a trust domain (lowercase letters, digits, `.`, `-`, `_`)",
         s("use the trust domain's name in lowercase, for example: \"prod.example\"")),
        ("providers.mesh.from_headers[0].name", K::BadHeaderName { name: s(":path") },
         "providers.mesh.from_headers[0].name: `:path` is not a header name",
         s("header names use letters, digits, `-` and `_`, for example: \"x-tenant\"")),
        ("providers.mesh.claim_to_headers[0].header_name", K::ReservedHeader { name: s("Host") },
         "providers.mesh.claim_to_headers[0].header_name: `Host` is reserved and cannot carry a claim",
         s("pick another header name (e.g. `x-jwt-<claim>`)")),
        ("providers.mesh.claim_to_headers[1].header_name", K::DuplicateHeader { name: s("x-t") },
         "providers.mesh.claim_to_headers[1].header_name: `x-t` is already used",
         s("give each claim its own header")),
        ("routes[0].require.claims.a..b", K::EmptyClaimSegment { claim: s("a..b") },
         "routes[0].require.claims.a..b: claim path has an empty segment",
         s("a claim path is claim names joined by `.` (e.g. `org.unit`), none of them empty")),
        ("revocation.http_uri.uri", K::BadUriScheme { uri: s("ftp://x") },
         "revocation.http_uri.uri: `ftp://x` must start with http:// or https://",
         s("for example: \"http://idp.internal/.well-known/jwks.json\"")),
        ("revocation.http_uri.uri", K::BadUriHost { uri: s("http:///x") },
         "revocation.http_uri.uri: `http:///x` has no usable host",
         s("for example: \"http://idp.internal/.well-known/jwks.json\"")),
        ("routes[0].match.path", K::BadPathTemplate(PathPatternError::RestNotLast),
         "routes[0].match.path: `**` may only be the last segment",
         s("path templates use literal segments, `{name}` (one segment, captured), `*` (one segment) and a final `**`")),
        ("routes[0].match.methods[0]", K::BadMethod { method: s("G T") },
         "routes[0].match.methods[0]: `G T` is not a method", format!("for example: [\"GET\", \"HEAD\"]; {route}")),
        ("routes[0].match.hosts[0]", K::BadHostPattern { pattern: s("a*b") },
         "routes[0].match.hosts[0]: `a*b` is not a host pattern",
         format!("for example: [\"api.example.com\", \"*.example.com\"]; {route}")),
        ("routes[0].require", K::PublicRouteRequirement, "routes[0].require: a public route cannot have requirements",
         s("remove the field, or remove `\"public\": true` to protect the route")),
        ("routes[0].max_lifetime_seconds", K::PublicRouteLifetime,
         "routes[0].max_lifetime_seconds: a public route takes no token, so no lifetime",
         s("remove the field, or remove `\"public\": true` to protect the route")),
        ("routes[0].require.providers[0]", K::UnknownProvider { name: s("ghost"), declared: vec![] },
         "routes[0].require.providers[0]: unknown provider `ghost`",
         s("declare the provider under `providers` first")),
        ("routes[0].require.transaction.provider", K::NotATransactionProvider { name: s("mesh") },
         "routes[0].require.transaction.provider: provider `mesh` is not a `txn_token` provider",
         s("name a provider with \"token_type\": \"txn_token\", or give provider `mesh` that type")),
        ("routes[0].require.providers[0]", K::TransactionProviderAsAccess { name: s("txn") },
         "routes[0].require.providers[0]: provider `txn` issues transaction tokens, which never authenticate a caller",
         s("list only access-token providers here; ask for its token with \"transaction\": {\"provider\": \"txn\", \"purposes\": [...]}")),
        ("routes[0].require.scopes[0]", K::ScopeWithSpace { scope: s("a b") },
         "routes[0].require.scopes[0]: a scope is one word, without spaces",
         s("list each scope as its own string: [\"a\", \"b\"]")),
        ("routes[3].require.scopes[0]", K::UnknownCapture { name: s("x"), template: s("/a/{id}"), captures: vec![s("id")] },
         "routes[3].require.scopes[0]: unknown capture {x}",
         s("`routes[3].match.path` is `/a/{id}`, which captures {id}: a template may only use those")),
        ("routes[0].require.scopes[0]", K::BadTemplate(TemplateError::Unbalanced),
         "routes[0].require.scopes[0]: unbalanced `{` or `}`",
         format!("for example: [\"orders:read\", \"orders:write:{{tenant}}\"]; {route}")),
        ("routes[0].require.subjects[0]", K::BadSubjectPattern(SubjectPatternError::Wildcard),
         "routes[0].require.subjects[0]: `*` must be a whole segment, and `**` only the last one",
         s("subject patterns: `*` is one whole segment, a final `**` one or more (e.g. spiffe://prod.example/ns/*/sa/*)")),
        ("routes[0].require.subjects[1]", K::BadSubjectPattern(SubjectPatternError::NotSpiffe(SpiffeError::Path)),
         "routes[0].require.subjects[1]: no SPIFFE ID can match this pattern: the path has an empty, dot or invalid segment",
         s("a `spiffe://` pattern must be a SPIFFE ID: lowercase trust domain, segments of letters, digits, `.`, `-`, `_`, no empty or dot segment (e.g. spiffe://prod.example/ns/*/sa/*)")),
        ("routes[0].require.claims.txn.purpose", K::TxnClaimWithoutTransaction,
         "routes[0].require.claims.txn.purpose: `txn.` conditions need a `transaction` requirement on this route",
         s("add a `transaction` requirement to this route, or drop the `txn.` prefix")),
        ("routes[0].require.max_delegation_depth", K::DelegationContradiction,
         "routes[0].require.max_delegation_depth: contradicts `allow_delegation: false`",
         s("remove `max_delegation_depth`, or allow delegation")),
        ("routes[0].mcp.methods.tools/call", K::McpTargetMethod { method: s("tools/call"), table: "tools" },
         "routes[0].mcp.methods.tools/call: `tools/call` is governed by `mcp.tools`, not `methods`",
         s("remove `tools/call` from `methods` and declare each allowed entry under `mcp.tools`: anything not declared there is denied")),
        ("routes[0].mcp.resources[0].uri", K::BadResourceUri(UriPatternError::PlaceholderInOrigin),
         "routes[0].mcp.resources[0].uri: the scheme and authority (`scheme://host`) must be literal: placeholders and `*` belong to the path",
         s("for example: \"crm://customers/{tenant}/**\" (a literal `scheme://host`, then a path template)")),
        ("routes[0].mcp", K::PublicRouteMcp, "routes[0].mcp: a public route cannot have an `mcp` block",
         s("remove `\"public\": true`: MCP rules are judged on the caller's token")),
        ("routes[0].match.headers[0]", K::HeaderMatchTest,
         "routes[0].match.headers[0]: a header condition needs exactly one of `exact`, `prefix`, `present`, `absent`",
         s("for example: {\"name\": \"x-env\", \"exact\": \"prod\"}, {\"name\": \"x-canary\", \"present\": true} or {\"name\": \"x-debug\", \"absent\": true}")),
        ("deny[1].name", K::DuplicateDenyRule { name: s("legacy") },
         "deny[1].name: another deny rule is already named `legacy`",
         s("give each deny rule its own name: the decision record names the rule that denied")),
    ];
    let mut seen = BTreeSet::new();
    for (path, kind, message, hint) in cases {
        seen.insert(variant(&kind));
        let error = ConfigError::new(path, kind);
        assert_eq!(error.to_string(), message);
        assert_eq!(error.hint(), hint, "hint of `{message}`");
    }
    assert_eq!(seen, (0..VARIANTS).collect(), "every kind is in the table");
}

#[test]
fn oversized_rsa_keys_get_their_own_hint() {
    let error = ConfigError::new("k", K::BadJwk(JwkError::RsaTooLarge(8192)));
    assert_eq!(
        error.hint(),
        "RSA keys have at most 4096 bits; `workload-authz keygen --alg RS256` makes a 2048-bit one"
    );
    let none = ConfigError::new(
        "providers.mesh.algorithms[1]",
        K::BadAlgorithm {
            name: "NONE".into(),
            error: AlgorithmError::None,
        },
    );
    assert_eq!(
        none.to_string(),
        "providers.mesh.algorithms[1]: `none` is never allowed: tokens must be signed"
    );
}
