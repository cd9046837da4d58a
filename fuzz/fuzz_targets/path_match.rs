//! `routes::clean_path` and `PathPattern`/`RouteMatch` on arbitrary paths against a fixed set
//! of templates. A clean path has no dot segment, no encoded separator, no backslash, no `;`,
//! no empty inner segment; a match means every literal segment is equal.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use workload_authz_core::routes::{clean_path, HostPattern, PathPattern, RouteMatch};

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
];

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
    let Ok(path) = clean_path(&raw) else {
        return;
    };
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
                    assert_eq!(ts, ps, "template {t} matched {path:?}");
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
