//! MCP tool-call authorization natively: the header-time decision, each message's rule, the
//! answers (JSON-RPC error bodies, `resource_metadata`), the record and `tools/list`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use workload_authz_core::{
    decide_in, decide_with_body, explain_with_body, render_denial, telemetry, Decision,
    GuestVerifier, NoConnection, Outcome, Policy, Reason, RequestView, RuntimeState,
};

fn mcp_policy() -> Policy {
    let mut config = example_policy_json();
    config["providers"]["mesh"]["audiences"] = json!(["orders", "crm"]);
    config["routes"] = json!([{
        "action": "crm.mcp",
        "match": { "path": "/mcp", "methods": ["POST"] },
        "require": { "providers": ["mesh"] },
        "mcp": {
            "resource": "https://crm.example/mcp",
            "authorization_servers": ["https://as.example"],
            "max_body_bytes": 2048,
            "methods": { "initialize": {}, "ping": {}, "tools/list": {}, "notifications/initialized": {} },
            "tools": {
                "search_customers": { "scopes": ["crm:read"] },
                "delete_customer": { "scopes": ["crm:admin"], "allow_delegation": false,
                                     "arguments": { "region": ["eu", "us"] } },
                "own_records": { "scopes": ["crm:read"], "arguments": { "owner": "{claim.sub}" } }
            },
            "resources": [ { "uri": "crm://customers/{tenant}/**", "scopes": ["crm:read"],
                             "claims": { "tenant": "{tenant}" } } ],
            "prompts": { "summarize": { "scopes": ["crm:read"] } }
        }
    }]);
    policy(&config)
}

fn claims(scope: &str) -> Value {
    overlay(good_claims(), &json!({ "aud": "crm", "scope": scope }))
}

fn headers(token: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out = vec![
        ("authorization".to_string(), format!("Bearer {token}")),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    out.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    out
}

fn call(p: &Policy, headers: &[(String, String)], body: Option<&str>) -> Decision {
    let request = RequestView {
        method: "POST",
        path: "/mcp",
        authority: "crm.example",
        headers,
    };
    let state = RuntimeState::new(p);
    let decision = match body {
        None => decide_in(p, &state, &request, &NoConnection, NOW, &GuestVerifier),
        Some(body) => decide_with_body(
            p,
            &state,
            &request,
            &NoConnection,
            body.as_bytes(),
            NOW,
            &GuestVerifier,
        ),
    };
    let (explained, _) = explain_with_body(
        p,
        &state,
        &request,
        &NoConnection,
        body.map(str::as_bytes),
        NOW,
        &GuestVerifier,
    );
    assert_eq!(decision, explained, "explain agrees with decide");
    decision
}

fn tool_call(name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
    .to_string()
}

#[test]
fn header_time_asks_for_the_body_and_token_failures_answer_at_once() {
    let p = mcp_policy();
    let token = es256(&claims("crm:read"));
    let d = call(&p, &headers(&token, &[]), None);
    assert_eq!(d.awaiting_body, Some(2048));
    assert_eq!(
        d.reason,
        Reason::InvalidMcpRequest,
        "fails closed if ignored"
    );
    let missing = call(&p, &[], None);
    assert_eq!(missing.reason, Reason::MissingToken);
    assert_eq!(missing.awaiting_body, None);
    let answer = render_denial(&missing, "crm").unwrap();
    assert_eq!(answer.status, 401);
    let challenge = &answer
        .headers
        .iter()
        .find(|(n, _)| *n == "www-authenticate")
        .unwrap()
        .1;
    assert_eq!(
        challenge,
        "Bearer realm=\"orders-api\", resource_metadata=\"https://crm.example/.well-known/oauth-protected-resource/mcp\""
            .replace("orders-api", "crm")
            .as_str()
    );
}

#[test]
fn each_tool_is_its_own_action() {
    let p = mcp_policy();
    let reader = headers(&es256(&claims("crm:read")), &[]);
    let admin = headers(&es256(&claims("crm:read crm:admin")), &[]);
    let search = tool_call("search_customers", json!({"query": "x"}));
    let d = call(&p, &reader, Some(&search));
    assert_eq!(d.reason, Reason::Allowed);
    let mcp = d.mcp.as_deref().unwrap();
    assert_eq!(mcp.method.as_deref(), Some("tools/call"));
    assert_eq!(mcp.name.as_deref(), Some("search_customers"));
    assert!(mcp
        .arguments_digest
        .as_deref()
        .unwrap()
        .starts_with("blake2b:"));
    assert!(d.scopes_unused.is_empty(), "crm:read was used by the tool");

    let delete = tool_call(
        "delete_customer",
        json!({"customer_id": "c1", "region": "eu"}),
    );
    let denied = call(&p, &reader, Some(&delete));
    assert_eq!(denied.reason, Reason::InsufficientScope);
    let answer = render_denial(&denied, "crm").unwrap();
    assert_eq!(answer.status, 403);
    let challenge = &answer
        .headers
        .iter()
        .find(|(n, _)| *n == "www-authenticate")
        .unwrap()
        .1;
    assert!(challenge.contains("scope=\"crm:admin\""), "{challenge}");
    assert!(challenge.contains("resource_metadata=\""), "{challenge}");
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["id"], 7);
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["data"]["reason"], "insufficient_scope");
    assert!(!answer.body.contains("c1"), "arguments are never echoed");

    assert_eq!(call(&p, &admin, Some(&delete)).reason, Reason::Allowed);
    let cn = tool_call("delete_customer", json!({"region": "cn"}));
    assert_eq!(
        call(&p, &admin, Some(&cn)).reason,
        Reason::ArgumentNotAllowed
    );
    let mixed = tool_call("delete_customer", json!({"region": ["eu", "cn"]}));
    assert_eq!(
        call(&p, &admin, Some(&mixed)).reason,
        Reason::ArgumentNotAllowed
    );
    let unknown = tool_call("drop_database", json!({}));
    let d = call(&p, &admin, Some(&unknown));
    assert_eq!(d.reason, Reason::ToolNotAllowed);
    assert_eq!(
        d.mcp.as_deref().unwrap().tool_label.as_deref(),
        Some("other")
    );
}

