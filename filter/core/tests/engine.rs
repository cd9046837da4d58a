//! The decision function end to end, natively, with real signatures and pinned time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::json;
use workload_authz_core::{render_denial, Reason};

fn example() -> workload_authz_core::Policy {
    policy(&example_policy_json())
}

const READ: &str = "/tenants/acme/orders/7";

#[test]
fn every_algorithm_verifies() {
    let p = example();
    for (name, token) in [
        ("ES256", es256(&good_claims())),
        ("ES384", es384(&good_claims())),
        ("RS256", rs256(&good_claims())),
        ("PS256", ps256(&good_claims())),
        ("EdDSA", eddsa(&good_claims())),
    ] {
        let d = judge_token(&p, "GET", READ, &token);
        assert_eq!(d.reason, Reason::Allowed, "{name}");
        assert_eq!(d.action.as_deref(), Some("orders.read"));
        assert_eq!(d.provider.as_deref(), Some("mesh"));
        assert_eq!(
            d.subject.as_deref(),
            Some("spiffe://prod.example/ns/shop/sa/checkout")
        );
    }
}

#[test]
fn public_route_needs_no_token_and_unknown_routes_are_denied() {
    let p = example();
    assert_eq!(judge(&p, "GET", "/healthz", &[]).reason, Reason::Public);
    assert_eq!(
        judge(&p, "GET", "/healthz?probe=1", &[]).reason,
        Reason::Public
    );
    assert_eq!(judge(&p, "GET", "/admin", &[]).reason, Reason::NoRoute);
    assert_eq!(judge(&p, "GET", "/HEALTHZ", &[]).reason, Reason::NoRoute);
    // Wrong method on a declared path: no route declares it.
    let token = es256(&good_claims());
    assert_eq!(
        judge_token(&p, "DELETE", READ, &token).reason,
        Reason::NoRoute
    );
    assert_eq!(
        judge_token(&p, "HEAD", READ, &token).reason,
        Reason::Allowed
    );
}

#[test]
fn path_tricks_are_denied_even_towards_public_routes() {
    let p = example();
    for path in [
        "/healthz/../tenants/acme/orders/7",
        "/tenants/acme/orders/../orders/7",
        "/%2e%2e/healthz",
        "/healthz%2f..",
        "/tenants%2Facme/orders/7",
        "//healthz",
        "/healthz\\",
        "/healthz;x=1",
        "/./healthz",
    ] {
        assert_eq!(
            judge(&p, "GET", path, &[]).reason,
            Reason::InvalidPath,
            "{path}"
        );
    }
}

#[test]
fn missing_and_malformed_tokens() {
    let p = example();
    assert_eq!(judge(&p, "GET", READ, &[]).reason, Reason::MissingToken);
    assert_eq!(
        judge(&p, "GET", READ, &[("authorization", "Basic dXNlcjpwYXNz")]).reason,
        Reason::MissingToken
    );
    for garbage in ["garbage", "a.b", "a.b.c.d", "e30.e30", "!!!.e30.e30"] {
        assert_eq!(
            judge_token(&p, "GET", READ, garbage).reason,
            Reason::MalformedToken,
            "{garbage}"
        );
    }
    let token = es256(&good_claims());
    let value = format!("Bearer {token}");
    let twice = judge(
        &p,
        "GET",
        READ,
        &[("authorization", &value), ("authorization", &value)],
    );
    assert_eq!(twice.reason, Reason::MalformedToken);
    let lower = format!("bearer {token}");
    assert_eq!(
        judge(&p, "GET", READ, &[("authorization", &lower)]).reason,
        Reason::Allowed
    );
}

#[test]
fn algorithm_rules() {
    let p = example();
    for alg in ["none", "None", "NONE"] {
        let t = unsigned(&json!({"alg": alg}), &good_claims(), "");
        assert_eq!(
            judge_token(&p, "GET", READ, &t).reason,
            Reason::DisallowedAlgorithm,
            "{alg}"
        );
    }
    let hs = unsigned(
        &json!({"alg": "HS256", "kid": "rsa"}),
        &good_claims(),
        "c2ln",
    );
    assert_eq!(
        judge_token(&p, "GET", READ, &hs).reason,
        Reason::DisallowedAlgorithm
    );

    // A provider that allows only ES256 refuses a valid RS256 token.
    let mut only_es = example_policy_json();
    only_es["providers"]["mesh"]["algorithms"] = json!(["ES256"]);
    let p = policy(&only_es);
    assert_eq!(
        judge_token(&p, "GET", READ, &rs256(&good_claims())).reason,
        Reason::DisallowedAlgorithm
    );
    assert_eq!(
        judge_token(&p, "GET", READ, &es256(&good_claims())).reason,
        Reason::Allowed
    );
}

