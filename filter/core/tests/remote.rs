//! Remote key sets and revocation, natively: configuration, staleness, install, decisions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use workload_authz_core::revocation::RevocationList;
use workload_authz_core::state::parse_fetched_jwks;
use workload_authz_core::{compile, render_denial, ProviderId, Reason, RuntimeState};

const READ: &str = "/tenants/acme/orders/7";

fn remote_policy() -> Value {
    let mut value = example_policy_json();
    let mesh = value["providers"]["mesh"].as_object_mut().unwrap();
    mesh.remove("local_jwks");
    mesh.insert(
        "remote_jwks".into(),
        json!({
            "http_uri": {"uri": "http://idp.internal/.well-known/jwks.json", "cluster": "idp", "timeout_ms": 500},
            "cache_duration_seconds": 300,
            "max_stale_seconds": 3600
        }),
    );
    value
}

#[test]
fn remote_jwks_configuration() {
    let p = policy(&remote_policy());
    match &p.providers[0].key_source {
        workload_authz_core::config::KeySource::Remote(r) => {
            assert_eq!(r.http_uri.cluster, "idp");
            assert_eq!(r.http_uri.authority, "idp.internal");
            assert_eq!(r.http_uri.path, "/.well-known/jwks.json");
            assert_eq!(r.http_uri.timeout_ms, 500);
            assert_eq!((r.cache_duration_seconds, r.max_stale_seconds), (300, 3600));
        }
        other => panic!("remote expected: {other:?}"),
    }
    let mut both = remote_policy();
    both["providers"]["mesh"]["local_jwks"] = json!({"inline_string": jwks()});
    let errors = compile(&both.to_string()).unwrap_err().to_string();
    assert!(
        errors.contains("providers.mesh: set one of `local_jwks`, `remote_jwks` or `oidc_discovery`, not several"),
        "{errors}"
    );
    let mut bad = remote_policy();
    bad["providers"]["mesh"]["remote_jwks"]["http_uri"]["uri"] = json!("ftp://x/y");
    bad["providers"]["mesh"]["remote_jwks"]["http_uri"]
        .as_object_mut()
        .unwrap()
        .remove("cluster");
    let errors = compile(&bad.to_string()).unwrap_err().to_string();
    assert!(errors.contains("providers.mesh.remote_jwks.http_uri.uri: `ftp://x/y` must start with http:// or https://"), "{errors}");
    assert!(
        errors.contains("providers.mesh.remote_jwks.http_uri.cluster: required field is missing"),
        "{errors}"
    );
}

#[test]
fn keys_unavailable_until_fetched_then_stale_after_the_window() {
    let p = policy(&remote_policy());
    let mut state = RuntimeState::new(&p);
    let token = es256(&good_claims());
    let d = judge_with(&p, &state, READ, &token, NOW);
    assert_eq!(d.reason, Reason::KeysUnavailable);
    let answer = render_denial(&d, "r").unwrap();
    assert_eq!(answer.status, 401);
    assert!(answer
        .headers
        .iter()
        .any(|(n, v)| *n == "www-authenticate" && v.contains("invalid_token")));

    let mesh = ProviderId::new(0);
    state.install_keys(
        mesh,
        parse_fetched_jwks(&jwks(), &Default::default()).unwrap(),
        NOW - 100,
    );
    assert_eq!(
        judge_with(&p, &state, READ, &token, NOW).reason,
        Reason::Allowed
    );
    // Usable up to fetched_at + cache (300) + max stale (3600).
    assert_eq!(
        state.keys(&p, mesh, NOW - 100 + 3900).map(|k| k.len()),
        Some(4)
    );
    assert!(state.keys(&p, mesh, NOW - 100 + 3901).is_none());
}

