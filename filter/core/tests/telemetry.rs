//! Decision records, shadow mode, upstream headers and metric names, natively.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use workload_authz_core::telemetry::{decisions_metric, filter_state, record, validations_metric};
use workload_authz_core::{compile, render_denial, Outcome, Reason};

const READ: &str = "/tenants/acme/orders/7";

#[test]
fn allowed_record_carries_identity_scopes_and_policy() {
    let mut value = example_policy_json();
    value["decision_record"] = json!("keys");
    let p = policy(&value);
    let claims = with(good_claims(), "jti", json!("task-42"));
    let d = judge_token(&p, "GET", READ, &es256(&claims));
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.token_id.as_deref(), Some("task-42"));
    assert_eq!(d.token_ttl_remaining, Some(240));
    assert_eq!(d.scopes_granted, vec!["orders:read", "orders:write:acme"]);
    assert_eq!(d.scopes_required, vec!["orders:read"]);
    assert_eq!(d.scopes_unused, vec!["orders:write:acme"]);
    let state: std::collections::HashMap<_, _> = filter_state(&d, &p).into_iter().collect();
    assert_eq!(state["workload_authz.decision"], "allow");
    assert_eq!(state["workload_authz.reason"], "allowed");
    assert_eq!(state["workload_authz.action"], "orders.read");
    assert_eq!(state["workload_authz.provider"], "mesh");
    assert_eq!(
        state["workload_authz.subject"],
        "spiffe://prod.example/ns/shop/sa/checkout"
    );
    assert_eq!(
        state["workload_authz.issuer"],
        "https://issuer.prod.example"
    );
    assert_eq!(state["workload_authz.jti"], "task-42");
    assert_eq!(state["workload_authz.token_ttl_remaining"], "240");
    assert_eq!(state["workload_authz.scopes_unused"], "orders:write:acme");
    assert_eq!(state["workload_authz.policy"], p.hash);
    assert_eq!(p.hash.len(), 16);
    let record: Value = serde_json::from_str(&state["workload_authz.record"]).unwrap();
    assert_eq!(record["decision"], "allow");
    assert_eq!(record["scopes_unused"], json!(["orders:write:acme"]));
    assert_eq!(
        decisions_metric(&d),
        "decision=.=allow;.;reason=.=allowed;.;action=.=orders.read;.;workload_authz_decisions_total"
    );
    assert_eq!(
        validations_metric(&d).unwrap(),
        "provider=.=mesh;.;result=.=valid;.;workload_authz_token_validations_total"
    );
}

#[test]
fn scopes_any_counts_only_the_scope_used() {
    let mut value = example_policy_json();
    value["routes"][2]["require"] =
        json!({"scopes_any": ["orders:admin", "orders:write:{tenant}"]});
    let p = policy(&value);
    let claims = with(
        good_claims(),
        "scope",
        json!("orders:read orders:write:acme profile"),
    );
    let d = judge_token(&p, "POST", "/tenants/acme/orders", &es256(&claims));
    assert_eq!(d.reason, Reason::Allowed);
    assert_eq!(d.scopes_unused, vec!["orders:read", "profile"]);
}

#[test]
fn an_invalid_token_is_recorded_by_hash_never_by_content() {
    let p = policy(&example_policy_json());
    let token = other_es256(&with(good_claims(), "jti", json!("forged-jti")));
    let d = judge_token(&p, "GET", READ, &token);
    assert_eq!(d.outcome, Outcome::Deny);
    assert_eq!(d.reason, Reason::BadSignature);
    assert!(d.token_id.as_deref().unwrap().starts_with("sha256:"));
    assert_eq!(d.subject, None, "an unverified subject is never recorded");
    let all = filter_state(&d, &p)
        .into_iter()
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!all.contains(&token));
    assert!(!all.contains(token.split('.').nth(2).unwrap()));
    assert!(!all.contains("forged-jti"));
    assert_eq!(
        validations_metric(&d).unwrap(),
        "provider=.=mesh;.;result=.=bad_signature;.;workload_authz_token_validations_total"
    );
}

#[test]
fn requirement_failures_keep_a_valid_token_result() {
    let p = policy(&example_policy_json());
    let d = judge_token(
        &p,
        "GET",
        "/tenants/globex/orders/1",
        &es256(&good_claims()),
    );
    assert_eq!(d.reason, Reason::ClaimMismatch);
    assert_eq!(d.token_result, Some(Reason::Allowed));
    let d = judge(&p, "GET", READ, &[]);
    assert_eq!(d.token_result, None);
    assert_eq!(validations_metric(&d), None);
    assert_eq!(
        decisions_metric(&judge(&p, "GET", "/nowhere", &[])),
        "decision=.=deny;.;reason=.=no_route;.;action=.=none;.;workload_authz_decisions_total"
    );
}

