//! Remote sources: `http_uri` (as in Envoy's `jwt_authn`), `remote_jwks` and `revocation`.

use super::error::ConfigErrorKind;
use super::reader::{Errors, Obj};

/// Where to fetch a document: an Envoy cluster and the URI to ask it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUri {
    /// The full URI, as configured.
    pub uri: String,
    /// The Envoy cluster the request is sent to.
    pub cluster: String,
    /// `:authority` of the request (the URI's host and port).
    pub authority: String,
    /// `:path` of the request (path and query).
    pub path: String,
    /// `:scheme`.
    pub scheme: String,
    /// Time allowed for the answer.
    pub timeout_ms: u64,
}

/// The default fetch timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 1000;

/// The fields of `http_uri`.
pub const HTTP_URI_FIELDS: &[&str] = &["uri", "cluster", "timeout_ms"];
/// The fields of `remote_jwks`.
pub const REMOTE_JWKS_FIELDS: &[&str] =
    &["http_uri", "cache_duration_seconds", "max_stale_seconds"];
/// The fields of `revocation`.
pub const REVOCATION_FIELDS: &[&str] = &["http_uri", "refresh_seconds"];

/// Reads an `http_uri` object.
pub fn http_uri(obj: &Obj<'_>, errors: &mut Errors) -> Option<HttpUri> {
    let value = obj.required("http_uri", errors)?;
    let fields = Obj::new(value, &obj.path_of("http_uri"), HTTP_URI_FIELDS, errors)?;
    let uri = fields.req_str("uri", errors);
    let cluster = fields.req_str("cluster", errors);
    let timeout_ms = fields
        .opt_u64("timeout_ms", 1, 60_000, errors)
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    let uri = uri?;
    let Some((scheme, rest)) = uri
        .split_once("://")
        .filter(|(s, _)| *s == "http" || *s == "https")
    else {
        errors.add(
            &fields.path_of("uri"),
            ConfigErrorKind::BadUriScheme {
                uri: uri.to_string(),
            },
        );
        return None;
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) {
        errors.add(
            &fields.path_of("uri"),
            ConfigErrorKind::BadUriHost {
                uri: uri.to_string(),
            },
        );
        return None;
    }
    Some(HttpUri {
        uri: uri.to_string(),
        cluster: cluster?.to_string(),
        authority: authority.to_string(),
        path: path.to_string(),
        scheme: scheme.to_string(),
        timeout_ms,
    })
}

/// A provider's `remote_jwks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJwks {
    /// Where the key set is fetched.
    pub http_uri: HttpUri,
    /// How long a fetched key set is used before it is fetched again.
    pub cache_duration_seconds: u64,
    /// How long past that the last good key set keeps serving while fetches fail.
    pub max_stale_seconds: u64,
}

/// Default `cache_duration_seconds` (Envoy `jwt_authn` uses 5 minutes too).
pub const DEFAULT_CACHE_DURATION: u64 = 300;
/// Default `max_stale_seconds`: one day.
pub const DEFAULT_MAX_STALE: u64 = 86_400;

/// Reads a `remote_jwks` object at `path`.
pub fn remote_jwks(
    value: &serde_json::Value,
    path: &str,
    errors: &mut Errors,
) -> Option<RemoteJwks> {
    let fields = Obj::new(value, path, REMOTE_JWKS_FIELDS, errors)?;
    let http_uri = http_uri(&fields, errors);
    let cache = fields
        .opt_u64("cache_duration_seconds", 1, 7 * 86_400, errors)
        .unwrap_or(DEFAULT_CACHE_DURATION);
    let stale = fields
        .opt_u64("max_stale_seconds", 0, 30 * 86_400, errors)
        .unwrap_or(DEFAULT_MAX_STALE);
    Some(RemoteJwks {
        http_uri: http_uri?,
        cache_duration_seconds: cache,
        max_stale_seconds: stale,
    })
}

/// The top-level `revocation` source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationSource {
    /// Where the revocation document is fetched.
    pub http_uri: HttpUri,
    /// How often it is fetched.
    pub refresh_seconds: u64,
}

/// Default `refresh_seconds`.
pub const DEFAULT_REFRESH: u64 = 5;

/// Reads the `revocation` object at `path`.
pub fn revocation(
    value: &serde_json::Value,
    path: &str,
    errors: &mut Errors,
) -> Option<RevocationSource> {
    let fields = Obj::new(value, path, REVOCATION_FIELDS, errors)?;
    let http_uri = http_uri(&fields, errors);
    let refresh = fields
        .opt_u64("refresh_seconds", 1, 3600, errors)
        .unwrap_or(DEFAULT_REFRESH);
    Some(RevocationSource {
        http_uri: http_uri?,
        refresh_seconds: refresh,
    })
}
