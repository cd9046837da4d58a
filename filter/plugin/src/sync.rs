//! Keeping remote documents fresh across worker VMs: one fetch per Envoy (a lease in shared data,
//! taken with CAS), the document stored in shared data, every VM installing it when it changes.
//! The rules (when, what is valid, the stored format) are in `workload_authz_core::sync`.

use crate::host;
use crate::plugin::Plugin;
use proxy_wasm::types::Status;
use workload_authz_core::sync::{self, Resource, SharedDoc};

/// Attempts of a CAS write before giving up (another VM keeps writing the same document).
const CAS_ATTEMPTS: usize = 5;

/// One tick: install what other VMs fetched, and fetch what is due (if this VM wins the lease).
pub fn tick(plugin: &Plugin, now: u64) {
    for index in 0..plugin.resources.len() {
        pull(plugin, index);
        let due = {
            let slots = plugin.slots.borrow();
            let Some(resource) = plugin.resources.get(index) else {
                continue;
            };
            let fetched_at = slots.get(index).and_then(|s| s.fetched_at);
            sync::refresh_due(fetched_at, resource.refresh_seconds, now)
        };
        let in_flight = plugin.calls.borrow().iter().any(|(_, r)| *r == index);
        if due && !in_flight {
            if let Some(token) = fetch_if_leased(plugin, index, now) {
                plugin.calls.borrow_mut().push((token, index));
            }
        }
    }
}

/// Installs the shared document of resource `index` if it changed since this VM last looked.
pub fn pull(plugin: &Plugin, index: usize) {
    let Some(resource) = plugin.resources.get(index) else {
        return;
    };
    let (value, cas) = match host::get_shared(&resource.data_key) {
        Ok(found) => found,
        Err(status) => {
            log::warn!(
                "workload-authz: {}: cannot read shared data: {status:?}",
                resource.label
            );
            return;
        }
    };
    let mut slots = plugin.slots.borrow_mut();
    let Some(slot) = slots.get_mut(index) else {
        return;
    };
    if cas.is_none() || cas == slot.seen_cas {
        return;
    }
    slot.seen_cas = cas;
    let Some(doc) = value.as_deref().and_then(SharedDoc::decode) else {
        return;
    };
    slot.fetched_at = Some(doc.fetched_at);
    if let Err(error) = sync::install(&mut plugin.state.borrow_mut(), resource, &doc) {
        log::warn!(
            "workload-authz: {}: shared document refused: {error}",
            resource.label
        );
    }
}

/// Takes the fetch lease of resource `index` (CAS) and, if this VM won it, starts the fetch.
pub fn fetch_if_leased(plugin: &Plugin, index: usize, now: u64) -> Option<u32> {
    let resource = plugin.resources.get(index)?;
    if !take_stamp(
        &resource.lease_key,
        now,
        sync::lease_seconds(&resource.http_uri),
    ) {
        return None;
    }
    start_fetch(plugin, resource)
}

/// Claims a time slot in shared data: succeeds when the stored stamp is in the past, writing
/// `now + hold` with CAS so only one VM wins.
pub fn take_stamp(key: &str, now: u64, hold: u64) -> bool {
    let Ok((value, cas)) = host::get_shared(key) else {
        return false;
    };
    if sync::read_stamp(value.as_deref()) > now {
        return false;
    }
    host::set_shared(key, &sync::stamp(now.saturating_add(hold)), cas).is_ok()
}

/// Sends the GET for `resource`.
pub fn start_fetch(plugin: &Plugin, resource: &Resource) -> Option<u32> {
    let uri = &resource.http_uri;
    match host::http_get(
        &uri.cluster,
        &uri.authority,
        &uri.path,
        &uri.scheme,
        uri.timeout_ms,
    ) {
        Ok(token) => {
            log::debug!("workload-authz: {}: fetching {}", resource.label, uri.uri);
            Some(token)
        }
        Err(status) => {
            let why = format!("cannot dispatch to cluster `{}`: {status:?}", uri.cluster);
            fetch_failed(plugin, resource, &why, "dispatch_failed");
            None
        }
    }
}

/// Handles the answer to a fetch of resource `index` (from whichever context sent it).
pub fn on_response(plugin: &Plugin, index: usize, body_size: usize, now: u64) {
    let Some(resource) = plugin.resources.get(index) else {
        return;
    };
    let status = host::http_call_status();
    let body = if body_size > 0 {
        host::http_call_body(body_size)
    } else {
        None
    };
    // Release the lease whatever happened, so the next due tick may try again.
    if let Err(status) = host::set_shared(&resource.lease_key, &sync::stamp(0), None) {
        log::debug!(
            "workload-authz: {}: cannot release lease: {status:?}",
            resource.label
        );
    }
    match sync::accept(resource, status, body.as_deref()) {
        Ok(body) => {
            let doc = SharedDoc {
                fetched_at: now,
                body,
            };
            if let Err(status) = publish(&resource.data_key, &doc) {
                log::warn!(
                    "workload-authz: {}: cannot share the document: {status:?}",
                    resource.label
                );
            }
            match sync::install(&mut plugin.state.borrow_mut(), resource, &doc) {
                Ok(()) => {
                    if let Some(slot) = plugin.slots.borrow_mut().get_mut(index) {
                        slot.fetched_at = Some(now);
                    }
                    log::info!(
                        "workload-authz: {}: updated from {}",
                        resource.label,
                        resource.http_uri.uri
                    );
                    count(plugin, resource, "ok");
                }
                Err(error) => fetch_failed(plugin, resource, &error.to_string(), "invalid"),
            }
        }
        Err(error) => fetch_failed(plugin, resource, &error.to_string(), &error.label()),
    }
}

fn publish(key: &str, doc: &SharedDoc) -> Result<(), Status> {
    let bytes = doc.encode();
    let mut last = Status::InternalFailure;
    for _ in 0..CAS_ATTEMPTS {
        let (_, cas) = host::get_shared(key)?;
        match host::set_shared(key, &bytes, cas) {
            Ok(()) => return Ok(()),
            Err(status) => last = status,
        }
    }
    Err(last)
}

fn fetch_failed(plugin: &Plugin, resource: &Resource, why: &str, label: &str) {
    log::warn!(
        "workload-authz: {}: fetch from {} failed: {why}; the last good document keeps serving",
        resource.label,
        resource.http_uri.uri
    );
    count(plugin, resource, label);
}

fn count(plugin: &Plugin, resource: &Resource, result: &str) {
    let name = format!(
        "source=.={};.;result=.={};.;workload_authz_fetches_total",
        resource.label, result
    );
    plugin.metrics.borrow_mut().increment(&name);
}
