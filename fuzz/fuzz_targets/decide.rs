//! The whole decision function over (policy, request) pairs: one of the fixed policies or a
//! fuzzed one, and a request built with `arbitrary` (method, path, authority, headers, a token
//! from raw bytes or from a genuinely signed template with mutated parts).
//!
//! Checked for every input, with the real verifier and with one that accepts every signature
//! (to reach the claim rules with arbitrary claims):
//! * nothing panics;
//! * `decide` and `explain` return the same decision;
//! * with the real verifier, a token whose `header.payload` no fixture key signed is never
//!   `allowed`;
//! * an `invalid_path` or `no_route` request never proceeds in enforce mode;
//! * no escape or host variant of a request reaches another route than its canonical form
//!   (with the accept-all verifier, the same policy, state and clock; positions picked by the
//!   input): an unreserved character of the path percent-encoded (uppercase and lowercase hex)
//!   reaches the same route or is `invalid_path`; the hex digits of an escape flipped in case,
//!   the authority uppercased, a trailing dot on a DNS host give the *same decision*; a trailing
//!   slash appended to a routed path reaches the same route, or is `invalid_path` or `no_route`;
//!   a routed path's trailing slash removed reaches the same route or `no_route`; `user@` in
//!   front of the authority is `invalid_authority` (`invalid_path` if the path already was);
//! * the memo ([`DecisionMemo`]) answers as `decide` does, made and served, and the request
//!   with every header its key does not hold changed decides the same (served and fresh).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use workload_authz_core::memo::{DecisionMemo, KeyInputs};
use workload_authz_core::routes::{canonical_authority, clean_path};
use workload_authz_core::{
    compile, decide, explain, Decision, GuestVerifier, Mode, NoConnection, Policy, Reason,
    RequestView, RuntimeState, SignatureVerifier,
};
use workload_authz_fuzz::{
    escape_at, fixed_policies, genuine_signing_inputs, unreserved_positions, AcceptAll,
    TokenSource, NOW,
};

#[derive(Arbitrary, Debug)]
enum PolicyChoice<'a> {
    Fixed(u8),
    Fuzzed(&'a str),
}

#[derive(Arbitrary, Debug)]
enum Method<'a> {
    Get,
    Head,
    Post,
    Delete,
    Lower,
    Other(&'a str),
}

