//! `explain` runs the very same checks as `decide` and reports each one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::json;
use workload_authz_core::{decide, explain, GuestVerifier, Reason, RequestView, RuntimeState};

fn run(
    path: &str,
    method: &str,
    token: Option<&str>,
) -> (
    workload_authz_core::Decision,
    Vec<workload_authz_core::Step>,
    workload_authz_core::Decision,
) {
    let p = policy(&example_policy_json());
    let state = RuntimeState::new(&p);
    let headers: Vec<(String, String)> = token
        .map(|t| vec![("authorization".to_string(), format!("Bearer {t}"))])
        .unwrap_or_default();
    let request = RequestView {
        method,
        path,
        authority: "orders.example",
        headers: &headers,
    };
    let (explained, steps) = explain(&p, &state, &request, NOW, &GuestVerifier);
    let decided = decide(&p, &state, &request, NOW, &GuestVerifier);
    (explained, steps, decided)
}

#[test]
fn every_check_is_reported_in_order() {
    let token = es256(&good_claims());
    let (decision, steps, decided) = run("/tenants/acme/orders/7", "GET", Some(&token));
    assert_eq!(decision, decided);
    assert_eq!(decision.reason, Reason::Allowed);
    let checks: Vec<&str> = steps.iter().map(|s| s.check).collect();
    assert_eq!(
        checks,
        vec![
            "path",
            "route",
            "route",
            "token",
            "format",
            "algorithm",
            "issuer",
            "algorithm",
            "signature",
            "time",
            "audience",
            "revocation",
            "subjects",
            "actors",
            "claims",
            "scopes"
        ]
    );
    assert!(steps.iter().all(|s| s.failed.is_none()));
    assert!(
        steps[1]
            .detail
            .contains("routes[0] `health` skipped: path does not match"),
        "{}",
        steps[1].detail
    );
    assert!(
        steps[2].detail.contains("tenant=acme id=7"),
        "{}",
        steps[2].detail
    );
    assert!(
        steps.iter().all(|s| !s.detail.contains(&token)),
        "never the token"
    );
}

#[test]
fn the_failing_check_ends_the_trace_with_its_reason() {
    let token = es256(
        &json!({"iss": "https://issuer.prod.example", "aud": "orders", "sub": "spiffe://prod.example/ns/shop/sa/checkout",
        "iat": NOW - 60, "exp": NOW + 240, "scope": "orders:read", "tenant": "globex"}),
    );
    for (path, method, token, reason, check) in [
        (
            "/tenants/acme/orders/7",
            "GET",
            Some(token.as_str()),
            Reason::ClaimMismatch,
            "claims",
        ),
        (
            "/tenants/acme/orders/7",
            "GET",
            None,
            Reason::MissingToken,
            "token",
        ),
        (
            "/tenants/acme/orders/7",
            "DELETE",
            None,
            Reason::NoRoute,
            "route",
        ),
        ("/a/../b", "GET", None, Reason::InvalidPath, "path"),
        (
            "/tenants/acme/orders/7",
            "GET",
            Some("x.y.z"),
            Reason::MalformedToken,
            "format",
        ),
    ] {
        let (decision, steps, decided) = run(path, method, token);
        assert_eq!(decision, decided, "{path}");
        assert_eq!(decision.reason, reason, "{path}");
        let last = steps.last().unwrap();
        assert_eq!(
            (last.check, last.failed),
            (check, Some(reason)),
            "{path}: {steps:#?}"
        );
    }
    let (_, steps, _) = run("/healthz", "GET", None);
    assert_eq!(steps.last().unwrap().check, "public");
}
