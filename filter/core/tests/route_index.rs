//! The compiled route index against the in-order scan it replaces: generated policies of mixed
//! templates, methods and hosts, judged on many requests, must pick the same route with the
//! same captures (and `decide`, which uses the index, must agree with `explain`, which scans).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::{json, Value};
use workload_authz_core::routes::{
    canonical_authority, clean_path, without_trailing_slash, Authority, HostPattern, PathPattern,
    RouteIndex, RouteMatch,
};
use workload_authz_core::{
    compile, decide, explain, GuestVerifier, Policy, Reason, RequestView, RouteId, RuntimeState,
};

const NOW: u64 = 1_800_000_000;

/// splitmix64: a deterministic stream, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A few distinct items of `items` (at least one).
    fn some<'a>(&mut self, items: &[&'a str]) -> Vec<&'a str> {
        let mut chosen: Vec<&str> = Vec::new();
        for _ in 0..=self.below(3) {
            let item = self.pick(items);
            if !chosen.contains(&item) {
                chosen.push(item);
            }
        }
        chosen
    }
}

/// Literal segments of templates and requests: shared, so that routes overlap.
const LITERALS: &[&str] = &["a", "b", "api", "v1", "caf%c3%a9"];
const METHODS: &[&str] = &["GET", "POST", "PUT"];
const HOSTS: &[&str] = &[
    "a.example",
    "a.example:8080",
    "*.example",
    "*.b.example",
    "*",
    "[::1]",
    "[::1]:80",
    "x",
];

/// A random valid template: literals, captures, `*`, a final `**` or `/`.
fn template(rng: &mut Rng) -> String {
    let len = rng.below(5);
    if len == 0 {
        return if rng.chance(50) { "/" } else { "/**" }.to_string();
    }
    let mut out = String::new();
    for i in 0..len {
        out.push('/');
        match rng.below(10) {
            0..=5 => out.push_str(rng.pick(LITERALS)),
            6 | 7 => out.push_str(&format!("{{c{i}}}")),
            _ => out.push('*'),
        }
    }
    match rng.below(10) {
        0 | 1 => out.push_str("/**"),
        2 => out.push('/'),
        _ => {}
    }
    out
}

/// A random route; protected ones render a scope from their first capture, if any.
fn route(rng: &mut Rng, i: usize) -> Value {
    let path = template(rng);
    let mut matcher = json!({ "path": path });
    if rng.chance(40) {
        matcher["methods"] = json!(rng.some(METHODS));
    }
    if rng.chance(40) {
        matcher["hosts"] = json!(rng.some(HOSTS));
    }
    let mut route = json!({ "action": format!("r{i}"), "match": matcher });
    if rng.chance(50) {
        route["public"] = json!(true);
    } else {
        let names = PathPattern::compile(&path)
            .unwrap()
            .capture_names()
            .to_vec();
        let scope = names
            .first()
            .map_or("s".to_string(), |n| format!("s:{{{n}}}"));
        route["require"] = json!({ "scopes": [scope] });
    }
    route
}

fn policy_json(routes: Vec<Value>) -> Value {
    json!({
        "providers": { "idp": { "issuer": "https://idp.example", "audiences": ["svc"],
            "remote_jwks": { "http_uri": { "uri": "http://idp/jwks", "cluster": "idp" } } } },
        "routes": routes
    })
}

/// A random request path (not always clean: odd escapes, empty segments, no leading `/`).
fn request_path(rng: &mut Rng) -> String {
    const SEGMENTS: &[&str] = &[
        "a",
        "b",
        "api",
        "v1",
        "caf%C3%A9",
        "caf%c3%a9",
        "zz",
        "",
        "%61",
    ];
    if rng.chance(3) {
        return "a/b".to_string();
    }
    let mut out = String::new();
    for _ in 0..rng.below(6) {
        out.push('/');
        out.push_str(rng.pick(SEGMENTS));
    }
    if out.is_empty() || rng.chance(20) {
        out.push('/');
    }
    if rng.chance(5) {
        out.push_str("?q=1");
    }
    out
}

