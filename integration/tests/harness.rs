//! Self-test of the harness (no filter): Envoy starts, the listener port is discovered, the
//! echo upstream answers and the client sends headers verbatim.

use workload_authz_integration::{Envoy, EnvoyOptions, Request};

#[test]
fn envoy_without_filter_reaches_echo_upstream() {
    let opts = EnvoyOptions {
        filter: false,
        ..EnvoyOptions::default()
    };
    let envoy = match Envoy::start_with("{}", &opts) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let req = Request::get("/some/path?q=1")
        .header("X-Dup", "one")
        .header("X-Dup", "two");
    let resp = match envoy.send(&req) {
        Ok(r) => r,
        Err(e) => panic!("request failed: {e}\n{}", envoy.log_tail(30)),
    };
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    assert_eq!(resp.header("x-echo"), Some("upstream"));
    let body = resp.json().unwrap_or_default();
    assert_eq!(body["path"], "/some/path?q=1", "{body}");
    let seen = envoy.upstream.requests();
    assert_eq!(seen.len(), 1);
    let dups: Vec<&str> = seen[0]
        .headers
        .iter()
        .filter(|(k, _)| k == "x-dup")
        .map(|(_, v)| v.as_str())
        .collect();
    // Envoy forwards repeated headers either repeated or comma-joined.
    assert!(dups == ["one", "two"] || dups == ["one,two"], "{dups:?}");

    let head = match envoy.send(&Request::new("HEAD", "/h")) {
        Ok(r) => r,
        Err(e) => panic!("HEAD failed: {e}"),
    };
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let log = envoy.wait_access_log(2);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["status"], 200, "{log:?}");
}
