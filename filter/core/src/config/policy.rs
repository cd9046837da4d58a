//! The compiled, executable policy: everything the request path needs, precomputed.

use super::limits::Limits;
use super::remote::{RemoteJwks, RevocationSource};
use crate::keys::{Algorithm, KeySet};
use crate::require::Requirements;
use crate::revocation::RevocationList;
use crate::routes::{without_trailing_slash, Authority, RouteMatch};
use crate::token::{HeaderSource, TokenSource};

pub use crate::decision::Mode;

/// A token issuer the filter trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Name in the configuration.
    pub name: String,
    /// Exact `iss`.
    pub issuer: String,
    /// Accepted audiences; a token must carry one.
    pub audiences: Vec<String>,
    /// Where the verification keys come from.
    pub key_source: KeySource,
    /// Allowed algorithms.
    pub algorithms: Vec<Algorithm>,
    /// Where its tokens are read from.
    pub from_headers: Vec<HeaderSource>,
    /// Tolerated clock difference.
    pub clock_skew_seconds: u64,
    /// Longest `exp - iat` accepted.
    pub max_lifetime_seconds: Option<u64>,
    /// Whether `exp` is required.
    pub require_expiration: bool,
    /// Claims copied into request headers for the upstream.
    pub claim_to_headers: Vec<ClaimHeader>,
    /// Whether the token header is forwarded upstream (`false`: removed).
    pub forward: bool,
    /// `spiffe.trust_domain`: the JWT-SVID rules apply to this provider's tokens.
    pub spiffe_trust_domain: Option<String>,
    /// What the provider's tokens are: access tokens, or transaction tokens.
    pub kind: TokenKind,
}

impl Provider {
    /// The longest `exp - iat` accepted for this provider's tokens on a route with its own
    /// `max_lifetime_seconds` (the tighter of the two; `None` when neither sets one). The engine
    /// and `lint` both ask this.
    pub fn effective_max_lifetime(&self, route_limit: Option<u64>) -> Option<u64> {
        match (self.max_lifetime_seconds, route_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `token_type` of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenKind {
    /// Bearer access tokens that authenticate the caller.
    #[default]
    Access,
    /// Transaction tokens (draft-ietf-oauth-transaction-tokens), read by `require.transaction`.
    Transaction,
}

/// `decision_record`: how much of the decision record goes to filter state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordLevel {
    /// Every key, and `workload_authz.record`.
    #[default]
    Full,
    /// `decision`, `reason`, `action` and `record` only (one JSON field for access logs).
    Compact,
    /// Nothing (metrics and logs only).
    Off,
}

/// `signature_verifier`: where signatures are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerifierChoice {
    /// The host's `verify_signature` (BoringSSL) for RS*/ES* when the host offers it, else the guest.
    #[default]
    Auto,
    /// Always the pure-Rust verifier inside the module.
    Guest,
}

/// A provider's keys: inline, or fetched from a JWKS endpoint at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `local_jwks`: known at load time.
    Local(KeySet),
    /// `remote_jwks`: fetched by the plugin and kept in [`crate::state::RuntimeState`].
    Remote(RemoteJwks),
}

/// One `claim_to_headers` entry: a claim (dotted path) copied into a request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHeader {
    /// Lowercase header name.
    pub header_name: String,
    /// The claim name as configured (`nested.key`).
    pub claim_name: String,
    /// The claim path, split on `.`.
    pub claim_path: Vec<String>,
}

/// One declared action.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The action name (a metric label later: `[A-Za-z0-9._:-]+`).
    pub action: String,
    /// When this route applies.
    pub matcher: RouteMatch,
    /// No token needed.
    pub public: bool,
    /// A per-route mode overriding the top-level one.
    pub mode: Option<Mode>,
    /// A route-level lifetime cap (tightens the provider's).
    pub max_lifetime_seconds: Option<u64>,
    /// What a token must satisfy.
    pub require: Requirements,
    /// Distinct token sources of the providers accepted here, searched for the token.
    pub token_sources: Vec<TokenSource>,
    /// Request headers the requirements' templates read (`{header.NAME}`): each must occur at
    /// most once in a request on this route (else `ambiguous_header`).
    pub headers_read: Vec<String>,
}

/// A compiled configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Top-level mode.
    pub mode: Mode,
    /// `realm` of the `WWW-Authenticate` challenge.
    pub realm: String,
    /// Providers, referred to by index.
    pub providers: Vec<Provider>,
    /// Routes, in match order.
    pub routes: Vec<Route>,
    /// Whether `x-workload-subject`, `x-workload-action`, `x-workload-issuer` are sent upstream.
    pub identity_headers: bool,
    /// Headers the filter may set: any client-sent copy is removed from every request.
    pub stripped_headers: Vec<String>,
    /// The `revocation` endpoint, if any.
    pub revocation: Option<RevocationSource>,
    /// The static `revoked` block.
    pub revoked: RevocationList,
    /// Bounds on what is read from requests and key sets.
    pub limits: Limits,
    /// Where signatures are verified.
    pub signature_verifier: VerifierChoice,
    /// Which decision-record keys are written to filter state.
    pub decision_record: RecordLevel,
    /// A short stable hash of the configuration (16 hex digits of SHA-256 of its canonical JSON).
    pub hash: String,
}

/// The identity headers, always stripped from client requests.
pub const IDENTITY_HEADERS: [&str; 3] = [
    "x-workload-subject",
    "x-workload-action",
    "x-workload-issuer",
];

impl Policy {
    /// The first route whose `match` fits (first match wins), with its captures. `path` is a
    /// clean path ([`crate::routes::clean_path`]).
    pub fn route_for<'p>(
        &self,
        method: &str,
        path: &'p str,
        authority: &Authority<'_>,
    ) -> Option<(usize, Vec<&'p str>)> {
        self.routes.iter().enumerate().find_map(|(index, route)| {
            route
                .matcher
                .try_match(method, path, authority)
                .ok()
                .map(|captures| (index, captures))
        })
    }

    /// For a path ending in `/` (not `/` itself), the route its bare form (`/admin` for
    /// `/admin/`) reaches when that is another route than `route`. Such a request is refused:
    /// frameworks disagree on whether the two are one resource, so it has no single route.
    pub fn trailing_slash_conflict(
        &self,
        method: &str,
        path: &str,
        authority: &Authority<'_>,
        route: usize,
    ) -> Option<usize> {
        let bare = without_trailing_slash(path)?;
        self.route_for(method, bare, authority)
            .map(|(index, _)| index)
            .filter(|index| *index != route)
    }

    /// The provider whose issuer is `iss`.
    pub fn provider_by_issuer(&self, iss: &str) -> Option<usize> {
        self.providers.iter().position(|p| p.issuer == iss)
    }
}
