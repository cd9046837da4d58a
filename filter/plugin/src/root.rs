//! The root context: reads and compiles the configuration, creates one HTTP context per request.

use crate::host;
use crate::http::AuthzHttp;
use crate::metrics::Metrics;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use std::cell::RefCell;
use std::rc::Rc;
use workload_authz_core::{compile, Policy};

/// Per-VM state: the compiled policy, shared by every request on this worker.
#[derive(Default)]
pub struct AuthzRoot {
    policy: Option<Rc<Policy>>,
    metrics: Rc<RefCell<Metrics>>,
}

impl Context for AuthzRoot {}

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
        match compile(text) {
            Ok(policy) => {
                log::info!(
                    "workload-authz: configured: {} provider(s), {} route(s), mode {}, policy {}",
                    policy.providers.len(),
                    policy.routes.len(),
                    policy.mode.as_str(),
                    policy.hash
                );
                self.policy = Some(Rc::new(policy));
                true
            }
            Err(errors) => {
                for error in &errors.0 {
                    log::warn!("workload-authz: invalid configuration: {error}");
                }
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AuthzHttp::new(
            self.policy.clone(),
            Rc::clone(&self.metrics),
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
