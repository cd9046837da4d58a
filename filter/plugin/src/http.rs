//! One request: gather a request view, ask the core, apply the decision.

use crate::host;
use crate::metrics::Metrics;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::cell::RefCell;
use std::rc::Rc;
use workload_authz_core::telemetry;
use workload_authz_core::{decide, render_denial, Decision, GuestVerifier, Policy, RequestView};

/// The per-request context.
pub struct AuthzHttp {
    policy: Option<Rc<Policy>>,
    metrics: Rc<RefCell<Metrics>>,
}

impl AuthzHttp {
    /// A context judging requests with `policy` (`None`: not configured, every request refused).
    pub fn new(policy: Option<Rc<Policy>>, metrics: Rc<RefCell<Metrics>>) -> Self {
        AuthzHttp { policy, metrics }
    }

    fn fail_closed(&self, why: &str) -> Action {
        log::warn!("workload-authz: refusing request: {why}");
        let body = br#"{"error":"unavailable","reason":"filter_unavailable"}"#;
        let headers = [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ];
        if let Err(status) = host::send_response(503, &headers, body) {
            log::warn!("workload-authz: cannot send local reply: {status:?}");
        }
        Action::Pause
    }

    fn record(&self, policy: &Policy, decision: &Decision) {
        for (key, value) in telemetry::filter_state(decision, policy) {
            if let Err(status) = host::set_filter_state(key, &value) {
                log::debug!("workload-authz: cannot set filter state {key}: {status:?}");
            }
        }
        let mut metrics = self.metrics.borrow_mut();
        metrics.increment(&telemetry::decisions_metric(decision));
        if let Some(name) = telemetry::validations_metric(decision) {
            metrics.increment(&name);
        }
        log::debug!(
            "workload-authz: decision={} reason={} action={} provider={} subject={} jti={} policy={}",
            decision.outcome.as_str(),
            decision.reason,
            decision.action.as_deref().unwrap_or("-"),
            decision.provider.as_deref().unwrap_or("-"),
            decision.subject.as_deref().unwrap_or("-"),
            decision.token_id.as_deref().unwrap_or("-"),
            policy.hash,
        );
    }
}

fn pseudo<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Removes every client-sent copy of the headers the filter may set, whatever the decision.
fn strip_spoofable(policy: &Policy, headers: &[(String, String)]) {
    for name in &policy.stripped_headers {
        if headers.iter().any(|(n, _)| n == name) {
            if let Err(status) = host::remove_request_header(name) {
                log::warn!("workload-authz: cannot remove header {name}: {status:?}");
            }
        }
    }
}

/// Applies an allowed (or shadow) decision to the request forwarded upstream.
fn forward(decision: &Decision) {
    if let Some(name) = &decision.drop_header {
        if let Err(status) = host::remove_request_header(name) {
            log::warn!("workload-authz: cannot remove header {name}: {status:?}");
        }
    }
    for (name, value) in &decision.upstream_headers {
        if let Err(status) = host::set_request_header(name, value) {
            log::warn!("workload-authz: cannot set header {name}: {status:?}");
        }
    }
}

impl Context for AuthzHttp {}

impl HttpContext for AuthzHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(policy) = self.policy.clone() else {
            return self.fail_closed("no valid configuration is loaded");
        };
        let headers = match host::request_headers() {
            Ok(headers) => headers,
            Err(status) => {
                return self.fail_closed(&format!("request headers unavailable ({status:?})"))
            }
        };
        strip_spoofable(&policy, &headers);
        let Some(now) = host::now_seconds() else {
            return self.fail_closed("the clock is unavailable");
        };
        let request = RequestView {
            method: pseudo(&headers, ":method"),
            path: pseudo(&headers, ":path"),
            authority: pseudo(&headers, ":authority"),
            headers: &headers,
        };
        let decision = decide(&policy, &request, now, &GuestVerifier);
        self.record(&policy, &decision);
        let Some(denial) = render_denial(&decision, &policy.realm) else {
            forward(&decision);
            return Action::Continue;
        };
        let headers: Vec<(&str, &str)> = denial
            .headers
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .collect();
        if let Err(status) = host::send_response(denial.status, &headers, denial.body.as_bytes()) {
            log::warn!("workload-authz: cannot send local reply: {status:?}");
        }
        Action::Pause
    }
}
