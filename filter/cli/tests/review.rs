//! `workload-authz review` on generated access logs (both documented forms): every finding code
//! with its evidence, the filters, the inputs (directories, gzip, stdin), the output formats and
//! the policy proposal (`--suggest`), which `check` must accept.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{dir, orders_policy, run, run_stdin, write};
use serde_json::{json, Value};
use std::io::Write;

const T0: i64 = 1_796_187_600; // 2026-12-02T05:00:00Z
const CHECKOUT: &str = "spiffe://prod.example/ns/shop/sa/checkout";
const BILLING: &str = "spiffe://prod.example/ns/shop/sa/billing";
const AGENT: &str = "spiffe://prod.example/ns/agents/sa/planner";
const USER: &str = "user:alice";

fn rfc3339(t: i64) -> String {
    // 2026-12-02 05:00:00 plus an offset under a day.
    let s = t - T0;
    assert!((0..86_400 - 5 * 3600).contains(&s), "{s}");
    let total = 5 * 3600 + s;
    format!(
        "2026-12-02T{:02}:{:02}:{:02}.123Z",
        total / 3600,
        total % 3600 / 60,
        total % 60
    )
}

/// One record as the filter writes it.
#[allow(clippy::too_many_arguments)]
fn rec(
    t: i64,
    decision: &str,
    reason: &str,
    mode: &str,
    action: &str,
    subject: Option<&str>,
    granted: &[&str],
    required: &[&str],
    actors: &[&str],
    ttl: u64,
) -> Value {
    json!({
        "action": action, "actor_chain": actors, "decision": decision,
        "issuer": subject.map(|_| "https://issuer.prod.example"), "jti": "sha256:0011223344556677",
        "mode": mode, "policy": "0123456789abcdef", "provider": "mesh", "reason": reason,
        "scopes_granted": granted, "scopes_required": required,
        "scopes_unused": granted.iter().filter(|g| !required.contains(g)).collect::<Vec<_>>(),
        "subject": subject, "token_ttl_remaining": subject.map(|_| ttl), "txn": null,
        "_time": t,
    })
}

/// The default-form line of a record.
fn line(record: &Value) -> String {
    let mut authz = record.clone();
    let t = authz["_time"].as_i64().unwrap();
    authz.as_object_mut().unwrap().remove("_time");
    json!({"start_time": rfc3339(t), "method": "GET", "path": "/x", "authority": "api",
           "status": 200, "authz": authz})
    .to_string()
}

/// The `keys`-form line of a record (`authz_record` as JSON text beside the keys).
fn keys_line(record: &Value) -> String {
    let mut authz = record.clone();
    let t = authz["_time"].as_i64().unwrap();
    authz.as_object_mut().unwrap().remove("_time");
    let words = |v: &Value| {
        let list: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        if list.is_empty() {
            "-".to_string()
        } else {
            list.join(" ")
        }
    };
    json!({"start_time": rfc3339(t), "method": "GET", "path": "/x", "status": 200,
           "authz_decision": authz["decision"], "authz_reason": authz["reason"],
           "authz_action": authz["action"], "authz_subject": authz["subject"].as_str().unwrap_or("-"),
           "authz_scopes_granted": words(&authz["scopes_granted"]),
           "authz_record": authz.to_string()})
    .to_string()
}

/// The policy the records are judged against: the README's orders policy, a shadow route, a
/// delegated route and a route nobody calls.
fn policy() -> Value {
    let mut p = orders_policy(
        r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
    );
    p["providers"]["mesh"]
        .as_object_mut()
        .unwrap()
        .remove("max_lifetime_seconds");
    let routes = p["routes"].as_array_mut().unwrap();
    routes.push(json!({"action": "refunds.create", "mode": "shadow",
        "match": {"path": "/refunds", "methods": ["POST"]},
        "require": {"scopes": ["refunds:write"]}}));
    routes.push(
        json!({"action": "plans.read", "match": {"path": "/plans/{id}"},
        "require": {"scopes": ["plans:read"], "max_delegation_depth": 3}}),
    );
    routes.push(
        json!({"action": "admin.purge", "match": {"path": "/admin/purge", "methods": ["POST"]},
        "require": {"scopes": ["admin"]}}),
    );
    p
}