#[test]
fn shadow_mode_records_and_lets_through() {
    let mut value = example_policy_json();
    value["mode"] = json!("shadow");
    let p = policy(&value);
    let d = judge_token(&p, "GET", READ, &other_es256(&good_claims()));
    assert_eq!(d.outcome, Outcome::ShadowDeny);
    assert_eq!(d.reason, Reason::BadSignature);
    assert!(d.proceeds());
    assert!(render_denial(&d, "r").is_none());
    assert_eq!(
        judge_token(&p, "GET", READ, &es256(&good_claims())).outcome,
        Outcome::ShadowAllow
    );
    assert_eq!(
        judge(&p, "GET", "/nowhere", &[]).outcome,
        Outcome::ShadowDeny
    );
    assert_eq!(judge(&p, "GET", "/healthz", &[]).outcome, Outcome::Public);

    // A route in enforce mode inside a shadow policy, and the other way round.
    value["routes"][1]["mode"] = json!("enforce");
    let p = policy(&value);
    assert_eq!(judge(&p, "GET", READ, &[]).outcome, Outcome::Deny);
    let mut value = example_policy_json();
    value["routes"][1]["mode"] = json!("shadow");
    let p = policy(&value);
    assert_eq!(judge(&p, "GET", READ, &[]).outcome, Outcome::ShadowDeny);
    assert_eq!(
        judge(&p, "POST", "/tenants/acme/orders", &[]).outcome,
        Outcome::Deny
    );
}

#[test]
fn claim_and_identity_headers_for_the_upstream() {
    let mut value = example_policy_json();
    value["identity_headers"] = json!(true);
    value["providers"]["mesh"]["claim_to_headers"] = json!([
        {"header_name": "x-tenant", "claim_name": "tenant"},
        {"header_name": "X-Org-Unit", "claim_name": "org.unit"},
        {"header_name": "x-groups", "claim_name": "groups"},
        {"header_name": "x-absent", "claim_name": "nope"}
    ]);
    let p = policy(&value);
    assert_eq!(
        p.stripped_headers,
        vec![
            "x-workload-subject",
            "x-workload-action",
            "x-workload-issuer",
            "x-tenant",
            "x-org-unit",
            "x-groups",
            "x-absent"
        ]
    );
    let claims = with(
        with(good_claims(), "org", json!({"unit": "sre"})),
        "groups",
        json!(["a", "b"]),
    );
    let d = judge_token(&p, "GET", READ, &es256(&claims));
    assert_eq!(d.reason, Reason::Allowed);
    let headers: Vec<(&str, &str)> = d
        .upstream_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        headers,
        vec![
            ("x-tenant", "acme"),
            ("x-org-unit", "sre"),
            ("x-groups", "WyJhIiwiYiJd"),
            (
                "x-workload-subject",
                "spiffe://prod.example/ns/shop/sa/checkout"
            ),
            ("x-workload-action", "orders.read"),
            ("x-workload-issuer", "https://issuer.prod.example"),
        ]
    );
    // An unverified token puts nothing upstream.
    let d = judge_token(&p, "GET", READ, &other_es256(&claims));
    assert!(d.upstream_headers.is_empty());
}

#[test]
fn forward_false_drops_the_token_header() {
    let mut value = example_policy_json();
    value["providers"]["mesh"]["forward"] = json!(false);
    let p = policy(&value);
    let d = judge_token(&p, "GET", READ, &es256(&good_claims()));
    assert_eq!(d.drop_header.as_deref(), Some("authorization"));
    let p = policy(&example_policy_json());
    assert_eq!(
        judge_token(&p, "GET", READ, &es256(&good_claims())).drop_header,
        None
    );
}

