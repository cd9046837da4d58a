//! Documents shared between worker VMs (key sets, revocation lists): what to fetch, when, how a
//! fetched document is checked and stored in proxy-wasm shared data, and the protocol that
//! keeps every worker's copy fresh.
//!
//! - this module: pure helpers (the resources of a policy, the stored format, stamps, checks);
//! - [`host`]: the host traits the protocol runs over ([`SharedData`], [`HttpFetch`]);
//! - [`Syncer`]: the protocol of one worker (tick, pull, lease, CAS publish, early refetch);
//! - [`SyncEvent`]: what it reports (log lines, fetch counters);
//! - [`discovery`]: the discovery document of an `oidc_discovery` provider, checked and turned
//!   into the `jwks_uri` its key set resource is then fetched from;
//! - [`fake`]: in-memory hosts, so the protocol is unit-tested with several fake workers.

pub mod discovery;
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
use discovery::{DiscoveryCheck, DiscoveryError};

/// What a remote document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// The key set of this provider.
    Jwks(ProviderId),
    /// The discovery document of this `oidc_discovery` provider: it names where the provider's
    /// key set ([`ResourceKind::Jwks`], the next resource) is fetched.
    Discovery(ProviderId),
    /// The revocation list.
    Revocation,
}

/// One remote document the filter keeps fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// What it is.
    pub kind: ResourceKind,
    /// A short label for logs and metrics: `jwks:<provider>`, `discovery:<provider>` or
    /// `revocation`.
    pub label: String,
    /// Shared-data key of the document (includes the policy hash).
    pub data_key: String,
    /// Shared-data key of the fetch lease.
    pub lease_key: String,
    /// Shared-data key of the last early (unknown `kid`) refetch, for key sets.
    pub early_key: String,
    /// Where it is fetched. `None` for the key set of an `oidc_discovery` provider until a
    /// discovery document names its `jwks_uri` (the [`Syncer`] sets it then, and follows it
    /// when a later document moves it).
    pub http_uri: Option<HttpUri>,
    /// Seconds between fetches.
    pub refresh_seconds: u64,
    /// Limits on a fetched key set.
    pub jwks_limits: JwksLimits,
    /// What a discovery document is checked against ([`ResourceKind::Discovery`] only).
    pub discovery: Option<Box<DiscoveryCheck>>,
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

/// The remote documents of a policy. A discovery document comes just before the key set it
/// names, so one tick can install the one and then fetch the other.
pub fn resources(policy: &Policy) -> Vec<Resource> {
    let mut out = Vec::new();
    let make = |kind, label: String, http_uri: Option<&HttpUri>, refresh_seconds| {
        let base = format!("workload_authz.{}.{}", policy.hash, label);
        Resource {
            kind,
            data_key: base.clone(),
            lease_key: format!("{base}.lease"),
            early_key: format!("{base}.early"),
            label,
            http_uri: http_uri.cloned(),
            refresh_seconds,
            jwks_limits: policy.limits.jwks,
            discovery: None,
        }
    };
    for (id, provider) in policy.providers_with_ids() {
        let jwks_uri = match &provider.key_source {
            KeySource::Local(_) => continue,
            KeySource::Remote(remote) => Some(&remote.http_uri),
            KeySource::Discovery(config) => {
                let mut resource = make(
                    ResourceKind::Discovery(id),
                    format!("discovery:{}", provider.name),
                    Some(&config.http_uri),
                    config.refresh_seconds,
                );
                resource.discovery = Some(Box::new(DiscoveryCheck {
                    issuer: provider.issuer.clone(),
                    config: config.clone(),
                    path: format!("providers.{}.oidc_discovery", provider.name),
                }));
                out.push(resource);
                None
            }
        };
        let Some((cache, _)) = provider.key_source.fetched_lifetime() else {
            continue;
        };
        // Refresh before the cache duration runs out (at 90 %).
        let refresh = cache.saturating_sub(cache / 10).max(1);
        out.push(make(
            ResourceKind::Jwks(id),
            format!("jwks:{}", provider.name),
            jwks_uri,
            refresh,
        ));
    }
    if let Some(source) = &policy.revocation {
        out.push(make(
            ResourceKind::Revocation,
            "revocation".to_string(),
            Some(&source.http_uri),
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
    /// A discovery document that is refused.
    Discovery(DiscoveryError),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::NoAnswer => write!(f, "no answer (connection failed or timed out)"),
            FetchError::Status(code) => write!(f, "HTTP status {code}"),
            FetchError::Invalid(why) => write!(f, "invalid document: {why}"),
            FetchError::Discovery(why) => write!(f, "discovery document refused: {why}"),
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
            FetchError::Discovery(why) => why.label().to_string(),
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
        ResourceKind::Discovery(_) => jwks_uri_of(resource, body).map(|_| ()),
        ResourceKind::Revocation => RevocationList::parse(body)
            .map(|_| ())
            .map_err(|e| FetchError::Invalid(e.to_string())),
    }
}

/// The key set location a discovery document of `resource` names.
fn jwks_uri_of(resource: &Resource, body: &str) -> Result<HttpUri, FetchError> {
    let check = resource
        .discovery
        .as_deref()
        .ok_or_else(|| FetchError::Invalid("not a discovery resource".to_string()))?;
    discovery::resolve(check, body).map_err(FetchError::Discovery)
}

/// Installs a shared document into the run-time state. A discovery document changes no state
/// here: it returns the `jwks_uri` it names, for the [`Syncer`] to fetch the key set from.
pub fn install(
    state: &mut RuntimeState,
    resource: &Resource,
    doc: &SharedDoc,
) -> Result<Option<HttpUri>, FetchError> {
    match resource.kind {
        ResourceKind::Jwks(id) => {
            let set = parse_fetched_jwks(&doc.body, &resource.jwks_limits)
                .map_err(|e| FetchError::Invalid(e.to_string()))?;
            state.install_keys(id, set, doc.fetched_at);
        }
        ResourceKind::Discovery(_) => return jwks_uri_of(resource, &doc.body).map(Some),
        ResourceKind::Revocation => {
            let list =
                RevocationList::parse(&doc.body).map_err(|e| FetchError::Invalid(e.to_string()))?;
            state.install_revocations(list);
        }
    }
    Ok(None)
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
