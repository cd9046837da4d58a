//! Memoised decisions equal fresh ones: a differential test over generated requests (methods,
//! paths, tokens, header copies and spellings, connections, seconds) on a policy whose routes
//! read headers, the source address and the peer certificate. For every request:
//! * every header value the engine reads is one the memo key holds;
//! * the memo's answer equals `decide_in`'s, whether it was served or made;
//! * the same request with every header the policy does not read given other values is served
//!   from the memo (when the first was kept) and still equals a fresh decision;
//! * the same request over another connection equals a fresh decision.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use serde_json::{json, Value};
use std::cell::RefCell;
use workload_authz_core::keys::KeySet;
use workload_authz_core::memo::{DecisionMemo, KeyInputs};
use workload_authz_core::revocation::RevocationList;
use workload_authz_core::{
    decide_in, decide_with_body, Decision, GuestVerifier, Policy, ProviderId, Reason, RequestView,
    RuntimeState, StaticConnection,
};

/// A header name or value; reading a value notes the header's name.
#[derive(Clone)]
struct Part<'a> {
    text: String,
    reads: Option<(&'a RefCell<Vec<String>>, String)>,
}

impl AsRef<str> for Part<'_> {
    fn as_ref(&self) -> &str {
        if let Some((log, name)) = &self.reads {
            log.borrow_mut().push(name.clone());
        }
        &self.text
    }
}

fn memo_policy() -> Policy {
    let mut value = example_policy_json();
    let routes = value["routes"].as_array_mut().unwrap();
    routes.extend([
        json!({"action": "tenant", "match": {"path": "/tenant/{t}"},
               "require": {"claims": {"tenant": "{header.x-tenant}"}, "scopes": ["orders:read"]}}),
        json!({"action": "from", "match": {"path": "/from"},
               "require": {"claims": {"ip": "{source.address}"}}}),
        json!({"action": "shadowed", "match": {"path": "/shadow/{x}"}, "mode": "shadow",
               "require": {"scopes": ["admin"]}}),
        json!({"action": "any", "match": {"path": "/any/**"}}),
        json!({"action": "tools", "match": {"path": "/mcp", "methods": ["POST"]},
               "require": {"scopes": ["orders:read"]},
               "mcp": {"resource": "https://orders.example/mcp",
                       "methods": {"ping": {}},
                       "tools": {"lookup": {"scopes": ["orders:read"]}}}}),
    ]);
    policy(&value)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.next().is_multiple_of(one_in)
    }
}

struct Case {
    method: &'static str,
    path: &'static str,
    authority: &'static str,
    headers: Vec<(String, String)>,
    connection: StaticConnection,
    now: u64,
}

impl Case {
    /// The request with `headers` (its own, or copies that note what is read).
    fn view<'a, H: AsRef<str>>(&'a self, headers: &'a [(H, H)]) -> RequestView<'a, H> {
        RequestView {
            method: self.method,
            path: self.path,
            authority: self.authority,
            headers,
        }
    }
}

fn tokens() -> Vec<String> {
    let digest = [7u8; 32];
    let cnf = json!({"cnf": {"x5t#S256": URL_SAFE_NO_PAD.encode(digest)}});
    let claims: Vec<Value> = vec![
        good_claims(),
        overlay(good_claims(), &json!({"tenant": "globex"})),
        overlay(good_claims(), &json!({"ip": "10.0.0.9:4711"})),
        overlay(good_claims(), &cnf),
        overlay(good_claims(), &json!({"exp": NOW + 2})),
        overlay(good_claims(), &json!({"scope": "admin"})),
        overlay(good_claims(), &json!({"iat": NOW + 120})),
        overlay(good_claims(), &json!({"aud": "elsewhere"})),
    ];
    let mut out: Vec<String> = claims.iter().map(es256).collect();
    out.push(rs256(&good_claims()));
    out.push(eddsa(&good_claims()));
    out.push(other_es256(&good_claims()));
    out.push(unsigned(&json!({"alg": "none"}), &good_claims(), ""));
    out.push("not-a-token".to_string());
    out
}