const AUTHORITIES: &[&str] = &[
    "",
    "a.example",
    "a.example:8080",
    "a.example:9090",
    "A.Example.",
    "q.b.example",
    "b.example",
    "x.a.example",
    "example",
    "[::1]",
    "[::1]:80",
    "x",
    "x:1",
    "evil@x",
    "a..b",
];

const REQUEST_METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "get"];

/// The reference: every route in order, first match wins.
fn scan<'p>(
    policy: &Policy,
    method: &str,
    path: &'p str,
    authority: &Authority<'_>,
) -> Option<(RouteId, Vec<&'p str>)> {
    policy.routes_with_ids().find_map(|(id, route)| {
        let captures = route.matcher.try_match(method, path, authority).ok()?;
        Some((id, captures))
    })
}

/// The reference trailing-slash conflict, by scanning.
fn scan_conflict(
    policy: &Policy,
    method: &str,
    path: &str,
    authority: &Authority<'_>,
    route: RouteId,
) -> Option<RouteId> {
    let bare = without_trailing_slash(path)?;
    scan(policy, method, bare, authority)
        .map(|(id, _)| id)
        .filter(|id| *id != route)
}

fn index_of(policy: &Policy) -> RouteIndex {
    RouteIndex::new(policy.routes.iter().map(|r| &r.matcher))
}

/// One request, checked every way: route and captures, candidates, trailing-slash conflict,
/// and `decide` against `explain`. Returns whether a route matched.
fn check(policy: &Policy, state: &RuntimeState, method: &str, raw: &str, authority: &str) -> bool {
    let headers: Vec<(String, String)> = Vec::new();
    let request = RequestView {
        method,
        path: raw,
        authority,
        headers: &headers,
    };
    let decided = decide(policy, state, &request, NOW, &GuestVerifier);
    let (explained, _) = explain(policy, state, &request, NOW, &GuestVerifier);
    assert_eq!(
        decided, explained,
        "decide and explain: {method} {raw} at {authority:?}"
    );
    let Ok(canonical) = canonical_authority(authority) else {
        return false;
    };
    let path = clean_path(raw).map_or_else(|_| raw.to_string(), |p| p.into_owned());
    let want = scan(policy, method, &path, &canonical);
    let got = policy.route_for(method, &path, &canonical);
    assert_eq!(got, want, "route_for {method} {path} at {authority:?}");
    let candidates = index_of(policy).candidates(&path, &canonical);
    assert!(
        candidates.windows(2).all(|w| w[0] < w[1]),
        "ascending, once each"
    );
    for (id, route) in policy.routes_with_ids() {
        let fits = route.matcher.path.matches(&path).is_some()
            && route
                .matcher
                .hosts
                .as_ref()
                .is_none_or(|h| h.iter().any(|h| h.matches(&canonical)));
        if fits {
            assert!(
                candidates.contains(&id.index()),
                "routes[{id}] missed for {path}"
            );
        }
    }
    if let Some((id, _)) = want {
        assert_eq!(
            policy.trailing_slash_conflict(method, &path, &canonical, id),
            scan_conflict(policy, method, &path, &canonical, id),
            "trailing slash of {path}"
        );
    }
    want.is_some()
}

