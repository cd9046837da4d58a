//! DPoP (RFC 9449) at the resource server: every check of a proof, with its own reason, the
//! binding of a token to its key, replay across workers, and the challenges.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use p256::ecdsa::signature::Signer as _;
use serde_json::{json, Value};
use workload_authz_core::dpop::{access_token_hash, thumbprint};
use workload_authz_core::memo::DecisionMemo;
use workload_authz_core::{
    decide, render_denial, Decision, GuestVerifier, NoConnection, Policy, Reason, RequestView,
    RuntimeState,
};

const PATH: &str = "/tenants/acme/orders/7";
const HTU: &str = "https://orders.example/tenants/acme/orders/7";

/// A client's DPoP key: ES256 or EdDSA, with its public JWK.
enum ClientKey {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl ClientKey {
    fn es256(seed: u8) -> Self {
        let mut bytes = [7u8; 32];
        bytes[0] = seed;
        ClientKey::Es256(p256::ecdsa::SigningKey::from_slice(&bytes).unwrap())
    }

    fn eddsa() -> Self {
        ClientKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]))
    }

    fn alg(&self) -> &'static str {
        match self {
            ClientKey::Es256(_) => "ES256",
            ClientKey::EdDsa(_) => "EdDSA",
        }
    }

    fn jwk(&self) -> Value {
        match self {
            ClientKey::Es256(key) => {
                let point = key.verifying_key().to_sec1_point(false);
                let bytes = point.as_bytes();
                json!({"kty": "EC", "crv": "P-256",
                       "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65])})
            }
            ClientKey::EdDsa(key) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes())})
            }
        }
    }

    fn jkt(&self) -> String {
        thumbprint(self.jwk().as_object().unwrap()).unwrap()
    }

    fn sign(&self, input: &str) -> Vec<u8> {
        match self {
            ClientKey::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
                signature.to_bytes().to_vec()
            }
            ClientKey::EdDsa(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(input.as_bytes()).to_bytes().to_vec()
            }
        }
    }

    /// A proof with `header` and `claims` patched over good ones for `token`.
    fn proof_with(&self, token: &str, header: &Value, claims: &Value) -> String {
        let base_header = json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk()});
        let base_claims = json!({"jti": format!("jti-{}", rand_id()), "htm": "GET", "htu": HTU,
                                 "iat": NOW, "ath": access_token_hash(token)});
        let header = overlay(base_header, header);
        let claims = overlay(base_claims, claims);
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self.sign(&input);
        format!("{input}.{}", b64(&signature))
    }

    fn proof(&self, token: &str) -> String {
        self.proof_with(token, &json!({}), &json!({}))
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An access token bound to `key` (`cnf.jkt`).
fn bound_token(key: &ClientKey) -> String {
    es256(&with(good_claims(), "cnf", json!({"jkt": key.jkt()})))
}

fn dpop_policy(patch: impl FnOnce(&mut Value)) -> Policy {
    let mut value = example_policy_json();
    patch(&mut value);
    policy(&value)
}

/// Judges `GET PATH` with `headers` (plus `:scheme: https`) in `state`.
fn judge_dpop(policy: &Policy, state: &RuntimeState, headers: &[(&str, &str)]) -> Decision {
    judge_request(policy, state, "GET", PATH, headers)
}

fn judge_request(
    policy: &Policy,
    state: &RuntimeState,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Decision {
    let mut all = vec![(":scheme".to_string(), "https".to_string())];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let request = RequestView {
        method,
        path,
        authority: "orders.example",
        headers: &all,
    };
    decide(policy, state, &request, NOW, &GuestVerifier)
}

fn dpop_request(policy: &Policy, token: &str, proof: &str) -> Decision {
    let auth = format!("DPoP {token}");
    judge_dpop(
        policy,
        &RuntimeState::new(policy),
        &[("authorization", &auth), ("dpop", proof)],
    )
}

#[test]
fn a_bound_token_with_its_proof_is_allowed_and_its_key_recorded() {
    let p = policy(&example_policy_json());
    for key in [ClientKey::es256(1), ClientKey::eddsa()] {
        let token = bound_token(&key);
        let d = dpop_request(&p, &token, &key.proof(&token));
        assert_eq!(d.reason, Reason::Allowed, "{}", key.alg());
        let facts = d.dpop.as_deref().unwrap();
        assert!(facts.proof_checked);
        assert_eq!(facts.jkt.as_deref(), Some(key.jkt().as_str()));
    }
}

#[test]
fn every_proof_check_has_its_own_reason() {
    let p = policy(&example_policy_json());
    let key = ClientKey::es256(1);
    let other = ClientKey::es256(2);
    let token = bound_token(&key);
    let other_token = bound_token(&other);
    let private = {
        let mut jwk = key.jwk();
        jwk["d"] = json!(b64(&[1u8; 32]));
        jwk
    };
    let unsigned_none = unsigned(
        &json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()}),
        &json!({"jti": "n", "htm": "GET", "htu": HTU, "iat": NOW, "ath": access_token_hash(&token)}),
        "",
    );
    let hmac = unsigned(
        &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
        &json!({"jti": "h", "htm": "GET", "htu": HTU, "iat": NOW, "ath": access_token_hash(&token)}),
        "c2ln",
    );
    let forged = {
        // Signed by `other`, claiming `key`'s public key.
        let good = key.proof(&token);
        let input = good.rsplit_once('.').unwrap().0;
        format!("{input}.{}", b64(&other.sign(input)))
    };
    let cases: Vec<(&str, String, Reason)> = vec![
        ("not a JWS", "abc.def".into(), Reason::DpopMalformedProof),
        (
            "no jti",
            key.proof_with(&token, &json!({}), &json!({"jti": null})),
            Reason::DpopMalformedProof,
        ),
        (
            "no ath",
            key.proof_with(&token, &json!({}), &json!({"ath": null})),
            Reason::DpopMalformedProof,
        ),
        (
            "no iat",
            key.proof_with(&token, &json!({}), &json!({"iat": null})),
            Reason::DpopMalformedProof,
        ),
        (
            "typ JWT",
            key.proof_with(&token, &json!({"typ": "JWT"}), &json!({})),
            Reason::DpopWrongType,
        ),
        (
            "no typ",
            key.proof_with(&token, &json!({"typ": null}), &json!({})),
            Reason::DpopWrongType,
        ),
        ("alg none", unsigned_none, Reason::DpopDisallowedAlgorithm),
        ("HMAC", hmac, Reason::DpopDisallowedAlgorithm),
        (
            "no jwk",
            key.proof_with(&token, &json!({"jwk": null}), &json!({})),
            Reason::DpopBadKey,
        ),
        (
            "private jwk",
            key.proof_with(&token, &json!({"jwk": private}), &json!({})),
            Reason::DpopBadKey,
        ),
        (
            "key confusion",
            key.proof_with(&token, &json!({"alg": "RS256"}), &json!({})),
            Reason::DpopBadKey,
        ),
        ("forged", forged, Reason::DpopBadSignature),
        (
            "other method",
            key.proof_with(&token, &json!({}), &json!({"htm": "POST"})),
            Reason::DpopMethodMismatch,
        ),
        (
            "lowercase method",
            key.proof_with(&token, &json!({}), &json!({"htm": "get"})),
            Reason::DpopMethodMismatch,
        ),
        (
            "other URL",
            key.proof_with(
                &token,
                &json!({}),
                &json!({"htu": "https://orders.example/tenants/acme/orders/8"}),
            ),
            Reason::DpopUrlMismatch,
        ),
        (
            "other host",
            key.proof_with(
                &token,
                &json!({}),
                &json!({"htu": "https://evil.example/tenants/acme/orders/7"}),
            ),
            Reason::DpopUrlMismatch,
        ),
        (
            "http",
            key.proof_with(
                &token,
                &json!({}),
                &json!({"htu": "http://orders.example/tenants/acme/orders/7"}),
            ),
            Reason::DpopUrlMismatch,
        ),
        (
            "old iat",
            key.proof_with(&token, &json!({}), &json!({"iat": NOW - 61})),
            Reason::DpopStaleProof,
        ),
        (
            "future iat",
            key.proof_with(&token, &json!({}), &json!({"iat": NOW + 61})),
            Reason::DpopStaleProof,
        ),
        (
            "ath of another token",
            key.proof_with(
                &token,
                &json!({}),
                &json!({"ath": access_token_hash(&other_token)}),
            ),
            Reason::DpopTokenHashMismatch,
        ),
        // A proof by `key` sent with the token bound to `other`.
        (
            "other key",
            key.proof_with(&other_token, &json!({}), &json!({})),
            Reason::DpopKeyMismatch,
        ),
    ];
    for (name, proof, expected) in cases {
        let sent_with = if name == "other key" {
            &other_token
        } else {
            &token
        };
        let d = dpop_request(&p, sent_with, &proof);
        assert_eq!(d.reason, expected, "{name}");
        let answer = render_denial(&d, "orders-api").unwrap();
        assert_eq!(answer.status, 401, "{name}");
        let challenge = &answer
            .headers
            .iter()
            .find(|(n, _)| *n == "www-authenticate")
            .unwrap()
            .1;
        assert!(
            challenge.starts_with("DPoP ") && challenge.contains("error=\"invalid_dpop_proof\""),
            "{name}: {challenge}"
        );
        assert!(
            challenge.contains("algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA\""),
            "{challenge}"
        );
    }
}

