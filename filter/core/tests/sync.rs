//! The sharing protocol of remote documents (key sets, revocation lists) across worker VMs,
//! natively: several fake workers over one in-memory shared data, HTTP calls answered by the
//! test in any order, races staged between one worker's read and its write.
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
use std::cell::RefCell;
use std::rc::Rc;
use workload_authz_core::sync::fake::{FakeHttp, FakeSharedData};
use workload_authz_core::sync::{
    unknown_key_provider, Answer, Call, EventKind, FetchError, FetchFailure, Level, SetError,
    SharedDoc, SyncEvent, Syncer, CAS_ATTEMPTS, EARLY_REFETCH_SECONDS,
};
use workload_authz_core::{Decision, Policy, ProviderId, Reason, RuntimeState};

const READ: &str = "/tenants/acme/orders/7";
const JWKS_URI: &str = "http://idp.internal/.well-known/jwks.json";
/// `timeout_ms` 500: a lease is held 1 + 1 seconds.
const LEASE: u64 = 2;
/// `cache_duration_seconds` 300: refreshed at 90 %.
const REFRESH: u64 = 270;
/// `mesh`, the one provider of the example policy.
const MESH: ProviderId = ProviderId::new(0);

fn jwks_policy(realm: &str) -> Policy {
    let mut value = example_policy_json();
    value["realm"] = json!(realm);
    let mesh = value["providers"]["mesh"].as_object_mut().unwrap();
    mesh.remove("local_jwks");
    mesh.insert(
        "remote_jwks".into(),
        json!({
            "http_uri": {"uri": JWKS_URI, "cluster": "idp", "timeout_ms": 500},
            "cache_duration_seconds": 300,
            "max_stale_seconds": 3600
        }),
    );
    policy(&value)
}

fn revocation_policy() -> Policy {
    let mut value = example_policy_json();
    value["revocation"] = json!({
        "http_uri": {"uri": "http://revocation.internal/v1/revoked", "cluster": "revocation", "timeout_ms": 500},
        "refresh_seconds": 5
    });
    policy(&value)
}

/// One worker VM: its protocol, its run-time state, its HTTP host.
struct Worker {
    policy: Policy,
    sync: Syncer<FakeSharedData, FakeHttp>,
    state: RuntimeState,
    http: FakeHttp,
}

impl Worker {
    fn new(policy: &Policy, shared: &FakeSharedData) -> Worker {
        Worker::with_http(policy, shared, &FakeHttp::new())
    }

    fn with_http(policy: &Policy, shared: &FakeSharedData, http: &FakeHttp) -> Worker {
        Worker {
            policy: policy.clone(),
            sync: Syncer::new(policy, shared.clone(), http.clone()),
            state: RuntimeState::new(policy),
            http: http.clone(),
        }
    }

    fn tick(&mut self, now: u64) -> Vec<SyncEvent> {
        self.sync.tick(&mut self.state, now);
        self.sync.take_events()
    }

    /// The tokens of the calls sent since the last look.
    fn sent(&self) -> Vec<u32> {
        self.http.take_sent().iter().map(|d| d.token).collect()
    }

    /// Ticks and returns the single call that tick sent.
    fn tick_sending(&mut self, now: u64) -> u32 {
        self.tick(now);
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "one fetch expected at {now}: {sent:?}");
        sent[0]
    }

    fn answer(&mut self, token: u32, answer: Answer, now: u64) -> Vec<SyncEvent> {
        assert!(
            self.sync.on_response(token, &answer, &mut self.state, now),
            "call {token} unknown"
        );
        self.sync.take_events()
    }

    fn answer_call(&mut self, call: Call, answer: Answer, now: u64) -> Vec<SyncEvent> {
        self.sync.on_answer(call, &answer, &mut self.state, now);
        self.sync.take_events()
    }

    fn decide(&self, token: &str, now: u64) -> Decision {
        judge_with(&self.policy, &self.state, READ, token, now)
    }

    fn judge(&self, token: &str, now: u64) -> Reason {
        self.decide(token, now).reason
    }
}