#[test]
fn the_index_picks_what_the_scan_picks() {
    let mut rng = Rng(0x5EED);
    let (mut matched, mut unmatched) = (0, 0);
    for round in 0..60 {
        let count = 1 + rng.below(if round % 4 == 0 { 120 } else { 25 });
        let routes: Vec<Value> = (0..count).map(|i| route(&mut rng, i)).collect();
        let policy = compile(&policy_json(routes).to_string()).unwrap();
        let state = RuntimeState::new(&policy);
        // Requests for each route's own sample path, in every method and at every authority,
        // with and without a trailing slash...
        for route in &policy.routes {
            let sample = route.matcher.path.sample_path();
            let slashed = format!("{}/", sample.trim_end_matches('/'));
            for path in [&sample, &slashed] {
                let method = rng.pick(REQUEST_METHODS);
                let authority = rng.pick(AUTHORITIES);
                if check(&policy, &state, method, path, authority) {
                    matched += 1;
                } else {
                    unmatched += 1;
                }
            }
        }
        // ...and random ones.
        for _ in 0..150 {
            let path = request_path(&mut rng);
            let (method, authority) = (rng.pick(REQUEST_METHODS), rng.pick(AUTHORITIES));
            if check(&policy, &state, method, &path, authority) {
                matched += 1;
            } else {
                unmatched += 1;
            }
        }
    }
    assert!(
        matched > 1_000 && unmatched > 1_000,
        "{matched} matched, {unmatched} not"
    );
}

fn matcher(path: &str, methods: Option<&[&str]>, hosts: Option<&[&str]>) -> RouteMatch {
    RouteMatch {
        path: PathPattern::compile(path).unwrap(),
        methods: methods.map(|m| m.iter().map(|s| s.to_string()).collect()),
        hosts: hosts.map(|h| h.iter().map(|s| HostPattern::compile(s).unwrap()).collect()),
        headers: Vec::new(),
        not_methods: Vec::new(),
        not_paths: Vec::new(),
    }
}

#[test]
fn the_index_structure() {
    let routes = [
        matcher("/a/b", None, None),                                 // 0
        matcher("/a/{x}", Some(&["GET"]), None),                     // 1
        matcher("/a/**", None, Some(&["api.example:8080"])),         // 2
        matcher("/{t}/b", None, Some(&["*.example"])),               // 3
        matcher("/", None, None),                                    // 4
        matcher("/a/", None, None),                                  // 5
        matcher("/**", None, Some(&["*", "api.example"])),           // 6
        matcher("/a/*/c", None, Some(&["api.example", "[::1]:80"])), // 7
    ];
    let index = RouteIndex::new(routes.iter());
    assert_eq!(index.len(), 8);
    assert!(!index.is_empty());
    // root, a, a/b, a/*, a/"", *, */b, a/*/c
    assert_eq!(index.node_count(), 8);
    fn at(authority: &str) -> Authority<'_> {
        canonical_authority(authority).unwrap()
    }
    let candidates = |path: &str, authority: &str| index.candidates(path, &at(authority));
    // The exact host's port is left to the check: both ports are candidates.
    assert_eq!(candidates("/a/b", "api.example"), vec![0, 1, 2, 3, 6]);
    assert_eq!(candidates("/a/b", "api.example:9090"), vec![0, 1, 2, 3, 6]);
    assert_eq!(candidates("/a/b", "q.example"), vec![0, 1, 3, 6]);
    assert_eq!(
        candidates("/a/b", "example"),
        vec![0, 1, 6],
        "a suffix needs a label"
    );
    assert_eq!(candidates("/", ""), vec![4, 6]);
    assert_eq!(
        candidates("/a/", "x"),
        vec![5, 6],
        "{{x}} and * need a segment"
    );
    assert_eq!(
        candidates("/a", "api.example"),
        vec![2, 6],
        "** matches no segment"
    );
    assert_eq!(candidates("/a/q/c", "[::1]:80"), vec![6, 7]);
    assert_eq!(candidates("/a/q/c", "[::1]"), vec![6, 7]);
    assert_eq!(candidates("a/b", "x"), Vec::<usize>::new());
    assert_eq!(candidates("/zz", "x"), vec![6]);

    let first = |method: &str, path: &'static str, authority: &str| {
        index.first_match(method, path, &at(authority), |i| routes.get(i), |_| true)
    };
    assert_eq!(
        first("POST", "/a/q", "x"),
        Some((6, vec![])),
        "route 1 is GET only"
    );
    assert_eq!(first("GET", "/a/q", "x"), Some((1, vec!["q"])));
    assert_eq!(first("POST", "/a/q", "api.example:8080"), Some((2, vec![])));
    assert_eq!(first("POST", "/a/q", "api.example:8081"), Some((6, vec![])));
    assert_eq!(
        first("GET", "/a/q/c", "[::1]"),
        Some((6, vec![])),
        "the port differs"
    );
    let strict = RouteIndex::new(routes.iter().take(6));
    let first_of = |method: &str, path: &'static str, authority: &str| {
        strict.first_match(
            method,
            path,
            &at(authority),
            |i| routes.get(i).filter(|_| i < 6),
            |_| true,
        )
    };
    assert_eq!(first_of("GET", "/b/b", "s.example"), Some((3, vec!["b"])));
    assert_eq!(first_of("GET", "/b/b", "s.other"), None);
    assert_eq!(first_of("GET", "/zz", "x"), None);
    assert!(RouteIndex::new([]).is_empty());
}