#[test]
fn the_edges_of_the_window_and_normalised_urls_are_accepted() {
    let p = policy(&example_policy_json());
    let key = ClientKey::es256(1);
    let token = bound_token(&key);
    for (name, claims) in [
        ("iat 60 s ago", json!({"iat": NOW - 60})),
        ("iat 60 s ahead", json!({"iat": NOW + 60})),
        (
            "case and default port",
            json!({"htu": "HTTPS://Orders.Example:443/tenants/acme/orders/7"}),
        ),
        (
            "query and fragment ignored",
            json!({"htu": format!("{HTU}?a=1#f")}),
        ),
        (
            "escaped unreserved",
            json!({"htu": "https://orders.example/tenants/%61cme/orders/7"}),
        ),
    ] {
        let d = dpop_request(&p, &token, &key.proof_with(&token, &json!({}), &claims));
        assert_eq!(d.reason, Reason::Allowed, "{name}");
    }
    // The request's own query is not part of its URI either.
    let auth = format!("DPoP {token}");
    let d = judge_request(
        &p,
        &RuntimeState::new(&p),
        "GET",
        "/tenants/acme/orders/7?page=2",
        &[("authorization", &auth), ("dpop", &key.proof(&token))],
    );
    assert_eq!(d.reason, Reason::Allowed);
}

