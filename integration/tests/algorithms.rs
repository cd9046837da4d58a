//! Every supported algorithm (RS256, PS256, ES256, ES384, EdDSA) with freshly generated keys:
//! accepted with and without `kid`, bad signatures, unknown kids, provider allow-lists, a
//! custom token header, and the never-allowed `none`/HMAC algorithms.

use serde_json::{json, Value};
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{
    hs256_token, jwks, key, merge, none_token, other_key, with_corrupted_signature, with_payload,
    Alg,
};
use workload_authz_integration::{now, Checker, Expect, Request};

const REALM: &str = "alg-test";

fn policy() -> String {
    let all: Vec<_> = Alg::ALL.iter().map(|a| key(*a)).collect();
    let set = jwks(&all);
    json!({
        "mode": "enforce",
        "realm": REALM,
        "providers": {
            // Default algorithms and default token source (Authorization: Bearer).
            "any": {
                "issuer": "https://any.example",
                "audiences": ["svc"],
                "local_jwks": { "inline_string": set }
            },
            // Same keys, but only ES256/RS256, and the token in a custom header.
            "strict": {
                "issuer": "https://strict.example",
                "audiences": ["svc"],
                "local_jwks": { "inline_string": set },
                "algorithms": ["ES256", "RS256"],
                "from_headers": [{ "name": "x-strict-token", "value_prefix": "Token " }]
            }
        },
        "routes": [
            { "action": "any", "match": { "path": "/any/**" }, "require": { "providers": ["any"] } },
            { "action": "strict", "match": { "path": "/strict/**" }, "require": { "providers": ["strict"] } }
        ]
    })
    .to_string()
}

fn claims(iss: &str) -> Value {
    let t = now();
    json!({ "iss": iss, "aud": "svc", "sub": "client-1", "iat": t, "exp": t + 300 })
}

#[test]
fn all_algorithms() {
    use Expect::*;
    let envoy = start_envoy(&policy());
    let mut c = Checker::new(&envoy, REALM);
    let any = claims("https://any.example");
    let strict = claims("https://strict.example");
    for alg in Alg::ALL {
        let n = alg.name();
        let k = key(alg);
        let token = k.sign(&any);
        c.case(
            &format!("{n} valid"),
            Request::get("/any/x").bearer(&token),
            Allow,
        );
        c.case(
            &format!("{n} without kid (all keys of the type tried)"),
            Request::get("/any/x").bearer(&k.with_kid(None).sign(&any)),
            Allow,
        );
        c.case(
            &format!("{n} tampered payload"),
            Request::get("/any/x").bearer(&with_payload(
                &token,
                &merge(&any, &json!({"sub": "admin"})),
            )),
            InvalidToken("bad_signature"),
        );
        c.case(
            &format!("{n} corrupted signature"),
            Request::get("/any/x").bearer(&with_corrupted_signature(&token)),
            InvalidToken("bad_signature"),
        );
        c.case(
            &format!("{n} signed by a foreign key under a known kid"),
            Request::get("/any/x").bearer(&other_key(alg).with_kid(Some(&k.kid)).sign(&any)),
            InvalidToken("bad_signature"),
        );
        c.case(
            &format!("{n} foreign key without kid"),
            Request::get("/any/x").bearer(&other_key(alg).with_kid(None).sign(&any)),
            InvalidToken("bad_signature"),
        );
        c.case(
            &format!("{n} unknown kid"),
            Request::get("/any/x").bearer(&other_key(alg).sign(&any)),
            InvalidToken("unknown_key"),
        );
        // Provider allow-list: only ES256 and RS256 for "strict"; token in x-strict-token.
        let strict_token = k.sign(&strict);
        let expect = if matches!(alg, Alg::ES256 | Alg::RS256) {
            Allow
        } else {
            InvalidToken("disallowed_algorithm")
        };
        c.case(
            &format!("{n} on strict provider"),
            Request::get("/strict/x").header("X-Strict-Token", &format!("Token {strict_token}")),
            expect,
        );
    }
    let pk = key(Alg::RS256).public_jwk().to_string();
    let rsa_n = key(Alg::RS256).public_jwk()["n"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let cases = vec![
        (
            "no token on strict (custom header)",
            Request::get("/strict/x"),
            MissingToken,
        ),
        (
            "alg none",
            Request::get("/any/x").bearer(&none_token(&any, Some("RS256-1"))),
            InvalidToken("disallowed_algorithm"),
        ),
        (
            "alg none, no kid",
            Request::get("/any/x").bearer(&none_token(&any, None)),
            InvalidToken("disallowed_algorithm"),
        ),
        (
            "HS256 keyed with RSA JWK JSON",
            Request::get("/any/x").bearer(&hs256_token(pk.as_bytes(), &any, Some("RS256-1"))),
            InvalidToken("disallowed_algorithm"),
        ),
        (
            "HS256 keyed with RSA modulus",
            Request::get("/any/x").bearer(&hs256_token(rsa_n.as_bytes(), &any, None)),
            InvalidToken("disallowed_algorithm"),
        ),
    ];
    for (name, req, expect) in cases {
        c.case(name, req, expect);
    }
    c.finish();
}
