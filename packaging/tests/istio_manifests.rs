//! Every `WasmPlugin` under `examples/` against Istio's CRD (`../shared/istio/wasmplugin-crd.yaml`):
//!
//! * the `openAPIV3Schema` of the manifest's version, as a JSON schema (draft 4, what OpenAPI v3
//!   schemas are), made strict the way `kubectl apply --validate=strict` is: an unknown field
//!   is an error, except under `x-kubernetes-preserve-unknown-fields`;
//! * the CRD's CEL rules (`x-kubernetes-validations`), each implemented here; a rule this test
//!   does not know fails the test, so a new CRD is noticed;
//! * `x-kubernetes-list-type: map` keys unique;
//! * `pluginConfig` compiled by `workload_authz_core::compile`, the code behind `on_configure`;
//! * `sha256`: 64 hex digits, and either `pin::PLACEHOLDER` (what the tracked examples carry) or
//!   the value for the current build (module sha256 for http(s) URLs, image digest for oci://
//!   URLs); with `WORKLOAD_AUTHZ_CHECK_SHA` set, only the build's value (`make dist` runs this
//!   on its pinned copies, `WORKLOAD_AUTHZ_MANIFESTS=dist/istio`).
//!
//! `WORKLOAD_AUTHZ_MANIFESTS` (a directory, relative to the workspace root) replaces `examples/`.
//!
//! The telemetry examples may only name filter-state keys the filter writes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use workload_authz_packaging::{pin, workspace_root};

fn crd_path() -> PathBuf {
    workspace_root()
        .join("..")
        .join("shared")
        .join("istio")
        .join("wasmplugin-crd.yaml")
}

/// YAML documents of a file (multi-document), as JSON values.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if !v.is_null() {
            out.push(v);
        }
    }
    out
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// The manifests checked: `WORKLOAD_AUTHZ_MANIFESTS`, else `examples/`.
fn manifests_root() -> PathBuf {
    match std::env::var_os("WORKLOAD_AUTHZ_MANIFESTS") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("examples"),
    }
}

/// Every `WasmPlugin` document under the manifests root: (file, document).
fn wasm_plugins() -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    yaml_files(&manifests_root(), &mut files);
    files
        .into_iter()
        .flat_map(|f| {
            documents(&f)
                .into_iter()
                .filter(|d| d["kind"] == "WasmPlugin")
                .map(move |d| (f.clone(), d))
        })
        .collect()
}