#[test]
fn fetched_key_sets_skip_unusable_entries_and_refuse_garbage() {
    let mut doc: Value = serde_json::from_str(&jwks()).unwrap();
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}));
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "oct", "k": "c2VjcmV0"}));
    assert_eq!(
        parse_fetched_jwks(&doc.to_string(), &Default::default())
            .unwrap()
            .len(),
        4
    );
    assert!(parse_fetched_jwks("<html>oops</html>", &Default::default()).is_err());
    assert!(parse_fetched_jwks(
        r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#,
        &Default::default()
    )
    .is_err());
    // A set with no usable key says why each key was skipped.
    let keys: Value = serde_json::from_str(&jwks()).unwrap();
    let mut private = keys["keys"][0].clone();
    private["d"] = json!("AAAA");
    let mut numeric_kid = keys["keys"][0].clone();
    numeric_kid["kid"] = json!(7);
    let doc = json!({"keys": [private, numeric_kid]}).to_string();
    let message = parse_fetched_jwks(&doc, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("keys[0] skipped: holds the private member `d`")
            && message.contains("keys[1] skipped: `kid` must be a string"),
        "{message}"
    );
}

#[test]
fn static_and_fetched_revocations() {
    let mut value = example_policy_json();
    value["revoked"] = json!({"jti": ["task-1"]});
    value["revocation"] = json!({"http_uri": {"uri": "http://revocation.internal/v1/revoked", "cluster": "revocation"}, "refresh_seconds": 5});
    let p = policy(&value);
    assert_eq!(p.revocation.as_ref().unwrap().refresh_seconds, 5);
    let mut state = RuntimeState::new(&p);
    let with_jti = |jti: &str| {
        let mut claims = good_claims();
        claims["jti"] = json!(jti);
        es256(&claims)
    };
    assert_eq!(
        judge_with(&p, &state, READ, &with_jti("task-1"), NOW).reason,
        Reason::Revoked
    );
    // An endpoint is configured but nothing was fetched yet: fail closed.
    assert_eq!(
        judge_with(&p, &state, READ, &with_jti("task-2"), NOW).reason,
        Reason::RevocationUnavailable
    );
    state.install_revocations(RevocationList::parse("{}").unwrap());
    assert_eq!(
        judge_with(&p, &state, READ, &with_jti("task-2"), NOW).reason,
        Reason::Allowed
    );
    state.install_revocations(RevocationList::parse(r#"{"jti": ["task-2"]}"#).unwrap());
    assert_eq!(
        judge_with(&p, &state, READ, &with_jti("task-2"), NOW).reason,
        Reason::Revoked
    );
    // Removing it from the endpoint lets the token in again.
    state.install_revocations(RevocationList::parse(r#"{"jti": []}"#).unwrap());
    assert_eq!(
        judge_with(&p, &state, READ, &with_jti("task-2"), NOW).reason,
        Reason::Allowed
    );

    // Subjects: older tokens of that subject out, newer ones and other subjects in.
    let subject = good_claims()["sub"].as_str().unwrap().to_string();
    let doc = json!({"subjects_revoked_before": {subject: NOW - 30}}).to_string();
    state.install_revocations(RevocationList::parse(&doc).unwrap());
    let old = good_claims(); // iat NOW - 60
    assert_eq!(
        judge_with(&p, &state, READ, &es256(&old), NOW).reason,
        Reason::Revoked
    );
    let mut newer = good_claims();
    newer["iat"] = json!(NOW - 10);
    assert_eq!(
        judge_with(&p, &state, READ, &es256(&newer), NOW).reason,
        Reason::Allowed
    );
    let mut other = good_claims();
    other["sub"] = json!("spiffe://prod.example/ns/shop/sa/other");
    assert_eq!(
        judge_with(&p, &state, READ, &es256(&other), NOW).reason,
        Reason::Allowed
    );
}

#[test]
fn revocation_configuration_errors() {
    let mut value = example_policy_json();
    value["revoked"] = json!({"jti": "task-1"});
    let errors = compile(&value.to_string()).unwrap_err().to_string();
    assert!(
        errors.contains("revoked: `jti` must be a list of strings"),
        "{errors}"
    );
    let mut value = example_policy_json();
    value["revocation"] =
        json!({"http_uri": {"uri": "http://r/x", "cluster": "r"}, "refresh_seconds": 0});
    let errors = compile(&value.to_string()).unwrap_err().to_string();
    assert!(
        errors.contains("revocation.refresh_seconds: must be between 1 and 3600"),
        "{errors}"
    );
}
