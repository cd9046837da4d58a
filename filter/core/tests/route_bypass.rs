//! Route bypasses, natively: one canonical view of path, host and the headers a decision reads,
//! or a refusal. The same cases run in Envoy in `integration/tests/attacks.rs::route_bypasses`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use workload_authz_core::{
    decide, explain, render_denial, Decision, GuestVerifier, Policy, Reason, RequestView,
    RuntimeState,
};

/// Privileged routes first, a lax catch-all last: any trick that misses a privileged route
/// lands on `rest`, which the reader token passes.
fn bypass_policy() -> Policy {
    let mut value = example_policy_json();
    value["routes"] = json!([
        { "action": "admin", "match": { "path": "/admin/**" }, "require": { "scopes": ["admin"] } },
        { "action": "console", "match": { "path": "/console" }, "require": { "scopes": ["admin"] } },
        { "action": "admin-host", "match": { "path": "/**", "hosts": ["admin.example.com"] },
          "require": { "scopes": ["admin"] } },
        { "action": "internal", "match": { "path": "/**", "hosts": ["*.internal.example.com"] },
          "require": { "scopes": ["admin"] } },
        { "action": "tenant", "match": { "path": "/tenants/{tenant}/**" },
          "require": { "scopes": ["orders:read"], "claims": { "tenant": "{header.x-tenant}" } } },
        { "action": "web", "match": { "path": "/web/**" },
          "require": { "scopes": ["orders:read"], "subjects": ["spiffe://prod.example/ns/*/sa/web"] } },
        { "action": "rest", "match": { "path": "/**" }, "require": { "scopes": ["orders:read"] } }
    ]);
    policy(&value)
}

fn token(patch: Value) -> String {
    es256(&overlay(good_claims(), &patch))
}

fn reader() -> String {
    token(json!({ "scope": "orders:read", "tenant": "acme" }))
}

fn admin() -> String {
    token(json!({ "scope": "admin orders:read" }))
}

/// Judges `GET path` at `authority` with the bearer token and extra headers; decide and explain
/// must agree.
fn judge_request(path: &str, authority: &str, token: &str, extra: &[(&str, &str)]) -> Decision {
    let p = bypass_policy();
    let mut headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
    headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let request = RequestView {
        method: "GET",
        path,
        authority,
        headers: &headers,
    };
    let state = RuntimeState::new(&p);
    let decision = decide(&p, &state, &request, NOW, &GuestVerifier);
    let (explained, _) = explain(&p, &state, &request, NOW, &GuestVerifier);
    assert_eq!(decision, explained, "decide and explain disagree on {path}");
    decision
}

fn at(path: &str, token: &str) -> Decision {
    judge_request(path, "orders.example", token, &[])
}

fn action(d: &Decision) -> Option<&str> {
    d.action.as_deref()
}

#[test]
fn escapes_of_unreserved_characters_never_reach_a_route() {
    assert_eq!(
        at("/admin/users", &reader()).reason,
        Reason::InsufficientScope
    );
    for path in [
        "/%61dmin/users",
        "/%41dmin/users",
        "/ad%6Din/users",
        "/ad%6din/users",
        "/console%7E",
        "/%63onsole",
    ] {
        for token in [reader(), admin()] {
            let d = at(path, &token);
            assert_eq!(d.reason, Reason::InvalidPath, "{path}");
            assert_eq!(d.route, None, "{path}");
        }
    }
    // An escape of a reserved or non-ASCII character is no trick, whatever the hex case.
    let d = at("/orders/caf%c3%a9", &reader());
    assert_eq!((d.reason, action(&d)), (Reason::Allowed, Some("rest")));
}

#[test]
fn a_trailing_slash_that_changes_the_route_is_refused() {
    for token in [reader(), admin()] {
        let d = at("/console/", &token);
        assert_eq!(d.reason, Reason::InvalidPath);
    }
    assert_eq!(at("/console", &admin()).reason, Reason::Allowed);
    // Both forms reach the same route: no conflict.
    let d = at("/orders/", &reader());
    assert_eq!((d.reason, action(&d)), (Reason::Allowed, Some("rest")));
    let d = at("/admin/", &admin());
    assert_eq!((d.reason, action(&d)), (Reason::Allowed, Some("admin")));
    let d = at("/", &reader());
    assert_eq!((d.reason, action(&d)), (Reason::Allowed, Some("rest")));
}

