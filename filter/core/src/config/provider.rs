//! Compiling the `providers` block.

use super::error::{Choice, ConfigErrorKind as Kind, ListOf};
use super::policy::{ClaimHeader, KeySource, Provider, TokenKind, IDENTITY_HEADERS};
use super::reader::{child, item, Errors, Obj};
use crate::identity::spiffe::is_trust_domain;
use crate::keys::{parse_jwks_limited, Algorithm, JwksLimits, KeySet};
use crate::token::HeaderSource;
use serde_json::Value;

/// The fields of a provider.
pub const PROVIDER_FIELDS: &[&str] = &[
    "issuer",
    "audiences",
    "local_jwks",
    "algorithms",
    "from_headers",
    "clock_skew_seconds",
    "max_lifetime_seconds",
    "require_expiration",
    "claim_to_headers",
    "forward",
    "remote_jwks",
    "oidc_discovery",
    "spiffe",
    "token_type",
    "dpop",
];

/// Headers a `claim_to_headers` entry may never write.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "cookie",
    "proxy-authorization",
    "keep-alive",
];

/// Largest accepted clock skew (seconds).
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 600;
/// Default clock skew (seconds).
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;
/// Largest `max_lifetime_seconds` (one year).
pub const MAX_LIFETIME_LIMIT: u64 = 366 * 24 * 3600;

/// Compiles one provider.
pub fn compile(
    name: &str,
    value: &Value,
    path: &str,
    jwks_limits: &JwksLimits,
    errors: &mut Errors,
) -> Option<Provider> {
    let obj = Obj::new(value, path, PROVIDER_FIELDS, errors)?;
    let before = errors.0.len();
    if !is_name(name) {
        errors.add(
            path,
            Kind::BadProviderName {
                name: name.to_string(),
            },
        );
    }
    let issuer = obj.req_str("issuer", errors);
    let audiences = match obj.required("audiences", errors) {
        Some(v) => match super::reader::str_list(v, &obj.path_of("audiences"), errors) {
            Some(list) if list.is_empty() => {
                errors.add(
                    &obj.path_of("audiences"),
                    Kind::EmptyList(ListOf::Audiences),
                );
                None
            }
            other => other,
        },
        None => None,
    };
    let key_source = key_source(&obj, jwks_limits, errors);
    let algorithms = algorithms(&obj, errors);
    let from_headers = from_headers(&obj, errors);
    let clock_skew_seconds = obj
        .opt_u64("clock_skew_seconds", 0, MAX_CLOCK_SKEW_SECONDS, errors)
        .unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS);
    let max_lifetime_seconds = obj.opt_u64("max_lifetime_seconds", 1, MAX_LIFETIME_LIMIT, errors);
    let require_expiration = obj.opt_bool("require_expiration", errors).unwrap_or(true);
    let claim_to_headers = claim_to_headers(&obj, &from_headers, errors);
    let forward = obj.opt_bool("forward", errors).unwrap_or(true);
    let kind = match obj.opt_str("token_type", errors) {
        None | Some("access_token") => TokenKind::Access,
        Some("txn_token") => TokenKind::Transaction,
        Some(other) => {
            errors.add(
                &obj.path_of("token_type"),
                Kind::not_a(Choice::TokenType, other),
            );
            TokenKind::Access
        }
    };
    let from_headers = if kind == TokenKind::Transaction && obj.get("from_headers").is_none() {
        vec![HeaderSource {
            name: "txn-token".to_string(),
            value_prefix: String::new(),
        }]
    } else {
        from_headers
    };
    let dpop = super::dpop::compile(&obj, errors);
    let spiffe_trust_domain = spiffe(&obj, errors);
    if spiffe_trust_domain.is_some() {
        if !require_expiration {
            errors.add(
                &obj.path_of("require_expiration"),
                Kind::SvidWithoutExpiration,
            );
        }
        if algorithms.contains(&Algorithm::EdDsa) && obj.get("algorithms").is_some() {
            errors.add(&obj.path_of("algorithms"), Kind::SvidAlgorithm);
        }
    }
    let algorithms = if spiffe_trust_domain.is_some() {
        algorithms
            .into_iter()
            .filter(|a| *a != Algorithm::EdDsa)
            .collect()
    } else {
        algorithms
    };
    // Only a provider otherwise well formed: a broken `algorithms` has its own error.
    let judged = errors.0.len() == before && !algorithms.is_empty();
    if let (true, Some(KeySource::Local(keys))) = (judged, &key_source) {
        let unusable = unusable_keys(keys, &algorithms, spiffe_trust_domain.is_some());
        if let Some(skipped) = unusable {
            errors.add(
                &child(&obj.path_of("local_jwks"), "inline_string"),
                Kind::NoUsableKey { skipped },
            );
        }
    }
    if errors.0.len() != before {
        return None;
    }
    Some(Provider {
        name: name.to_string(),
        issuer: issuer?.to_string(),
        audiences: audiences?.into_iter().map(str::to_string).collect(),
        key_source: key_source?,
        algorithms,
        from_headers,
        clock_skew_seconds,
        max_lifetime_seconds,
        require_expiration,
        claim_to_headers,
        forward,
        spiffe_trust_domain,
        kind,
        dpop,
    })
}

