//! Shared fixtures and input generators of the workload-authz fuzz targets.
//!
//! Everything here is deterministic: fixed key sets, fixed policies, fixed valid tokens (signed at
//! [`NOW`]), and `arbitrary`-driven builders that turn fuzz bytes into tokens, JSON values and
//! requests. The oracle that matters most lives in [`is_genuine_signing_input`]: no token whose
//! `header.payload` was not signed by one of the fixture keys may ever be allowed.

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use workload_authz_core::keys::{Algorithm, KeySet, PublicKey};
use workload_authz_core::token::{Jws, SignatureVerifier, VerifyError};
use workload_authz_core::{compile, Policy};

/// The fixed clock of the fuzz targets (2027-01-15): every fixture token is valid then.
pub const NOW: u64 = 1_800_000_000;

pub const DEMO_JWKS: &str = include_str!("../fixtures/demo_jwks.json");
pub const ENVOY_RSA_JWKS: &str = include_str!("../fixtures/envoy_rsa_jwks.json");
pub const ENVOY_ES256_JWKS: &str = include_str!("../fixtures/envoy_es256_jwks.json");
pub const ISTIO_JWKS: &str = include_str!("../fixtures/istio_jwks.json");
pub const EXAMPLE_POLICY: &str = include_str!("../fixtures/example_policy.json");

/// Genuinely signed tokens: `(token, provider issuer)`.
pub const TEMPLATES: [&str; 4] = [
    // ES256, demo key, iss https://issuer.prod.example, aud orders, scope "orders:read
    // orders:write:acme", tenant acme, iat NOW, exp NOW+300.
    include_str!("../fixtures/demo_read.jwt"),
    // ES256, demo key, scope "orders:write:acme", iat NOW, exp NOW+200.
    include_str!("../fixtures/demo_write.jwt"),
    // RS256, Envoy's vector key (kid b3319a14...), iss https://example.com, aud example_service,
    // scope "read write", tenant acme, iat NOW, exp NOW+600.
    include_str!("../fixtures/envoy_rs256.jwt"),
    // Envoy's GoodToken (RS256, no kid, exp 2001001001, no iat).
    include_str!("../fixtures/envoy_good.jwt"),
];

/// The template tokens, trimmed.
pub fn template(index: usize) -> &'static str {
    TEMPLATES[index % TEMPLATES.len()].trim()
}

/// Genuinely signed tokens of the shared vectors (Envoy, Istio), one per line: the seeds hold
/// them, so the fuzzer starts from them.
pub const GENUINE_VECTORS: &str = include_str!("../fixtures/genuine_vectors.txt");

/// The `header.payload` of every genuinely signed fixture token (templates and vectors).
pub fn genuine_signing_inputs() -> impl Iterator<Item = &'static str> {
    TEMPLATES
        .iter()
        .copied()
        .chain(GENUINE_VECTORS.lines())
        .map(str::trim)
        .filter_map(|t| t.rsplit_once('.').map(|(si, _)| si))
}

/// Whether `signing_input` (`header.payload`) is one that a fixture key really signed.
pub fn is_genuine_signing_input(signing_input: &str) -> bool {
    genuine_signing_inputs().any(|si| si == signing_input)
}

/// The `header.payload` of a compact token (everything before the last dot).
pub fn signing_input_of(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(si, _)| si)
}

/// Every fixture key (all providers' keys).
pub fn fixture_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut all = Vec::new();
        for text in [DEMO_JWKS, ENVOY_RSA_JWKS, ENVOY_ES256_JWKS, ISTIO_JWKS] {
            match workload_authz_core::keys::parse_jwks(text) {
                Ok(parsed) => all.extend(parsed.keys),
                Err(e) => panic!("fixture JWKS does not parse: {e}"),
            }
        }
        KeySet::new(all)
    })
}

/// A verifier that accepts every signature: lets the fuzzer reach the claim, time, audience,
/// scope, subject and claim-condition checks with arbitrary claims.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl SignatureVerifier for AcceptAll {
    fn verify(&self, _alg: Algorithm, _key: &PublicKey, _jws: &Jws<'_>) -> Result<(), VerifyError> {
        Ok(())
    }
}

