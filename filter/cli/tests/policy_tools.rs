//! `check`, `lint`, `envoy` and `istio` against the built binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[test]
fn check_accepts_a_good_policy_in_json_and_yaml() {
    let d = dir("check_good");
    let (_, jwks) = key(&d);
    let policy = orders_policy(&jwks);
    let json_file = write(
        &d,
        "policy.json",
        &serde_json::to_string_pretty(&policy).unwrap(),
    );
    let r = run(&["check", &json_file]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(": ok (1 provider(s), 3 route(s), mode enforce, policy "),
        "{}",
        r.stdout
    );

    let yaml_file = write(
        &d,
        "policy.yaml",
        &serde_norway::to_string(&policy).unwrap(),
    );
    let y = run(&["check", &yaml_file, "--format", "json"]);
    assert_eq!(y.code, 0, "{}{}", y.stdout, y.stderr);
    let j = run(&["check", &json_file, "--format", "json"]).json();
    assert_eq!(
        y.json()["hash"],
        j["hash"],
        "YAML and JSON compile to the same policy"
    );
    assert_eq!(j["ok"], true);

    // Standard input, and the shipped example policy.
    let s = run_stdin(&["check", "-"], &policy.to_string());
    assert_eq!(s.code, 0, "{}", s.stderr);
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policy.json");
    assert_eq!(run(&["check", example]).code, 0);
}

#[test]
fn check_lists_every_error_with_its_path_and_a_hint() {
    let d = dir("check_broken");
    let (_, jwks) = key(&d);
    let mut policy = orders_policy(&jwks);
    policy["routes"][1]["require"]["scope"] = json!(["orders:read"]);
    policy["routes"][2]["require"]["scopes"] = json!(["orders:write:{tennant}"]);
    policy["routes"][2]["require"]["providers"] = json!(["meshh"]);
    policy["routes"][0]
        .as_object_mut()
        .unwrap()
        .remove("action");
    policy["providers"]["mesh"]["algorithms"] = json!(["HS256"]);
    let file = write(
        &d,
        "broken.json",
        &serde_json::to_string_pretty(&policy).unwrap(),
    );
    let r = run(&["check", &file]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let expected = [
        "routes[1].require.scope: unknown field (did you mean `scopes`?)",
        "routes[2].require.scopes[0]: unknown capture {tennant}",
        "routes[2].require.providers[0]: unknown provider `meshh`",
        "routes[0].action: required field is missing",
        "providers.mesh.algorithms[0]: `HS256` is symmetric",
    ];
    for e in expected {
        assert!(r.stdout.contains(e), "missing `{e}` in:\n{}", r.stdout);
    }
    let errors = r.stdout.lines().filter(|l| l.contains(": error: ")).count();
    let hints = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("  hint: "))
        .count();
    assert_eq!(errors, 5, "{}", r.stdout);
    assert_eq!(hints, errors, "one hint per error:\n{}", r.stdout);
    assert!(r.stdout.contains("captures {tenant}"), "{}", r.stdout);
    assert!(
        r.stdout.contains("the providers declared are: `mesh`"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("5 error(s)"), "{}", r.stdout);
    // Errors carry the line of the field (JSON files).
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("unknown capture"))
        .unwrap();
    let number: usize = line
        .strip_prefix(&format!("{file}:"))
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line number in {line}"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.lines().nth(number - 1).unwrap().contains("tennant"),
        "line {number} of the file is not the scope"
    );

    let j = run(&["check", &file, "--format", "json"]);
    assert_eq!(j.code, 1);
    let v = j.json();
    assert_eq!(v["ok"], false);
    let list = v["errors"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert!(list
        .iter()
        .all(|e| e["path"].is_string() && e["hint"].as_str().is_some_and(|h| !h.is_empty())));
}

