//! MCP tool-call authorization in a real Envoy, with real parts: the official MCP Python SDK
//! (`integration/mcp/server.py`, an `MCPServer` over Streamable HTTP whose handlers log each
//! call) behind Envoy with the filter, and the SDK's own client (`integration/mcp/client.py`)
//! as the agent. Allowed calls return results; denied calls fail with the right status and the
//! server's log shows they never ran; `tools/list` is filtered per caller. Then raw requests:
//! batches, header/body mismatches, duplicate members, huge and chunked bodies.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use workload_authz_integration::envoy::{raw_exchange, EnvoyOptions};
use workload_authz_integration::tokens::{jwks, key, Alg};
use workload_authz_integration::{now, workspace_root, Envoy, Request};

const ISS: &str = "https://as.example";

fn policy() -> String {
    json!({
        "realm": "crm",
        "providers": {
            "agents": {
                "issuer": ISS,
                "audiences": ["crm"],
                "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) }
            }
        },
        "routes": [{
            "action": "crm.mcp",
            "match": { "path": "/mcp", "methods": ["POST"] },
            "require": { "providers": ["agents"] },
            "mcp": {
                "resource": "https://crm.example/mcp",
                "authorization_servers": [ISS],
                "max_body_bytes": 4096,
                "methods": { "initialize": {}, "ping": {}, "tools/list": {},
                             "notifications/initialized": {}, "server/discover": {} },
                "tools": {
                    "search_customers": { "scopes": ["crm:read"] },
                    "delete_customer": { "scopes": ["crm:admin"], "allow_delegation": false,
                                         "arguments": { "region": ["eu", "us"] } },
                    "export_report": { "scopes": ["crm:export"] }
                },
                "resources": [ { "uri": "crm://customers/{tenant}/**", "scopes": ["crm:read"],
                                 "claims": { "tenant": "{tenant}" } } ],
                "prompts": { "summarize": { "scopes": ["crm:read"] } }
            }
        }]
    })
    .to_string()
}

fn token(scope: &str, extra: Value) -> String {
    let mut claims = json!({
        "iss": ISS, "aud": "crm", "sub": "spiffe://prod.example/ns/ai/sa/agent",
        "tenant": "acme", "scope": scope, "iat": now() - 10, "exp": now() + 300
    });
    if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    key(Alg::ES256).sign(&claims)
}

fn python() -> PathBuf {
    workspace_root().join(".venv/bin/python")
}

/// The SDK's server, killed on drop.
struct McpServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl McpServer {
    fn start(dir: &Path, extra: &[&str]) -> McpServer {
        let log = dir.join(format!("calls-{}.jsonl", extra.join("")));
        let mut child = Command::new(python())
            .arg(workspace_root().join("integration/mcp/server.py"))
            .args(["--port", "0", "--log"])
            .arg(&log)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the MCP server: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("reading READY: {e}"));
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the MCP server said {line:?}"));
        McpServer { child, port, log }
    }

    /// The calls the server's handlers ran.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["call"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for McpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the SDK's client as the agent; its one JSON line.