/// When no key of a local set can verify a token of this provider (no key fits any of its
/// `algorithms`, or only `jwt-svid` keys on a provider without `spiffe`), why each key cannot:
/// every token would otherwise fail with `unknown_key` while the configuration looks fine.
fn unusable_keys(keys: &KeySet, algorithms: &[Algorithm], spiffe: bool) -> Option<Vec<String>> {
    let usable = keys
        .keys()
        .iter()
        .any(|k| algorithms.iter().any(|a| keys_fit(k, *a, spiffe)));
    if usable {
        return None;
    }
    let names: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
    let reasons = keys
        .keys()
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let which = match &k.kid {
                Some(kid) => format!("the key with kid `{kid}`"),
                None => format!("key {} of the set (no kid)", i + 1),
            };
            if k.usage.as_deref() == Some("jwt-svid") && !spiffe {
                format!("{which}: use `jwt-svid` serves providers with `spiffe` only")
            } else {
                let pinned = k
                    .alg
                    .map_or(String::new(), |a| format!(" pinned to {}", a.as_str()));
                format!(
                    "{which}: {}{pinned}, which none of the provider's algorithms ({}) uses",
                    k.key.family().describe(),
                    names.join(", ")
                )
            }
        })
        .collect();
    Some(reasons)
}

fn keys_fit(key: &crate::keys::Jwk, alg: Algorithm, spiffe: bool) -> bool {
    key.fits(alg)
        && key
            .usage
            .as_deref()
            .is_none_or(|u| u == "sig" || (spiffe && u == "jwt-svid"))
}

fn spiffe(obj: &Obj<'_>, errors: &mut Errors) -> Option<String> {
    let value = obj.get("spiffe")?;
    let fields = Obj::new(value, &obj.path_of("spiffe"), &["trust_domain"], errors)?;
    let domain = fields.req_str("trust_domain", errors)?;
    if !is_trust_domain(domain) {
        errors.add(
            &fields.path_of("trust_domain"),
            Kind::BadTrustDomain {
                value: domain.to_string(),
            },
        );
        return None;
    }
    Some(domain.to_string())
}

/// Whether `name` is a plain lowercase-able HTTP header name (no pseudo-headers).
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn claim_to_headers(
    obj: &Obj<'_>,
    sources: &[HeaderSource],
    errors: &mut Errors,
) -> Vec<ClaimHeader> {
    let Some(value) = obj.get("claim_to_headers") else {
        return Vec::new();
    };
    let path = obj.path_of("claim_to_headers");
    let Some(items) = value.as_array() else {
        errors.push(super::reader::wrong_type(
            &path,
            "a list of {header_name, claim_name}",
        ));
        return Vec::new();
    };
    let mut out: Vec<ClaimHeader> = Vec::new();
    for (i, entry) in items.iter().enumerate() {
        let entry_path = item(&path, i);
        let Some(fields) = Obj::new(entry, &entry_path, &["header_name", "claim_name"], errors)
        else {
            continue;
        };
        let (Some(header), Some(claim)) = (
            fields.req_str("header_name", errors),
            fields.req_str("claim_name", errors),
        ) else {
            continue;
        };
        let header_name = header.to_ascii_lowercase();
        let header_path = fields.path_of("header_name");
        if !is_header_name(&header_name) {
            errors.add(
                &header_path,
                Kind::BadHeaderName {
                    name: header.to_string(),
                },
            );
            continue;
        }
        if RESERVED_HEADERS.contains(&header_name.as_str())
            || IDENTITY_HEADERS.contains(&header_name.as_str())
            || sources.iter().any(|s| s.name == header_name)
        {
            errors.add(
                &header_path,
                Kind::ReservedHeader {
                    name: header.to_string(),
                },
            );
            continue;
        }
        if out.iter().any(|h| h.header_name == header_name) {
            errors.add(
                &header_path,
                Kind::DuplicateHeader {
                    name: header.to_string(),
                },
            );
            continue;
        }
        if claim.split('.').any(str::is_empty) {
            errors.add(
                &fields.path_of("claim_name"),
                Kind::EmptyClaimSegment {
                    claim: claim.to_string(),
                },
            );
            continue;
        }
        out.push(ClaimHeader {
            header_name,
            claim_name: claim.to_string(),
            claim_path: claim.split('.').map(str::to_string).collect(),
        });
    }
    out
}

