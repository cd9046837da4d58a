//! Helpers of the CLI tests: run the built binary, temporary files, a development key.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fixed "now" for tokens and decisions.
pub const NOW: u64 = 1_800_000_000;
pub const ISS: &str = "https://issuer.prod.example";

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `workload-authz ARGS`.
pub fn run(args: &[&str]) -> Run {
    finish(
        Command::new(env!("CARGO_BIN_EXE_workload-authz"))
            .args(args)
            .output()
            .expect("run workload-authz"),
    )
}

/// Runs `workload-authz ARGS` with `input` on standard input.
pub fn run_stdin(args: &[&str], input: &str) -> Run {
    run_stdin_in(None, args, input)
}

/// Runs `workload-authz ARGS` with `input` on standard input, in `cwd` when given (else the
/// test's working directory).
pub fn run_stdin_in(cwd: Option<&Path>, args: &[&str], input: &str) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workload-authz"));
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn workload-authz");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    finish(child.wait_with_output().unwrap())
}

/// A fresh directory for one test.
pub fn dir(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    path
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A fresh ES256 key (kid `k1`) in `dir`: returns (pem path, JWKS text).
pub fn key(dir: &Path) -> (String, String) {
    let out = dir.join("keys");
    let r = run(&[
        "keygen",
        "--alg",
        "ES256",
        "--kid",
        "k1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "keygen: {}", r.stderr);
    let jwks = std::fs::read_to_string(out.join("jwks.json")).unwrap();
    (out.join("k1.pem").to_str().unwrap().to_string(), jwks)
}

/// The orders-api policy of the README with `jwks` as the provider's keys.
pub fn orders_policy(jwks: &str) -> Value {
    json!({
        "mode": "enforce",
        "realm": "orders-api",
        "providers": {
            "mesh": {
                "issuer": ISS,
                "audiences": ["orders"],
                "local_jwks": {"inline_string": jwks},
                "algorithms": ["ES256"],
                "max_lifetime_seconds": 900
            }
        },
        "routes": [
            {"action": "health", "match": {"path": "/healthz", "methods": ["GET"]}, "public": true},
            {"action": "orders.read",
             "match": {"path": "/tenants/{tenant}/orders/{id}", "methods": ["GET", "HEAD"]},
             "require": {"scopes": ["orders:read"], "subjects": ["spiffe://prod.example/ns/*/sa/*"],
                         "claims": {"tenant": "{tenant}"}}},
            {"action": "orders.write",
             "match": {"path": "/tenants/{tenant}/orders", "methods": ["POST"]},
             "max_lifetime_seconds": 300,
             "require": {"scopes": ["orders:write:{tenant}"]}}
        ]
    })
}

/// Mints a token with `key` at NOW (extra arguments appended).
pub fn mint(pem: &str, extra: &[&str]) -> String {
    let now = NOW.to_string();
    let mut args = vec![
        "mint", "--key", pem, "--kid", "k1", "--iss", ISS, "--aud", "orders", "--now", &now,
        "--ttl", "300",
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, 0, "mint: {}", r.stderr);
    r.stdout.trim().to_string()
}

/// The MCP example policy (one `mcp` route for provider `agents`) with `jwks` as its keys.
pub fn mcp_policy(jwks: &str) -> Value {
    json!({
        "providers": {
            "agents": {
                "issuer": ISS,
                "audiences": ["orders"],
                "local_jwks": {"inline_string": jwks},
                "algorithms": ["ES256"],
                "max_lifetime_seconds": 300
            }
        },
        "routes": [
            {"action": "crm.mcp", "match": {"path": "/mcp", "methods": ["POST"]},
             "require": {"providers": ["agents"]},
             "mcp": {
                "resource": "https://crm.example/mcp",
                "authorization_servers": ["https://as.example"],
                "max_body_bytes": 65536,
                "methods": {"initialize": {}, "ping": {}, "tools/list": {},
                            "notifications/initialized": {}},
                "tools": {
                    "search_customers": {"scopes": ["crm:read"]},
                    "delete_customer": {"scopes": ["crm:admin"], "allow_delegation": false,
                                        "arguments": {"region": ["eu", "us"]}}
                },
                "resources": [
                    {"uri": "crm://customers/{tenant}/**", "scopes": ["crm:read"],
                     "claims": {"tenant": "{tenant}"}}
                ],
                "prompts": {"summarize": {"scopes": ["crm:read"]}}
             }}
        ]
    })
}

/// The decoded JSON of part `index` (0 header, 1 claims) of a compact JWS.
pub fn part(token: &str, index: usize) -> Value {
    let raw = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap()
}
