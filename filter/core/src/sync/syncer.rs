//! The sharing protocol of one worker VM, generic over its host ([`SharedData`], [`HttpFetch`]).
//!
//! | README rule | method |
//! |---|---|
//! | every worker installs what another fetched, at its 1-second tick | [`Syncer::tick`] → [`Syncer::pull`] |
//! | a request that finds no key set / no list looks again at once | [`Syncer::pull_all`] |
//! | one fetch per proxy: a lease taken with CAS, held `timeout_ms` + 1 s | [`Syncer::tick`] (lease) |
//! | the document stored as `<fetched_at>\n<body>` under a key holding the policy hash, CAS | [`Syncer::on_answer`] (publish) |
//! | stale-if-error: a failed or invalid fetch changes nothing but a log line and a counter | [`Syncer::on_answer`] |
//! | unknown `kid`: one early refetch per provider per [`EARLY_REFETCH_SECONDS`], whole proxy | [`Syncer::request_early_refetch`] |
//! | an answer to a call this configuration did not send is ignored | [`Syncer::on_response`] |
//! | a discovery document's `jwks_uri` is where its key set is fetched; a moved one at once | `Syncer::follow` (from [`Syncer::pull`], [`Syncer::on_answer`]) |
//!
//! Every method takes `now` (seconds since the Unix epoch) when it needs time; none reads a clock.
//! What happened is queued as [`SyncEvent`]s, taken with [`Syncer::take_events`].

use super::event::{EventKind, FetchFailure, SyncEvent};
use super::host::{Answer, HttpFetch, SetError, SharedData};
use super::{
    accept, install, lease_seconds, read_stamp, refresh_due, resources, stamp, Resource,
    ResourceKind, SharedDoc, EARLY_REFETCH_SECONDS,
};
use crate::config::{HttpUri, Policy, ProviderId};
use crate::state::RuntimeState;

/// Attempts of a CAS write of a fetched document before giving up (another VM keeps writing
/// the same key).
pub const CAS_ATTEMPTS: usize = 5;

/// A fetch in flight: its call token and the index of its resource in [`Syncer::resources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The host's call token.
    pub token: u32,
    /// Which resource it fetches.
    pub resource: usize,
}

/// What this worker knows of one resource's shared document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slot {
    /// CAS token of the shared document last looked at here (installed or refused).
    pub seen_cas: Option<u32>,
    /// `fetched_at` of the document last seen or fetched here: when the next fetch is due.
    pub fetched_at: Option<u64>,
}

/// One worker's side of the protocol for one configuration. A new configuration gets a new
/// `Syncer` (its keys hold the new policy hash), so answers to the old one's calls are unknown.
pub struct Syncer<S, H> {
    resources: Vec<Resource>,
    slots: Vec<Slot>,
    /// Calls sent by [`Syncer::tick`] and not answered yet (early refetches are held by the
    /// request that waits for them).
    calls: Vec<Call>,
    events: Vec<SyncEvent>,
    shared: S,
    http: H,
}

impl<S: SharedData, H: HttpFetch> Syncer<S, H> {
    /// The protocol for the remote documents of `policy`, over these hosts.
    pub fn new(policy: &Policy, shared: S, http: H) -> Self {
        let resources = resources(policy);
        Syncer {
            slots: vec![Slot::default(); resources.len()],
            resources,
            calls: Vec::new(),
            events: Vec::new(),
            shared,
            http,
        }
    }

    /// The remote documents kept fresh (empty: no timer needed).
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// This worker's view of resource `index`.
    pub fn slot(&self, index: usize) -> Option<Slot> {
        self.slots.get(index).copied()
    }

