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

/// The fields of `http_uri` (`timeout`, Envoy's duration form, or `timeout_ms`: one of them).
pub const HTTP_URI_FIELDS: &[&str] = &["uri", "cluster", "timeout_ms", "timeout"];
/// Longest fetch timeout, in milliseconds.
pub const MAX_TIMEOUT_MS: u64 = 60_000;
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
    let timeout_ms = timeout(&fields, errors).unwrap_or(DEFAULT_TIMEOUT_MS);
    let uri = uri?;
    let (scheme, authority, path) = match split_uri(uri) {
        Ok(parts) => parts,
        Err(kind) => {
            errors.add(&fields.path_of("uri"), kind);
            return None;
        }
    };
    Some(HttpUri {
        uri: uri.to_string(),
        cluster: cluster?.to_string(),
        authority: authority.to_string(),
        path: path.to_string(),
        scheme: scheme.to_string(),
        timeout_ms,
    })
}

/// `timeout_ms` (a whole number) or `timeout` (`"5s"`, `"1.5s"`, `"500ms"`), not both.
fn timeout(fields: &Obj<'_>, errors: &mut Errors) -> Option<u64> {
    if fields.get("timeout").is_some() && fields.get("timeout_ms").is_some() {
        errors.add(
            &fields.path_of("timeout"),
            ConfigErrorKind::FieldConflict {
                field: "timeout",
                other: "timeout_ms",
            },
        );
        return None;
    }
    let Some(text) = fields.opt_str("timeout", errors) else {
        return fields.opt_u64("timeout_ms", 1, MAX_TIMEOUT_MS, errors);
    };
    let parsed = duration_ms(text).filter(|ms| (1..=MAX_TIMEOUT_MS).contains(ms));
    if parsed.is_none() {
        errors.add(
            &fields.path_of("timeout"),
            ConfigErrorKind::BadDuration {
                value: text.to_string(),
            },
        );
    }
    parsed
}

/// A duration in Envoy's JSON form, in whole milliseconds: seconds with an `s` suffix and up to
/// three decimals (`"5s"`, `"1.5s"`), or milliseconds with `ms` (`"500ms"`). `None` for
/// anything else (a sign, an exponent, a finer fraction, an overflow).
pub fn duration_ms(text: &str) -> Option<u64> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if let Some(ms) = text.strip_suffix("ms") {
        return if digits(ms) { ms.parse().ok() } else { None };
    }
    let seconds = text.strip_suffix('s')?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
    if !digits(whole) || !digits(fraction) || fraction.len() > 3 {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let scale = 10u64.pow(3 - u32::try_from(fraction.len()).ok()?);
    let fraction: u64 = fraction.parse::<u64>().ok()?.checked_mul(scale)?;
    whole.checked_mul(1000)?.checked_add(fraction)
}

/// Splits an `http://` or `https://` URI into scheme, authority and path (with the query; `/`
/// when absent). The error is the configuration's word for what is wrong.
pub fn split_uri(uri: &str) -> Result<(&str, &str, &str), ConfigErrorKind> {
    let Some((scheme, rest)) = uri
        .split_once("://")
        .filter(|(s, _)| *s == "http" || *s == "https")
    else {
        return Err(ConfigErrorKind::BadUriScheme {
            uri: uri.to_string(),
        });
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) {
        return Err(ConfigErrorKind::BadUriHost {
            uri: uri.to_string(),
        });
    }
    Ok((scheme, authority, path))
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

/// `cache_duration_seconds` and `max_stale_seconds` of a fetched key set (`remote_jwks`, and the
/// key set an `oidc_discovery` document leads to), with their defaults.
pub fn key_set_lifetimes(fields: &Obj<'_>, errors: &mut Errors) -> (u64, u64) {
    let cache = fields
        .opt_u64("cache_duration_seconds", 1, 7 * 86_400, errors)
        .unwrap_or(DEFAULT_CACHE_DURATION);
    let stale = fields
        .opt_u64("max_stale_seconds", 0, 30 * 86_400, errors)
        .unwrap_or(DEFAULT_MAX_STALE);
    (cache, stale)
}

/// Reads a `remote_jwks` object at `path`.
pub fn remote_jwks(
    value: &serde_json::Value,
    path: &str,
    errors: &mut Errors,
) -> Option<RemoteJwks> {
    let fields = Obj::new(value, path, REMOTE_JWKS_FIELDS, errors)?;
    let http_uri = http_uri(&fields, errors);
    let (cache, stale) = key_set_lifetimes(&fields, errors);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_in_envoys_form() {
        let cases = [
            ("5s", Some(5000)),
            ("1.5s", Some(1500)),
            ("0.25s", Some(250)),
            ("0.001s", Some(1)),
            ("500ms", Some(500)),
            ("0s", Some(0)),
        ];
        for (text, ms) in cases {
            assert_eq!(duration_ms(text), ms, "{text}");
        }
        for text in [
            "5",
            "",
            "s",
            "ms",
            "-1s",
            "1.s",
            ".5s",
            "1.0001s",
            "1e3ms",
            "1.5ms",
            " 5s",
            "99999999999999999999s",
        ] {
            assert_eq!(duration_ms(text), None, "{text}");
        }
    }

    fn timeout_of(value: serde_json::Value) -> (Option<u64>, Vec<String>) {
        let mut errors = Errors::default();
        let obj = Obj::new(&value, "x", HTTP_URI_FIELDS, &mut errors).unwrap();
        let found = timeout(&obj, &mut errors);
        (found, errors.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn timeout_or_timeout_ms_not_both() {
        assert_eq!(timeout_of(json!({"timeout": "2s"})), (Some(2000), vec![]));
        assert_eq!(timeout_of(json!({"timeout_ms": 700})), (Some(700), vec![]));
        assert_eq!(timeout_of(json!({})), (None, vec![]));
        let both = timeout_of(json!({"timeout": "2s", "timeout_ms": 700}));
        assert_eq!(
            both.1,
            ["x.timeout: set either `timeout` or `timeout_ms`, not both"]
        );
        for bad in ["0s", "61s", "5", "fast"] {
            let (found, errors) = timeout_of(json!({ "timeout": bad }));
            assert_eq!(found, None);
            assert_eq!(
                errors,
                [format!(
                    "x.timeout: `{bad}` is not a duration from 1ms to 60s"
                )]
            );
        }
        assert_eq!(
            timeout_of(json!({"timeout": 5})).1,
            ["x.timeout: must be a string"]
        );
    }
}
