//! `oidc_discovery` providers: the configuration, and the discovery document through the sharing
//! protocol with fake workers (issuer checked exactly, `jwks_uri` followed and moved, a cluster
//! for every host, stale keys through an outage).
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
use workload_authz_core::config::KeySource;
use workload_authz_core::sync::discovery::DiscoveryError;
use workload_authz_core::sync::fake::{Dispatched, FakeHttp, FakeSharedData};
use workload_authz_core::sync::{
    Answer, EventKind, FetchError, FetchFailure, Level, ResourceKind, SyncEvent, Syncer,
};
use workload_authz_core::{compile, Policy, ProviderId, Reason, RuntimeState};

const ISS: &str = "https://issuer.prod.example";
const DISCOVERY_URI: &str = "https://issuer.prod.example/.well-known/openid-configuration";
const JWKS_URI: &str = "https://issuer.prod.example/keys";
const MOVED_URI: &str = "https://keys.example/v2/jwks.json";
/// `refresh_seconds` of the document.
const DOC_REFRESH: u64 = 60;
const MESH: ProviderId = ProviderId::new(0);
const READ: &str = "/tenants/acme/orders/7";

fn discovery_json() -> Value {
    let mut value = example_policy_json();
    let mesh = value["providers"]["mesh"].as_object_mut().unwrap();
    mesh.remove("local_jwks");
    mesh.insert(
        "oidc_discovery".into(),
        json!({
            "http_uri": {"uri": DISCOVERY_URI, "cluster": "idp", "timeout": "500ms"},
            "jwks_clusters": {"keys.example": "keys"},
            "refresh_seconds": DOC_REFRESH,
            "cache_duration_seconds": 300,
            "max_stale_seconds": 3600
        }),
    );
    value
}

fn discovery_policy() -> Policy {
    policy(&discovery_json())
}

fn errors_of(value: &Value) -> Vec<String> {
    match compile(&value.to_string()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

fn doc(issuer: &str, jwks_uri: &str) -> String {
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "id_token_signing_alg_values_supported": ["ES256"]
    })
    .to_string()
}

/// A key set whose `es256` key is `other_es256`, the key the old set does not hold.
fn rotated_jwks() -> String {
    let point = keys()
        .other_es256
        .public_key()
        .public_key()
        .to_bytes_uncompressed();
    json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "es256",
                     "x": b64(&point[1..33]), "y": b64(&point[33..])}]})
    .to_string()
}

fn token_at(now: u64) -> String {
    let mut claims = good_claims();
    claims["iat"] = json!(now - 60);
    claims["exp"] = json!(now + 240);
    es256(&claims)
}

fn rotated_token_at(now: u64) -> String {
    let mut claims = good_claims();
    claims["iat"] = json!(now - 60);
    claims["exp"] = json!(now + 240);
    other_es256(&claims)
}

struct Worker {
    policy: Policy,
    sync: Syncer<FakeSharedData, FakeHttp>,
    state: RuntimeState,
    http: FakeHttp,
}

impl Worker {
    fn new(policy: &Policy, shared: &FakeSharedData) -> Worker {
        let http = FakeHttp::new();
        Worker {
            policy: policy.clone(),
            sync: Syncer::new(policy, shared.clone(), http.clone()),
            state: RuntimeState::new(policy),
            http,
        }
    }

    fn tick(&mut self, now: u64) -> Vec<SyncEvent> {
        self.sync.tick(&mut self.state, now);
        self.sync.take_events()
    }

    /// Ticks and returns the one call sent.
    fn tick_sending(&mut self, now: u64) -> Dispatched {
        self.tick(now);
        self.sent_one()
    }

    /// The one call sent since the last look.
    fn sent_one(&mut self) -> Dispatched {
        let sent = self.http.take_sent();
        assert_eq!(sent.len(), 1, "one fetch expected: {sent:?}");
        sent.into_iter().next().unwrap()
    }

    fn answer(&mut self, call: &Dispatched, answer: Answer, now: u64) -> Vec<SyncEvent> {
        assert!(self
            .sync
            .on_response(call.token, &answer, &mut self.state, now));
        self.sync.take_events()
    }

    fn judge(&self, token: &str, now: u64) -> Reason {
        judge_with(&self.policy, &self.state, READ, token, now).reason
    }

