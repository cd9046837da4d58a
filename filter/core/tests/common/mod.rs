//! Shared helpers for the core's integration tests: keys, JWKS, token minting, requests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use workload_authz_core::{
    compile, decide, decide_in, ConnectionInfo, Decision, GuestVerifier, NoConnection, Policy,
    RequestView, RuntimeState,
};

/// The fixed "now" of these tests.
pub const NOW: u64 = 1_800_000_000;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One signing key of each kind, generated once per test binary.
pub struct Keys {
    pub es256: ES256KeyPair,
    pub es384: ES384KeyPair,
    pub rs256: RS256KeyPair,
    pub ps256: PS256KeyPair,
    pub eddsa: Ed25519KeyPair,
    pub other_es256: ES256KeyPair,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rs = RS256KeyPair::generate(2048).unwrap();
        let ps = PS256KeyPair::from_der(&rs.to_der().unwrap()).unwrap();
        Keys {
            es256: ES256KeyPair::generate().with_key_id("es256"),
            es384: ES384KeyPair::generate().with_key_id("es384"),
            rs256: rs.with_key_id("rsa"),
            ps256: ps.with_key_id("rsa"),
            eddsa: Ed25519KeyPair::generate().with_key_id("ed"),
            other_es256: ES256KeyPair::generate().with_key_id("es256"),
        }
    })
}

fn ec_jwk(kid: &str, crv: &str, point: &[u8]) -> Value {
    let size = (point.len() - 1) / 2;
    json!({"kty": "EC", "crv": crv, "kid": kid,
           "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..])})
}

/// The JWKS holding the public half of every key in [`keys`] (not `other_es256`).
pub fn jwks() -> String {
    let k = keys();
    let rsa = k.rs256.public_key().to_components();
    json!({"keys": [
        ec_jwk("es256", "P-256", &k.es256.public_key().public_key().to_bytes_uncompressed()),
        ec_jwk("es384", "P-384", &k.es384.public_key().public_key().to_bytes_uncompressed()),
        {"kty": "RSA", "kid": "rsa", "n": b64(&rsa.n), "e": b64(&rsa.e)},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64(&k.eddsa.public_key().to_bytes())},
    ]})
    .to_string()
}

/// The example policy with our JWKS.
pub fn example_policy_json() -> Value {
    json!({
        "mode": "enforce",
        "realm": "orders-api",
        "providers": {
            "mesh": {
                "issuer": "https://issuer.prod.example",
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks() },
                "algorithms": ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
                "from_headers": [{ "name": "authorization", "value_prefix": "Bearer " }],
                "clock_skew_seconds": 60,
                "max_lifetime_seconds": 900,
                "require_expiration": true
            }
        },
        "routes": [
            { "action": "health", "match": { "path": "/healthz" }, "public": true },
            {
                "action": "orders.read",
                "match": { "path": "/tenants/{tenant}/orders/{id}", "methods": ["GET", "HEAD"] },
                "require": {
                    "providers": ["mesh"],
                    "scopes": ["orders:read"],
                    "subjects": ["spiffe://prod.example/ns/*/sa/*"],
                    "claims": { "tenant": "{tenant}" }
                }
            },
            {
                "action": "orders.write",
                "match": { "path": "/tenants/{tenant}/orders", "methods": ["POST"] },
                "max_lifetime_seconds": 300,
                "require": { "scopes": ["orders:write:{tenant}"] }
            }
        ]
    })
}

pub fn policy(value: &Value) -> Policy {
    compile(&value.to_string()).unwrap_or_else(|e| panic!("policy refused: {e}"))
}

/// `claims` with one member set (`null` removes it).
pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        if let Some(map) = claims.as_object_mut() {
            map.remove(key);
        }
    } else {
        claims[key] = value;
    }
    claims
}

/// `claims` with every member of `patch` set (`null` members removed).
pub fn overlay(claims: Value, patch: &Value) -> Value {
    patch
        .as_object()
        .into_iter()
        .flatten()
        .fold(claims, |claims, (k, v)| with(claims, k, v.clone()))
}

/// Claims of a token the example policy's `orders.read` route accepts at [`NOW`].
pub fn good_claims() -> Value {
    json!({
        "iss": "https://issuer.prod.example",
        "aud": "orders",
        "sub": "spiffe://prod.example/ns/shop/sa/checkout",
        "iat": NOW - 60,
        "exp": NOW + 240,
        "scope": "orders:read orders:write:acme",
        "tenant": "acme"
    })
}

fn claims_of(value: &Value) -> JWTClaims<Map<String, Value>> {
    serde_json::from_value(value.clone()).unwrap()
}

pub fn es256(claims: &Value) -> String {
    keys().es256.sign(claims_of(claims)).unwrap()
}
pub fn es384(claims: &Value) -> String {
    keys().es384.sign(claims_of(claims)).unwrap()
}
pub fn rs256(claims: &Value) -> String {
    keys().rs256.sign(claims_of(claims)).unwrap()
}
pub fn ps256(claims: &Value) -> String {
    keys().ps256.sign(claims_of(claims)).unwrap()
}
pub fn eddsa(claims: &Value) -> String {
    keys().eddsa.sign(claims_of(claims)).unwrap()
}
pub fn other_es256(claims: &Value) -> String {
    keys().other_es256.sign(claims_of(claims)).unwrap()
}

/// A token with an arbitrary header and claims and a junk signature.
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        signature
    )
}

/// Judges a request at `now`.
pub fn judge_at(
    policy: &Policy,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    now: u64,
) -> Decision {
    judge_in(policy, method, path, headers, &NoConnection, now)
}

/// Judges a request at `now` over a connection with the given facts (mTLS peer, source).
pub fn judge_in(
    policy: &Policy,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    connection: &dyn ConnectionInfo,
    now: u64,
) -> Decision {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let request = RequestView {
        method,
        path,
        authority: "orders.example",
        headers: &headers,
    };
    decide_in(
        policy,
        &RuntimeState::new(policy),
        &request,
        connection,
        now,
        &GuestVerifier,
    )
}

/// Judges a request at `now` with a given run-time state.
pub fn judge_with(
    policy: &Policy,
    state: &RuntimeState,
    path: &str,
    token: &str,
    now: u64,
) -> Decision {
    let headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
    let request = RequestView {
        method: "GET",
        path,
        authority: "orders.example",
        headers: &headers,
    };
    decide(policy, state, &request, now, &GuestVerifier)
}

/// Judges a request at [`NOW`].
pub fn judge(policy: &Policy, method: &str, path: &str, headers: &[(&str, &str)]) -> Decision {
    judge_at(policy, method, path, headers, NOW)
}

/// Judges a GET with `Authorization: Bearer <token>`.
pub fn judge_token(policy: &Policy, method: &str, path: &str, token: &str) -> Decision {
    let value = format!("Bearer {token}");
    judge(policy, method, path, &[("authorization", &value)])
}
