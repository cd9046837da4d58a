//! Shared test vectors (`../shared/vectors`, see its README.md): Envoy's jwt_authn tokens with
//! `envoy/public_key_jwks.json` (three RSA keys, all 2048-bit, so the filter must accept the
//! JWKS) and Istio's e2e tokens with `istio_e2e/jwks.json` (one 2048-bit RSA key).
//!
//! Differences from Envoy's jwt_authn, by design of this filter:
//! * a wrong audience is an invalid token: 401 `bad_audience` (Envoy answers 403,
//!   `JwtAudienceNotAllowed`);
//! * the signature is verified before time/audience checks, so `NotYetValidToken` and
//!   `NonExpiringToken` (whose signatures do not verify) are `bad_signature` (Envoy:
//!   `JwtNotYetValid` / `JwtAudienceNotAllowed`).

use serde_json::json;
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::TestKey;
use workload_authz_integration::{now, read_vector, Checker, Expect, Request};

const REALM: &str = "vectors";

fn policy() -> String {
    json!({
        "mode": "enforce",
        "realm": REALM,
        "providers": {
            "example": {
                "issuer": "https://example.com",
                "audiences": ["example_service", "http://example_service1", "https://example_service2/"],
                "local_jwks": { "inline_string": read_vector("envoy/public_key_jwks.json") }
            },
            "istio1": {
                "issuer": "test-issuer-1@istio.io",
                "audiences": ["buzz"],
                "local_jwks": { "inline_string": read_vector("istio_e2e/jwks.json") }
            }
        },
        "routes": [
            { "action": "istio", "match": { "path": "/istio/**" }, "require": { "providers": ["istio1"] } },
            { "action": "scoped", "match": { "path": "/scoped/**" },
              "require": { "providers": ["example"], "scopes": ["read", "write"] } },
            { "action": "nested", "match": { "path": "/nested/**" },
              "require": { "providers": ["example"],
                           "claims": { "nested.key-1": "value1", "nested.nested-2.key-5": "str2" } } },
            { "action": "api", "match": { "path": "/api/**" }, "require": { "providers": ["example"] } }
        ]
    })
    .to_string()
}

fn bearer(path: &str, vector: &str) -> Request {
    Request::get(path).bearer(&read_vector(vector))
}

#[test]
fn envoy_and_istio_vectors() {
    use Expect::*;
    let envoy = start_envoy(&policy());
    let mut c = Checker::new(&envoy, REALM);
    let cases = vec![
        ("GoodToken", bearer("/api/r", "envoy/GoodToken.jwt"), Allow),
        (
            "GoodTokenWithSpaces",
            bearer("/api/r", "envoy/GoodTokenWithSpaces.jwt"),
            Allow,
        ),
        (
            "NestedGoodToken",
            bearer("/api/r", "envoy/NestedGoodToken.jwt"),
            Allow,
        ),
        (
            "ExpiredToken",
            bearer("/api/r", "envoy/ExpiredToken.jwt"),
            InvalidToken("expired"),
        ),
        // Envoy: 403 JwtAudienceNotAllowed. Here: 401 bad_audience.
        (
            "InvalidAudToken",
            bearer("/api/r", "envoy/InvalidAudToken.jwt"),
            InvalidToken("bad_audience"),
        ),
        (
            "OtherGoodToken",
            bearer("/api/r", "envoy/OtherGoodToken.jwt"),
            InvalidToken("bad_issuer"),
        ),
        // No kid and no key verifies it.
        (
            "NonExistKidToken",
            bearer("/api/r", "envoy/NonExistKidToken.jwt"),
            InvalidToken("bad_signature"),
        ),
        // Signature copied from ExpiredToken: does not verify; checked before nbf.
        (
            "NotYetValidToken",
            bearer("/api/r", "envoy/NotYetValidToken.jwt"),
            InvalidToken("bad_signature"),
        ),
        (
            "NonExpiringToken",
            bearer("/api/r", "envoy/NonExpiringToken.jwt"),
            InvalidToken("bad_signature"),
        ),
        (
            "ES256WithoutIssToken (no iss)",
            bearer("/api/r", "envoy/ES256WithoutIssToken.jwt"),
            InvalidToken("bad_issuer"),
        ),
        ("no token", Request::get("/api/r"), MissingToken),
        // Scopes: GoodTokenWithSpaces has scope "read write", GoodToken none.
        (
            "space-delimited scope vector",
            bearer("/scoped/r", "envoy/GoodTokenWithSpaces.jwt"),
            Allow,
        ),
        (
            "vector without scope",
            bearer("/scoped/r", "envoy/GoodToken.jwt"),
            InsufficientScope("read write"),
        ),
        // Nested claims (dotted paths, array containment).
        (
            "nested claims match",
            bearer("/nested/r", "envoy/NestedGoodToken.jwt"),
            Allow,
        ),
        (
            "nested claims absent",
            bearer("/nested/r", "envoy/GoodToken.jwt"),
            Forbidden("claim_mismatch"),
        ),
        // Istio e2e.
        (
            "Istio aud list containing buzz",
            bearer("/istio/r", "istio_e2e/TokenIssuer1WithAudList.jwt"),
            Allow,
        ),
        (
            "Istio aud foo",
            bearer("/istio/r", "istio_e2e/TokenIssuer1WithAud.jwt"),
            InvalidToken("bad_audience"),
        ),
        (
            "Istio no aud",
            bearer("/istio/r", "istio_e2e/TokenIssuer1.jwt"),
            InvalidToken("bad_audience"),
        ),
        (
            "Istio other issuer",
            bearer("/istio/r", "istio_e2e/TokenIssuer2.jwt"),
            InvalidToken("bad_issuer"),
        ),
        (
            "Istio TokenInvalid",
            bearer("/istio/r", "istio_e2e/TokenInvalid.jwt"),
            InvalidToken("malformed_token"),
        ),
        (
            "Envoy token on Istio-only route",
            bearer("/istio/r", "envoy/GoodToken.jwt"),
            Denied,
        ),
    ];
    for (name, req, expect) in cases {
        c.case(name, req, expect);
    }

    // Fresh tokens signed with the vector private key (matches kid 62a93512... and b3319a14...).
    match TestKey::rs256_from_pem(
        &read_vector("envoy/rs256_private_key.pem"),
        Some("b3319a147514df7ee5e4bcdee51350cc890cc89e"),
    ) {
        Ok(k) => {
            let t = now();
            let claims = json!({"iss": "https://example.com", "aud": "http://example_service1",
                                "sub": "x", "iat": t, "exp": t + 60, "scope": ["read", "write"]});
            c.case(
                "minted with vector key, kid b3319a14",
                Request::get("/scoped/r").bearer(&k.sign(&claims)),
                Allow,
            );
            let nokid = k.with_kid(None);
            c.case(
                "minted with vector key, no kid",
                Request::get("/scoped/r").bearer(&nokid.sign(&claims)),
                Allow,
            );
            let expired = json!({"iss": "https://example.com", "aud": "example_service",
                                 "iat": t - 4000, "exp": t - 3600});
            c.case(
                "minted, expired",
                Request::get("/api/r").bearer(&k.sign(&expired)),
                InvalidToken("expired"),
            );
        }
        Err(e) => c.fail(format!("cannot load envoy/rs256_private_key.pem: {e}")),
    }
    c.finish();
}
