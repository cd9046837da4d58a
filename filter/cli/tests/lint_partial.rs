//! `lint` on a policy that does not compile: every error is a WA000 finding, and the other rules
//! still run on the parts that compile, with their findings at the original paths.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};

/// One broken route (routes[1]), one provider with a broken key set (`legacy`), and findings
/// after them: routes[3] is unreachable behind routes[2] (WA006), routes[4] writes with
/// `legacy` tokens of unlimited lifetime (WA001).
fn broken_policy(jwks: &str) -> Value {
    json!({
        "providers": {
            "mesh": {"issuer": ISS, "audiences": ["orders"], "local_jwks": {"inline_string": jwks},
                     "max_lifetime_seconds": 300},
            "legacy": {"issuer": "https://legacy.example", "audiences": ["orders"],
                       "local_jwks": {"inline_string": "{\"keys\": 1}"}}
        },
        "routes": [
            {"action": "health", "match": {"path": "/healthz", "methods": ["GET"]}, "public": true},
            {"action": "orders.write", "match": {"path": "/tenants/{tenant}/orders", "methods": ["POST"]},
             "require": {"providers": ["mesh"], "scopes": ["orders:write:{tennant}"]}},
            {"action": "orders.read", "match": {"path": "/tenants/{tenant}/orders/{id}", "methods": ["GET"]},
             "require": {"providers": ["mesh"], "scopes": ["orders:read"]}},
            {"action": "orders.read.acme", "match": {"path": "/tenants/acme/orders/{id}", "methods": ["GET"]},
             "require": {"providers": ["mesh"], "scopes": ["orders:read"]}},
            {"action": "legacy.write", "match": {"path": "/legacy", "methods": ["POST"]},
             "require": {"providers": ["legacy"], "scopes": ["legacy:write"]}}
        ]
    })
}

/// `code path` of every finding, in report order.
fn found(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_broken_route_is_wa000_and_the_other_routes_are_still_linted() {
    let d = dir("lint_partial");
    let (_, jwks) = key(&d);
    let text = serde_json::to_string_pretty(&broken_policy(&jwks)).unwrap();
    let file = write(&d, "broken.json", &text);
    let r = run(&["lint", &file, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v = r.json();
    assert_eq!(
        found(&v),
        vec![
            "WA000 providers.legacy.local_jwks.inline_string",
            "WA000 routes[1].require.scopes[0]",
            "WA001 routes[4]",
            "WA006 routes[3]",
            "WA004 providers.legacy",
        ],
        "{v:#}"
    );
    let findings = v["findings"].as_array().unwrap();
    let unreachable = &findings[3];
    assert!(
        unreachable["message"]
            .as_str()
            .unwrap()
            .contains("`orders.read.acme` (routes[3])")
            && unreachable["message"]
                .as_str()
                .unwrap()
                .contains("routes[2]"),
        "the message names the original indexes: {unreachable:#}"
    );
    assert!(findings[2]["message"]
        .as_str()
        .unwrap()
        .contains("`legacy`"));
    // Lines are those of the original file.
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(
        unreachable["line"].as_u64().unwrap() as usize,
        line_of("\"orders.read.acme\"") - 1,
        "routes[3] starts on the line before its action"
    );
    assert_eq!(v["skipped"], json!(["routes[1]"]));

    let t = run(&["lint", &file]);
    assert_eq!(t.code, 1);
    assert!(
        t.stdout
            .contains("note: the other rules ran without the parts that do not compile: routes[1]"),
        "{}",
        t.stdout
    );
    assert!(
        t.stdout.contains("error[WA006] unreachable-route"),
        "{}",
        t.stdout
    );
}

#[test]
fn a_compiling_policy_skips_nothing_and_a_broken_routes_list_lints_nothing_else() {
    let d = dir("lint_partial_edges");
    let (_, jwks) = key(&d);
    let clean = write(&d, "clean.json", &orders_policy(&jwks).to_string());
    let v = run(&["lint", &clean, "--format", "json"]).json();
    assert_eq!(v["skipped"], json!([]));
    let bad = write(&d, "bad.json", r#"{"providers": {}, "routes": {}}"#);
    let r = run(&["lint", &bad, "--format", "json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["skipped"], Value::Null);
    assert_eq!(found(&v), vec!["WA000 routes"]);
    let t = run(&["lint", &bad]);
    assert!(t.stdout.contains("note: no other rule ran"), "{}", t.stdout);
}
