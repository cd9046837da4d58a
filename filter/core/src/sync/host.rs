//! What the sharing protocol needs from its host, as traits: proxy-wasm shared data (with its
//! compare-and-swap tokens) and outgoing HTTP calls. The plugin implements them over its
//! `host.rs`; [`super::fake`] implements them in memory for tests. Time is not here: every
//! method of [`super::Syncer`] takes `now` as an argument.

use crate::config::HttpUri;
use std::fmt;

/// A host call that failed, with the status the host named (`InternalFailure`,
/// `BadArgument`...). Its text is what the filter logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStatus(pub String);

impl fmt::Display for HostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a shared-data write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// The write carried a CAS token and somebody wrote the key since that token was read.
    CasMismatch,
    /// Any other host failure.
    Host(HostStatus),
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The proxy-wasm status name, as the filter has always logged it.
            SetError::CasMismatch => f.write_str("CasMismatch"),
            SetError::Host(status) => status.fmt(f),
        }
    }
}

impl From<HostStatus> for SetError {
    fn from(status: HostStatus) -> Self {
        SetError::Host(status)
    }
}

/// Data shared by every worker VM of the plugin in one proxy (proxy-wasm shared data).
///
/// The contract is Envoy's: every write gives the key a new CAS token; a write carrying a CAS
/// token fails with [`SetError::CasMismatch`] when the key was written since that token was
/// read; a write without one (`None`), or to a key never written, always succeeds.
pub trait SharedData {
    /// The value of `key` and its CAS token; `(None, None)` for a key never written.
    fn get(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostStatus>;

    /// Writes `value` to `key`, only if its CAS token is still `cas` (when given).
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError>;
}

/// Outgoing HTTP calls. The answer comes back later, with the returned token, through
/// [`super::Syncer::on_response`] (or [`super::Syncer::on_answer`]).
pub trait HttpFetch {
    /// Sends a GET for `uri` (its cluster, authority, path, scheme and timeout); the call token.
    fn dispatch_get(&self, uri: &HttpUri) -> Result<u32, HostStatus>;
}

/// The answer to a fetch, as the host delivered it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// `:status`; none when the call got no HTTP answer at all (Envoy delivers a failed
    /// dispatch that way; it answers a timeout with a local 504, a refused connection with 503).
    pub status: Option<u32>,
    /// The body, if the answer had one.
    pub body: Option<Vec<u8>>,
}

impl Answer {
    /// A 200 answer with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Answer::with_status(200, body)
    }

    /// An answer with `status` and `body`.
    pub fn with_status(status: u32, body: impl Into<Vec<u8>>) -> Self {
        Answer {
            status: Some(status),
            body: Some(body.into()),
        }
    }

    /// An answer without `:status` or body: a call that got no HTTP answer at all.
    pub fn no_status() -> Self {
        Answer::default()
    }
}