/// Adds `additionalProperties: false` to every object schema with `properties` (unless it
/// preserves unknown fields or already says something about additional properties).
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
            if map.contains_key("properties")
                && !preserve
                && !map.contains_key("additionalProperties")
            {
                map.insert("additionalProperties".into(), json!(false));
            }
            for (_, v) in map.iter_mut() {
                strict(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

struct Crd {
    /// The `spec`/`status` schema (of the whole object minus apiVersion/kind/metadata).
    schema: Value,
    validator: jsonschema::Validator,
}

fn load_crd(api_version: &str) -> Crd {
    let docs = documents(&crd_path());
    let crd = &docs[0];
    assert_eq!(crd["kind"], "CustomResourceDefinition");
    let (group, version) = api_version.split_once('/').unwrap();
    assert_eq!(crd["spec"]["group"], group, "apiVersion group");
    let schema = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == version && v["served"] == true)
        .unwrap_or_else(|| panic!("the CRD serves no version `{version}`"))["schema"]
        ["openAPIV3Schema"]
        .clone();
    let mut strict_schema = schema.clone();
    strict(&mut strict_schema);
    let validator = jsonschema::draft4::new(&strict_schema)
        .unwrap_or_else(|e| panic!("the CRD schema does not compile: {e}"));
    Crd { schema, validator }
}

fn normalize(rule: &str) -> String {
    rule.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn has(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|x| !x.is_null())
}

/// Evaluates one CEL rule of the CRD on `self`. `None`: a rule this test does not implement.
fn cel(rule: &str, this: &Value) -> Option<bool> {
    let r = normalize(rule);
    let s = this.as_str().unwrap_or_default();
    let keys = || {
        this.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    Some(match r.as_str() {
        r#"!self.contains("*")"# => !s.contains('*'),
        r#"self.all(key, !key.contains("*"))"# => keys().iter().all(|k| !k.contains('*')),
        "self.all(key, key.size() != 0)" => keys().iter().all(|k| !k.is_empty()),
        "self.size() == 0" => s.is_empty(),
        r#"(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)"# => {
            this["valueFrom"] != "HOST" || !has(this, "value")
        }
        "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1" => {
            ["selector", "targetRef", "targetRefs"]
                .iter()
                .filter(|k| has(this, k))
                .count()
                <= 1
        }
        _ if r.starts_with("isURL(self) ? (url(self).getScheme() in") => {
            // A URL's scheme must be one of "", http, https, oci, file; a string without a
            // scheme is read as http://<it>.
            let allowed = ["", "http", "https", "oci", "file"];
            match s.split_once("://") {
                Some((scheme, rest)) => allowed.contains(&scheme) && !rest.is_empty(),
                None => !s.is_empty() && !s.contains(char::is_whitespace),
            }
        }
        _ => return None,
    })
}

/// The CEL rules and list-map keys of the schema, applied along the instance.
fn k8s_rules(schema: &Value, instance: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(rules) = schema["x-kubernetes-validations"].as_array() {
        for rule in rules {
            let text = rule["rule"].as_str().unwrap_or_default();
            match cel(text, instance) {
                Some(true) => {}
                Some(false) => errors.push(format!(
                    "{path}: {} (CEL `{}`)",
                    rule["message"].as_str().unwrap_or("rule failed"),
                    normalize(text)
                )),
                None => errors.push(format!(
                    "{path}: the CRD has a CEL rule this test does not implement: `{}`",
                    normalize(text)
                )),
            }
        }
    }
    if schema["x-kubernetes-list-type"] == "map" {
        let keys: Vec<&str> = schema["x-kubernetes-list-map-keys"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let items = instance.as_array().cloned().unwrap_or_default();
        let ids: Vec<Vec<&Value>> = items
            .iter()
            .map(|i| keys.iter().map(|k| &i[*k]).collect())
            .collect();
        for (n, id) in ids.iter().enumerate() {
            if ids[..n].contains(id) {
                errors.push(format!(
                    "{path}[{n}]: duplicate entry for list-map keys {keys:?}"
                ));
            }
        }
    }
    match instance {
        Value::Object(map) => {
            for (k, v) in map {
                if let Some(s) = schema["properties"].get(k) {
                    k8s_rules(s, v, &format!("{path}.{k}"), errors);
                } else if schema["additionalProperties"].is_object() {
                    k8s_rules(
                        &schema["additionalProperties"],
                        v,
                        &format!("{path}.{k}"),
                        errors,
                    );
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (n, v) in items.iter().enumerate() {
                k8s_rules(&schema["items"], v, &format!("{path}[{n}]"), errors);
            }
        }
        _ => {}
    }
}

fn dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Every problem of one `WasmPlugin` document as the API server (strict) would see it, plus
/// the filter's own configuration check.
fn problems(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    if !api_version.starts_with("extensions.istio.io/") {
        return vec![format!(
            "apiVersion `{api_version}` is not extensions.istio.io/*"
        )];
    }
    let crd = load_crd(api_version);
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    if !dns_subdomain(name) {
        errors.push(format!("metadata.name `{name}` is not a DNS subdomain"));
    }
    match doc["metadata"]["namespace"].as_str() {
        Some(ns) if dns_subdomain(ns) && !ns.contains('.') && ns.len() <= 63 => {}
        other => errors.push(format!("metadata.namespace {other:?} is not a DNS label")),
    }
    let mut body = doc.clone();
    if let Some(m) = body.as_object_mut() {
        for k in ["apiVersion", "kind", "metadata"] {
            m.remove(k);
        }
    }
    for e in crd.validator.iter_errors(&body) {
        errors.push(format!("{}: {e}", e.instance_path()));
    }
    k8s_rules(&crd.schema, &body, "", &mut errors);
    match doc["spec"].get("pluginConfig") {
        None => errors.push("spec.pluginConfig: missing (the filter needs a policy)".into()),
        Some(config) => {
            if let Err(errs) = workload_authz_core::compile(&config.to_string()) {
                for e in errs.0 {
                    errors.push(format!("spec.pluginConfig: {e}"));
                }
            }
        }
    }
    errors
}

/// What this project requires of its own examples on top of the CRD.
fn house_rules(doc: &Value) -> Vec<String> {
    let spec = &doc["spec"];
    let mut errors = Vec::new();
    let want = [
        ("phase", "AUTHN"),
        ("failStrategy", "FAIL_CLOSE"),
        ("type", "HTTP"),
        ("pluginName", workload_authz_packaging::oci::ROOT_ID),
    ];
    for (field, value) in want {
        if spec[field] != value {
            errors.push(format!(
                "spec.{field} must be `{value}`, is {}",
                spec[field]
            ));
        }
    }
    let matches = spec["match"].as_array().cloned().unwrap_or_default();
    if matches.is_empty()
        || matches
            .iter()
            .any(|m| m["ports"].as_array().is_none_or(Vec::is_empty))
    {
        errors.push("spec.match: every entry must select ports".into());
    }
    let sha = spec["sha256"].as_str().unwrap_or_default();
    if sha.len() != 64
        || !sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        errors.push(format!(
            "spec.sha256 `{sha}` is not 64 lowercase hex digits"
        ));
    }
    errors
}

#[test]
fn every_wasmplugin_in_examples_is_valid() {
    let plugins = wasm_plugins();
    let names: Vec<String> = plugins
        .iter()
        .map(|(f, d)| format!("{} ({})", f.display(), d["metadata"]["name"]))
        .collect();
    assert!(
        plugins.len() >= 2,
        "expected the sidecar and gateway WasmPlugins, found {names:?}"
    );
    let mut failures = Vec::new();
    for (file, doc) in &plugins {
        for p in problems(doc).into_iter().chain(house_rules(doc)) {
            failures.push(format!("{}: {p}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("validated: {}", names.join(", "));
}

#[test]
fn the_examples_cover_sidecar_and_gateway() {
    let plugins = wasm_plugins();
    let modes: Vec<String> = plugins
        .iter()
        .flat_map(|(_, d)| {
            d["spec"]["match"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|m| m["mode"].as_str().unwrap_or("UNDEFINED").to_string())
        })
        .collect();
    assert!(
        modes.contains(&"SERVER".to_string()),
        "a sidecar (inbound) plugin: {modes:?}"
    );
    assert!(
        modes.contains(&"CLIENT".to_string()),
        "a gateway plugin: {modes:?}"
    );
    let schemes: Vec<&str> = plugins
        .iter()
        .filter_map(|(_, d)| d["spec"]["url"].as_str()?.split_once("://").map(|(s, _)| s))
        .collect();
    assert!(schemes.contains(&"oci"), "{schemes:?}");
    assert!(schemes.contains(&"https"), "{schemes:?}");
}

/// A pin is the placeholder or the build's value; with `WORKLOAD_AUTHZ_CHECK_SHA`, the build's.
/// So a stale digest committed to `examples/` fails here, in `cargo test`, not in a user's mesh.
#[test]
fn sha256_pins_are_the_placeholder_or_the_build() {
    let plugins = wasm_plugins();
    let exact = std::env::var_os("WORKLOAD_AUTHZ_CHECK_SHA").is_some();
    for (file, doc) in &plugins {
        let url = doc["spec"]["url"].as_str().unwrap_or_default();
        assert!(
            url.starts_with("oci://") || url.starts_with("https://"),
            "{}: {url}",
            file.display()
        );
    }
    let pinned: Vec<&(PathBuf, Value)> = plugins
        .iter()
        .filter(|(_, d)| exact || d["spec"]["sha256"] != pin::PLACEHOLDER)
        .collect();
    if pinned.is_empty() {
        eprintln!("every sha256 is the placeholder");
        return;
    }
    let wasm_path = workload_authz_packaging::wasm_path();
    let wasm = std::fs::read(&wasm_path).unwrap_or_else(|e| {
        panic!(
            "{} ({e}): {} pin a digest, which needs the build to be checked: run `make build`, \
             or put back the placeholder {} (`make dist` writes pinned copies under dist/)",
            wasm_path.display(),
            pinned
                .iter()
                .map(|(f, _)| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            pin::PLACEHOLDER
        )
    });
    let version = workload_authz_packaging::version().unwrap();
    let pins = pin::Pins::compute(&wasm, &version).unwrap();
    let mut failures = Vec::new();
    for (file, doc) in pinned {
        let url = doc["spec"]["url"].as_str().unwrap_or_default();
        let got = doc["spec"]["sha256"].as_str().unwrap_or_default();
        match pins.expected(url) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!(
                "{}: {url}: sha256 {got} is neither the placeholder nor the current build's {want} \
                 (tracked manifests keep the placeholder; `make dist` writes pinned copies)",
                file.display()
            )),
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The validation catches what it should: each mutation of a valid manifest is refused.
#[test]
fn broken_manifests_are_refused() {
    let (_, base) = wasm_plugins()
        .into_iter()
        .find(|(_, d)| d["spec"]["selector"].is_object())
        .expect("a WasmPlugin with a selector");
    assert_eq!(problems(&base), Vec::<String>::new());
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "phase typo",
            Box::new(|d| d["spec"]["phase"] = json!("AUTHENTICATE")),
            "/spec/phase",
        ),
        (
            "unknown field",
            Box::new(|d| d["spec"]["failStratgy"] = json!("FAIL_CLOSE")),
            "failStratgy",
        ),
        (
            "short sha256",
            Box::new(|d| d["spec"]["sha256"] = json!("abc123")),
            "/spec/sha256",
        ),
        (
            "uppercase sha256",
            Box::new(|d| d["spec"]["sha256"] = json!("A".repeat(64))),
            "/spec/sha256",
        ),
        (
            "port out of range",
            Box::new(|d| d["spec"]["match"][0]["ports"][0]["number"] = json!(70000)),
            "/spec/match/0/ports/0/number",
        ),
        (
            "duplicate port",
            Box::new(|d| {
                d["spec"]["match"][0]["ports"] = json!([{"number": 8080}, {"number": 8080}])
            }),
            "duplicate entry",
        ),
        (
            "selector and targetRefs",
            Box::new(|d| {
                d["spec"]["targetRefs"] = json!([{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "edge"}])
            }),
            "only one of targetRefs or selector",
        ),
        (
            "url scheme",
            Box::new(|d| d["spec"]["url"] = json!("ftp://x.example/p.wasm")),
            "url must have schema",
        ),
        (
            "wildcard label",
            Box::new(|d| d["spec"]["selector"]["matchLabels"]["app"] = json!("orders-*")),
            "wildcard not allowed",
        ),
        (
            "policy typo",
            Box::new(|d| {
                let routes = d["spec"]["pluginConfig"]["routes"].as_array_mut().unwrap();
                let protected = routes
                    .iter_mut()
                    .find(|r| r["require"].is_object())
                    .unwrap();
                protected["require"]["scope"] = json!(["x"]);
            }),
            "did you mean `scopes`",
        ),
        (
            "policy with a weak key",
            Box::new(|d| {
                d["spec"]["pluginConfig"]["providers"]
                    .as_object_mut()
                    .unwrap()
                    .values_mut()
                    .for_each(|p| p["algorithms"] = json!(["HS256"]));
            }),
            "spec.pluginConfig: providers.",
        ),
        (
            "no policy",
            Box::new(|d| {
                d["spec"].as_object_mut().unwrap().remove("pluginConfig");
            }),
            "pluginConfig: missing",
        ),
        (
            "bad name",
            Box::new(|d| d["metadata"]["name"] = json!("Workload_Authz")),
            "metadata.name",
        ),
    ];
    let mut failures = Vec::new();
    for (name, mutate, expected) in cases {
        let mut doc = base.clone();
        mutate(&mut doc);
        let got = problems(&doc);
        if !got.iter().any(|p| p.contains(expected)) {
            failures.push(format!(
                "{name}: expected a problem containing `{expected}`, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The telemetry examples (Telemetry CEL tags and access-log CEL labels) read only the filter
/// state the filter writes at its default level (the typed record), only fields the record has,
/// and the four fields the issue asks for, in the metrics and in the access log.
#[test]
fn telemetry_names_the_keys_the_filter_writes() {
    let policy =
        workload_authz_core::compile(&wasm_plugins()[0].1["spec"]["pluginConfig"].to_string())
            .unwrap();
    assert_eq!(
        policy.decision_record,
        workload_authz_core::config::RecordLevel::Struct,
        "the examples document the default record"
    );
    let decision =
        workload_authz_core::Decision::new(workload_authz_core::Reason::Public, policy.mode);
    let written = format!("wasm.{}", workload_authz_core::telemetry::RECORD_PROPERTY);
    let record = workload_authz_core::telemetry::record(&decision, &policy);
    let fields: Vec<&String> = record.as_object().unwrap().keys().collect();
    let mut files = Vec::new();
    yaml_files(&workspace_root().join("examples").join("istio"), &mut files);
    // (file, filter-state key, field read from it)
    let mut named: Vec<(std::path::PathBuf, String, Option<String>)> = Vec::new();
    for f in &files {
        let text: String = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let open = "filter_state['";
        let mut rest = text.as_str();
        while let Some(i) = rest.find(open) {
            rest = &rest[i + open.len()..];
            let end = rest
                .find("']")
                .unwrap_or_else(|| panic!("{}: unterminated {open}", f.display()));
            let key = rest[..end].to_string();
            rest = &rest[end + 2..];
            let field = rest.strip_prefix('.').map(|after| {
                after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            });
            named.push((f.clone(), key, field));
        }
        assert!(
            !text.contains("%FILTER_STATE(wasm.workload_authz."),
            "{}: :PLAIN keys are the `keys` level's, not the default's",
            f.display()
        );
    }
    let unknown: Vec<_> = named
        .iter()
        .filter(|(_, k, field)| {
            *k != written || field.as_ref().is_some_and(|f| !fields.contains(&f))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "state the filter does not write: {unknown:?}; it writes {written} with {fields:?}"
    );
    for key in ["decision", "reason", "action", "subject"] {
        assert!(
            named
                .iter()
                .filter(|(_, _, f)| f.as_deref() == Some(key))
                .count()
                >= 2,
            "`{key}` should appear in the metrics and in the access log"
        );
    }
    // Every Telemetry document is at least well-formed for its kind.
    for f in &files {
        for d in documents(f)
            .into_iter()
            .filter(|d| d["kind"] == "Telemetry")
        {
            assert_eq!(d["apiVersion"], "telemetry.istio.io/v1", "{}", f.display());
            assert!(
                d["spec"]["selector"]["matchLabels"].is_object(),
                "{}",
                f.display()
            );
        }
    }
}