    /// Fetches the document and then the key set it names, both answered well.
    fn start(&mut self, now: u64) {
        let call = self.tick_sending(now);
        assert_eq!(call.uri.uri, DISCOVERY_URI);
        self.answer(&call, Answer::ok(doc(ISS, JWKS_URI)), now);
        let call = self.sent_one();
        assert_eq!(call.uri.uri, JWKS_URI);
        self.answer(&call, Answer::ok(jwks()), now + 1);
        assert_eq!(self.judge(&token_at(now + 1), now + 1), Reason::Allowed);
    }
}

fn kinds(events: &[SyncEvent]) -> Vec<&EventKind> {
    events.iter().map(|e| &e.kind).collect()
}

#[test]
fn the_block_compiles_with_either_timeout_form() {
    let p = discovery_policy();
    let KeySource::Discovery(d) = &p.providers[0].key_source else {
        panic!("not a discovery provider: {:?}", p.providers[0].key_source);
    };
    assert_eq!(d.http_uri.cluster, "idp");
    assert_eq!(d.http_uri.path, "/.well-known/openid-configuration");
    assert_eq!(d.http_uri.timeout_ms, 500);
    assert_eq!(d.refresh_seconds, DOC_REFRESH);

    let mut value = discovery_json();
    value["providers"]["mesh"]["oidc_discovery"] = json!({
        "http_uri": {"uri": "https://issuer.prod.example/.well-known/oauth-authorization-server",
                     "cluster": "idp", "timeout_ms": 2500}
    });
    let KeySource::Discovery(d) = &policy(&value).providers[0].key_source else {
        panic!("not a discovery provider");
    };
    assert_eq!((d.http_uri.timeout_ms, d.refresh_seconds), (2500, 3600));
    assert!(d.jwks_clusters.is_empty());
}

#[test]
fn configuration_errors_name_their_field() {
    let mut both = discovery_json();
    both["providers"]["mesh"]["remote_jwks"] =
        json!({"http_uri": {"uri": "http://idp/jwks", "cluster": "idp"}});
    assert_eq!(
        errors_of(&both),
        ["providers.mesh: set one of `local_jwks`, `remote_jwks` or `oidc_discovery`, not several"]
    );

    let mut bad = discovery_json();
    bad["providers"]["mesh"]["oidc_discovery"] = json!({
        "http_uri": {"uri": "ftp://issuer/x", "cluster": "idp", "timeout": "5s", "timeout_ms": 5},
        "jwks_clusters": {"keys.example:0": "keys", "ok.example": 3},
        "max_stale_seconds": -1,
        "remote_jwks": {}
    });
    assert_eq!(
        errors_of(&bad),
        [
            "providers.mesh.oidc_discovery.remote_jwks: unknown field",
            "providers.mesh.oidc_discovery.http_uri.timeout: set either `timeout` or `timeout_ms`, not both",
            "providers.mesh.oidc_discovery.http_uri.uri: `ftp://issuer/x` must start with http:// or https://",
            "providers.mesh.oidc_discovery.jwks_clusters.keys.example:0: `keys.example:0` is not a host or host:port",
            "providers.mesh.oidc_discovery.jwks_clusters.ok.example: must be a string",
            "providers.mesh.oidc_discovery.max_stale_seconds: must be a whole number",
        ]
    );

    let mut slow = discovery_json();
    slow["providers"]["mesh"]["oidc_discovery"]["http_uri"]["timeout"] = json!("90s");
    assert_eq!(
        errors_of(&slow),
        ["providers.mesh.oidc_discovery.http_uri.timeout: `90s` is not a duration from 1ms to 60s"]
    );
    // The duration form is accepted on every http_uri.
    let mut revocation = example_policy_json();
    revocation["revocation"] =
        json!({"http_uri": {"uri": "http://r/x", "cluster": "r", "timeout": "1.5s"}});
    assert_eq!(
        policy(&revocation).revocation.unwrap().http_uri.timeout_ms,
        1500
    );
}

