//! `workload-authz review` on a real Envoy's access log: mixed traffic through the filter
//! (several workloads, an unused scope, a shadow route, delegated agent calls, a long-lived
//! token, forged tokens, a route nobody calls), then the review of the log Envoy wrote, at the
//! default record level and at the `keys` level, with every finding asserted.

use serde_json::{json, Value};
use std::process::Command;
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{jwks, key, Alg};
use workload_authz_integration::{cli_bin, now, Envoy, Request};

const ISS: &str = "https://issuer.prod.example";
const CHECKOUT: &str = "spiffe://prod.example/ns/shop/sa/checkout";
const BILLING: &str = "spiffe://prod.example/ns/shop/sa/billing";
const AGENT: &str = "spiffe://prod.example/ns/agents/sa/planner";
const ALICE: &str = "user:alice";

fn policy(record: &str) -> Value {
    json!({
        "mode": "enforce",
        "decision_record": record,
        "realm": "orders-api",
        "providers": {
            "mesh": {
                "issuer": ISS,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) }
            }
        },
        "routes": [
            { "action": "health", "match": { "path": "/healthz" }, "public": true },
            { "action": "orders.read", "match": { "path": "/orders/{id}", "methods": ["GET"] },
              "require": { "scopes": ["orders:read"] } },
            { "action": "orders.write", "mode": "shadow",
              "match": { "path": "/orders", "methods": ["POST"] },
              "require": { "scopes": ["orders:write"] } },
            { "action": "plans.read", "match": { "path": "/plans/{id}", "methods": ["GET"] },
              "require": { "scopes": ["plans:read"], "max_delegation_depth": 3 } },
            { "action": "admin.purge", "match": { "path": "/admin/purge", "methods": ["POST"] },
              "require": { "scopes": ["admin"] } }
        ]
    })
}

fn token(sub: &str, scope: &str, ttl: i64, actor: Option<&str>) -> String {
    let t = now();
    let mut claims = json!({"iss": ISS, "aud": "orders", "sub": sub, "iat": t, "exp": t + ttl,
                            "scope": scope});
    if let Some(actor) = actor {
        claims["act"] = json!({"sub": actor});
    }
    key(Alg::ES256).sign(&claims)
}

/// Sends the mixed traffic; returns how many requests were sent.
fn drive(envoy: &Envoy) -> usize {
    let checkout = token(CHECKOUT, "orders:read orders:write:acme", 300, None);
    let billing = token(BILLING, "orders:read", 7200, None);
    let delegated = token(ALICE, "plans:read", 300, Some(AGENT));
    // Admin claims under the signature of another token of the same key: bad_signature.
    let admin = token(CHECKOUT, "admin", 300, None);
    let signed_part = |t: &str| {
        t.rsplit_once('.')
            .map(|(head, _)| head.to_string())
            .unwrap()
    };
    let signature = |t: &str| t.rsplit_once('.').map(|(_, sig)| sig.to_string()).unwrap();
    let forged = format!("{}.{}", signed_part(&admin), signature(&checkout));
    let mut sent = Vec::new();
    for i in 0..8 {
        sent.push((Request::get(&format!("/orders/{i}")).bearer(&checkout), 200));
    }
    for _ in 0..5 {
        // The shadow route: billing lacks orders:write, the request still goes on.
        sent.push((Request::post("/orders").bearer(&billing), 200));
    }
    sent.push((Request::get("/orders/1").bearer(&billing), 200));
    for i in 0..3 {
        sent.push((Request::get(&format!("/plans/{i}")).bearer(&delegated), 200));
    }
    for _ in 0..2 {
        sent.push((Request::get("/orders/1").bearer(&forged), 401));
    }
    sent.push((Request::get("/healthz"), 200));
    for (request, status) in &sent {
        let response = envoy.send(request).expect("request");
        assert_eq!(
            response.status, *status,
            "{} {}",
            request.method, request.path
        );
    }
    sent.len()
}

