//! Policies the filter must refuse: Envoy runs the plugin's `on_configure` in a canary VM,
//! refuses the static config and exits non-zero; its log names the offending field.

use serde_json::{json, Value};
use workload_authz_integration::tokens::{jwks, key, Alg};
use workload_authz_integration::Envoy;

/// A real 1024-bit RSA modulus (openssl genrsa 1024), e = 65537.
const RSA_1024_N: &str = "ugVUSfImATASIY8MhqsHbfFdgCLUOUAKxYoUWS-MJsHpTuXKNJ31OvrNHCO4EtupeJiu-neV_hSHYcfWnetn9kOR_ilC0SIOQhUOhJLLZ9fm7HCo3SlYL_csJOagp9Kmktvl8MIUGmvPz-sOFYrahe2cSJXCabT1DSdeH-Jp6y0";

fn policy(jwks_json: &str, write_scope: &str) -> Value {
    json!({
        "mode": "enforce",
        "realm": "orders-api",
        "providers": {
            "mesh": {
                "issuer": "https://issuer.prod.example",
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks_json },
                "algorithms": ["ES256", "RS256"]
            }
        },
        "routes": [
            { "action": "health", "match": { "path": "/healthz" }, "public": true },
            { "action": "orders.read",
              "match": { "path": "/tenants/{tenant}/orders/{id}", "methods": ["GET", "HEAD"] },
              "require": { "providers": ["mesh"], "scopes": ["orders:read"],
                           "claims": { "tenant": "{tenant}" } } },
            { "action": "orders.write", "match": { "path": "/tenants/{tenant}/orders", "methods": ["POST"] },
              "max_lifetime_seconds": 300, "require": { "scopes": [write_scope] } }
        ]
    })
}

fn good_jwks() -> String {
    jwks(&[key(Alg::ES256), key(Alg::RS256)])
}

/// Lines of Envoy's log mentioning the filter or a config error (for failure messages).
fn relevant(log: &str) -> String {
    log.lines()
        .filter(|l| {
            l.contains("workload")
                || l.contains("wasm")
                || l.contains("critical")
                || l.contains("error")
        })
        .take(30)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Control: the same policy with the correct template starts (so the refusals below are due
/// to the broken rule and not to the rest of the policy).
#[test]
fn control_policy_starts() {
    let p = policy(&good_jwks(), "orders:write:{tenant}").to_string();
    match Envoy::start(&p) {
        Ok(envoy) => {
            let resp = envoy
                .send(&workload_authz_integration::Request::get("/healthz"))
                .unwrap_or_else(|e| panic!("request failed: {e}"));
            assert_eq!(resp.status, 200, "public route: {}", resp.body_str());
        }
        Err(e) => panic!("control policy refused: {e}"),
    }
}

#[test]
fn unknown_capture_in_scope_template_is_refused() {
    let p = policy(&good_jwks(), "orders:write:{tennant}").to_string();
    let log = Envoy::start_expect_failure(&p);
    eprintln!("{}", relevant(&log));
    let mut problems = Vec::new();
    // The line carries the core's hint too (the same as `workload-authz check`).
    for needle in [
        "routes[2].require.scopes[0]",
        "unknown capture {tennant}",
        "hint: `routes[2].match.path` is `/tenants/{tenant}/orders`, which captures {tenant}",
    ] {
        if !log.contains(needle) {
            problems.push(format!("log lacks {needle:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{problems:?}\nrelevant log lines:\n{}",
        relevant(&log)
    );
}

#[test]
fn weak_rsa_key_is_refused() {
    let mut keys: Value = serde_json::from_str(&good_jwks()).unwrap_or_default();
    if let Some(list) = keys.get_mut("keys").and_then(Value::as_array_mut) {
        list.push(json!({"kty": "RSA", "kid": "weak", "use": "sig", "n": RSA_1024_N, "e": "AQAB"}));
    }
    let p = policy(&keys.to_string(), "orders:write:{tenant}").to_string();
    let log = Envoy::start_expect_failure(&p);
    eprintln!("{}", relevant(&log));
    // The line must name the field (the control policy above starts with the same keys minus
    // the weak one).
    let mut problems = Vec::new();
    for needle in ["providers.mesh.local_jwks", "2048"] {
        if !log.contains(needle) {
            problems.push(format!("log lacks {needle:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{problems:?}\nrelevant log lines:\n{}",
        relevant(&log)
    );
}

#[test]
fn invalid_json_is_refused() {
    let log = Envoy::start_expect_failure("{\"mode\": \"enforce\", \"routes\": [");
    eprintln!("{}", relevant(&log));
    assert!(
        log.contains("workload-authz:") && log.contains("JSON"),
        "refused, but the log does not mention the filter:\n{}",
        relevant(&log)
    );
}

/// `local_jwks.filename` given to Envoy directly: the sandboxed filter cannot read files, so it
/// refuses the field and says what to do (the CLI inlines such a file: tests/bootstrap.rs).
#[test]
fn a_jwks_filename_is_refused_with_what_to_do() {
    let mut p = policy(&good_jwks(), "orders:write:{tenant}");
    p["providers"]["mesh"]["local_jwks"] = json!({ "filename": "/etc/envoy/jwks.json" });
    let log = Envoy::start_expect_failure(&p.to_string());
    eprintln!("{}", relevant(&log));
    let needle = "providers.mesh.local_jwks.filename: the filter cannot read files (the proxy-wasm sandbox); inline the key set as local_jwks.inline_string, or let workload-authz envoy|istio inline the file for you";
    assert!(
        log.contains(needle),
        "log lacks {needle:?}\nrelevant log lines:\n{}",
        relevant(&log)
    );
}
