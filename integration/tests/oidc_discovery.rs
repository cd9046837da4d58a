//! `oidc_discovery` in a real Envoy, against document servers on loopback that serve both the
//! discovery document and the key set: a good issuer, an issuer mismatch and a `jwks_uri` on a
//! host without a cluster (denied `keys_unavailable`, the log names why), a moved `jwks_uri`
//! (followed at the next read of the document), an outage (the stale keys keep working), and
//! RFC 8414 metadata at `/.well-known/oauth-authorization-server`.

use serde_json::json;
use std::time::{Duration, Instant};
use workload_authz_integration::docserver::{Behaviour, DocServer};
use workload_authz_integration::tokens::{jwks, Alg, TestKey};
use workload_authz_integration::{now, Envoy, EnvoyOptions, Request};

const ISS: &str = "https://issuer.prod.example";
const OIDC_PATH: &str = "/.well-known/openid-configuration";
const RFC8414_PATH: &str = "/.well-known/oauth-authorization-server";

/// These tests wait for timers: one at a time, so two Envoys do not compete for the cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The policy: the document at `http://issuer.internal{path}` through cluster `idp`, read again
/// every `refresh` seconds; a key set on `keys.internal` goes through cluster `keys`.
fn policy(path: &str, refresh: u64, cache: u64) -> String {
    json!({
        "realm": "orders-api",
        "providers": { "mesh": {
            "issuer": ISS,
            "audiences": ["orders"],
            "oidc_discovery": {
                "http_uri": { "uri": format!("http://issuer.internal{path}"), "cluster": "idp", "timeout": "0.5s" },
                "jwks_clusters": { "keys.internal": "keys" },
                "refresh_seconds": refresh,
                "cache_duration_seconds": cache
            }
        }},
        "routes": [{ "action": "orders.read", "match": { "path": "/orders/{id}" } }]
    })
    .to_string()
}

fn document(issuer: &str, jwks_uri: &str) -> Behaviour {
    Behaviour::Serve(
        json!({
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["ES256"]
        })
        .to_string(),
    )
}

fn token(signer: &TestKey) -> String {
    let t = now();
    signer.sign(
        &json!({"iss": ISS, "aud": "orders", "sub": "spiffe://prod.example/ns/a/sa/agent-7",
                        "iat": t, "exp": t + 600}),
    )
}

