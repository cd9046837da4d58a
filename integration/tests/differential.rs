//! Differential check against Envoy's native `jwt_authn`: the same providers (issuer,
//! audiences, keys, token header, `require_expiration`, clock skew) in two Envoys, one with
//! `envoy.filters.http.jwt_authn` (`forward: true`, a requirement per route prefix) and one with
//! workload-authz, fed the same token corpus. Every token must get the same verdict (allowed
//! or denied) from both, except the deliberate differences listed in [`EXPECTED_DIFFERENCES`]
//! (documented in docs/hardening.md), which must differ exactly as listed.

use std::fmt::Write as _;

use serde_json::{json, Value};
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{
    build_token, hs256_token, jwks, key, merge, none_token, other_key, with_corrupted_signature,
    with_payload, Alg, RawSigner, TestKey,
};
use workload_authz_integration::{
    b64url, b64url_decode, now, read_vector, Envoy, EnvoyOptions, Request,
};

const MESH_ISS: &str = "https://mesh.example";
const RAW_KID: &str = "raw-ed25519";

/// Cases where the verdicts differ on purpose: `(case name, workload-authz allows,
/// jwt_authn allows)`.
const EXPECTED_DIFFERENCES: &[(&str, bool, bool)] = &[
    // `iat` in the future: we refuse (issued_in_future); jwt_authn does not check `iat`.
    ("iat one hour in the future", false, true),
    // `crit`: we understand no extension and refuse (RFC 7515 4.1.11); jwt_authn ignores it.
    ("crit header", false, true),
    // NumericDate with a fraction: we require a non-negative integer (malformed_token);
    // jwt_authn accepts `exp: <t>.5`.
    ("exp as a float", false, true),
    // The auth scheme is case-insensitive (RFC 7235 2.1): we accept `bearer <token>`;
    // jwt_authn's `value_prefix` is compared exactly and finds no token.
    ("lowercase bearer prefix", true, false),
    // limits.max_claims_depth (16): deeper JSON is refused; jwt_authn has no depth limit.
    ("claims nested 20 deep", false, true),
    // limits.max_token_bytes (8 KiB): 431 header_too_large; jwt_authn reads up to Envoy's
    // header limit (60 KiB).
    ("token over 8 KiB", false, true),
];

struct Providers {
    mesh_jwks: String,
    example_jwks: String,
    istio_jwks: String,
}

fn providers(raw: &RawSigner) -> Providers {
    let mut mesh: Value =
        serde_json::from_str(&jwks(&Alg::ALL.iter().map(|a| key(*a)).collect::<Vec<_>>()))
            .unwrap_or_else(|e| panic!("{e}"));
    if let Some(keys) = mesh.get_mut("keys").and_then(Value::as_array_mut) {
        keys.push(raw.jwk());
    }
    Providers {
        mesh_jwks: mesh.to_string(),
        example_jwks: read_vector("envoy/public_key_jwks.json"),
        istio_jwks: read_vector("istio_e2e/jwks.json"),
    }
}

const EXAMPLE_AUDIENCES: [&str; 3] = [
    "example_service",
    "http://example_service1",
    "https://example_service2/",
];

/// (name, issuer, audiences, route prefix)
fn provider_table(p: &Providers) -> Vec<(&'static str, &'static str, Vec<&'static str>, String)> {
    vec![
        ("mesh", MESH_ISS, vec!["svc"], p.mesh_jwks.clone()),
        (
            "example",
            "https://example.com",
            EXAMPLE_AUDIENCES.to_vec(),
            p.example_jwks.clone(),
        ),
        (
            "istio",
            "test-issuer-1@istio.io",
            vec!["buzz"],
            p.istio_jwks.clone(),
        ),
    ]
}

/// One provider, spelled the same in our policy and in `jwt_authn` (the field names are shared).
fn provider_json(iss: &str, auds: &[&str], keys: &str) -> Value {
    json!({
        "issuer": iss,
        "audiences": auds,
        "local_jwks": { "inline_string": keys },
        "from_headers": [{ "name": "authorization", "value_prefix": "Bearer " }],
        "clock_skew_seconds": 60,
        "require_expiration": true,
        "forward": true
    })
}

fn our_policy(p: &Providers) -> String {
    let mut providers = serde_json::Map::new();
    let mut routes = Vec::new();
    for (name, iss, auds, keys) in provider_table(p) {
        providers.insert(name.into(), provider_json(iss, &auds, &keys));
        routes.push(json!({
            "action": name,
            "match": { "path": format!("/{name}/**") },
            "require": { "providers": [name] }
        }));
    }
    json!({ "realm": "differential", "providers": providers, "routes": routes }).to_string()
}

