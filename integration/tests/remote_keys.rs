//! Remote key sets and revocation in a real Envoy, against document servers started by the
//! tests on loopback: rotation, an endpoint down at start, garbage and hanging answers,
//! revocation by jti and by subject, and agreement of every worker (`--concurrency 2`).

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use workload_authz_integration::docserver::{free_port, Behaviour, DocServer};
use workload_authz_integration::tokens::{jwks, key, Alg, TestKey};
use workload_authz_integration::{now, Envoy, EnvoyOptions, Request};

const ISS: &str = "https://issuer.prod.example";

/// These tests measure propagation times: they run one at a time, so two Envoys and their
/// timers do not compete for the machine's two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn remote_policy(cache_seconds: u64, timeout_ms: u64) -> String {
    json!({
        "realm": "orders-api",
        "providers": { "mesh": {
            "issuer": ISS,
            "audiences": ["orders"],
            "remote_jwks": {
                "http_uri": { "uri": "http://idp.internal/.well-known/jwks.json", "cluster": "idp", "timeout_ms": timeout_ms },
                "cache_duration_seconds": cache_seconds
            }
        }},
        "routes": [{ "action": "orders.read", "match": { "path": "/orders/{id}" } }]
    })
    .to_string()
}

fn revocation_policy(refresh_seconds: u64) -> String {
    json!({
        "realm": "orders-api",
        "providers": { "mesh": {
            "issuer": ISS,
            "audiences": ["orders"],
            "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) }
        }},
        "revocation": {
            "http_uri": { "uri": "http://revocation.internal/v1/revoked", "cluster": "revocation", "timeout_ms": 500 },
            "refresh_seconds": refresh_seconds
        },
        "routes": [{ "action": "orders.read", "match": { "path": "/orders/{id}" } }]
    })
    .to_string()
}

fn token(signer: &TestKey, extra: Value) -> String {
    let t = now();
    let mut claims = json!({"iss": ISS, "aud": "orders", "sub": "spiffe://prod.example/ns/a/sa/agent-7",
                            "iat": t, "exp": t + 600});
    if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    signer.sign(&claims)
}