/// `check` prints the core's message and hint, word for word, for each error (text and JSON).
#[test]
fn check_prints_the_cores_message_and_hint() {
    let d = dir("check_core_hints");
    let (_, jwks) = key(&d);
    let mut policy = orders_policy(&jwks);
    policy["routes"][2]["require"]["scopes"] = json!(["orders:write:{tennant}"]);
    policy["routes"][2]["require"]["providers"] = json!(["meshh"]);
    policy["routes"][1]["mode"] = json!("audit");
    policy["providers"]["mesh"]["algorithms"] = json!(["HS256"]);
    let text = serde_json::to_string_pretty(&policy).unwrap();
    let file = write(&d, "hints.json", &text);
    let errors = workload_authz_core::compile(&text).unwrap_err().0;
    assert_eq!(errors.len(), 4, "{errors:#?}");

    let r = run(&["check", &file]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    for error in &errors {
        let at = lines
            .iter()
            .position(|l| l.ends_with(&format!(": error: {error}")))
            .unwrap_or_else(|| panic!("no line for `{error}`:\n{}", r.stdout));
        assert_eq!(
            lines.get(at + 1).copied(),
            Some(format!("  hint: {}", error.hint()).as_str()),
            "the hint of `{error}`"
        );
    }
    let kinds = |text: &str| errors.iter().any(|e| e.hint().contains(text));
    assert!(kinds("captures {tenant}"), "{errors:#?}");
    assert!(kinds("the providers declared are: `mesh`"), "{errors:#?}");
    assert!(kinds("use \"enforce\" or \"shadow\""), "{errors:#?}");

    let v = run(&["check", &file, "--format", "json"]).json();
    let listed = v["errors"].as_array().unwrap();
    assert_eq!(listed.len(), errors.len());
    for (json, error) in listed.iter().zip(&errors) {
        assert_eq!(json["message"], error.to_string());
        assert_eq!(json["hint"], error.hint());
    }
}

#[test]
fn check_reports_syntax_errors_and_reads_istio_manifests() {
    let d = dir("check_syntax");
    let bad_json = write(&d, "bad.json", "{\"routes\": [");
    let r = run(&["check", &bad_json]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("not valid JSON"), "{}", r.stdout);
    let bad_yaml = write(&d, "bad.yaml", "routes:\n  - action: a\n   match: [\n");
    let r = run(&["check", &bad_yaml]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("not valid YAML"), "{}", r.stdout);
    // A YAML policy with errors: every one is listed.
    let yaml = write(
        &d,
        "errors.yaml",
        "mode: strict\nroutes:\n  - action: x\n    match: {path: nope}\n    publik: true\n",
    );
    let r = run(&["check", &yaml]);
    assert_eq!(r.code, 1);
    for e in [
        "mode: `strict` is not a mode",
        "routes[0].match.path: must start with `/`",
        "routes[0].publik: unknown field (did you mean `public`?)",
    ] {
        assert!(r.stdout.contains(e), "missing `{e}`:\n{}", r.stdout);
    }
    // The Istio examples carry the policy as pluginConfig.
    let istio = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/istio/wasmplugin-sidecar.yaml"
    );
    if std::path::Path::new(istio).exists() {
        let r = run(&["check", istio]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
    // Usage errors exit 2.
    assert_eq!(run(&["check"]).code, 2);
    assert_eq!(run(&["check", "/nonexistent/policy.json"]).code, 2);
}

/// A policy crafted to trigger every lint code of an enforcing policy.
fn noisy_policy(jwks: &str) -> Value {
    json!({
        "providers": {
            "mesh": {"issuer": ISS, "audiences": ["orders"], "local_jwks": {"inline_string": jwks},
                     "max_lifetime_seconds": 900},
            "legacy": {"issuer": "https://legacy.example", "audiences": ["orders"],
                       "local_jwks": {"inline_string": jwks}}
        },
        "routes": [
            {"action": "health", "match": {"path": "/healthz"}, "public": true},
            {"action": "orders.write", "match": {"path": "/tenants/{tenant}/orders", "methods": ["POST"]},
             "require": {"providers": ["legacy"], "scopes": ["orders:write:{tenant}"]}},
            {"action": "orders.update", "match": {"path": "/tenants/{tenant}/orders/{id}", "methods": ["PUT"]},
             "require": {"providers": ["mesh"], "scopes": ["orders:write:{tenant}"]}},
            {"action": "orders.read", "match": {"path": "/tenants/{tenant}/orders/{id}", "methods": ["GET"]},
             "require": {"providers": ["mesh"]}},
            {"action": "admin", "match": {"path": "/admin/**", "methods": ["GET"]},
             "require": {"providers": ["mesh"], "scopes": ["admin", "admin"]}},
            {"action": "orders.read.acme", "match": {"path": "/tenants/acme/orders/{id}", "methods": ["GET"]},
             "require": {"providers": ["mesh"], "scopes": ["orders:read"]}},
            {"action": "catalog.read", "match": {"path": "/catalog", "methods": ["GET"]}, "mode": "shadow",
             "require": {"providers": ["mesh"], "scopes": ["catalog:read"],
                         "scopes_any": ["catalog:read", "catalog:admin"]}}
        ]
    })
}

fn codes(v: &Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lint_reports_every_code() {
    let d = dir("lint_noisy");
    let (_, jwks) = key(&d);
    let file = write(
        &d,
        "noisy.json",
        &serde_json::to_string_pretty(&noisy_policy(&jwks)).unwrap(),
    );
    let scopes = write(
        &d,
        "scopes.txt",
        "# what the IdP grants\norders:write:acme catalog:read\nbilling:admin\n",
    );
    let r = run(&["lint", &file, "--format", "json", "--scopes", &scopes]);
    assert_eq!(r.code, 1, "errors fail by default:\n{}", r.stdout);
    let v = r.json();
    let found = codes(&v);
    for code in [
        "WA001", "WA002", "WA003", "WA004", "WA005", "WA006", "WA007", "WA008", "WA009", "WA010",
        "WA012",
    ] {
        assert!(
            found.contains(code),
            "{code} not reported: {found:?}\n{:#}",
            v
        );
    }
    let find = |code: &str| -> Vec<Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .cloned()
            .collect()
    };
    assert_eq!(find("WA001")[0]["path"], "routes[1]");
    assert!(find("WA001")[0]["message"]
        .as_str()
        .unwrap()
        .contains("`legacy`"));
    assert!(find("WA002")[0]["message"]
        .as_str()
        .unwrap()
        .contains("900s"));
    assert_eq!(find("WA003")[0]["path"], "routes[3]");
    assert_eq!(find("WA004")[0]["path"], "providers.legacy");
    assert_eq!(find("WA005")[0]["path"], "routes[4].match.path");
    let unreachable = find("WA006");
    assert_eq!(unreachable.len(), 1, "{unreachable:?}");
    assert_eq!(unreachable[0]["path"], "routes[5]");
    assert!(unreachable[0]["message"]
        .as_str()
        .unwrap()
        .contains("routes[3]"));
    assert_eq!(find("WA007").len(), 2, "duplicate and scopes_any-in-scopes");
    assert!(find("WA008")[0]["message"]
        .as_str()
        .unwrap()
        .contains("billing:admin"));
    assert!(find("WA009")
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("`admin`")));
    assert_eq!(find("WA010")[0]["path"], "routes[6].mode");
    assert_eq!(find("WA012")[0]["path"], "routes[0].match");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["line"].as_u64().is_some()));
    assert_eq!(v["failed"], true);
    assert_eq!(v["summary"]["error"], 2);

    // The threshold moves WA002; --fail-on moves the exit code.
    let r = run(&[
        "lint",
        &file,
        "--format",
        "json",
        "--max-write-lifetime",
        "900",
    ]);
    assert!(!codes(&r.json()).contains("WA002"));
    assert!(
        !codes(&r.json()).contains("WA008"),
        "WA008/WA009 need --scopes"
    );

    // Text output: one line per finding plus a help line, and a summary.
    let t = run(&["lint", &file]);
    assert_eq!(t.code, 1);
    assert!(
        t.stdout.contains(
            "error[WA001] write-without-lifetime-limit: route `orders.write` (routes[1])"
        ),
        "{}",
        t.stdout
    );
    assert!(t.stdout.contains("  help: "), "{}", t.stdout);
    assert!(t.stdout.contains("--fail-on error: fail"), "{}", t.stdout);
}