#[test]
fn delegation_claims_and_resources() {
    let p = mcp_policy();
    let delegated = overlay(
        claims("crm:read crm:admin"),
        &json!({"act": {"sub": "spiffe://prod.example/ns/ai/sa/agent"}}),
    );
    let agent = headers(&es256(&delegated), &[]);
    let delete = tool_call("delete_customer", json!({"region": "eu"}));
    assert_eq!(
        call(&p, &agent, Some(&delete)).reason,
        Reason::DelegationTooDeep
    );
    let sub = "spiffe://prod.example/ns/shop/sa/checkout";
    let reader = headers(&es256(&claims("crm:read")), &[]);
    let own = tool_call("own_records", json!({"owner": sub}));
    assert_eq!(call(&p, &reader, Some(&own)).reason, Reason::Allowed);
    let other = tool_call("own_records", json!({"owner": "spiffe://x/y"}));
    assert_eq!(
        call(&p, &reader, Some(&other)).reason,
        Reason::ArgumentNotAllowed
    );
    let read = |uri: &str| {
        json!({"jsonrpc": "2.0", "id": "r", "method": "resources/read", "params": {"uri": uri}})
            .to_string()
    };
    assert_eq!(
        call(&p, &reader, Some(&read("crm://customers/acme/42"))).reason,
        Reason::Allowed
    );
    assert_eq!(
        call(&p, &reader, Some(&read("crm://customers/globex/42"))).reason,
        Reason::ClaimMismatch
    );
    assert_eq!(
        call(&p, &reader, Some(&read("crm://customers/acme/../globex/1"))).reason,
        Reason::ToolNotAllowed
    );
    assert_eq!(
        call(&p, &reader, Some(&read("crm://orders/1"))).reason,
        Reason::ToolNotAllowed
    );
}

#[test]
fn methods_notifications_and_malformed_bodies() {
    let p = mcp_policy();
    let reader = headers(&es256(&claims("crm:read")), &[]);
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    assert_eq!(call(&p, &reader, Some(ping)).reason, Reason::Allowed);
    let sampling =
        r#"{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}}"#;
    assert_eq!(
        call(&p, &reader, Some(sampling)).reason,
        Reason::McpMethodNotAllowed
    );
    let note = r#"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#;
    let d = call(&p, &reader, Some(note));
    assert_eq!(d.reason, Reason::McpMethodNotAllowed);
    assert_eq!(
        render_denial(&d, "crm").unwrap().body,
        "",
        "a notification gets no body"
    );
    for bad in [
        "",
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
        r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        "not json",
    ] {
        let d = call(&p, &reader, Some(bad));
        assert_eq!(d.reason, Reason::InvalidMcpRequest, "{bad}");
        let answer = render_denial(&d, "crm").unwrap();
        assert_eq!(answer.status, 400);
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(body["id"], Value::Null);
        assert_eq!(body["error"]["code"], -32600);
    }
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(3000)
    );
    let d = call(&p, &reader, Some(&big));
    assert_eq!(d.reason, Reason::BodyTooLarge);
    assert_eq!(render_denial(&d, "crm").unwrap().status, 413);
}