#[test]
fn the_document_comes_before_the_key_set_it_names() {
    let p = discovery_policy();
    let sync = Syncer::new(&p, FakeSharedData::new(), FakeHttp::new());
    let resources = sync.resources();
    assert_eq!(resources.len(), 2);
    assert_eq!(resources[0].kind, ResourceKind::Discovery(MESH));
    assert_eq!(resources[0].label, "discovery:mesh");
    assert_eq!(resources[0].refresh_seconds, DOC_REFRESH);
    assert_eq!(resources[1].kind, ResourceKind::Jwks(MESH));
    assert_eq!(resources[1].http_uri, None, "not known before the document");
    assert_eq!(resources[1].refresh_seconds, 270);
}

#[test]
fn a_good_document_leads_to_its_key_set() {
    let p = discovery_policy();
    let shared = FakeSharedData::new();
    let mut a = Worker::new(&p, &shared);
    let call = a.tick_sending(NOW);
    assert_eq!(
        (call.uri.cluster.as_str(), call.uri.authority.as_str()),
        ("idp", "issuer.prod.example")
    );
    assert_eq!(a.judge(&token_at(NOW), NOW), Reason::KeysUnavailable);
    let events = a.answer(&call, Answer::ok(doc(ISS, JWKS_URI)), NOW);
    assert_eq!(
        kinds(&events),
        [
            &EventKind::Updated {
                uri: DISCOVERY_URI.into()
            },
            &EventKind::JwksUriFound {
                from: None,
                to: JWKS_URI.into()
            },
            &EventKind::Fetching {
                uri: JWKS_URI.into()
            }
        ]
    );
    assert_eq!(
        events[1].to_string(),
        format!("jwks:mesh: the discovery document names jwks_uri {JWKS_URI}")
    );
    assert_eq!(
        events[0].fetches_metric().as_deref(),
        Some("source=.=discovery:mesh;.;result=.=ok;.;workload_authz_fetches_total")
    );
    // The key set is fetched at once, on the document's host: through its cluster.
    let call = a.sent_one();
    assert_eq!(
        (
            call.uri.uri.as_str(),
            call.uri.cluster.as_str(),
            call.uri.path.as_str()
        ),
        (JWKS_URI, "idp", "/keys")
    );
    assert_eq!(call.uri.timeout_ms, 500);
    a.answer(&call, Answer::ok(jwks()), NOW + 1);
    assert_eq!(a.judge(&token_at(NOW + 1), NOW + 1), Reason::Allowed);
    a.tick(NOW + 2);
    assert!(a.http.take_sent().is_empty(), "nothing due");

    // Another worker installs both shared documents without fetching either.
    let mut b = Worker::new(&p, &shared);
    let events = b.tick(NOW + 2);
    assert!(b.http.take_sent().is_empty(), "{events:?}");
    assert_eq!(b.judge(&token_at(NOW + 2), NOW + 2), Reason::Allowed);
    assert_eq!(
        b.sync.resources()[1]
            .http_uri
            .as_ref()
            .map(|u| u.uri.as_str()),
        Some(JWKS_URI)
    );
}

#[test]
fn a_document_for_another_issuer_is_refused_and_keys_stay_unavailable() {
    let p = discovery_policy();
    let mut a = Worker::new(&p, &FakeSharedData::new());
    for other in [
        "https://evil.example",
        "https://issuer.prod.example/",
        "https://ISSUER.prod.example",
    ] {
        let call = a.tick_sending(NOW);
        let events = a.answer(&call, Answer::ok(doc(other, JWKS_URI)), NOW);
        let expected =
            FetchFailure::Answer(FetchError::Discovery(DiscoveryError::IssuerMismatch {
                found: other.into(),
                expected: ISS.into(),
            }));
        assert_eq!(
            kinds(&events),
            [&EventKind::FetchFailed {
                uri: DISCOVERY_URI.into(),
                failure: expected
            }]
        );
        assert_eq!(events[0].level(), Level::Warn);
        assert_eq!(events[0].fetch_result().as_deref(), Some("issuer_mismatch"));
        assert!(
            events[0].to_string().contains(&format!(
                "issuer mismatch: the discovery document is for issuer `{other}`, the provider's `issuer` is `{ISS}`"
            )),
            "{}",
            events[0]
        );
        // No key set is fetched from a refused document: keys stay unavailable, and the next
        // tick asks for the document again (nothing was installed), as for a failed key set.
        assert_eq!(a.judge(&token_at(NOW), NOW), Reason::KeysUnavailable);
        assert_eq!(a.sync.resources()[1].http_uri, None);
    }
    let retry = a.tick_sending(NOW + 1);
    assert_eq!(retry.uri.uri, DISCOVERY_URI);
}

