//! Configuration compilation: every rule refuses a bad policy with the path of the field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use workload_authz_core::compile;

fn errors_of(value: &Value) -> Vec<String> {
    match compile(&value.to_string()) {
        Ok(_) => panic!("policy accepted: {value}"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

fn assert_refused(value: &Value, expected: &str) {
    let errors = errors_of(value);
    assert!(
        errors.iter().any(|e| e == expected),
        "expected `{expected}` in {errors:#?}"
    );
}

#[test]
fn the_example_policy_compiles() {
    let p = policy(&example_policy_json());
    assert_eq!(p.realm, "orders-api");
    assert_eq!(p.routes.len(), 3);
    match &p.providers[0].key_source {
        workload_authz_core::config::KeySource::Local(set) => assert_eq!(set.len(), 4),
        other => panic!("local keys expected, got {other:?}"),
    }
}

#[test]
fn unknown_capture_names_the_field() {
    let mut value = example_policy_json();
    value["routes"][2]["require"]["scopes"] = json!(["orders:write:{tennant}"]);
    assert_refused(
        &value,
        "routes[2].require.scopes[0]: unknown capture {tennant}",
    );
    let mut value = example_policy_json();
    value["routes"][1]["require"]["claims"] = json!({"tenant": "{tenantt}"});
    assert_refused(
        &value,
        "routes[1].require.claims.tenant: unknown capture {tenantt}",
    );
}

#[test]
fn all_errors_are_collected() {
    let mut value = example_policy_json();
    value["routes"][2]["require"]["scopes"] = json!(["orders:write:{tennant}"]);
    value["providers"]["mesh"]["audiences"] = json!([]);
    value["mode"] = json!("audit");
    let errors = errors_of(&value);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn typos_are_refused_not_ignored() {
    let mut value = example_policy_json();
    value["routes"][1]["require"]["scope"] = json!(["orders:read"]);
    assert_refused(
        &value,
        "routes[1].require.scope: unknown field (did you mean `scopes`?)",
    );
    let mut value = example_policy_json();
    value["providers"]["mesh"]["audience"] = json!("orders");
    assert_refused(
        &value,
        "providers.mesh.audience: unknown field (did you mean `audiences`?)",
    );
}

#[test]
fn provider_rules() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("issuer", Value::Null, "providers.mesh.issuer: required field is missing"),
        ("audiences", json!([]), "providers.mesh.audiences: must list at least one audience"),
        ("audiences", json!("orders"), "providers.mesh.audiences: must be a list of strings"),
        ("algorithms", json!(["ES256", "none"]), "providers.mesh.algorithms[1]: `none` is never allowed: tokens must be signed"),
        ("algorithms", json!(["HS256"]), "providers.mesh.algorithms[0]: `HS256` is symmetric (HMAC) and never allowed with public keys"),
        ("clock_skew_seconds", json!(-1), "providers.mesh.clock_skew_seconds: must be a whole number"),
        ("clock_skew_seconds", json!(100000), "providers.mesh.clock_skew_seconds: must be between 0 and 600"),
        ("max_lifetime_seconds", json!(0), "providers.mesh.max_lifetime_seconds: must be between 1 and 31622400"),
        ("require_expiration", json!("yes"), "providers.mesh.require_expiration: must be true or false"),
        ("local_jwks", Value::Null, "providers.mesh: needs `local_jwks`, `remote_jwks` or `oidc_discovery`"),
        ("local_jwks", json!({"inline_string": "nope"}), "providers.mesh.local_jwks.inline_string: not valid JSON: expected ident at line 1 column 2"),
        ("local_jwks", json!({"inline_string": "{\"keys\":[]}"}), "providers.mesh.local_jwks.inline_string: holds no usable signing key"),
        ("from_headers", json!([{"name": ":path"}]), "providers.mesh.from_headers[0].name: `:path` is not a header name"),
    ];
    for (field, replacement, expected) in cases {
        let mut value = example_policy_json();
        if replacement.is_null() {
            value["providers"]["mesh"]
                .as_object_mut()
                .unwrap()
                .remove(field);
        } else {
            value["providers"]["mesh"][field] = replacement;
        }
        assert_refused(&value, expected);
    }
}

#[test]
fn weak_and_odd_keys_are_refused() {
    let small =
        json!({"keys": [{"kty": "RSA", "kid": "small", "n": b64(&[0xC5; 128]), "e": "AQAB"}]});
    let mut value = example_policy_json();
    value["providers"]["mesh"]["local_jwks"]["inline_string"] = json!(small.to_string());
    assert_refused(
        &value,
        "providers.mesh.local_jwks.inline_string.keys[0]: RSA modulus is 1024 bits, below the 2048-bit minimum",
    );
    let oct = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
    value["providers"]["mesh"]["local_jwks"]["inline_string"] = json!(oct.to_string());
    assert_refused(
        &value,
        "providers.mesh.local_jwks.inline_string.keys[0]: unsupported key type `oct`",
    );
}

#[test]
fn two_providers_cannot_share_an_issuer() {
    let mut value = example_policy_json();
    value["providers"]["twin"] = value["providers"]["mesh"].clone();
    assert_refused(&value, "providers.twin.issuer: issuer `https://issuer.prod.example` is already used by provider `mesh`");
}

#[test]
fn route_rules() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"match": {"path": "/x"}}), "routes[0].action: required field is missing"),
        (json!({"action": "a b", "match": {"path": "/x"}}), "routes[0].action: `a b` must use only letters, digits, `_`, `-`, `.` and `:`"),
        (json!({"action": "a", "match": {"path": "x"}}), "routes[0].match.path: must start with `/`"),
        (json!({"action": "a", "match": {"path": "/a/**/b"}}), "routes[0].match.path: `**` may only be the last segment"),
        (json!({"action": "a", "match": {"path": "/{a}/{a}"}}), "routes[0].match.path: capture {a} is used twice"),
        (json!({"action": "a", "match": {"path": "/x", "methods": []}}), "routes[0].match.methods: must list at least one method (omit it for any)"),
        (json!({"action": "a", "match": {"path": "/x", "hosts": ["a*b"]}}), "routes[0].match.hosts[0]: `a*b` is not a host pattern"),
        (json!({"action": "a", "match": {"path": "/x"}, "public": true, "require": {"scopes": ["s"]}}), "routes[0].require: a public route cannot have requirements"),
        (json!({"action": "a", "match": {"path": "/x"}, "require": {"providers": ["ghost"]}}), "routes[0].require.providers[0]: unknown provider `ghost`"),
        (json!({"action": "a", "match": {"path": "/x"}, "require": {"scopes": ["a b"]}}), "routes[0].require.scopes[0]: a scope is one word, without spaces"),
        (json!({"action": "a", "match": {"path": "/x"}, "require": {"subjects": ["spiffe://x/a*"]}}), "routes[0].require.subjects[0]: `*` must be a whole segment, and `**` only the last one"),
        (json!({"action": "a", "match": {"path": "/x"}, "require": {"claims": {"a..b": "x"}}}), "routes[0].require.claims.a..b: claim path has an empty segment"),
        (json!({"action": "a", "match": {"path": "/x"}, "require": {"claims": {"a": []}}}), "routes[0].require.claims.a: must list at least one allowed value"),
        (json!({"action": "a", "match": {"path": "/x"}, "mode": "audit"}), "routes[0].mode: `audit` is not a mode (use `enforce` or `shadow`)"),
    ];
    for (route, expected) in cases {
        let mut value = example_policy_json();
        value["routes"] = json!([route]);
        assert_refused(&value, expected);
    }
    let mut value = example_policy_json();
    value["routes"] = json!([]);
    assert_refused(
        &value,
        "routes: must declare at least one route (everything else is denied)",
    );
}

#[test]
fn top_level_rules() {
    assert!(compile("not json")
        .unwrap_err()
        .to_string()
        .starts_with("configuration: not valid JSON"));
    assert_refused(&json!([]), "configuration: must be an object");
    let mut value = example_policy_json();
    value["realm"] = json!("a\"b");
    assert_refused(
        &value,
        "realm: must be non-empty printable ASCII without `\"` or `\\`",
    );
    let value = json!({"routes": [{"action": "a", "match": {"path": "/x"}}]});
    assert_refused(
        &value,
        "providers: protected routes need at least one provider",
    );
    let public_only = json!({"routes": [{"action": "a", "match": {"path": "/x"}, "public": true}]});
    assert!(compile(&public_only.to_string()).is_ok());
}

#[test]
fn every_example_policy_compiles() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Err(errors) = compile(&text) {
                panic!("{}: {errors}", path.display());
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "examples/policy.json and examples/agent-platform.json at least"
    );
}
