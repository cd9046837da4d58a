//! `workload-authz explain` says what Envoy does: for a table of requests, the verdict of the
//! CLI (status, reason, `WWW-Authenticate`) equals the answer of a real Envoy running the same
//! policy.
//!
//! The CLI binary is not built by this test: it is taken from `WORKLOAD_AUTHZ_CLI`, else
//! `<workspace>/target/release/workload-authz` or `<workspace>/target/debug/workload-authz`
//! (the newer of the two when both exist; `make cli` or `cargo build -p workload-authz-cli`
//! builds it).

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{jwks, key, merge, other_key, Alg};
use workload_authz_integration::{now, Envoy, Request};

const MESH_ISS: &str = "https://issuer.prod.example";
const PARTNER_ISS: &str = "https://partner.example";
const REALM: &str = "orders-api";

fn cli() -> PathBuf {
    workload_authz_integration::cli_bin()
}

fn policy() -> Value {
    json!({
        "mode": "enforce",
        "realm": REALM,
        "providers": {
            "mesh": {
                "issuer": MESH_ISS,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks(&[key(Alg::ES256), key(Alg::RS256)]) },
                "algorithms": ["ES256", "RS256"],
                "max_lifetime_seconds": 900
            },
            "partner": {
                "issuer": PARTNER_ISS,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks(&[key(Alg::EdDSA)]) },
                "from_headers": [{ "name": "x-partner-token", "value_prefix": "" }]
            }
        },
        "routes": [
            { "action": "health", "match": { "path": "/healthz", "methods": ["GET"] }, "public": true },
            { "action": "orders.read",
              "match": { "path": "/tenants/{tenant}/orders/{id}", "methods": ["GET", "HEAD"] },
              "require": { "providers": ["mesh"], "scopes": ["orders:read"],
                           "subjects": ["spiffe://prod.example/ns/*/sa/*"],
                           "claims": { "tenant": "{tenant}" } } },
            { "action": "orders.write",
              "match": { "path": "/tenants/{tenant}/orders", "methods": ["POST"] },
              "max_lifetime_seconds": 300,
              "require": { "scopes": ["orders:write:{tenant}"] } },
            { "action": "catalog.read",
              "match": { "path": "/catalog/**", "methods": ["GET"] },
              "mode": "shadow",
              "require": { "scopes_any": ["catalog:read", "catalog:admin"] } },
            { "action": "admin",
              "match": { "path": "/admin/**", "hosts": ["admin.example"] },
              "require": { "providers": ["mesh"], "claims": { "roles": "admin" } } }
        ]
    })
}

fn mesh_claims(t: i64) -> Value {
    json!({
        "iss": MESH_ISS, "aud": "orders", "sub": "spiffe://prod.example/ns/shop/sa/web",
        "iat": t, "exp": t + 280, "scope": "orders:read orders:write:acme", "tenant": "acme"
    })
}

fn mesh(overrides: Value) -> String {
    key(Alg::ES256).sign(&merge(&mesh_claims(now()), &overrides))
}

fn partner(overrides: Value) -> String {
    let t = now();
    let claims = json!({"iss": PARTNER_ISS, "aud": "orders", "sub": "partner-1", "iat": t,
                        "exp": t + 280, "scope": "catalog:read orders:write:acme"});
    key(Alg::EdDSA).sign(&merge(&claims, &overrides))
}

/// What one side answered: status (200 when the request went on), reason, WWW-Authenticate.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    status: u64,
    reason: Option<String>,
    www_authenticate: Option<String>,
}

fn envoy_verdict(
    envoy: &workload_authz_integration::Envoy,
    req: &Request,
) -> Result<Verdict, String> {
    let resp = envoy.send(req).map_err(|e| format!("Envoy: {e}"))?;
    let reached = resp.header("x-echo") == Some("upstream");
    Ok(Verdict {
        status: u64::from(resp.status),
        reason: if reached { None } else { resp.reason() },
        www_authenticate: resp.www_authenticate().map(str::to_string),
    })
}