/// A token the example route accepts at `now`.
fn token_at(now: u64) -> String {
    let mut claims = good_claims();
    claims["iat"] = json!(now - 60);
    claims["exp"] = json!(now + 240);
    es256(&claims)
}

fn with_jti(jti: &str) -> String {
    let mut claims = good_claims();
    claims["jti"] = json!(jti);
    es256(&claims)
}

fn data_key(policy: &Policy, label: &str) -> String {
    format!("workload_authz.{}.{label}", policy.hash)
}

fn stored(shared: &FakeSharedData, key: &str) -> Option<SharedDoc> {
    SharedDoc::decode(&shared.value(key)?)
}

fn kinds(events: &[SyncEvent]) -> Vec<&EventKind> {
    events.iter().map(|e| &e.kind).collect()
}

fn results(events: &[SyncEvent]) -> Vec<String> {
    events.iter().filter_map(SyncEvent::fetch_result).collect()
}

#[test]
fn one_worker_fetches_and_every_worker_installs_the_shared_document() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let (mut a, mut b) = (Worker::new(&p, &shared), Worker::new(&p, &shared));
    let call = a.tick_sending(NOW);
    assert_eq!(a.sync.calls().len(), 1);
    // The lease is held: the other worker does not fetch too.
    assert!(b.tick(NOW).is_empty());
    assert!(b.sent().is_empty());

    let events = a.answer(call, Answer::ok(jwks()), NOW);
    assert_eq!(
        kinds(&events),
        [&EventKind::Updated {
            uri: JWKS_URI.into()
        }]
    );
    assert_eq!(events[0].level(), Level::Info);
    assert_eq!(
        events[0].to_string(),
        format!("jwks:mesh: updated from {JWKS_URI}")
    );
    assert_eq!(
        events[0].fetches_metric().as_deref(),
        Some("source=.=jwks:mesh;.;result=.=ok;.;workload_authz_fetches_total")
    );
    // Stored under a key holding the policy hash, as `<fetched_at>\n<body>`; lease released.
    let key = data_key(&p, "jwks:mesh");
    let doc = SharedDoc {
        fetched_at: NOW,
        body: jwks(),
    };
    assert_eq!(stored(&shared, &key), Some(doc));
    assert_eq!(shared.value(&format!("{key}.lease")), Some(b"0".to_vec()));
    assert!(a.sync.calls().is_empty());
    assert_eq!(a.judge(&token_at(NOW), NOW), Reason::Allowed);

    // The other worker installs it at its next tick, with the fetcher's `fetched_at`.
    assert_eq!(b.judge(&token_at(NOW), NOW), Reason::KeysUnavailable);
    assert!(b.tick(NOW + 1).is_empty());
    assert_eq!(b.judge(&token_at(NOW + 1), NOW + 1), Reason::Allowed);
    assert_eq!(b.sync.slot(0).unwrap().fetched_at, Some(NOW));

    // Nobody fetches again before 90 % of the cache duration.
    for worker in [&mut a, &mut b] {
        worker.tick(NOW + REFRESH - 1);
        assert!(worker.sent().is_empty());
    }
    b.tick_sending(NOW + REFRESH);
    a.tick(NOW + REFRESH);
    assert!(a.sent().is_empty());
}

