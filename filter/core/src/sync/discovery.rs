//! The discovery document of an `oidc_discovery` provider (OpenID Connect Discovery 1.0 at
//! `/.well-known/openid-configuration`, or RFC 8414 metadata at
//! `/.well-known/oauth-authorization-server`: both name `issuer` and `jwks_uri`), checked and
//! turned into the [`HttpUri`] its key set is fetched from.
//!
//! | rule | error |
//! |---|---|
//! | at most [`MAX_DISCOVERY_BYTES`], strict JSON (no duplicate member), an object | [`DiscoveryError::TooLarge`], [`DiscoveryError::NotJson`] |
//! | `issuer` equals the provider's `issuer` exactly (OIDC Discovery 4.3, RFC 8414 3.3) | [`DiscoveryError::IssuerMismatch`] |
//! | `jwks_uri` is an `http://` or `https://` URI with a host | [`DiscoveryError::BadJwksUri`] |
//! | its host is the document's (same cluster) or has a `jwks_clusters` entry | [`DiscoveryError::NoCluster`] |

use crate::config::oidc::OidcDiscovery;
use crate::config::remote::split_uri;
use crate::config::HttpUri;
use crate::token::strict_json::{self, StrictJsonError};
use std::fmt;

/// Largest discovery document read, in bytes (real ones are a few KiB).
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// Deepest nesting accepted in a discovery document.
const MAX_DEPTH: usize = 16;

/// What the discovery document of one provider is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryCheck {
    /// The provider's `issuer`: the document's must be equal, byte for byte.
    pub issuer: String,
    /// The provider's `oidc_discovery`.
    pub config: OidcDiscovery,
    /// `providers.<name>.oidc_discovery`, for errors that name a field to change.
    pub path: String,
}

/// Why a discovery document is refused (the last good one, if any, keeps serving).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryError {
    /// Larger than [`MAX_DISCOVERY_BYTES`].
    TooLarge(usize),
    /// Not a strict JSON object (the words say what is wrong).
    NotJson(&'static str),
    /// A required member is absent or not a string.
    Missing(&'static str),
    /// The document speaks for another issuer.
    IssuerMismatch {
        /// The document's `issuer`.
        found: String,
        /// The provider's `issuer`.
        expected: String,
    },
    /// `jwks_uri` is not an `http://` or `https://` URI with a host.
    BadJwksUri {
        /// The `jwks_uri`.
        uri: String,
    },
    /// `jwks_uri` is on a host no cluster is configured for.
    NoCluster {
        /// The `jwks_uri`.
        uri: String,
        /// Its `host[:port]`.
        host: String,
        /// The field to add it to (`providers.<name>.oidc_discovery.jwks_clusters`).
        field: String,
    },
}

impl DiscoveryError {
    /// The `result` label of `workload_authz_fetches_total` for a fetch refused this way.
    pub fn label(&self) -> &'static str {
        match self {
            DiscoveryError::IssuerMismatch { .. } => "issuer_mismatch",
            DiscoveryError::NoCluster { .. } => "no_cluster",
            _ => "invalid",
        }
    }
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::TooLarge(size) => write!(
                f,
                "the discovery document is {size} bytes, more than {MAX_DISCOVERY_BYTES}"
            ),
            DiscoveryError::NotJson(why) => write!(f, "the discovery document is not {why}"),
            DiscoveryError::Missing(member) => {
                write!(f, "the discovery document has no string `{member}`")
            }
            DiscoveryError::IssuerMismatch { found, expected } => write!(
                f,
                "issuer mismatch: the discovery document is for issuer `{found}`, the provider's \
                 `issuer` is `{expected}` (they must be equal exactly)"
            ),
            DiscoveryError::BadJwksUri { uri } => write!(
                f,
                "`jwks_uri` `{uri}` is not an http:// or https:// URI with a host"
            ),
            DiscoveryError::NoCluster { uri, host, field } => write!(
                f,
                "`jwks_uri` `{uri}` is on host `{host}`, which has no cluster: map it in `{field}`"
            ),
        }
    }
}