#[test]
fn lint_shadow_policy_invalid_policy_and_clean_policy() {
    let d = dir("lint_modes");
    let (_, jwks) = key(&d);
    let mut policy = orders_policy(&jwks);
    let clean = write(&d, "clean.json", &policy.to_string());
    let r = run(&["lint", &clean, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["summary"]["error"], 0);
    assert!(codes(&r.json()).is_empty(), "{}", r.stdout);
    // The shipped example has no error-level finding.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policy.json");
    assert_eq!(run(&["lint", example]).code, 0);

    policy["mode"] = json!("shadow");
    let shadow = write(&d, "shadow.json", &policy.to_string());
    let r = run(&["lint", &shadow, "--format", "json"]);
    assert_eq!(r.code, 0, "a warning passes --fail-on error");
    assert!(codes(&r.json()).contains("WA011"));
    assert_eq!(run(&["lint", &shadow, "--fail-on", "warning"]).code, 1);
    assert_eq!(run(&["lint", &shadow, "--fail-on", "note"]).code, 1);

    let broken = write(&d, "broken.json", r#"{"routes": [{"action": "a"}]}"#);
    let r = run(&["lint", &broken, "--format", "json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(codes(&v), BTreeSet::from(["WA000".to_string()]));
    assert_eq!(v["findings"][0]["path"], "routes[0].match");
}

#[test]
fn lint_sarif_is_sarif_2_1_0() {
    let d = dir("lint_sarif");
    let (_, jwks) = key(&d);
    let file = write(
        &d,
        "noisy.json",
        &serde_json::to_string_pretty(&noisy_policy(&jwks)).unwrap(),
    );
    let r = run(&["lint", &file, "--format", "sarif"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run0 = &v["runs"][0];
    let driver = &run0["tool"]["driver"];
    assert_eq!(driver["name"], "workload-authz");
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 18);
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(rule["id"], format!("WA{i:03}"));
        assert!(rule["shortDescription"]["text"].is_string());
        assert!(["error", "warning", "note"]
            .contains(&rule["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    let results = run0["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let id = result["ruleId"].as_str().unwrap();
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(result["message"]["text"].is_string());
        let loc = &result["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], file.as_str());
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn envoy_and_istio_embed_the_policy() {
    let d = dir("deploy");
    let (_, jwks) = key(&d);
    let policy = orders_policy(&jwks);
    let file = write(&d, "policy.json", &policy.to_string());
    let hash = run(&["check", &file, "--format", "json"]).json()["hash"].clone();

    let r = run(&["envoy", &file, "--wasm", "/opt/wasm/workload_authz.wasm"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snippet: Value = serde_norway::from_str(&r.stdout).unwrap();
    let filter = &snippet[0];
    assert_eq!(filter["name"], "workload_authz");
    let config = &filter["typed_config"]["config"];
    assert_eq!(
        filter["typed_config"]["@type"],
        "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
    );
    assert_eq!(config["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
    assert_eq!(
        config["vm_config"]["code"]["local"]["filename"],
        "/opt/wasm/workload_authz.wasm"
    );
    assert_eq!(
        config["configuration"]["@type"],
        "type.googleapis.com/google.protobuf.StringValue"
    );
    let embedded = config["configuration"]["value"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(embedded).unwrap(), policy);
    let again = run_stdin(&["check", "-", "--format", "json"], embedded);
    assert_eq!(again.json()["hash"], hash);

    let sha = "ab".repeat(32);
    let r = run(&[
        "istio",
        &file,
        "--image",
        "oci://registry.example.com/security/workload-authz:0.1.0",
        "--sha256",
        &sha,
        "--namespace",
        "shop",
        "--selector",
        "app=orders",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest: Value = serde_norway::from_str(&r.stdout).unwrap();
    assert_eq!(manifest["apiVersion"], "extensions.istio.io/v1alpha1");
    assert_eq!(manifest["kind"], "WasmPlugin");
    assert_eq!(manifest["metadata"]["namespace"], "shop");
    let spec = &manifest["spec"];
    assert_eq!(spec["selector"]["matchLabels"]["app"], "orders");
    assert_eq!(
        spec["url"],
        "oci://registry.example.com/security/workload-authz:0.1.0"
    );
    assert_eq!(spec["sha256"], sha.as_str());
    assert_eq!(spec["phase"], "AUTHN");
    assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
    assert_eq!(spec["type"], "HTTP");
    assert_eq!(spec["pluginConfig"], policy);
    // The manifest itself is a valid input of `check` (its pluginConfig), with the same hash.
    let manifest_file = write(&d, "wasmplugin.yaml", &r.stdout);
    assert_eq!(
        run(&["check", &manifest_file, "--format", "json"]).json()["hash"],
        hash
    );

    // Refusals: a bad image URL, a bad digest, a broken policy.
    assert_eq!(run(&["istio", &file, "--image", "registry/x:1"]).code, 2);
    assert_eq!(
        run(&["istio", &file, "--image", "oci://r/x:1", "--sha256", "zz"]).code,
        2
    );
    let broken = write(&d, "broken.json", r#"{"routes": []}"#);
    let r = run(&["envoy", &broken]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("routes: must declare at least one route"),
        "{}",
        r.stderr
    );
}

#[test]
fn lint_warns_when_a_trailing_slash_changes_the_route() {
    let d = dir("lint_trailing_slash");
    let (_, jwks) = key(&d);
    let policy = json!({
        "providers": {"mesh": {"issuer": "https://mesh.example", "audiences": ["svc"],
                               "max_lifetime_seconds": 300,
                               "local_jwks": {"inline_string": jwks}}},
        "routes": [
            {"action": "console", "match": {"path": "/console", "methods": ["GET"]},
             "require": {"scopes": ["admin"]}},
            {"action": "tree", "match": {"path": "/tree/**", "methods": ["GET"]},
             "require": {"scopes": ["admin"]}},
            {"action": "slashed", "match": {"path": "/slashed/", "methods": ["GET"]},
             "require": {"scopes": ["admin"]}},
            {"action": "alone", "match": {"path": "/alone/{id}", "methods": ["GET"], "hosts": ["api.example"]},
             "require": {"scopes": ["admin"]}},
            {"action": "rest", "match": {"path": "/**", "methods": ["GET"]},
             "require": {"scopes": ["orders:read"]}}
        ]
    });
    let file = write(
        &d,
        "slash.json",
        &serde_json::to_string_pretty(&policy).unwrap(),
    );
    let r = run(&["lint", &file, "--format", "json"]);
    let v = r.json();
    let wa013: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "WA013")
        .collect();
    let paths: Vec<&str> = wa013.iter().map(|f| f["path"].as_str().unwrap()).collect();
    // `/console/` and `/alone/x/` fall to `rest`; `/slashed/` is refused because `/slashed`
    // reaches `rest`; `/tree/**` covers both forms.
    assert_eq!(
        paths,
        vec![
            "routes[0].match.path",
            "routes[2].match.path",
            "routes[3].match.path"
        ],
        "{v:#}"
    );
    let message = wa013[0]["message"].as_str().unwrap();
    assert!(
        message.contains("`GET /console/` reaches routes[4] `rest`")
            && message.contains("`/console` reaches routes[0] `console`"),
        "{message}"
    );
    assert!(wa013[2]["message"].as_str().unwrap().contains("/alone/x/"));
}

#[test]
fn lint_does_not_count_transaction_token_providers_as_accepted_on_routes() {
    let d = dir("lint_txn_provider");
    let (_, jwks) = key(&d);
    let policy = json!({
        "providers": {
            "mesh": {"issuer": ISS, "audiences": ["orders"], "local_jwks": {"inline_string": jwks},
                     "max_lifetime_seconds": 120},
            "txn": {"issuer": "https://txn.example", "audiences": ["orders"],
                    "local_jwks": {"inline_string": jwks}, "token_type": "txn_token"}
        },
        "routes": [
            {"action": "checkout", "match": {"path": "/checkout", "methods": ["POST"]},
             "require": {"scopes": ["checkout"], "transaction": {"provider": "txn"}}}
        ]
    });
    let file = write(
        &d,
        "txn.json",
        &serde_json::to_string_pretty(&policy).unwrap(),
    );
    let r = run(&["lint", &file, "--format", "json"]);
    let v = r.json();
    // The filter reads only `mesh` tokens as access tokens on `checkout` (120s): no WA001 for
    // `txn`, whose own missing limit is WA004.
    assert_eq!(r.code, 0, "{v:#}");
    assert_eq!(codes(&v), BTreeSet::from(["WA004".to_string()]), "{v:#}");
    assert_eq!(v["findings"][0]["path"], "providers.txn");
}
