//! The CLI on policies with an `mcp` route: `explain --body`, `check`, `lint` (WA014-WA017),
//! `envoy` and `istio`, against the built binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};

/// A JSON-RPC `tools/call` of `name` with `arguments`.
fn call(id: u64, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
    .to_string()
}

fn steps(v: &Value) -> Vec<String> {
    v["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["check"].as_str().unwrap(),
                s["result"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn explain_without_body_shows_the_header_time_decision() {
    let d = dir("mcp_explain_headers");
    let (pem, jwks) = key(&d);
    let file = write(&d, "mcp.json", &mcp_policy(&jwks).to_string());
    let token = mint(&pem, &["--sub", "agent-1", "--scope", "crm:read"]);
    let now = NOW.to_string();
    let base = [
        "explain", &file, "--now", &now, "--method", "POST", "--path", "/mcp", "--token", &token,
    ];

    let mut json_args = base.to_vec();
    json_args.extend(["--format", "json"]);
    let r = run(&json_args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["reason"], "invalid_mcp_request");
    assert_eq!(v["mcp"]["awaiting_body"], 65536);
    assert_eq!(v["mcp"]["parsed"], false);
    assert_eq!(v["mcp"]["method"], Value::Null);
    assert_eq!(
        v["mcp"]["resource_metadata"],
        "https://crm.example/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(v["request"]["body_bytes"], Value::Null);
    assert_eq!(steps(&v).last().map(String::as_str), Some("mcp_body fail"));
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("reads its JSON-RPC body (at most 65536 bytes)"),
        "{notes}"
    );
    assert!(notes.contains("no --body was given"), "{notes}");

    let t = run(&base);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(
        t.stdout
            .contains("mcp:      the route reads the JSON-RPC body (at most 65536 bytes)"),
        "{}",
        t.stdout
    );
    assert!(
        t.stdout
            .contains("answer:   pending: the filter holds the request"),
        "{}",
        t.stdout
    );
    assert!(
        t.stdout
            .contains("  mcp_body      FAIL invalid_mcp_request"),
        "{}",
        t.stdout
    );

    // Without a token, the request is refused before the body would be read.
    let r = run(&[
        "explain", &file, "--now", &now, "--method", "POST", "--path", "/mcp", "--format", "json",
    ]);
    let v = r.json();
    assert_eq!(v["reason"], "missing_token");
    assert_eq!(v["mcp"]["awaiting_body"], Value::Null);
    assert!(
        v["notes"]
            .to_string()
            .contains("before the filter reads its body"),
        "{v:#}"
    );
}

#[test]
fn explain_judges_the_body_and_never_prints_argument_values() {
    let d = dir("mcp_explain_body");
    let (pem, jwks) = key(&d);
    let file = write(&d, "mcp.json", &mcp_policy(&jwks).to_string());
    let token = mint(
        &pem,
        &[
            "--sub",
            "agent-1",
            "--scope",
            "crm:read crm:admin",
            "--claim",
            "tenant=acme",
        ],
    );
    let now = NOW.to_string();
    let explain = |body: &str, format: &str| {
        let body_file = write(&d, "body.json", body);
        let r = run(&[
            "explain", &file, "--now", &now, "--method", "POST", "--path", "/mcp", "--token",
            &token, "--body", &body_file, "--format", format,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r
    };

    // A refused argument: the trace names it, no output holds its value (nor the others').
    let body = call(
        7,
        "delete_customer",
        json!({"region": "mars-9f3", "id": "customer-5e1d"}),
    );
    let j = explain(&body, "json");
    let v = j.json();
    assert_eq!(v["reason"], "argument_not_allowed");
    assert_eq!(v["status"], 403);
    assert_eq!(v["request"]["body_bytes"], body.len());
    assert_eq!(v["mcp"]["method"], "tools/call");
    assert_eq!(v["mcp"]["name"], "delete_customer");
    assert_eq!(v["mcp"]["id"], 7);
    assert_eq!(v["mcp"]["awaiting_body"], Value::Null);
    let digest = v["mcp"]["arguments_digest"].as_str().unwrap();
    assert!(digest.starts_with("blake2b:"), "{digest}");
    assert_eq!(v["record"]["mcp_arguments"], digest);
    assert_eq!(v["record"]["mcp_name"], "delete_customer");
    assert_eq!(
        v["filter_state"]["workload_authz.record"]["mcp_method"],
        "tools/call"
    );
    assert_eq!(v["answer"]["body"]["id"], 7);
    let failed = v["trace"].as_array().unwrap().last().unwrap();
    assert_eq!(failed["check"], "mcp_arguments");
    assert!(
        failed["detail"].as_str().unwrap().contains("`region`"),
        "{failed}"
    );
    let t = explain(&body, "text");
    for out in [&j.stdout, &t.stdout] {
        assert!(
            !out.contains("mars-9f3") && !out.contains("customer-5e1d"),
            "{out}"
        );
    }
    assert!(
        t.stdout.contains(&format!(
            "mcp:      method `tools/call`, name `delete_customer`, arguments {digest}, id 7"
        )),
        "{}",
        t.stdout
    );

    // An allowed call, a notification, a resource of another tenant, an undeclared tool.
    let v = explain(&call(8, "search_customers", json!({"q": "x"})), "json").json();
    assert_eq!(v["decision"], "allow", "{v:#}");
    assert_eq!(v["record"]["scopes_required"], json!(["crm:read"]));
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let n = explain(&note, "text");
    assert!(n.stdout.contains("decision: allow"), "{}", n.stdout);
    assert!(
        n.stdout
            .contains("mcp:      method `notifications/initialized`, a notification (no id)"),
        "{}",
        n.stdout
    );
    let read = json!({"jsonrpc": "2.0", "id": "r1", "method": "resources/read",
                      "params": {"uri": "crm://customers/globex/42"}});
    let v = explain(&read.to_string(), "json").json();
    assert_eq!(v["reason"], "claim_mismatch");
    assert_eq!(v["mcp"]["name"], "crm://customers/globex/42");
    assert_eq!(v["mcp"]["id"], "r1");
    let v = explain(&call(9, "drop_tables", json!({})), "json").json();
    assert_eq!(v["reason"], "tool_not_allowed");
    assert_eq!(
        v["mcp"]["arguments_digest"],
        Value::Null,
        "empty arguments have no digest"
    );
    let v = explain("not json", "json").json();
    assert_eq!(v["reason"], "invalid_mcp_request");
    assert_eq!(v["mcp"]["parsed"], false);
    assert!(steps(&v).contains(&"mcp_message fail".to_string()), "{v:#}");
}

#[test]
fn explain_reads_the_body_from_standard_input_and_only_on_mcp_routes() {
    let d = dir("mcp_explain_stdin");
    let (pem, jwks) = key(&d);
    let mut policy = mcp_policy(&jwks);
    policy["routes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"action": "health", "match": {"path": "/healthz", "methods": ["GET"]}, "public": true}));
    let file = write(&d, "mcp.json", &policy.to_string());
    let token = mint(&pem, &["--sub", "agent-1", "--scope", "crm:read"]);
    let now = NOW.to_string();
    let body = call(1, "search_customers", json!({}));
    let r = run_stdin(
        &[
            "explain", &file, "--now", &now, "--method", "POST", "--path", "/mcp", "--token",
            &token, "--body", "-", "--format", "json",
        ],
        &body,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["decision"], "allow");
    assert_eq!(r.json()["request"]["body_bytes"], body.len());

    let body_file = write(&d, "body.json", &body);
    let v = run(&[
        "explain", &file, "--now", &now, "--path", "/healthz", "--body", &body_file, "--format",
        "json",
    ])
    .json();
    assert_eq!(v["decision"], "public");
    assert_eq!(v["mcp"], Value::Null);
    assert!(
        v["notes"]
            .to_string()
            .contains("has no `mcp` block: the filter does not read the body"),
        "{v:#}"
    );

    // The policy and the body cannot both come from standard input; a missing file is an error.
    let r = run_stdin(
        &["explain", "-", "--path", "/mcp", "--body", "-"],
        &policy.to_string(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--body -"), "{}", r.stderr);
    assert_eq!(
        run(&[
            "explain",
            &file,
            "--path",
            "/mcp",
            "--body",
            "/nonexistent/body.json"
        ])
        .code,
        2
    );
}

#[test]
fn check_accepts_the_mcp_example() {
    let d = dir("mcp_check_ok");
    let (_, jwks) = key(&d);
    let policy = mcp_policy(&jwks);
    let file = write(
        &d,
        "mcp.json",
        &serde_json::to_string_pretty(&policy).unwrap(),
    );
    let r = run(&["check", &file]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(": ok (1 provider(s), 1 route(s), mode enforce, policy "),
        "{}",
        r.stdout
    );
    let v = run(&["check", &file, "--format", "json"]).json();
    assert_eq!(v["ok"], true);
    let yaml = write(&d, "mcp.yaml", &serde_norway::to_string(&policy).unwrap());
    let y = run(&["check", &yaml, "--format", "json"]).json();
    assert_eq!(
        y["hash"], v["hash"],
        "YAML and JSON compile to the same policy"
    );
}

#[test]
fn check_refuses_bad_mcp_blocks_naming_the_field() {
    let d = dir("mcp_check_refused");
    let (_, jwks) = key(&d);
    let mut policy = mcp_policy(&jwks);
    let mcp = &mut policy["routes"][0]["mcp"];
    mcp["methods"]["tools/call"] = json!({});
    mcp["methods"]["resources/read"] = json!({});
    mcp["resources"][0]["uri"] = json!("crm://{host}/customers/**");
    mcp["tools"]["x"] = json!({"providers": ["agents"]});
    mcp["max_body_bytes"] = json!(2_000_000);
    mcp["tool"] = json!({});
    policy["routes"].as_array_mut().unwrap().push(json!(
        {"action": "open", "match": {"path": "/open"}, "public": true,
         "mcp": {"resource": "https://crm.example/open"}}
    ));
    let text = serde_json::to_string_pretty(&policy).unwrap();
    let file = write(&d, "refused.json", &text);
    let r = run(&["check", &file]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let expected = [
        (
            "routes[0].mcp.methods.tools/call",
            "`tools/call` is governed by `mcp.tools`, not `methods`",
            "\"tools/call\"",
        ),
        (
            "routes[0].mcp.methods.resources/read",
            "`resources/read` is governed by `mcp.resources`, not `methods`",
            "\"resources/read\"",
        ),
        (
            "routes[0].mcp.resources[0].uri",
            "the scheme and authority (`scheme://host`) must be literal",
            "crm://{host}",
        ),
        (
            "routes[0].mcp.tools.x.providers",
            "unknown field",
            "\"providers\"",
        ),
        (
            "routes[0].mcp.max_body_bytes",
            "must be between 1 and 1048576",
            "2000000",
        ),
        (
            "routes[0].mcp.tool",
            "unknown field (did you mean `tools`?)",
            "\"tool\"",
        ),
        (
            "routes[1].mcp",
            "a public route cannot have an `mcp` block",
            "\"mcp\"",
        ),
    ];
    let lines: Vec<&str> = text.lines().collect();
    for (path, message, on_line) in expected {
        let found = r
            .stdout
            .lines()
            .find(|l| l.contains(&format!(": error: {path}: {message}")))
            .unwrap_or_else(|| panic!("no `{path}: {message}` in:\n{}", r.stdout));
        // `FILE:LINE: error: ...`: the line holds the field.
        let number: usize = found
            .strip_prefix(&format!("{file}:"))
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no line number in {found}"));
        assert!(
            lines[number - 1].contains(on_line),
            "line {number} of the file for {path}: {}",
            lines[number - 1]
        );
    }
    assert!(
        r.stdout.contains(&format!("{} error(s)", expected.len())),
        "{}",
        r.stdout
    );
    let v = run(&["check", &file, "--format", "json"]).json();
    let paths: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    for (path, _, _) in expected {
        assert!(paths.contains(&path), "{path} not in {paths:?}");
    }
    // `envoy` and `istio` refuse it too (nothing on stdout).
    let r = run(&["envoy", &file]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.is_empty() && r.stderr.contains("routes[0].mcp.tools.x.providers"),
        "{}",
        r.stderr
    );
}

fn findings(v: &Value, code: &str) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn lint_reports_the_mcp_rules() {
    let d = dir("mcp_lint");
    let (_, jwks) = key(&d);
    let policy = mcp_policy(&jwks);
    let clean = write(
        &d,
        "mcp.json",
        &serde_json::to_string_pretty(&policy).unwrap(),
    );
    let r = run(&["lint", &clean, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["WA016"],
        "the example declares a prompt without prompts/list: {v:#}"
    );
    assert_eq!(findings(&v, "WA016")[0].0, "routes[0].mcp.methods");

    let mut noisy = policy.clone();
    noisy["routes"][0]["match"]["methods"] = json!(["POST", "GET"]);
    let mcp = &mut noisy["routes"][0]["mcp"];
    mcp["tools"]["export"] = json!({"arguments": {"format": ["csv"]}});
    mcp["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({"uri": "crm://reports/**", "scopes": ["crm:read"]}));
    mcp["methods"]["prompts/list"] = json!({});
    mcp["methods"].as_object_mut().unwrap().remove("tools/list");
    let text = serde_json::to_string_pretty(&noisy).unwrap();
    let file = write(&d, "noisy.json", &text);
    let r = run(&["lint", &file, "--format", "json", "--fail-on", "warning"]);
    assert_eq!(r.code, 1, "warnings fail --fail-on warning");
    let v = r.json();
    assert_eq!(
        findings(&v, "WA014"),
        vec![(
            "routes[0].mcp.tools.export".to_string(),
            "tool `export` of MCP route `crm.mcp` (routes[0]) requires nothing of the token, nor does the route: any valid token of `agents` may call it".to_string()
        )]
    );
    assert_eq!(
        findings(&v, "WA015"),
        vec![(
            "routes[0].mcp.resources[1].uri".to_string(),
            "resource `crm://reports/**` of MCP route `crm.mcp` (routes[0]) ends in `**` and it captures nothing to bind: any token with `crm:read` reads every resource under it".to_string()
        )]
    );
    let wa016 = findings(&v, "WA016");
    assert_eq!(wa016.len(), 1, "{wa016:?}");
    assert!(wa016[0].1.contains("declares tools (`delete_customer`, `export`, `search_customers`) but `methods` lacks `tools/list`"), "{wa016:?}");
    assert_eq!(
        findings(&v, "WA017"),
        vec![(
            "routes[0].match.methods".to_string(),
            "MCP route `crm.mcp` (routes[0]) accepts GET: such requests carry no JSON-RPC message and are answered invalid_mcp_request (400)".to_string()
        )]
    );
    assert!(findings(&v, "WA003").is_empty(), "{v:#}");
    // Each finding points at the line of its field.
    let lines: Vec<&str> = text.lines().collect();
    for (code, on_line) in [
        ("WA014", "\"export\""),
        ("WA015", "crm://reports/**"),
        ("WA017", "\"methods\""),
    ] {
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap();
        let line = f["line"].as_u64().unwrap() as usize;
        assert!(
            lines[line - 1].contains(on_line),
            "{code}: line {line} is `{}`",
            lines[line - 1]
        );
    }
    // SARIF describes the new rules.
    let s = run(&["lint", &file, "--format", "sarif"]).json();
    let rules = s["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(&ids[14..], ["WA014", "WA015", "WA016", "WA017"]);
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "WA015" && r["ruleIndex"] == 15));
}

#[test]
fn envoy_lets_the_filter_stop_at_headers_and_istio_warns_for_mcp_routes() {
    let d = dir("mcp_deploy");
    let (_, jwks) = key(&d);
    let policy = mcp_policy(&jwks);
    let file = write(&d, "mcp.json", &policy.to_string());
    let plain = write(&d, "orders.json", &orders_policy(&jwks).to_string());

    let r = run(&["envoy", &file]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snippet: Value = serde_norway::from_str(&r.stdout).unwrap();
    let config = &snippet[0]["typed_config"]["config"];
    assert_eq!(
        config["allow_on_headers_stop_iteration"], true,
        "{}",
        r.stdout
    );
    assert_eq!(config["root_id"], "workload_authz");
    assert_eq!(config["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
    let embedded = config["configuration"]["value"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(embedded).unwrap(), policy);
    assert!(
        r.stdout
            .contains("# MCP routes: the filter pauses in request headers"),
        "{}",
        r.stdout
    );
    // Next to name / root_id / vm_config, at the PluginConfig's indentation.
    assert!(
        r.stdout.contains("      root_id: workload_authz\n      allow_on_headers_stop_iteration: true\n      vm_config:\n"),
        "{}",
        r.stdout
    );
    let r = run(&["envoy", &plain]);
    let snippet: Value = serde_norway::from_str(&r.stdout).unwrap();
    assert!(
        snippet[0]["typed_config"]["config"]
            .get("allow_on_headers_stop_iteration")
            .is_none(),
        "only policies with MCP routes need it:\n{}",
        r.stdout
    );

    let image = "oci://registry.example.com/security/workload-authz:0.1.0";
    let r = run(&["istio", &file, "--image", image]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: the policy has MCP routes (routes[0] `crm.mcp`)")
            && r.stderr.contains("allow_on_headers_stop_iteration")
            && r.stderr.contains("WasmPlugin has no field for it"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("# WARNING: MCP routes (routes[0] `crm.mcp`)"),
        "{}",
        r.stdout
    );
    let manifest: Value = serde_norway::from_str(&r.stdout).unwrap();
    assert_eq!(manifest["spec"]["pluginConfig"], policy);
    let r = run(&["istio", &plain, "--image", image]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    assert!(!r.stdout.contains("WARNING"), "{}", r.stdout);
}