#[test]
fn claim_to_headers_rules() {
    for (entry, expected) in [
        (json!({"header_name": "authorization", "claim_name": "sub"}), "providers.mesh.claim_to_headers[0].header_name: `authorization` is reserved and cannot carry a claim"),
        (json!({"header_name": "x-workload-subject", "claim_name": "sub"}), "providers.mesh.claim_to_headers[0].header_name: `x-workload-subject` is reserved and cannot carry a claim"),
        (json!({"header_name": "x y", "claim_name": "sub"}), "providers.mesh.claim_to_headers[0].header_name: `x y` is not a header name"),
        (json!({"header_name": "x-a", "claim_name": "a..b"}), "providers.mesh.claim_to_headers[0].claim_name: claim path has an empty segment"),
        (json!({"header": "x-a", "claim_name": "a"}), "providers.mesh.claim_to_headers[0].header: unknown field (did you mean `header_name`?)"),
    ] {
        let mut value = example_policy_json();
        value["providers"]["mesh"]["claim_to_headers"] = json!([entry]);
        let errors = compile(&value.to_string()).unwrap_err().to_string();
        assert!(errors.contains(expected), "{expected}\nnot in\n{errors}");
    }
}

#[test]
fn policy_hash_is_stable_and_follows_content() {
    let value = example_policy_json();
    let compact = compile(&value.to_string()).unwrap().hash;
    let pretty = compile(&serde_json::to_string_pretty(&value).unwrap())
        .unwrap()
        .hash;
    assert_eq!(compact, pretty);
    let mut changed = value.clone();
    changed["routes"][1]["require"]["scopes"] = json!(["orders:read:all"]);
    assert_ne!(compile(&changed.to_string()).unwrap().hash, compact);
}

#[test]
fn record_json_is_one_object() {
    let p = policy(&example_policy_json());
    let d = judge(&p, "GET", READ, &[]);
    let r = record(&d, &p);
    assert_eq!(r["decision"], "deny");
    assert_eq!(r["reason"], "missing_token");
    assert_eq!(r["subject"], Value::Null);
    assert_eq!(r["mode"], "enforce");
}

#[test]
fn the_record_level_selects_the_filter_state_keys() {
    let mut value = example_policy_json();
    let d_for = |value: &Value| {
        let p = policy(value);
        let d = judge_token(&p, "GET", READ, &es256(&good_claims()));
        filter_state(&d, &p)
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    assert!(
        d_for(&value).is_empty(),
        "struct, the default: no text keys"
    );
    value["decision_record"] = json!("keys");
    assert_eq!(d_for(&value).len(), 15);
    value["decision_record"] = json!("full");
    assert_eq!(d_for(&value).len(), 15, "`full` is the old name of `keys`");
    value["decision_record"] = json!("compact");
    assert_eq!(
        d_for(&value),
        vec![
            "workload_authz.decision",
            "workload_authz.reason",
            "workload_authz.action",
            "workload_authz.record"
        ]
    );
    value["decision_record"] = json!("off");
    assert!(d_for(&value).is_empty());
    value["decision_record"] = json!("some");
    assert!(compile(&value.to_string())
        .unwrap_err()
        .to_string()
        .contains("decision_record: `some` is not a level"));
}

/// A decoded protobuf `Value` as JSON (numbers compared as the integers the record holds).
fn json_of(value: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => json!(*n as u64),
        Some(Kind::StringValue(s)) => json!(s),
        Some(Kind::BoolValue(b)) => json!(b),
        Some(Kind::StructValue(s)) => Value::Object(
            s.fields
                .iter()
                .map(|(k, v)| (k.clone(), json_of(v)))
                .collect(),
        ),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(json_of).collect()),
    }
}

fn decoded_struct(bytes: &[u8]) -> Value {
    use prost::Message;
    let decoded = prost_types::Struct::decode(bytes).expect("a valid Struct");
    json_of(&prost_types::Value {
        kind: Some(prost_types::value::Kind::StructValue(decoded)),
    })
}

#[test]
fn the_struct_record_decodes_to_the_json_record() {
    let p = policy(&example_policy_json());
    let claims = with(good_claims(), "jti", json!("task-42"));
    let allowed = judge_token(&p, "GET", READ, &es256(&claims));
    let expired = judge_token(
        &p,
        "GET",
        READ,
        &es256(&with(good_claims(), "exp", json!(1))),
    );
    let no_token = judge(&p, "GET", READ, &[]);
    for d in [&allowed, &expired, &no_token] {
        let bytes = workload_authz_core::telemetry::record_struct(d, &p);
        assert_eq!(decoded_struct(&bytes), record(d, &p), "{:?}", d.reason);
    }
    let bytes = workload_authz_core::telemetry::record_struct(&allowed, &p);
    assert_eq!(decoded_struct(&bytes)["token_ttl_remaining"], json!(240));
    assert_eq!(decoded_struct(&bytes)["jti"], json!("task-42"));
}