#[test]
fn mcp_headers_must_agree_with_the_body() {
    let p = mcp_policy();
    let token = es256(&claims("crm:read"));
    let search = tool_call("search_customers", json!({}));
    let with = |extra: &[(&str, &str)]| call(&p, &headers(&token, extra), Some(&search)).reason;
    assert_eq!(
        with(&[
            ("mcp-method", "tools/call"),
            ("mcp-name", "search_customers")
        ]),
        Reason::Allowed
    );
    assert_eq!(
        with(&[("mcp-method", "tools/list")]),
        Reason::McpHeaderMismatch
    );
    assert_eq!(
        with(&[("mcp-name", "delete_customer")]),
        Reason::McpHeaderMismatch
    );
    // `=?base64?...?=` is decoded before comparing.
    assert_eq!(
        with(&[("mcp-name", "=?base64?c2VhcmNoX2N1c3RvbWVycw==?=")]),
        Reason::Allowed
    );
    assert_eq!(
        with(&[
            ("mcp-name", "search_customers"),
            ("mcp-name", "delete_customer")
        ]),
        Reason::AmbiguousHeader
    );
}

#[test]
fn tools_list_offers_only_what_the_caller_may_call() {
    let p = mcp_policy();
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let reader = call(&p, &headers(&es256(&claims("crm:read")), &[]), Some(list));
    assert_eq!(reader.reason, Reason::Allowed);
    let visible = reader
        .mcp
        .as_deref()
        .unwrap()
        .visible_tools
        .clone()
        .unwrap();
    assert_eq!(visible, ["own_records", "search_customers"]);
    let admin = call(
        &p,
        &headers(&es256(&claims("crm:read crm:admin")), &[]),
        Some(list),
    );
    let visible = admin.mcp.as_deref().unwrap().visible_tools.clone().unwrap();
    assert_eq!(
        visible,
        ["delete_customer", "own_records", "search_customers"]
    );
}

#[test]
fn shadow_mode_and_the_record() {
    let mut config = mcp_policy_json_shadow();
    config["mode"] = json!("shadow");
    let p = policy(&config);
    let reader = headers(&es256(&claims("crm:read")), &[]);
    let d = call(
        &p,
        &reader,
        Some(&tool_call("drop_database", json!({"x": 1}))),
    );
    assert_eq!(d.outcome, Outcome::ShadowDeny);
    assert!(render_denial(&d, "crm").is_none());
    let record = telemetry::record(&d, &p);
    assert_eq!(record["mcp_method"], "tools/call");
    assert_eq!(record["mcp_name"], "drop_database");
    assert!(record["mcp_arguments"]
        .as_str()
        .unwrap()
        .starts_with("blake2b:"));
    assert_eq!(telemetry::record_json(&d, &p), record.to_string());
}

fn mcp_policy_json_shadow() -> Value {
    let mut config = example_policy_json();
    config["providers"]["mesh"]["audiences"] = json!(["crm"]);
    config["routes"] = json!([{
        "action": "crm.mcp",
        "match": { "path": "/mcp", "methods": ["POST"] },
        "mcp": { "resource": "https://crm.example/mcp", "tools": { "search": {} } }
    }]);
    config
}

#[test]
fn the_body_must_be_labelled_json() {
    let p = mcp_policy();
    let token = es256(&claims("crm:read"));
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let with_type = |types: &[&str]| {
        let mut h = vec![("authorization".to_string(), format!("Bearer {token}"))];
        h.extend(
            types
                .iter()
                .map(|t| ("content-type".to_string(), t.to_string())),
        );
        call(&p, &h, Some(ping)).reason
    };
    assert_eq!(
        with_type(&["application/json; charset=utf-8"]),
        Reason::Allowed
    );
    assert_eq!(with_type(&["Application/JSON"]), Reason::Allowed);
    assert_eq!(with_type(&[]), Reason::InvalidMcpRequest);
    assert_eq!(with_type(&["text/plain"]), Reason::InvalidMcpRequest);
    assert_eq!(
        with_type(&["application/x-www-form-urlencoded"]),
        Reason::InvalidMcpRequest
    );
    assert_eq!(
        with_type(&["application/json", "text/plain"]),
        Reason::InvalidMcpRequest
    );
}
