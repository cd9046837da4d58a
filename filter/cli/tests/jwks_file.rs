//! `local_jwks.filename`: every command that reads a policy reads the key-set file (relative to
//! the policy file's directory; for standard input, to the working directory) and inlines it as
//! `local_jwks.inline_string`, so what `envoy` and `istio` print carries the key set, never the
//! file name; an unreadable file is an error naming the field and the file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::PathBuf;

const SUB: &str = "spiffe://prod.example/ns/shop/sa/web";

/// A directory with `keys/k1.pem`, `keys/jwks.json` and `policy.json`, whose provider names
/// `keys/jwks.json` as its `local_jwks.filename`. Returns (dir, policy path, pem, JWKS text,
/// the same policy with the key set inline).
fn setup(name: &str) -> (PathBuf, String, String, String, Value) {
    let d = dir(name);
    let (pem, jwks) = key(&d);
    let inline = orders_policy(&jwks);
    let mut policy = inline.clone();
    policy["providers"]["mesh"]["local_jwks"] = json!({"filename": "keys/jwks.json"});
    let file = write(
        &d,
        "policy.json",
        &serde_json::to_string_pretty(&policy).unwrap(),
    );
    (d, file, pem, jwks, inline)
}

/// The `policy` hash `check` gives a policy value (from standard input).
fn hash_of(policy: &Value) -> Value {
    let r = run_stdin(&["check", "-", "--format", "json"], &policy.to_string());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    r.json()["hash"].clone()
}