fn case(rng: &mut Rng, tokens: &[String]) -> Case {
    const METHODS: &[&str] = &["GET", "GET", "POST", "HEAD", "DELETE", "get"];
    const PATHS: &[&str] = &[
        "/tenants/acme/orders/1",
        "/tenants/acme/orders/1",
        "/tenants/globex/orders/2",
        "/tenants/acme/orders",
        "/tenant/acme",
        "/tenant/globex",
        "/from",
        "/shadow/x",
        "/healthz",
        "/any/thing",
        "/tenants/acme/orders/1/",
        "/tenants/acme/../acme/orders/1",
        "/nowhere",
        "/mcp",
        "/mcp",
    ];
    const AUTHORITIES: &[&str] = &["orders.example", "ORDERS.example.", "orders.example:80"];
    let mut headers: Vec<(String, String)> = Vec::new();
    let token = rng.pick(tokens);
    let copies = if rng.chance(12) {
        0
    } else if rng.chance(15) {
        2
    } else {
        1
    };
    for _ in 0..copies {
        let name = if rng.chance(10) {
            "Authorization"
        } else {
            "authorization"
        };
        let prefix = *rng.pick(&["Bearer ", "Bearer ", "bearer ", "Basic "]);
        headers.push((name.to_string(), format!("{prefix}{token}")));
    }
    for _ in 0..(rng.next() % 4) {
        let tenant = *rng.pick(&["acme", "globex", ""]);
        if rng.chance(2) {
            headers.push(("x-tenant".to_string(), tenant.to_string()));
        }
        headers.push(("x-request-id".to_string(), format!("{}", rng.next())));
        headers.push(("user-agent".to_string(), "curl/8".to_string()));
    }
    if rng.chance(3) {
        headers.push(("content-type".to_string(), "application/json".to_string()));
        headers.push(("mcp-method".to_string(), "tools/call".to_string()));
    }
    // Headers in any order.
    for i in (1..headers.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        headers.swap(i, j);
    }
    let connection = StaticConnection {
        source_address: rng
            .pick(&[None, Some("10.0.0.9:4711"), Some("10.0.0.1:1")])
            .map(str::to_string),
        peer_uri_san: None,
        peer_certificate_sha256_hex: rng
            .pick(&[None, Some("07".repeat(32)), Some("00".repeat(32))])
            .clone(),
    };
    Case {
        method: rng.word(METHODS),
        path: rng.word(PATHS),
        authority: rng.word(AUTHORITIES),
        headers,
        connection,
        now: *rng.pick(&[NOW, NOW, NOW + 1, NOW + 3, NOW + 70]),
    }
}

fn fresh(policy: &Policy, state: &RuntimeState, c: &Case, log: &RefCell<Vec<String>>) -> Decision {
    let headers: Vec<(Part<'_>, Part<'_>)> = c
        .headers
        .iter()
        .map(|(n, v)| {
            let name = Part {
                text: n.clone(),
                reads: None,
            };
            let value = Part {
                text: v.clone(),
                reads: Some((log, n.clone())),
            };
            (name, value)
        })
        .collect();
    let request = c.view(&headers);
    decide_in(
        policy,
        state,
        &request,
        &c.connection,
        c.now,
        &GuestVerifier,
    )
}

fn memoised(
    memo: &mut DecisionMemo<()>,
    policy: &Policy,
    state: &RuntimeState,
    c: &Case,
) -> Decision {
    let request = c.view(&c.headers);
    let entry = memo.decide(
        policy,
        state,
        &request,
        &c.connection,
        c.now,
        &GuestVerifier,
    );
    entry.decision.clone()
}

#[test]
fn memoised_decisions_equal_fresh_ones() {
    let policy = memo_policy();
    let state = RuntimeState::new(&policy);
    let inputs = KeyInputs::of(&policy);
    let tokens = tokens();
    let mut memo: DecisionMemo<()> = DecisionMemo::new(&policy);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut reasons = std::collections::HashSet::new();
    let mut variants_served = 0;
    let mut awaiting = 0;
    for i in 0..4000 {
        let c = case(&mut rng, &tokens);
        let log = RefCell::new(Vec::new());
        let expected = fresh(&policy, &state, &c, &log);
        for name in log.borrow().iter() {
            assert!(
                inputs.reads_header(name),
                "case {i}: the engine read `{name}`, which the memo key does not hold"
            );
        }
        assert_eq!(
            memoised(&mut memo, &policy, &state, &c),
            expected,
            "case {i}"
        );
        reasons.insert(expected.reason);
        awaiting += usize::from(expected.awaiting_body.is_some());

        // Every header the policy does not read, given another value.
        let mut variant = Case {
            headers: c.headers.clone(),
            connection: c.connection.clone(),
            ..c
        };
        for (name, value) in variant.headers.iter_mut() {
            if !inputs.reads_header(name) {
                *value = format!("other-{}", rng.next());
            }
        }
        let served = memo.served();
        let got = memoised(&mut memo, &policy, &state, &variant);
        let log = RefCell::new(Vec::new());
        assert_eq!(
            got,
            fresh(&policy, &state, &variant, &log),
            "variant of case {i}"
        );
        assert_eq!(got, expected, "variant of case {i}");
        if memo.served() > served {
            variants_served += 1;
        }

        // The same request over another connection: served only if the facts read agree.
        let other = case(&mut rng, &tokens).connection;
        let moved = Case {
            headers: c.headers.clone(),
            connection: other,
            ..c
        };
        let log = RefCell::new(Vec::new());
        assert_eq!(
            memoised(&mut memo, &policy, &state, &moved),
            fresh(&policy, &state, &moved, &log),
            "case {i} over another connection"
        );
    }
    for reason in [
        Reason::Allowed,
        Reason::Public,
        Reason::InsufficientScope,
        Reason::ClaimMismatch,
        Reason::BindingMismatch,
        Reason::Expired,
        Reason::BadSignature,
        Reason::MissingToken,
        Reason::MalformedToken,
        Reason::NoRoute,
        Reason::InvalidPath,
        Reason::AmbiguousHeader,
        Reason::BadAudience,
    ] {
        assert!(reasons.contains(&reason), "no case ended {reason}");
    }
    assert!(
        awaiting > 20,
        "only {awaiting} cases waited for an MCP body"
    );
    assert!(
        variants_served > 2000,
        "only {variants_served} variants were served"
    );
}

