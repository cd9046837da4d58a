//! One request: gather a request view, ask the core, apply the decision. A token signed with a
//! `kid` the remote key set does not have pauses the request for one early refetch.

use crate::connection::HostConnection;
use crate::host;
use crate::plugin::Plugin;
use crate::sync;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;
use workload_authz_core::headers::PackedHeaders;
use workload_authz_core::sync::Call;
use workload_authz_core::telemetry;
use workload_authz_core::{decide_in, render_denial, Decision, Reason, RequestView};

/// The per-request context.
pub struct AuthzHttp {
    plugin: Option<Rc<Plugin>>,
    headers: PackedHeaders,
    /// The early key-set refetch this request waits for.
    pending: Option<Call>,
}

impl AuthzHttp {
    /// A context judging requests with `plugin` (`None`: not configured, every request refused).
    pub fn new(plugin: Option<Rc<Plugin>>) -> Self {
        AuthzHttp {
            plugin,
            headers: PackedHeaders::default(),
            pending: None,
        }
    }

    fn judge(&self, plugin: &Plugin, now: u64) -> Decision {
        let pairs = self.headers.pairs();
        let request = RequestView {
            method: self.headers.get(":method").unwrap_or(""),
            path: self.headers.get(":path").unwrap_or(""),
            authority: self.headers.get(":authority").unwrap_or(""),
            headers: &pairs,
        };
        let state = plugin.state.borrow();
        let connection = HostConnection::default();
        decide_in(
            &plugin.policy,
            &state,
            &request,
            &connection,
            now,
            &plugin.verifier,
        )
    }

    /// Records the decision and applies it; returns whether the request goes on.
    fn finish(&self, plugin: &Plugin, decision: &Decision) -> bool {
        record(plugin, decision);
        match render_denial(decision, &plugin.policy.realm) {
            None => {
                forward(decision);
                true
            }
            Some(denial) => {
                let headers: Vec<(&str, &str)> = denial
                    .headers
                    .iter()
                    .map(|(n, v)| (*n, v.as_str()))
                    .collect();
                if let Err(status) =
                    host::send_response(denial.status, &headers, denial.body.as_bytes())
                {
                    log::warn!("workload-authz: cannot send local reply: {status:?}");
                }
                false
            }
        }
    }
}

fn fail_closed(why: &str) -> Action {
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

fn record(plugin: &Plugin, decision: &Decision) {
    let policy = &plugin.policy;
    for (key, value) in telemetry::filter_state(decision, policy) {
        if let Err(status) = host::set_filter_state(key, &value) {
            log::debug!("workload-authz: cannot set filter state {key}: {status:?}");
        }
    }
    plugin.metrics.borrow_mut().count(decision);
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

/// Removes every client-sent copy of the headers the filter may set, whatever the decision.
fn strip_spoofable(plugin: &Plugin, headers: &PackedHeaders) {
    for name in &plugin.policy.stripped_headers {
        if headers.get(name).is_some() {
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

impl Context for AuthzHttp {
    fn on_http_call_response(&mut self, token_id: u32, _: usize, body_size: usize, _: usize) {
        let Some(plugin) = self.plugin.clone() else {
            return;
        };
        let Some(pending) = self.pending.take_if(|p| p.token == token_id) else {
            return;
        };
        let Some(now) = host::now_seconds() else {
            fail_closed("the clock is unavailable");
            return;
        };
        sync::on_answer(&plugin, pending, body_size, now);
        let decision = self.judge(&plugin, now);
        if self.finish(&plugin, &decision) {
            if let Err(status) = host::resume_request() {
                log::warn!("workload-authz: cannot resume the request: {status:?}");
            }
        }
    }
}

impl HttpContext for AuthzHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(plugin) = self.plugin.clone() else {
            return fail_closed("no valid configuration is loaded");
        };
        self.headers = match host::request_headers() {
            Ok(headers) if headers.is_complete() => headers,
            Ok(_) => return fail_closed("the host sent an inconsistent header list"),
            Err(status) => {
                return fail_closed(&format!("request headers unavailable (status {status})"))
            }
        };
        strip_spoofable(&plugin, &self.headers);
        let Some(now) = host::now_seconds() else {
            return fail_closed("the clock is unavailable");
        };
        let mut decision = self.judge(&plugin, now);
        if matches!(
            decision.reason,
            Reason::KeysUnavailable | Reason::RevocationUnavailable
        ) {
            // Another worker may have fetched it since this one's last tick: look now.
            sync::pull_all(&plugin);
            decision = self.judge(&plugin, now);
        }
        if let Some(pending) = sync::early_refetch(&plugin, &decision, now) {
            log::debug!("workload-authz: unknown kid: pausing the request for a key-set refetch");
            self.pending = Some(pending);
            return Action::Pause;
        }
        if self.finish(&plugin, &decision) {
            Action::Continue
        } else {
            Action::Pause
        }
    }
}
