//! One request: gather a request view, ask the core, apply the decision. A token signed with a
//! `kid` the remote key set does not have pauses the request for one early refetch. On an MCP
//! route the request is paused in its headers (Envoy's `allow_on_headers_stop_iteration`), its
//! body read whole and judged with it: nothing reaches the upstream before the decision.

use crate::connection::HostConnection;
use crate::host;
use crate::plugin::Plugin;
use crate::record::Companion;
use crate::sync;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;
use workload_authz_core::config::RecordLevel;
use workload_authz_core::headers::PackedHeaders;
use workload_authz_core::mcp::discovery;
use workload_authz_core::memo::{Memoised, RequestParts};
use workload_authz_core::sync::Call;
use workload_authz_core::telemetry;
use workload_authz_core::{decide_with_body, render_denial, Decision, Outcome, Reason};

/// The request body, as far as the filter has seen it.
#[derive(Debug, Default, Clone, Copy)]
struct BodySeen {
    /// Bytes buffered so far.
    size: usize,
    /// Whether the last piece arrived.
    complete: bool,
}

/// The per-request context.
pub struct AuthzHttp {
    plugin: Option<Rc<Plugin>>,
    headers: PackedHeaders,
    /// The early key-set refetch this request waits for.
    pending: Option<Call>,
    /// An MCP route's body limit, while the request waits for its body.
    awaiting_body: Option<usize>,
    body: BodySeen,
    /// An allowed `tools/list`: the tools its answer may offer.
    tools_list: Option<crate::mcp::ToolsList>,
}

impl AuthzHttp {
    /// A context judging requests with `plugin` (`None`: not configured, every request refused).
    pub fn new(plugin: Option<Rc<Plugin>>) -> Self {
        AuthzHttp {
            plugin,
            headers: PackedHeaders::default(),
            pending: None,
            awaiting_body: None,
            body: BodySeen::default(),
            tools_list: None,
        }
    }

    /// The header-time decision, served from the memo when every input it read is unchanged.
    fn judge(&self, plugin: &Plugin, now: u64) -> Rc<Memoised<Companion>> {
        let request = self.request_parts();
        let state = plugin.state.borrow();
        plugin.memo.borrow_mut().decide_parts(
            &plugin.policy,
            &state,
            request,
            &HostConnection::default(),
            now,
            &plugin.verifier,
        )
    }

    /// The decision with the whole body (MCP routes), made afresh.
    fn judge_body(&self, plugin: &Plugin, now: u64, body: &[u8]) -> Decision {
        let state = plugin.state.borrow();
        self.request_parts().with_view(|request| {
            decide_with_body(
                &plugin.policy,
                &state,
                request,
                &HostConnection::default(),
                body,
                now,
                &plugin.verifier,
            )
        })
    }