#[test]
fn a_worker_that_loses_the_lease_cas_yields() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let lease = format!("{}.lease", data_key(&p, "jwks:mesh"));
    shared.put(&lease, b"0"); // released after an earlier fetch
    let mut a = Worker::new(&p, &shared);
    let b = Rc::new(RefCell::new(Worker::new(&p, &shared)));
    let racer = b.clone();
    // Between a's read of the lease and its CAS write, b takes it.
    shared.before_next_write(&lease, move || {
        racer.borrow_mut().tick(NOW);
    });
    a.tick(NOW);
    assert!(a.sent().is_empty(), "the CAS loser does not fetch");
    assert_eq!(shared.cas_mismatches(), 1);
    let call = b.borrow().sent();
    assert_eq!(call.len(), 1);
    // The loser yields until the winner's lease runs out (or the answer releases it).
    a.tick(NOW + 1);
    assert!(a.sent().is_empty());

    b.borrow_mut().answer(call[0], Answer::ok(jwks()), NOW + 1);
    a.tick(NOW + 2);
    assert!(a.sent().is_empty(), "installed, not due");
    assert_eq!(a.judge(&token_at(NOW + 2), NOW + 2), Reason::Allowed);
    assert_eq!(
        b.borrow().judge(&token_at(NOW + 2), NOW + 2),
        Reason::Allowed
    );
}

#[test]
fn the_first_claim_of_a_lease_has_no_cas_so_two_workers_may_both_fetch_once() {
    // proxy-wasm has no "create if absent": a key never written has no CAS token, so two
    // workers that read it before either writes both win. Harmless: both publish a valid
    // document and both install; from then on the key exists and the CAS holds.
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let lease = format!("{}.lease", data_key(&p, "jwks:mesh"));
    let mut a = Worker::new(&p, &shared);
    let b = Rc::new(RefCell::new(Worker::new(&p, &shared)));
    let racer = b.clone();
    shared.before_next_write(&lease, move || {
        racer.borrow_mut().tick(NOW);
    });
    let call_a = a.tick_sending(NOW);
    let call_b = b.borrow().sent();
    assert_eq!((call_b.len(), shared.cas_mismatches()), (1, 0));
    a.answer(call_a, Answer::ok(jwks()), NOW);
    b.borrow_mut().answer(call_b[0], Answer::ok(jwks()), NOW);
    assert_eq!(a.judge(&token_at(NOW), NOW), Reason::Allowed);
    assert_eq!(b.borrow().judge(&token_at(NOW), NOW), Reason::Allowed);
}

#[test]
fn a_publish_that_loses_the_cas_retries_and_every_worker_ends_with_the_same_document() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let key = data_key(&p, "jwks:mesh");
    let mut a = Worker::new(&p, &shared);
    let b = Rc::new(RefCell::new(Worker::new(&p, &shared)));
    let call = a.tick_sending(NOW);
    a.answer(call, Answer::ok(jwks()), NOW);
    let t = NOW + REFRESH;
    let call_a = a.tick_sending(t);
    // b fetches too, early (unknown kid), and publishes between a's read and a's write.
    let call_b = b.borrow_mut().sync.request_early_refetch(MESH, t).unwrap();
    let racer = b.clone();
    shared.before_next_write(&key, move || {
        let events = racer
            .borrow_mut()
            .answer_call(call_b, Answer::ok(jwks()), t);
        assert_eq!(results(&events), ["ok"]);
    });
    let events = a.answer(call_a, Answer::ok(jwks()), t + 1);
    assert_eq!(shared.cas_mismatches(), 1, "a lost once, then retried");
    assert_eq!(results(&events), ["ok"], "{events:?}");
    assert_eq!(stored(&shared, &key).unwrap().fetched_at, t + 1);
    // Both installed their own; at the next tick both hold the shared copy.
    assert_eq!(b.borrow().state.fetched_at(MESH), Some(t));
    a.tick(t + 2);
    b.borrow_mut().tick(t + 2);
    assert_eq!(a.state.fetched_at(MESH), Some(t + 1));
    assert_eq!(b.borrow().state.fetched_at(MESH), Some(t + 1));
}

