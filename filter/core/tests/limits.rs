//! Limits: oversized tokens and header floods are 431, deep or duplicated JSON is malformed,
//! and key sets are bounded; every limit is configurable with a checked range.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use serde_json::json;
use workload_authz_core::{compile, render_denial, Reason};

const READ: &str = "/tenants/acme/orders/7";

#[test]
fn an_oversized_token_is_431() {
    let p = policy(&example_policy_json());
    let mut claims = good_claims();
    claims["padding"] = json!("x".repeat(9000));
    let d = judge_token(&p, "GET", READ, &es256(&claims));
    assert_eq!(d.reason, Reason::HeaderTooLarge);
    assert_eq!(render_denial(&d, "r").unwrap().status, 431);
    // Raised limit: the same token is judged normally.
    let mut value = example_policy_json();
    value["limits"] = json!({"max_token_bytes": 16384, "max_claims_bytes": 16384});
    let p = policy(&value);
    assert_eq!(
        judge_token(&p, "GET", READ, &es256(&claims)).reason,
        Reason::Allowed
    );
}

#[test]
fn too_many_headers_is_431() {
    let mut value = example_policy_json();
    value["limits"] = json!({"max_headers": 8});
    let p = policy(&value);
    let token = format!("Bearer {}", es256(&good_claims()));
    let mut headers: Vec<(&str, &str)> = vec![("authorization", token.as_str())];
    assert_eq!(judge(&p, "GET", READ, &headers).reason, Reason::Allowed);
    let filler: Vec<String> = (0..8).map(|i| format!("x-filler-{i}")).collect();
    for name in &filler {
        headers.push((name.as_str(), "1"));
    }
    assert_eq!(
        judge(&p, "GET", READ, &headers).reason,
        Reason::HeaderTooLarge
    );
    // Public routes read no token, so no header limit applies there.
    assert_eq!(
        judge(&p, "GET", "/healthz", &headers).reason,
        Reason::Public
    );
}

#[test]
fn duplicate_claims_and_deep_claims_are_malformed() {
    let p = policy(&example_policy_json());
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"es256"}"#);
    let payload =
        URL_SAFE_NO_PAD.encode(r#"{"sub":"a","sub":"spiffe://prod.example/ns/shop/sa/checkout"}"#);
    let t = format!("{header}.{payload}.c2ln");
    assert_eq!(
        judge_token(&p, "GET", READ, &t).reason,
        Reason::MalformedToken
    );
    let mut claims = good_claims();
    let mut deep = json!(1);
    for _ in 0..20 {
        deep = json!({ "d": deep });
    }
    claims["deep"] = deep;
    assert_eq!(
        judge_token(&p, "GET", READ, &es256(&claims)).reason,
        Reason::MalformedToken
    );
}

#[test]
fn limit_ranges_are_checked() {
    let mut value = example_policy_json();
    value["limits"] = json!({"max_token_bytes": 10, "max_headers": 100000, "max_jwks_keys": 0, "max_claim_depth": 3});
    let errors = compile(&value.to_string()).unwrap_err().to_string();
    for expected in [
        "limits.max_token_bytes: must be between 512 and 65536",
        "limits.max_headers: must be between 8 and 1024",
        "limits.max_jwks_keys: must be between 1 and 1000",
        "limits.max_claim_depth: unknown field (did you mean `max_claims_depth`?)",
    ] {
        assert!(errors.contains(expected), "{expected}\n{errors}");
    }
}

#[test]
fn local_jwks_over_the_key_limit_is_refused() {
    let mut value = example_policy_json();
    value["limits"] = json!({"max_jwks_keys": 2});
    let errors = compile(&value.to_string()).unwrap_err().to_string();
    assert!(
        errors.contains(
            "providers.mesh.local_jwks.inline_string: more than 2 keys (limits.max_jwks_keys)"
        ),
        "{errors}"
    );
}
