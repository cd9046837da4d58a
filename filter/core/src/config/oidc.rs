//! A provider's `oidc_discovery`: the key set is found through the issuer's discovery document
//! (OpenID Connect Discovery 1.0, or RFC 8414 authorization server metadata), then fetched and
//! rotated as a `remote_jwks` key set is. The document itself is checked and followed at run
//! time by [`crate::sync::discovery`]; this module compiles the configuration and answers which
//! cluster a `jwks_uri` goes to.

use super::error::ConfigErrorKind;
use super::reader::{non_empty_str, wrong_type, Errors, Obj};
use super::remote::{http_uri, key_set_lifetimes, HttpUri};

/// The fields of `oidc_discovery`.
pub const OIDC_DISCOVERY_FIELDS: &[&str] = &[
    "http_uri",
    "jwks_clusters",
    "refresh_seconds",
    "cache_duration_seconds",
    "max_stale_seconds",
];

/// Default `refresh_seconds`: the document is read again every hour.
pub const DEFAULT_DISCOVERY_REFRESH: u64 = 3600;

/// A provider's `oidc_discovery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcDiscovery {
    /// Where the discovery document is fetched.
    pub http_uri: HttpUri,
    /// Clusters for a `jwks_uri` on another host than the document's, by host.
    pub jwks_clusters: Vec<(ClusterHost, String)>,
    /// Seconds between two reads of the document (a moved `jwks_uri` is followed then).
    pub refresh_seconds: u64,
    /// As `remote_jwks.cache_duration_seconds`, for the key set found.
    pub cache_duration_seconds: u64,
    /// As `remote_jwks.max_stale_seconds`, for the key set found.
    pub max_stale_seconds: u64,
}

/// A `jwks_clusters` key: a lowercase host, with the port it applies to, or any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHost {
    /// Lowercase, without a trailing dot; an IPv6 literal keeps its brackets.
    pub host: String,
    /// `None`: any port.
    pub port: Option<u16>,
}

impl OidcDiscovery {
    /// The cluster a `jwks_uri` of `scheme` and `authority` is fetched through: the document's
    /// own cluster when host and port (the scheme's default when absent) are the document's,
    /// else the `jwks_clusters` entry for `host:port`, else the one for `host`. `None`: no cluster
    /// is configured for that host.
    pub fn cluster_for(&self, scheme: &str, authority: &str) -> Option<&str> {
        let (host, port) = host_port(authority, default_port(scheme))?;
        let own = host_port(
            &self.http_uri.authority,
            default_port(&self.http_uri.scheme),
        );
        if own.as_ref() == Some(&(host.clone(), port)) {
            return Some(&self.http_uri.cluster);
        }
        let exact = self
            .jwks_clusters
            .iter()
            .find(|(k, _)| k.host == host && k.port == Some(port));
        let any_port = || {
            self.jwks_clusters
                .iter()
                .find(|(k, _)| k.host == host && k.port.is_none())
        };
        exact.or_else(any_port).map(|(_, cluster)| cluster.as_str())
    }
}

/// The port a scheme implies.
fn default_port(scheme: &str) -> u16 {
    if scheme == "https" {
        443
    } else {
        80
    }
}

/// Lowercase host (no trailing dot) and port of `authority` (`default` when it names none).
/// `None` when it is not `host[:port]`.
pub fn host_port(authority: &str, default: u16) -> Option<(String, u16)> {
    let key = cluster_host(authority)?;
    Some((key.host, key.port.unwrap_or(default)))
}

/// Reads `host` or `host:port` (an IPv6 literal in brackets); `None` when it is neither.
fn cluster_host(text: &str) -> Option<ClusterHost> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ipv6 = !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        if !ipv6 {
            return None;
        }
        (format!("[{}]", inside.to_ascii_lowercase()), after)
    } else {
        let at = text.find(':').unwrap_or(text.len());
        let (host, after) = text.split_at(at);
        let host = host.strip_suffix('.').unwrap_or(host);
        let name = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
            && !host.split('.').any(str::is_empty);
        if !name {
            return None;
        }
        (host.to_ascii_lowercase(), after)
    };
    let port = match port {
        "" => None,
        other => {
            let digits = other.strip_prefix(':')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(digits.parse::<u16>().ok().filter(|p| *p != 0)?)
        }
    };
    Some(ClusterHost { host, port })
}

/// Reads an `oidc_discovery` object at `path`.
pub fn oidc_discovery(
    value: &serde_json::Value,
    path: &str,
    errors: &mut Errors,
) -> Option<OidcDiscovery> {
    let fields = Obj::new(value, path, OIDC_DISCOVERY_FIELDS, errors)?;
    let http_uri = http_uri(&fields, errors);
    let jwks_clusters = jwks_clusters(&fields, errors);
    let refresh = fields
        .opt_u64("refresh_seconds", 1, 7 * 86_400, errors)
        .unwrap_or(DEFAULT_DISCOVERY_REFRESH);
    let (cache, stale) = key_set_lifetimes(&fields, errors);
    Some(OidcDiscovery {
        http_uri: http_uri?,
        jwks_clusters: jwks_clusters?,
        refresh_seconds: refresh,
        cache_duration_seconds: cache,
        max_stale_seconds: stale,
    })
}