#[test]
fn a_publish_that_keeps_losing_gives_up_but_this_worker_still_installs() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let key = data_key(&p, "jwks:mesh");
    let mut a = Worker::new(&p, &shared);
    let call = a.tick_sending(NOW);
    // Another worker's copy is there (so a's write carries a CAS token), and keeps changing.
    let other = SharedDoc {
        fetched_at: NOW - 5,
        body: jwks(),
    }
    .encode();
    shared.put(&key, &other);
    for _ in 0..CAS_ATTEMPTS {
        let (writer, other, key) = (shared.clone(), other.clone(), key.clone());
        shared.before_next_write(&key.clone(), move || writer.put(&key, &other));
    }
    let events = a.answer(call, Answer::ok(jwks()), NOW);
    assert_eq!(shared.cas_mismatches(), CAS_ATTEMPTS);
    assert_eq!(
        kinds(&events),
        [
            &EventKind::ShareFailed(SetError::CasMismatch),
            &EventKind::Updated {
                uri: JWKS_URI.into()
            }
        ]
    );
    assert_eq!(events[0].level(), Level::Warn);
    assert_eq!(
        events[0].to_string(),
        "jwks:mesh: cannot share the document: CasMismatch"
    );
    assert_eq!(a.judge(&token_at(NOW), NOW), Reason::Allowed);
    assert_eq!(stored(&shared, &key).unwrap().fetched_at, NOW - 5);
}

#[test]
fn a_failed_refresh_keeps_the_last_good_key_set_and_the_next_tick_retries() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let key = data_key(&p, "jwks:mesh");
    let mut a = Worker::new(&p, &shared);
    let call = a.tick_sending(NOW);
    a.answer(call, Answer::ok(jwks()), NOW);
    let cas = shared.cas(&key);

    let due = NOW + REFRESH;
    let call = a.tick_sending(due);
    let events = a.answer(call, Answer::with_status(503, "{}"), due);
    assert_eq!(results(&events), ["http_503"]);
    assert_eq!(events[0].level(), Level::Warn);
    assert_eq!(
        events[0].to_string(),
        format!("jwks:mesh: fetch from {JWKS_URI} failed: HTTP status 503; the last good document keeps serving")
    );
    assert_eq!(
        events[0].fetches_metric().as_deref(),
        Some("source=.=jwks:mesh;.;result=.=http_503;.;workload_authz_fetches_total")
    );
    // Nothing changed but the log line and the counter.
    assert_eq!(shared.cas(&key), cas);
    assert_eq!(a.sync.slot(0).unwrap().fetched_at, Some(NOW));
    assert_eq!(a.judge(&token_at(due), due), Reason::Allowed);

    // The answer released the lease: the very next tick tries again.
    let call = a.tick_sending(due + 1);
    let events = a.answer(call, Answer::no_status(), due + 1);
    assert_eq!(results(&events), ["no_answer"]);
    let call = a.tick_sending(due + 2);
    let events = a.answer(call, Answer::ok(jwks()), due + 2);
    assert_eq!(results(&events), ["ok"]);
    assert_eq!(a.sync.slot(0).unwrap().fetched_at, Some(due + 2));
}

#[test]
fn a_refused_dispatch_keeps_the_lease_so_the_retry_waits_for_it() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let mut a = Worker::new(&p, &shared);
    a.http.refuse(Some("BadArgument"));
    let events = a.tick(NOW);
    assert_eq!(results(&events), ["dispatch_failed"]);
    assert_eq!(
        events[0].to_string(),
        format!("jwks:mesh: fetch from {JWKS_URI} failed: cannot dispatch to cluster `idp`: BadArgument; the last good document keeps serving")
    );
    assert!(a.sync.calls().is_empty());
    a.http.refuse(None);
    a.tick(NOW + LEASE - 1);
    assert!(a.sent().is_empty(), "lease still held");
    a.tick_sending(NOW + LEASE);
}

