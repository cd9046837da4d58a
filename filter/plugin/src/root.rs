//! The root context: reads and compiles the configuration, keeps remote documents fresh on a
//! timer, and creates one HTTP context per request.

use crate::host;
use crate::http::AuthzHttp;
use crate::plugin::Plugin;
use crate::sync;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use std::rc::Rc;
use workload_authz_core::compile;
use workload_authz_core::config::RecordLevel;

/// Seconds between two ticks (shared documents picked up, due fetches started).
const TICK_SECONDS: u64 = 1;

/// Per-VM root: the configured plugin, shared by every request on this worker.
#[derive(Default)]
pub struct AuthzRoot {
    plugin: Option<Rc<Plugin>>,
}

impl Context for AuthzRoot {
    fn on_http_call_response(&mut self, token_id: u32, _: usize, body_size: usize, _: usize) {
        if let Some(plugin) = &self.plugin {
            sync::on_root_response(plugin, token_id, body_size);
        }
    }
}

impl RootContext for AuthzRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        host::install_logger();
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        host::install_logger();
        let bytes = match host::plugin_configuration() {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                log::warn!(
                    "workload-authz: configuration: missing (the filter needs a JSON policy)"
                );
                return false;
            }
            Err(status) => {
                log::warn!(
                    "workload-authz: configuration: cannot be read from the host ({status:?})"
                );
                return false;
            }
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            log::warn!("workload-authz: configuration: not UTF-8 text");
            return false;
        };
        let mut policy = match compile(text) {
            Ok(policy) => policy,
            Err(errors) => {
                // The same message and hint as `workload-authz check`, one line per problem.
                for error in &errors.0 {
                    log::warn!(
                        "workload-authz: invalid configuration: {}",
                        error.with_hint()
                    );
                }
                return false;
            }
        };
        log::info!(
            "workload-authz: configured: {} provider(s), {} route(s), mode {}, policy {}",
            policy.providers.len(),
            policy.routes.len(),
            policy.mode.as_str(),
            policy.hash
        );
        let host_verifier = crate::verifier::probe();
        if policy.decision_record == RecordLevel::Struct {
            if let Err(why) = crate::record::declare() {
                // Telemetry, not security: keep serving, with the record as JSON text.
                log::warn!(
                    "workload-authz: decision_record `struct` cannot be typed ({why}): \
                     writing `compact` instead (wasm.workload_authz.record as JSON text)"
                );
                policy.decision_record = RecordLevel::Compact;
            }
        }
        let plugin = Plugin::new(policy, host_verifier);
        log::info!(
            "workload-authz: signatures verified by {}",
            if plugin.verifier.host {
                "the host (RS*/ES*) and the guest (PS*/EdDSA)"
            } else {
                "the guest"
            }
        );
        if !plugin.sync.borrow().resources().is_empty() {
            if let Err(status) = host::set_tick_seconds(TICK_SECONDS) {
                log::warn!("workload-authz: cannot start the refresh timer: {status:?}");
                return false;
            }
        }
        self.plugin = Some(Rc::new(plugin));
        true
    }

    fn on_tick(&mut self) {
        if let (Some(plugin), Some(now)) = (&self.plugin, host::now_seconds()) {
            sync::tick(plugin, now);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AuthzHttp::new(self.plugin.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
