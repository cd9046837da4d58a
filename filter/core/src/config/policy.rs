//! The compiled, executable policy: everything the request path needs, precomputed.

use super::ids::{ProviderId, RouteId};
use super::limits::Limits;
use super::oidc::OidcDiscovery;
use super::remote::{RemoteJwks, RevocationSource};
use crate::keys::{Algorithm, KeySet};
use crate::mcp::McpRoute;
use crate::require::Requirements;
use crate::revocation::RevocationList;
use crate::routes::{without_trailing_slash, Authority, RouteIndex, RouteMatch};
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
    /// DPoP (RFC 9449): the `dpop` block, its defaults when absent.
    pub dpop: super::dpop::DpopConfig,
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

    /// Whether this provider's tokens authenticate callers: an `access_token` provider. A
    /// `txn_token` provider never does (its tokens are read by `require.transaction` only).
    pub fn is_access_token_provider(&self) -> bool {
        self.kind == TokenKind::Access
    }
}

/// The providers whose access tokens a route with `require` accepts: those it names in
/// `require.providers`, in that order, else every provider in `Policy::providers` order;
/// either way access-token providers only. `count` is the number of providers, `provider` looks
/// one up (`None`: skipped). The one definition behind [`Route::token_sources`] (built by `compile`)
/// and [`Policy::accepted_providers`].
pub(crate) fn accepted_provider_ids<'p>(
    require: &Requirements,
    count: usize,
    provider: impl Fn(ProviderId) -> Option<&'p Provider>,
) -> Vec<ProviderId> {
    let named: Vec<ProviderId> = match &require.providers {
        Some(list) => list.clone(),
        None => (0..count).map(ProviderId::new).collect(),
    };
    named
        .into_iter()
        .filter(|id| provider(*id).is_some_and(Provider::is_access_token_provider))
        .collect()
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

/// `decision_record`: how the decision record goes to filter state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordLevel {
    /// `struct` (the default): the whole record as one typed `google.protobuf.Struct` in
    /// `workload_authz.record`, one host call per request (`%FILTER_STATE(..:TYPED)%`, `%CEL%`).
    #[default]
    Struct,
    /// `keys` (also spelled `full`, the pre-0.2 default): one text key per fact, and the record as
    /// JSON text in `workload_authz.record` (for `:PLAIN` consumers).
    Keys,
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
    /// `oidc_discovery`: the `jwks_uri` of the issuer's discovery document, fetched and kept as
    /// a `remote_jwks` key set is.
    Discovery(OidcDiscovery),
}

impl KeySource {
    /// `(cache_duration_seconds, max_stale_seconds)` of a key set fetched at run time; `None`
    /// for `local_jwks`.
    pub fn fetched_lifetime(&self) -> Option<(u64, u64)> {
        match self {
            KeySource::Local(_) => None,
            KeySource::Remote(r) => Some((r.cache_duration_seconds, r.max_stale_seconds)),
            KeySource::Discovery(d) => Some((d.cache_duration_seconds, d.max_stale_seconds)),
        }
    }
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
    /// The `mcp` block: each JSON-RPC message is judged by its method's, tool's, resource's or
    /// prompt's rule too.
    pub mcp: Option<Box<McpRoute>>,
    /// DPoP on this route: whether every token needs a proof, and the algorithms challenges name.
    pub dpop: RouteDpop,
}

/// What a route knows of DPoP, from its `require.dpop` and its providers' `dpop` blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteDpop {
    /// `require.dpop`, or every provider accepted here has `dpop.required`.
    pub required: bool,
    /// The proof algorithms of the providers accepted here, space-separated, in the order of
    /// [`Algorithm::DEFAULT`]: the `algs` of `DPoP` challenges.
    pub algs: String,
}