#[test]
fn hosts_are_matched_in_canonical_form() {
    for authority in [
        "admin.example.com",
        "admin.example.com.",
        "admin.example.com.:443",
        "ADMIN.Example.COM",
        "admin.example.com:8443",
    ] {
        let d = judge_request("/x", authority, &reader(), &[]);
        assert_eq!(
            (d.reason, action(&d)),
            (Reason::InsufficientScope, Some("admin-host")),
            "{authority}"
        );
    }
    for authority in ["a.internal.example.com.", "A.INTERNAL.example.com.:80"] {
        let d = judge_request("/x", authority, &reader(), &[]);
        assert_eq!(action(&d), Some("internal"), "{authority}");
    }
    let d = judge_request("/x", "other.example.com", &reader(), &[]);
    assert_eq!((d.reason, action(&d)), (Reason::Allowed, Some("rest")));
}

#[test]
fn malformed_authorities_are_invalid_requests() {
    for authority in [
        "admin.example.com:443:1",
        "x@admin.example.com",
        "admin.example.com..",
        "admin..example.com",
        "admin.example.com:99999",
        "admin.example.com:abc",
        "[::1",
    ] {
        let d = judge_request("/x", authority, &admin(), &[]);
        assert_eq!(d.reason, Reason::InvalidAuthority, "{authority}");
        let answer = render_denial(&d, "orders-api").unwrap();
        assert_eq!(answer.status, 400, "{authority}");
        assert!(answer.body.contains("\"error\":\"invalid_request\""));
        assert!(
            !answer.body.contains(authority),
            "the answer echoes the authority"
        );
    }
}

#[test]
fn a_header_the_decision_reads_must_occur_once() {
    let path = "/tenants/acme/orders";
    let one = judge_request(path, "orders.example", &reader(), &[("x-tenant", "acme")]);
    assert_eq!(one.reason, Reason::Allowed);
    for copies in [
        [("x-tenant", "acme"), ("x-tenant", "globex")],
        [("x-tenant", "globex"), ("x-tenant", "acme")],
        [("x-tenant", "acme"), ("X-Tenant", "acme")],
    ] {
        let d = judge_request(path, "orders.example", &reader(), &copies);
        assert_eq!(d.reason, Reason::AmbiguousHeader, "{copies:?}");
        assert_eq!(action(&d), Some("tenant"));
        assert_eq!(render_denial(&d, "r").unwrap().status, 400);
    }
    let joined = judge_request(
        path,
        "orders.example",
        &reader(),
        &[("x-tenant", "acme,globex")],
    );
    assert_eq!(joined.reason, Reason::ClaimMismatch);
    let none = judge_request(path, "orders.example", &reader(), &[]);
    assert_eq!(none.reason, Reason::ClaimMismatch);
    // A repeated header no requirement reads is no concern of the decision.
    let other = [("x-other", "1"), ("x-other", "2")];
    assert_eq!(
        judge_request("/orders/1", "orders.example", &reader(), &other).reason,
        Reason::Allowed
    );
}

#[test]
fn scopes_split_on_the_space_only() {
    for scope in [
        "orders:read\tadmin",
        "admin\norders:read",
        "orders:read\radmin",
        "orders:read\u{c}admin",
    ] {
        let d = at("/admin/x", &token(json!({ "scope": scope })));
        assert_eq!(d.reason, Reason::MalformedToken, "{scope:?}");
        let d = at("/orders/1", &token(json!({ "scp": [scope] })));
        assert_eq!(d.reason, Reason::MalformedToken, "scp [{scope:?}]");
    }
    let d = at("/admin/x", &token(json!({ "scope": "orders:read  admin" })));
    assert_eq!(d.reason, Reason::Allowed);
    assert_eq!(d.scopes_granted, vec!["orders:read", "admin"]);
}

#[test]
fn spiffe_subjects_follow_the_spiffe_rules_on_any_provider() {
    let web = |sub: &str| {
        at(
            "/web/x",
            &token(json!({ "sub": sub, "scope": "orders:read" })),
        )
    };
    assert_eq!(
        web("spiffe://prod.example/ns/shop/sa/web").reason,
        Reason::Allowed
    );
    for sub in [
        "spiffe://prod.example/ns/../sa/web",
        "spiffe://prod.example/ns/a\u{0}b/sa/web",
        "spiffe://prod.example/ns/./sa/web",
    ] {
        assert_eq!(web(sub).reason, Reason::SubjectNotAllowed, "{sub:?}");
    }
}
