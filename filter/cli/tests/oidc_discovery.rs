//! `check`, `lint` and `explain` with an `oidc_discovery` provider: the CLI compiles the block
//! exactly as the filter does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};

fn discovery_policy(jwks: &str) -> Value {
    let mut policy = orders_policy(jwks);
    let mesh = policy["providers"]["mesh"].as_object_mut().unwrap();
    mesh.remove("local_jwks");
    mesh.insert(
        "oidc_discovery".into(),
        json!({
            "http_uri": {"uri": "https://issuer.example/.well-known/openid-configuration",
                         "cluster": "idp", "timeout": "5s"},
            "jwks_clusters": {"keys.example:443": "keys_cluster"},
            "refresh_seconds": 600
        }),
    );
    policy
}

#[test]
fn check_and_lint_accept_the_block_and_check_names_each_mistake() {
    let d = dir("oidc_check");
    let (_, jwks) = key(&d);
    let file = write(&d, "policy.json", &discovery_policy(&jwks).to_string());
    let r = run(&["check", &file]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = run(&["lint", &file]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("0 finding(s)"), "{}", r.stdout);

    let mut bad = discovery_policy(&jwks);
    bad["providers"]["mesh"]["oidc_discovery"]["http_uri"]["timeout_ms"] = json!(5000);
    bad["providers"]["mesh"]["oidc_discovery"]["jwks_clusters"] = json!({"keys example": "k"});
    let file = write(&d, "bad.json", &bad.to_string());
    let r = run(&["check", &file]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    for expected in [
        "providers.mesh.oidc_discovery.http_uri.timeout: set either `timeout` or `timeout_ms`, not both",
        "hint: keep only one of `timeout` and `timeout_ms`",
        "providers.mesh.oidc_discovery.jwks_clusters.keys example: `keys example` is not a host or host:port",
    ] {
        assert!(out.contains(expected), "{expected}\n{out}");
    }
}

#[test]
fn explain_takes_the_discovered_key_set_from_jwks() {
    let d = dir("oidc_explain");
    let (pem, jwks) = key(&d);
    let file = write(&d, "policy.json", &discovery_policy(&jwks).to_string());
    let jwks_file = write(&d, "jwks.json", &jwks);
    let token = mint(
        &pem,
        &[
            "--sub",
            "spiffe://prod.example/ns/shop/sa/web",
            "--scope",
            "orders:read",
            "--claim",
            "tenant=acme",
        ],
    );
    let now = NOW.to_string();
    let base = [
        "explain",
        &file,
        "--now",
        &now,
        "--format",
        "json",
        "--path",
        "/tenants/acme/orders/1",
        "--token",
        &token,
    ];
    let r = run(&base);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["reason"], "keys_unavailable");
    assert!(
        v["notes"]
            .to_string()
            .contains("fetches its keys and no --jwks was given"),
        "{}",
        v["notes"]
    );
    let r = run(&[&base[..], &["--jwks", &jwks_file]].concat());
    assert_eq!(r.json()["reason"], "allowed", "{}", r.stdout);
}