/// Mixed traffic: checkout reads (with a write scope it never uses), billing writes and is
/// refused by the shadow route, the planner agent acts for alice, a forged token, a long-lived
/// token, some expired ones.
fn traffic() -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..40 {
        out.push(rec(
            T0 + i * 30,
            "allow",
            "allowed",
            "enforce",
            "orders.read",
            Some(CHECKOUT),
            &["orders:read", "orders:write:acme"],
            &["orders:read"],
            &[],
            290,
        ));
    }
    for i in 0..6 {
        out.push(rec(
            T0 + 100 + i,
            "deny",
            "expired",
            "enforce",
            "orders.read",
            Some(CHECKOUT),
            &["orders:read"],
            &["orders:read"],
            &[],
            0,
        ));
    }
    for i in 0..10 {
        out.push(rec(
            T0 + 200 + i * 60,
            "allow",
            "allowed",
            "enforce",
            "orders.write",
            Some(BILLING),
            &["orders:write:acme"],
            &["orders:write:acme"],
            &[],
            7100,
        ));
        out.push(rec(
            T0 + 210 + i * 60,
            "shadow_deny",
            "insufficient_scope",
            "shadow",
            "refunds.create",
            Some(BILLING),
            &["orders:write:acme"],
            &["refunds:write"],
            &[],
            7000,
        ));
    }
    for i in 0..3 {
        out.push(rec(
            T0 + 300 + i,
            "shadow_deny",
            "expired",
            "shadow",
            "refunds.create",
            Some(CHECKOUT),
            &["orders:read"],
            &["refunds:write"],
            &[],
            0,
        ));
    }
    for i in 0..5 {
        out.push(rec(
            T0 + 400 + i * 10,
            "allow",
            "allowed",
            "enforce",
            "plans.read",
            Some(USER),
            &["plans:read"],
            &["plans:read"],
            &[AGENT],
            250,
        ));
    }
    for i in 0..4 {
        out.push(rec(
            T0 + 500 + i,
            "deny",
            "bad_signature",
            "enforce",
            "orders.read",
            None,
            &[],
            &[],
            &[],
            0,
        ));
    }
    out.push(rec(
        T0 + 600,
        "public",
        "public_route",
        "enforce",
        "health",
        None,
        &[],
        &[],
        &[],
        0,
    ));
    out
}

fn write_logs(name: &str) -> (std::path::PathBuf, String, String) {
    let d = dir(name);
    let lines: Vec<String> = traffic().iter().map(line).collect();
    let log = write(
        &d,
        "access.log",
        &(lines.join("\n") + "\nnot json at all\n{\"path\":\"/x\",\"authz\":null}\n"),
    );
    let policy = write(
        &d,
        "policy.json",
        &serde_json::to_string_pretty(&policy()).unwrap(),
    );
    (d, log, policy)
}

fn codes(report: &Value) -> Vec<(String, Option<String>, Option<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["workload"].as_str().map(String::from),
                f["action"].as_str().map(String::from),
            )
        })
        .collect()
}

fn find<'a>(report: &'a Value, code: &str, key: &str, value: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f[key] == value)
        .unwrap_or_else(|| panic!("no {code} with {key} = {value} in {:#}", report["findings"]))
}