fn jwt_authn_filter(p: &Providers) -> Value {
    let mut providers = serde_json::Map::new();
    let mut rules = Vec::new();
    for (name, iss, auds, keys) in provider_table(p) {
        providers.insert(name.into(), provider_json(iss, &auds, &keys));
        rules.push(json!({
            "match": { "prefix": format!("/{name}/") },
            "requires": { "provider_name": name }
        }));
    }
    json!({
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": providers,
            "rules": rules
        }
    })
}

struct Case {
    name: String,
    req: Request,
}

fn case(name: &str, path: &str, token: &str) -> Case {
    Case {
        name: name.to_string(),
        req: Request::get(path).bearer(token),
    }
}

fn mesh_claims() -> Value {
    let t = now();
    json!({ "iss": MESH_ISS, "aud": "svc", "sub": "client-1", "iat": t, "exp": t + 300 })
}

fn corpus(raw: &RawSigner) -> Vec<Case> {
    let t = now();
    let good = mesh_claims();
    let mut cases = Vec::new();
    for alg in Alg::ALL {
        let n = alg.name();
        let k = key(alg);
        let valid = k.sign(&good);
        let with = |o: Value| k.sign(&merge(&good, &o));
        cases.push(case(&format!("{n} valid"), "/mesh/x", &valid));
        cases.push(case(
            &format!("{n} valid, no kid"),
            "/mesh/x",
            &k.with_kid(None).sign(&good),
        ));
        cases.push(case(
            &format!("{n} expired"),
            "/mesh/x",
            &with(json!({"iat": t - 4000, "exp": t - 3600})),
        ));
        cases.push(case(
            &format!("{n} expired within the skew"),
            "/mesh/x",
            &with(json!({"iat": t - 400, "exp": t - 30})),
        ));
        cases.push(case(
            &format!("{n} not yet valid"),
            "/mesh/x",
            &with(json!({"nbf": t + 3600})),
        ));
        cases.push(case(
            &format!("{n} nbf within the skew"),
            "/mesh/x",
            &with(json!({"nbf": t + 30})),
        ));
        cases.push(case(
            &format!("{n} wrong iss"),
            "/mesh/x",
            &with(json!({"iss": "https://evil.example"})),
        ));
        cases.push(case(
            &format!("{n} wrong aud"),
            "/mesh/x",
            &with(json!({"aud": "other"})),
        ));
        cases.push(case(
            &format!("{n} aud list with ours"),
            "/mesh/x",
            &with(json!({"aud": ["other", "svc"]})),
        ));
        cases.push(case(
            &format!("{n} no aud"),
            "/mesh/x",
            &with(json!({"aud": null})),
        ));
        cases.push(case(
            &format!("{n} no exp"),
            "/mesh/x",
            &with(json!({"exp": null})),
        ));
        cases.push(case(
            &format!("{n} no iss"),
            "/mesh/x",
            &with(json!({"iss": null})),
        ));
        cases.push(case(
            &format!("{n} bad signature"),
            "/mesh/x",
            &with_corrupted_signature(&valid),
        ));
        cases.push(case(
            &format!("{n} tampered payload"),
            "/mesh/x",
            &with_payload(&valid, &merge(&good, &json!({"sub": "admin"}))),
        ));
        cases.push(case(
            &format!("{n} foreign key, known kid"),
            "/mesh/x",
            &other_key(alg).with_kid(Some(&k.kid)).sign(&good),
        ));
        cases.push(case(
            &format!("{n} unknown kid"),
            "/mesh/x",
            &other_key(alg).sign(&good),
        ));
    }
    let es = key(Alg::ES256);
    let es_token = es.sign(&good);
    let es_parts: Vec<&str> = es_token.split('.').collect();
    let es_sig = b64url_decode(es_parts[2]).unwrap_or_default();
    let pk = key(Alg::RS256).public_jwk().to_string();
    let header_b64 =
        b64url(format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#).as_bytes());
    let payload_b64 = b64url(good.to_string().as_bytes());
    let padded_payload = {
        let mut p = payload_b64.clone();
        while p.len() % 4 != 0 {
            p.push('=');
        }
        if !p.ends_with('=') {
            p.push_str("==");
        }
        p
    };
    let der = {
        let int = |b: &[u8]| {
            let mut v: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
            if v.first().is_none_or(|x| x & 0x80 != 0) {
                v.insert(0, 0);
            }
            let mut out = vec![0x02, v.len() as u8];
            out.extend(v);
            out
        };
        let mut body = int(&es_sig[..32]);
        body.extend(int(&es_sig[32..]));
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    };
    let more = vec![
        case(
            "raw signer valid",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &good.to_string(),
            ),
        ),
        case("alg none", "/mesh/x", &none_token(&good, Some("ES256-1"))),
        case(
            "alg None",
            "/mesh/x",
            &build_token(&json!({"alg": "None"}), &good, b""),
        ),
        case(
            "HS256 keyed with the RSA JWK",
            "/mesh/x",
            &hs256_token(pk.as_bytes(), &good, Some("RS256-1")),
        ),
        case(
            "ES256 r = s = 0",
            "/mesh/x",
            &build_token(
                &json!({"alg": "ES256", "kid": "ES256-1"}),
                &good,
                &[0u8; 64],
            ),
        ),
        case(
            "ES256 DER signature",
            "/mesh/x",
            &format!("{}.{}.{}", es_parts[0], es_parts[1], b64url(&der)),
        ),
        case(
            "stripped signature",
            "/mesh/x",
            &format!("{}.{}.", es_parts[0], es_parts[1]),
        ),
        case(
            "iat one hour in the future",
            "/mesh/x",
            &es.sign(&merge(&good, &json!({"iat": t + 3600, "exp": t + 3900}))),
        ),
        case(
            "exp ten years ahead",
            "/mesh/x",
            &es.sign(&merge(&good, &json!({"exp": t + 315_360_000}))),
        ),
        case(
            "crit header",
            "/mesh/x",
            &raw.sign_text(
                &format!(
                    r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}","crit":["exp"],"exp":1}}"#
                ),
                &good.to_string(),
            ),
        ),
        case(
            "duplicate sub in payload",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &format!(
                    r#"{{"iss":"{MESH_ISS}","aud":"svc","sub":"a","sub":"b","iat":{t},"exp":{}}}"#,
                    t + 300
                ),
            ),
        ),
        case(
            "duplicate alg in header",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &good.to_string(),
            ),
        ),
        case(
            "exp as a float",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &format!(
                    r#"{{"iss":"{MESH_ISS}","aud":"svc","iat":{t},"exp":{}.5}}"#,
                    t + 300
                ),
            ),
        ),
        case(
            "exp as a string",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &format!(
                    r#"{{"iss":"{MESH_ISS}","aud":"svc","iat":{t},"exp":"{}"}}"#,
                    t + 300
                ),
            ),
        ),
        case(
            "exp 1e400",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &format!(r#"{{"iss":"{MESH_ISS}","aud":"svc","iat":{t},"exp":1e400}}"#),
            ),
        ),
        case(
            "padded payload",
            "/mesh/x",
            &raw.sign_input(&format!("{header_b64}.{padded_payload}")),
        ),
        case("embedded jwk (attacker key)", "/mesh/x", &{
            let attacker = RawSigner::new(RAW_KID);
            attacker.sign_text(
                &json!({"alg": "EdDSA", "jwk": attacker.jwk()}).to_string(),
                &good.to_string(),
            )
        }),
        case(
            "kid path traversal",
            "/mesh/x",
            &other_key(Alg::ES256)
                .with_kid(Some("../../dev/null"))
                .sign(&good),
        ),
        case("not a JWT", "/mesh/x", "TokenInvalid"),
        case(
            "two parts",
            "/mesh/x",
            &format!("{}.{}", es_parts[0], es_parts[1]),
        ),
        case("four parts", "/mesh/x", &format!("{es_token}.x")),
        case("garbage parts", "/mesh/x", "a.b.c"),
        Case {
            name: "two Authorization headers".into(),
            req: Request::get("/mesh/x").bearer(&es_token).bearer(&es_token),
        },
        Case {
            name: "lowercase bearer prefix".into(),
            req: Request::get("/mesh/x").header("Authorization", &format!("bearer {es_token}")),
        },
        case(
            "iat as a string",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &format!(
                    r#"{{"iss":"{MESH_ISS}","aud":"svc","iat":"{t}","exp":{}}}"#,
                    t + 300
                ),
            ),
        ),
        case(
            "nbf negative",
            "/mesh/x",
            &raw.sign_text(
                &format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{RAW_KID}"}}"#),
                &format!(
                    r#"{{"iss":"{MESH_ISS}","aud":"svc","nbf":-1,"iat":{t},"exp":{}}}"#,
                    t + 300
                ),
            ),
        ),
        case(
            "aud as a number",
            "/mesh/x",
            &es.sign(&merge(&good, &json!({"aud": 7}))),
        ),
        case(
            "claims nested 20 deep",
            "/mesh/x",
            &es.sign(&merge(
                &good,
                &json!({"deep":
            [[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]}),
            )),
        ),
        case(
            "token over 8 KiB",
            "/mesh/x",
            &es.sign(&merge(&good, &json!({"pad": "p".repeat(7000)}))),
        ),
        Case {
            name: "no token".into(),
            req: Request::get("/mesh/x"),
        },
        Case {
            name: "token in the query string".into(),
            req: Request::get(&format!("/mesh/x?access_token={es_token}")),
        },
    ];
    cases.extend(more);

    // Envoy's own vectors on the example provider, Istio's on the istio provider.
    for v in [
        "GoodToken",
        "GoodTokenWithSpaces",
        "NestedGoodToken",
        "ExpiredToken",
        "InvalidAudToken",
        "OtherGoodToken",
        "NonExistKidToken",
        "NotYetValidToken",
        "NonExpiringToken",
        "ES256WithoutIssToken",
    ] {
        cases.push(case(
            &format!("envoy/{v}"),
            "/example/x",
            &read_vector(&format!("envoy/{v}.jwt")),
        ));
    }
    match TestKey::rs256_from_pem(&read_vector("envoy/rs256_private_key.pem"), None) {
        Ok(k) => {
            let c = json!({"iss": "https://example.com", "aud": "http://example_service1",
                           "sub": "x", "iat": t, "exp": t + 60});
            cases.push(case("envoy key, minted", "/example/x", &k.sign(&c)));
            cases.push(case(
                "envoy key, minted, expired",
                "/example/x",
                &k.sign(&merge(&c, &json!({"iat": t - 7200, "exp": t - 3600}))),
            ));
        }
        Err(e) => panic!("envoy/rs256_private_key.pem: {e}"),
    }
    for v in [
        "TokenIssuer1WithAudList",
        "TokenIssuer1",
        "TokenIssuer1WithAud",
        "TokenIssuer2",
        "TokenExpired",
        "TokenInvalid",
    ] {
        cases.push(case(
            &format!("istio_e2e/{v}"),
            "/istio/x",
            &read_vector(&format!("istio_e2e/{v}.jwt")),
        ));
    }
    cases
}