/// The fixed policies of the `decide` target: the example policy, a broader one over the
/// Envoy and Istio vector keys (several providers, custom header, claims, subjects, hosts,
/// shadow route, static revocations, claim_to_headers, identity headers) and one of host
/// patterns, escaped templates and exact routes in front of `/**` catch-alls (for the
/// canonical-form oracle).
pub fn fixed_policy_texts() -> &'static [String] {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let broad = json!({
            "mode": "enforce",
            "realm": "fuzz",
            "identity_headers": true,
            "revoked": { "jti": ["revoked-1"], "subjects_revoked_before": { "spiffe://x/ns/a/sa/old": 1_700_000_000u64 } },
            "providers": {
                "example": {
                    "issuer": "https://example.com",
                    "audiences": ["example_service", "http://example_service1"],
                    "local_jwks": { "inline_string": ENVOY_RSA_JWKS },
                    "claim_to_headers": [
                        { "header_name": "x-jwt-sub", "claim_name": "sub" },
                        { "header_name": "x-jwt-nested", "claim_name": "nested.key-1" }
                    ],
                    "require_expiration": false
                },
                "mesh": {
                    "issuer": "https://issuer.prod.example",
                    "audiences": ["orders"],
                    "local_jwks": { "inline_string": DEMO_JWKS },
                    "algorithms": ["ES256"],
                    "from_headers": [
                        { "name": "authorization", "value_prefix": "Bearer " },
                        { "name": "x-mesh-token", "value_prefix": "Token " }
                    ],
                    "clock_skew_seconds": 30,
                    "max_lifetime_seconds": 900,
                    "forward": false
                },
                "istio": {
                    "issuer": "test-issuer-1@istio.io",
                    "audiences": ["buzz"],
                    "local_jwks": { "inline_string": ISTIO_JWKS }
                }
            },
            "routes": [
                { "action": "health", "match": { "path": "/healthz" }, "public": true },
                { "action": "static", "match": { "path": "/static/**", "methods": ["GET", "HEAD"] }, "public": true },
                { "action": "orders.read",
                  "match": { "path": "/tenants/{tenant}/orders/{id}", "methods": ["GET", "HEAD"], "hosts": ["api.example.com", "*.internal"] },
                  "require": { "providers": ["mesh", "example"], "scopes": ["orders:read"],
                               "subjects": ["spiffe://prod.example/ns/*/sa/*", "spiffe://x/**"],
                               "claims": { "tenant": "{tenant}" } } },
                { "action": "orders.write", "match": { "path": "/tenants/{tenant}/orders", "methods": ["POST"] },
                  "max_lifetime_seconds": 300,
                  "require": { "scopes": ["orders:write:{tenant}"] } },
                { "action": "scoped", "match": { "path": "/scoped/*/x/**" },
                  "require": { "providers": ["example"], "scopes_any": ["read", "admin"],
                               "claims": { "nested.key-1": ["value1", "value2"], "test_num": 1337 } } },
                { "action": "shadowed", "mode": "shadow", "match": { "path": "/shadow/**" },
                  "require": { "scopes": ["never"] } },
                { "action": "api", "match": { "path": "/api/**" }, "require": { "providers": ["example", "istio"] } }
            ]
        })
        .to_string();
        // Routes for the canonical-form oracle of `decide`: exact and `*.suffix` hosts (with
        // and without a port, an IPv6 literal), an escape in a template, exact routes followed
        // by a `/**` that would take their trailing-slash and escaped forms, a template ending
        // in `/`, and a final catch-all so that every clean path reaches some route.
        let hosts = json!({
            "mode": "enforce",
            "realm": "fuzz-hosts",
            "providers": {
                "mesh": {
                    "issuer": "https://issuer.prod.example",
                    "audiences": ["orders"],
                    "local_jwks": { "inline_string": DEMO_JWKS },
                    "algorithms": ["ES256"]
                }
            },
            "routes": [
                { "action": "admin", "match": { "path": "/admin", "hosts": ["admin.example.com"] },
                  "require": { "scopes": ["admin"] } },
                { "action": "admin.tree", "match": { "path": "/admin/**", "hosts": ["api.example.com:8443", "[::1]"] },
                  "require": { "scopes": ["admin"] } },
                { "action": "svc", "match": { "path": "/svc/{name}", "methods": ["GET", "HEAD"], "hosts": ["*.internal.example.com", "*.internal"] },
                  "require": { "scopes": ["svc:{name}"] } },
                { "action": "cafe", "match": { "path": "/caf%c3%a9/{id}" }, "require": { "scopes": ["cafe"] } },
                { "action": "me", "match": { "path": "/users/me" }, "public": true },
                { "action": "users", "match": { "path": "/users/**" }, "require": { "scopes": ["users:read"] } },
                { "action": "docs", "match": { "path": "/docs/", "hosts": ["docs.example.com"] }, "public": true },
                { "action": "orders.read",
                  "match": { "path": "/tenants/{tenant}/orders/{id}", "hosts": ["api.example.com"] },
                  "require": { "scopes": ["orders:read"], "claims": { "tenant": "{tenant}" } } },
                { "action": "catch-all", "match": { "path": "/**" }, "require": { "scopes": ["any"] } }
            ]
        })
        .to_string();
        vec![EXAMPLE_POLICY.to_string(), broad, hosts]
    })
}

