//! What a platform engineer sees in a real Envoy when a request is refused for a reason they
//! can fix (issue 19): the filter's debug line carries a `hint` (never a claim value), and a
//! token of a provider the route does not accept is recorded with that provider.

use serde_json::{json, Value};
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{jwks, key, Alg};
use workload_authz_integration::{now, Envoy, Request};

const ISS: &str = "https://issuer.prod.example";
const PARTNER: &str = "https://partner.example";

fn policy() -> Value {
    json!({
        "realm": "inventory",
        "providers": {
            "mesh": { "issuer": ISS, "audiences": ["inventory"],
                      "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) } },
            "partner": { "issuer": PARTNER, "audiences": ["inventory"],
                         "local_jwks": { "inline_string": jwks(&[key(Alg::EdDSA)]) } }
        },
        "routes": [
            { "action": "items.read", "match": { "path": "/items/{id}" },
              "require": { "providers": ["mesh"], "claims": { "team": "stock" } } }
        ]
    })
}

fn claims(iss: &str) -> Value {
    let t = now();
    json!({"iss": iss, "aud": "inventory", "sub": "spiffe://prod.example/ns/shop/sa/stock",
           "iat": t, "exp": t + 300, "team": "secret-team-value"})
}

/// The filter's debug line of the `n`-th decision whose reason is `reason`, waiting for it.
fn debug_line(envoy: &Envoy, reason: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = envoy.log_tail(400);
        let found = log.lines().find(|l| {
            l.contains("workload-authz: decision=") && l.contains(&format!("reason={reason}"))
        });
        if let Some(line) = found {
            return line.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no debug line for {reason}:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn refusals_carry_a_hint_in_the_debug_log_and_never_a_claim_value() {
    let envoy = start_envoy(&policy().to_string());
    let rotated = key(Alg::ES256).with_kid(Some("rotated-2027"));
    let unknown_kid = rotated.sign(&claims(ISS));
    let r = envoy
        .send(&Request::get("/items/1").bearer(&unknown_kid))
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.reason().as_deref(), Some("unknown_key"));
    let line = debug_line(&envoy, "unknown_key");
    let kid = key(Alg::ES256).kid.clone();
    assert!(
        line.contains("hint=no ES256 key with kid `rotated-2027`"),
        "{line}"
    );
    assert!(line.contains(&format!("(kids: {kid})")), "{line}");

    let token = key(Alg::ES256).sign(&claims(ISS));
    let r = envoy
        .send(&Request::get("/items/2").header("authorization", &token))
        .unwrap();
    assert_eq!(r.status, 401);
    let line = debug_line(&envoy, "missing_token");
    assert!(
        line.contains("hint=`authorization` is present but its value does not start with `Bearer`"),
        "{line}"
    );
    assert!(!line.contains(&token));

    let partner = key(Alg::EdDSA).sign(&claims(PARTNER));
    let r = envoy
        .send(&Request::get("/items/3").bearer(&partner))
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.reason().as_deref(), Some("bad_issuer"));
    let line = debug_line(&envoy, "bad_issuer");
    assert!(line.contains("provider=partner"), "{line}");
    assert!(
        line.contains("hint=the token's issuer is provider `partner`"),
        "{line}"
    );
    assert!(!line.contains(PARTNER), "{line}");

    let wrong_team = key(Alg::ES256).sign(&claims(ISS));
    let r = envoy
        .send(&Request::get("/items/4").bearer(&wrong_team))
        .unwrap();
    assert_eq!(r.status, 403);
    let line = debug_line(&envoy, "claim_mismatch");
    assert!(!line.contains("secret-team-value"), "{line}");
    let log = envoy.log_tail(400);
    assert!(
        !log.contains("secret-team-value"),
        "a claim value reached the log"
    );
    let entries = envoy.wait_access_log(4);
    let misrouted = entries
        .iter()
        .find(|e| e["path"] == "/items/3")
        .expect("access log line of /items/3");
    assert_eq!(misrouted["authz"]["provider"], "partner");
}

/// The matchers users bring from Envoy and Istio, and explicit deny rules, in a real Envoy.
#[test]
fn header_matchers_exclusions_and_deny_rules() {
    let policy = json!({
        "realm": "inventory",
        "providers": {
            "mesh": { "issuer": ISS, "audiences": ["inventory"],
                      "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) } }
        },
        "deny": [
            { "name": "no-legacy", "match": { "path": "/legacy/**" } },
            { "name": "no-batch-writes", "match": { "path": "/items", "methods": ["POST"] },
              "when": { "subjects": ["spiffe://prod.example/ns/batch/sa/*"] } }
        ],
        "routes": [
            { "action": "items.canary", "match": { "path": "/items/{id}",
                "headers": [{ "name": "x-env", "exact": "canary" }] },
              "require": { "scopes": ["canary"] } },
            { "action": "items.read", "match": { "path": "/items/{id}", "not_methods": ["DELETE"] },
              "public": true },
            { "action": "items.write", "match": { "path": "/items", "methods": ["POST"] } },
            { "action": "docs", "match": { "path": "/docs/**", "not_paths": ["/docs/internal/**"] },
              "public": true }
        ]
    });
    let envoy = start_envoy(&policy.to_string());
    let status = |req: Request| {
        let r = envoy.send(&req).unwrap();
        (r.status, r.reason())
    };
    assert_eq!(status(Request::get("/items/1")).0, 200);
    // The canary route needs a scope: the header picks it.
    assert_eq!(
        status(Request::get("/items/1").header("x-env", "canary")),
        (401, Some("missing_token".into()))
    );
    assert_eq!(
        status(Request::get("/items/1").header("x-env", "prod")).0,
        200
    );
    assert_eq!(
        status(
            Request::get("/items/1")
                .header("x-env", "canary")
                .header("x-env", "prod")
        ),
        (400, Some("ambiguous_header".into()))
    );
    assert_eq!(
        status(Request::new("DELETE", "/items/1")).1.as_deref(),
        Some("no_route")
    );
    assert_eq!(status(Request::get("/docs/guide")).0, 200);
    assert_eq!(
        status(Request::get("/docs/internal/x")).1.as_deref(),
        Some("no_route")
    );
    assert_eq!(
        status(Request::get("/legacy/anything")),
        (403, Some("denied_by_rule".into()))
    );
    let t = now();
    let sign = |sub: &str| {
        key(Alg::ES256).sign(&json!({"iss": ISS, "aud": "inventory", "sub": sub,
                                     "iat": t, "exp": t + 300}))
    };
    let batch = sign("spiffe://prod.example/ns/batch/sa/nightly");
    let web = sign("spiffe://prod.example/ns/shop/sa/web");
    assert_eq!(
        status(Request::post("/items").bearer(&batch)),
        (403, Some("denied_by_rule".into()))
    );
    assert_eq!(status(Request::post("/items").bearer(&web)).0, 200);
    let entries = envoy.wait_access_log(11);
    let denied: Vec<&Value> = entries
        .iter()
        .filter(|e| e["authz"]["reason"] == "denied_by_rule")
        .collect();
    assert_eq!(denied.len(), 2, "{entries:#?}");
    assert_eq!(denied[0]["authz"]["deny_rule"], "no-legacy");
    assert_eq!(denied[1]["authz"]["deny_rule"], "no-batch-writes");
    assert_eq!(
        denied[1]["authz"]["subject"],
        "spiffe://prod.example/ns/batch/sa/nightly"
    );
}
