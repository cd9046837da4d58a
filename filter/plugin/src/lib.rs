//! `workload-authz`: a proxy-wasm HTTP filter that judges every request with `workload-authz-core`.
//!
//! - [`root`]: configuration, one compiled policy per VM, the refresh timer.
//! - [`plugin`]: what a VM holds: policy, run-time state, remote documents, metrics.
//! - [`sync`]: the core's protocol for remote key sets and revocation lists shared across VMs
//!   (`workload_authz_core::sync::Syncer`), given Envoy's shared data and HTTP calls.
//! - [`http`]: one request → one decision (an MCP route's body read whole first).
//! - [`mcp`]: `tools/list` answers cut to the tools the caller may call.
//! - [`metrics`]: counters defined once per name, kept as ids.
//! - [`record`]: the decision record declared to the host as one typed `Struct`.
//! - [`connection`]: mTLS peer and source address, read from Envoy properties on demand.
//! - [`host`]: the only place that talks to the host; errors become values, nothing unwraps.

pub mod connection;
pub mod host;
pub mod http;
pub mod mcp;
pub mod metrics;
pub mod plugin;
pub mod record;
pub mod root;
pub mod sync;
pub mod verifier;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::AuthzRoot::default())
    });
}}
