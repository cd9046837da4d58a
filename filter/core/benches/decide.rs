//! Where a request's time goes in the core, phase by phase (native code: the figures are not the
//! V8 ones, which `make bench` measures in Envoy; they show the proportions).
//!
//! `cargo bench -p workload-authz-core --bench decide` (or `make bench-micro`). Groups:
//! - `compile`: policy JSON → `Policy` (configure time, not per request);
//! - `route`: `clean_path` + first-match route lookup;
//! - `routes`: `decide` on a policy of 10, 1,000 or 10,000 public routes of a gateway-like mix
//!   (literal prefixes, `{capture}` templates, `*`/`**`, methods, hosts), for a request to the
//!   first, the middle and the last route, the last route of each of the eight shapes
//!   (`shapeK`), and for one no route declares; `compile/routes_N`
//!   compiles such a policy (configure time), `compile/route_index_N` builds its route index;
//! - `token`: header extraction, then strict JWS parsing (base64url + JSON + registered claims);
//! - `verify`: one signature with `GuestVerifier` (jwt-simple, pure Rust), per algorithm;
//! - `key`: the part of `verify` that builds jwt-simple's public key from our key material;
//! - `decide`: the whole decision, per algorithm, for an allowed request, a tampered signature,
//!   and with a verifier that accepts everything (= everything but the signature), with the
//!   verified-token cache off; `hit`: an allowed request whose token is in the cache (the
//!   `reuse` workload of `make bench`);
//! - `record`: the telemetry of one allowed decision: the filter-state entries (full, compact)
//!   and the counter names.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{criterion_group, criterion_main, Criterion};
use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};
use std::hint::black_box;
use workload_authz_core::keys::{parse_jwks, Algorithm, PublicKey};
use workload_authz_core::memo::DecisionMemo;
use workload_authz_core::routes::RouteIndex;
use workload_authz_core::token::{self, Jws, VerifyError};
use workload_authz_core::{
    compile, decide, telemetry, Decision, GuestVerifier, NoConnection, Policy, Reason, RequestView,
    RuntimeState, SignatureVerifier,
};

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://issuer.bench.example";

struct Keys {
    es256: ES256KeyPair,
    rs256: RS256KeyPair,
    eddsa: Ed25519KeyPair,
}

fn keys() -> Keys {
    Keys {
        es256: ES256KeyPair::generate().with_key_id("es256"),
        rs256: RS256KeyPair::generate(2048).unwrap().with_key_id("rs256"),
        eddsa: Ed25519KeyPair::generate().with_key_id("eddsa"),
    }
}