/// The policy embedded in the filter entry of an `envoy` snippet (`http_filters` entry).
fn embedded(filter: &Value) -> Value {
    let text = filter["typed_config"]["config"]["configuration"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no configuration in {filter:#}"));
    serde_json::from_str(text).unwrap()
}

#[test]
fn check_inlines_the_file_and_says_the_filter_would_not() {
    let (_, file, _, _, inline) = setup("jwks_file_check");
    let r = run(&["check", &file]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(": ok (1 provider(s), 3 route(s)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("note: providers.mesh.local_jwks.filename: checked with the key set of `")
            && r.stdout.contains("keys/jwks.json` inline"),
        "{}",
        r.stdout
    );
    let v = run(&["check", &file, "--format", "json"]).json();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["hash"],
        hash_of(&inline),
        "the same policy as the inline one"
    );
    assert_eq!(
        v["inlined"][0]["path"],
        "providers.mesh.local_jwks.filename"
    );
    assert!(v["inlined"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("keys/jwks.json"));
}

#[test]
fn envoy_and_istio_print_the_key_set_not_the_file() {
    let (_, file, _, jwks, inline) = setup("jwks_file_deploy");
    let r = run(&["envoy", &file]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("# providers.mesh.local_jwks.filename: the key set of "),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("\"filename\""), "{}", r.stdout);
    let snippet: Value = serde_norway::from_str(&r.stdout).unwrap();
    let policy = embedded(&snippet[0]);
    assert_eq!(policy, inline);
    assert_eq!(
        policy["providers"]["mesh"]["local_jwks"],
        json!({"inline_string": jwks})
    );

    let r = run(&["envoy", &file, "--bootstrap"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bootstrap: Value = serde_norway::from_str(&r.stdout).unwrap();
    let hcm = &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"];
    assert_eq!(embedded(&hcm["http_filters"][0]), inline);

    let r = run(&["istio", &file, "--image", "oci://registry.example/wa:1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest: Value = serde_norway::from_str(&r.stdout).unwrap();
    assert_eq!(manifest["spec"]["pluginConfig"], inline);
}

#[test]
fn explain_and_lint_read_the_file() {
    let (_, file, pem, _, inline) = setup("jwks_file_explain_lint");
    let token = mint(
        &pem,
        &[
            "--sub",
            SUB,
            "--scope",
            "orders:read",
            "--claim",
            "tenant=acme",
        ],
    );
    let now = NOW.to_string();
    let r = run(&[
        "explain",
        &file,
        "--path",
        "/tenants/acme/orders/42",
        "--token",
        &token,
        "--now",
        &now,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["decision"], "allow", "{}", r.stdout);

    let r = run(&["lint", &file, "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let inline_run = run_stdin(&["lint", "-", "--format", "json"], &inline.to_string());
    assert_eq!(
        r.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["code"])
            .collect::<Vec<_>>(),
        inline_run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["code"])
            .collect::<Vec<_>>()
    );
    assert_eq!(r.json()["hash"], inline_run.json()["hash"]);
}

#[test]
fn standard_input_reads_relative_to_the_working_directory() {
    let (d, file, _, _, inline) = setup("jwks_file_stdin");
    let text = std::fs::read_to_string(&file).unwrap();
    let r = run_stdin_in(Some(&d), &["check", "-", "--format", "json"], &text);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["hash"], hash_of(&inline));
    assert_eq!(v["inlined"][0]["file"], "keys/jwks.json");
    // Elsewhere, the same standard input names a file that is not there.
    let r = run_stdin_in(Some(&d.join("keys")), &["check", "-"], &text);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "-: providers.mesh.local_jwks.filename: cannot read the key set `keys/jwks.json`"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn an_unreadable_file_names_the_field_and_the_file() {
    let (d, _, _, jwks, _) = setup("jwks_file_missing");
    let mut policy = orders_policy(&jwks);
    policy["providers"]["mesh"]["local_jwks"] = json!({"filename": "nope/jwks.json"});
    let file = write(&d, "missing.json", &policy.to_string());
    let missing = d.join("nope/jwks.json");
    for command in [
        vec!["check", file.as_str()],
        vec!["lint", file.as_str()],
        vec!["explain", file.as_str(), "--path", "/"],
        vec!["envoy", file.as_str()],
        vec!["envoy", file.as_str(), "--bootstrap"],
        vec!["istio", file.as_str(), "--image", "oci://r/wa:1"],
    ] {
        let r = run(&command);
        assert_eq!(r.code, 2, "{command:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.is_empty(), "{command:?}: {}", r.stdout);
        let expected = format!(
            "workload-authz: {file}: providers.mesh.local_jwks.filename: cannot read the key set `{}`: ",
            missing.display()
        );
        assert!(r.stderr.starts_with(&expected), "{command:?}: {}", r.stderr);
    }
    // Both fields at once is refused, not resolved silently.
    policy["providers"]["mesh"]["local_jwks"] =
        json!({"filename": "keys/jwks.json", "inline_string": jwks});
    let both = write(&d, "both.json", &policy.to_string());
    let r = run(&["check", &both]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "providers.mesh.local_jwks.filename: set either `filename` or `inline_string`, not both"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn an_error_in_the_file_points_at_the_filename_field() {
    let (d, _, _, jwks, _) = setup("jwks_file_bad_key");
    write(
        &d,
        "keys/oct.json",
        r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#,
    );
    let mut policy = orders_policy(&jwks);
    policy["providers"]["mesh"]["local_jwks"] = json!({"filename": "keys/oct.json"});
    let text = serde_json::to_string_pretty(&policy).unwrap();
    let file = write(&d, "oct.json", &text);
    let line = text
        .lines()
        .position(|l| l.contains("\"filename\""))
        .unwrap()
        + 1;
    let r = run(&["check", &file]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "{file}:{line}: error: providers.mesh.local_jwks.inline_string.keys[0]: "
        )),
        "the error is on the line of `filename`:\n{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "  note: `providers.mesh.local_jwks.inline_string` is the key set of `{}` (providers.mesh.local_jwks.filename)",
            d.join("keys/oct.json").display()
        )),
        "{}",
        r.stdout
    );
    let v = run(&["check", &file, "--format", "json"]).json();
    assert_eq!(v["errors"][0]["line"], line);
    assert!(v["errors"][0]["origin"]
        .as_str()
        .unwrap()
        .contains("keys/oct.json"));
}