fn cli_verdict(policy_file: &str, req: &Request) -> Result<(Verdict, Value), String> {
    let mut cmd = Command::new(cli());
    cmd.args([
        "explain",
        policy_file,
        "--format",
        "json",
        "--method",
        &req.method,
        "--path",
        &req.path,
    ]);
    cmd.arg("--now").arg(now().to_string());
    for (name, value) in &req.headers {
        if name.eq_ignore_ascii_case("host") {
            cmd.arg("--host").arg(value);
        } else {
            cmd.arg("--header").arg(format!("{name}:{value}"));
        }
    }
    let out = cmd.output().map_err(|e| format!("running the CLI: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the CLI failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("CLI output is not JSON: {e}"))?;
    let proceeds = v["proceeds"].as_bool() == Some(true);
    let verdict = Verdict {
        status: if proceeds {
            200
        } else {
            v["status"].as_u64().unwrap_or(0)
        },
        reason: if proceeds {
            None
        } else {
            v["reason"].as_str().map(str::to_string)
        },
        www_authenticate: v["answer"]["headers"]["www-authenticate"]
            .as_str()
            .map(str::to_string),
    };
    Ok((verdict, v))
}

/// Two decision records are the same, but for `token_ttl_remaining` (a second may pass between
/// the two decisions).
fn same_record(a: &Value, b: &Value) -> bool {
    let ttl = |v: &Value| v["token_ttl_remaining"].as_i64();
    let close = match (ttl(a), ttl(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= 2,
        (x, y) => x == y,
    };
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("token_ttl_remaining");
        }
        v
    };
    close && strip(a) == strip(b)
}

#[test]
fn explain_verdicts_equal_envoy_answers() {
    let policy = policy();
    let dir = std::env::temp_dir().join(format!(
        "workload-authz-cli-vs-envoy-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let policy_file = dir.join("policy.json");
    std::fs::write(&policy_file, policy.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let policy_file = policy_file.to_string_lossy().into_owned();
    let envoy = start_envoy(&policy.to_string());

    let t = now();
    let read = "/tenants/acme/orders/42";
    let good = mesh(json!({}));
    let cases: Vec<(&str, Request)> = vec![
        ("public", Request::get("/healthz")),
        ("public, wrong method", Request::post("/healthz")),
        ("allowed", Request::get(read).bearer(&good)),
        ("HEAD allowed", Request::new("HEAD", read).bearer(&good)),
        ("no token", Request::get(read)),
        (
            "lowercase bearer",
            Request::get(read).header("Authorization", &format!("bearer {good}")),
        ),
        ("two tokens", Request::get(read).bearer(&good).bearer(&good)),
        (
            "two partner tokens",
            Request::post("/tenants/acme/orders")
                .header("x-partner-token", &partner(json!({})))
                .header("x-partner-token", &partner(json!({}))),
        ),
        (
            "token in two headers",
            Request::post("/tenants/acme/orders")
                .bearer(&good)
                .header("x-partner-token", &partner(json!({}))),
        ),
        ("malformed", Request::get(read).bearer("abc.def")),
        (
            "expired",
            Request::get(read).bearer(&mesh(json!({"iat": t - 1000, "exp": t - 400}))),
        ),
        (
            "not yet valid",
            Request::get(read).bearer(&mesh(json!({"nbf": t + 600}))),
        ),
        (
            "issued in future",
            Request::get(read).bearer(&mesh(json!({"iat": t + 600, "exp": t + 800}))),
        ),
        (
            "lifetime",
            Request::get(read).bearer(&mesh(json!({"exp": t + 2000}))),
        ),
        (
            "bad audience",
            Request::get(read).bearer(&mesh(json!({"aud": "billing"}))),
        ),
        (
            "bad issuer",
            Request::get(read).bearer(&mesh(json!({"iss": "https://evil.example"}))),
        ),
        (
            "unknown key",
            Request::get(read).bearer(&other_key(Alg::ES256).sign(&mesh_claims(t))),
        ),
        (
            "bad signature",
            Request::get(read).bearer(
                &other_key(Alg::ES256)
                    .with_kid(Some("ES256-1"))
                    .sign(&mesh_claims(t)),
            ),
        ),
        (
            "disallowed algorithm",
            Request::get(read).bearer(&key(Alg::ES384).sign(&mesh_claims(t))),
        ),
        (
            "RS256 allowed",
            Request::get(read).bearer(&key(Alg::RS256).sign(&mesh_claims(t))),
        ),
        (
            "insufficient scope",
            Request::get(read).bearer(&mesh(json!({"scope": "orders:list"}))),
        ),
        (
            "subject not allowed",
            Request::get(read).bearer(&mesh(json!({"sub": "spiffe://other.example/x"}))),
        ),
        (
            "claim mismatch",
            Request::get("/tenants/globex/orders/1").bearer(&good),
        ),
        (
            "write allowed",
            Request::post("/tenants/acme/orders").bearer(&good),
        ),
        (
            "write, route lifetime",
            Request::post("/tenants/acme/orders").bearer(&mesh(json!({"exp": t + 600}))),
        ),
        (
            "write, other tenant",
            Request::post("/tenants/globex/orders").bearer(&good),
        ),
        (
            "partner header",
            Request::post("/tenants/acme/orders").header("x-partner-token", &partner(json!({}))),
        ),
        (
            "partner not accepted",
            Request::get(read).header("x-partner-token", &partner(json!({}))),
        ),
        (
            "partner in authorization",
            Request::get(read).bearer(&partner(json!({}))),
        ),
        ("shadow route, no token", Request::get("/catalog/books/1")),
        (
            "shadow route, allowed",
            Request::get("/catalog/books").header("x-partner-token", &partner(json!({}))),
        ),
        (
            "host route",
            Request::get("/admin/users")
                .header("Host", "admin.example")
                .bearer(&mesh(json!({"roles": ["admin"]}))),
        ),
        (
            "host route, no role",
            Request::get("/admin/users")
                .header("Host", "admin.example")
                .bearer(&good),
        ),
        ("host mismatch", Request::get("/admin/users").bearer(&good)),
        ("no route", Request::get("/nothing/here").bearer(&good)),
        (
            "dot-dot",
            Request::get("/tenants/acme/orders/../orders/42").bearer(&good),
        ),
        (
            "encoded slash",
            Request::get("/tenants/acme%2forders/42").bearer(&good),
        ),
        (
            "query ignored",
            Request::get("/tenants/acme/orders/42?x=1").bearer(&good),
        ),
    ];
    // Envoy flushes the access log every 100 ms; a loaded machine can be much slower.
    fn access_log_entry(envoy: &Envoy, index: usize) -> Option<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(entry) = envoy.wait_access_log(index + 1).get(index) {
                return Some(entry.clone());
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
        }
    }
    let mut failures = Vec::new();
    for (index, (name, req)) in cases.iter().enumerate() {
        let envoy_side = envoy_verdict(&envoy, req);
        let cli_side = cli_verdict(&policy_file, req);
        match (envoy_side, cli_side) {
            (Ok(e), Ok((c, explained))) if e == c => {
                // The decision record too: the filter's (from the access log) is the CLI's.
                let logged = access_log_entry(&envoy, index)
                    .as_ref()
                    .map(|entry| entry["authz"].clone())
                    .filter(Value::is_object);
                match logged {
                    Some(logged) if same_record(&logged, &explained["record"]) => {
                        eprintln!("[{name}] agree: {} {:?}", e.status, e.reason)
                    }
                    other => failures.push(format!(
                        "[{name}] {req}\n    same verdict, different record\n    envoy: {other:?}\n    cli:   {}",
                        explained["record"]
                    )),
                }
            }
            (Ok(e), Ok((c, explained))) => failures.push(format!(
                "[{name}] {req}\n    envoy: {e:?}\n    cli:   {c:?}\n    trace: {}",
                explained["trace"]
            )),
            (e, c) => failures.push(format!(
                "[{name}] {req}\n    envoy: {e:?}\n    cli: {:?}",
                c.map(|(v, _)| v)
            )),
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} requests: the CLI and Envoy disagree\n\n{}\n\n--- Envoy log tail ---\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n\n"),
            envoy.log_tail(30)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("all {} requests: explain == Envoy", cases.len());
}
