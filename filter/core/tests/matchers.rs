//! The `match` vocabulary Envoy and Istio users bring (issue 19): header conditions (exact,
//! prefix, present, absent), `not_methods`, `not_paths`; and explicit `deny` rules judged
//! before the routes, with and without `when`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use workload_authz_core::telemetry::record;
use workload_authz_core::{compile, Outcome, Reason};

fn with_routes(routes: Value) -> Value {
    let mut value = example_policy_json();
    value["routes"] = routes;
    value
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn header_conditions_pick_the_route() {
    let p = policy(&with_routes(json!([
        { "action": "canary.read", "match": { "path": "/items/{id}",
            "headers": [{ "name": "X-Env", "exact": "canary" }, { "name": "x-debug", "absent": true }] },
          "require": { "scopes": ["canary:read"] } },
        { "action": "beta.read", "match": { "path": "/items/{id}",
            "headers": [{ "name": "x-env", "prefix": "beta-" }] },
          "public": true },
        { "action": "traced.read", "match": { "path": "/items/{id}",
            "headers": [{ "name": "x-trace", "present": true }] },
          "public": true },
        { "action": "items.read", "match": { "path": "/items/{id}" }, "public": true }
    ])));
    let action = |headers: &[(&str, &str)]| judge(&p, "GET", "/items/1", headers).action;
    assert_eq!(
        action(&[("x-env", "canary")]).as_deref(),
        Some("canary.read")
    );
    assert_eq!(
        action(&[("x-env", "canary"), ("x-debug", "1")]).as_deref(),
        Some("items.read"),
        "x-debug must be absent"
    );
    assert_eq!(action(&[("x-env", "beta-2")]).as_deref(), Some("beta.read"));
    assert_eq!(
        action(&[("x-env", "canaryx")]).as_deref(),
        Some("items.read")
    );
    assert_eq!(action(&[("x-trace", "")]).as_deref(), Some("traced.read"));
    assert_eq!(action(&[]).as_deref(), Some("items.read"));
    // A header a `match` reads, sent twice, could be read two ways: refused before any route.
    let twice = judge(
        &p,
        "GET",
        "/items/1",
        &[("x-env", "canary"), ("x-env", "prod")],
    );
    assert_eq!(twice.reason, Reason::AmbiguousHeader);
}

#[test]
fn not_methods_and_not_paths_exclude_requests() {
    let p = policy(&with_routes(json!([
        { "action": "docs.read", "match": { "path": "/docs/**", "not_methods": ["delete"],
            "not_paths": ["/docs/internal/**", "/docs/{v}/draft"] }, "public": true }
    ])));
    let reason = |method: &str, path: &str| judge(&p, method, path, &[]).reason;
    assert_eq!(reason("GET", "/docs/a/b"), Reason::Public);
    assert_eq!(reason("POST", "/docs/a"), Reason::Public);
    assert_eq!(reason("DELETE", "/docs/a"), Reason::NoRoute);
    assert_eq!(reason("GET", "/docs/internal/x"), Reason::NoRoute);
    assert_eq!(reason("GET", "/docs/v2/draft"), Reason::NoRoute);
    assert_eq!(reason("GET", "/docs/v2/final"), Reason::Public);
}

#[test]
fn bad_matchers_are_refused_naming_the_field() {
    let refused = |m: Value| {
        let value = with_routes(json!([{ "action": "a", "match": m, "public": true }]));
        compile(&value.to_string()).unwrap_err().to_string()
    };
    let text =
        refused(json!({ "path": "/a", "headers": [{ "name": "x", "exact": "1", "prefix": "2" }] }));
    assert!(
        text.contains("routes[0].match.headers[0]: a header condition needs exactly one of"),
        "{text}"
    );
    let text =
        refused(json!({ "path": "/a", "headers": [{ "name": "bad name", "present": true }] }));
    assert!(text.contains("routes[0].match.headers[0].name"), "{text}");
    let text = refused(json!({ "path": "/a", "headers": [{ "name": "x", "regex": ".*" }] }));
    assert!(text.contains("routes[0].match.headers[0]"), "{text}");
    let text = refused(json!({ "path": "/a", "not_paths": ["no-slash"] }));
    assert!(text.contains("routes[0].match.not_paths[0]"), "{text}");
    let text = refused(json!({ "path": "/a", "not_methods": ["G ET"] }));
    assert!(text.contains("routes[0].match.not_methods[0]"), "{text}");
}

fn deny_policy() -> Value {
    let mut value = example_policy_json();
    value["deny"] = json!([
        { "name": "no-legacy-api", "match": { "path": "/legacy/**" } },
        { "name": "no-debug-header", "match": { "path": "/tenants/**",
            "headers": [{ "name": "x-debug", "present": true }] } },
        { "name": "block-batch-jobs", "match": { "path": "/tenants/{tenant}/orders/{id}" },
          "when": { "subjects": ["spiffe://prod.example/ns/batch/sa/*"] } },
        { "name": "frozen-tenant", "match": { "path": "/tenants/{tenant}/orders/{id}" },
          "when": { "claims": { "tenant": "frozen" } } }
    ]);
    value["routes"][1]["match"]["path"] = json!("/tenants/{tenant}/orders/{id}");
    value["routes"][1]["require"]["claims"] = json!({});
    value
}

#[test]
fn deny_rules_refuse_before_the_routes_and_name_themselves() {
    let p = policy(&deny_policy());
    let good = es256(&good_claims());
    // Unconditional: even where no route exists, even without a token.
    let legacy = judge(&p, "GET", "/legacy/x", &[]);
    assert_eq!(legacy.reason, Reason::DeniedByRule);
    assert_eq!(legacy.deny_rule.as_deref(), Some("no-legacy-api"));
    assert_eq!(legacy.outcome, Outcome::Deny);
    let rec = record(&legacy, &p);
    assert_eq!(rec["deny_rule"], "no-legacy-api");
    assert_eq!(rec["reason"], "denied_by_rule");
    // An allowed request becomes denied when its header matches a rule.
    let header = bearer(&good);
    let debug = judge(
        &p,
        "GET",
        "/tenants/acme/orders/1",
        &[("authorization", &header), ("x-debug", "1")],
    );
    assert_eq!(debug.reason, Reason::DeniedByRule);
    assert_eq!(debug.deny_rule.as_deref(), Some("no-debug-header"));
    assert_eq!(debug.action.as_deref(), Some("orders.read"));
    let fine = judge(
        &p,
        "GET",
        "/tenants/acme/orders/1",
        &[("authorization", &header)],
    );
    assert_eq!(fine.reason, Reason::Allowed);
    assert_eq!(fine.deny_rule, None);
    assert!(record(&fine, &p).get("deny_rule").is_none());
}

#[test]
fn when_rules_judge_the_verified_token() {
    let p = policy(&deny_policy());
    let batch = es256(&with(
        good_claims(),
        "sub",
        json!("spiffe://prod.example/ns/batch/sa/nightly"),
    ));
    let d = judge_token(&p, "GET", "/tenants/acme/orders/1", &batch);
    assert_eq!(d.reason, Reason::DeniedByRule);
    assert_eq!(d.deny_rule.as_deref(), Some("block-batch-jobs"));
    assert_eq!(
        d.subject.as_deref(),
        Some("spiffe://prod.example/ns/batch/sa/nightly")
    );
    let frozen = es256(&with(good_claims(), "tenant", json!("frozen")));
    let d = judge_token(&p, "GET", "/tenants/acme/orders/1", &frozen);
    assert_eq!(d.deny_rule.as_deref(), Some("frozen-tenant"));
    // A forged token never reaches a `when`: it is refused as what it is.
    let forged = other_es256(&with(good_claims(), "tenant", json!("frozen")));
    let d = judge_token(&p, "GET", "/tenants/acme/orders/1", &forged);
    assert_eq!(d.reason, Reason::BadSignature);
    assert_eq!(d.deny_rule, None);
    // Shadow mode records the rule and lets the request go on.
    let mut value = deny_policy();
    value["mode"] = json!("shadow");
    let shadow = judge_token(&policy(&value), "GET", "/tenants/acme/orders/1", &batch);
    assert_eq!(shadow.outcome, Outcome::ShadowDeny);
    assert_eq!(shadow.deny_rule.as_deref(), Some("block-batch-jobs"));
}

#[test]
fn bad_deny_rules_are_refused_naming_the_field() {
    let refused = |deny: Value| {
        let mut value = example_policy_json();
        value["deny"] = deny;
        compile(&value.to_string()).unwrap_err().to_string()
    };
    let text = refused(
        json!([{ "name": "a", "match": { "path": "/a" } }, { "name": "a", "match": { "path": "/b" } }]),
    );
    assert!(
        text.contains("deny[1].name: another deny rule is already named `a`"),
        "{text}"
    );
    let text = refused(json!([{ "name": "a", "match": { "path": "/a" }, "when": {} }]));
    assert!(
        text.contains("deny[0].when: must set `subjects` or `claims`"),
        "{text}"
    );
    let text =
        refused(json!([{ "name": "a", "match": { "path": "/a" }, "when": { "scopes": ["x"] } }]));
    assert!(text.contains("deny[0].when.scopes"), "{text}");
    let text = refused(json!([{ "match": { "path": "/a" } }]));
    assert!(text.contains("deny[0].name"), "{text}");
    let text = refused(json!({ "name": "a" }));
    assert!(text.contains("deny: "), "{text}");
}