#[test]
fn a_memoised_decision_lasts_one_second_and_one_state() {
    let policy = memo_policy();
    let mut state = RuntimeState::new(&policy);
    let token = format!(
        "Bearer {}",
        es256(&overlay(good_claims(), &json!({"exp": NOW + 2})))
    );
    let headers = vec![("authorization".to_string(), token)];
    let request = RequestView {
        method: "GET",
        path: "/tenants/acme/orders/1",
        authority: "orders.example",
        headers: &headers,
    };
    let conn = StaticConnection::default();
    let mut memo: DecisionMemo<()> = DecisionMemo::new(&policy);
    let at = |memo: &mut DecisionMemo<()>, state: &RuntimeState, now| {
        memo.decide(&policy, state, &request, &conn, now, &GuestVerifier)
            .decision
            .clone()
    };
    let first = at(&mut memo, &state, NOW);
    assert_eq!(first.reason, Reason::Allowed);
    assert_eq!(first.token_ttl_remaining, Some(2));
    assert_eq!(at(&mut memo, &state, NOW), first);
    assert_eq!(memo.served(), 1);
    // The next second is decided afresh: the remaining lifetime moved, then the token expired.
    assert_eq!(at(&mut memo, &state, NOW + 1).token_ttl_remaining, Some(1));
    assert_eq!(memo.served(), 1);
    assert_eq!(at(&mut memo, &state, NOW + 2 + 61).reason, Reason::Expired);
    // A revocation list installed: the entry of this very second is dropped.
    assert_eq!(at(&mut memo, &state, NOW).reason, Reason::Allowed);
    assert_eq!(at(&mut memo, &state, NOW).reason, Reason::Allowed);
    let served = memo.served();
    let sub = "spiffe://prod.example/ns/shop/sa/checkout";
    let list =
        RevocationList::parse(&json!({"subjects_revoked_before": {sub: NOW}}).to_string()).unwrap();
    state.install_revocations(list);
    assert_eq!(at(&mut memo, &state, NOW).reason, Reason::Revoked);
    assert_eq!(memo.served(), served);
    // A key set installed drops it too (here: a provider without remote keys, so no change).
    state.install_keys(ProviderId::new(0), KeySet::new(Vec::new()), NOW);
    assert_eq!(at(&mut memo, &state, NOW).reason, Reason::Revoked);
    assert_eq!(memo.served(), served);
}

#[test]
fn an_mcp_routes_header_time_verdict_is_served_and_its_body_judged_afresh() {
    let policy = memo_policy();
    let state = RuntimeState::new(&policy);
    let token = format!("Bearer {}", es256(&good_claims()));
    let headers = vec![
        ("authorization".to_string(), token),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let request = RequestView {
        method: "POST",
        path: "/mcp",
        authority: "orders.example",
        headers: &headers,
    };
    let conn = StaticConnection::default();
    let mut memo: DecisionMemo<()> = DecisionMemo::new(&policy);
    let made = memo
        .decide(&policy, &state, &request, &conn, NOW, &GuestVerifier)
        .decision
        .clone();
    assert!(made.awaiting_body.is_some(), "{made:?}");
    let served = memo
        .decide(&policy, &state, &request, &conn, NOW, &GuestVerifier)
        .decision
        .clone();
    assert_eq!(memo.served(), 1, "the header-time verdict is served again");
    assert_eq!(served, made);
    assert_eq!(
        served,
        decide_in(&policy, &state, &request, &conn, NOW, &GuestVerifier)
    );
    // The body decides each time, with no memo: one tool allowed, another refused.
    let body = |tool: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}"}}}}"#)
    };
    let judged = |tool: &str| {
        decide_with_body(
            &policy,
            &state,
            &request,
            &conn,
            body(tool).as_bytes(),
            NOW,
            &GuestVerifier,
        )
        .reason
    };
    assert_eq!(judged("lookup"), Reason::Allowed);
    assert_eq!(judged("drop"), Reason::ToolNotAllowed);
}