/// The compiled fixed policies (panics at start-up if a fixture is refused: that is a bug in
/// the fixtures, reported before any fuzzing).
pub fn fixed_policies() -> &'static [Policy] {
    static POLICIES: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        fixed_policy_texts()
            .iter()
            .map(|text| match compile(text) {
                Ok(p) => p,
                Err(e) => panic!("fixture policy refused: {e:?}\n{text}"),
            })
            .collect()
    })
}

/// A JSON value from fuzz bytes, rendered as text by hand so that duplicate keys, huge and
/// odd numbers and deep nesting are all reachable.
#[derive(Arbitrary, Debug, Clone)]
pub enum FJson<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
    /// Verbatim text (numbers like `1e400`, `99999999999999999999`, `-0`, garbage).
    Raw(&'a str),
    Number(NumberText),
    Arr(Vec<FJson<'a>>),
    Obj(Vec<(Key<'a>, FJson<'a>)>),
}

/// Number spellings that parsers disagree on.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum NumberText {
    Huge,
    HugeExp,
    NegZero,
    Fraction,
    Exponent,
    MaxU64,
    MaxU64Plus1,
    MaxI64,
    Negative,
}

impl NumberText {
    fn text(self) -> &'static str {
        match self {
            NumberText::Huge => "99999999999999999999",
            NumberText::HugeExp => "1e400",
            NumberText::NegZero => "-0",
            NumberText::Fraction => "1800000300.5",
            NumberText::Exponent => "1.8e9",
            NumberText::MaxU64 => "18446744073709551615",
            NumberText::MaxU64Plus1 => "18446744073709551616",
            NumberText::MaxI64 => "9223372036854775807",
            NumberText::Negative => "-1",
        }
    }
}

/// Object keys: the registered names (where the interesting rules are) or anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Key<'a> {
    Alg,
    Kid,
    Typ,
    Crit,
    Jwk,
    Jku,
    X5c,
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
    Scope,
    Scp,
    Tenant,
    Nested,
    Other(&'a str),
}

impl<'a> Key<'a> {
    pub fn name(self) -> &'a str {
        match self {
            Key::Alg => "alg",
            Key::Kid => "kid",
            Key::Typ => "typ",
            Key::Crit => "crit",
            Key::Jwk => "jwk",
            Key::Jku => "jku",
            Key::X5c => "x5c",
            Key::Iss => "iss",
            Key::Sub => "sub",
            Key::Aud => "aud",
            Key::Exp => "exp",
            Key::Nbf => "nbf",
            Key::Iat => "iat",
            Key::Jti => "jti",
            Key::Scope => "scope",
            Key::Scp => "scp",
            Key::Tenant => "tenant",
            Key::Nested => "nested",
            Key::Other(s) => s,
        }
    }
}

impl FJson<'_> {
    /// Renders the value as JSON text (strings escaped; `Raw` verbatim).
    pub fn render(&self, out: &mut String) {
        match self {
            FJson::Null => out.push_str("null"),
            FJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            FJson::Int(i) => out.push_str(&i.to_string()),
            FJson::UInt(u) => out.push_str(&u.to_string()),
            FJson::Float(f) => out.push_str(&json!(f).to_string()),
            FJson::Str(s) => out.push_str(&json!(s).to_string()),
            FJson::Raw(s) => out.push_str(s),
            FJson::Number(n) => out.push_str(n.text()),
            FJson::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.render(out);
                }
                out.push(']');
            }
            FJson::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json!(k.name()).to_string());
                    out.push(':');
                    v.render(out);
                }
                out.push('}');
            }
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }
}

