//! DPoP in the CLI: `mint --dpop-key` binds a token (and prints a proof), `proof` makes fresh
//! proofs, `explain --dpop` judges a request with its proof as the filter does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::Value;

const SUB: &str = "spiffe://prod.example/ns/shop/sa/web";
const PATH: &str = "/tenants/acme/orders/7";
const HTU: &str = "https://orders.example/tenants/acme/orders/7";

fn explain(policy: &str, args: &[&str]) -> Value {
    let now = NOW.to_string();
    let mut all = vec![
        "explain",
        policy,
        "--now",
        &now,
        "--format",
        "json",
        "--path",
        PATH,
        "--host",
        "orders.example",
    ];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    r.json()
}

#[test]
fn mint_binds_a_token_and_explain_checks_its_proof() {
    let d = dir("dpop");
    let (pem, jwks) = key(&d);
    let client_dir = d.join("client");
    let c = client_dir.to_str().unwrap();
    assert_eq!(
        run(&["keygen", "--alg", "ES256", "--kid", "c", "--out", c]).code,
        0
    );
    let client = client_dir.join("c.pem");
    let client = client.to_str().unwrap();
    let policy = write(&d, "policy.json", &orders_policy(&jwks).to_string());
    let out = mint(
        &pem,
        &[
            "--sub",
            SUB,
            "--scope",
            "orders:read",
            "--claim",
            "tenant=acme",
            "--dpop-key",
            client,
            "--htu",
            HTU,
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let (token, proof) = (lines[0], lines[1]);
    let claims = part(token, 1);
    let header = part(proof, 0);
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(
        header["jwk"]["d"].is_null(),
        "a proof carries the public key only"
    );
    let proof_claims = part(proof, 1);
    assert_eq!(proof_claims["htm"], "GET");
    assert_eq!(proof_claims["htu"], HTU);
    assert_eq!(proof_claims["iat"], NOW);

    let allowed = explain(&policy, &["--token", token, "--dpop", proof]);
    assert_eq!(allowed["reason"], "allowed", "{allowed}");
    assert_eq!(allowed["record"]["dpop_jkt"], claims["cnf"]["jkt"]);

    // The bound token without its proof, as a bearer token.
    let bearer = explain(&policy, &["--token", token]);
    assert_eq!(bearer["reason"], "dpop_bound_token_as_bearer");
    // The proof for another request.
    let other = explain(
        &policy,
        &["--token", token, "--dpop", proof, "--method", "HEAD"],
    );
    assert_eq!(other["reason"], "dpop_method_mismatch");
    let plain = explain(
        &policy,
        &["--token", token, "--dpop", proof, "--scheme", "http"],
    );
    assert_eq!(plain["reason"], "dpop_url_mismatch");

    // `proof` makes another proof for the same token: a new jti, the method asked.
    let now = NOW.to_string();
    let r = run(&[
        "proof",
        "--dpop-key",
        client,
        "--token",
        token,
        "--htu",
        HTU,
        "--htm",
        "HEAD",
        "--now",
        &now,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fresh = r.stdout.trim();
    assert_ne!(part(fresh, 1)["jti"], proof_claims["jti"]);
    let head = explain(
        &policy,
        &["--token", token, "--dpop", fresh, "--method", "HEAD"],
    );
    assert_eq!(head["reason"], "allowed", "{head}");
    // A stale one.
    let old = (NOW - 120).to_string();
    let r = run(&[
        "proof",
        "--dpop-key",
        client,
        "--token",
        token,
        "--htu",
        HTU,
        "--now",
        &old,
    ]);
    let stale = explain(&policy, &["--token", token, "--dpop", r.stdout.trim()]);
    assert_eq!(stale["reason"], "dpop_stale_proof");
}

#[test]
fn rsa_keys_are_refused_for_proofs_with_a_hint() {
    let d = dir("dpop-rsa");
    let o = d.join("k");
    let o = o.to_str().unwrap();
    assert_eq!(
        run(&["keygen", "--alg", "RS256", "--kid", "r", "--out", o]).code,
        0
    );
    let pem = d.join("k/r.pem");
    let r = run(&[
        "proof",
        "--dpop-key",
        pem.to_str().unwrap(),
        "--token",
        "t",
        "--htu",
        HTU,
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("keygen --alg ES256"), "{}", r.stderr);
}