/// `jwks_clusters`: an object of `host` or `host:port` to a cluster name.
fn jwks_clusters(fields: &Obj<'_>, errors: &mut Errors) -> Option<Vec<(ClusterHost, String)>> {
    let Some(value) = fields.get("jwks_clusters") else {
        return Some(Vec::new());
    };
    let path = fields.path_of("jwks_clusters");
    let Some(map) = value.as_object() else {
        errors.push(wrong_type(&path, "an object of host to cluster name"));
        return None;
    };
    let before = errors.0.len();
    let mut out = Vec::with_capacity(map.len());
    for (key, cluster) in map {
        let entry_path = format!("{path}.{key}");
        let host = cluster_host(key);
        if host.is_none() {
            errors.add(
                &entry_path,
                ConfigErrorKind::BadClusterHost { host: key.clone() },
            );
        }
        let cluster = non_empty_str(cluster, &entry_path, errors);
        if let (Some(host), Some(cluster)) = (host, cluster) {
            out.push((host, cluster.to_string()));
        }
    }
    (errors.0.len() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::remote::{DEFAULT_CACHE_DURATION, DEFAULT_MAX_STALE};
    use serde_json::json;

    fn compiled(value: serde_json::Value) -> Result<OidcDiscovery, Vec<String>> {
        let mut errors = Errors::default();
        let found = oidc_discovery(&value, "p.oidc_discovery", &mut errors);
        match found {
            Some(d) if errors.0.is_empty() => Ok(d),
            _ => Err(errors.0.iter().map(ToString::to_string).collect()),
        }
    }

    fn discovery() -> OidcDiscovery {
        compiled(json!({
            "http_uri": {"uri": "https://Issuer.Example/.well-known/openid-configuration", "cluster": "idp", "timeout": "1.5s"},
            "jwks_clusters": {"keys.example:8443": "keys_8443", "keys.example": "keys_any", "[::1]:9000": "v6"}
        }))
        .unwrap()
    }

    #[test]
    fn defaults_and_the_duration_timeout() {
        let d = discovery();
        assert_eq!(d.http_uri.timeout_ms, 1500);
        assert_eq!(d.refresh_seconds, DEFAULT_DISCOVERY_REFRESH);
        assert_eq!(d.cache_duration_seconds, DEFAULT_CACHE_DURATION);
        assert_eq!(d.max_stale_seconds, DEFAULT_MAX_STALE);
        assert_eq!(d.jwks_clusters.len(), 3);
    }

    #[test]
    fn a_jwks_uri_on_the_documents_host_and_port_uses_its_cluster() {
        let d = discovery();
        assert_eq!(d.cluster_for("https", "issuer.example"), Some("idp"));
        assert_eq!(d.cluster_for("https", "ISSUER.example.:443"), Some("idp"));
        // Another port (http's default) is another host: no cluster for it.
        assert_eq!(d.cluster_for("http", "issuer.example"), None);
        assert_eq!(d.cluster_for("https", "issuer.example:8443"), None);
    }

    #[test]
    fn another_host_needs_a_jwks_clusters_entry_port_first() {
        let d = discovery();
        assert_eq!(
            d.cluster_for("https", "keys.example:8443"),
            Some("keys_8443")
        );
        assert_eq!(d.cluster_for("https", "keys.example"), Some("keys_any"));
        assert_eq!(d.cluster_for("http", "Keys.Example:81"), Some("keys_any"));
        assert_eq!(d.cluster_for("http", "[::1]:9000"), Some("v6"));
        assert_eq!(d.cluster_for("https", "other.example"), None);
        assert_eq!(d.cluster_for("https", "keys.example:x"), None);
    }

    #[test]
    fn errors_name_the_field() {
        let errors = compiled(json!({
            "http_uri": {"uri": "https://i/x", "cluster": "idp", "timeout": "5s", "timeout_ms": 5000},
            "jwks_clusters": {"bad host": "c", "ok.example": "", "x.example:99999": "c"},
            "refresh_seconds": 0,
            "jwks_uri": "https://i/jwks"
        }))
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "p.oidc_discovery.jwks_uri: unknown field",
                "p.oidc_discovery.http_uri.timeout: set either `timeout` or `timeout_ms`, not both",
                "p.oidc_discovery.jwks_clusters.bad host: `bad host` is not a host or host:port",
                "p.oidc_discovery.jwks_clusters.ok.example: must not be empty",
                "p.oidc_discovery.jwks_clusters.x.example:99999: `x.example:99999` is not a host or host:port",
                "p.oidc_discovery.refresh_seconds: must be between 1 and 604800",
            ]
        );
        let errors = compiled(json!({"jwks_clusters": ["x"]})).unwrap_err();
        assert_eq!(
            errors,
            [
                "p.oidc_discovery.http_uri: required field is missing",
                "p.oidc_discovery.jwks_clusters: must be an object of host to cluster name",
            ]
        );
    }
}