/// One change to a JSON object given as `(key, rendered value)` members (order and duplicates
/// kept).
#[derive(Arbitrary, Debug, Clone)]
pub enum MemberEdit<'a> {
    Set(Key<'a>, FJson<'a>),
    Remove(Key<'a>),
    /// Appends a second member with the same key (duplicate keys must be refused).
    Duplicate(Key<'a>, FJson<'a>),
    /// Adds an offset to a numeric claim (keeps the claim in range while shifting time).
    Shift(Key<'a>, i32),
}

/// A decoded JSON object as ordered members.
pub fn members_of(json_text: &[u8]) -> Vec<(String, String)> {
    match serde_json::from_slice::<Value>(json_text) {
        Ok(Value::Object(map)) => map.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        _ => Vec::new(),
    }
}

pub fn apply_edits(members: &mut Vec<(String, String)>, edits: &[MemberEdit<'_>]) {
    for edit in edits {
        match edit {
            MemberEdit::Set(k, v) => {
                let name = k.name();
                let text = v.to_text();
                match members.iter_mut().find(|(n, _)| n == name) {
                    Some(m) => m.1 = text,
                    None => members.push((name.to_string(), text)),
                }
            }
            MemberEdit::Remove(k) => members.retain(|(n, _)| n != k.name()),
            MemberEdit::Duplicate(k, v) => members.push((k.name().to_string(), v.to_text())),
            MemberEdit::Shift(k, by) => {
                if let Some(m) = members.iter_mut().find(|(n, _)| n == k.name()) {
                    if let Ok(n) = m.1.parse::<i64>() {
                        m.1 = n.saturating_add(i64::from(*by)).to_string();
                    }
                }
            }
        }
    }
}

pub fn render_members(members: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json!(k).to_string());
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    out
}

/// How the signature part is changed.
#[derive(Arbitrary, Debug, Clone)]
pub enum SigEdit<'a> {
    Keep,
    Empty,
    Replace(&'a [u8]),
    FlipBit(u16),
    Truncate(u8),
    /// 64 zero bytes: ECDSA r = s = 0 (CVE-2022-21449).
    Zeros(u8),
    /// The raw r||s wrapped as an ASN.1 DER SEQUENCE (the wrong ECDSA encoding for JWS).
    Der,
    /// Signature of another template.
    Other(u8),
}

/// How the compact encoding is damaged after building.
#[derive(Arbitrary, Debug, Clone)]
pub enum EncodingEdit<'a> {
    None,
    /// `=` padding on one part.
    Pad(u8),
    /// The standard alphabet (`+`, `/`) instead of base64url.
    StdAlphabet(u8),
    /// A character inserted at a position.
    Insert(u16, char),
    /// A fourth part, or a part removed.
    ExtraPart(&'a str),
    DropPart(u8),
    Lowercase,
}

/// A token built from a genuinely signed template, with changes.
#[derive(Arbitrary, Debug, Clone)]
pub struct TokenRecipe<'a> {
    pub template: u8,
    pub header_edits: Vec<MemberEdit<'a>>,
    pub payload_edits: Vec<MemberEdit<'a>>,
    pub sig: SigEdit<'a>,
    pub encoding: EncodingEdit<'a>,
}