#[test]
fn a_moved_jwks_uri_is_followed_and_the_old_keys_serve_until_the_new_ones_come() {
    let p = discovery_policy();
    let shared = FakeSharedData::new();
    let mut a = Worker::new(&p, &shared);
    let mut b = Worker::new(&p, &shared);
    a.start(NOW);
    b.tick(NOW + 1);
    assert_eq!(b.judge(&token_at(NOW + 1), NOW + 1), Reason::Allowed);

    // The document is read again on its own schedule and names another host.
    let t = NOW + DOC_REFRESH;
    a.tick(t - 1);
    assert!(
        a.http.take_sent().is_empty(),
        "not due before refresh_seconds"
    );
    let call = a.tick_sending(t);
    assert_eq!(call.uri.uri, DISCOVERY_URI);
    let events = a.answer(&call, Answer::ok(doc(ISS, MOVED_URI)), t);
    assert_eq!(
        events[1].kind,
        EventKind::JwksUriFound {
            from: Some(JWKS_URI.into()),
            to: MOVED_URI.into()
        }
    );
    assert_eq!(
        events[1].to_string(),
        format!("jwks:mesh: jwks_uri moved from {JWKS_URI} to {MOVED_URI} (discovery document)")
    );
    assert_eq!(a.judge(&token_at(t), t), Reason::Allowed, "old keys serve");

    // The new key set is fetched at once (not at the key set's own refresh), through the
    // `jwks_clusters` entry of its host; the other worker follows the shared document and
    // leaves the fetch to the lease holder.
    assert_eq!(
        events[2].kind,
        EventKind::Fetching {
            uri: MOVED_URI.into()
        }
    );
    let call = a.sent_one();
    assert_eq!(
        (call.uri.uri.as_str(), call.uri.cluster.as_str()),
        (MOVED_URI, "keys")
    );
    assert_eq!(call.uri.authority, "keys.example");
    assert_eq!(call.uri.path, "/v2/jwks.json");
    let events = b.tick(t + 1);
    assert!(b.http.take_sent().is_empty(), "{events:?}");
    assert_eq!(
        b.sync.resources()[1]
            .http_uri
            .as_ref()
            .map(|u| u.uri.as_str()),
        Some(MOVED_URI)
    );
    a.answer(&call, Answer::ok(rotated_jwks()), t + 1);
    a.tick(t + 2);
    b.tick(t + 2);
    for w in [&a, &b] {
        assert_eq!(w.judge(&rotated_token_at(t + 2), t + 2), Reason::Allowed);
        assert_eq!(w.judge(&token_at(t + 2), t + 2), Reason::BadSignature);
    }

    // The same document again changes nothing.
    let t = t + DOC_REFRESH;
    let call = a.tick_sending(t);
    let events = a.answer(&call, Answer::ok(doc(ISS, MOVED_URI)), t);
    assert_eq!(events.len(), 1, "{events:?}");
    a.tick(t + 1);
    assert!(a.http.take_sent().is_empty());
}

#[test]
fn a_jwks_uri_on_a_host_without_a_cluster_is_refused_naming_the_host_and_the_field() {
    let p = discovery_policy();
    let mut a = Worker::new(&p, &FakeSharedData::new());
    let call = a.tick_sending(NOW);
    let uri = "https://cdn.other.example:8443/jwks";
    let events = a.answer(&call, Answer::ok(doc(ISS, uri)), NOW);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].fetch_result().as_deref(), Some("no_cluster"));
    assert_eq!(
        events[0].to_string(),
        format!(
            "discovery:mesh: fetch from {DISCOVERY_URI} failed: discovery document refused: \
             `jwks_uri` `{uri}` is on host `cdn.other.example:8443`, which has no cluster: map it \
             in `providers.mesh.oidc_discovery.jwks_clusters`; the last good document keeps serving"
        )
    );
    assert_eq!(a.judge(&token_at(NOW), NOW), Reason::KeysUnavailable);

    // Other schemes are refused too, whatever the host; only the document is asked again.
    let call = a.tick_sending(NOW + 1);
    assert_eq!(call.uri.uri, DISCOVERY_URI);
    let events = a.answer(
        &call,
        Answer::ok(doc(ISS, "file:///etc/keys.json")),
        NOW + 1,
    );
    assert_eq!(events[0].fetch_result().as_deref(), Some("invalid"));
    assert!(events[0]
        .to_string()
        .contains("`jwks_uri` `file:///etc/keys.json` is not an http:// or https:// URI"));
}