/// A compiled configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Top-level mode.
    pub mode: Mode,
    /// `realm` of the `WWW-Authenticate` challenge.
    pub realm: String,
    /// Providers, in name order, referred to by [`ProviderId`] (the position here).
    pub providers: Vec<Provider>,
    /// Routes, in match order, referred to by [`RouteId`] (the position here).
    pub routes: Vec<Route>,
    /// The routes' `match` blocks indexed at compile time ([`Policy::route_for`] asks it): built
    /// from `routes`, which are not changed after.
    pub(crate) route_index: RouteIndex,
    /// Explicit deny rules, judged before the routes.
    pub deny: Vec<super::deny::DenyRule>,
    /// Headers some route's `match` reads: each may occur at most once in a request
    /// (`ambiguous_header`), so that every route judges the same copy.
    pub match_headers: Vec<String>,
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
    /// The provider `id` names (`None` for an id of another policy with more providers).
    pub fn provider(&self, id: ProviderId) -> Option<&Provider> {
        self.providers.get(id.index())
    }

    /// The route `id` names (`None` for an id of another policy with more routes).
    pub fn route(&self, id: RouteId) -> Option<&Route> {
        self.routes.get(id.index())
    }

    /// The providers with their ids, in order.
    pub fn providers_with_ids(&self) -> impl ExactSizeIterator<Item = (ProviderId, &Provider)> {
        let ids = (0..self.providers.len()).map(ProviderId::new);
        ids.zip(&self.providers)
    }

    /// The routes with their ids, in match order.
    pub fn routes_with_ids(&self) -> impl ExactSizeIterator<Item = (RouteId, &Route)> {
        let ids = (0..self.routes.len()).map(RouteId::new);
        ids.zip(&self.routes)
    }

    /// The first route whose `match` fits (first match wins), with its captures. `path` is a
    /// clean path ([`crate::routes::clean_path`]), `authority` canonical. Found through the
    /// route index: the routes the request cannot reach are not tried.
    pub fn route_for<'p>(
        &self,
        method: &str,
        path: &'p str,
        authority: &Authority<'_>,
    ) -> Option<(RouteId, Vec<&'p str>)> {
        self.route_for_request::<&str>(method, path, authority, &[])
    }

    /// [`Policy::route_for`] with the request's headers, for routes whose `match` has header
    /// conditions (`route_for` judges those as if no header was sent).
    pub fn route_for_request<'p, H: AsRef<str>>(
        &self,
        method: &str,
        path: &'p str,
        authority: &Authority<'_>,
        headers: &[(H, H)],
    ) -> Option<(RouteId, Vec<&'p str>)> {
        let matcher = |i: usize| self.routes.get(i).map(|route| &route.matcher);
        self.route_index
            .first_match(method, path, authority, matcher, |m| m.headers_fit(headers))
            .map(|(i, captures)| (RouteId::new(i), captures))
    }

    /// For a path ending in `/` (not `/` itself), the route its bare form (`/admin` for
    /// `/admin/`) reaches when that is another route than `route`. Such a request is refused:
    /// frameworks disagree on whether the two are one resource, so it has no single route.
    pub fn trailing_slash_conflict(
        &self,
        method: &str,
        path: &str,
        authority: &Authority<'_>,
        route: RouteId,
    ) -> Option<RouteId> {
        self.trailing_slash_conflict_with::<&str>(method, path, authority, &[], route)
    }

    /// [`Policy::trailing_slash_conflict`] with the request's headers.
    pub fn trailing_slash_conflict_with<H: AsRef<str>>(
        &self,
        method: &str,
        path: &str,
        authority: &Authority<'_>,
        headers: &[(H, H)],
        route: RouteId,
    ) -> Option<RouteId> {
        let bare = without_trailing_slash(path)?;
        self.route_for_request(method, bare, authority, headers)
            .map(|(id, _)| id)
            .filter(|id| *id != route)
    }

    /// The providers whose access tokens `route` accepts, with their ids: the ones its
    /// `require.providers` names (in that order), else all, `txn_token` providers never. The
    /// engine reads tokens of exactly these (through `route.token_sources`); `lint` asks it too.
    pub fn accepted_providers<'p>(&'p self, route: &Route) -> Vec<(ProviderId, &'p Provider)> {
        accepted_provider_ids(&route.require, self.providers.len(), |id| self.provider(id))
            .into_iter()
            .filter_map(|id| self.provider(id).map(|p| (id, p)))
            .collect()
    }

    /// The provider whose issuer is `iss`.
    pub fn provider_by_issuer(&self, iss: &str) -> Option<ProviderId> {
        self.providers_with_ids()
            .find(|(_, p)| p.issuer == iss)
            .map(|(id, _)| id)
    }

    /// The provider named `name` in the configuration.
    pub fn provider_by_name(&self, name: &str) -> Option<ProviderId> {
        self.providers_with_ids()
            .find(|(_, p)| p.name == name)
            .map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Providers `a` (access), `t` (txn_token, header `txn-token`), `b` (access, `x-b`).
    fn policy(route_require: serde_json::Value) -> Policy {
        let remote = |cluster: &str| json!({"http_uri": {"uri": "http://idp.internal/jwks", "cluster": cluster}});
        let config = json!({
            "providers": {
                "a": {"issuer": "https://a", "audiences": ["svc"], "remote_jwks": remote("a"),
                      "max_lifetime_seconds": 600},
                "t": {"issuer": "https://t", "audiences": ["svc"], "remote_jwks": remote("t"),
                      "token_type": "txn_token"},
                "b": {"issuer": "https://b", "audiences": ["svc"], "remote_jwks": remote("b"),
                      "from_headers": [{"name": "x-b"}]}
            },
            "routes": [{"action": "r", "match": {"path": "/r"}, "require": route_require}]
        });
        crate::config::compile_value(&config).unwrap()
    }

    fn accepted(p: &Policy) -> Vec<&str> {
        let route = p.routes.first().unwrap();
        p.accepted_providers(route)
            .into_iter()
            .map(|(_, provider)| provider.name.as_str())
            .collect()
    }

    fn headers(p: &Policy) -> Vec<&str> {
        let route = p.routes.first().unwrap();
        route
            .token_sources
            .iter()
            .map(|s| s.header.name.as_str())
            .collect()
    }

    #[test]
    fn a_route_accepts_access_token_providers_only() {
        let any = policy(json!({}));
        assert_eq!(
            accepted(&any),
            vec!["a", "b"],
            "provider order, no txn_token"
        );
        // `Authorization` twice: its `Bearer` and its `DPoP` schemes.
        assert_eq!(headers(&any), vec!["authorization", "authorization", "x-b"]);
        let named = policy(json!({"providers": ["b", "a"]}));
        assert_eq!(
            accepted(&named),
            vec!["b", "a"],
            "the order the route names them"
        );
        assert_eq!(
            headers(&named),
            vec!["x-b", "authorization", "authorization"]
        );
        // A `txn_token` provider named in `require.providers` is refused at load: it would
        // authenticate callers with transaction tokens.
        let config = json!({
            "providers": {"t": {"issuer": "https://t", "audiences": ["svc"],
                                "remote_jwks": {"http_uri": {"uri": "http://idp.internal/jwks", "cluster": "t"}},
                                "token_type": "txn_token"}},
            "routes": [{"action": "r", "match": {"path": "/r"}, "require": {"providers": ["t"]}}]
        });
        let refused = crate::config::compile_value(&config)
            .unwrap_err()
            .to_string();
        assert!(
            refused
                .contains("routes[0].require.providers[0]: provider `t` issues transaction tokens"),
            "{refused}"
        );
    }

    #[test]
    fn provider_kinds_and_lifetimes() {
        let p = policy(json!({}));
        let kinds: Vec<bool> = p
            .providers
            .iter()
            .map(Provider::is_access_token_provider)
            .collect();
        assert_eq!(
            kinds,
            vec![true, true, false],
            "providers in name order: a, b, t"
        );
        let (a, b) = (p.providers.first().unwrap(), p.providers.get(1).unwrap());
        assert_eq!(a.effective_max_lifetime(None), Some(600));
        assert_eq!(a.effective_max_lifetime(Some(300)), Some(300));
        assert_eq!(a.effective_max_lifetime(Some(900)), Some(600));
        assert_eq!(b.effective_max_lifetime(None), None);
        assert_eq!(b.effective_max_lifetime(Some(120)), Some(120));
    }
}