/// Checks a discovery document against `check` and returns where its key set is fetched:
/// `jwks_uri` (without a fragment), through the document's cluster when it is on the
/// document's host and port, else through its `jwks_clusters` entry, with the document's
/// timeout.
pub fn resolve(check: &DiscoveryCheck, body: &str) -> Result<HttpUri, DiscoveryError> {
    if body.len() > MAX_DISCOVERY_BYTES {
        return Err(DiscoveryError::TooLarge(body.len()));
    }
    let value = strict_json::parse(body.as_bytes(), MAX_DEPTH).map_err(|e| {
        DiscoveryError::NotJson(match e {
            StrictJsonError::Invalid => "JSON",
            StrictJsonError::DuplicateKey => "JSON without duplicate member names",
            StrictJsonError::TooDeep => "JSON nested at most 16 deep",
        })
    })?;
    let Some(document) = value.as_object() else {
        return Err(DiscoveryError::NotJson("a JSON object"));
    };
    let member = |name: &'static str| {
        document
            .get(name)
            .and_then(|v| v.as_str())
            .ok_or(DiscoveryError::Missing(name))
    };
    let issuer = member("issuer")?;
    if issuer != check.issuer {
        return Err(DiscoveryError::IssuerMismatch {
            found: issuer.to_string(),
            expected: check.issuer.clone(),
        });
    }
    let jwks_uri = member("jwks_uri")?;
    let bad = || DiscoveryError::BadJwksUri {
        uri: jwks_uri.to_string(),
    };
    // Sent as `:authority` and `:path`: no whitespace or control character anywhere.
    if jwks_uri.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad());
    }
    let uri = jwks_uri.split('#').next().unwrap_or_default();
    let (scheme, authority, path) = split_uri(uri).map_err(|_| bad())?;
    let Some(cluster) = check.config.cluster_for(scheme, authority) else {
        if crate::config::oidc::host_port(authority, 0).is_none() {
            return Err(bad());
        }
        return Err(DiscoveryError::NoCluster {
            uri: uri.to_string(),
            host: authority.to_ascii_lowercase(),
            field: format!("{}.jwks_clusters", check.path),
        });
    };
    Ok(HttpUri {
        uri: uri.to_string(),
        cluster: cluster.to_string(),
        authority: authority.to_string(),
        path: path.to_string(),
        scheme: scheme.to_string(),
        timeout_ms: check.config.http_uri.timeout_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::oidc::oidc_discovery;
    use crate::config::reader::Errors;
    use serde_json::json;

    const ISS: &str = "https://issuer.example";

    fn check() -> DiscoveryCheck {
        let mut errors = Errors::default();
        let config = oidc_discovery(
            &json!({
                "http_uri": {"uri": "https://issuer.example/.well-known/openid-configuration", "cluster": "idp", "timeout": "2s"},
                "jwks_clusters": {"keys.example": "keys"}
            }),
            "providers.mesh.oidc_discovery",
            &mut errors,
        )
        .unwrap();
        DiscoveryCheck {
            issuer: ISS.to_string(),
            config,
            path: "providers.mesh.oidc_discovery".to_string(),
        }
    }

    fn doc(issuer: &str, jwks_uri: &str) -> String {
        json!({"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["code"]})
            .to_string()
    }

    #[test]
    fn a_jwks_uri_on_the_documents_host_goes_through_its_cluster() {
        let uri = resolve(&check(), &doc(ISS, "https://issuer.example/keys?v=1#frag")).unwrap();
        assert_eq!(uri.uri, "https://issuer.example/keys?v=1");
        assert_eq!(
            (
                uri.cluster.as_str(),
                uri.authority.as_str(),
                uri.path.as_str()
            ),
            ("idp", "issuer.example", "/keys?v=1")
        );
        assert_eq!((uri.scheme.as_str(), uri.timeout_ms), ("https", 2000));
    }

    #[test]
    fn a_jwks_uri_on_a_mapped_host_goes_through_its_cluster() {
        let uri = resolve(&check(), &doc(ISS, "http://keys.example:8080/jwks")).unwrap();
        assert_eq!(
            (uri.cluster.as_str(), uri.authority.as_str()),
            ("keys", "keys.example:8080")
        );
    }

    #[test]
    fn an_unmapped_host_is_refused_naming_the_host_and_the_field() {
        let error = resolve(&check(), &doc(ISS, "https://Elsewhere.example/jwks")).unwrap_err();
        assert_eq!(error.label(), "no_cluster");
        assert_eq!(
            error.to_string(),
            "`jwks_uri` `https://Elsewhere.example/jwks` is on host `elsewhere.example`, which has \
             no cluster: map it in `providers.mesh.oidc_discovery.jwks_clusters`"
        );
    }

    #[test]
    fn the_issuer_must_be_equal_exactly() {
        for other in [
            "https://issuer.example/",
            "https://ISSUER.example",
            "https://evil.example",
        ] {
            let error = resolve(&check(), &doc(other, "https://issuer.example/keys")).unwrap_err();
            assert_eq!(error.label(), "issuer_mismatch");
            assert_eq!(
                error.to_string(),
                format!(
                    "issuer mismatch: the discovery document is for issuer `{other}`, the \
                     provider's `issuer` is `{ISS}` (they must be equal exactly)"
                )
            );
        }
    }

    #[test]
    fn malformed_documents_are_refused() {
        let c = check();
        let cases: Vec<(String, DiscoveryError)> = vec![
            ("<html>".into(), DiscoveryError::NotJson("JSON")),
            ("[1]".into(), DiscoveryError::NotJson("a JSON object")),
            (
                format!(
                    r#"{{"issuer":"{ISS}","issuer":"{ISS}","jwks_uri":"https://issuer.example/k"}}"#
                ),
                DiscoveryError::NotJson("JSON without duplicate member names"),
            ),
            (
                json!({"jwks_uri": "https://issuer.example/k"}).to_string(),
                DiscoveryError::Missing("issuer"),
            ),
            (
                json!({"issuer": ISS}).to_string(),
                DiscoveryError::Missing("jwks_uri"),
            ),
            (
                json!({"issuer": ISS, "jwks_uri": 7}).to_string(),
                DiscoveryError::Missing("jwks_uri"),
            ),
            (
                " ".repeat(MAX_DISCOVERY_BYTES + 1),
                DiscoveryError::TooLarge(MAX_DISCOVERY_BYTES + 1),
            ),
            (
                "[".repeat(100),
                DiscoveryError::NotJson("JSON nested at most 16 deep"),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(resolve(&c, &body), Err(expected), "{body:.60}");
        }
        for uri in [
            "ftp://issuer.example/k",
            "/keys",
            "https:///keys",
            "https://u@issuer.example/k",
            "https://issuer.example/k\r\nx: y",
            "https://issuer.example/a b",
            "https://[zz]/k",
        ] {
            assert_eq!(
                resolve(&c, &doc(ISS, uri)),
                Err(DiscoveryError::BadJwksUri {
                    uri: uri.to_string()
                }),
                "{uri}"
            );
        }
    }

    #[test]
    fn no_prefix_or_byte_flip_of_a_document_panics() {
        let c = check();
        let good = doc(ISS, "https://[::1]:8443/k?x=%41#f");
        let bytes = good.as_bytes();
        for end in 0..=bytes.len() {
            let text = String::from_utf8_lossy(&bytes[..end]);
            let _ = resolve(&c, &text);
        }
        for at in 0..bytes.len() {
            for flip in [b'"', b'\\', b':', b'/', b'[', b']', b'@', b'#', 0xff, b' '] {
                let mut mutated = bytes.to_vec();
                mutated[at] = flip;
                let _ = resolve(&c, &String::from_utf8_lossy(&mutated));
            }
        }
        let uri = resolve(&c, &good);
        assert!(
            matches!(uri, Err(DiscoveryError::NoCluster { .. })),
            "{uri:?}"
        );
    }
}
