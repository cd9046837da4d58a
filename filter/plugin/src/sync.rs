//! Remote documents kept fresh across worker VMs: the protocol (lease, CAS publish, early
//! refetch) is `workload_authz_core::sync::Syncer`; this module gives it the host (shared data
//! and HTTP calls over [`crate::host`]), reads the answers Envoy delivers, and turns what the
//! core reports into log lines and `workload_authz_fetches_total` counts.

use crate::host;
use crate::plugin::Plugin;
use proxy_wasm::types::Status;
use workload_authz_core::config::HttpUri;
use workload_authz_core::sync::{
    self, Answer, Call, HostStatus, HttpFetch, Level, SetError, SharedData, SyncEvent, Syncer,
};
use workload_authz_core::Decision;

/// The protocol over Envoy.
pub type HostSyncer = Syncer<HostSharedData, HostHttp>;

/// proxy-wasm shared data, through [`host::get_shared`] and [`host::set_shared`].
pub struct HostSharedData;

/// `dispatch_http_call`, through [`host::http_get`].
pub struct HostHttp;

fn named(status: Status) -> HostStatus {
    HostStatus(format!("{status:?}"))
}

impl SharedData for HostSharedData {
    fn get(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostStatus> {
        host::get_shared(key).map_err(named)
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError> {
        host::set_shared(key, value, cas).map_err(|status| match status {
            Status::CasMismatch => SetError::CasMismatch,
            other => SetError::Host(named(other)),
        })
    }
}

impl HttpFetch for HostHttp {
    fn dispatch_get(&self, uri: &HttpUri) -> Result<u32, HostStatus> {
        host::http_get(
            &uri.cluster,
            &uri.authority,
            &uri.path,
            &uri.scheme,
            uri.timeout_ms,
        )
        .map_err(named)
    }
}

/// One tick of the refresh timer.
pub fn tick(plugin: &Plugin, now: u64) {
    let mut syncer = plugin.sync.borrow_mut();
    syncer.tick(&mut plugin.state.borrow_mut(), now);
    report(plugin, syncer.take_events());
}

/// Installs whatever other workers shared since this one last looked.
pub fn pull_all(plugin: &Plugin) {
    let mut syncer = plugin.sync.borrow_mut();
    syncer.pull_all(&mut plugin.state.borrow_mut());
    report(plugin, syncer.take_events());
}

/// An answer delivered to the root context: handled if it is one of this configuration's
/// tick calls (taken from the in-flight list even when the clock then fails), else ignored.
pub fn on_root_response(plugin: &Plugin, token: u32, body_size: usize) {
    let Some(call) = plugin.sync.borrow_mut().take_call(token) else {
        return;
    };
    if let Some(now) = host::now_seconds() {
        on_answer(plugin, call, body_size, now);
    }
}

/// Hands the answer being delivered for `call` to the protocol.
pub fn on_answer(plugin: &Plugin, call: Call, body_size: usize, now: u64) {
    let answer = Answer {
        status: host::http_call_status(),
        body: if body_size > 0 {
            host::http_call_body(body_size)
        } else {
            None
        },
    };
    let mut syncer = plugin.sync.borrow_mut();
    syncer.on_answer(call, &answer, &mut plugin.state.borrow_mut(), now);
    report(plugin, syncer.take_events());
}

/// Starts an early refetch of the key set `decision` lacked a key from, if it is due.
pub fn early_refetch(plugin: &Plugin, decision: &Decision, now: u64) -> Option<Call> {
    let provider = sync::unknown_key_provider(&plugin.policy, decision)?;
    let mut syncer = plugin.sync.borrow_mut();
    let call = syncer.request_early_refetch(provider, now);
    report(plugin, syncer.take_events());
    call
}

/// Logs each event and counts finished fetches.
fn report(plugin: &Plugin, events: Vec<SyncEvent>) {
    for event in events {
        let level = match event.level() {
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
        };
        log::log!(level, "workload-authz: {event}");
        if let Some(name) = event.fetches_metric() {
            plugin.metrics.borrow_mut().increment(&name);
        }
    }
}
