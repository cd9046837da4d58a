//! What a platform engineer sees when something is wrong (issue 19): the refusal's `hint` (the
//! filter's debug log line: never a claim value) and `explain`'s words, for a token of a
//! provider the route does not accept, an issuer that nearly matches, an unknown `kid`, a token
//! sent without its header prefix and a claim condition that fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use jwt_simple::prelude::*;
use serde_json::{json, Value};
use workload_authz_core::telemetry::validations_metric;
use workload_authz_core::{
    explain, Decision, GuestVerifier, Reason, RequestView, RuntimeState, Step,
};

const READ: &str = "/tenants/acme/orders/7";
const PARTNER: &str = "https://partner.example";

/// The example policy plus a `partner` provider (same keys, another issuer) that the read
/// route does not accept.
fn two_issuers() -> Value {
    let mut value = example_policy_json();
    value["providers"]["partner"] = json!({
        "issuer": PARTNER,
        "audiences": ["orders"],
        "local_jwks": { "inline_string": jwks() }
    });
    value
}

fn explained(value: &Value, path: &str, headers: &[(&str, &str)]) -> (Decision, Vec<Step>) {
    let p = policy(value);
    let state = RuntimeState::new(&p);
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let request = RequestView {
        method: "GET",
        path,
        authority: "orders.example",
        headers: &headers,
    };
    explain(&p, &state, &request, NOW, &GuestVerifier)
}

fn step<'s>(steps: &'s [Step], check: &str) -> &'s Step {
    steps
        .iter()
        .rev()
        .find(|s| s.check == check)
        .unwrap_or_else(|| panic!("no `{check}` step in {steps:#?}"))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn a_valid_token_of_a_provider_not_accepted_here_is_recorded_with_its_provider() {
    let p = policy(&two_issuers());
    let token = es256(&with(good_claims(), "iss", json!(PARTNER)));
    let d = judge_token(&p, "GET", READ, &token);
    assert_eq!(d.reason, Reason::BadIssuer);
    assert_eq!(d.provider.as_deref(), Some("partner"));
    assert_eq!(
        validations_metric(&d).unwrap(),
        "provider=.=partner;.;result=.=not_accepted;.;workload_authz_token_validations_total"
    );
    let hint = d.hint.as_deref().unwrap();
    assert!(hint.contains("provider `partner`"), "{hint}");
    assert!(
        !hint.contains(PARTNER),
        "no claim value in the hint: {hint}"
    );
    // The same token on a route that accepts any provider passes: the answer was the route's.
    let write = judge_token(
        &p,
        "POST",
        "/tenants/acme/orders",
        &es256(&with(
            with(good_claims(), "iss", json!(PARTNER)),
            "scope",
            json!("orders:write:acme"),
        )),
    );
    assert_eq!(write.reason, Reason::Allowed);
    assert_eq!(write.provider.as_deref(), Some("partner"));

    let (_, steps) = explained(&two_issuers(), READ, &[("authorization", &bearer(&token))]);
    let detail = &step(&steps, "issuer").detail;
    assert!(
        detail.contains("which this route does not accept (it accepts: mesh)"),
        "{detail}"
    );
}

#[test]
fn a_forged_token_of_a_provider_not_accepted_here_is_counted_as_what_it_is() {
    let p = policy(&two_issuers());
    let forged = other_es256(&with(good_claims(), "iss", json!(PARTNER)));
    let d = judge_token(&p, "GET", READ, &forged);
    assert_eq!(d.reason, Reason::BadIssuer);
    assert_eq!(
        validations_metric(&d).unwrap(),
        "provider=.=partner;.;result=.=bad_signature;.;workload_authz_token_validations_total"
    );
    assert_eq!(d.subject, None);
}

#[test]
fn an_unknown_issuer_stays_unknown_and_explain_names_the_near_miss() {
    let p = policy(&example_policy_json());
    for (iss, near) in [
        ("https://issuer.prod.example/", true),
        ("http://issuer.prod.example", true),
        ("https://ISSUER.prod.example", true),
        ("https://elsewhere.example", false),
    ] {
        let token = es256(&with(good_claims(), "iss", json!(iss)));
        let d = judge_token(&p, "GET", READ, &token);
        assert_eq!(d.reason, Reason::BadIssuer, "{iss}");
        assert_eq!(d.provider, None);
        assert_eq!(
            validations_metric(&d).unwrap(),
            "provider=.=unknown;.;result=.=bad_issuer;.;workload_authz_token_validations_total"
        );
        assert!(!d.hint.as_deref().unwrap().contains(iss));
        let (_, steps) = explained(
            &example_policy_json(),
            READ,
            &[("authorization", &bearer(&token))],
        );
        let detail = &step(&steps, "issuer").detail;
        assert_eq!(
            detail.contains("did you mean `https://issuer.prod.example` (provider `mesh`)"),
            near,
            "{iss}: {detail}"
        );
    }
}