#[test]
fn a_proof_is_used_once() {
    let p = policy(&example_policy_json());
    let state = RuntimeState::new(&p);
    let key = ClientKey::es256(1);
    let token = bound_token(&key);
    let proof = key.proof(&token);
    let auth = format!("DPoP {token}");
    let headers = [("authorization", auth.as_str()), ("dpop", proof.as_str())];
    assert_eq!(judge_dpop(&p, &state, &headers).reason, Reason::Allowed);
    assert_eq!(
        judge_dpop(&p, &state, &headers).reason,
        Reason::DpopReplayed
    );
    // A new proof for the same token is fine.
    let fresh = key.proof(&token);
    let headers = [("authorization", auth.as_str()), ("dpop", fresh.as_str())];
    assert_eq!(judge_dpop(&p, &state, &headers).reason, Reason::Allowed);
}

#[test]
fn a_memoised_decision_never_replays_a_proof() {
    let p = policy(&example_policy_json());
    let state = RuntimeState::new(&p);
    let mut memo: DecisionMemo<()> = DecisionMemo::new(&p);
    let key = ClientKey::es256(1);
    let token = bound_token(&key);
    let proof = key.proof(&token);
    let auth = format!("DPoP {token}");
    let headers = vec![
        (":scheme".to_string(), "https".to_string()),
        ("authorization".to_string(), auth),
        ("dpop".to_string(), proof),
    ];
    let request = RequestView {
        method: "GET",
        path: PATH,
        authority: "orders.example",
        headers: &headers,
    };
    let first = memo.decide(&p, &state, &request, &NoConnection, NOW, &GuestVerifier);
    let second = memo.decide(&p, &state, &request, &NoConnection, NOW, &GuestVerifier);
    assert_eq!(first.decision.reason, Reason::Allowed);
    assert_eq!(second.decision.reason, Reason::DpopReplayed);
}

#[test]
fn a_bound_token_is_never_a_bearer_token() {
    let p = policy(&example_policy_json());
    let key = ClientKey::es256(1);
    let token = bound_token(&key);
    let proof = key.proof(&token);
    let bearer = format!("Bearer {token}");
    for headers in [
        vec![("authorization", bearer.as_str())],
        vec![("authorization", bearer.as_str()), ("dpop", proof.as_str())],
    ] {
        let d = judge_dpop(&p, &RuntimeState::new(&p), &headers);
        assert_eq!(d.reason, Reason::DpopBoundTokenAsBearer);
        let answer = render_denial(&d, "orders-api").unwrap();
        assert_eq!(answer.status, 401);
        let challenge = &answer
            .headers
            .iter()
            .find(|(n, _)| *n == "www-authenticate")
            .unwrap()
            .1;
        assert!(
            challenge.starts_with("DPoP realm=\"orders-api\", error=\"invalid_token\""),
            "{challenge}"
        );
    }
}