fn review(envoy: &Envoy, record: &str, extra: &[&str]) -> Value {
    let dir = envoy.dir();
    let policy_path = dir.join("review-policy.json");
    std::fs::write(
        &policy_path,
        serde_json::to_string_pretty(&policy(record)).unwrap(),
    )
    .unwrap();
    let log = dir.join("access.log");
    let out = Command::new(cli_bin())
        .arg("review")
        .arg(&log)
        .arg("--policy")
        .arg(&policy_path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("run workload-authz review");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("review prints JSON")
}

fn finding<'a>(report: &'a Value, code: &str, key: &str, value: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f[key] == value)
        .unwrap_or_else(|| panic!("no {code} with {key}={value}: {:#}", report["findings"]))
}

fn assert_findings(report: &Value, sent: usize) {
    assert_eq!(
        report["inputs"]["records"], sent as u64,
        "{:#}",
        report["inputs"]
    );
    assert_eq!(report["inputs"]["unreadable"], 0);
    let decisions = &report["summary"]["decisions"];
    assert_eq!(decisions["allow"], 12);
    assert_eq!(decisions["shadow_deny"], 5);
    assert_eq!(decisions["deny"], 2);
    assert_eq!(decisions["public"], 1);

    let unused = finding(report, "RV001", "workload", CHECKOUT);
    assert_eq!(
        unused["evidence"]["scopes_unused"],
        json!(["orders:write:acme"])
    );
    assert_eq!(unused["evidence"]["count"], 8);
    let never = finding(report, "RV002", "action", "admin.purge");
    assert_eq!(never["route_index"], 4);
    let long = finding(report, "RV005", "workload", BILLING);
    assert!(long["evidence"]["max_token_ttl_seconds"].as_u64().unwrap() > 7000);
    let depth = finding(report, "RV006", "action", "plans.read");
    assert_eq!(depth["evidence"]["depth_seen"], 1);
    assert_eq!(depth["evidence"]["depth_allowed"], 3);
    let actors = finding(report, "RV007", "action", "plans.read");
    assert_eq!(actors["evidence"]["actors"], json!([AGENT]));
    let single = finding(report, "RV004", "action", "plans.read");
    assert_eq!(single["workload"], ALICE);
    assert_eq!(single["actor_chains"], json!([[AGENT]]));
    let shadow = finding(report, "RV008", "action", "orders.write");
    assert_eq!(shadow["route_index"], 2);
    assert_eq!(shadow["evidence"]["count"], 5);
    assert_eq!(
        shadow["evidence"]["workloads"],
        json!([{"workload": BILLING, "reasons": [{"reason": "insufficient_scope", "count": 5}]}])
    );
    assert!(shadow["message"]
        .as_str()
        .unwrap()
        .starts_with("enforcing routes[2] (orders.write) breaks 1 workload(s)"));
    let incident = finding(report, "RV010", "workload", "(unverified token of mesh)");
    assert_eq!(incident["evidence"]["reason"], "bad_signature");
    assert_eq!(incident["evidence"]["count"], 2);
    assert_eq!(report["findings"][0]["severity"], "error");
    // Every record names the policy that made it: the one reviewed against.
    let policies = report["policies_seen"].as_object().unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies.keys().next().map(String::as_str),
        report["policy"]["hash"].as_str()
    );
}

fn run_level(record: &str) {
    let envoy = start_envoy(&policy(record).to_string());
    let sent = drive(&envoy);
    let entries = envoy.wait_access_log(sent);
    assert_eq!(entries.len(), sent, "access log: {}", envoy.log_tail(20));
    let report = review(&envoy, record, &[]);
    assert_findings(&report, sent);
    // --workload narrows the review to one caller.
    let billing = review(&envoy, record, &["--workload", BILLING]);
    assert_eq!(billing["inputs"]["records"], 6);
    assert!(billing["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["workload"] == BILLING || f["workload"].is_null()));
}

#[test]
fn review_of_the_default_record_finds_each_case() {
    run_level("struct");
}

#[test]
fn review_of_the_keys_level_finds_the_same() {
    run_level("keys");
}