fn start(policy: &str, clusters: &[(&str, u16)], concurrency: u32) -> Envoy {
    let opts = EnvoyOptions {
        concurrency,
        clusters: clusters.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
        ..EnvoyOptions::default()
    };
    Envoy::start_with(policy, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn call(envoy: &Envoy, token: &str) -> (u16, String) {
    let resp = envoy
        .send(&Request::get("/orders/1").bearer(token))
        .expect("request failed");
    (resp.status, resp.reason().unwrap_or_default())
}

fn log(envoy: &Envoy) -> String {
    std::fs::read_to_string(envoy.dir().join("envoy.log")).unwrap_or_default()
}

/// Polls until `call` gives `status` (and `reason` if not empty); returns the time it took.
fn wait_for(envoy: &Envoy, token: &str, status: u16, reason: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (got, why) = call(envoy, token);
        if got == status && (reason.is_empty() || why == reason) {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            panic!(
                "no {status} {reason} within {limit:?} (last: {got} {why}); log:\n{}",
                envoy.log_tail(40)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls until the log holds `text`.
fn wait_log(envoy: &Envoy, text: &str, limit: Duration) {
    let start = Instant::now();
    while !log(envoy).contains(text) {
        if start.elapsed() > limit {
            panic!(
                "no `{text}` in the log within {limit:?}:\n{}",
                envoy.log_tail(40)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fetches(envoy: &Envoy, source: &str, result: &str) -> u64 {
    envoy.counter(
        "workload_authz_fetches_total",
        &[("source", source), ("result", result)],
    )
}

#[test]
fn a_good_document_gives_keys_and_a_moved_jwks_uri_is_followed_by_every_worker() {
    let _serial = serial();
    let k1 = TestKey::generate(Alg::ES256, "k1");
    let k2 = TestKey::generate(Alg::ES256, "k2");
    let idp = DocServer::start(0, Behaviour::Status(404, "{}".into())).unwrap();
    idp.set_path(OIDC_PATH, document(ISS, "http://issuer.internal/keys"));
    idp.set_path("/keys", Behaviour::Serve(jwks(&[&k1])));
    let keys = DocServer::start(0, Behaviour::Serve(jwks(&[&k2]))).unwrap();
    let envoy = start(
        &policy(OIDC_PATH, 3, 300),
        &[("idp", idp.port()), ("keys", keys.port())],
        2,
    );

    let took = wait_for(&envoy, &token(&k1), 200, "", Duration::from_secs(10));
    eprintln!("keys through discovery after {took:?}");
    // Envoy writes its log file asynchronously: wait for the line rather than read once.
    wait_log(
        &envoy,
        "jwks:mesh: the discovery document names jwks_uri http://issuer.internal/keys",
        Duration::from_secs(5),
    );
    assert!(fetches(&envoy, "discovery:mesh", "ok") > 0);
    assert_eq!(keys.served(), 0, "the other host is not asked yet");
    // k2 is not in the set the document names (an early refetch finds it absent too).
    assert_eq!(call(&envoy, &token(&k2)), (401, "unknown_key".to_string()));

    // The IdP moves its keys to another host: followed at the next read of the document,
    // through that host's `jwks_clusters` entry; both workers (two connections) agree.
    idp.set_path(
        OIDC_PATH,
        document(ISS, "http://keys.internal/v2/jwks.json"),
    );
    let took = wait_for(&envoy, &token(&k2), 200, "", Duration::from_secs(10));
    eprintln!("moved jwks_uri followed after {took:?}");
    wait_log(
        &envoy,
        "jwks:mesh: jwks_uri moved from http://issuer.internal/keys to http://keys.internal/v2/jwks.json",
        Duration::from_secs(2),
    );
    assert!(keys.served() > 0);
    // The other worker installs the shared key set at its next one-second tick.
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..6 {
        assert_eq!(call(&envoy, &token(&k2)).0, 200);
        assert_eq!(call(&envoy, &token(&k1)), (401, "unknown_key".to_string()));
    }
}

#[test]
fn an_issuer_mismatch_or_a_host_without_cluster_leaves_keys_unavailable_and_says_why() {
    let _serial = serial();
    let k1 = TestKey::generate(Alg::ES256, "k1");
    let idp = DocServer::start(0, Behaviour::Status(404, "{}".into())).unwrap();
    idp.set_path(
        OIDC_PATH,
        document("https://evil.example", "http://issuer.internal/keys"),
    );
    idp.set_path("/keys", Behaviour::Serve(jwks(&[&k1])));
    let envoy = start(&policy(OIDC_PATH, 2, 300), &[("idp", idp.port())], 1);

    wait_log(
        &envoy,
        "discovery:mesh: fetch from http://issuer.internal/.well-known/openid-configuration failed: \
         discovery document refused: issuer mismatch: the discovery document is for issuer \
         `https://evil.example`, the provider's `issuer` is `https://issuer.prod.example`",
        Duration::from_secs(10),
    );
    let good = token(&k1);
    assert_eq!(call(&envoy, &good), (401, "keys_unavailable".to_string()));
    assert!(fetches(&envoy, "discovery:mesh", "issuer_mismatch") > 0);
    assert!(
        !log(&envoy).contains("jwks:mesh: fetching"),
        "no key set asked"
    );

    // The right issuer, but keys on a host the configuration maps to no cluster.
    idp.set_path(
        OIDC_PATH,
        document(ISS, "https://cdn.elsewhere.example/jwks"),
    );
    wait_log(
        &envoy,
        "`jwks_uri` `https://cdn.elsewhere.example/jwks` is on host `cdn.elsewhere.example`, which \
         has no cluster: map it in `providers.mesh.oidc_discovery.jwks_clusters`",
        Duration::from_secs(10),
    );
    assert_eq!(call(&envoy, &good), (401, "keys_unavailable".to_string()));
    assert!(fetches(&envoy, "discovery:mesh", "no_cluster") > 0);

    // Fixed at the IdP: the filter recovers by itself.
    idp.set_path(OIDC_PATH, document(ISS, "http://issuer.internal/keys"));
    let took = wait_for(&envoy, &good, 200, "", Duration::from_secs(10));
    eprintln!("recovered {took:?} after the document was fixed");
}

#[test]
fn rfc8414_metadata_and_an_outage_of_the_issuer_keep_the_stale_keys() {
    let _serial = serial();
    let k1 = TestKey::generate(Alg::ES256, "k1");
    let idp = DocServer::start(0, Behaviour::Status(404, "{}".into())).unwrap();
    idp.set_path(
        RFC8414_PATH,
        document(ISS, "http://issuer.internal/oauth/jwks"),
    );
    idp.set_path("/oauth/jwks", Behaviour::Serve(jwks(&[&k1])));
    let port = idp.port();
    // Document every 2 s, key set every 1.8 s: both are asked several times during the outage.
    let envoy = start(&policy(RFC8414_PATH, 2, 2), &[("idp", port)], 1);
    let good = token(&k1);
    wait_for(&envoy, &good, 200, "", Duration::from_secs(10));

    // Errors first, then the server goes away altogether.
    idp.set_path(RFC8414_PATH, Behaviour::Status(503, "{}".into()));
    idp.set_path(
        "/oauth/jwks",
        Behaviour::Serve("<html>maintenance</html>".into()),
    );
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        assert_eq!(call(&envoy, &good).0, 200, "stale-if-error");
        std::thread::sleep(Duration::from_millis(250));
    }
    idp.stop();
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        assert_eq!(call(&envoy, &good).0, 200, "stale while the issuer is down");
        std::thread::sleep(Duration::from_millis(250));
    }
    for (source, result) in [("discovery:mesh", "http_503"), ("jwks:mesh", "invalid")] {
        assert!(fetches(&envoy, source, result) > 0, "{source} {result}");
    }
    let down = fetches(&envoy, "jwks:mesh", "http_503") + fetches(&envoy, "jwks:mesh", "no_answer");
    assert!(
        down > 0,
        "key set fetches failed while down:\n{}",
        envoy.log_tail(30)
    );

    // The issuer comes back: fresh fetches succeed again.
    let ok_before = fetches(&envoy, "jwks:mesh", "ok");
    let back = DocServer::start(port, Behaviour::Status(404, "{}".into())).unwrap();
    back.set_path(
        RFC8414_PATH,
        document(ISS, "http://issuer.internal/oauth/jwks"),
    );
    back.set_path("/oauth/jwks", Behaviour::Serve(jwks(&[&k1])));
    let start = Instant::now();
    while fetches(&envoy, "jwks:mesh", "ok") == ok_before {
        assert!(start.elapsed() < Duration::from_secs(10), "no fresh fetch");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(call(&envoy, &good).0, 200);
}

#[test]
fn envoy_refuses_a_block_with_both_timeouts_or_a_bad_cluster_host_naming_each_field() {
    let _serial = serial();
    let mut p: serde_json::Value = serde_json::from_str(&policy(OIDC_PATH, 60, 300)).unwrap();
    let block = &mut p["providers"]["mesh"]["oidc_discovery"];
    block["http_uri"]["timeout_ms"] = json!(500);
    block["jwks_clusters"] = json!({"keys internal": "keys"});
    let log = Envoy::start_expect_failure(&p.to_string());
    for needle in [
        "invalid configuration: providers.mesh.oidc_discovery.http_uri.timeout: set either `timeout` or `timeout_ms`, not both",
        "invalid configuration: providers.mesh.oidc_discovery.jwks_clusters.keys internal: `keys internal` is not a host or host:port",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}");
    }
}