#[test]
fn an_outage_of_both_endpoints_keeps_the_stale_keys() {
    let p = discovery_policy();
    let mut a = Worker::new(&p, &FakeSharedData::new());
    a.start(NOW);
    // The issuer goes down: the document fails, then the key set refresh fails.
    let t = NOW + DOC_REFRESH;
    let call = a.tick_sending(t);
    let events = a.answer(&call, Answer::no_status(), t);
    assert_eq!(events[0].fetch_result().as_deref(), Some("no_answer"));
    assert_eq!(a.judge(&token_at(t), t), Reason::Allowed);
    // A document that is not JSON (a maintenance page) is refused the same way.
    let call = a.tick_sending(t + 3);
    let events = a.answer(&call, Answer::ok("<html>maintenance</html>"), t + 3);
    assert_eq!(events[0].fetch_result().as_deref(), Some("invalid"));
    // The key set keeps its jwks_uri and its schedule: refreshed at 270 s, failing.
    let t = NOW + 1 + 270;
    a.tick(t);
    let sent = a.http.take_sent();
    let jwks_call = sent
        .iter()
        .find(|d| d.uri.uri == JWKS_URI)
        .expect("key set refresh");
    let events = a.answer(jwks_call, Answer::with_status(503, "down"), t);
    assert_eq!(events[0].fetch_result().as_deref(), Some("http_503"));
    // Stale keys serve up to cache_duration + max_stale (300 + 3600 s after the fetch).
    let last = NOW + 1 + 300 + 3600;
    assert_eq!(a.judge(&token_at(last), last), Reason::Allowed);
    assert_eq!(
        a.judge(&token_at(last + 1), last + 1),
        Reason::KeysUnavailable
    );
}

#[test]
fn an_unknown_kid_refetches_the_discovered_key_set_early() {
    let p = discovery_policy();
    let mut a = Worker::new(&p, &FakeSharedData::new());
    // Before any document, there is nothing to refetch.
    assert!(a.sync.request_early_refetch(MESH, NOW).is_none());
    a.start(NOW);
    let call = a
        .sync
        .request_early_refetch(MESH, NOW + 20)
        .expect("early refetch");
    let sent = a.http.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].uri.uri, JWKS_URI);
    a.sync
        .on_answer(call, &Answer::ok(rotated_jwks()), &mut a.state, NOW + 20);
    assert_eq!(
        a.judge(&rotated_token_at(NOW + 20), NOW + 20),
        Reason::Allowed
    );
}

#[test]
fn a_key_set_call_still_asking_the_old_place_is_forgotten_when_the_document_moves_it() {
    let p = discovery_policy();
    let mut a = Worker::new(&p, &FakeSharedData::new());
    a.start(NOW);
    // Both are due: the document and the key set are asked in one tick.
    let t = NOW + 1 + 270;
    a.tick(t);
    let sent = a.http.take_sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (doc_call, old_call) = (&sent[0], &sent[1]);
    assert_eq!(
        (doc_call.uri.uri.as_str(), old_call.uri.uri.as_str()),
        (DISCOVERY_URI, JWKS_URI)
    );
    a.answer(doc_call, Answer::ok(doc(ISS, MOVED_URI)), t);
    // The old call's lease is held until it expires: the new place is asked after that.
    assert!(a.http.take_sent().is_empty());
    assert!(
        !a.sync
            .on_response(old_call.token, &Answer::ok(jwks()), &mut a.state, t + 1),
        "the answer from the old place is ignored"
    );
    let call = a.tick_sending(t + 2);
    assert_eq!(call.uri.uri, MOVED_URI);
    a.answer(&call, Answer::ok(rotated_jwks()), t + 2);
    assert_eq!(a.judge(&rotated_token_at(t + 2), t + 2), Reason::Allowed);
}
