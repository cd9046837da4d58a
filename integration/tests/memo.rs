//! Memoised decisions in a real Envoy: requests that repeat within a second are served the same
//! decision and record, and whatever the key holds still decides (a header a route reads, a
//! second copy of it, the token), with the memo on (the default) and off
//! (`limits.decision_memo_entries: 0`): both must give the same answers.

use serde_json::{json, Value};
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{jwks, key, merge, Alg};
use workload_authz_integration::{now, Envoy, Request, Response};

const ISS: &str = "https://issuer.prod.example";
const SUB: &str = "spiffe://prod.example/ns/shop/sa/web";

fn policy(memo_entries: Option<u64>) -> String {
    let mut policy = json!({
        "realm": "memo",
        "identity_headers": true,
        "providers": {
            "mesh": {
                "issuer": ISS,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) }
            }
        },
        "routes": [
            { "action": "tenant.read", "match": { "path": "/tenant/{t}", "methods": ["GET"] },
              "require": { "claims": { "tenant": "{header.x-tenant}" } } },
            { "action": "orders.read", "match": { "path": "/orders/{id}", "methods": ["GET"] },
              "require": { "scopes": ["orders:read"] } }
        ]
    });
    if let Some(entries) = memo_entries {
        policy["limits"] = json!({ "decision_memo_entries": entries });
    }
    policy.to_string()
}

fn token(extra: Value) -> String {
    let t = now();
    let claims = json!({
        "iss": ISS, "aud": "orders", "sub": SUB, "iat": t, "exp": t + 600,
        "scope": "orders:read", "tenant": "acme"
    });
    key(Alg::ES256).sign(&merge(&claims, &extra))
}

fn send(envoy: &Envoy, req: Request) -> Response {
    envoy.send(&req).expect("request failed")
}

/// The header the echo upstream received.
fn upstream_header(resp: &Response, name: &str) -> Option<String> {
    let body = resp.json().unwrap_or(Value::Null);
    body["headers"].as_array().and_then(|list| {
        list.iter()
            .find(|pair| pair[0] == name)
            .and_then(|pair| pair[1].as_str().map(str::to_string))
    })
}

/// The decision record of every request so far, in order, without the one member that moves
/// with the clock.
fn records(envoy: &Envoy, expected: usize) -> Vec<Value> {
    let entries = envoy.wait_access_log(expected);
    assert_eq!(entries.len(), expected, "access log: {entries:#?}");
    entries
        .iter()
        .map(|entry| {
            let mut record = entry["authz"].clone();
            if let Some(map) = record.as_object_mut() {
                map.remove("token_ttl_remaining");
            }
            record
        })
        .collect()
}

/// The statuses and reasons of the same requests, in one Envoy.
fn run(memo_entries: Option<u64>) -> Vec<(u16, String)> {
    let envoy = start_envoy(&policy(memo_entries));
    let good = token(json!({}));
    let unscoped = token(json!({ "scope": "orders:write" }));
    let tenant = |value: &str, id: &str| {
        Request::get("/tenant/x")
            .bearer(&good)
            .header("x-tenant", value)
            .header("x-request-id", id)
    };
    let requests = vec![
        tenant("acme", "1"),
        tenant("globex", "2"),
        tenant("acme", "3"),
        tenant("acme", "4").header("x-tenant", "acme"),
        Request::get("/orders/1")
            .bearer(&good)
            .header("x-workload-subject", "spiffe://evil"),
        Request::get("/orders/1")
            .bearer(&good)
            .header("x-workload-subject", "spiffe://evil"),
        Request::get("/orders/1").bearer(&unscoped),
        Request::get("/orders/1").bearer(&format!("{good}x")),
        Request::get("/orders/1").bearer(&good),
    ];
    let mut answers = Vec::new();
    for request in requests {
        let resp = send(&envoy, request);
        if resp.status == 200
            && upstream_header(&resp, "x-workload-action").as_deref() == Some("orders.read")
        {
            // Identity headers are ours on a served decision too, the spoofed copy stripped.
            assert_eq!(
                upstream_header(&resp, "x-workload-subject").as_deref(),
                Some(SUB)
            );
        }
        answers.push(resp.status);
    }
    let records = records(&envoy, answers.len());
    // The same request again (another x-request-id, which no route reads): the same record.
    assert_eq!(records[0], records[2], "memo entries {memo_entries:?}");
    assert_eq!(records[4], records[5]);
    answers
        .into_iter()
        .zip(&records)
        .map(|(status, record)| (status, record["reason"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn repeated_requests_get_the_same_decision_and_what_the_key_holds_still_decides() {
    let expected: Vec<(u16, String)> = [
        (200, "allowed"),
        (403, "claim_mismatch"),
        (200, "allowed"),
        (400, "ambiguous_header"),
        (200, "allowed"),
        (200, "allowed"),
        (403, "insufficient_scope"),
        (401, "malformed_token"),
        (200, "allowed"),
    ]
    .iter()
    .map(|(s, r)| (*s, r.to_string()))
    .collect();
    assert_eq!(run(None), expected, "memo on (default)");
    assert_eq!(run(Some(0)), expected, "memo off");
}
