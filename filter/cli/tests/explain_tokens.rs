//! `keygen`, `mint` and `explain` against the built binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};

const SUB: &str = "spiffe://prod.example/ns/shop/sa/web";

fn explain(policy: &str, args: &[&str]) -> Value {
    let now = NOW.to_string();
    let mut all = vec!["explain", policy, "--now", &now, "--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    r.json()
}

#[test]
fn keygen_writes_a_pem_and_a_jwks_and_mint_signs_with_it() {
    let d = dir("mint");
    let (pem, jwks) = key(&d);
    assert!(std::fs::read_to_string(&pem)
        .unwrap()
        .contains("PRIVATE KEY"));
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "k1");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    // A second key joins the set; the same kid again replaces it.
    let out = d.join("keys");
    let o = out.to_str().unwrap();
    assert_eq!(
        run(&["keygen", "--alg", "EdDSA", "--kid", "k2", "--out", o]).code,
        0
    );
    assert_eq!(
        run(&["keygen", "--alg", "ES256", "--kid", "k1", "--out", o]).code,
        0
    );
    let set: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("jwks.json")).unwrap()).unwrap();
    assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        run(&["keygen", "--alg", "HS256", "--kid", "x", "--out", o]).code,
        2
    );

    let pem = out.join("k1.pem");
    let token = mint(
        pem.to_str().unwrap(),
        &[
            "--sub",
            SUB,
            "--scope",
            "orders:read orders:write:acme",
            "--claim",
            "tenant=acme",
            "--claim",
            "level=3",
            "--claim",
            r#"org={"unit":"ops"}"#,
            "--claim",
            r#"roles=["a","b"]"#,
            "--nbf",
            "-10",
            "--jti",
            "task-42",
            "--header",
            "typ=at+jwt",
            "--aud",
            "billing",
        ],
    );
    let header = part(&token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "k1");
    assert_eq!(header["typ"], "at+jwt");
    let claims = part(&token, 1);
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["sub"], SUB);
    let mut aud: Vec<&str> = claims["aud"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    aud.sort_unstable();
    assert_eq!(aud, ["billing", "orders"]);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 300);
    assert_eq!(claims["nbf"], NOW - 10);
    assert_eq!(claims["jti"], "task-42");
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["level"], 3);
    assert_eq!(claims["org"]["unit"], "ops");
    assert_eq!(claims["roles"], json!(["a", "b"]));

    let bare = mint(
        pem.to_str().unwrap(),
        &["--no-jti", "--no-exp", "--iat", "+5"],
    );
    let claims = part(&bare, 1);
    assert!(
        claims.get("jti").is_none() && claims.get("exp").is_none() && claims.get("sub").is_none()
    );
    assert_eq!(claims["iat"], NOW + 5);
    let r = run(&[
        "mint",
        "--key",
        pem.to_str().unwrap(),
        "--iss",
        ISS,
        "--aud",
        "a",
        "--header",
        "alg=none",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        run(&["mint", "--key", pem.to_str().unwrap(), "--iss", ISS]).code,
        2,
        "--aud is required"
    );
}

