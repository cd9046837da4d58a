//! Decision telemetry in a real Envoy: the JSON access log built from envoy/access-log-format.json,
//! Prometheus counters labelled by envoy/stats-config.json, identity headers (spoofed copies
//! stripped), `forward: false`, and shadow mode.

use serde_json::{json, Value};
use workload_authz_integration::check::start_envoy;
use workload_authz_integration::tokens::{jwks, key, merge, other_key, Alg};
use workload_authz_integration::{now, Envoy, Request, Response};

const ISS: &str = "https://issuer.prod.example";
const PARTNER: &str = "https://partner.example";

fn policy(mode: &str) -> String {
    policy_with_record(mode, "struct")
}

fn policy_with_record(mode: &str, record: &str) -> String {
    json!({
        "mode": mode,
        "decision_record": record,
        "realm": "orders-api",
        "identity_headers": true,
        "providers": {
            "mesh": {
                "issuer": ISS,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) },
                "claim_to_headers": [
                    { "header_name": "x-tenant", "claim_name": "tenant" },
                    { "header_name": "x-org-unit", "claim_name": "org.unit" }
                ]
            },
            "partner": {
                "issuer": PARTNER,
                "audiences": ["orders"],
                "local_jwks": { "inline_string": jwks(&[key(Alg::EdDSA)]) },
                "from_headers": [{ "name": "x-partner-token" }],
                "forward": false
            }
        },
        "routes": [
            { "action": "health", "match": { "path": "/healthz" }, "public": true },
            { "action": "orders.read",
              "match": { "path": "/tenants/{tenant}/orders/{id}", "methods": ["GET"] },
              "require": { "providers": ["mesh"], "scopes": ["orders:read"], "claims": { "tenant": "{tenant}" } } },
            { "action": "reports.read", "mode": "shadow",
              "match": { "path": "/reports/{tenant}", "methods": ["GET"] },
              "require": { "scopes": ["reports:read"] } },
            { "action": "partner.sync", "match": { "path": "/partner/sync", "methods": ["POST"] },
              "require": { "providers": ["partner"] } }
        ]
    })
    .to_string()
}

fn claims(overrides: Value) -> Value {
    let t = now();
    merge(
        &json!({
            "iss": ISS, "aud": "orders", "sub": "spiffe://prod.example/ns/shop/sa/web",
            "iat": t, "exp": t + 600, "jti": "task-42",
            "scope": "orders:read orders:write:acme", "tenant": "acme", "org": {"unit": "sre"}
        }),
        &overrides,
    )
}

fn send(envoy: &Envoy, req: Request) -> Response {
    envoy.send(&req).expect("request failed")
}

