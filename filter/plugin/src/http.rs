//! One request: gather a request view, ask the core, apply the decision.

use crate::host;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;
use workload_authz_core::{decide, render_denial, GuestVerifier, Policy, RequestView};

/// The per-request context.
pub struct AuthzHttp {
    policy: Option<Rc<Policy>>,
}

impl AuthzHttp {
    /// A context judging requests with `policy` (`None`: not configured, every request refused).
    pub fn new(policy: Option<Rc<Policy>>) -> Self {
        AuthzHttp { policy }
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
}

fn pseudo<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
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
        log::debug!(
            "workload-authz: decision {} action={} provider={} subject={}",
            decision.reason,
            decision.action.as_deref().unwrap_or("-"),
            decision.provider.as_deref().unwrap_or("-"),
            decision.subject.as_deref().unwrap_or("-"),
        );
        let Some(denial) = render_denial(&decision, &policy.realm) else {
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
