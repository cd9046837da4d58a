//! Memoised decisions: a request whose every input the engine reads equals an earlier one's,
//! in the same second, under the same key sets, revocations and configuration, gets the earlier
//! decision without running the stages again (the `reuse` hot path of a mesh: one workload, one
//! token, the same few routes).
//!
//! What makes it equal to deciding afresh:
//! * the key ([`key`]) holds the method, the raw path, the authority, the number of headers and,
//!   in order, every header the policy can read (each provider's token headers, each route's
//!   `headers_read`), names and values as sent;
//! * the connection facts the decision read (source address, peer URI SAN, peer certificate
//!   digest) are recorded while it is made ([`facts`]) and must read the same again;
//! * entries are kept for one second of the clock (the engine's time unit: expiry, lifetime,
//!   `token_ttl_remaining`) and dropped when the runtime state changes ([`RuntimeState::generation`])
//!   or the policy does (its hash);
//! * decisions that depend on a fetch still to come (`keys_unavailable`,
//!   `revocation_unavailable`, `unknown_key`) or that checked a DPoP proof are never kept; an
//!   MCP route's header-time verdict (`awaiting_body`) is kept like any other, its body is
//!   judged afresh every time (the memo is never given one).
//!
//! The differential tests (`tests/memo.rs`, and the `decide` fuzz target) check memoised ==
//! fresh decisions, with the headers the policy does not read changed, and that every header
//! value the engine reads is one the key holds.

mod facts;
mod key;
mod table;

use crate::config::Policy;
use crate::decision::{Decision, Reason};
use crate::engine::{decide_in, RequestView};
use crate::identity::ConnectionInfo;
use crate::state::RuntimeState;
use crate::token::SignatureVerifier;
use facts::{ConnectionFacts, Recording};
pub use key::{KeyInputs, RequestParts, MAX_KEY_BYTES};
use std::rc::Rc;
use table::KeyTable;

/// Decisions kept per worker by default (`limits.decision_memo_entries`).
pub const DEFAULT_ENTRIES: usize = 512;

/// A decision made once and served again, with what the host keeps beside it (`V`: for the
/// plugin, the encoded record).
#[derive(Debug)]
pub struct Memoised<V> {
    /// The decision.
    pub decision: Decision,
    /// The host's companion value, made once per decision.
    pub value: V,
    /// The connection facts the decision read, with their values.
    facts: ConnectionFacts,
}

/// Decisions of the current second, by request key.
#[derive(Debug)]
pub struct DecisionMemo<V> {
    inputs: KeyInputs,
    policy_hash: String,
    capacity: usize,
    /// The second, state generation and policy the entries belong to.
    second: u64,
    generation: u64,
    entries: KeyTable<Rc<Memoised<V>>>,
    served: u64,
    /// The current request's key (its allocation reused: a served decision allocates nothing).
    scratch: Vec<u8>,
}

impl<V: Default> DecisionMemo<V> {
    /// A memo for `policy`, holding at most `policy.limits.decision_memo_entries` decisions
    /// (`0`: memoisation off).
    pub fn new(policy: &Policy) -> Self {
        DecisionMemo {
            inputs: KeyInputs::of(policy),
            policy_hash: policy.hash.clone(),
            capacity: policy.limits.decision_memo_entries,
            second: 0,
            generation: 0,
            entries: KeyTable::new(),
            served: 0,
            scratch: Vec::new(),
        }
    }

    /// The decision for `request`, as [`decide_in`] makes it: the memoised one when every
    /// input it read is unchanged, else a fresh one (kept when it may be).
    pub fn decide<H: AsRef<str>>(
        &mut self,
        policy: &Policy,
        state: &RuntimeState,
        request: &RequestView<'_, H>,
        connection: &dyn ConnectionInfo,
        now: u64,
        verifier: &dyn SignatureVerifier,
    ) -> Rc<Memoised<V>> {
        let parts = RequestParts::of(request);
        self.decide_parts(policy, state, parts, connection, now, verifier)
    }

    /// [`DecisionMemo::decide`] for a request given by its parts: a served decision reads the
    /// headers once, for the key, and collects nothing.
    pub fn decide_parts<'a, I>(
        &mut self,
        policy: &Policy,
        state: &RuntimeState,
        request: RequestParts<'a, I>,
        connection: &dyn ConnectionInfo,
        now: u64,
        verifier: &dyn SignatureVerifier,
    ) -> Rc<Memoised<V>>
    where
        I: ExactSizeIterator<Item = (&'a str, &'a str)> + Clone,
    {
        self.forget_stale(policy, state, now);
        let keyed = self.capacity > 0 && self.inputs.write_key(&request, &mut self.scratch);
        if let Some(found) = keyed
            .then(|| self.entries.get(self.scratch.as_slice()))
            .flatten()
        {
            if found.facts.still_hold(connection) {
                self.served = self.served.saturating_add(1);
                return Rc::clone(found);
            }
        }
        let recording = Recording::new(connection);
        let decision =
            request.with_view(|view| decide_in(policy, state, view, &recording, now, verifier));
        let memoised = Rc::new(Memoised {
            facts: recording.facts(),
            decision,
            value: V::default(),
        });
        if keyed && keeps(&memoised.decision) && self.entries.len() < self.capacity {
            self.entries.insert(&self.scratch, Rc::clone(&memoised));
        }
        memoised
    }

    /// Number of decisions kept for the current second.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no decision is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// How many requests were answered from the memo since it was made.
    pub fn served(&self) -> u64 {
        self.served
    }

    /// Drops every entry made in another second, under another state or another policy.
    fn forget_stale(&mut self, policy: &Policy, state: &RuntimeState, now: u64) {
        let generation = state.generation();
        let same_policy = table::same_bytes(self.policy_hash.as_bytes(), policy.hash.as_bytes());
        if self.second == now && self.generation == generation && same_policy {
            return;
        }
        if !same_policy {
            *self = DecisionMemo::new(policy);
        }
        self.entries.clear();
        self.second = now;
        self.generation = generation;
    }
}

/// Whether a decision may be served again: not one waiting for a fetch (the next request may
/// find the keys or list installed), or one that checked a DPoP proof (each proof is used once;
/// its header is not in the key). The memo only makes header-time decisions (it is never given
/// a body), so an MCP route's verdict is kept as it stands at header time, `awaiting_body`
/// included: its body is judged afresh on every request.
fn keeps(decision: &Decision) -> bool {
    !decision.dpop.as_ref().is_some_and(|d| d.proof_checked)
        && !waits_for_fetch(decision.reason)
        && !decision.token_result.is_some_and(waits_for_fetch)
}

fn waits_for_fetch(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::KeysUnavailable | Reason::RevocationUnavailable | Reason::UnknownKey
    )
}
