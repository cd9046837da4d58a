//! What the sharing protocol reports: one [`SyncEvent`] per thing worth a log line, and for
//! fetches the result label of `workload_authz_fetches_total`. The core says what happened;
//! the plugin writes the line at [`SyncEvent::level`] and counts [`SyncEvent::fetches_metric`].

use super::host::{HostStatus, SetError};
use super::FetchError;
use std::fmt;

/// How loud a [`SyncEvent`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Routine (a fetch sent, a lease not released).
    Debug,
    /// A document was updated.
    Info,
    /// Something failed; the last good document keeps serving.
    Warn,
}

/// Why a fetch did not produce an installed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// The host refused to send the GET (an unknown cluster, for instance).
    Dispatch {
        /// The cluster it was for.
        cluster: String,
        /// What the host said.
        status: HostStatus,
    },
    /// The answer was unusable.
    Answer(FetchError),
}

impl FetchFailure {
    /// The `result` label of `workload_authz_fetches_total`.
    pub fn label(&self) -> String {
        match self {
            FetchFailure::Dispatch { .. } => "dispatch_failed".to_string(),
            FetchFailure::Answer(error) => error.label(),
        }
    }
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchFailure::Dispatch { cluster, status } => {
                write!(f, "cannot dispatch to cluster `{cluster}`: {status}")
            }
            FetchFailure::Answer(error) => error.fmt(f),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Shared data could not be read: nothing was installed.
    ReadFailed(HostStatus),
    /// The shared document changed but is not a valid document: the last good one stays.
    Refused(FetchError),
    /// A fetch was sent.
    Fetching {
        /// The URI asked.
        uri: String,
    },
    /// The fetch lease could not be released (it then expires by itself).
    ReleaseFailed(SetError),
    /// A fetched document could not be shared with the other workers (this one installed it).
    ShareFailed(SetError),
    /// A fetched document was installed.
    Updated {
        /// The URI it came from.
        uri: String,
    },
    /// A discovery document named where the key set is fetched: first, or somewhere else than
    /// before (the key set is fetched from there at once; the old keys serve until then).
    JwksUriFound {
        /// The `jwks_uri` followed before, if any.
        from: Option<String>,
        /// The `jwks_uri` followed from now on.
        to: String,
    },
    /// A fetch failed; the last good document keeps serving.
    FetchFailed {
        /// The URI asked.
        uri: String,
        /// Why.
        failure: FetchFailure,
    },
}

/// One thing the protocol did or met, for one remote document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncEvent {
    /// The document's label (`jwks:<provider>` or `revocation`): the metric's `source`.
    pub source: String,
    /// What happened.
    pub kind: EventKind,
}

impl SyncEvent {
    /// How loud the log line is.
    pub fn level(&self) -> Level {
        match self.kind {
            EventKind::Fetching { .. } | EventKind::ReleaseFailed(_) => Level::Debug,
            EventKind::Updated { .. } | EventKind::JwksUriFound { .. } => Level::Info,
            EventKind::ReadFailed(_)
            | EventKind::Refused(_)
            | EventKind::ShareFailed(_)
            | EventKind::FetchFailed { .. } => Level::Warn,
        }
    }

    /// The `result` of a finished fetch (`ok`, `invalid`, `http_503`, `no_answer`,
    /// `dispatch_failed`); `None` for events that are not one.
    pub fn fetch_result(&self) -> Option<String> {
        match &self.kind {
            EventKind::Updated { .. } => Some("ok".to_string()),
            EventKind::FetchFailed { failure, .. } => Some(failure.label()),
            _ => None,
        }
    }

    /// The proxy-wasm name of the `workload_authz_fetches_total` counter this event adds one
    /// to (labels encoded for Envoy's stats tag extraction), if it is a finished fetch.
    pub fn fetches_metric(&self) -> Option<String> {
        let result = self.fetch_result()?;
        Some(format!(
            "source=.={};.;result=.={};.;workload_authz_fetches_total",
            self.source, result
        ))
    }
}

/// The log line, without the `workload-authz: ` prefix.
impl fmt::Display for SyncEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = &self.source;
        match &self.kind {
            EventKind::ReadFailed(status) => {
                write!(f, "{source}: cannot read shared data: {status}")
            }
            EventKind::Refused(error) => write!(f, "{source}: shared document refused: {error}"),
            EventKind::Fetching { uri } => write!(f, "{source}: fetching {uri}"),
            EventKind::ReleaseFailed(error) => write!(f, "{source}: cannot release lease: {error}"),
            EventKind::ShareFailed(error) => {
                write!(f, "{source}: cannot share the document: {error}")
            }
            EventKind::Updated { uri } => write!(f, "{source}: updated from {uri}"),
            EventKind::JwksUriFound { from: None, to } => {
                write!(f, "{source}: the discovery document names jwks_uri {to}")
            }
            EventKind::JwksUriFound {
                from: Some(from),
                to,
            } => write!(
                f,
                "{source}: jwks_uri moved from {from} to {to} (discovery document)"
            ),
            EventKind::FetchFailed { uri, failure } => write!(
                f,
                "{source}: fetch from {uri} failed: {failure}; the last good document keeps serving"
            ),
        }
    }
}