/// The headers the echo upstream received (lowercase names).
fn upstream_headers(resp: &Response) -> Vec<(String, String)> {
    let body = resp.json().unwrap_or(Value::Null);
    body["headers"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|pair| {
                    Some((pair[0].as_str()?.to_string(), pair[1].as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn upstream_header(resp: &Response, name: &str) -> Option<String> {
    upstream_headers(resp)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// The access-log entry for the request whose path is `path` (the last one).
fn log_entry(envoy: &Envoy, expected: usize, path: &str) -> Value {
    let entries = envoy.wait_access_log(expected);
    entries
        .iter()
        .rev()
        .find(|e| e["path"] == path)
        .cloned()
        .unwrap_or_else(|| panic!("no access-log entry for {path} in {entries:#?}"))
}

#[test]
fn decision_record_in_the_access_log_and_headers_upstream() {
    let envoy = start_envoy(&policy("enforce"));
    let mut n = 0;

    // Allowed, with spoofed identity and claim headers that must be replaced.
    let token = key(Alg::ES256).sign(&claims(json!({})));
    let resp = send(
        &envoy,
        Request::get("/tenants/acme/orders/1")
            .bearer(&token)
            .header(
                "x-workload-subject",
                "spiffe://prod.example/ns/admin/sa/root",
            )
            .header("x-tenant", "globex")
            .header("x-org-unit", "evil"),
    );
    n += 1;
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    assert_eq!(
        upstream_header(&resp, "x-workload-subject").as_deref(),
        Some("spiffe://prod.example/ns/shop/sa/web")
    );
    assert_eq!(
        upstream_header(&resp, "x-workload-action").as_deref(),
        Some("orders.read")
    );
    assert_eq!(
        upstream_header(&resp, "x-workload-issuer").as_deref(),
        Some(ISS)
    );
    assert_eq!(upstream_header(&resp, "x-tenant").as_deref(), Some("acme"));
    assert_eq!(upstream_header(&resp, "x-org-unit").as_deref(), Some("sre"));
    let spoofed: Vec<_> = upstream_headers(&resp)
        .into_iter()
        .filter(|(n, _)| n.starts_with("x-workload-") || n == "x-tenant")
        .collect();
    assert_eq!(spoofed.len(), 4, "one copy of each, ours: {spoofed:?}");
    assert!(
        upstream_header(&resp, "authorization").is_some(),
        "forward defaults to true"
    );

    // The default record: one typed object, whole in the log (`%TYPED_CEL(...)%`).
    let entry = log_entry(&envoy, n, "/tenants/acme/orders/1");
    let record = &entry["authz"];
    assert_eq!(record["decision"], "allow", "{entry}");
    assert_eq!(record["reason"], "allowed");
    assert_eq!(record["mode"], "enforce");
    assert_eq!(record["action"], "orders.read");
    assert_eq!(record["provider"], "mesh");
    assert_eq!(record["subject"], "spiffe://prod.example/ns/shop/sa/web");
    assert_eq!(record["issuer"], ISS);
    assert_eq!(record["jti"], "task-42");
    assert_eq!(
        record["scopes_granted"],
        json!(["orders:read", "orders:write:acme"])
    );
    assert_eq!(record["scopes_required"], json!(["orders:read"]));
    assert_eq!(record["scopes_unused"], json!(["orders:write:acme"]));
    assert_eq!(record["actor_chain"], json!([]));
    assert_eq!(record["txn"], Value::Null);
    let ttl = record["token_ttl_remaining"].as_u64().unwrap();
    assert!((590..=600).contains(&ttl), "ttl {ttl}");
    assert_eq!(record["policy"].as_str().unwrap().len(), 16);
    assert_eq!(
        entry["authz_decision"],
        Value::Null,
        "no text keys at the default level"
    );

    // Denied (expired): the spoofed headers never reach anyone, the record names the reason.
    let expired = key(Alg::ES256).sign(&claims(
        json!({"iat": now() - 7200, "exp": now() - 3600, "jti": null}),
    ));
    let resp = send(
        &envoy,
        Request::get("/tenants/acme/orders/2")
            .bearer(&expired)
            .header("x-workload-subject", "x"),
    );
    n += 1;
    assert_eq!(resp.status, 401);
    let entry = log_entry(&envoy, n, "/tenants/acme/orders/2");
    assert_eq!(entry["authz"]["decision"], "deny");
    assert_eq!(entry["authz"]["reason"], "expired");
    assert!(
        entry["authz"]["jti"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{entry}"
    );
    assert!(
        !entry.to_string().contains(&expired),
        "the token never appears in the log"
    );
    assert!(!entry
        .to_string()
        .contains(expired.rsplit('.').next().unwrap()));

    // Public: recorded as such, spoofed identity stripped although no check ran.
    let resp = send(
        &envoy,
        Request::get("/healthz")
            .header("x-workload-subject", "spiffe://evil")
            .header("x-tenant", "evil"),
    );
    n += 1;
    assert_eq!(resp.status, 200);
    assert_eq!(upstream_header(&resp, "x-workload-subject"), None);
    assert_eq!(upstream_header(&resp, "x-tenant"), None);
    let entry = log_entry(&envoy, n, "/healthz");
    assert_eq!(entry["authz"]["decision"], "public");
    assert_eq!(entry["authz"]["reason"], "public");
    assert_eq!(entry["authz"]["action"], "health");
    assert_eq!(entry["authz"]["subject"], Value::Null);

    // Unmatched route.
    let resp = send(&envoy, Request::get("/admin"));
    n += 1;
    assert_eq!(resp.status, 403);
    let entry = log_entry(&envoy, n, "/admin");
    assert_eq!(
        (
            entry["authz"]["decision"].as_str(),
            entry["authz"]["reason"].as_str()
        ),
        (Some("deny"), Some("no_route"))
    );

    // forward: false removes the partner's token header before the upstream sees it.
    let partner = key(Alg::EdDSA).sign(&claims(json!({"iss": PARTNER})));
    let resp = send(
        &envoy,
        Request::post("/partner/sync")
            .header("x-partner-token", &partner)
            .body(b"{}"),
    );
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    assert_eq!(upstream_header(&resp, "x-partner-token"), None);
    assert_eq!(
        upstream_header(&resp, "x-workload-action").as_deref(),
        Some("partner.sync")
    );
}

/// The access-log entry of one allowed read in an Envoy whose policy has `decision_record: level`.
fn allowed_entry_at_level(level: &str, token: &str) -> Value {
    let envoy = start_envoy(&policy_with_record("enforce", level));
    let resp = send(&envoy, Request::get("/tenants/acme/orders/1").bearer(token));
    assert_eq!(resp.status, 200, "{level}: {}", resp.body_str());
    log_entry(&envoy, 1, "/tenants/acme/orders/1")
}

#[test]
fn the_keys_level_keeps_the_fifteen_plain_keys() {
    let token = key(Alg::ES256).sign(&claims(json!({})));
    let entry = allowed_entry_at_level("keys", &token);
    assert_eq!(entry["authz_decision"], "allow", "{entry}");
    assert_eq!(entry["authz_reason"], "allowed");
    assert_eq!(entry["authz_action"], "orders.read");
    assert_eq!(entry["authz_provider"], "mesh");
    assert_eq!(
        entry["authz_subject"],
        "spiffe://prod.example/ns/shop/sa/web"
    );
    assert_eq!(entry["authz_issuer"], ISS);
    assert_eq!(entry["authz_jti"], "task-42");
    assert_eq!(
        entry["authz_scopes_granted"],
        "orders:read orders:write:acme"
    );
    assert_eq!(entry["authz_scopes_required"], "orders:read");
    assert_eq!(entry["authz_scopes_unused"], "orders:write:acme");
    assert_eq!(entry["authz_actor_chain"], "");
    assert_eq!(entry["authz_txn"], "-");
    let ttl: u64 = entry["authz_token_ttl_remaining"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((590..=600).contains(&ttl), "ttl {ttl}");
    let policy_hash = entry["authz_policy"].as_str().unwrap().to_string();
    assert_eq!(policy_hash.len(), 16);
    let record: Value = serde_json::from_str(entry["authz_record"].as_str().unwrap()).unwrap();
    assert_eq!(record["decision"], "allow");
    assert_eq!(record["policy"], policy_hash.as_str());
    assert_eq!(record["scopes_unused"], json!(["orders:write:acme"]));

    // `compact`: decision, reason, action and the JSON record; `off`: nothing at all.
    let entry = allowed_entry_at_level("compact", &token);
    assert_eq!(entry["authz_decision"], "allow", "{entry}");
    assert_eq!(entry["authz_action"], "orders.read");
    assert_eq!(entry["authz_subject"], Value::Null);
    let record: Value = serde_json::from_str(entry["authz_record"].as_str().unwrap()).unwrap();
    assert_eq!(record["subject"], "spiffe://prod.example/ns/shop/sa/web");

    let entry = allowed_entry_at_level("off", &token);
    assert_eq!(entry["authz_decision"], Value::Null, "{entry}");
    assert_eq!(entry["authz_record"], Value::Null);
    assert_eq!(entry["authz"], Value::Null);
}

#[test]
fn shadow_mode_lets_bad_tokens_through_and_records_them() {
    // A shadow route inside an enforcing policy, then a whole policy in shadow mode.
    let envoy = start_envoy(&policy("enforce"));
    let forged = other_key(Alg::ES256).sign(&claims(json!({"scope": "reports:read"})));
    let resp = send(
        &envoy,
        Request::get("/reports/acme")
            .bearer(&forged)
            .header("x-workload-subject", "spiffe://evil"),
    );
    assert_eq!(
        resp.status,
        200,
        "shadow lets it through: {}",
        resp.body_str()
    );
    assert_eq!(
        upstream_header(&resp, "x-workload-subject"),
        None,
        "an unverified token adds no identity"
    );
    let entry = log_entry(&envoy, 1, "/reports/acme");
    assert_eq!(entry["authz"]["decision"], "shadow_deny");
    assert_eq!(
        entry["authz"]["reason"], "unknown_key",
        "signed by a key the provider does not have"
    );
    // The enforcing route next to it still denies.
    let resp = send(
        &envoy,
        Request::get("/tenants/acme/orders/1").bearer(&forged),
    );
    assert_eq!(resp.status, 401);
    drop(envoy);

    let envoy = start_envoy(&policy("shadow"));
    let good = key(Alg::ES256).sign(&claims(json!({})));
    let cases = [
        (
            "/tenants/acme/orders/1",
            Some(forged.as_str()),
            "shadow_deny",
            "unknown_key",
        ),
        (
            "/tenants/globex/orders/1",
            Some(good.as_str()),
            "shadow_deny",
            "claim_mismatch",
        ),
        (
            "/tenants/acme/orders/3",
            None,
            "shadow_deny",
            "missing_token",
        ),
        (
            "/tenants/acme/orders/4",
            Some(good.as_str()),
            "shadow_allow",
            "allowed",
        ),
        ("/unknown", None, "shadow_deny", "no_route"),
    ];
    for (i, (path, token, decision, reason)) in cases.iter().enumerate() {
        let mut req = Request::get(path);
        if let Some(token) = token {
            req = req.bearer(token);
        }
        let resp = send(&envoy, req);
        assert_eq!(resp.status, 200, "{path}: shadow mode never blocks");
        assert_eq!(resp.header("x-echo"), Some("upstream"), "{path}");
        let entry = log_entry(&envoy, i + 1, path);
        assert_eq!(
            (
                entry["authz"]["decision"].as_str(),
                entry["authz"]["reason"].as_str()
            ),
            (Some(*decision), Some(*reason)),
            "{path}"
        );
    }
}

#[test]
fn labelled_counters_in_prometheus() {
    let envoy = start_envoy(&policy("enforce"));
    let good = key(Alg::ES256).sign(&claims(json!({})));
    let expired = key(Alg::ES256).sign(&claims(json!({"iat": now() - 7200, "exp": now() - 3600})));
    let forged = other_key(Alg::ES256).sign(&claims(json!({})));
    let deny_expired = [
        ("decision", "deny"),
        ("reason", "expired"),
        ("action", "orders.read"),
    ];
    let allow = [
        ("decision", "allow"),
        ("reason", "allowed"),
        ("action", "orders.read"),
    ];
    let before = envoy.counter("workload_authz_decisions_total", &deny_expired);
    for _ in 0..3 {
        assert_eq!(
            send(
                &envoy,
                Request::get("/tenants/acme/orders/1").bearer(&expired)
            )
            .status,
            401
        );
    }
    for _ in 0..2 {
        assert_eq!(
            send(&envoy, Request::get("/tenants/acme/orders/1").bearer(&good)).status,
            200
        );
    }
    assert_eq!(
        send(
            &envoy,
            Request::get("/tenants/acme/orders/1").bearer(&forged)
        )
        .status,
        401
    );
    assert_eq!(send(&envoy, Request::get("/healthz")).status, 200);
    // A valid partner token where only mesh is accepted: bad_issuer, but counted as a
    // misrouted caller of `partner`, not as an unknown issuer.
    let partner = key(Alg::EdDSA).sign(&claims(json!({"iss": PARTNER})));
    let misrouted = send(
        &envoy,
        Request::get("/tenants/acme/orders/1").bearer(&partner),
    );
    assert_eq!(misrouted.status, 401);
    assert_eq!(misrouted.reason().as_deref(), Some("bad_issuer"));
    // Counters are flushed to the admin endpoint periodically; wait for them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let expired_count = envoy.counter("workload_authz_decisions_total", &deny_expired);
        let allowed_count = envoy.counter("workload_authz_decisions_total", &allow);
        let public = envoy.counter(
            "workload_authz_decisions_total",
            &[("decision", "public"), ("action", "health")],
        );
        let valid = envoy.counter(
            "workload_authz_token_validations_total",
            &[("provider", "mesh"), ("result", "valid")],
        );
        let bad_sig = envoy.counter(
            "workload_authz_token_validations_total",
            &[("provider", "mesh"), ("result", "unknown_key")],
        );
        let not_accepted = envoy.counter(
            "workload_authz_token_validations_total",
            &[("provider", "partner"), ("result", "not_accepted")],
        );
        if expired_count == before + 3
            && allowed_count == 2
            && public == 1
            && valid == 2
            && bad_sig == 1
            && not_accepted == 1
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            let text = envoy.admin_get("/stats/prometheus").unwrap().body_str();
            let ours: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("workload_authz"))
                .collect();
            panic!("counters did not move as expected (expired {expired_count}, allowed {allowed_count}, public {public}, valid {valid}, unknown_key {bad_sig}, not_accepted {not_accepted}):\n{}", ours.join("\n"));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