#[test]
fn key_selection_and_signatures() {
    let p = example();
    // Signed by a key with a known kid but other material.
    assert_eq!(
        judge_token(&p, "GET", READ, &other_es256(&good_claims())).reason,
        Reason::BadSignature
    );
    // A kid the key set does not have.
    let mut header_kid = es256(&good_claims());
    let header = b64(json!({"alg": "ES256", "kid": "nope"})
        .to_string()
        .as_bytes());
    let rest = header_kid.split_once('.').unwrap().1.to_string();
    header_kid = format!("{header}.{rest}");
    assert_eq!(
        judge_token(&p, "GET", READ, &header_kid).reason,
        Reason::UnknownKey
    );
    // The kid of a key of another type: no key fits (algorithm/key-type confusion).
    let confused = format!(
        "{}.{rest}",
        b64(json!({"alg": "RS256", "kid": "es256"})
            .to_string()
            .as_bytes())
    );
    assert_eq!(
        judge_token(&p, "GET", READ, &confused).reason,
        Reason::UnknownKey
    );
    // Tampered payload.
    let token = es256(&good_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = b64(with(good_claims(), "scope", json!("orders:read admin"))
        .to_string()
        .as_bytes());
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_eq!(
        judge_token(&p, "GET", READ, &tampered).reason,
        Reason::BadSignature
    );
    // Stripped signature.
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(
        judge_token(&p, "GET", READ, &stripped).reason,
        Reason::BadSignature
    );
}

#[test]
fn kidless_tokens_try_every_fitting_key() {
    // The Envoy vectors carry no kid and a JWKS of several RSA keys.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/envoy");
    let jwks = std::fs::read_to_string(format!("{root}/public_key_jwks.json")).unwrap();
    let token = |name: &str| {
        std::fs::read_to_string(format!("{root}/{name}"))
            .unwrap()
            .trim()
            .to_string()
    };
    let value = json!({
        "providers": {"example_provider": {
            "issuer": "https://example.com",
            "audiences": ["example_service", "http://example_service1", "https://example_service2/"],
            "local_jwks": {"inline_string": jwks},
            "require_expiration": false
        }},
        "routes": [{"action": "any", "match": {"path": "/**"}}]
    });
    let p = policy(&value);
    let now = 1_764_400_000; // 2025-11-29, before GoodToken's exp (2033) and after ExpiredToken's (2008)
    let at = |name: &str| {
        judge_at(
            &p,
            "GET",
            "/x",
            &[("authorization", &format!("Bearer {}", token(name)))],
            now,
        )
        .reason
    };
    assert_eq!(at("GoodToken.jwt"), Reason::Allowed);
    assert_eq!(at("NestedGoodToken.jwt"), Reason::Allowed);
    assert_eq!(at("ExpiredToken.jwt"), Reason::Expired);
    // Envoy answers 403 JwtAudienceNotAllowed; for us a wrong audience is an invalid token (401).
    assert_eq!(at("InvalidAudToken.jwt"), Reason::BadAudience);
    assert_eq!(at("OtherGoodToken.jwt"), Reason::BadIssuer);
    // Envoy checks time before the signature; we verify first, so these forged tokens are bad_signature.
    assert_eq!(at("NotYetValidToken.jwt"), Reason::BadSignature);
    assert_eq!(at("NonExistKidToken.jwt"), Reason::BadSignature);
    let response = render_denial(
        &judge_at(
            &p,
            "GET",
            "/x",
            &[(
                "authorization",
                &format!("Bearer {}", token("ExpiredToken.jwt")),
            )],
            now,
        ),
        "r",
    )
    .unwrap();
    assert_eq!(response.status, 401);
}

#[test]
fn istio_vectors_verify() {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/istio_e2e"
    );
    let jwks = std::fs::read_to_string(format!("{root}/jwks.json")).unwrap();
    let token = std::fs::read_to_string(format!("{root}/TokenIssuer1WithAudList.jwt")).unwrap();
    let value = json!({
        "providers": {"istio": {
            "issuer": "test-issuer-1@istio.io",
            "audiences": ["buzz"],
            "local_jwks": {"inline_string": jwks}
        }},
        "routes": [{"action": "any", "match": {"path": "/**"}, "require": {"claims": {"sub": "sub-1"}}}]
    });
    let p = policy(&value);
    let d = judge_at(
        &p,
        "GET",
        "/x",
        &[("authorization", &format!("Bearer {}", token.trim()))],
        NOW,
    );
    assert_eq!(d.reason, Reason::Allowed);
}