#[test]
fn every_finding_names_its_workload_route_evidence_and_remedy() {
    let (_d, log, policy) = write_logs("review-findings");
    let r = run(&["review", &log, "--policy", &policy, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["inputs"]["records"], 79);
    assert_eq!(report["inputs"]["unreadable"], 1);
    assert_eq!(report["inputs"]["without_record"], 1);
    assert_eq!(report["summary"]["decisions"]["shadow_deny"], 13);

    let unused = find(&report, "RV001", "workload", CHECKOUT);
    assert_eq!(
        unused["evidence"]["scopes_unused"],
        json!(["orders:write:acme"])
    );
    assert_eq!(unused["evidence"]["count"], 49);
    assert!(unused["remedy"]
        .as_str()
        .unwrap()
        .contains("remove orders:write:acme"));

    let never = find(&report, "RV002", "action", "admin.purge");
    assert_eq!(never["route_index"], 5);
    assert!(!codes(&report)
        .iter()
        .any(|(c, _, a)| c == "RV002" && a.as_deref() == Some("health")));

    let single = find(&report, "RV004", "action", "orders.write");
    assert_eq!(single["workload"], BILLING);
    assert!(single["remedy"]
        .as_str()
        .unwrap()
        .contains(&format!("routes[2].require.subjects to [\"{BILLING}\"]")));

    let long = find(&report, "RV005", "workload", BILLING);
    assert_eq!(long["evidence"]["max_token_ttl_seconds"], 7100);
    assert!(long["remedy"]
        .as_str()
        .unwrap()
        .contains("providers.mesh.max_lifetime_seconds"));

    let depth = find(&report, "RV006", "action", "plans.read");
    assert_eq!(depth["evidence"]["depth_seen"], 1);
    assert_eq!(depth["evidence"]["depth_allowed"], 3);
    assert!(depth["remedy"]
        .as_str()
        .unwrap()
        .contains("max_delegation_depth to 1"));
    let actors = find(&report, "RV007", "action", "plans.read");
    assert_eq!(actors["evidence"]["actors"], json!([AGENT]));

    let shadow = find(&report, "RV008", "action", "refunds.create");
    assert_eq!(shadow["route_index"], 3);
    assert_eq!(shadow["evidence"]["count"], 13);
    assert!(
        shadow["message"]
            .as_str()
            .unwrap()
            .starts_with("enforcing routes[3] (refunds.create) breaks 2 workload(s)"),
        "{}",
        shadow["message"]
    );
    let workloads = shadow["evidence"]["workloads"].as_array().unwrap();
    assert_eq!(workloads.len(), 2);

    let denied = find(&report, "RV009", "workload", CHECKOUT);
    assert_eq!(denied["evidence"]["count"], 6);
    let incident = find(&report, "RV010", "workload", "(unverified token of mesh)");
    assert_eq!(incident["severity"], "error");
    assert_eq!(incident["evidence"]["count"], 4);
    assert_eq!(incident["evidence"]["peak_per_minute"], 4);
    // The most severe first.
    assert_eq!(report["findings"][0]["code"], "RV010");

    // Tables.
    let checkout = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"] == CHECKOUT)
        .unwrap();
    assert_eq!(checkout["scopes_used"], json!(["orders:read"]));
    assert_eq!(checkout["first_seen"], "2026-12-02T05:00:00Z");
    let plans = report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "plans.read")
        .unwrap();
    assert_eq!(plans["actors"], json!([AGENT]));
    assert_eq!(plans["route_index"], 4);
    assert!(report["timeline"]["buckets"].as_array().unwrap().len() >= 20);
}

