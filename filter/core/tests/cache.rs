//! The verified-token cache skips only the signature and the parsing: every other check runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::json;
use workload_authz_core::revocation::RevocationList;
use workload_authz_core::{explain, GuestVerifier, Reason, RequestView, RuntimeState};

const READ: &str = "/tenants/acme/orders/7";

fn steps_with(
    p: &workload_authz_core::Policy,
    state: &RuntimeState,
    method: &str,
    path: &str,
    token: &str,
    now: u64,
) -> (Reason, String) {
    let headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
    let request = RequestView {
        method,
        path,
        authority: "x",
        headers: &headers,
    };
    let (d, steps) = explain(p, state, &request, now, &GuestVerifier);
    let signature = steps
        .iter()
        .find(|s| s.check == "signature")
        .map(|s| s.detail.clone())
        .unwrap_or_default();
    (d.reason, signature)
}

#[test]
fn a_second_use_skips_the_signature_but_no_other_check() {
    let mut value = example_policy_json();
    value["revocation"] = json!({"http_uri": {"uri": "http://r/x", "cluster": "r"}});
    let p = policy(&value);
    let mut state = RuntimeState::new(&p);
    state.install_revocations(RevocationList::default());
    let token = es256(&json!({
        "iss": "https://issuer.prod.example", "aud": "orders", "sub": "spiffe://prod.example/ns/shop/sa/checkout",
        "iat": NOW - 60, "exp": NOW + 240, "scope": "orders:read", "tenant": "acme", "jti": "t-1"
    }));
    let (reason, sig) = steps_with(&p, &state, "GET", READ, &token, NOW);
    assert_eq!(reason, Reason::Allowed);
    assert!(!sig.contains("cache"), "{sig}");
    assert_eq!(state.cached_tokens(), 1);
    let (reason, sig) = steps_with(&p, &state, "GET", READ, &token, NOW);
    assert_eq!(reason, Reason::Allowed);
    assert!(sig.contains("verified-token cache"), "{sig}");
    // Route requirements still run on a hit.
    assert_eq!(
        steps_with(&p, &state, "POST", "/tenants/acme/orders", &token, NOW).0,
        Reason::InsufficientScope
    );
    assert_eq!(
        steps_with(&p, &state, "GET", "/tenants/globex/orders/1", &token, NOW).0,
        Reason::ClaimMismatch
    );
    // Time still runs: past exp + skew the token is expired.
    assert_eq!(
        steps_with(&p, &state, "GET", READ, &token, NOW + 240 + 61).0,
        Reason::Expired
    );
    // A tampered copy is not the cached token. (A character inside the signature: the last one
    // also holds padding bits, and changing it may make the base64url non-canonical instead.)
    let at = token.len() - 10;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    assert_eq!(
        steps_with(&p, &state, "GET", READ, &tampered, NOW).0,
        Reason::BadSignature
    );
    // A revocation empties the cache, and is checked anyway.
    state.install_revocations(RevocationList::parse(r#"{"jti": ["t-1"]}"#).unwrap());
    assert_eq!(state.cached_tokens(), 0);
    assert_eq!(
        steps_with(&p, &state, "GET", READ, &token, NOW).0,
        Reason::Revoked
    );
}

#[test]
fn the_cache_is_bounded_and_can_be_off() {
    let mut value = example_policy_json();
    value["limits"] = json!({"token_cache_entries": 3});
    let p = policy(&value);
    let state = RuntimeState::new(&p);
    for i in 0..10 {
        let mut claims = good_claims();
        claims["jti"] = json!(format!("t-{i}"));
        assert_eq!(
            steps_with(&p, &state, "GET", READ, &es256(&claims), NOW).0,
            Reason::Allowed
        );
    }
    assert_eq!(state.cached_tokens(), 3);
    value["limits"] = json!({"token_cache_entries": 0});
    let p = policy(&value);
    let state = RuntimeState::new(&p);
    let token = es256(&good_claims());
    steps_with(&p, &state, "GET", READ, &token, NOW);
    let (_, sig) = steps_with(&p, &state, "GET", READ, &token, NOW);
    assert!(!sig.contains("cache"));
    assert_eq!(state.cached_tokens(), 0);
}