#[test]
fn the_dpop_scheme_needs_one_proof_and_a_bound_token() {
    let p = policy(&example_policy_json());
    let key = ClientKey::es256(1);
    let token = bound_token(&key);
    let auth = format!("DPoP {token}");
    let missing = judge_dpop(&p, &RuntimeState::new(&p), &[("authorization", &auth)]);
    assert_eq!(missing.reason, Reason::DpopProofMissing);
    let answer = render_denial(&missing, "orders-api").unwrap();
    assert_eq!(answer.status, 401);
    assert!(answer.headers.iter().any(|(n, v)| *n == "www-authenticate"
        && v.starts_with("DPoP realm=\"orders-api\", algs=\"")
        && !v.contains("error=")));
    let (a, b) = (key.proof(&token), key.proof(&token));
    let two = judge_dpop(
        &p,
        &RuntimeState::new(&p),
        &[("authorization", &auth), ("dpop", &a), ("DPoP", &b)],
    );
    assert_eq!(two.reason, Reason::DpopMultipleProofs);
    // A token without `cnf.jkt` sent with the DPoP scheme binds nothing.
    let unbound = es256(&good_claims());
    let d = dpop_request(&p, &unbound, &key.proof(&unbound));
    assert_eq!(d.reason, Reason::DpopTokenNotBound);
    // An unbound bearer token on a route that does not ask for DPoP is still fine.
    assert_eq!(
        judge_token(&p, "GET", PATH, &unbound).reason,
        Reason::Allowed
    );
}

#[test]
fn required_dpop_refuses_bearer_tokens_with_a_dpop_challenge() {
    let by_route = dpop_policy(|v| v["routes"][1]["require"]["dpop"] = json!(true));
    let by_provider = dpop_policy(|v| v["providers"]["mesh"]["dpop"] = json!({"required": true}));
    let key = ClientKey::es256(1);
    let unbound = es256(&good_claims());
    let token = bound_token(&key);
    for p in [&by_route, &by_provider] {
        let d = judge_token(p, "GET", PATH, &unbound);
        assert_eq!(d.reason, Reason::DpopProofMissing);
        // No token at all: `missing_token`, challenged with DPoP.
        let none = judge(p, "GET", PATH, &[]);
        assert_eq!(none.reason, Reason::MissingToken);
        let answer = render_denial(&none, "orders-api").unwrap();
        assert!(answer
            .headers
            .iter()
            .any(|(n, v)| *n == "www-authenticate" && v.starts_with("DPoP realm=")));
        let d = dpop_request(p, &unbound, &key.proof(&unbound));
        assert_eq!(d.reason, Reason::DpopTokenNotBound);
        assert_eq!(
            dpop_request(p, &token, &key.proof(&token)).reason,
            Reason::Allowed
        );
    }
}

#[test]
fn the_configured_algorithms_window_and_external_origin_apply() {
    let p = dpop_policy(|v| {
        v["providers"]["mesh"]["dpop"] = json!({
            "algorithms": ["EdDSA"],
            "iat_window_seconds": 5,
            "external_origin": "https://API.example.com:443/shop"
        })
    });
    let ed = ClientKey::eddsa();
    let es = ClientKey::es256(1);
    let external = "https://api.example.com/shop/tenants/acme/orders/7";
    let token = bound_token(&ed);
    let proof = |claims: Value| {
        ed.proof_with(
            &token,
            &json!({}),
            &overlay(json!({"htu": external}), &claims),
        )
    };
    assert_eq!(
        dpop_request(&p, &token, &proof(json!({}))).reason,
        Reason::Allowed
    );
    assert_eq!(
        dpop_request(&p, &token, &proof(json!({"htu": HTU}))).reason,
        Reason::DpopUrlMismatch,
        "the URI Envoy sees is not the one clients use"
    );
    assert_eq!(
        dpop_request(&p, &token, &proof(json!({"iat": NOW - 6}))).reason,
        Reason::DpopStaleProof
    );
    let es_token = bound_token(&es);
    let es_proof = es.proof_with(&es_token, &json!({}), &json!({"htu": external}));
    let d = dpop_request(&p, &es_token, &es_proof);
    assert_eq!(d.reason, Reason::DpopDisallowedAlgorithm);
    assert_eq!(d.dpop.unwrap().algs, "EdDSA");
}

#[test]
fn dpop_configuration_errors_name_the_field() {
    for (patch, expected) in [
        (json!({"required": "yes"}), "providers.mesh.dpop.required"),
        (
            json!({"iat_window_seconds": 0}),
            "providers.mesh.dpop.iat_window_seconds",
        ),
        (
            json!({"algorithms": ["HS256"]}),
            "providers.mesh.dpop.algorithms[0]",
        ),
        (
            json!({"external_origin": "ftp://x"}),
            "providers.mesh.dpop.external_origin",
        ),
        (
            json!({"external_origin": "https://x/a?b"}),
            "providers.mesh.dpop.external_origin",
        ),
        (json!({"nonce": true}), "providers.mesh.dpop.nonce"),
    ] {
        let mut value = example_policy_json();
        value["providers"]["mesh"]["dpop"] = patch.clone();
        let error = workload_authz_core::compile(&value.to_string())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{patch}: {error}");
    }
    let mut value = example_policy_json();
    value["routes"][1]["require"]["dpop"] = json!("true");
    let error = workload_authz_core::compile(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(error.contains("routes[1].require.dpop"), "{error}");
}