/// Route `i` of a gateway-like policy and a request only it (of routes up to `i`) matches.
fn gateway_route(i: usize) -> (Value, (&'static str, String, String)) {
    let api = "api.example.com".to_string();
    let (matcher, request) = match i % 4 {
        0 => (
            json!({ "path": format!("/svc{i}/items/{{id}}"), "methods": ["GET", "PUT"] }),
            ("PUT", format!("/svc{i}/items/42"), api),
        ),
        1 => (
            json!({ "path": format!("/api/v1/svc{i}/{{tenant}}/**") }),
            ("GET", format!("/api/v1/svc{i}/acme/x/y"), api),
        ),
        2 => (
            json!({ "path": format!("/{{tenant}}/svc{i}/*/status"),
                    "hosts": [format!("svc{i}.example.com"), "*.internal"] }),
            (
                "POST",
                format!("/acme/svc{i}/job/status"),
                "q.internal".to_string(),
            ),
        ),
        _ => (
            json!({ "path": format!("/svc{i}"), "methods": ["DELETE"],
                    "hosts": ["api.example.com:8443"] }),
            (
                "DELETE",
                format!("/svc{i}"),
                "api.example.com:8443".to_string(),
            ),
        ),
    };
    let route = json!({ "action": format!("r{i}"), "match": matcher, "public": true });
    (route, request)
}

#[test]
fn ten_thousand_routes() {
    let n = 10_000;
    let routes: Vec<Value> = (0..n).map(|i| gateway_route(i).0).collect();
    let policy = compile(&policy_json(routes).to_string()).unwrap();
    assert_eq!(policy.routes.len(), n);
    let state = RuntimeState::new(&policy);
    let headers: Vec<(String, String)> = Vec::new();
    for i in [0, 1, 2, 3, n / 2, n / 2 + 2, n - 2, n - 1] {
        let (method, path, authority) = gateway_route(i).1;
        let request = RequestView {
            method,
            path: &path,
            authority: &authority,
            headers: &headers,
        };
        let d = decide(&policy, &state, &request, NOW, &GuestVerifier);
        assert_eq!(
            (d.reason, d.route),
            (Reason::Public, Some(RouteId::new(i))),
            "{path}"
        );
        let canonical = canonical_authority(&authority).unwrap();
        assert_eq!(
            policy.route_for(method, &path, &canonical),
            scan(&policy, method, &path, &canonical),
            "{path}"
        );
    }
    for (method, path, authority) in [
        ("GET", "/nowhere", "api.example.com"),
        ("GET", "/svc3", "api.example.com:8443"),
        ("POST", "/acme/svc2/job/status", "svc2.example.com:1"),
    ] {
        let request = RequestView {
            method,
            path,
            authority,
            headers: &headers,
        };
        let d = decide(&policy, &state, &request, NOW, &GuestVerifier);
        let canonical = canonical_authority(authority).unwrap();
        let want = scan(&policy, method, path, &canonical);
        assert_eq!(d.route, want.map(|(id, _)| id), "{method} {path}");
    }
    assert!(index_of(&policy).node_count() > n);
}
