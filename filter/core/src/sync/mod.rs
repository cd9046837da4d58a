//! Documents shared between worker VMs (key sets, revocation lists): what to fetch, when, how a
//! fetched document is checked and stored in proxy-wasm shared data, and the protocol that
//! keeps every worker's copy fresh.
//!
//! - this module: pure helpers (the resources of a policy, the stored format, stamps, checks);
//! - [`host`]: the host traits the protocol runs over ([`SharedData`], [`HttpFetch`]);
//! - [`Syncer`]: the protocol of one worker (tick, pull, lease, CAS publish, early refetch);
//! - [`SyncEvent`]: what it reports (log lines, fetch counters);
//! - [`fake`]: in-memory hosts, so the protocol is unit-tested with several fake workers.

mod event;
pub mod fake;
pub mod host;
mod syncer;

pub use event::{EventKind, FetchFailure, Level, SyncEvent};
pub use host::{Answer, HostStatus, HttpFetch, SetError, SharedData};
pub use syncer::{Call, Slot, Syncer, CAS_ATTEMPTS};

use crate::config::{HttpUri, KeySource, Policy, ProviderId};
use crate::decision::{Decision, Reason};
use crate::keys::JwksLimits;
use crate::revocation::RevocationList;
use crate::state::{parse_fetched_jwks, RuntimeState};

/// What a remote document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// The key set of this provider.
    Jwks(ProviderId),
    /// The revocation list.
    Revocation,
}

/// One remote document the filter keeps fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// What it is.
    pub kind: ResourceKind,
    /// A short label for logs and metrics: `jwks:<provider>` or `revocation`.
    pub label: String,
    /// Shared-data key of the document (includes the policy hash).
    pub data_key: String,
    /// Shared-data key of the fetch lease.
    pub lease_key: String,
    /// Shared-data key of the last early (unknown `kid`) refetch, for key sets.
    pub early_key: String,
    /// Where it is fetched.
    pub http_uri: HttpUri,
    /// Seconds between fetches.
    pub refresh_seconds: u64,
    /// Limits on a fetched key set.
    pub jwks_limits: JwksLimits,
}

/// Least time between two early refetches of a key set (unknown `kid`), per provider.
pub const EARLY_REFETCH_SECONDS: u64 = 10;

/// The provider whose remote key set an early refetch should renew: the one a decision denied
/// with [`Reason::UnknownKey`] (a `kid` its set lacks). `None` for any other decision.
pub fn unknown_key_provider(policy: &Policy, decision: &Decision) -> Option<ProviderId> {
    if decision.reason != Reason::UnknownKey {
        return None;
    }
    policy.provider_by_name(decision.provider.as_deref()?)
}

/// The remote documents of a policy.
pub fn resources(policy: &Policy) -> Vec<Resource> {
    let mut out = Vec::new();
    let make = |kind, label: String, http_uri: &HttpUri, refresh_seconds| {
        let base = format!("workload_authz.{}.{}", policy.hash, label);
        Resource {
            kind,
            data_key: base.clone(),
            lease_key: format!("{base}.lease"),
            early_key: format!("{base}.early"),
            label,
            http_uri: http_uri.clone(),
            refresh_seconds,
            jwks_limits: policy.limits.jwks,
        }
    };
    for (id, provider) in policy.providers_with_ids() {
        if let KeySource::Remote(remote) = &provider.key_source {
            // Refresh before the cache duration runs out (at 90 %).
            let cache = remote.cache_duration_seconds;
            let refresh = cache.saturating_sub(cache / 10).max(1);
            out.push(make(
                ResourceKind::Jwks(id),
                format!("jwks:{}", provider.name),
                &remote.http_uri,
                refresh,
            ));
        }
    }
    if let Some(source) = &policy.revocation {
        out.push(make(
            ResourceKind::Revocation,
            "revocation".to_string(),
            &source.http_uri,
            source.refresh_seconds,
        ));
    }
    out
}

/// A fetched document as stored in shared data: `<fetched_at>\n<body>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedDoc {
    /// When it was fetched.
    pub fetched_at: u64,
    /// The document.
    pub body: String,
}

impl SharedDoc {
    /// The shared-data bytes.
    pub fn encode(&self) -> Vec<u8> {
        format!("{}\n{}", self.fetched_at, self.body).into_bytes()
    }

