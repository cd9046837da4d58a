//! The filter's public contract against a real Envoy, with the "orders-api" policy of the
//! design (plus a second provider, a `scopes_any` route and a host-restricted route).
//!
//! Each test function starts ONE Envoy and runs a table of requests; all mismatches are
//! reported together.

use serde_json::{json, Value};
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{
    build_token, hs256_token, jwks, key, merge, none_token, other_key, with_corrupted_signature,
    with_payload, Alg,
};
use workload_authz_integration::{now, Checker, Expect, Request};

const MESH_ISS: &str = "https://issuer.prod.example";
const PARTNER_ISS: &str = "https://partner.example";
const REALM: &str = "orders-api";

fn policy() -> String {
    let mesh_jwks = jwks(&[key(Alg::ES256), key(Alg::RS256), key(Alg::ES384)]);
    let partner_jwks = jwks(&[key(Alg::EdDSA)]);
    json!({
        "mode": "enforce",
        "realm": REALM,
        "providers": {
            "mesh": {
                "issuer": MESH_ISS,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": mesh_jwks },
                "algorithms": ["ES256", "RS256"],
                "from_headers": [{ "name": "authorization", "value_prefix": "Bearer " }],
                "clock_skew_seconds": 60,
                "max_lifetime_seconds": 900,
                "require_expiration": true
            },
            "partner": {
                "issuer": PARTNER_ISS,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": partner_jwks }
            }
        },
        "routes": [
            { "action": "health", "match": { "path": "/healthz" }, "public": true },
            { "action": "orders.read",
              "match": { "path": "/tenants/{tenant}/orders/{id}", "methods": ["GET", "HEAD"] },
              "require": { "providers": ["mesh"], "scopes": ["orders:read"],
                           "subjects": ["spiffe://prod.example/ns/*/sa/*"],
                           "claims": { "tenant": "{tenant}" } } },
            { "action": "orders.write",
              "match": { "path": "/tenants/{tenant}/orders", "methods": ["POST"] },
              "max_lifetime_seconds": 300,
              "require": { "scopes": ["orders:write:{tenant}"] } },
            { "action": "catalog.read",
              "match": { "path": "/catalog/*/items/**", "methods": ["GET"] },
              "require": { "scopes_any": ["catalog:read", "catalog:admin"] } },
            { "action": "admin",
              "match": { "path": "/admin/**", "hosts": ["admin.example"] },
              "require": { "providers": ["mesh"],
                           "claims": { "roles": "admin", "org.unit": ["ops", "sre"] } } }
        ]
    })
    .to_string()
}

/// Valid claims for `GET /tenants/acme/orders/{id}` with the mesh provider.
fn mesh_claims() -> Value {
    let t = now();
    json!({
        "iss": MESH_ISS,
        "aud": "orders",
        "sub": "spiffe://prod.example/ns/shop/sa/web",
        "iat": t,
        "exp": t + 600,
        "scope": "orders:read",
        "tenant": "acme"
    })
}

fn es256(overrides: Value) -> String {
    key(Alg::ES256).sign(&merge(&mesh_claims(), &overrides))
}

fn get(path: &str, token: &str) -> Request {
    Request::get(path).bearer(token)
}

const READ: &str = "/tenants/acme/orders/42";

type Case = (String, Request, Expect);

fn case(name: &str, req: Request, expect: Expect) -> Case {
    (name.to_string(), req, expect)
}

fn run(cases: Vec<Case>) {
    let envoy = start_envoy(&policy());
    let mut checker = Checker::new(&envoy, REALM);
    for (name, req, expect) in cases {
        checker.case(&name, req, expect);
    }
    checker.finish();
}

