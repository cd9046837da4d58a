//! What one VM knows: the compiled policy, the run-time state (fetched keys, revocations), the
//! protocol keeping remote documents fresh, and the metrics. Shared by the root and HTTP contexts.

use crate::metrics::Metrics;
use crate::sync::{HostHttp, HostSharedData, HostSyncer};
use crate::verifier::FilterVerifier;
use std::cell::RefCell;
use std::rc::Rc;
use workload_authz_core::config::VerifierChoice;
use workload_authz_core::memo::DecisionMemo;
use workload_authz_core::sync::Syncer;
use workload_authz_core::{Policy, RuntimeState};

/// Everything a VM holds for one configuration.
pub struct Plugin {
    /// The compiled policy.
    pub policy: Policy,
    /// Keys and revocations known at run time.
    pub state: RefCell<RuntimeState>,
    /// Remote documents (key sets, revocation list) and the calls in flight for them.
    pub sync: RefCell<HostSyncer>,
    /// Counters.
    pub metrics: RefCell<Metrics>,
    /// Header-time decisions of the current second, with their encoded records.
    pub memo: RefCell<DecisionMemo<crate::record::Companion>>,
    /// Where signatures are verified.
    pub verifier: FilterVerifier,
}

impl Plugin {
    /// A VM's state for `policy`.
    pub fn new(policy: Policy, host_verifier: bool) -> Self {
        let mut state = RuntimeState::new(&policy);
        // DPoP proofs are recorded where every worker VM sees them.
        state.share_replay_cache(Rc::new(HostSharedData), policy.limits.dpop_replay_entries);
        Plugin {
            sync: RefCell::new(Syncer::new(&policy, HostSharedData, HostHttp)),
            state: RefCell::new(state),
            metrics: RefCell::new(Metrics::default()),
            memo: RefCell::new(DecisionMemo::new(&policy)),
            verifier: FilterVerifier {
                host: host_verifier && policy.signature_verifier == VerifierChoice::Auto,
            },
            policy,
        }
    }
}
