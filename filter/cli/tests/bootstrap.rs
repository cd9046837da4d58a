//! `envoy --bootstrap`: a complete static bootstrap around the same filter entry as `envoy`,
//! with the shipped access-log format and stats config (integration/tests/bootstrap.rs starts
//! it in a real Envoy).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::Value;

/// A JSON file of the repository's `envoy/` folder.
fn shipped(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../envoy/");
    serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
}

/// The HTTP connection manager of the bootstrap's one listener.
fn hcm(bootstrap: &Value) -> &Value {
    &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
}

#[test]
fn the_bootstrap_is_complete_and_uses_the_shipped_files() {
    let d = dir("bootstrap_complete");
    let (_, jwks) = key(&d);
    let file = write(&d, "policy.json", &orders_policy(&jwks).to_string());
    let wasm = ["--wasm", "/opt/wasm/workload_authz.wasm"];
    let snippet = run(&["envoy", &file, wasm[0], wasm[1]]);
    assert_eq!(snippet.code, 0, "{}", snippet.stderr);
    let entry: Value = serde_norway::from_str(&snippet.stdout).unwrap();

    let r = run(&[
        "envoy",
        &file,
        "--bootstrap",
        wasm[0],
        wasm[1],
        "--upstream",
        "orders.internal:8443",
        "--port",
        "18080",
        "--admin-port",
        "19901",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b: Value = serde_norway::from_str(&r.stdout).unwrap();
    let listener = &b["static_resources"]["listeners"][0];
    assert_eq!(listener["address"]["socket_address"]["port_value"], 18080);
    assert_eq!(listener["address"]["socket_address"]["address"], "0.0.0.0");
    assert_eq!(b["admin"]["address"]["socket_address"]["port_value"], 19901);
    assert_eq!(
        b["admin"]["address"]["socket_address"]["address"],
        "127.0.0.1"
    );
    assert_eq!(b["stats_config"], shipped("stats-config.json"));
    let hcm = hcm(&b);
    let log = &hcm["access_log"][0];
    assert_eq!(log["name"], "envoy.access_loggers.stdout");
    assert_eq!(
        log["typed_config"]["log_format"]["json_format"],
        shipped("access-log-format.json")
    );
    let filters = hcm["http_filters"].as_array().unwrap();
    assert_eq!(filters.len(), 2);
    assert_eq!(
        filters[0], entry[0],
        "the same filter entry as `envoy` prints"
    );
    assert_eq!(filters[1]["name"], "envoy.filters.http.router");
    let route = &hcm["route_config"]["virtual_hosts"][0]["routes"][0];
    assert_eq!(route["route"]["cluster"], "upstream");
    let cluster = &b["static_resources"]["clusters"][0];
    assert_eq!(cluster["name"], "upstream");
    assert_eq!(cluster["type"], "STRICT_DNS", "a name is resolved");
    let endpoint = &cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"];
    assert_eq!(
        endpoint["address"]["socket_address"],
        serde_json::json!({"address": "orders.internal", "port_value": 8443})
    );

    // The defaults: 127.0.0.1:8080 (an address: STATIC), port 10000, admin 9901.
    let r = run(&["envoy", &file, "--bootstrap"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b: Value = serde_norway::from_str(&r.stdout).unwrap();
    assert_eq!(
        b["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"],
        10000
    );
    assert_eq!(b["admin"]["address"]["socket_address"]["port_value"], 9901);
    let cluster = &b["static_resources"]["clusters"][0];
    assert_eq!(cluster["type"], "STATIC");
    assert_eq!(
        cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
            ["socket_address"],
        serde_json::json!({"address": "127.0.0.1", "port_value": 8080})
    );
}

#[test]
fn mcp_policies_get_allow_on_headers_stop_iteration_in_the_bootstrap() {
    let d = dir("bootstrap_mcp");
    let (_, jwks) = key(&d);
    let file = write(&d, "mcp.json", &mcp_policy(&jwks).to_string());
    let r = run(&["envoy", &file, "--bootstrap"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b: Value = serde_norway::from_str(&r.stdout).unwrap();
    let config = &hcm(&b)["http_filters"][0]["typed_config"]["config"];
    assert_eq!(config["allow_on_headers_stop_iteration"], true);
}

#[test]
fn bootstrap_options_are_checked() {
    let d = dir("bootstrap_usage");
    let (_, jwks) = key(&d);
    let file = write(&d, "policy.json", &orders_policy(&jwks).to_string());
    // --upstream, --port, --admin-port need --bootstrap.
    for flag in [
        ["--upstream", "127.0.0.1:80"],
        ["--port", "1"],
        ["--admin-port", "2"],
    ] {
        let r = run(&["envoy", &file, flag[0], flag[1]]);
        assert_eq!(r.code, 2, "{flag:?}: {}", r.stderr);
    }
    let r = run(&["envoy", &file, "--bootstrap", "--upstream", "orders"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`--upstream orders`: expected HOST:PORT"),
        "{}",
        r.stderr
    );
    let r = run(&["envoy", &file, "--bootstrap", "--port", "9901"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("need two ports"), "{}", r.stderr);
    // A policy the filter refuses prints nothing.
    let broken = write(&d, "broken.json", r#"{"routes": []}"#);
    let r = run(&["envoy", &broken, "--bootstrap"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