/// Where a token comes from.
#[derive(Arbitrary, Debug, Clone)]
pub enum TokenSource<'a> {
    /// Any text.
    Raw(&'a str),
    /// A template with edits.
    Recipe(TokenRecipe<'a>),
    /// Header and payload JSON given whole, signature bytes given.
    Parts(FJson<'a>, FJson<'a>, &'a [u8]),
}

fn der_wrap(raw: &[u8]) -> Vec<u8> {
    let half = raw.len() / 2;
    let int = |bytes: &[u8]| {
        let mut v = bytes.to_vec();
        while v.len() > 1 && v.first() == Some(&0) {
            v.remove(0);
        }
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let mut body = int(raw.get(..half).unwrap_or_default());
    body.extend(int(raw.get(half..).unwrap_or_default()));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

impl TokenSource<'_> {
    /// Builds the token text.
    pub fn build(&self) -> String {
        match self {
            TokenSource::Raw(s) => (*s).to_string(),
            TokenSource::Parts(h, p, sig) => format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(h.to_text()),
                URL_SAFE_NO_PAD.encode(p.to_text()),
                URL_SAFE_NO_PAD.encode(sig)
            ),
            TokenSource::Recipe(r) => r.build(),
        }
    }
}

impl TokenRecipe<'_> {
    pub fn build(&self) -> String {
        let t = template(usize::from(self.template));
        let mut parts = t.split('.');
        let (h64, p64, s64) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let header = if self.header_edits.is_empty() {
            h64.to_string()
        } else {
            let mut m = members_of(&URL_SAFE_NO_PAD.decode(h64).unwrap_or_default());
            apply_edits(&mut m, &self.header_edits);
            URL_SAFE_NO_PAD.encode(render_members(&m))
        };
        let payload = if self.payload_edits.is_empty() {
            p64.to_string()
        } else {
            let mut m = members_of(&URL_SAFE_NO_PAD.decode(p64).unwrap_or_default());
            apply_edits(&mut m, &self.payload_edits);
            URL_SAFE_NO_PAD.encode(render_members(&m))
        };
        let raw_sig = URL_SAFE_NO_PAD.decode(s64).unwrap_or_default();
        let sig = match &self.sig {
            SigEdit::Keep => s64.to_string(),
            SigEdit::Empty => String::new(),
            SigEdit::Replace(b) => URL_SAFE_NO_PAD.encode(b),
            SigEdit::FlipBit(at) => {
                let mut s = raw_sig.clone();
                let len = s.len().max(1);
                if let Some(b) = s.get_mut(usize::from(*at / 8) % len) {
                    *b ^= 1 << (at % 8);
                }
                URL_SAFE_NO_PAD.encode(s)
            }
            SigEdit::Truncate(n) => {
                let keep = raw_sig.len().saturating_sub(usize::from(*n));
                URL_SAFE_NO_PAD.encode(raw_sig.get(..keep).unwrap_or_default())
            }
            SigEdit::Zeros(n) => URL_SAFE_NO_PAD.encode(vec![0u8; usize::from(*n % 3 + 1) * 32]),
            SigEdit::Der => URL_SAFE_NO_PAD.encode(der_wrap(&raw_sig)),
            SigEdit::Other(i) => template(usize::from(*i))
                .rsplit('.')
                .next()
                .unwrap_or("")
                .to_string(),
        };
        let mut out = format!("{header}.{payload}.{sig}");
        match &self.encoding {
            EncodingEdit::None => {}
            EncodingEdit::Pad(which) => {
                let mut ps: Vec<String> = out.split('.').map(str::to_string).collect();
                let len = ps.len();
                if let Some(p) = ps.get_mut(usize::from(*which) % len) {
                    p.push('=');
                }
                out = ps.join(".");
            }
            EncodingEdit::StdAlphabet(which) => {
                let mut ps: Vec<String> = out.split('.').map(str::to_string).collect();
                let len = ps.len();
                if let Some(p) = ps.get_mut(usize::from(*which) % len) {
                    let bytes = URL_SAFE_NO_PAD.decode(p.as_bytes()).unwrap_or_default();
                    *p = STANDARD.encode(bytes);
                }
                out = ps.join(".");
            }
            EncodingEdit::Insert(at, c) => {
                let mut idx = usize::from(*at) % (out.len() + 1);
                while !out.is_char_boundary(idx) {
                    idx -= 1;
                }
                out.insert(idx, *c);
            }
            EncodingEdit::ExtraPart(p) => {
                out.push('.');
                out.push_str(p);
            }
            EncodingEdit::DropPart(which) => {
                let mut ps: Vec<&str> = out.split('.').collect();
                let i = usize::from(*which) % ps.len();
                ps.remove(i);
                out = ps.join(".");
            }
            EncodingEdit::Lowercase => out = out.to_ascii_lowercase(),
        }
        out
    }
}

/// RFC 3986 `unreserved`.
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Whether an escape (`%` and two hex digits) starts at byte `i`.
pub fn escape_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i) == Some(&b'%')
        && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}

/// Byte offsets of the unreserved characters of `path` that are not part of an escape.
pub fn unreserved_positions(path: &str) -> Vec<usize> {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if escape_at(bytes, i) {
            i += 3;
            continue;
        }
        if bytes.get(i).copied().is_some_and(is_unreserved) {
            out.push(i);
        }
        i += 1;
    }
    out
}
