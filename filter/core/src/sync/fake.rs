//! In-memory hosts for tests: shared data that several fake workers share (clones of one
//! [`FakeSharedData`]), and an HTTP host that records what it was asked to send
//! ([`FakeHttp`]). A test answers a recorded call later by handing its token and an
//! [`Answer`](super::Answer) (`ok`, `with_status`, `no_status`) to the worker's
//! [`Syncer`](super::Syncer), in whatever order it likes.

use super::host::{HostStatus, HttpFetch, SetError, SharedData};
use crate::config::HttpUri;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What another worker does between one worker's read of a key and its write.
type Hook = Box<dyn FnOnce()>;

#[derive(Default)]
struct Shared {
    entries: HashMap<String, (Vec<u8>, u32)>,
    last_cas: u32,
    hooks: Vec<(String, Hook)>,
    failing: bool,
    writes: usize,
    mismatches: usize,
}

/// proxy-wasm shared data in memory. Every clone sees the same map, as every worker VM of one
/// proxy sees the same shared data; CAS tokens follow Envoy's rules (see [`SharedData`]):
/// one counter across all keys, never 0, a `cas` of 0 or `None` meaning "no check".
#[derive(Clone, Default)]
pub struct FakeSharedData(Rc<RefCell<Shared>>);

fn internal_failure() -> HostStatus {
    HostStatus("InternalFailure".to_string())
}

impl FakeSharedData {
    /// Empty shared data.
    pub fn new() -> Self {
        FakeSharedData::default()
    }

    /// The value stored under `key`.
    pub fn value(&self, key: &str) -> Option<Vec<u8>> {
        self.0.borrow().entries.get(key).map(|(v, _)| v.clone())
    }

    /// The CAS token of `key`.
    pub fn cas(&self, key: &str) -> Option<u32> {
        self.0.borrow().entries.get(key).map(|(_, c)| *c)
    }

    /// The keys written so far, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.0.borrow().entries.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Writes `key` as another writer would (no CAS check), giving it a new CAS token.
    pub fn put(&self, key: &str, value: &[u8]) {
        let mut shared = self.0.borrow_mut();
        let cas = next_cas(&mut shared);
        shared
            .entries
            .insert(key.to_string(), (value.to_vec(), cas));
    }

    /// Makes every read and write fail with `InternalFailure` (`true`), or work again.
    pub fn set_failing(&self, failing: bool) {
        self.0.borrow_mut().failing = failing;
    }

    /// Runs `hook` at the next write of `key`, before that write is checked: it stands for
    /// another worker writing between this one's read and its write, the window a CAS token
    /// guards. The hook may drive another worker on the same shared data. Hooks of one key run
    /// in the order given, one per write.
    pub fn before_next_write(&self, key: &str, hook: impl FnOnce() + 'static) {
        self.0
            .borrow_mut()
            .hooks
            .push((key.to_string(), Box::new(hook)));
    }

    /// Writes attempted through [`SharedData::set`] (not [`FakeSharedData::put`]), failed or not.
    pub fn writes(&self) -> usize {
        self.0.borrow().writes
    }

    /// Writes refused with [`SetError::CasMismatch`] so far.
    pub fn cas_mismatches(&self) -> usize {
        self.0.borrow().mismatches
    }
}

fn next_cas(shared: &mut Shared) -> u32 {
    shared.last_cas = shared.last_cas.wrapping_add(1).max(1);
    shared.last_cas
}

impl SharedData for FakeSharedData {
    fn get(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostStatus> {
        let shared = self.0.borrow();
        if shared.failing {
            return Err(internal_failure());
        }
        Ok(match shared.entries.get(key) {
            // As the proxy-wasm SDK reads Envoy's answer: an empty value comes back as none.
            Some((value, cas)) if value.is_empty() => (None, Some(*cas)),
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        })
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError> {
        let hook = {
            let mut shared = self.0.borrow_mut();
            let at = shared.hooks.iter().position(|(k, _)| k == key);
            at.map(|at| shared.hooks.remove(at).1)
        };
        if let Some(hook) = hook {
            hook();
        }
        let mut shared = self.0.borrow_mut();
        if shared.failing {
            return Err(SetError::Host(internal_failure()));
        }
        shared.writes += 1;
        let current = shared.entries.get(key).map(|(_, c)| *c);
        if let (Some(expected), Some(current)) = (cas.filter(|c| *c != 0), current) {
            if expected != current {
                shared.mismatches += 1;
                return Err(SetError::CasMismatch);
            }
        }
        let cas = next_cas(&mut shared);
        shared
            .entries
            .insert(key.to_string(), (value.to_vec(), cas));
        Ok(())
    }
}

/// A GET the fake HTTP host was asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    /// The call token handed back to the caller.
    pub token: u32,
    /// What was asked for.
    pub uri: HttpUri,
}

#[derive(Default)]
struct Http {
    last_token: u32,
    sent: Vec<Dispatched>,
    refusing: Option<HostStatus>,
}

/// Outgoing HTTP in memory: records every GET and hands out tokens (1, 2, ... across clones).
#[derive(Clone, Default)]
pub struct FakeHttp(Rc<RefCell<Http>>);

impl FakeHttp {
    /// A host that accepts every dispatch.
    pub fn new() -> Self {
        FakeHttp::default()
    }

    /// Every call dispatched so far and not taken.
    pub fn sent(&self) -> Vec<Dispatched> {
        self.0.borrow().sent.clone()
    }

    /// The calls dispatched since the last take (for the test to answer).
    pub fn take_sent(&self) -> Vec<Dispatched> {
        std::mem::take(&mut self.0.borrow_mut().sent)
    }

    /// Makes dispatches fail with `status` (Envoy: `BadArgument` for an unknown cluster), or
    /// succeed again with `None`.
    pub fn refuse(&self, status: Option<&str>) {
        self.0.borrow_mut().refusing = status.map(|s| HostStatus(s.to_string()));
    }
}

impl HttpFetch for FakeHttp {
    fn dispatch_get(&self, uri: &HttpUri) -> Result<u32, HostStatus> {
        let mut http = self.0.borrow_mut();
        if let Some(status) = &http.refusing {
            return Err(status.clone());
        }
        http.last_token = http.last_token.wrapping_add(1);
        let token = http.last_token;
        http.sent.push(Dispatched {
            token,
            uri: uri.clone(),
        });
        Ok(token)
    }
}