/// Provider and action names: `[A-Za-z0-9_.:-]+`.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

fn key_source(obj: &Obj<'_>, jwks_limits: &JwksLimits, errors: &mut Errors) -> Option<KeySource> {
    let given: Vec<(&str, &Value)> = ["local_jwks", "remote_jwks", "oidc_discovery"]
        .into_iter()
        .filter_map(|name| obj.get(name).map(|value| (name, value)))
        .collect();
    match given.as_slice() {
        [] => {
            errors.add(&obj.path, Kind::MissingKeySource);
            None
        }
        [("local_jwks", value)] => {
            local_jwks(value, &obj.path_of("local_jwks"), jwks_limits, errors).map(KeySource::Local)
        }
        [("remote_jwks", value)] => {
            super::remote::remote_jwks(value, &obj.path_of("remote_jwks"), errors)
                .map(KeySource::Remote)
        }
        [(_, value)] => super::oidc::oidc_discovery(value, &obj.path_of("oidc_discovery"), errors)
            .map(KeySource::Discovery),
        _ => {
            errors.add(&obj.path, Kind::KeySourceConflict);
            None
        }
    }
}

fn local_jwks(
    value: &Value,
    path: &str,
    jwks_limits: &JwksLimits,
    errors: &mut Errors,
) -> Option<KeySet> {
    let path = path.to_string();
    let jwks = Obj::new(value, &path, &["inline_string", "filename"], errors)?;
    if jwks.get("filename").is_some() {
        errors.add(&jwks.path_of("filename"), Kind::JwksFilename);
        return None;
    }
    let text = jwks.req_str("inline_string", errors)?;
    let text_path = jwks.path_of("inline_string");
    let parsed = match parse_jwks_limited(text, jwks_limits) {
        Ok(parsed) => parsed,
        Err(error) => {
            errors.add(&text_path, Kind::BadJwks(error));
            return None;
        }
    };
    for (index, error) in &parsed.rejected {
        errors.add(
            &item(&child(&text_path, "keys"), *index),
            Kind::BadJwk(error.clone()),
        );
    }
    if parsed.keys.is_empty() {
        let skipped = parsed
            .ignored
            .iter()
            .map(|(index, usage)| {
                format!("keys[{index}]: use `{usage}` is not for JWT signatures (set aside)")
            })
            .collect();
        errors.add(&text_path, Kind::NoUsableKey { skipped });
    }
    (parsed.rejected.is_empty() && !parsed.keys.is_empty()).then(|| KeySet::new(parsed.keys))
}

pub(super) fn algorithms(obj: &Obj<'_>, errors: &mut Errors) -> Vec<Algorithm> {
    let Some(names) = obj.opt_str_list("algorithms", errors) else {
        return Algorithm::DEFAULT.to_vec();
    };
    let path = obj.path_of("algorithms");
    if names.is_empty() {
        errors.add(&path, Kind::EmptyList(ListOf::Algorithms));
    }
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match Algorithm::parse(name) {
            Ok(alg) if !out.contains(&alg) => out.push(alg),
            Ok(_) => {}
            Err(error) => errors.add(
                &item(&path, i),
                Kind::BadAlgorithm {
                    name: name.to_string(),
                    error,
                },
            ),
        }
    }
    out
}

fn from_headers(obj: &Obj<'_>, errors: &mut Errors) -> Vec<HeaderSource> {
    let Some(value) = obj.get("from_headers") else {
        return vec![HeaderSource::bearer()];
    };
    let path = obj.path_of("from_headers");
    let Some(items) = value.as_array() else {
        errors.push(super::reader::wrong_type(
            &path,
            "a list of {name, value_prefix}",
        ));
        return Vec::new();
    };
    if items.is_empty() {
        errors.add(&path, Kind::EmptyList(ListOf::Headers));
    }
    let mut out = Vec::new();
    for (i, entry) in items.iter().enumerate() {
        let entry_path = item(&path, i);
        let Some(source) = Obj::new(entry, &entry_path, &["name", "value_prefix"], errors) else {
            continue;
        };
        let name = source.req_str("name", errors);
        let prefix = source.opt_str("value_prefix", errors).unwrap_or_default();
        if let Some(name) = name {
            let valid = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !name.starts_with(':');
            if !valid {
                errors.add(
                    &source.path_of("name"),
                    Kind::BadHeaderName {
                        name: name.to_string(),
                    },
                );
                continue;
            }
            out.push(HeaderSource {
                name: name.to_ascii_lowercase(),
                value_prefix: prefix.to_string(),
            });
        }
    }
    out
}