#[test]
fn an_answer_without_status_is_no_answer_and_keys_stay_unavailable() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let mut a = Worker::new(&p, &shared);
    let call = a.tick_sending(NOW);
    let events = a.answer(call, Answer::no_status(), NOW);
    assert_eq!(
        kinds(&events),
        [&EventKind::FetchFailed {
            uri: JWKS_URI.into(),
            failure: FetchFailure::Answer(FetchError::NoAnswer)
        }]
    );
    assert!(events[0]
        .to_string()
        .contains("failed: no answer (connection failed or timed out)"));
    assert_eq!(shared.value(&data_key(&p, "jwks:mesh")), None);
    let decision = a.decide(&token_at(NOW), NOW);
    assert_eq!(decision.reason, Reason::KeysUnavailable);
    a.tick_sending(NOW + 1);
}

#[test]
fn a_tick_call_in_flight_is_not_sent_again() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let mut a = Worker::new(&p, &shared);
    a.tick_sending(NOW);
    // Due and the lease expired, but this worker's call is still out.
    a.tick(NOW + LEASE + 3);
    assert!(a.sent().is_empty());
    assert_eq!(a.sync.calls().len(), 1);
}

#[test]
fn oversized_and_garbage_documents_are_refused_and_the_last_good_one_kept() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let key = data_key(&p, "jwks:mesh");
    let mut a = Worker::new(&p, &shared);
    let call = a.tick_sending(NOW);
    a.answer(call, Answer::ok(jwks()), NOW);
    let good = shared.value(&key);
    let huge = json!({"keys": [], "padding": "x".repeat(300 * 1024)}).to_string();
    let cases: [(Vec<u8>, &str); 4] = [
        (b"<html>maintenance</html>".to_vec(), "not a JWKS"),
        (huge.into_bytes(), "not a JWKS"),
        (
            br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#.to_vec(),
            "holds no usable signing key",
        ),
        (vec![0xff, 0xfe, b'{'], "not UTF-8"),
    ];
    let mut now = NOW + REFRESH;
    for (body, why) in cases {
        let call = a.tick_sending(now);
        let events = a.answer(call, Answer::ok(body), now);
        assert_eq!(results(&events), ["invalid"], "{why}");
        let line = events[0].to_string();
        assert!(line.contains(&format!("invalid document: {why}")), "{line}");
        assert_eq!(shared.value(&key), good, "{why}: the shared copy stays");
        assert_eq!(a.judge(&token_at(now), now), Reason::Allowed, "{why}");
        now += 1;
    }
    // Garbage written to shared data by someone else is refused by every worker.
    let bad = SharedDoc {
        fetched_at: now,
        body: "[]".into(),
    };
    shared.put(&key, &bad.encode());
    let events = a.tick(now);
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0].kind, EventKind::Refused(_)));
    assert!(events[0]
        .to_string()
        .starts_with("jwks:mesh: shared document refused: invalid document: not a JWKS"));
    assert_eq!(a.judge(&token_at(now), now), Reason::Allowed);
    // Looked at once: the same CAS is not refused again.
    assert!(a.tick(now + 1).is_empty());
}