    /// The request line and headers, read from the header buffer without collecting it.
    fn request_parts(
        &self,
    ) -> RequestParts<'_, impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_> {
        RequestParts {
            method: self.headers.get(":method").unwrap_or(""),
            path: self.headers.get(":path").unwrap_or(""),
            authority: self.headers.get(":authority").unwrap_or(""),
            headers: self.headers.iter(),
        }
    }

    /// A decision that waits for the body: pause until it is complete (or judge the empty body
    /// of a request that has none). Returns the action for the current callback.
    fn await_body(&mut self, plugin: &Plugin, judged: &Memoised<Companion>, now: u64) -> Action {
        let Some(max) = judged.decision.awaiting_body else {
            return self.conclude(plugin, &judged.decision, Some(&judged.value));
        };
        self.awaiting_body = Some(max);
        if self.body.complete || self.body.size > max {
            return self.judge_buffered_body(plugin, now);
        }
        Action::Pause
    }

    /// Judges the request with the body buffered so far (at most one byte over the limit, so
    /// that an oversized body is `body_too_large` without copying it).
    fn judge_buffered_body(&mut self, plugin: &Plugin, now: u64) -> Action {
        let max = self.awaiting_body.take().unwrap_or_default();
        let size = self.body.size.min(max.saturating_add(1));
        let body = if size == 0 {
            Vec::new()
        } else {
            match host::request_body(0, size) {
                Some(body) => body,
                None => return fail_closed("the request body is unavailable"),
            }
        };
        let decision = self.judge_body(plugin, now, &body);
        self.conclude(plugin, &decision, None)
    }

    /// Records and applies a final decision (with what is kept beside it, when it is
    /// memoised); the action that lets the request go on or not.
    fn conclude(
        &mut self,
        plugin: &Plugin,
        decision: &Decision,
        kept: Option<&Companion>,
    ) -> Action {
        if decision.outcome == Outcome::Allow {
            self.tools_list = crate::mcp::ToolsList::of(decision);
        }
        if self.finish(plugin, decision, kept) {
            Action::Continue
        } else {
            Action::Pause
        }
    }

    /// Records the decision and applies it; returns whether the request goes on.
    fn finish(&self, plugin: &Plugin, decision: &Decision, kept: Option<&Companion>) -> bool {
        record(plugin, decision, kept);
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

fn record(plugin: &Plugin, decision: &Decision, kept: Option<&Companion>) {
    let policy = &plugin.policy;
    // `struct` only once the host accepted its declaration (else configure chose `compact`).
    if policy.decision_record == RecordLevel::Struct {
        let fresh;
        let value = match kept {
            Some(kept) => kept
                .record
                .get_or_init(|| telemetry::record_struct(decision, policy)),
            None => {
                fresh = telemetry::record_struct(decision, policy);
                &fresh
            }
        };
        if let Err(status) = host::set_filter_state(telemetry::RECORD_PROPERTY, value) {
            log::debug!("workload-authz: cannot set the typed record: {status:?}");
        }
    }
    for (key, value) in telemetry::filter_state(decision, policy) {
        if let Err(status) = host::set_filter_state(key, value.as_bytes()) {
            log::debug!("workload-authz: cannot set filter state {key}: {status:?}");
        }
    }
    plugin
        .metrics
        .borrow_mut()
        .count(decision, kept.map(|k| &k.counters));
    log::debug!(
        "workload-authz: decision={} reason={} action={} provider={} subject={} jti={} policy={}{}{}",
        decision.outcome.as_str(),
        decision.reason,
        decision.action.as_deref().unwrap_or("-"),
        decision.provider.as_deref().unwrap_or("-"),
        decision.subject.as_deref().unwrap_or("-"),
        decision.token_id.as_deref().unwrap_or("-"),
        policy.hash,
        if decision.hint.is_some() { " hint=" } else { "" },
        decision.hint.as_deref().unwrap_or(""),
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
        let judged = self.judge(&plugin, now);
        // Allowed, or still waiting for an MCP body (then the body callback resumes it).
        if self.await_body(&plugin, &judged, now) == Action::Continue {
            if let Err(status) = host::resume_request() {
                log::warn!("workload-authz: cannot resume the request: {status:?}");
            }
        }
    }
}

impl HttpContext for AuthzHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
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
        self.body.complete = end_of_stream;
        if let Some(document) = self.resource_metadata(&plugin) {
            return serve_metadata(&document);
        }
        let Some(now) = host::now_seconds() else {
            return fail_closed("the clock is unavailable");
        };
        let mut judged = self.judge(&plugin, now);
        if matches!(
            judged.decision.reason,
            Reason::KeysUnavailable | Reason::RevocationUnavailable
        ) {
            // Another worker may have fetched it since this one's last tick: look now.
            sync::pull_all(&plugin);
            judged = self.judge(&plugin, now);
        }
        if let Some(pending) = sync::early_refetch(&plugin, &judged.decision, now) {
            log::debug!("workload-authz: unknown kid: pausing the request for a key-set refetch");
            self.pending = Some(pending);
            return Action::Pause;
        }
        self.await_body(&plugin, &judged, now)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.body = BodySeen {
            size: body_size,
            complete: end_of_stream,
        };
        let Some(max) = self.awaiting_body else {
            // A request waiting for a key refetch keeps its body until it is judged.
            return if self.pending.is_some() {
                Action::Pause
            } else {
                Action::Continue
            };
        };
        if !end_of_stream && body_size <= max {
            return Action::Pause;
        }
        let Some(plugin) = self.plugin.clone() else {
            return fail_closed("no valid configuration is loaded");
        };
        let Some(now) = host::now_seconds() else {
            return fail_closed("the clock is unavailable");
        };
        self.judge_buffered_body(&plugin, now)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if let Some(list) = self.tools_list.as_mut() {
            list.on_headers(end_of_stream);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match self.tools_list.as_mut() {
            Some(list) => list.on_body(body_size, end_of_stream),
            None => Action::Continue,
        }
    }
}

impl AuthzHttp {
    /// The RFC 9728 document a `GET /.well-known/oauth-protected-resource...` asks for.
    fn resource_metadata(&self, plugin: &Plugin) -> Option<String> {
        let method = self.headers.get(":method")?;
        let path = self.headers.get(":path")?;
        discovery::route_for(&plugin.policy, method, path).and_then(discovery::document)
    }
}

/// Answers a protected resource metadata request (no token needed).
fn serve_metadata(document: &str) -> Action {
    let headers = [
        ("content-type", "application/json"),
        ("cache-control", "max-age=300"),
    ];
    if let Err(status) = host::send_response(200, &headers, document.as_bytes()) {
        log::warn!("workload-authz: cannot send the resource metadata: {status:?}");
    }
    Action::Pause
}