    /// Calls sent by [`Syncer::tick`] and not answered yet.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        std::mem::take(&mut self.events)
    }

    /// One tick: for every resource, install what another worker shared, then fetch it if it is
    /// due, no tick call of this worker is in flight for it, and this worker wins the lease.
    pub fn tick(&mut self, state: &mut RuntimeState, now: u64) {
        for index in 0..self.resources.len() {
            self.pull(index, state);
            let Some(resource) = self.resources.get(index) else {
                continue;
            };
            let fetched_at = self.slots.get(index).and_then(|s| s.fetched_at);
            let due = refresh_due(fetched_at, resource.refresh_seconds, now);
            let in_flight = self.calls.iter().any(|c| c.resource == index);
            if due && !in_flight {
                if let Some(token) = self.fetch_if_leased(index, now) {
                    self.calls.push(Call {
                        token,
                        resource: index,
                    });
                }
            }
        }
    }

    /// [`Syncer::pull`] for every resource.
    pub fn pull_all(&mut self, state: &mut RuntimeState) {
        for index in 0..self.resources.len() {
            self.pull(index, state);
        }
    }

    /// Installs the shared document of resource `index` if its CAS token changed since this
    /// worker last looked. A document that does not decode or does not install is looked at
    /// once (its CAS is remembered) and leaves the state as it was.
    pub fn pull(&mut self, index: usize, state: &mut RuntimeState) {
        let Some(resource) = self.resources.get(index) else {
            return;
        };
        let (value, cas) = match self.shared.get(&resource.data_key) {
            Ok(found) => found,
            Err(status) => {
                let source = resource.label.clone();
                self.report(source, EventKind::ReadFailed(status));
                return;
            }
        };
        let Some(slot) = self.slots.get_mut(index) else {
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
        match install(state, resource, &doc) {
            Ok(jwks_uri) => {
                // Fetched by this tick, if it is one (the key set comes after its document).
                self.follow(resource.kind, jwks_uri);
            }
            Err(error) => {
                let source = resource.label.clone();
                self.report(source, EventKind::Refused(error));
            }
        }
    }

    /// After a discovery document of `kind` was installed: makes its `jwks_uri` the place the
    /// provider's key set is fetched from. When that place changed, the key set is due at once
    /// (its last good keys keep serving until the new ones are installed) and a tick call still
    /// asking the old place is forgotten (its answer is ignored; its lease expires by itself).
    /// Returns the key set's index when it changed.
    fn follow(&mut self, kind: ResourceKind, jwks_uri: Option<HttpUri>) -> Option<usize> {
        let (ResourceKind::Discovery(provider), Some(jwks_uri)) = (kind, jwks_uri) else {
            return None;
        };
        let index = self
            .resources
            .iter()
            .position(|r| r.kind == ResourceKind::Jwks(provider))?;
        let resource = self.resources.get_mut(index)?;
        let slot = self.slots.get_mut(index)?;
        if resource.http_uri.as_ref() == Some(&jwks_uri) {
            return None;
        }
        let to = jwks_uri.uri.clone();
        let from = resource.http_uri.replace(jwks_uri).map(|u| u.uri);
        slot.fetched_at = None;
        let source = resource.label.clone();
        self.calls.retain(|c| c.resource != index);
        self.report(source, EventKind::JwksUriFound { from, to });
        Some(index)
    }

    /// Asks for an early refetch of the key set of provider `provider` (a token carried a `kid`
    /// the set lacks). Granted at most once per [`EARLY_REFETCH_SECONDS`] per provider across
    /// every worker sharing the data (a stamp taken with CAS), whether or not a tick fetch is in
    /// flight. The returned call is the caller's: hand its answer to [`Syncer::on_answer`].
    pub fn request_early_refetch(&mut self, provider: ProviderId, now: u64) -> Option<Call> {
        let index = self
            .resources
            .iter()
            .position(|r| r.kind == ResourceKind::Jwks(provider))?;
        let resource = self.resources.get(index)?;
        if !self.take_stamp(&resource.early_key, now, EARLY_REFETCH_SECONDS) {
            return None;
        }
        let token = self.start_fetch(index)?;
        Some(Call {
            token,
            resource: index,
        })
    }

    /// Forgets the tick call `token` and returns it; `None` if this `Syncer` did not send it.
    pub fn take_call(&mut self, token: u32) -> Option<Call> {
        let at = self.calls.iter().position(|c| c.token == token)?;
        Some(self.calls.remove(at))
    }

    /// Handles the answer to tick call `token`: [`Syncer::take_call`], then
    /// [`Syncer::on_answer`]. Returns false (and changes nothing) for a token this `Syncer`
    /// did not send, such as an answer arriving after the configuration changed.
    pub fn on_response(
        &mut self,
        token: u32,
        answer: &Answer,
        state: &mut RuntimeState,
        now: u64,
    ) -> bool {
        let Some(call) = self.take_call(token) else {
            return false;
        };
        self.on_answer(call, answer, state, now);
        true
    }

    /// Handles the answer to `call` (a tick call or an early refetch): releases the fetch
    /// lease whatever happened, then, if the document is valid, shares it (CAS, retried) and
    /// installs it here. An invalid or failed answer changes no state: the last good document
    /// keeps serving, a revocation is never forgotten, and the next tick may retry.
    pub fn on_answer(&mut self, call: Call, answer: &Answer, state: &mut RuntimeState, now: u64) {
        let Some(resource) = self.resources.get(call.resource) else {
            return;
        };
        let source = resource.label.clone();
        let uri = resource
            .http_uri
            .as_ref()
            .map_or_else(String::new, |u| u.uri.clone());
        let kind = resource.kind;
        let released = self.shared.set(&resource.lease_key, &stamp(0), None);
        let accepted = accept(resource, answer.status, answer.body.as_deref());
        let outcome = accepted.map(|body| {
            let doc = SharedDoc {
                fetched_at: now,
                body,
            };
            (
                self.publish(&resource.data_key, &doc),
                install(state, resource, &doc),
            )
        });
        if let Err(error) = released {
            self.report(source.clone(), EventKind::ReleaseFailed(error));
        }
        let installed = match outcome {
            Ok((published, installed)) => {
                if let Err(error) = published {
                    self.report(source.clone(), EventKind::ShareFailed(error));
                }
                installed
            }
            Err(error) => Err(error),
        };
        match installed {
            Ok(jwks_uri) => {
                if let Some(slot) = self.slots.get_mut(call.resource) {
                    slot.fetched_at = Some(now);
                }
                self.report(source, EventKind::Updated { uri });
                // A new place for the key set: fetched now rather than at the next tick.
                if let Some(index) = self.follow(kind, jwks_uri) {
                    if let Some(token) = self.fetch_if_leased(index, now) {
                        self.calls.push(Call {
                            token,
                            resource: index,
                        });
                    }
                }
            }
            Err(error) => self.fetch_failed(source, uri, FetchFailure::Answer(error)),
        }
    }

    /// Takes the fetch lease of resource `index` and, if this worker won it, sends the GET.
    fn fetch_if_leased(&mut self, index: usize, now: u64) -> Option<u32> {
        let resource = self.resources.get(index)?;
        let hold = lease_seconds(resource.http_uri.as_ref()?);
        if !self.take_stamp(&resource.lease_key, now, hold) {
            return None;
        }
        self.start_fetch(index)
    }

    /// Claims a time slot in shared data: succeeds when the stored stamp is not in the future,
    /// writing `now + hold` with the CAS token read, so of two workers only one wins. (A key
    /// never written has no CAS token: proxy-wasm has no "create if absent", so the very first
    /// claim of a key is not protected and two workers may both win it once.)
    fn take_stamp(&self, key: &str, now: u64, hold: u64) -> bool {
        let Ok((value, cas)) = self.shared.get(key) else {
            return false;
        };
        if read_stamp(value.as_deref()) > now {
            return false;
        }
        self.shared
            .set(key, &stamp(now.saturating_add(hold)), cas)
            .is_ok()
    }

    /// Sends the GET for resource `index`. A refused dispatch counts as a failed fetch and
    /// keeps the lease: the next attempt waits for it to expire.
    fn start_fetch(&mut self, index: usize) -> Option<u32> {
        let resource = self.resources.get(index)?;
        let uri = resource.http_uri.as_ref()?;
        let source = resource.label.clone();
        match self.http.dispatch_get(uri) {
            Ok(token) => {
                let uri = uri.uri.clone();
                self.report(source, EventKind::Fetching { uri });
                Some(token)
            }
            Err(status) => {
                let failure = FetchFailure::Dispatch {
                    cluster: uri.cluster.clone(),
                    status,
                };
                let uri = uri.uri.clone();
                self.fetch_failed(source, uri, failure);
                None
            }
        }
    }

    /// Writes `doc` to `key` with the CAS token just read, up to [`CAS_ATTEMPTS`] times.
    fn publish(&self, key: &str, doc: &SharedDoc) -> Result<(), SetError> {
        let bytes = doc.encode();
        let mut last = SetError::CasMismatch;
        for _ in 0..CAS_ATTEMPTS {
            let (_, cas) = self.shared.get(key)?;
            match self.shared.set(key, &bytes, cas) {
                Ok(()) => return Ok(()),
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    fn fetch_failed(&mut self, source: String, uri: String, failure: FetchFailure) {
        self.report(source, EventKind::FetchFailed { uri, failure });
    }

    fn report(&mut self, source: String, kind: EventKind) {
        self.events.push(SyncEvent { source, kind });
    }
}