#[test]
fn a_failed_or_invalid_refresh_never_forgets_a_revocation() {
    let p = revocation_policy();
    let shared = FakeSharedData::new();
    let key = data_key(&p, "revocation");
    let mut a = Worker::new(&p, &shared);
    assert_eq!(
        a.judge(&with_jti("task-1"), NOW),
        Reason::RevocationUnavailable
    );
    let call = a.tick_sending(NOW);
    a.answer(call, Answer::ok(r#"{"jti": ["task-42"]}"#), NOW);
    assert_eq!(a.judge(&with_jti("task-42"), NOW), Reason::Revoked);
    assert_eq!(a.judge(&with_jti("task-1"), NOW), Reason::Allowed);

    let huge = json!({"jti": ["x".repeat(5 * 1024 * 1024)]}).to_string();
    let answers = [
        (Answer::with_status(503, ""), "http_503"),
        (Answer::no_status(), "no_answer"),
        (Answer::ok("<html/>"), "invalid"),
        (Answer::ok(r#"{"jti": "task-42"}"#), "invalid"),
        (Answer::ok(huge), "invalid"),
        (Answer::with_status(200, Vec::new()), "invalid"),
    ];
    let mut now = NOW + 5;
    for (answer, result) in answers {
        let call = a.tick_sending(now);
        let events = a.answer(call, answer, now);
        assert_eq!(results(&events), [result]);
        assert_eq!(
            a.judge(&with_jti("task-42"), now),
            Reason::Revoked,
            "{result}"
        );
        now += 1;
    }
    assert_eq!(stored(&shared, &key).unwrap().fetched_at, NOW);
    // A worker started now installs the shared list, revocation included, then refreshes it
    // (due): removing the entry at the endpoint lets the token in again.
    let mut b = Worker::new(&p, &shared);
    let call = b.tick_sending(now);
    assert_eq!(b.judge(&with_jti("task-42"), now), Reason::Revoked);
    b.answer(call, Answer::ok(r#"{"jti": []}"#), now);
    assert_eq!(b.judge(&with_jti("task-42"), now), Reason::Allowed);
    a.tick(now + 1);
    assert_eq!(a.judge(&with_jti("task-42"), now + 1), Reason::Allowed);
}

#[test]
fn an_answer_after_the_configuration_changed_is_ignored() {
    let (old_policy, new_policy) = (jwks_policy("orders-api"), jwks_policy("orders-v2"));
    assert_ne!(old_policy.hash, new_policy.hash);
    let shared = FakeSharedData::new();
    let http = FakeHttp::new();
    let mut old = Worker::with_http(&old_policy, &shared, &http);
    let call = old.tick_sending(NOW);
    // The configuration changes: this VM now runs a new Syncer over the same hosts.
    let mut new = Worker::with_http(&new_policy, &shared, &http);
    let answer = Answer::ok(jwks());
    assert!(!new.sync.on_response(call, &answer, &mut new.state, NOW));
    assert!(new.sync.take_events().is_empty());
    assert_eq!(new.judge(&token_at(NOW), NOW), Reason::KeysUnavailable);
    assert_eq!(shared.value(&data_key(&new_policy, "jwks:mesh")), None);
    // Its keys are its own: the old configuration's lease does not hold it back...
    let fresh = new.tick_sending(NOW);
    assert_ne!(fresh, call);
    // ...and a document the old configuration publishes is not installed by the new one.
    old.answer(call, Answer::ok(jwks()), NOW);
    assert!(shared.value(&data_key(&old_policy, "jwks:mesh")).is_some());
    new.tick(NOW + 1);
    assert_eq!(
        new.judge(&token_at(NOW + 1), NOW + 1),
        Reason::KeysUnavailable
    );
    new.answer(fresh, Answer::ok(jwks()), NOW + 1);
    assert_eq!(new.judge(&token_at(NOW + 1), NOW + 1), Reason::Allowed);
}

/// An ES256 key the published set does not have yet, and the set that adds it.
fn rotated() -> (ES256KeyPair, String) {
    let pair = ES256KeyPair::generate().with_key_id("rotated");
    let point = pair.public_key().public_key().to_bytes_uncompressed();
    let mut set: Value = serde_json::from_str(&jwks()).unwrap();
    set["keys"].as_array_mut().unwrap().push(json!({
        "kty": "EC", "crv": "P-256", "kid": "rotated",
        "x": b64(&point[1..33]), "y": b64(&point[33..65])
    }));
    (pair, set.to_string())
}

#[test]
fn an_unknown_kid_gets_one_early_refetch_per_ten_seconds_across_workers() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let (mut a, mut b) = (Worker::new(&p, &shared), Worker::new(&p, &shared));
    let call = a.tick_sending(NOW);
    a.answer(call, Answer::ok(jwks()), NOW);
    b.tick(NOW + 1);

    let (pair, new_set) = rotated();
    let claims: JWTClaims<serde_json::Map<String, Value>> =
        serde_json::from_value(good_claims()).unwrap();
    let token = pair.sign(claims).unwrap();
    let decision = a.decide(&token, NOW + 1);
    assert_eq!(decision.reason, Reason::UnknownKey);
    assert_eq!(unknown_key_provider(&p, &decision), Some(MESH));
    assert_eq!(
        unknown_key_provider(&p, &a.decide(&token_at(NOW + 1), NOW + 1)),
        None
    );

    // Granted with a tick fetch in flight; then refused on every worker for 10 s.
    let t0 = NOW + REFRESH;
    a.tick_sending(t0);
    let early = a.sync.request_early_refetch(MESH, t0).unwrap();
    assert_eq!(a.sent(), [early.token]);
    assert_eq!(b.sync.request_early_refetch(MESH, t0), None);
    let last = t0 + EARLY_REFETCH_SECONDS - 1;
    assert_eq!(a.sync.request_early_refetch(MESH, last), None);
    assert_eq!(b.sync.request_early_refetch(MESH, last), None);
    assert!(b.sent().is_empty());
    // A provider without a remote key set has nothing to refetch.
    assert_eq!(
        a.sync.request_early_refetch(ProviderId::new(1), t0 + 60),
        None
    );

    // The answer installs the rotated set here and shares it.
    let events = a.answer_call(early, Answer::ok(new_set), t0 + 1);
    assert_eq!(results(&events), ["ok"]);
    assert_eq!(a.judge(&token, NOW + 1), Reason::Allowed);
    b.tick(t0 + 2);
    assert_eq!(b.judge(&token, NOW + 1), Reason::Allowed);
    // The early call is the caller's: the tick call is still the only one in flight.
    assert_eq!(a.sync.calls().len(), 1);

    let again = b
        .sync
        .request_early_refetch(MESH, t0 + EARLY_REFETCH_SECONDS);
    assert!(again.is_some());
    assert_eq!(b.sent(), [again.unwrap().token]);
}

#[test]
fn a_shared_document_is_installed_once_per_cas() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let (mut a, mut b) = (Worker::new(&p, &shared), Worker::new(&p, &shared));
    let call = a.tick_sending(NOW);
    a.answer(call, Answer::ok(jwks()), NOW);
    b.tick(NOW + 1);
    let token = token_at(NOW + 1);
    assert_eq!(b.judge(&token, NOW + 1), Reason::Allowed);
    assert_eq!(b.state.cached_tokens(), 1);
    // Installing clears the verified-token cache: an unchanged CAS installs nothing.
    b.tick(NOW + 2);
    b.sync.pull_all(&mut b.state);
    assert_eq!(b.state.cached_tokens(), 1);
    // A new document does.
    let call = a.tick_sending(NOW + REFRESH);
    a.answer(call, Answer::ok(jwks()), NOW + REFRESH);
    b.sync.pull_all(&mut b.state);
    assert_eq!(b.state.cached_tokens(), 0);
    assert_eq!(b.state.fetched_at(MESH), Some(NOW + REFRESH));
}

#[test]
fn a_worker_started_later_refreshes_on_the_shared_schedule() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let mut a = Worker::new(&p, &shared);
    let call = a.tick_sending(NOW);
    a.answer(call, Answer::ok(jwks()), NOW);
    let mut late = Worker::new(&p, &shared);
    late.tick(NOW + 200);
    assert!(late.sent().is_empty());
    late.tick(NOW + REFRESH - 1);
    assert!(late.sent().is_empty());
    late.tick_sending(NOW + REFRESH);
}

#[test]
fn unreadable_shared_data_is_reported_and_nothing_is_fetched() {
    let p = jwks_policy("orders-api");
    let shared = FakeSharedData::new();
    let mut a = Worker::new(&p, &shared);
    shared.set_failing(true);
    let events = a.tick(NOW);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].level(), Level::Warn);
    assert_eq!(
        events[0].to_string(),
        "jwks:mesh: cannot read shared data: InternalFailure"
    );
    assert_eq!(events[0].fetches_metric(), None);
    assert!(a.sent().is_empty());
    shared.set_failing(false);
    a.tick_sending(NOW + 1);
}