fn public_jwk(exported: String) -> Value {
    let full: Value = serde_json::from_str(&exported).unwrap();
    let mut out = Map::new();
    for field in ["kty", "crv", "n", "e", "x", "y", "kid"] {
        if let Some(v) = full.get(field) {
            out.insert(field.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

fn jwks(k: &Keys) -> Vec<Value> {
    vec![
        public_jwk(k.es256.public_key().to_jwk()),
        public_jwk(k.rs256.public_key().to_jwk()),
        public_jwk(k.eddsa.public_key().to_jwk()),
    ]
}

/// The policy of `make bench`: one provider with the three keys, one protected route.
fn bench_policy(k: &Keys) -> String {
    let jwks = json!({ "keys": jwks(k) });
    json!({
        "realm": "bench",
        "providers": { "mesh": {
            "issuer": ISSUER,
            "audiences": ["orders"],
            "local_jwks": { "inline_string": jwks.to_string() },
            "algorithms": ["ES256", "RS256", "EdDSA"],
            "clock_skew_seconds": 60,
            "max_lifetime_seconds": 86400,
            "require_expiration": true
        }},
        "routes": [
            { "action": "health", "match": { "path": "/healthz" }, "public": true },
            { "action": "orders.write", "match": { "path": "/orders", "methods": ["POST"] },
              "require": { "providers": ["mesh"], "scopes": ["orders:write"] } },
            { "action": "orders.read", "match": { "path": "/orders/{id}", "methods": ["GET"] },
              "require": { "providers": ["mesh"], "scopes": ["orders:read"] } }
        ]
    })
    .to_string()
}

fn claims() -> JWTClaims<Map<String, Value>> {
    let custom = json!({
        "iss": ISSUER,
        "aud": "orders",
        "sub": "spiffe://bench.example/ns/load/sa/client-1",
        "iat": NOW - 60,
        "exp": NOW + 3540,
        "jti": "bench-1",
        "scope": "orders:read orders:write",
    });
    serde_json::from_value(custom).unwrap()
}

/// The same token with one signature byte flipped.
fn tamper(token: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A verifier that accepts every signature: `decide` with it is everything but the crypto.
struct AcceptAll;

impl SignatureVerifier for AcceptAll {
    fn verify(&self, _: Algorithm, _: &PublicKey, _: &Jws<'_>) -> Result<(), VerifyError> {
        Ok(())
    }
}

fn headers(token: &str) -> Vec<(String, String)> {
    vec![
        (":method".into(), "GET".into()),
        (":path".into(), "/orders/42".into()),
        (":authority".into(), "orders.bench".into()),
        ("user-agent".into(), "wrk".into()),
        ("authorization".into(), format!("Bearer {token}")),
    ]
}

fn decision(
    policy: &Policy,
    state: &RuntimeState,
    headers: &[(String, String)],
    verifier: &dyn SignatureVerifier,
) -> Decision {
    let request = RequestView {
        method: "GET",
        path: "/orders/42",
        authority: "orders.bench",
        headers,
    };
    decide(policy, state, &request, NOW, verifier)
}

fn judge(
    policy: &Policy,
    state: &RuntimeState,
    headers: &[(String, String)],
    verifier: &dyn SignatureVerifier,
) -> bool {
    decision(policy, state, headers, verifier).reason == Reason::Allowed
}

/// The bench policy with the given decision record level.
fn with_record(policy_json: &str, level: &str) -> Policy {
    let mut value: Value = serde_json::from_str(policy_json).unwrap();
    value["decision_record"] = json!(level);
    compile(&value.to_string()).unwrap()
}

/// Route `i` of the `routes` group's gateway-like policy, and a request (method, path, authority)
/// that reaches it and no earlier route. Eight shapes, by `i % 8`.
fn gateway_route(i: usize) -> (Value, (&'static str, String, String)) {
    let api = "api.example.com".to_string();
    let (matcher, request) = match i % 8 {
        0 => (
            json!({ "path": format!("/svc{i}/items"), "methods": ["GET"] }),
            ("GET", format!("/svc{i}/items"), api),
        ),
        1 => (
            json!({ "path": format!("/svc{i}/items/{{id}}"), "methods": ["GET", "PUT"] }),
            ("PUT", format!("/svc{i}/items/42"), api),
        ),
        2 => (
            json!({ "path": format!("/api/v1/svc{i}/{{tenant}}/orders/{{id}}") }),
            ("GET", format!("/api/v1/svc{i}/acme/orders/7"), api),
        ),
        3 => (
            json!({ "path": format!("/static/svc{i}/**") }),
            ("GET", format!("/static/svc{i}/css/site.css"), api),
        ),
        4 => (
            json!({ "path": format!("/svc{i}/*/status"), "methods": ["POST"],
                    "hosts": ["*.example.com"] }),
            (
                "POST",
                format!("/svc{i}/job/status"),
                "a.example.com".to_string(),
            ),
        ),
        5 => (
            json!({ "path": format!("/api/v2/{{tenant}}/svc{i}"),
                    "hosts": [format!("svc{i}.example.com")] }),
            (
                "GET",
                format!("/api/v2/acme/svc{i}"),
                format!("svc{i}.example.com"),
            ),
        ),
        6 => (
            json!({ "path": format!("/svc{i}"), "methods": ["DELETE"],
                    "hosts": ["api.example.com:8443"] }),
            (
                "DELETE",
                format!("/svc{i}"),
                "api.example.com:8443".to_string(),
            ),
        ),
        _ => (
            json!({ "path": format!("/svc{i}/{{a}}/{{b}}/**"), "methods": ["GET", "POST"] }),
            ("POST", format!("/svc{i}/a/b/c/d"), api),
        ),
    };
    let route = json!({ "action": format!("r{i}"), "match": matcher, "public": true });
    (route, request)
}

/// A policy of `n` public routes ([`gateway_route`]).
fn gateway_policy(n: usize) -> String {
    let routes: Vec<Value> = (0..n).map(|i| gateway_route(i).0).collect();
    json!({ "routes": routes }).to_string()
}

/// `decide` on policies of 10, 1,000 and 10,000 routes, and their compile times.
fn route_scale(c: &mut Criterion) {
    let state_of = |p: &Policy| RuntimeState::new(p);
    let mut g = c.benchmark_group("routes");
    for n in [10, 1_000, 10_000] {
        let policy = compile(&gateway_policy(n)).unwrap();
        let state = state_of(&policy);
        let none = (
            "GET",
            "/nowhere/at/all".to_string(),
            "api.example.com".to_string(),
        );
        let mut cases = vec![
            ("first".to_string(), Some(0), gateway_route(0).1),
            ("middle".to_string(), Some(n / 2), gateway_route(n / 2).1),
            ("last".to_string(), Some(n - 1), gateway_route(n - 1).1),
            ("none".to_string(), None, none),
        ];
        // The last route of each shape, to compare like with like across policy sizes.
        for shape in 0..8 {
            let last = (0..n).rev().find(|i| i % 8 == shape).unwrap();
            cases.push((format!("shape{shape}"), Some(last), gateway_route(last).1));
        }
        for (name, expected, (method, path, authority)) in cases {
            let headers: Vec<(String, String)> = vec![("user-agent".into(), "wrk".into())];
            let request = RequestView {
                method,
                path: &path,
                authority: &authority,
                headers: &headers,
            };
            let d = decide(&policy, &state, &request, NOW, &AcceptAll);
            assert_eq!(d.route.map(|r| r.index()), expected, "{name} of {n}");
            let want = if expected.is_some() {
                Reason::Public
            } else {
                Reason::NoRoute
            };
            assert_eq!(d.reason, want, "{name} of {n}");
            g.bench_function(format!("{n}/{name}"), |b| {
                b.iter(|| decide(&policy, &state, black_box(&request), NOW, &AcceptAll).reason)
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    for n in [1_000, 10_000] {
        let text = gateway_policy(n);
        g.bench_function(format!("routes_{n}"), |b| {
            b.iter(|| compile(black_box(&text)).unwrap().routes.len())
        });
        let policy = compile(&text).unwrap();
        g.bench_function(format!("route_index_{n}"), |b| {
            b.iter(|| RouteIndex::new(black_box(&policy.routes).iter().map(|r| &r.matcher)).len())
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let k = keys();
    let policy_json = bench_policy(&k);
    let policy = compile(&policy_json).unwrap();
    let uncached_policy = {
        let mut value: Value = serde_json::from_str(&policy_json).unwrap();
        value["limits"] = json!({ "token_cache_entries": 0 });
        compile(&value.to_string()).unwrap()
    };
    let state = RuntimeState::new(&uncached_policy);
    let public = jwks(&k);
    // (name, alg, token, verification key), in the order of `jwks`.
    let tokens = [
        (
            "ES256",
            Algorithm::Es256,
            k.es256.sign(claims()).unwrap(),
            &public[0],
        ),
        (
            "RS256",
            Algorithm::Rs256,
            k.rs256.sign(claims()).unwrap(),
            &public[1],
        ),
        (
            "EdDSA",
            Algorithm::EdDsa,
            k.eddsa.sign(claims()).unwrap(),
            &public[2],
        ),
    ];

    let mut g = c.benchmark_group("compile");
    g.bench_function("bench_policy", |b| {
        b.iter(|| compile(black_box(&policy_json)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("route");
    g.bench_function("clean_path+match", |b| {
        b.iter(|| {
            let path = workload_authz_core::routes::clean_path(black_box("/orders/42")).unwrap();
            policy
                .routes
                .iter()
                .find_map(|r| r.matcher.matches("GET", &path, "orders.bench"))
                .map(|captures| captures.len())
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("token");
    for (name, _, token, _) in &tokens {
        let h = headers(token);
        let sources = &[token::HeaderSource::bearer()][..];
        g.bench_function(format!("extract/{name}"), |b| {
            b.iter(|| token::extract(black_box(sources), black_box(&h)))
        });
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| token::parse(black_box(token)).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("verify");
    for (name, alg, token, jwk) in &tokens {
        let jws = token::parse(token).unwrap();
        let key = parse_jwks(&json!({ "keys": [jwk] }).to_string())
            .unwrap()
            .keys
            .remove(0);
        assert!(GuestVerifier.verify(*alg, &key.key, &jws).is_ok());
        g.bench_function(format!("guest/{name}"), |b| {
            b.iter(|| GuestVerifier.verify(*alg, black_box(&key.key), black_box(&jws)))
        });
    }
    g.finish();

    // What `GuestVerifier` does before any arithmetic: build jwt-simple's key object from our key
    // material (today on every verification).
    let mut g = c.benchmark_group("key");
    let es = k.es256.public_key().public_key().to_bytes_uncompressed();
    let rsa = k.rs256.public_key().to_components();
    let ed = k.eddsa.public_key().to_bytes();
    g.bench_function("from_bytes/ES256", |b| {
        b.iter(|| ES256PublicKey::from_bytes(black_box(&es)).unwrap())
    });
    g.bench_function("from_components/RS256", |b| {
        b.iter(|| RS256PublicKey::from_components(black_box(&rsa.n), black_box(&rsa.e)).unwrap())
    });
    g.bench_function("from_bytes/EdDSA", |b| {
        b.iter(|| Ed25519PublicKey::from_bytes(black_box(&ed)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("decide");
    for (name, _, token, _) in &tokens {
        let good = headers(token);
        let bad = headers(&tamper(token));
        assert!(judge(&uncached_policy, &state, &good, &GuestVerifier));
        assert!(!judge(&uncached_policy, &state, &bad, &GuestVerifier));
        assert!(judge(&uncached_policy, &state, &good, &AcceptAll));
        g.bench_function(format!("allow/{name}"), |b| {
            b.iter(|| judge(&uncached_policy, &state, black_box(&good), &GuestVerifier))
        });
        g.bench_function(format!("bad_signature/{name}"), |b| {
            b.iter(|| judge(&uncached_policy, &state, black_box(&bad), &GuestVerifier))
        });
        g.bench_function(format!("no_crypto/{name}"), |b| {
            b.iter(|| judge(&uncached_policy, &state, black_box(&good), &AcceptAll))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("hit");
    let cached = RuntimeState::new(&policy);
    for (name, _, token, _) in &tokens {
        let good = headers(token);
        assert!(judge(&policy, &cached, &good, &GuestVerifier));
        assert!(cached.cached_tokens() > 0);
        g.bench_function(format!("allow/{name}"), |b| {
            b.iter(|| judge(&policy, &cached, black_box(&good), &GuestVerifier))
        });
        // The same request again in the same second: served from the memo.
        let mut memo: DecisionMemo<()> = DecisionMemo::new(&policy);
        let request = RequestView {
            method: "GET",
            path: "/orders/42",
            authority: "orders.bench",
            headers: &good,
        };
        g.bench_function(format!("memoised/{name}"), |b| {
            b.iter(|| {
                let entry = memo.decide(
                    &policy,
                    &cached,
                    black_box(&request),
                    &NoConnection,
                    NOW,
                    &GuestVerifier,
                );
                entry.decision.reason == Reason::Allowed
            })
        });
        assert!(memo.served() > 0);
    }
    g.finish();

    let mut g = c.benchmark_group("record");
    let allowed = decision(&policy, &cached, &headers(&tokens[0].2), &GuestVerifier);
    assert_eq!(allowed.reason, Reason::Allowed);
    for level in ["keys", "compact"] {
        let policy = with_record(&policy_json, level);
        assert!(!telemetry::filter_state(&allowed, &policy).is_empty());
        g.bench_function(format!("filter_state/{level}"), |b| {
            b.iter(|| telemetry::filter_state(black_box(&allowed), &policy))
        });
    }
    g.bench_function("record_struct", |b| {
        b.iter(|| telemetry::record_struct(black_box(&allowed), &policy))
    });
    g.bench_function("metric_names", |b| {
        b.iter(|| {
            (
                telemetry::decisions_metric(black_box(&allowed)),
                telemetry::validations_metric(black_box(&allowed)),
            )
        })
    });
    g.finish();
}

criterion_group! {
    name = phases;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches, route_scale
}
criterion_main!(phases);