    /// Reads shared-data bytes.
    pub fn decode(bytes: &[u8]) -> Option<SharedDoc> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (stamp, body) = text.split_once('\n')?;
        Some(SharedDoc {
            fetched_at: stamp.parse().ok()?,
            body: body.to_string(),
        })
    }
}

/// Whether a document fetched at `fetched_at` should be fetched again at `now`.
pub fn refresh_due(fetched_at: Option<u64>, refresh_seconds: u64, now: u64) -> bool {
    fetched_at.is_none_or(|at| now >= at.saturating_add(refresh_seconds))
}

/// A lease or timestamp value in shared data (`None` or unreadable counts as 0).
pub fn read_stamp(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// The bytes of a lease or timestamp value.
pub fn stamp(value: u64) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// How long a fetch lease is held: the fetch timeout plus a second.
pub fn lease_seconds(uri: &HttpUri) -> u64 {
    uri.timeout_ms.div_ceil(1000).saturating_add(1)
}

/// Why a fetched document was not installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No answer (connection failure or timeout: Envoy gives no `:status`).
    NoAnswer,
    /// An answer other than 200.
    Status(u32),
    /// A body that is not a valid document of its kind.
    Invalid(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::NoAnswer => write!(f, "no answer (connection failed or timed out)"),
            FetchError::Status(code) => write!(f, "HTTP status {code}"),
            FetchError::Invalid(why) => write!(f, "invalid document: {why}"),
        }
    }
}

impl FetchError {
    /// A metric label for the failure.
    pub fn label(&self) -> String {
        match self {
            FetchError::NoAnswer => "no_answer".to_string(),
            FetchError::Status(code) => format!("http_{code}"),
            FetchError::Invalid(_) => "invalid".to_string(),
        }
    }
}

/// Checks an HTTP answer for `resource`: the document body if it is usable.
pub fn accept(
    resource: &Resource,
    status: Option<u32>,
    body: Option<&[u8]>,
) -> Result<String, FetchError> {
    match status {
        None => return Err(FetchError::NoAnswer),
        Some(200) => {}
        Some(other) => return Err(FetchError::Status(other)),
    }
    let body = std::str::from_utf8(body.unwrap_or_default())
        .map_err(|_| FetchError::Invalid("not UTF-8".to_string()))?;
    validate(resource, body)?;
    Ok(body.to_string())
}

fn validate(resource: &Resource, body: &str) -> Result<(), FetchError> {
    match resource.kind {
        ResourceKind::Jwks(_) => parse_fetched_jwks(body, &resource.jwks_limits)
            .map(|_| ())
            .map_err(|e| FetchError::Invalid(e.to_string())),
        ResourceKind::Revocation => RevocationList::parse(body)
            .map(|_| ())
            .map_err(|e| FetchError::Invalid(e.to_string())),
    }
}

/// Installs a shared document into the run-time state.
pub fn install(
    state: &mut RuntimeState,
    resource: &Resource,
    doc: &SharedDoc,
) -> Result<(), FetchError> {
    match resource.kind {
        ResourceKind::Jwks(id) => {
            let set = parse_fetched_jwks(&doc.body, &resource.jwks_limits)
                .map_err(|e| FetchError::Invalid(e.to_string()))?;
            state.install_keys(id, set, doc.fetched_at);
        }
        ResourceKind::Revocation => {
            let list =
                RevocationList::parse(&doc.body).map_err(|e| FetchError::Invalid(e.to_string()))?;
            state.install_revocations(list);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_round_trip() {
        let doc = SharedDoc {
            fetched_at: 42,
            body: "{\"keys\":[]}\nsecond line".into(),
        };
        assert_eq!(SharedDoc::decode(&doc.encode()), Some(doc));
        assert_eq!(SharedDoc::decode(b"nope"), None);
        assert_eq!(SharedDoc::decode(b"x\n{}"), None);
    }

    #[test]
    fn refresh_and_stamps() {
        assert!(refresh_due(None, 5, 0));
        assert!(!refresh_due(Some(100), 5, 104));
        assert!(refresh_due(Some(100), 5, 105));
        assert_eq!(read_stamp(Some(b"17")), 17);
        assert_eq!(read_stamp(Some(b"junk")), 0);
        assert_eq!(read_stamp(None), 0);
        assert_eq!(stamp(9), b"9");
    }
}
