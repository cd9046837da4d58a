//! `workload-authz-core`: the pure policy engine of workload-authz.
//!
//! It knows nothing of proxy-wasm: the configuration is compiled by [`config::compile`], each
//! request is judged by [`engine::decide`] with the current time passed in, and the result is a
//! [`decision::Decision`] value that the plugin (or the CLI) turns into an answer.
//! Remote key sets and revocation lists are kept fresh across worker VMs by [`sync::Syncer`],
//! written against host traits ([`sync::SharedData`], [`sync::HttpFetch`]) that the plugin
//! implements over proxy-wasm and [`sync::fake`] implements in memory.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod config;
pub mod decision;
pub mod dpop;
pub mod engine;
pub mod headers;
pub mod identity;
pub mod keys;
pub mod mcp;
pub mod memo;
pub mod require;
pub mod revocation;
pub mod routes;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod token;

pub use config::{compile, ConfigError, ConfigErrors, Policy, ProviderId, RouteId};
pub use decision::{render_denial, Decision, DenyResponse, Mode, Outcome, Reason, Step};
pub use engine::{
    decide, decide_in, decide_with_body, explain, explain_in, explain_with_body, RequestView,
};
pub use identity::{ConnectionInfo, NoConnection, StaticConnection};
pub use state::RuntimeState;
pub use token::{GuestVerifier, SignatureVerifier};