#[test]
fn connection_facts_read_are_compared_again() {
    let policy = memo_policy();
    let state = RuntimeState::new(&policy);
    let token = format!(
        "Bearer {}",
        es256(&overlay(good_claims(), &json!({"ip": "10.0.0.9:4711"})))
    );
    let headers = vec![("authorization".to_string(), token)];
    let request = |path| RequestView {
        method: "GET",
        path,
        authority: "orders.example",
        headers: &headers,
    };
    let from = |address: &str| StaticConnection {
        source_address: Some(address.to_string()),
        ..Default::default()
    };
    let mut memo: DecisionMemo<()> = DecisionMemo::new(&policy);
    let mut decide = |path, conn: &StaticConnection| {
        memo.decide(&policy, &state, &request(path), conn, NOW, &GuestVerifier)
            .decision
            .reason
    };
    assert_eq!(decide("/from", &from("10.0.0.9:4711")), Reason::Allowed);
    assert_eq!(decide("/from", &from("10.0.0.1:1")), Reason::ClaimMismatch);
    assert_eq!(decide("/from", &from("10.0.0.9:4711")), Reason::Allowed);
    // A route that reads no connection fact is served whatever the connection.
    assert_eq!(
        decide("/tenants/acme/orders/1", &from("10.0.0.9:4711")),
        Reason::Allowed
    );
    assert_eq!(
        decide("/tenants/acme/orders/1", &from("10.0.0.1:1")),
        Reason::Allowed
    );
    assert_eq!(memo.served(), 1);
}

#[test]
fn the_key_holds_only_the_headers_the_policy_reads() {
    let policy = memo_policy();
    let inputs = KeyInputs::of(&policy);
    assert!(inputs.reads_header("authorization"));
    assert!(inputs.reads_header("Authorization"));
    assert!(inputs.reads_header("x-tenant"));
    assert!(!inputs.reads_header("x-request-id"));
    let view = |headers: &[(String, String)]| {
        let request = RequestView {
            method: "GET",
            path: "/a",
            authority: "h",
            headers,
        };
        inputs.key(&request)
    };
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    let base = view(&h(&[("authorization", "Bearer a"), ("x-request-id", "1")]));
    assert_eq!(
        base,
        view(&h(&[("authorization", "Bearer a"), ("x-request-id", "2")]))
    );
    assert_ne!(
        base,
        view(&h(&[("authorization", "Bearer b"), ("x-request-id", "1")]))
    );
    assert_ne!(
        base,
        view(&h(&[("Authorization", "Bearer a"), ("x-request-id", "1")]))
    );
    assert_ne!(base, view(&h(&[("authorization", "Bearer a")])));
    // Length prefixes: no two splits of the same bytes share a key.
    assert_ne!(
        view(&h(&[("authorization", "ab"), ("x-tenant", "c")])),
        view(&h(&[("authorization", "a"), ("x-tenant", "bc")]))
    );
    let huge = "x".repeat(9_000);
    assert_eq!(view(&h(&[("authorization", &huge)])), None);
}

#[test]
fn a_memo_of_zero_entries_keeps_nothing() {
    let mut value = example_policy_json();
    value["limits"] = json!({"decision_memo_entries": 0});
    let policy = policy(&value);
    let state = RuntimeState::new(&policy);
    let token = format!("Bearer {}", es256(&good_claims()));
    let headers = vec![("authorization".to_string(), token)];
    let request = RequestView {
        method: "GET",
        path: "/tenants/acme/orders/1",
        authority: "orders.example",
        headers: &headers,
    };
    let mut memo: DecisionMemo<()> = DecisionMemo::new(&policy);
    for _ in 0..3 {
        let entry = memo.decide(
            &policy,
            &state,
            &request,
            &StaticConnection::default(),
            NOW,
            &GuestVerifier,
        );
        assert_eq!(entry.decision.reason, Reason::Allowed);
    }
    assert_eq!((memo.served(), memo.len()), (0, 0));
}
