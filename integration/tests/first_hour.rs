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