#[test]
fn issuer_and_audience() {
    let p = example();
    let t = es256(&with(good_claims(), "iss", json!("https://evil.example")));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::BadIssuer);
    let t = es256(&with(good_claims(), "iss", serde_json::Value::Null));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::BadIssuer);
    let t = es256(&with(good_claims(), "aud", json!("payments")));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::BadAudience);
    let t = es256(&with(good_claims(), "aud", json!(["payments", "orders"])));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::Allowed);
    let t = es256(&with(good_claims(), "aud", serde_json::Value::Null));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::BadAudience);
}

#[test]
fn time_rules() {
    let p = example();
    let case = |claims: serde_json::Value| judge_token(&p, "GET", READ, &es256(&claims)).reason;
    assert_eq!(
        case(with(
            with(good_claims(), "exp", json!(NOW - 61)),
            "iat",
            json!(NOW - 300)
        )),
        Reason::Expired
    );
    assert_eq!(
        case(with(
            with(good_claims(), "exp", json!(NOW - 30)),
            "iat",
            json!(NOW - 300)
        )),
        Reason::Allowed
    );
    assert_eq!(
        case(with(good_claims(), "nbf", json!(NOW + 120))),
        Reason::NotYetValid
    );
    assert_eq!(
        case(with(
            with(good_claims(), "iat", json!(NOW + 120)),
            "exp",
            json!(NOW + 400)
        )),
        Reason::IssuedInFuture
    );
    assert_eq!(
        case(with(good_claims(), "exp", serde_json::Value::Null)),
        Reason::LifetimeExceeded
    );
    // Provider cap 900 s.
    assert_eq!(
        case(with(
            with(good_claims(), "iat", json!(NOW - 10)),
            "exp",
            json!(NOW + 891)
        )),
        Reason::LifetimeExceeded
    );
    assert_eq!(
        case(with(
            with(good_claims(), "iat", json!(NOW - 10)),
            "exp",
            json!(NOW + 890)
        )),
        Reason::Allowed
    );
    assert_eq!(
        case(with(good_claims(), "iat", serde_json::Value::Null)),
        Reason::LifetimeExceeded
    );
}

#[test]
fn route_lifetime_tightens_the_provider() {
    let p = example();
    let write = "/tenants/acme/orders";
    let long = with(
        with(good_claims(), "iat", json!(NOW - 10)),
        "exp",
        json!(NOW + 600),
    );
    assert_eq!(
        judge_token(&p, "GET", READ, &es256(&long)).reason,
        Reason::Allowed
    );
    assert_eq!(
        judge_token(&p, "POST", write, &es256(&long)).reason,
        Reason::LifetimeExceeded
    );
    let short = with(
        with(good_claims(), "iat", json!(NOW - 10)),
        "exp",
        json!(NOW + 290),
    );
    assert_eq!(
        judge_token(&p, "POST", write, &es256(&short)).reason,
        Reason::Allowed
    );
}

#[test]
fn scopes_bound_to_the_path() {
    let p = example();
    let token = es256(&good_claims()); // orders:write:acme
    assert_eq!(
        judge_token(&p, "POST", "/tenants/acme/orders", &token).reason,
        Reason::Allowed
    );
    let d = judge_token(&p, "POST", "/tenants/globex/orders", &token);
    assert_eq!(d.reason, Reason::InsufficientScope);
    assert_eq!(d.scopes_required, vec!["orders:write:globex"]);
    let answer = render_denial(&d, "orders-api").unwrap();
    assert_eq!(answer.status, 403);
    let challenge = &answer
        .headers
        .iter()
        .find(|(n, _)| *n == "www-authenticate")
        .unwrap()
        .1;
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"orders:write:globex\""),
        "{challenge}"
    );
    // Whole words only: a prefix of a granted scope is not the scope.
    let t = es256(&with(good_claims(), "scope", json!("orders:reader")));
    assert_eq!(
        judge_token(&p, "GET", READ, &t).reason,
        Reason::InsufficientScope
    );
    // Arrays and `scp`.
    let t = es256(&with(good_claims(), "scope", json!(["orders:read"])));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::Allowed);
    let t = es256(&with(
        with(good_claims(), "scope", serde_json::Value::Null),
        "scp",
        json!("orders:read"),
    ));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::Allowed);
}

#[test]
fn scopes_any() {
    let mut value = example_policy_json();
    value["routes"][2]["require"] =
        json!({"scopes_any": ["orders:admin", "orders:write:{tenant}"]});
    let p = policy(&value);
    let t = es256(&good_claims());
    assert_eq!(
        judge_token(&p, "POST", "/tenants/acme/orders", &t).reason,
        Reason::Allowed
    );
    let d = judge_token(&p, "POST", "/tenants/x/orders", &t);
    assert_eq!(d.reason, Reason::InsufficientScope);
    assert_eq!(d.scopes_required, vec!["orders:admin", "orders:write:x"]);
}

