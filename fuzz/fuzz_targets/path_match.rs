//! `routes::clean_path` and `PathPattern`/`RouteMatch` on arbitrary paths against a fixed set
//! of templates. A clean path has no dot segment, no encoded separator, no backslash, no `;`,
//! no empty inner segment, no escape of an unreserved character; it is the path without its
//! query with every escape in uppercase hex (and nothing else changed), so flipping the case of
//! escapes never changes the outcome; escaping one unreserved character makes it refused; a
//! match means every literal segment is equal (escapes compared in uppercase).
#![no_main]

use std::sync::OnceLock;
use workload_authz_fuzz::{escape_at, is_unreserved, unreserved_positions};

use libfuzzer_sys::fuzz_target;
use workload_authz_core::routes::{
    clean_path, without_trailing_slash, HostPattern, PathError, PathPattern, RouteMatch,
};

const TEMPLATES: &[&str] = &[
    "/",
    "/healthz",
    "/admin",
    "/admin/**",
    "/static/**",
    "/tenants/{tenant}/orders/{id}",
    "/tenants/{tenant}/orders",
    "/a/*/c",
    "/a/*/c/**",
    "/{x}",
    "/**",
    "/v1/{a}/{b}/{c}/**",
    "/caf%c3%a9/{id}",
    "/docs/",
];

/// `text` with the hex digits of every well-formed escape in uppercase (`lower`: lowercase).
fn escapes_in_case(text: &str, lower: bool) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if escape_at(&bytes, i) {
            for b in &mut bytes[i + 1..i + 3] {
                *b = if lower {
                    b.to_ascii_lowercase()
                } else {
                    b.to_ascii_uppercase()
                };
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| unreachable!("ASCII changed in a str"))
}

fn routes() -> &'static [RouteMatch] {
    static R: OnceLock<Vec<RouteMatch>> = OnceLock::new();
    R.get_or_init(|| {
        TEMPLATES
            .iter()
            .map(|t| RouteMatch {
                path: PathPattern::compile(t).unwrap_or_else(|e| panic!("{t}: {e:?}")),
                methods: Some(vec!["GET".into(), "POST".into()]),
                hosts: Some(vec![
                    HostPattern::compile("api.example.com").unwrap_or_else(|| panic!("host")),
                    HostPattern::compile("*.internal").unwrap_or_else(|| panic!("host")),
                ]),
                headers: Vec::new(),
                not_methods: Vec::new(),
                not_paths: Vec::new(),
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = data.split_first().unwrap_or((&0, &[]));
    let raw = String::from_utf8_lossy(rest);
    // Template compilation itself must not panic on arbitrary templates either.
    if selector & 0x80 != 0 {
        let _ = PathPattern::compile(&raw);
        let _ = HostPattern::compile(&raw);
        return;
    }
    let cleaned = clean_path(&raw);
    // The case of escape digits never changes the outcome (nor which error).
    for lower in [false, true] {
        let flipped = escapes_in_case(&raw, lower);
        assert_eq!(
            clean_path(&flipped).as_deref(),
            cleaned.as_deref(),
            "escape case changes {raw:?} ({flipped:?})"
        );
    }
    let Ok(path) = cleaned else {
        return;
    };
    let path: &str = &path;
    // The canonical form is the path part with escapes in uppercase, nothing else changed.
    let part = raw.split_once('?').map_or(&*raw, |(p, _)| p);
    assert_eq!(
        path,
        escapes_in_case(part, false),
        "not the canonical form of {raw:?}"
    );
    assert_eq!(
        clean_path(path).as_deref(),
        Ok(path),
        "not idempotent: {path:?}"
    );
    let bytes = path.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            assert!(escape_at(bytes, i), "malformed escape in {path:?}");
            let digits = &bytes[i + 1..i + 3];
            assert!(
                !digits.iter().any(u8::is_ascii_lowercase),
                "lowercase escape in {path:?}"
            );
            let value = u8::from_str_radix(std::str::from_utf8(digits).unwrap_or("00"), 16);
            assert!(
                !value.is_ok_and(is_unreserved),
                "escaped unreserved character in {path:?}"
            );
        }
    }
    // One unreserved character escaped: refused (a `.` as an encoded separator).
    let plain = unreserved_positions(path);
    if !plain.is_empty() {
        let at = plain[(usize::from(*selector) * 31 + rest.len()) % plain.len()];
        let escaped = format!("{}%{:02x}{}", &path[..at], bytes[at], &path[at + 1..]);
        let expected = if bytes[at] == b'.' {
            PathError::EncodedSeparator
        } else {
            PathError::EncodedUnreserved
        };
        assert_eq!(
            clean_path(&escaped).as_deref(),
            Err(&expected),
            "{escaped:?}"
        );
    }
    // Without its trailing slash, a clean path is still clean (and canonical).
    if let Some(bare) = without_trailing_slash(path) {
        assert_eq!(
            clean_path(bare).as_deref(),
            Ok(bare),
            "bare form of {path:?}"
        );
    }
    assert!(!path.contains('?'), "query kept: {path:?}");
    assert!(path.starts_with('/'));
    let lower = path.to_ascii_lowercase();
    for bad in ["%2e", "%2f", "%5c", "%00", "%25", "\\", ";", "#"] {
        assert!(!lower.contains(bad), "{bad} in clean path {path:?}");
    }
    let segs: Vec<&str> = path[1..].split('/').collect();
    for (i, s) in segs.iter().enumerate() {
        assert!(*s != "." && *s != "..", "dot segment in {path:?}");
        assert!(
            !s.is_empty() || i + 1 == segs.len(),
            "empty segment in {path:?}"
        );
        assert!(
            !s.bytes().any(|b| b < 0x20 || b == 0x7f),
            "control char in {path:?}"
        );
    }
    let hosts = [
        "api.example.com",
        "x.internal",
        "API.EXAMPLE.COM:443",
        "evil.com",
        "",
    ];
    let method = if selector & 1 == 0 { "GET" } else { "DELETE" };
    let host = hosts[usize::from(selector >> 1) % hosts.len()];
    for (t, route) in TEMPLATES.iter().zip(routes()) {
        let m = route.matches(method, path, host);
        if m.is_some() {
            assert_eq!(method, "GET");
            // Every literal segment of the template is equal to the path's segment.
            for (ts, ps) in t[1..].split('/').zip(path[1..].split('/')) {
                if ts == "**" {
                    break;
                }
                if !(ts == "*" || ts.starts_with('{')) {
                    assert_eq!(
                        escapes_in_case(ts, false),
                        ps,
                        "template {t} matched {path:?}"
                    );
                }
            }
        }
        if let Some(caps) = m {
            for c in caps {
                assert!(
                    !c.is_empty() && !c.contains('/'),
                    "bad capture {c:?} of {path:?}"
                );
            }
        }
    }
});