/// (allowed, status, detail)
fn verdict(envoy: &Envoy, req: &Request) -> (bool, u16, String) {
    let before = envoy.upstream.count();
    match envoy.send(req) {
        Ok(r) => {
            let allowed =
                r.status == 200 && envoy.upstream.count() > before && r.header("x-echo").is_some();
            let detail = if allowed {
                "(upstream)".to_string()
            } else {
                r.reason()
                    .unwrap_or_else(|| r.body_str().chars().take(50).collect())
            };
            (allowed, r.status, detail)
        }
        Err(e) => (false, 0, format!("I/O error: {e}")),
    }
}

#[test]
fn same_verdicts_as_jwt_authn() {
    let raw = RawSigner::new(RAW_KID);
    let p = providers(&raw);
    let ours = start_envoy(&our_policy(&p));
    let theirs = match Envoy::start_with_http_filters(
        vec![jwt_authn_filter(&p)],
        &EnvoyOptions {
            component_log_level: String::new(),
            ..EnvoyOptions::default()
        },
    ) {
        Ok(e) => e,
        Err(e) => panic!("Envoy with jwt_authn failed to start: {e}"),
    };
    let cases = corpus(&raw);
    let mut table = String::new();
    let mut failures = Vec::new();
    let mut seen_differences = Vec::new();
    for c in &cases {
        let (a, sa, da) = verdict(&ours, &c.req);
        let (b, sb, db) = verdict(&theirs, &c.req);
        let _ = writeln!(
            table,
            "{:<45} ours {:<5} {sa} {da:<22} jwt_authn {:<5} {sb} {db}",
            c.name,
            if a { "ALLOW" } else { "deny" },
            if b { "ALLOW" } else { "deny" }
        );
        let expected = EXPECTED_DIFFERENCES.iter().find(|(n, _, _)| *n == c.name);
        match expected {
            Some((_, want_ours, want_theirs)) => {
                seen_differences.push(c.name.clone());
                if (a, b) != (*want_ours, *want_theirs) {
                    failures.push(format!(
                        "[{}] documented difference no longer holds: expected ours={want_ours} jwt_authn={want_theirs}, got ours={a} ({sa} {da}) jwt_authn={b} ({sb} {db})",
                        c.name
                    ));
                }
            }
            None => {
                if a != b {
                    failures.push(format!(
                        "[{}] verdicts differ: ours {} ({sa} {da}), jwt_authn {} ({sb} {db})",
                        c.name,
                        if a { "allowed" } else { "denied" },
                        if b { "allowed" } else { "denied" }
                    ));
                }
            }
        }
    }
    for (n, _, _) in EXPECTED_DIFFERENCES {
        if !seen_differences.iter().any(|s| s == n) {
            failures.push(format!("documented difference {n:?} is not in the corpus"));
        }
    }
    eprintln!("{} tokens:\n{table}", cases.len());
    if !failures.is_empty() {
        panic!(
            "{} of {} cases:\n{}\n\n{table}\n--- jwt_authn Envoy log ---\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n"),
            theirs.log_tail(20)
        );
    }
}