#[test]
fn subjects_and_claims() {
    let p = example();
    let t = es256(&with(
        good_claims(),
        "sub",
        json!("spiffe://other.example/ns/shop/sa/checkout"),
    ));
    assert_eq!(
        judge_token(&p, "GET", READ, &t).reason,
        Reason::SubjectNotAllowed
    );
    let t = es256(&with(good_claims(), "sub", serde_json::Value::Null));
    assert_eq!(
        judge_token(&p, "GET", READ, &t).reason,
        Reason::SubjectNotAllowed
    );
    // tenant claim bound to the {tenant} capture.
    let t = es256(&good_claims());
    assert_eq!(
        judge_token(&p, "GET", "/tenants/globex/orders/1", &t).reason,
        Reason::ClaimMismatch
    );
    let t = es256(&with(good_claims(), "tenant", json!(["globex", "acme"])));
    assert_eq!(judge_token(&p, "GET", READ, &t).reason, Reason::Allowed);
    let t = es256(&with(good_claims(), "tenant", serde_json::Value::Null));
    assert_eq!(
        judge_token(&p, "GET", READ, &t).reason,
        Reason::ClaimMismatch
    );
}

#[test]
fn nested_claims_and_value_lists() {
    let mut value = example_policy_json();
    value["routes"][2]["require"] =
        json!({"claims": {"ctx.env": ["prod", "staging"], "ctx.level": 3, "ctx.ok": true}});
    let p = policy(&value);
    let path = "/tenants/acme/orders";
    let t = es256(&with(
        good_claims(),
        "ctx",
        json!({"env": "staging", "level": 3, "ok": true}),
    ));
    assert_eq!(judge_token(&p, "POST", path, &t).reason, Reason::Allowed);
    let t = es256(&with(
        good_claims(),
        "ctx",
        json!({"env": "dev", "level": 3, "ok": true}),
    ));
    assert_eq!(
        judge_token(&p, "POST", path, &t).reason,
        Reason::ClaimMismatch
    );
    let t = es256(&with(
        good_claims(),
        "ctx",
        json!({"env": "prod", "level": "3", "ok": true}),
    ));
    assert_eq!(
        judge_token(&p, "POST", path, &t).reason,
        Reason::ClaimMismatch
    );
}

#[test]
fn providers_are_chosen_by_issuer_and_restricted_by_route() {
    let mut value = example_policy_json();
    value["providers"]["partner"] = json!({
        "issuer": "https://partner.example",
        "audiences": ["orders"],
        "local_jwks": {"inline_string": jwks()},
        "from_headers": [{"name": "x-partner-token"}]
    });
    let p = policy(&value);
    let partner = es256(&with(
        good_claims(),
        "iss",
        json!("https://partner.example"),
    ));
    // orders.read accepts only `mesh`: the partner header is not even read there.
    assert_eq!(
        judge(&p, "GET", READ, &[("x-partner-token", &partner)]).reason,
        Reason::MissingToken
    );
    // A partner token presented where only mesh reads: issuer not accepted here.
    assert_eq!(
        judge_token(&p, "GET", READ, &partner).reason,
        Reason::BadIssuer
    );
    // orders.write accepts any provider: the partner token is read from its own header.
    assert_eq!(
        judge(
            &p,
            "POST",
            "/tenants/acme/orders",
            &[("x-partner-token", &partner)]
        )
        .reason,
        Reason::Allowed
    );
    // ...but not from another provider's header.
    assert_eq!(
        judge_token(&p, "POST", "/tenants/acme/orders", &partner).reason,
        Reason::BadIssuer
    );
}

#[test]
fn hosts_restrict_routes() {
    let mut value = example_policy_json();
    value["routes"][0]["match"]["hosts"] = json!(["*.internal"]);
    let p = policy(&value);
    let headers: Vec<(String, String)> = vec![];
    let view = |authority| workload_authz_core::RequestView {
        method: "GET",
        path: "/healthz",
        authority,
        headers: &headers,
    };
    let v = workload_authz_core::GuestVerifier;
    assert_eq!(
        workload_authz_core::decide(
            &p,
            &workload_authz_core::RuntimeState::new(&p),
            &view("a.internal:8080"),
            NOW,
            &v
        )
        .reason,
        Reason::Public
    );
    assert_eq!(
        workload_authz_core::decide(
            &p,
            &workload_authz_core::RuntimeState::new(&p),
            &view("a.external"),
            NOW,
            &v
        )
        .reason,
        Reason::NoRoute
    );
}

#[test]
fn first_matching_route_wins() {
    let mut value = example_policy_json();
    value["routes"] = json!([
        {"action": "first", "match": {"path": "/a/{x}"}, "public": true},
        {"action": "second", "match": {"path": "/a/b"}, "public": true}
    ]);
    let p = policy(&value);
    assert_eq!(
        judge(&p, "GET", "/a/b", &[]).action.as_deref(),
        Some("first")
    );
}
