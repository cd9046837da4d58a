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
//! * an `invalid_path` or `no_route` request never proceeds in enforce mode.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use workload_authz_core::{
    compile, decide, explain, GuestVerifier, Mode, Policy, Reason, RequestView, RuntimeState,
    SignatureVerifier,
};
use workload_authz_fuzz::{fixed_policies, genuine_signing_inputs, AcceptAll, TokenSource, NOW};

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
];

const AUTHORITIES: &[&str] = &[
    "api.example.com",
    "x.internal",
    "localhost",
    "API.example.com:8443",
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
    req: &RequestView<'_, String>,
    now: u64,
    verifier: &dyn SignatureVerifier,
    real: bool,
) {
    let state = RuntimeState::new(policy);
    let d = decide(policy, &state, req, now, verifier);
    let (e, steps) = explain(policy, &state, req, now, verifier);
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
    judge(policy, &req, now, &GuestVerifier, true);
    judge(policy, &req, now, &AcceptAll, false);
});