#[derive(Arbitrary, Debug)]
enum PathChoice<'a> {
    Known(u8, &'a str),
    Raw(&'a str),
}

const PATHS: &[&str] = &[
    "/healthz",
    "/tenants/acme/orders/1",
    "/tenants/acme/orders",
    "/tenants/other/orders/7",
    "/api/x",
    "/scoped/a/x/y",
    "/shadow/z",
    "/static/app.js",
    "/healthz/../admin",
    "/%2e%2e/admin",
    "//admin",
    "/HEALTHZ",
    "/admin",
    "/admin/",
    "/admin/users",
    "/users/me",
    "/users/me/",
    "/users/x",
    "/caf%c3%a9/1",
    "/caf%C3%A9/1?x=%61",
    "/svc/a-b_c.d~e",
    "/docs/",
    "/a%20b/%E2%82%AC",
];

const AUTHORITIES: &[&str] = &[
    "api.example.com",
    "x.internal",
    "localhost",
    "API.example.com:8443",
    "admin.example.com",
    "Admin.Example.Com.:443",
    "a.internal.example.com",
    "docs.example.com",
    "[::1]:8080",
    "127.0.0.1",
    "",
];

#[derive(Arbitrary, Debug)]
enum Prefix<'a> {
    Bearer,
    LowerBearer,
    UpperBearer,
    NoSpace,
    Token,
    Other(&'a str),
}

impl Prefix<'_> {
    fn text(&self) -> &str {
        match self {
            Prefix::Bearer => "Bearer ",
            Prefix::LowerBearer => "bearer ",
            Prefix::UpperBearer => "BEARER ",
            Prefix::NoSpace => "Bearer",
            Prefix::Token => "Token ",
            Prefix::Other(s) => s,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum HeaderName<'a> {
    Authorization,
    MeshToken,
    IdentitySubject,
    JwtSub,
    Other(&'a str),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    policy: PolicyChoice<'a>,
    method: Method<'a>,
    path: PathChoice<'a>,
    authority: u8,
    raw_authority: Option<&'a str>,
    token: Option<(HeaderName<'a>, Prefix<'a>, TokenSource<'a>)>,
    second_token: Option<(HeaderName<'a>, Prefix<'a>, TokenSource<'a>)>,
    extra_headers: Vec<(HeaderName<'a>, &'a str)>,
    clock_offset: i32,
    variants: VariantPicks,
}

/// Where the canonical-form oracle changes the request.
#[derive(Arbitrary, Debug)]
struct VariantPicks {
    /// Which unreserved character of the path (outside escapes) is percent-encoded.
    unreserved_at: u16,
    /// Which escape (among those with a hex letter) has its digits flipped in case.
    escape_at: u16,
}

fn header_name(h: &HeaderName<'_>) -> String {
    match h {
        HeaderName::Authorization => "authorization".into(),
        HeaderName::MeshToken => "x-mesh-token".into(),
        HeaderName::IdentitySubject => "x-workload-subject".into(),
        HeaderName::JwtSub => "x-jwt-sub".into(),
        HeaderName::Other(s) => s.to_ascii_lowercase(),
    }
}

/// Whether a header value holds the `header.payload.` of a genuinely signed fixture token.
fn carries_genuine_token(value: &str) -> bool {
    genuine_signing_inputs().any(|si| value.contains(si))
}

fn judge(
    policy: &Policy,
    state: &RuntimeState,
    req: &RequestView<'_, String>,
    now: u64,
    verifier: &dyn SignatureVerifier,
    real: bool,
) -> Decision {
    let d = decide(policy, state, req, now, verifier);
    let (e, steps) = explain(policy, state, req, now, verifier);
    assert_eq!(d, e, "decide and explain disagree");
    let _ = steps.len();
    if matches!(d.reason, Reason::InvalidPath | Reason::NoRoute) {
        assert!(
            !(d.proceeds() && d.mode == Mode::Enforce),
            "{:?} proceeds in enforce mode",
            d.reason
        );
    }
    if real && d.reason == Reason::Allowed {
        // Some token was accepted: a header must carry one that a fixture key signed.
        assert!(
            req.headers.iter().any(|(_, v)| carries_genuine_token(v)),
            "allowed with no genuinely signed token: {:?}",
            req.headers
        );
    }
    d
}

/// Byte offsets of the escapes of `path` that hold a hex letter (their case can be flipped).
fn escapes_with_letters(path: &str) -> Vec<usize> {
    let bytes = path.as_bytes();
    (0..bytes.len())
        .filter(|&i| escape_at(bytes, i) && bytes[i + 1..i + 3].iter().any(u8::is_ascii_alphabetic))
        .collect()
}

/// `path` with the byte at `at` (ASCII) percent-encoded.
fn encode_at(path: &str, at: usize, upper: bool) -> String {
    let b = path.as_bytes()[at];
    let escape = if upper {
        format!("%{b:02X}")
    } else {
        format!("%{b:02x}")
    };
    format!("{}{escape}{}", &path[..at], &path[at + 1..])
}

/// `path` with the hex letters of the escape at `at` flipped in case.
fn flip_escape(path: &str, at: usize) -> String {
    let mut bytes = path.as_bytes().to_vec();
    for b in &mut bytes[at + 1..at + 3] {
        if b.is_ascii_alphabetic() {
            *b ^= 0x20;
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| unreachable!("ASCII changed in a str"))
}

/// What a variant of a request must decide, compared with the original's decision.
enum Expect {
    /// The same decision in every field (the variant has the same canonical form).
    Same,
    /// The same route, or no route with one of these reasons.
    SameRouteOr(&'static [Reason]),
    /// Exactly this reason.
    Refused(Reason),
}

/// The canonical-form oracle: variants of `req` (see the module doc) judged with the same
/// policy, state, clock and verifier as the original, whose decision is `original`.
fn canonical_forms(
    policy: &Policy,
    state: &RuntimeState,
    req: &RequestView<'_, String>,
    now: u64,
    verifier: &dyn SignatureVerifier,
    original: &Decision,
    picks: &VariantPicks,
) {
    let check = |what: &str, path: &str, authority: &str, expect: Expect| {
        let variant = RequestView {
            method: req.method,
            path,
            authority,
            headers: req.headers,
        };
        let v = decide(policy, state, &variant, now, verifier);
        let ok = match expect {
            Expect::Same => v == *original,
            Expect::SameRouteOr(refusals) => {
                v.route == original.route || (v.route.is_none() && refusals.contains(&v.reason))
            }
            Expect::Refused(reason) => v.reason == reason && v.route.is_none(),
        };
        assert!(
            ok,
            "canonical-form oracle, {what}: {} {path:?} (authority {authority:?}) gets route {:?} \
             ({:?}, {:?}), the original {:?} (authority {:?}) route {:?} ({:?}, {:?})\n\
             variant: {v:?}\noriginal: {original:?}",
            req.method,
            v.route,
            v.action,
            v.reason,
            req.path,
            req.authority,
            original.route,
            original.action,
            original.reason,
        );
    };
    let (part, query) = req
        .path
        .split_at(req.path.find('?').unwrap_or(req.path.len()));
    let authority = req.authority;
    let clean = clean_path(req.path).is_ok();

    // (1) An unreserved character percent-encoded, uppercase and lowercase hex.
    if clean {
        let positions = unreserved_positions(part);
        if !positions.is_empty() {
            let at = positions[usize::from(picks.unreserved_at) % positions.len()];
            for upper in [true, false] {
                let path = format!("{}{query}", encode_at(part, at, upper));
                check(
                    "unreserved character escaped",
                    &path,
                    authority,
                    Expect::SameRouteOr(&[Reason::InvalidPath]),
                );
            }
        }
    }
    // (2) The hex digits of an escape flipped in case: the same canonical path.
    let escapes = escapes_with_letters(part);
    if !escapes.is_empty() {
        let at = escapes[usize::from(picks.escape_at) % escapes.len()];
        let path = format!("{}{query}", flip_escape(part, at));
        check("escape case flipped", &path, authority, Expect::Same);
    }
    // (3) A trailing slash added to, or removed from, a routed path.
    if original.route.is_some() {
        let path = format!("{part}/{query}");
        check(
            "trailing slash appended",
            &path,
            authority,
            Expect::SameRouteOr(&[Reason::InvalidPath, Reason::NoRoute]),
        );
        if let Some(bare) = part.strip_suffix('/').filter(|b| !b.is_empty()) {
            let path = format!("{bare}{query}");
            check(
                "trailing slash removed",
                &path,
                authority,
                Expect::SameRouteOr(&[Reason::NoRoute]),
            );
        }
    }
    // (4) The authority uppercased: the same canonical authority.
    if authority.bytes().any(|b| b.is_ascii_lowercase()) {
        let upper = authority.to_ascii_uppercase();
        check("authority uppercased", req.path, &upper, Expect::Same);
    }
    // (5) A trailing dot on a DNS host (not an IP literal): the same name.
    if let Ok(canonical) = canonical_authority(authority) {
        let host = canonical.host.as_ref();
        let ip = host.starts_with('[') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let (raw_host, port) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
        if !host.is_empty() && !ip && !raw_host.ends_with('.') {
            let dotted = format!("{raw_host}.{port}");
            check("trailing dot on the host", req.path, &dotted, Expect::Same);
        }
    }
    // (6) Userinfo: never an authority routes are matched on.
    let with_user = format!("user@{authority}");
    let refusal = if clean {
        Reason::InvalidAuthority
    } else {
        Reason::InvalidPath
    };
    check(
        "userinfo prepended",
        req.path,
        &with_user,
        Expect::Refused(refusal),
    );
}

fuzz_target!(|input: Input<'_>| {
    let fuzzed;
    let policy: &Policy = match &input.policy {
        PolicyChoice::Fixed(i) => {
            let all = fixed_policies();
            &all[usize::from(*i) % all.len()]
        }
        PolicyChoice::Fuzzed(text) => match compile(text) {
            Ok(p) => {
                fuzzed = p;
                &fuzzed
            }
            Err(_) => return,
        },
    };
    let method = match &input.method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Delete => "DELETE",
        Method::Lower => "get",
        Method::Other(s) => s,
    };
    let path = match &input.path {
        PathChoice::Known(i, suffix) => {
            format!("{}{}", PATHS[usize::from(*i) % PATHS.len()], suffix)
        }
        PathChoice::Raw(s) => (*s).to_string(),
    };
    let authority = input
        .raw_authority
        .unwrap_or(AUTHORITIES[usize::from(input.authority) % AUTHORITIES.len()]);
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, prefix, source) in input.token.iter().chain(input.second_token.iter()) {
        let token = source.build();
        headers.push((header_name(name), format!("{}{}", prefix.text(), token)));
    }
    for (name, value) in &input.extra_headers {
        headers.push((header_name(name), (*value).to_string()));
    }
    let req = RequestView {
        method,
        path: &path,
        authority,
        headers: &headers,
    };
    let now = NOW.saturating_add_signed(i64::from(input.clock_offset));
    judge(
        policy,
        &RuntimeState::new(policy),
        &req,
        now,
        &GuestVerifier,
        true,
    );
    let state = RuntimeState::new(policy);
    let d = judge(policy, &state, &req, now, &AcceptAll, false);
    canonical_forms(policy, &state, &req, now, &AcceptAll, &d, &input.variants);
    memoised_equals_fresh(policy, &state, &req, now, &d);
});

/// The memo oracle: the memoised decision equals the fresh one `fresh`, made again and served;
/// the same request with every header the policy does not read given another value is served
/// the same decision, and so does a fresh decision of it.
fn memoised_equals_fresh(
    policy: &Policy,
    state: &RuntimeState,
    req: &RequestView<'_, String>,
    now: u64,
    fresh: &Decision,
) {
    let mut memo: DecisionMemo<()> = DecisionMemo::new(policy);
    let first = memo.decide(policy, state, req, &NoConnection, now, &AcceptAll);
    assert_eq!(first.decision, *fresh, "memoised decision (made) differs");
    let again = memo.decide(policy, state, req, &NoConnection, now, &AcceptAll);
    assert_eq!(again.decision, *fresh, "memoised decision (served) differs");
    let inputs = KeyInputs::of(policy);
    let other: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(n, v)| {
            let value = if inputs.reads_header(n) {
                v.clone()
            } else {
                format!("{v}-other")
            };
            (n.clone(), value)
        })
        .collect();
    let variant = RequestView {
        headers: &other,
        ..*req
    };
    let served = memo.decide(policy, state, &variant, &NoConnection, now, &AcceptAll);
    assert_eq!(served.decision, *fresh, "memo serves another decision to a variant");
    let direct = decide(policy, state, &variant, now, &AcceptAll);
    assert_eq!(
        direct, *fresh,
        "a header the memo key does not hold changed the decision"
    );
}