#[test]
fn an_unknown_kid_names_the_kids_the_provider_has() {
    let p = policy(&example_policy_json());
    let key = ES256KeyPair::from_bytes(&keys().es256.to_bytes())
        .unwrap()
        .with_key_id("rotated-2026");
    let claims: JWTClaims<serde_json::Map<String, Value>> =
        serde_json::from_value(good_claims()).unwrap();
    let token = key.sign(claims).unwrap();
    let d = judge_token(&p, "GET", READ, &token);
    assert_eq!(d.reason, Reason::UnknownKey);
    let hint = d.hint.as_deref().unwrap();
    assert!(hint.contains("kid `rotated-2026`"), "{hint}");
    assert!(hint.contains("kids: es256, es384, rsa, ed"), "{hint}");
    let (_, steps) = explained(
        &example_policy_json(),
        READ,
        &[("authorization", &bearer(&token))],
    );
    assert_eq!(step(&steps, "signature").detail, hint);
}

#[test]
fn a_token_without_its_prefix_is_told_apart_from_no_token() {
    let p = policy(&example_policy_json());
    let token = es256(&good_claims());
    let d = judge(&p, "GET", READ, &[("authorization", &token)]);
    assert_eq!(d.reason, Reason::MissingToken);
    let hint = d.hint.as_deref().unwrap();
    assert!(
        hint.contains("`authorization` is present but its value does not start with `Bearer`"),
        "{hint}"
    );
    assert!(!hint.contains(&token));
    // No header at all: no hint, and explain says where it looked.
    let none = judge(&p, "GET", READ, &[]);
    assert_eq!(none.reason, Reason::MissingToken);
    assert_eq!(none.hint, None);
    let (_, steps) = explained(&example_policy_json(), READ, &[]);
    assert_eq!(
        step(&steps, "token").detail,
        "no token in: authorization (Bearer, DPoP)"
    );
}

#[test]
fn explain_shows_the_claim_expected_and_the_claim_found() {
    let token = es256(&good_claims());
    let (d, steps) = explained(
        &example_policy_json(),
        "/tenants/globex/orders/7",
        &[("authorization", &bearer(&token))],
    );
    assert_eq!(d.reason, Reason::ClaimMismatch);
    let detail = &step(&steps, "claims").detail;
    assert_eq!(
        detail,
        "`tenant` FAILS: expected \"globex\", token has \"acme\""
    );
    // The decision itself carries no claim value.
    assert!(d.hint.as_deref().is_none_or(|h| !h.contains("acme")));
}

#[test]
fn a_provider_whose_keys_fit_none_of_its_rules_is_refused_naming_each_key() {
    let refused = |provider: Value| {
        let mut value = example_policy_json();
        value["providers"]["mesh"] = provider;
        workload_authz_core::compile(&value.to_string())
            .unwrap_err()
            .to_string()
    };
    let ec = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
    let provider = |jwks: &Value, extra: Value| {
        let mut p = json!({"issuer": "https://issuer.prod.example", "audiences": ["orders"],
                           "local_jwks": {"inline_string": jwks.to_string()}});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    let text = refused(provider(&ec, json!({"algorithms": ["RS256"]})));
    assert!(text.contains(
        "providers.mesh.local_jwks.inline_string: holds no usable signing key: the key with kid `k1`: an EC P-256 key, which none of the provider's algorithms (RS256) uses"
    ), "{text}");
    let mut svid_only = ec.clone();
    svid_only["keys"][0]["use"] = json!("jwt-svid");
    let text = refused(provider(&svid_only, json!({})));
    assert!(
        text.contains("use `jwt-svid` serves providers with `spiffe` only"),
        "{text}"
    );
    let mut x509 = ec.clone();
    x509["keys"][0]["use"] = json!("x509-svid");
    let text = refused(provider(&x509, json!({})));
    assert!(
        text.contains("keys[0]: use `x509-svid` is not for JWT signatures"),
        "{text}"
    );
    // A set with one fitting key among others is fine.
    let mut mixed = ec.clone();
    mixed["keys"][0]["use"] = json!("sig");
    let ok = provider(&mixed, json!({"algorithms": ["ES256"]}));
    let mut value = example_policy_json();
    value["providers"]["mesh"] = ok;
    assert!(workload_authz_core::compile(&value.to_string()).is_ok());
}

#[test]
fn a_transaction_token_sent_as_an_access_token_is_not_authenticated_as_one() {
    let mut value = example_policy_json();
    value["providers"]["txn"] = json!({
        "issuer": "https://txn.example",
        "audiences": ["orders"],
        "token_type": "txn_token",
        "local_jwks": { "inline_string": jwks() }
    });
    let p = policy(&value);
    let token = es256(&with(good_claims(), "iss", json!("https://txn.example")));
    let d = judge_token(&p, "GET", READ, &token);
    assert_eq!(d.reason, Reason::BadIssuer);
    assert_eq!(d.provider, None);
    assert_eq!(
        validations_metric(&d).unwrap(),
        "provider=.=unknown;.;result=.=bad_issuer;.;workload_authz_token_validations_total"
    );
}