#[test]
fn without_a_policy_findings_name_actions_and_policy_only_ones_are_absent() {
    let (_d, log, _policy) = write_logs("review-no-policy");
    let r = run(&["review", &log, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    let found = codes(&report);
    assert!(found.iter().any(|(c, _, _)| c == "RV001"));
    assert!(found.iter().any(|(c, _, _)| c == "RV008"));
    assert!(!found.iter().any(|(c, _, _)| c == "RV002" || c == "RV006"));
    let shadow = find(&report, "RV008", "action", "refunds.create");
    assert!(shadow["message"]
        .as_str()
        .unwrap()
        .contains("route `refunds.create`"));
}

#[test]
fn the_keys_form_gzip_directories_and_stdin_read_alike() {
    let d = dir("review-inputs");
    let records = traffic();
    let (first, second) = records.split_at(30);
    std::fs::create_dir_all(d.join("logs/old")).unwrap();
    let keys: Vec<String> = first.iter().map(keys_line).collect();
    write(&d.join("logs"), "access.log", &(keys.join("\n") + "\n"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all((second.iter().map(line).collect::<Vec<_>>().join("\n") + "\n").as_bytes())
        .unwrap();
    std::fs::write(d.join("logs/old/access.log.1.gz"), gz.finish().unwrap()).unwrap();
    let logs = d.join("logs").to_str().unwrap().to_string();
    let from_dir = run(&["review", &logs, "--format", "json"]).json();
    assert_eq!(from_dir["inputs"]["records"], 79);
    assert_eq!(from_dir["inputs"]["sources"].as_array().unwrap().len(), 2);

    let all: Vec<String> = records.iter().map(line).collect();
    let from_stdin = run_stdin(
        &["review", "-", "--format", "json"],
        &(all.join("\n") + "\n"),
    )
    .json();
    assert_eq!(from_stdin["summary"], from_dir["summary"]);
    assert_eq!(from_stdin["findings"], from_dir["findings"]);
}

#[test]
fn since_until_and_workload_select_records() {
    let (_d, log, _policy) = write_logs("review-select");
    let r = run(&[
        "review",
        &log,
        "--format",
        "json",
        "--since",
        "2026-12-02T05:05:00Z",
        "--until",
        "2026-12-02T05:10:00Z",
    ]);
    let report = r.json();
    let kept = traffic()
        .iter()
        .filter(|rec| {
            let t = rec["_time"].as_i64().unwrap();
            (T0 + 300..T0 + 600).contains(&t)
        })
        .count();
    assert_eq!(report["inputs"]["records"], kept as u64);
    assert_eq!(report["inputs"]["outside_filter"], 79 - kept as u64);
    assert_eq!(report["window"]["since"], "2026-12-02T05:05:00Z");

    let billing = run(&[
        "review",
        &log,
        "--format",
        "json",
        "--workload",
        "*/sa/billing",
    ])
    .json();
    let names: Vec<&str> = billing["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["workload"].as_str().unwrap())
        .collect();
    assert_eq!(names, [BILLING]);
    // An actor pattern selects the delegated calls it made.
    let agent = run(&["review", &log, "--format", "json", "--workload", AGENT]).json();
    assert_eq!(agent["inputs"]["records"], 5);

    let bad = run(&["review", &log, "--since", "last tuesday"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--since"), "{}", bad.stderr);
}

#[test]
fn text_sarif_and_fail_on() {
    let (_d, log, policy) = write_logs("review-formats");
    let text = run(&["review", &log, "--policy", &policy]);
    assert_eq!(text.code, 0);
    assert!(
        text.stdout.contains("error[RV010] incident-signal"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("remedy: "));
    assert!(text
        .stdout
        .contains("actor chain: spiffe://prod.example/ns/agents/sa/planner"));
    let sarif = run(&["review", &log, "--policy", &policy, "--format", "sarif"]).json();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let shadow = results.iter().find(|r| r["ruleId"] == "RV008").unwrap();
    let line = shadow["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap();
    let policy_text = std::fs::read_to_string(&policy).unwrap();
    let at = policy_text.lines().nth(line as usize - 1).unwrap();
    assert!(
        at.trim_start().starts_with('{'),
        "routes[3] starts at line {line}: {at}"
    );
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let failing = run(&["review", &log, "--fail-on", "error"]);
    assert_eq!(failing.code, 1);
    let warning_only = run(&["review", &log, "--fail-on", "error", "--workload", CHECKOUT]);
    assert_eq!(warning_only.code, 0, "{}", warning_only.stdout);
}

#[test]
fn the_proposal_narrows_to_what_was_used_and_check_accepts_it() {
    let (d, log, policy_path) = write_logs("review-suggest");
    let policy_value = policy();
    let policy = policy_path;
    let proposal = d.join("proposal.json");
    let r = run(&[
        "review",
        &log,
        "--policy",
        &policy,
        "--suggest",
        proposal.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("nothing applied"), "{}", r.stderr);
    let text = std::fs::read_to_string(&proposal).unwrap();
    let p: Value = serde_json::from_str(&text).unwrap();
    let routes = &p["routes"];
    assert_eq!(routes[1]["require"]["subjects"], json!([CHECKOUT]));
    assert_eq!(routes[1]["require"]["allow_delegation"], false);
    assert_eq!(routes[2]["require"]["subjects"], json!([BILLING]));
    assert_eq!(routes[4]["require"]["max_delegation_depth"], 1);
    assert_eq!(routes[4]["require"]["actor"]["subjects"], json!([AGENT]));
    assert_eq!(routes[4]["require"]["subjects"], json!([USER]));
    // The shadow route saw no request pass, the unused route none at all: left as they were.
    assert_eq!(routes[3], policy_value["routes"][3]);
    assert_eq!(routes[5], policy_value["routes"][5]);
    assert_eq!(p["providers"]["mesh"]["max_lifetime_seconds"], 7140);
    // The layout is the policy's: member order kept, unchanged lines identical.
    let original = std::fs::read_to_string(&policy).unwrap();
    let same = original
        .lines()
        .filter(|l| text.lines().any(|t| t == *l))
        .count();
    assert!(
        same * 10 >= original.lines().count() * 8,
        "{same} of {} lines kept",
        original.lines().count()
    );
    let check = run(&["check", proposal.to_str().unwrap()]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    let lint = run(&["lint", proposal.to_str().unwrap(), "--format", "json"]);
    assert_ne!(lint.code, 2, "{}", lint.stderr);
    assert!(!lint.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "WA000"));
    // Without --policy there is nothing to narrow.
    let refused = run(&["review", &log, "--suggest", proposal.to_str().unwrap()]);
    assert_eq!(refused.code, 2);
}

#[test]
fn mcp_tools_never_called_or_called_by_one_agent() {
    let d = dir("review-mcp");
    let policy = write(
        &d,
        "policy.json",
        &serde_json::to_string_pretty(&common::mcp_policy(
            r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
        ))
        .unwrap(),
    );
    let mut lines = Vec::new();
    for (i, (method, name)) in [
        ("tools/call", Some("search_customers")),
        ("tools/call", Some("search_customers")),
        ("tools/list", None),
        ("prompts/get", Some("summarize")),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = rec(
            T0 + i as i64,
            "allow",
            "allowed",
            "enforce",
            "crm.mcp",
            Some(AGENT),
            &["crm:read"],
            &["crm:read"],
            &[],
            120,
        );
        r["mcp_method"] = json!(method);
        r["mcp_name"] = json!(name);
        r["mcp_arguments"] = json!("blake2b:0011223344556677");
        lines.push(line(&r));
    }
    let log = write(&d, "access.log", &(lines.join("\n") + "\n"));
    let report = run(&["review", &log, "--policy", &policy, "--format", "json"]).json();
    let never: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "RV003")
        .map(|f| f["tool"].as_str().unwrap())
        .collect();
    assert_eq!(never, ["tools/call delete_customer"]);
    let never = find(&report, "RV003", "tool", "tools/call delete_customer");
    assert_eq!(never["route_index"], 0);
    assert!(never["remedy"]
        .as_str()
        .unwrap()
        .contains("mcp.tools.delete_customer"));
    let single = find(&report, "RV004", "tool", "tools/call search_customers");
    assert_eq!(single["workload"], AGENT);
    let tools: Vec<&str> = report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["tool"].as_str())
        .collect();
    assert_eq!(
        tools,
        [
            "prompts/get summarize",
            "tools/call search_customers",
            "tools/list"
        ]
    );
}

#[test]
fn the_html_report_is_one_self_contained_file_with_its_charts() {
    let (d, log, policy) = write_logs("review-html");
    let out = d.join("review.html");
    let r = run(&[
        "review",
        &log,
        "--policy",
        &policy,
        "--format",
        "html",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
        "{}",
        &html[..60]
    );
    for id in ["chart-timeline", "chart-denials", "chart-scopes"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    for finding in ["RV001", "RV008", "RV010"] {
        assert!(html.contains(finding), "{finding}");
    }
    assert!(!html.contains("<script"));
    assert!(!html.contains("src="));
    assert!(html.contains(CHECKOUT));
}