fn agent(envoy: &Envoy, token: Option<&str>, mode: &str, args: &[&str]) -> Value {
    let mut cmd = Command::new(python());
    cmd.arg(workspace_root().join("integration/mcp/client.py"))
        .arg("--url")
        .arg(format!("http://{}/mcp", envoy.listener))
        .args(["--mode", mode]);
    if let Some(token) = token {
        cmd.args(["--token", token]);
    }
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running the MCP client: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!(
            "client output {text:?} ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn start(server: &McpServer) -> Envoy {
    let opts = EnvoyOptions {
        upstream_port: Some(server.port),
        ..EnvoyOptions::default()
    };
    Envoy::start_with(&policy(), &opts).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_sdk_agent_gets_exactly_what_its_token_allows() {
    let dir = tempdir();
    let server = McpServer::start(&dir, &[]);
    let envoy = start(&server);
    let reader = token("crm:read", json!({}));
    let admin = token("crm:read crm:admin", json!({}));
    let era = "2026-07-28";

    let listed = agent(&envoy, Some(&reader), era, &["list-tools"]);
    assert_eq!(listed["ok"], true, "{listed}");
    assert_eq!(
        listed["result"],
        json!(["search_customers"]),
        "filtered for the reader"
    );
    let listed = agent(&envoy, Some(&admin), era, &["list-tools"]);
    assert_eq!(
        listed["result"],
        json!(["search_customers", "delete_customer"])
    );

    let found = agent(
        &envoy,
        Some(&reader),
        era,
        &["call", "search_customers", r#"{"query":"a"}"#],
    );
    assert_eq!(found["ok"], true, "{found}");
    assert_eq!(server.calls(), ["search_customers"]);

    let delete = r#"{"customer_id":"c1","region":"eu"}"#;
    let refused = agent(
        &envoy,
        Some(&reader),
        era,
        &["call", "delete_customer", delete],
    );
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["status"], 403);
    let challenge = refused["www_authenticate"].as_str().unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"crm:admin\""), "{challenge}");
    assert!(
        challenge.contains(
            "resource_metadata=\"https://crm.example/.well-known/oauth-protected-resource/mcp\""
        ),
        "{challenge}"
    );
    assert_eq!(
        server.calls(),
        ["search_customers"],
        "the refused call never ran"
    );

    let cn = r#"{"customer_id":"c1","region":"cn"}"#;
    let refused = agent(&envoy, Some(&admin), era, &["call", "delete_customer", cn]);
    assert_eq!(refused["status"], 403, "{refused}");
    assert_eq!(server.calls(), ["search_customers"]);
    let deleted = agent(
        &envoy,
        Some(&admin),
        era,
        &["call", "delete_customer", delete],
    );
    assert_eq!(deleted["ok"], true, "{deleted}");
    assert_eq!(server.calls(), ["search_customers", "delete_customer"]);

    let agent_token = token(
        "crm:read crm:admin",
        json!({"act": {"sub": "spiffe://prod.example/ns/ai/sa/planner"}}),
    );
    let delegated = agent(
        &envoy,
        Some(&agent_token),
        era,
        &["call", "delete_customer", delete],
    );
    assert_eq!(
        delegated["status"], 403,
        "delegation is not allowed: {delegated}"
    );

    let record = agent(
        &envoy,
        Some(&reader),
        era,
        &["read-resource", "crm://customers/acme/42"],
    );
    assert_eq!(record["ok"], true, "{record}");
    let other = agent(
        &envoy,
        Some(&reader),
        era,
        &["read-resource", "crm://customers/globex/1"],
    );
    assert_eq!(other["status"], 403, "{other}");
    let prompt = agent(
        &envoy,
        Some(&reader),
        era,
        &["get-prompt", "summarize", r#"{"text":"hi"}"#],
    );
    assert_eq!(prompt["ok"], true, "{prompt}");
    assert_eq!(
        server.calls(),
        [
            "search_customers",
            "delete_customer",
            "customer_record",
            "summarize"
        ]
    );

    let anonymous = agent(&envoy, None, era, &["list-tools"]);
    assert_eq!(anonymous["status"], 401, "{anonymous}");
    let challenge = anonymous["www_authenticate"].as_str().unwrap_or_default();
    assert!(challenge.contains("resource_metadata=\""), "{challenge}");

    // The access log has one record per message, with its method and name.
    let log = envoy.access_log();
    let refused: Vec<&Value> = log
        .iter()
        .filter(|r| r["authz"]["reason"] == "insufficient_scope")
        .collect();
    assert!(!refused.is_empty(), "{log:?}");
    for r in refused {
        let record = &r["authz"];
        assert_eq!(record["mcp_method"], "tools/call");
        assert_eq!(record["mcp_name"], "delete_customer");
        assert!(record["mcp_arguments"]
            .as_str()
            .unwrap_or("")
            .starts_with("blake2b:"));
        assert!(!r.to_string().contains("\"c1\""), "arguments never logged");
    }
    let calls = envoy.counter(
        "workload_authz_mcp_calls_total",
        &[("tool", "delete_customer"), ("reason", "allowed")],
    );
    assert_eq!(calls, 1);
}

#[test]
fn the_legacy_handshake_and_event_streams() {
    let dir = tempdir();
    let server = McpServer::start(&dir, &["--sse"]);
    let envoy = start(&server);
    let reader = token("crm:read", json!({}));
    let listed = agent(&envoy, Some(&reader), "legacy", &["list-tools"]);
    assert_eq!(listed["ok"], true, "{listed}");
    assert_eq!(
        listed["result"],
        json!(["search_customers"]),
        "an event stream is filtered too"
    );
    let found = agent(
        &envoy,
        Some(&reader),
        "legacy",
        &["call", "search_customers", r#"{"query":"a"}"#],
    );
    assert_eq!(found["ok"], true, "{found}");
    let refused = agent(
        &envoy,
        Some(&reader),
        "auto",
        &["call", "export_report", r#"{"region":"eu"}"#],
    );
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(server.calls(), ["search_customers"]);
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wa-mcp-{}-{}", std::process::id(), now()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn mcp_post(body: &str, token: &str) -> Request {
    Request::post("/mcp")
        .bearer(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.as_bytes())
}

#[test]
fn raw_requests_that_must_never_reach_the_server() {
    let envoy = Envoy::start(&policy()).unwrap_or_else(|e| panic!("{e}"));
    let admin = token("crm:read crm:admin", json!({}));
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_customers","arguments":{"query":"x"}}}"#;
    let cases: Vec<(&str, Request, u16, &str)> = vec![
        (
            "batch",
            mcp_post(&format!("[{call}]"), &admin),
            400,
            "invalid_mcp_request",
        ),
        (
            "duplicate method",
            mcp_post(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"delete_customer"}}"#,
                &admin,
            ),
            400,
            "invalid_mcp_request",
        ),
        (
            "second value",
            mcp_post(&format!("{call}{call}"), &admin),
            400,
            "invalid_mcp_request",
        ),
        (
            "header mismatch",
            mcp_post(call, &admin).header("mcp-method", "tools/list"),
            400,
            "mcp_header_mismatch",
        ),
        (
            "name mismatch",
            mcp_post(call, &admin).header("mcp-name", "delete_customer"),
            400,
            "mcp_header_mismatch",
        ),
        (
            "content-type lie",
            Request::post("/mcp")
                .bearer(&admin)
                .header("content-type", "text/plain")
                .body(call.as_bytes()),
            400,
            "invalid_mcp_request",
        ),
        (
            "huge body",
            mcp_post(
                &format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"p":"{}"}}}}"#,
                    "x".repeat(10_000)
                ),
                &admin,
            ),
            413,
            "body_too_large",
        ),
        (
            "no body",
            Request::post("/mcp")
                .bearer(&admin)
                .header("content-type", "application/json"),
            400,
            "invalid_mcp_request",
        ),
        (
            "undeclared tool",
            mcp_post(&call.replace("search_customers", "drop_all"), &admin),
            403,
            "tool_not_allowed",
        ),
        (
            "undeclared method",
            mcp_post(
                r#"{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}}"#,
                &admin,
            ),
            403,
            "mcp_method_not_allowed",
        ),
        ("GET", Request::get("/mcp").bearer(&admin), 403, "no_route"),
        (
            "DELETE",
            Request::new("DELETE", "/mcp").bearer(&admin),
            403,
            "no_route",
        ),
    ];
    for (i, (name, request, status, reason)) in cases.into_iter().enumerate() {
        let before = envoy.upstream.count();
        let response = envoy
            .send(&request)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(response.status, status, "{name}: {}", response.body_str());
        assert_eq!(
            envoy.upstream.count(),
            before,
            "{name} reached the upstream"
        );
        let record = envoy.wait_access_log(i + 1);
        let last = record.last().cloned().unwrap_or_default();
        assert_eq!(last["authz"]["reason"], reason, "{name}");
        if status != 403 || reason != "no_route" {
            let body: Value = serde_json::from_str(&response.body_str()).unwrap_or_default();
            assert_eq!(body["jsonrpc"], "2.0", "{name}: a JSON-RPC error body");
            assert!(
                !response.body_str().contains("\"query\""),
                "{name}: arguments never echoed"
            );
        }
    }
    // An allowed call arrives whole, even in many chunks split inside a UTF-8 character.
    let body = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"search_customers","arguments":{"query":"Zürich"}}}"#;
    let bytes = body.as_bytes();
    let mut raw = format!(
        "POST /mcp HTTP/1.1\r\nhost: crm.example\r\nauthorization: Bearer {admin}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    let split = body.find('ü').unwrap_or(0) + 1; // inside the two bytes of `ü`
    for piece in [&bytes[..5], &bytes[5..split], &bytes[split..]] {
        raw.extend(format!("{:x}\r\n", piece.len()).as_bytes());
        raw.extend(piece);
        raw.extend(b"\r\n");
    }
    raw.extend(b"0\r\n\r\n");
    let before = envoy.upstream.count();
    let answer = raw_exchange(envoy.listener, &raw).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(envoy.upstream.count(), before + 1);
    let seen = envoy
        .upstream
        .requests()
        .last()
        .map(|r| r.body.clone())
        .unwrap_or_default();
    assert_eq!(seen, bytes, "the upstream got the whole body");
    // A denied chunked call never reaches the upstream.
    let denied = raw_chunked(
        envoy.listener,
        &admin,
        &call.replace("search_customers", "drop_all"),
    );
    assert!(denied.starts_with("HTTP/1.1 403"), "{denied}");
    assert_eq!(envoy.upstream.count(), before + 1);
}

fn raw_chunked(addr: SocketAddr, token: &str, body: &str) -> String {
    let mut raw = format!(
        "POST /mcp HTTP/1.1\r\nhost: crm.example\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    for piece in body.as_bytes().chunks(7) {
        raw.extend(format!("{:x}\r\n", piece.len()).as_bytes());
        raw.extend(piece);
        raw.extend(b"\r\n");
    }
    raw.extend(b"0\r\n\r\n");
    String::from_utf8_lossy(&raw_exchange(addr, &raw).unwrap_or_default()).to_string()
}

#[test]
fn protected_resource_metadata_needs_no_token() {
    let envoy = Envoy::start(&policy()).unwrap_or_else(|e| panic!("{e}"));
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let response = envoy
            .send(&Request::get(path))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status, 200, "{path}");
        let doc = response.json().unwrap_or_default();
        assert_eq!(doc["resource"], "https://crm.example/mcp");
        assert_eq!(doc["authorization_servers"], json!([ISS]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["crm:admin", "crm:export", "crm:read"])
        );
    }
    assert_eq!(envoy.upstream.count(), 0);
}
