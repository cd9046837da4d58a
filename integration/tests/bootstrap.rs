//! `workload-authz envoy --bootstrap`: the complete bootstrap the CLI prints starts a real Envoy
//! as is. The policy names its key set with `local_jwks.filename` (which the CLI inlines), the
//! bootstrap points at the echo upstream on free ports; an allowed and a denied request get
//! their statuses, the JSON access log on Envoy's standard output carries the decision record
//! (the fields of envoy/access-log-format.json), and the metrics are tagged by
//! envoy/stats-config.json.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use workload_authz_integration::echo::EchoServer;
use workload_authz_integration::envoy::shipped_config;
use workload_authz_integration::tokens::{jwks, key, Alg};
use workload_authz_integration::{cli_bin, now, wasm_path, Envoy, EnvoyOptions, Request};

const ISS: &str = "https://issuer.prod.example";

/// A port nobody listens on right now (the OS picks it; a race with another process is
/// possible but unlikely).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// A fresh directory for the policy and its key set.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("workload-authz-bootstrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("keys")).expect("create the scratch directory");
    dir
}

fn policy() -> Value {
    json!({
        "realm": "orders-api",
        "providers": {
            "mesh": {
                "issuer": ISS,
                "audiences": ["orders"],
                "local_jwks": { "filename": "keys/jwks.json" },
                "max_lifetime_seconds": 900
            }
        },
        "routes": [
            { "action": "health", "match": { "path": "/healthz", "methods": ["GET"] }, "public": true },
            { "action": "orders.read", "match": { "path": "/orders/{id}", "methods": ["GET"] },
              "require": { "scopes": ["orders:read"] } }
        ]
    })
}

/// Runs the CLI; returns standard output, panicking with standard error on failure.
fn cli(args: &[&str]) -> String {
    let out = Command::new(cli_bin())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", cli_bin().display()));
    assert!(
        out.status.success(),
        "workload-authz {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_printed_bootstrap_starts_envoy_and_logs_the_decision_record() {
    let dir = scratch();
    std::fs::write(dir.join("keys/jwks.json"), jwks(&[key(Alg::ES256)])).expect("write the JWKS");
    let policy_file = dir.join("policy.json");
    std::fs::write(&policy_file, policy().to_string()).expect("write the policy");
    let policy_file = policy_file.to_string_lossy().into_owned();
    let hash = serde_json::from_str::<Value>(&cli(&["check", &policy_file, "--format", "json"]))
        .expect("check --format json")["hash"]
        .clone();

    let upstream = EchoServer::start().expect("echo server");
    let (port, admin_port) = (free_port(), free_port());
    assert_ne!(port, admin_port);
    let wasm = wasm_path().to_string_lossy().into_owned();
    let bootstrap = cli(&[
        "envoy",
        &policy_file,
        "--bootstrap",
        "--wasm",
        &wasm,
        "--upstream",
        &format!("127.0.0.1:{}", upstream.port()),
        "--port",
        &port.to_string(),
        "--admin-port",
        &admin_port.to_string(),
    ]);
    assert!(
        !bootstrap.contains("keys/jwks.json\"") && bootstrap.contains("inline_string"),
        "the key set is inlined, not named:\n{bootstrap}"
    );

    let envoy = Envoy::start_bootstrap(
        &bootstrap,
        "bootstrap.yaml",
        "workload_authz",
        upstream,
        &EnvoyOptions::default(),
    )
    .unwrap_or_else(|e| panic!("Envoy refused the printed bootstrap: {e}\n{bootstrap}"));
    assert_eq!(envoy.listener.port(), port, "the listener is on --port");
    assert_eq!(envoy.admin.port(), admin_port, "admin is on --admin-port");

    let t = now();
    let token = key(Alg::ES256).sign(&json!({
        "iss": ISS, "aud": "orders", "sub": "spiffe://prod.example/ns/shop/sa/web",
        "iat": t, "exp": t + 300, "scope": "orders:read orders:write"
    }));
    let allowed = envoy
        .send(&Request::get("/orders/7").bearer(&token))
        .expect("allowed request");
    assert_eq!(allowed.status, 200, "{}", allowed.body_str());
    assert_eq!(
        envoy.upstream.count(),
        1,
        "the upstream got the allowed request"
    );
    let denied = envoy
        .send(&Request::get("/orders/7"))
        .expect("denied request");
    assert_eq!(denied.status, 401, "{}", denied.body_str());
    assert_eq!(denied.reason().as_deref(), Some("missing_token"));
    assert_eq!(
        envoy.upstream.count(),
        1,
        "the denied request stopped at the filter"
    );

    let lines = envoy.wait_stdout_json(2);
    assert_eq!(lines.len(), 2, "{lines:#?}\n{}", envoy.log_tail(40));
    let fields: Vec<String> = shipped_config("access-log-format.json")
        .as_object()
        .expect("envoy/access-log-format.json is an object")
        .keys()
        .cloned()
        .collect();
    for line in &lines {
        for field in &fields {
            assert!(line.get(field).is_some(), "{field} missing from {line}");
        }
        assert_eq!(line["authz"]["policy"], hash, "{line}");
    }
    let (first, second) = (&lines[0]["authz"], &lines[1]["authz"]);
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(first["decision"], "allow");
    assert_eq!(first["action"], "orders.read");
    assert_eq!(first["subject"], "spiffe://prod.example/ns/shop/sa/web");
    assert_eq!(first["scopes_unused"], json!(["orders:write"]));
    assert_eq!(lines[1]["status"], 401);
    assert_eq!(second["decision"], "deny");
    assert_eq!(second["reason"], "missing_token");

    // The stats tags of envoy/stats-config.json turn the stat names into labels.
    let labels = [
        ("decision", "allow"),
        ("reason", "allowed"),
        ("action", "orders.read"),
    ];
    assert_eq!(envoy.counter("workload_authz_decisions_total", &labels), 1);
    drop(envoy);
    let _ = std::fs::remove_dir_all(&dir);
}