/// Public route, routing (first match, methods, hosts, `*`/`**`), unmatched requests and
/// paths that must be refused as `invalid_path`.
#[test]
fn routing_and_paths() {
    use Expect::*;
    let ok = es256(json!({}));
    let admin = es256(json!({"roles": ["dev", "admin"], "org": {"unit": "ops"}}));
    let catalog = es256(json!({"scope": "catalog:admin"}));
    let cases = vec![
        case("public route, no token", Request::get("/healthz"), Allow),
        case(
            "public route with query",
            Request::get("/healthz?probe=1"),
            Allow,
        ),
        case(
            "public route, HEAD",
            Request::new("HEAD", "/healthz"),
            Allow,
        ),
        case(
            "unmatched path, no token",
            Request::get("/nope"),
            Forbidden("no_route"),
        ),
        case(
            "unmatched path, valid token",
            get("/nope", &ok),
            Forbidden("no_route"),
        ),
        case("unmatched root", get("/", &ok), Forbidden("no_route")),
        case(
            "{id} is one segment",
            get("/tenants/acme/orders/42/items", &ok),
            Forbidden("no_route"),
        ),
        case(
            "wrong method POST on read route",
            Request::post(READ).bearer(&ok),
            Forbidden("no_route"),
        ),
        case(
            "wrong method DELETE",
            Request::new("DELETE", READ).bearer(&ok),
            Forbidden("no_route"),
        ),
        case(
            "GET on POST-only route",
            get("/tenants/acme/orders", &ok),
            Forbidden("no_route"),
        ),
        case(
            "HEAD allowed on read route",
            Request::new("HEAD", READ).bearer(&ok),
            Allow,
        ),
        case(
            "read route with query string",
            get("/tenants/acme/orders/42?expand=items", &ok),
            Allow,
        ),
        case(
            "`*` and `**`",
            get("/catalog/books/items/1/2/3", &catalog),
            Allow,
        ),
        case(
            "`**` with one segment",
            get("/catalog/books/items/1", &catalog),
            Allow,
        ),
        case(
            "`*` is exactly one segment",
            get("/catalog/items/1", &catalog),
            Forbidden("no_route"),
        ),
        case(
            "methods restrict catalog",
            Request::post("/catalog/books/items/1").bearer(&catalog),
            Forbidden("no_route"),
        ),
        case(
            "hosts match",
            get("/admin/users", &admin).header("Host", "admin.example"),
            Allow,
        ),
        case(
            "hosts mismatch",
            get("/admin/users", &admin).header("Host", "www.example"),
            Forbidden("no_route"),
        ),
        // Paths with dot-segments, encoded slashes/dots, backslashes or empty segments.
        case(
            "dot-dot segment",
            get("/tenants/acme/orders/../orders/42", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "dot segment",
            get("/tenants/acme/./orders/42", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "trailing dot-dot",
            get("/tenants/acme/orders/42/..", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "dot-dot on public route",
            Request::get("/healthz/../healthz"),
            Forbidden("invalid_path"),
        ),
        case(
            "leading dot-dot, no token",
            Request::get("/../healthz"),
            Forbidden("invalid_path"),
        ),
        case(
            "encoded slash %2F",
            get("/tenants/acme%2Forders/42", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "encoded slash %2f",
            get("/tenants/acme/orders/42%2f", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "encoded dots %2E%2E",
            get("/tenants/acme/orders/%2E%2E/42", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "encoded dot %2e",
            get("/tenants/acme/%2e/orders/42", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "backslash",
            get("/tenants/acme\\orders/42", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "double slash",
            get("/tenants//acme/orders/42", &ok),
            Forbidden("invalid_path"),
        ),
        case(
            "leading double slash on public route",
            Request::get("//healthz"),
            Forbidden("invalid_path"),
        ),
    ];
    run(cases);
}

/// Token extraction and token validation failures (401 invalid_token), plus accepted variants.
#[test]
fn token_validation() {
    use Expect::*;
    let t = now();
    let ok = es256(json!({}));
    let base = mesh_claims();
    let es = key(Alg::ES256);
    let cases = vec![
        // Extraction.
        case("no token", Request::get(READ), MissingToken),
        case(
            "Basic credentials are not a bearer token",
            Request::get(READ).header("Authorization", "Basic dXNlcjpwYXNz"),
            MissingToken,
        ),
        case("valid ES256", get(READ, &ok), Allow),
        case(
            "lowercase bearer scheme",
            Request::get(READ).header("Authorization", &format!("bearer {ok}")),
            Allow,
        ),
        case(
            "uppercase BEARER scheme",
            Request::get(READ).header("Authorization", &format!("BEARER {ok}")),
            Allow,
        ),
        case(
            "lowercase header name",
            Request::get(READ).header("authorization", &format!("Bearer {ok}")),
            Allow,
        ),
        case(
            "valid RS256",
            get(READ, &key(Alg::RS256).sign(&base)),
            Allow,
        ),
        case(
            "ES256 without kid",
            get(READ, &es.with_kid(None).sign(&base)),
            Allow,
        ),
        // Malformed.
        case(
            "garbage",
            get(READ, "garbage"),
            InvalidToken("malformed_token"),
        ),
        case(
            "two parts",
            get(READ, "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0"),
            InvalidToken("malformed_token"),
        ),
        case(
            "four parts",
            get(READ, &format!("{ok}.AAAA")),
            InvalidToken("malformed_token"),
        ),
        case(
            "header not JSON",
            get(READ, "bm90LWpzb24.eyJpc3MiOiJ4In0.c2ln"),
            InvalidToken("malformed_token"),
        ),
        case(
            "bad base64 in payload",
            get(READ, "eyJhbGciOiJFUzI1NiJ9.!!!.c2ln"),
            InvalidToken("malformed_token"),
        ),
        // Signature / keys / algorithms.
        case(
            "tampered payload",
            get(
                READ,
                &with_payload(&ok, &merge(&base, &json!({"tenant": "evil"}))),
            ),
            InvalidToken("bad_signature"),
        ),
        case(
            "corrupted ES256 signature",
            get(READ, &with_corrupted_signature(&ok)),
            InvalidToken("bad_signature"),
        ),
        case(
            "corrupted RS256 signature",
            get(
                READ,
                &with_corrupted_signature(&key(Alg::RS256).sign(&base)),
            ),
            InvalidToken("bad_signature"),
        ),
        case(
            "signed by another key with a known kid",
            get(
                READ,
                &other_key(Alg::ES256).with_kid(Some("ES256-1")).sign(&base),
            ),
            InvalidToken("bad_signature"),
        ),
        case(
            "expired AND bad signature -> signature first",
            get(
                READ,
                &other_key(Alg::ES256)
                    .with_kid(Some("ES256-1"))
                    .sign(&merge(&base, &json!({"iat": t - 1000, "exp": t - 500}))),
            ),
            InvalidToken("bad_signature"),
        ),
        case(
            "unknown kid",
            get(READ, &other_key(Alg::ES256).sign(&base)),
            InvalidToken("unknown_key"),
        ),
        case(
            "ES384 (key in JWKS) not in provider algorithms",
            get(READ, &key(Alg::ES384).sign(&base)),
            InvalidToken("disallowed_algorithm"),
        ),
        case(
            "alg none",
            get(READ, &none_token(&base, Some("ES256-1"))),
            InvalidToken("disallowed_algorithm"),
        ),
        case(
            "alg none without kid",
            get(READ, &none_token(&base, None)),
            InvalidToken("disallowed_algorithm"),
        ),
        case(
            "HS256 keyed with the public JWK",
            get(
                READ,
                &hs256_token(
                    key(Alg::RS256).public_jwk().to_string().as_bytes(),
                    &base,
                    Some("RS256-1"),
                ),
            ),
            InvalidToken("disallowed_algorithm"),
        ),
        case(
            "alg HS512 by hand",
            get(
                READ,
                &build_token(
                    &json!({"alg": "HS512", "typ": "JWT"}),
                    &base,
                    b"0123456789abcdef0123456789abcdef",
                ),
            ),
            InvalidToken("disallowed_algorithm"),
        ),
        // Time.
        case(
            "expired",
            get(READ, &es256(json!({"iat": t - 700, "exp": t - 120}))),
            InvalidToken("expired"),
        ),
        case(
            "expired within skew is accepted",
            get(READ, &es256(json!({"iat": t - 600, "exp": t - 30}))),
            Allow,
        ),
        case(
            "nbf in the future",
            get(READ, &es256(json!({"nbf": t + 300}))),
            InvalidToken("not_yet_valid"),
        ),
        case(
            "nbf within skew is accepted",
            get(READ, &es256(json!({"nbf": t + 30}))),
            Allow,
        ),
        case(
            "iat in the future",
            get(READ, &es256(json!({"iat": t + 300, "exp": t + 900}))),
            InvalidToken("issued_in_future"),
        ),
        case(
            "iat within skew is accepted",
            get(READ, &es256(json!({"iat": t + 30, "exp": t + 600}))),
            Allow,
        ),
        // Issuer / audience.
        case(
            "unknown issuer",
            get(READ, &es256(json!({"iss": "https://evil.example"}))),
            InvalidToken("bad_issuer"),
        ),
        case(
            "issuer differs by trailing slash",
            get(READ, &es256(json!({"iss": "https://issuer.prod.example/"}))),
            InvalidToken("bad_issuer"),
        ),
        case(
            "no iss",
            get(READ, &es256(json!({"iss": null}))),
            InvalidToken("bad_issuer"),
        ),
        case(
            "wrong audience",
            get(READ, &es256(json!({"aud": "payments"}))),
            InvalidToken("bad_audience"),
        ),
        case(
            "audience array containing ours",
            get(READ, &es256(json!({"aud": ["payments", "orders"]}))),
            Allow,
        ),
        case(
            "audience array without ours",
            get(READ, &es256(json!({"aud": ["payments", "billing"]}))),
            InvalidToken("bad_audience"),
        ),
        case(
            "no aud",
            get(READ, &es256(json!({"aud": null}))),
            InvalidToken("bad_audience"),
        ),
        // Lifetime (provider max 900 s, require_expiration).
        case(
            "lifetime over provider max",
            get(READ, &es256(json!({"iat": t, "exp": t + 1000}))),
            InvalidToken("lifetime_exceeded"),
        ),
        case(
            "lifetime exactly provider max",
            get(READ, &es256(json!({"iat": t, "exp": t + 900}))),
            Allow,
        ),
        case(
            "no exp while required",
            get(READ, &es256(json!({"exp": null}))),
            InvalidToken("lifetime_exceeded"),
        ),
        case(
            "no iat while a max lifetime applies",
            get(READ, &es256(json!({"iat": null}))),
            InvalidToken("lifetime_exceeded"),
        ),
    ];
    run(cases);
}

/// Scopes (all-of, any-of, templates bound to path captures, arrays, `scp`), subjects, claims,
/// provider restrictions and the route-level max lifetime.
#[test]
fn authorization() {
    use Expect::*;
    let t = now();
    let write = |tenant: &str, overrides: Value| -> String {
        es256(merge(
            &json!({"scope": format!("orders:write:{tenant}"), "exp": t + 300}),
            &overrides,
        ))
    };
    let partner_claims = json!({
        "iss": PARTNER_ISS, "aud": "orders", "sub": "partner-app-7",
        "iat": t, "exp": t + 300, "scope": "orders:write:acme", "tenant": "acme"
    });
    let cases = vec![
        // Scopes on the read route.
        case(
            "required scope present",
            get(READ, &es256(json!({}))),
            Allow,
        ),
        case(
            "scope missing entirely",
            get(READ, &es256(json!({"scope": null}))),
            InsufficientScope("orders:read"),
        ),
        case(
            "other scope only",
            get(READ, &es256(json!({"scope": "orders:write:acme"}))),
            InsufficientScope("orders:read"),
        ),
        case(
            "scope prefix is not a match",
            get(READ, &es256(json!({"scope": "orders:reader"}))),
            InsufficientScope("orders:read"),
        ),
        case(
            "scope substring is not a match",
            get(READ, &es256(json!({"scope": "xorders:read"}))),
            InsufficientScope("orders:read"),
        ),
        case(
            "space-delimited scopes",
            get(READ, &es256(json!({"scope": "a orders:read b"}))),
            Allow,
        ),
        case(
            "scope as array",
            get(READ, &es256(json!({"scope": ["x", "orders:read"]}))),
            Allow,
        ),
        case(
            "an array element is one whole scope, not a list",
            get(READ, &es256(json!({"scope": ["x orders:read"]}))),
            InsufficientScope("orders:read"),
        ),
        case(
            "two Authorization headers are ambiguous",
            Request::get(READ)
                .header("authorization", &format!("Bearer {}", es256(json!({}))))
                .header("authorization", &format!("Bearer {}", es256(json!({})))),
            InvalidToken("malformed_token"),
        ),
        case(
            "an empty bearer value is no token",
            Request::get(READ).header("authorization", "Bearer "),
            MissingToken,
        ),
        case(
            "scp string",
            get(READ, &es256(json!({"scope": null, "scp": "orders:read"}))),
            Allow,
        ),
        case(
            "scp array",
            get(
                READ,
                &es256(json!({"scope": null, "scp": ["orders:read", "y"]})),
            ),
            Allow,
        ),
        // Scope templates bound to the {tenant} capture (route max lifetime 300).
        case(
            "write own tenant",
            Request::post("/tenants/acme/orders")
                .bearer(&write("acme", json!({})))
                .body(b"{}"),
            Allow,
        ),
        case(
            "write other tenant",
            Request::post("/tenants/other/orders")
                .bearer(&write("acme", json!({})))
                .body(b"{}"),
            InsufficientScope("orders:write:other"),
        ),
        case(
            "write with scope of another tenant",
            Request::post("/tenants/acme/orders")
                .bearer(&write("other", json!({})))
                .body(b"{}"),
            InsufficientScope("orders:write:acme"),
        ),
        case(
            "write with literal template scope",
            Request::post("/tenants/acme/orders").bearer(&es256(
                json!({"scope": "orders:write:{tenant}", "exp": t + 300}),
            )),
            InsufficientScope("orders:write:acme"),
        ),
        // Route-level max lifetime (300 s) tightens the provider's 900 s.
        case(
            "route max lifetime exceeded",
            Request::post("/tenants/acme/orders").bearer(&write("acme", json!({"exp": t + 600}))),
            InvalidToken("lifetime_exceeded"),
        ),
        case(
            "route max lifetime exact",
            Request::post("/tenants/acme/orders").bearer(&write("acme", json!({"exp": t + 300}))),
            Allow,
        ),
        case(
            "same 600 s token fine on read route",
            get(READ, &es256(json!({"exp": t + 600}))),
            Allow,
        ),
        // Subjects.
        case(
            "other namespace/sa matches pattern",
            get(
                READ,
                &es256(json!({"sub": "spiffe://prod.example/ns/billing/sa/api"})),
            ),
            Allow,
        ),
        case(
            "subject with extra segment",
            get(
                READ,
                &es256(json!({"sub": "spiffe://prod.example/ns/shop/sa/web/x"})),
            ),
            Forbidden("subject_not_allowed"),
        ),
        case(
            "subject of another trust domain",
            get(
                READ,
                &es256(json!({"sub": "spiffe://staging.example/ns/shop/sa/web"})),
            ),
            Forbidden("subject_not_allowed"),
        ),
        case(
            "subject missing a segment",
            get(
                READ,
                &es256(json!({"sub": "spiffe://prod.example/ns/shop/sa"})),
            ),
            Forbidden("subject_not_allowed"),
        ),
        case(
            "no sub",
            get(READ, &es256(json!({"sub": null}))),
            Forbidden("subject_not_allowed"),
        ),
        // Claims bound to captures.
        case(
            "tenant claim of another tenant",
            get(READ, &es256(json!({"tenant": "other"}))),
            Forbidden("claim_mismatch"),
        ),
        case(
            "path of another tenant",
            get("/tenants/other/orders/1", &es256(json!({}))),
            Forbidden("claim_mismatch"),
        ),
        case(
            "no tenant claim",
            get(READ, &es256(json!({"tenant": null}))),
            Forbidden("claim_mismatch"),
        ),
        case(
            "tenant array containing the capture",
            get(READ, &es256(json!({"tenant": ["other", "acme"]}))),
            Allow,
        ),
        case(
            "tenant array without the capture",
            get(READ, &es256(json!({"tenant": ["other"]}))),
            Forbidden("claim_mismatch"),
        ),
        // Dotted claim paths and value lists (admin route, host admin.example).
        case(
            "roles+org.unit ok",
            get(
                "/admin/x",
                &es256(json!({"roles": "admin", "org": {"unit": "sre"}})),
            )
            .header("Host", "admin.example"),
            Allow,
        ),
        case(
            "org.unit not allowed",
            get(
                "/admin/x",
                &es256(json!({"roles": ["admin"], "org": {"unit": "dev"}})),
            )
            .header("Host", "admin.example"),
            Forbidden("claim_mismatch"),
        ),
        case(
            "roles array without admin",
            get(
                "/admin/x",
                &es256(json!({"roles": ["dev"], "org": {"unit": "ops"}})),
            )
            .header("Host", "admin.example"),
            Forbidden("claim_mismatch"),
        ),
        case(
            "no org claim",
            get("/admin/x", &es256(json!({"roles": ["admin"]}))).header("Host", "admin.example"),
            Forbidden("claim_mismatch"),
        ),
        // scopes_any.
        case(
            "scopes_any first",
            get(
                "/catalog/b/items/1",
                &es256(json!({"scope": "catalog:read"})),
            ),
            Allow,
        ),
        case(
            "scopes_any second",
            get(
                "/catalog/b/items/1",
                &es256(json!({"scope": "x catalog:admin"})),
            ),
            Allow,
        ),
        case(
            "scopes_any none",
            get(
                "/catalog/b/items/1",
                &es256(json!({"scope": "catalog:write"})),
            ),
            InsufficientScope(""),
        ),
        // Providers.
        case(
            "partner EdDSA token on write route (any provider)",
            Request::post("/tenants/acme/orders").bearer(&key(Alg::EdDSA).sign(&partner_claims)),
            Allow,
        ),
        case(
            "partner token on mesh-only read route",
            get(
                READ,
                &key(Alg::EdDSA).sign(&merge(
                    &partner_claims,
                    &json!({"scope": "orders:read", "sub": "spiffe://prod.example/ns/shop/sa/web"}),
                )),
            ),
            Denied,
        ),
        case(
            "partner issuer, kid only in the mesh JWKS",
            Request::post("/tenants/acme/orders").bearer(&key(Alg::ES256).sign(&partner_claims)),
            InvalidToken("unknown_key"),
        ),
    ];
    run(cases);
}

/// The response body never contains the token, and allowed requests reach the upstream with
/// the request intact.
#[test]
fn allowed_request_reaches_upstream_and_denials_do_not_leak() {
    let envoy = start_envoy(&policy());
    let mut checker = Checker::new(&envoy, REALM);
    let ok = es256(json!({}));
    let resp = checker.case(
        "allowed",
        get(READ, &ok).header("X-Trace", "abc"),
        Expect::Allow,
    );
    if let Some(resp) = resp {
        let body = resp.json().unwrap_or_default();
        if body["path"] != READ {
            checker.fail(format!(
                "upstream saw path {} instead of {READ}",
                body["path"]
            ));
        }
        let seen = envoy.upstream.requests();
        match seen.last() {
            Some(r) if r.header("x-trace") == Some("abc") => {}
            other => checker.fail(format!("upstream did not get X-Trace: {other:?}")),
        }
    }
    // A denial carrying a huge token: the body must not echo it (checked by the checker).
    let big = es256(json!({"padding": "p".repeat(2000), "aud": "nope"}));
    checker.case(
        "bad audience with big token",
        get(READ, &big),
        Expect::InvalidToken("bad_audience"),
    );
    checker.finish();
}