#[test]
fn explain_allows_and_denies_like_the_filter() {
    let d = dir("explain");
    let (pem, jwks) = key(&d);
    let file = write(&d, "policy.json", &orders_policy(&jwks).to_string());
    let good = mint(
        &pem,
        &[
            "--sub",
            SUB,
            "--scope",
            "orders:read orders:write:acme",
            "--claim",
            "tenant=acme",
            "--jti",
            "j-1",
        ],
    );

    let v = explain(
        &file,
        &[
            "--method",
            "GET",
            "--path",
            "/tenants/acme/orders/42",
            "--token",
            &good,
        ],
    );
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["reason"], "allowed");
    assert_eq!(v["proceeds"], true);
    assert_eq!(v["status"], Value::Null);
    assert_eq!(v["route"], json!({"index": 1, "action": "orders.read"}));
    let record = &v["record"];
    assert_eq!(record["decision"], "allow");
    assert_eq!(record["action"], "orders.read");
    assert_eq!(record["provider"], "mesh");
    assert_eq!(record["subject"], SUB);
    assert_eq!(record["jti"], "j-1");
    assert_eq!(record["token_ttl_remaining"], 300);
    assert_eq!(record["scopes_required"], json!(["orders:read"]));
    assert_eq!(record["scopes_unused"], json!(["orders:write:acme"]));
    assert_eq!(record["policy"], v["policy"]["hash"]);
    assert_eq!(v["filter_state"]["workload_authz.record"], *record);
    let checks: Vec<&str> = v["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["check"].as_str().unwrap())
        .collect();
    for c in [
        "path",
        "route",
        "token",
        "signature",
        "time",
        "audience",
        "subjects",
        "claims",
        "scopes",
    ] {
        assert!(checks.contains(&c), "{c} missing from {checks:?}");
    }
    assert!(v["trace"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["result"] == "pass"));
    assert!(
        !v.to_string().contains(&good),
        "the output never holds the token"
    );

    // Denials: the reason, the answer (status, WWW-Authenticate, body), the failing check.
    let cases: &[(&[&str], &str, u64, Option<&str>)] = &[
        (&["--path", "/tenants/acme/orders/42"], "missing_token", 401, Some("Bearer realm=\"orders-api\"")),
        (&["--path", "/tenants/globex/orders/42", "--token", &good], "claim_mismatch", 403, None),
        (&["--method", "POST", "--path", "/tenants/globex/orders", "--token", &good], "insufficient_scope", 403,
         Some("Bearer realm=\"orders-api\", error=\"insufficient_scope\", scope=\"orders:write:globex\"")),
        (&["--method", "DELETE", "--path", "/tenants/acme/orders/42", "--token", &good], "no_route", 403, None),
        (&["--path", "/tenants/acme/../admin", "--token", &good], "invalid_path", 403, None),
        (&["--path", "/tenants/acme/orders/42", "--token", "not.a.token"], "malformed_token", 401, None),
        (&["--path", "/tenants/acme/orders/42", "--token", &good, "--header", &format!("Authorization: Bearer {good}")],
         "malformed_token", 401, None),
    ];
    for (args, reason, status, www) in cases {
        let v = explain(&file, args);
        assert_eq!(v["decision"], "deny", "{args:?}");
        assert_eq!(v["reason"], *reason, "{args:?}: {:#}", v["trace"]);
        assert_eq!(v["status"], *status, "{args:?}");
        assert_eq!(v["answer"]["body"]["reason"], *reason);
        assert_eq!(v["record"]["reason"], *reason);
        if let Some(www) = www {
            assert_eq!(v["answer"]["headers"]["www-authenticate"], *www);
        }
        let last = v["trace"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["result"], "fail", "{args:?}");
        assert_eq!(last["reason"], *reason);
    }

    // Time: the same token later is expired, earlier not yet valid.
    let later = (NOW + 1000).to_string();
    let r = run(&[
        "explain",
        &file,
        "--path",
        "/tenants/acme/orders/1",
        "--token",
        &good,
        "--now",
        &later,
        "--format",
        "json",
    ]);
    assert_eq!(r.json()["reason"], "expired");
    let early = mint(
        &pem,
        &[
            "--sub",
            SUB,
            "--scope",
            "orders:read",
            "--claim",
            "tenant=acme",
            "--nbf",
            "+600",
        ],
    );
    assert_eq!(
        explain(
            &file,
            &["--path", "/tenants/acme/orders/1", "--token", &early]
        )["reason"],
        "not_yet_valid"
    );
    // Another key signs: bad signature (kid k1 is known).
    let other = dir("explain_other");
    let (other_pem, _) = key(&other);
    let forged = mint(
        &other_pem,
        &[
            "--sub",
            SUB,
            "--scope",
            "orders:read",
            "--claim",
            "tenant=acme",
        ],
    );
    assert_eq!(
        explain(
            &file,
            &["--path", "/tenants/acme/orders/1", "--token", &forged]
        )["reason"],
        "bad_signature"
    );

    // Token from a file; text output.
    let token_file = write(&d, "token.txt", &format!("{good}\n"));
    let r = run(&[
        "explain",
        &file,
        "--path",
        "/tenants/acme/orders/7",
        "--token-file",
        &token_file,
        "--now",
        &NOW.to_string(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("decision: allow (reason allowed, mode enforce)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("route:    routes[1] `orders.read`"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("record:   {"), "{}", r.stdout);
    let r = run(&[
        "explain",
        &file,
        "--path",
        "/tenants/acme/orders/7",
        "--now",
        &NOW.to_string(),
    ]);
    assert!(r.stdout.contains("answer:   401"), "{}", r.stdout);
    assert!(r.stdout.contains("FAIL missing_token"), "{}", r.stdout);
    // A broken policy: every error, exit 1.
    let broken = write(
        &d,
        "broken.json",
        r#"{"routes": [{"action": "a"}], "mod": 1}"#,
    );
    let r = run(&["explain", &broken, "--path", "/"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("mod: unknown field (did you mean `mode`?)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("routes[0].match: required field is missing"),
        "{}",
        r.stderr
    );
}

#[test]
fn explain_shadow_public_and_custom_headers() {
    let d = dir("explain_modes");
    let (pem, jwks) = key(&d);
    let mut policy = orders_policy(&jwks);
    policy["mode"] = json!("shadow");
    policy["identity_headers"] = json!(true);
    policy["providers"]["mesh"]["from_headers"] =
        json!([{"name": "x-workload-token", "value_prefix": ""}]);
    let file = write(&d, "policy.json", &policy.to_string());
    let v = explain(&file, &["--path", "/healthz"]);
    assert_eq!(v["decision"], "public");
    let v = explain(&file, &["--path", "/tenants/acme/orders/1"]);
    assert_eq!(v["decision"], "shadow_deny");
    assert_eq!(v["reason"], "missing_token");
    assert_eq!(v["proceeds"], true);
    assert_eq!(v["answer"], Value::Null);
    // What switching to enforce would answer instead.
    let notes = v["notes"].as_array().unwrap();
    assert!(
        notes.contains(&json!(
            "shadow mode lets this request through; in enforce mode the filter would answer 401 missing_token instead"
        )),
        "{notes:?}"
    );
    // The token goes in the provider's own header; identity headers are set, forged ones removed.
    let good = mint(
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
    let v = explain(
        &file,
        &[
            "--path",
            "/tenants/acme/orders/1",
            "--token",
            &good,
            "-H",
            "x-workload-subject: forged",
        ],
    );
    assert_eq!(v["decision"], "shadow_allow", "{:#}", v["trace"]);
    assert!(v["request"]["headers"]
        .as_array()
        .unwrap()
        .contains(&json!("x-workload-token")));
    let set = v["upstream"]["set_headers"].as_array().unwrap();
    assert!(
        set.contains(&json!({"name": "x-workload-subject", "value": SUB})),
        "{set:?}"
    );
    assert!(v["upstream"]["removed_headers"]
        .as_array()
        .unwrap()
        .contains(&json!("x-workload-subject")));
}

#[test]
fn explain_remote_keys_and_revocation() {
    let d = dir("explain_remote");
    let (pem, jwks) = key(&d);
    let mut policy = orders_policy(&jwks);
    policy["providers"]["mesh"]
        .as_object_mut()
        .unwrap()
        .remove("local_jwks");
    policy["providers"]["mesh"]["remote_jwks"] = json!({
        "http_uri": {"uri": "http://idp.internal/jwks.json", "cluster": "idp"}
    });
    policy["revocation"] = json!({"http_uri": {"uri": "http://revocation.internal/v1/revoked", "cluster": "revocation"}});
    let file = write(&d, "policy.json", &policy.to_string());
    let jwks_file = write(&d, "jwks.json", &jwks);
    let good = mint(
        &pem,
        &[
            "--sub",
            SUB,
            "--scope",
            "orders:read",
            "--claim",
            "tenant=acme",
            "--jti",
            "task-42",
        ],
    );
    let path = ["--path", "/tenants/acme/orders/1", "--token", good.as_str()];

    let v = explain(&file, &path);
    assert_eq!(v["reason"], "keys_unavailable");
    let notes = v["notes"].to_string();
    assert!(notes.contains("no --jwks was given"), "{notes}");

    let mut with_keys = path.to_vec();
    with_keys.extend_from_slice(&["--jwks", &jwks_file]);
    let v = explain(&file, &with_keys);
    assert_eq!(v["reason"], "allowed", "{:#}", v["trace"]);
    assert!(
        v["notes"].to_string().contains("an empty list is assumed"),
        "{}",
        v["notes"]
    );
    let named = format!("mesh={jwks_file}");
    let v = explain(&file, &[&path[..], &["--jwks", &named]].concat());
    assert_eq!(v["reason"], "allowed");

    let revoked = write(&d, "revoked.json", r#"{"jti": ["task-42"]}"#);
    with_keys.extend_from_slice(&["--revoked", &revoked]);
    let v = explain(&file, &with_keys);
    assert_eq!(v["reason"], "revoked");
    assert_eq!(v["status"], 401);

    let r = run(&["explain", &file, "--path", "/", "--jwks", "nobody=x.json"]);
    assert_eq!(r.code, 2, "an unknown provider or file is a usage error");
}
