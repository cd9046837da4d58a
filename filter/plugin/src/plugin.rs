//! What one VM knows: the compiled policy, the run-time state (fetched keys, revocations), the
//! remote documents to keep fresh, and the metrics. Shared by the root and HTTP contexts.

use crate::metrics::Metrics;
use crate::verifier::FilterVerifier;
use std::cell::RefCell;
use workload_authz_core::config::VerifierChoice;
use workload_authz_core::sync::{self, Resource};
use workload_authz_core::{Policy, RuntimeState};

/// Per-resource bookkeeping of this VM.
#[derive(Debug, Default, Clone)]
pub struct SyncSlot {
    /// CAS of the shared document last installed here.
    pub seen_cas: Option<u32>,
    /// `fetched_at` of the shared document last seen.
    pub fetched_at: Option<u64>,
}

/// Everything a VM holds for one configuration.
pub struct Plugin {
    /// The compiled policy.
    pub policy: Policy,
    /// Remote documents (key sets, revocation list).
    pub resources: Vec<Resource>,
    /// Keys and revocations known at run time.
    pub state: RefCell<RuntimeState>,
    /// One slot per resource.
    pub slots: RefCell<Vec<SyncSlot>>,
    /// HTTP calls in flight from the root context: (token, resource index).
    pub calls: RefCell<Vec<(u32, usize)>>,
    /// Counters.
    pub metrics: RefCell<Metrics>,
    /// Where signatures are verified.
    pub verifier: FilterVerifier,
}

impl Plugin {
    /// A VM's state for `policy`.
    pub fn new(policy: Policy, host_verifier: bool) -> Self {
        let resources = sync::resources(&policy);
        let state = RuntimeState::new(&policy);
        Plugin {
            slots: RefCell::new(vec![SyncSlot::default(); resources.len()]),
            resources,
            state: RefCell::new(state),
            calls: RefCell::new(Vec::new()),
            metrics: RefCell::new(Metrics::default()),
            verifier: FilterVerifier {
                host: host_verifier && policy.signature_verifier == VerifierChoice::Auto,
            },
            policy,
        }
    }
}