fn start(policy: &str, clusters: &[(&str, u16)], concurrency: u32) -> Envoy {
    let opts = EnvoyOptions {
        concurrency,
        clusters: clusters.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
        ..EnvoyOptions::default()
    };
    Envoy::start_with(policy, &opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Status and reason of one GET with a bearer token.
fn call(envoy: &Envoy, token: &str) -> (u16, String) {
    let resp = envoy
        .send(&Request::get("/orders/1").bearer(token))
        .expect("request failed");
    (resp.status, resp.reason().unwrap_or_default())
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

#[test]
fn keys_rotate_without_waiting_for_the_cache() {
    let _serial = serial();
    let k1 = TestKey::generate(Alg::ES256, "k1");
    let k2 = TestKey::generate(Alg::ES256, "k2");
    let server = DocServer::start(0, Behaviour::Serve(jwks(&[&k1]))).unwrap();
    let envoy = start(&remote_policy(4, 500), &[("idp", server.port())], 1);

    wait_for(
        &envoy,
        &token(&k1, json!({})),
        200,
        "",
        Duration::from_secs(10),
    );
    // A new kid appears at the IdP: the first token signed with it triggers one early refetch.
    server.set(Behaviour::Serve(jwks(&[&k1, &k2])));
    let before = server.served();
    let (status, reason) = call(&envoy, &token(&k2, json!({})));
    assert_eq!(
        (status, reason.as_str()),
        (200, ""),
        "new kid accepted at once"
    );
    assert!(
        server.served() > before,
        "an early refetch reached the JWKS server"
    );

    // k1 is removed: it stops working after the next refresh (cache 4 s → refresh at 4 s).
    server.set(Behaviour::Serve(jwks(&[&k2])));
    let took = wait_for(
        &envoy,
        &token(&k1, json!({})),
        401,
        "unknown_key",
        Duration::from_secs(10),
    );
    eprintln!("removed key refused after {took:?}");
    assert_eq!(call(&envoy, &token(&k2, json!({}))).0, 200);
}

#[test]
fn endpoint_down_at_start_then_garbage_and_hangs_keep_the_last_good_keys() {
    let _serial = serial();
    let k1 = TestKey::generate(Alg::ES256, "k1");
    let port = free_port();
    let envoy = start(&remote_policy(2, 300), &[("idp", port)], 1);
    let good = token(&k1, json!({}));
    std::thread::sleep(Duration::from_millis(1500));
    let (status, reason) = call(&envoy, &good);
    assert_eq!((status, reason.as_str()), (401, "keys_unavailable"));
    let resp = envoy
        .send(&Request::get("/orders/1").bearer(&good))
        .unwrap();
    assert!(resp
        .www_authenticate()
        .unwrap_or_default()
        .contains("error=\"invalid_token\""));

    // The IdP comes up: the filter recovers by itself.
    let server = DocServer::start(port, Behaviour::Serve(jwks(&[&k1]))).unwrap();
    let took = wait_for(&envoy, &good, 200, "", Duration::from_secs(15));
    eprintln!("recovered {took:?} after the JWKS server came up");

    // Garbage: refused, the last good set keeps serving across several refreshes.
    server.set(Behaviour::Serve("<html>maintenance</html>".into()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        assert_eq!(call(&envoy, &good).0, 200, "stale-if-error");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        envoy.counter(
            "workload_authz_fetches_total",
            &[("source", "jwks:mesh"), ("result", "invalid")]
        ) > 0
    );

    // An error status and a hang past timeout_ms (300 ms): still served.
    server.set(Behaviour::Status(503, "{}".into()));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(call(&envoy, &good).0, 200);
    server.set(Behaviour::Hang);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(call(&envoy, &good).0, 200);
    assert!(
        envoy.counter(
            "workload_authz_fetches_total",
            &[("source", "jwks:mesh"), ("result", "http_503")]
        ) > 0
    );
    assert!(
        envoy.counter(
            "workload_authz_fetches_total",
            // Envoy answers a timed-out call with a local 504 (a refused connection: 503).
            &[("source", "jwks:mesh"), ("result", "http_504")]
        ) > 0
    );
    assert!(
        envoy.counter(
            "workload_authz_fetches_total",
            &[("source", "jwks:mesh"), ("result", "ok")]
        ) > 0
    );
    server.stop();
}

#[test]
fn revocation_by_jti_and_by_subject() {
    let _serial = serial();
    let server = DocServer::start(0, Behaviour::Status(503, String::new())).unwrap();
    let refresh = 2;
    let envoy = start(
        &revocation_policy(refresh),
        &[("revocation", server.port())],
        1,
    );
    let task = token(key(Alg::ES256), json!({"jti": "task-42"}));
    // No list yet: fail closed.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        call(&envoy, &task),
        (401, "revocation_unavailable".to_string())
    );
    server.set(Behaviour::Serve(json!({"jti": []}).to_string()));
    wait_for(&envoy, &task, 200, "", Duration::from_secs(10));

    // The task completes: its credential is revoked at the endpoint.
    server.set(Behaviour::Serve(
        json!({"jti": ["0b7c", "task-42"]}).to_string(),
    ));
    let propagation = wait_for(
        &envoy,
        &task,
        401,
        "revoked",
        Duration::from_secs(2 * refresh + 1),
    );
    eprintln!("revocation propagation (published -> first deny): {propagation:?}");
    assert!(
        propagation <= Duration::from_secs(2 * refresh),
        "{propagation:?}"
    );
    assert_eq!(
        call(&envoy, &token(key(Alg::ES256), json!({"jti": "task-43"}))).0,
        200
    );

    // Removed again: the token is let in again.
    server.set(Behaviour::Serve(json!({"jti": []}).to_string()));
    wait_for(&envoy, &task, 200, "", Duration::from_secs(2 * refresh + 1));

    // A compromised workload: its tokens issued before the cut-off are out, newer ones and
    // other subjects are fine.
    let t = now();
    let old = token(key(Alg::ES256), json!({"iat": t - 100}));
    let newer = token(key(Alg::ES256), json!({"iat": t}));
    let other = token(
        key(Alg::ES256),
        json!({"iat": t - 100, "sub": "spiffe://prod.example/ns/a/sa/other"}),
    );
    server.set(Behaviour::Serve(
        json!({"subjects_revoked_before": {"spiffe://prod.example/ns/a/sa/agent-7": t - 50}})
            .to_string(),
    ));
    wait_for(
        &envoy,
        &old,
        401,
        "revoked",
        Duration::from_secs(2 * refresh + 1),
    );
    assert_eq!(call(&envoy, &newer).0, 200);
    assert_eq!(call(&envoy, &other).0, 200);

    // The endpoint blinks: the last list stays in force.
    server.set(Behaviour::Status(500, String::new()));
    std::thread::sleep(Duration::from_secs(2 * refresh + 1));
    assert_eq!(call(&envoy, &old), (401, "revoked".to_string()));
}

#[test]
fn every_worker_agrees_after_the_propagation_window() {
    let _serial = serial();
    let server = DocServer::start(0, Behaviour::Serve(json!({"jti": []}).to_string())).unwrap();
    let refresh = 2;
    let envoy = start(
        &revocation_policy(refresh),
        &[("revocation", server.port())],
        2,
    );
    let task = token(key(Alg::ES256), json!({"jti": "task-7"}));
    wait_for(&envoy, &task, 200, "", Duration::from_secs(10));
    // Both workers see the list: many fresh connections, all allowed.
    let statuses: Vec<u16> = (0..100).map(|_| call(&envoy, &task).0).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    server.set(Behaviour::Serve(json!({"jti": ["task-7"]}).to_string()));
    let published = Instant::now();
    wait_for(
        &envoy,
        &task,
        401,
        "revoked",
        Duration::from_secs(2 * refresh + 1),
    );
    let first_deny = published.elapsed();
    // After the window (2 x refresh_seconds after publishing, and at least two 1 s ticks after the
    // first deny, so a loaded machine's late timers do not count as staleness), no request on
    // any worker is judged with the old list.
    let window = (published + Duration::from_secs(2 * refresh))
        .max(published + first_deny + Duration::from_secs(2));
    std::thread::sleep(window.saturating_duration_since(Instant::now()));
    let mut stale = 0;
    for _ in 0..300 {
        let (status, reason) = call(&envoy, &task);
        if (status, reason.as_str()) != (401, "revoked") {
            stale += 1;
        }
    }
    eprintln!("first deny after {first_deny:?}; stale answers after the window: {stale}/300");
    assert_eq!(stale, 0);
    // Both workers really served requests (per-worker listener stats).
    let text = envoy.admin_get("/stats").unwrap().body_str();
    let busy_workers = text
        .lines()
        .filter(|l| l.starts_with("listener.") && l.contains(".worker_"))
        .filter(|l| l.contains("downstream_cx_total:"))
        .filter(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                > 0
        })
        .count();
    eprintln!("workers that served requests: {busy_workers}");
    assert_eq!(busy_workers, 2, "both workers must have judged requests");
}

/// The example server in examples/ wired to Envoy: a "task completed" POST revokes the token.
#[test]
fn example_revocation_server_revokes_a_finished_task() {
    let _serial = serial();
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("wa-revocation-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = workload_authz_integration::workspace_root().join("examples/revocation-server.py");
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = KillOnDrop(
        std::process::Command::new("python3")
            .arg(&script)
            .args(["--port", &port.to_string(), "--quiet", "--file"])
            .arg(dir.join("revoked.json"))
            .spawn()
            .expect("python3 runs the example server"),
    );
    let envoy = start(&revocation_policy(1), &[("revocation", port)], 1);
    let task = token(key(Alg::ES256), json!({"jti": "task-99"}));
    wait_for(&envoy, &task, 200, "", Duration::from_secs(15));

    let body = r#"{"jti": "task-99"}"#;
    let post = format!(
        "POST /v1/revoke HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = workload_authz_integration::envoy::raw_exchange(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        post.as_bytes(),
    )
    .unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.0 200")
            || String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200")
    );
    let took = wait_for(&envoy, &task, 401, "revoked", Duration::from_secs(3));
    eprintln!("example server: revoke POST -> first deny {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
