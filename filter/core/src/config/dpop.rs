//! Compiling a provider's `dpop` block (RFC 9449, the filter as a resource server).

use super::error::ConfigErrorKind as Kind;
use super::reader::{Errors, Obj};
use crate::keys::Algorithm;
use serde_json::Value;

/// The fields of `dpop`.
pub const DPOP_FIELDS: &[&str] = &[
    "required",
    "iat_window_seconds",
    "algorithms",
    "external_origin",
];

/// The default `iat_window_seconds`: a proof is accepted this long before and after its `iat`.
pub const DEFAULT_IAT_WINDOW_SECONDS: u64 = 60;
/// The largest `iat_window_seconds` (replay entries live this long).
pub const MAX_IAT_WINDOW_SECONDS: u64 = 600;

/// How a provider's tokens are bound to a key the client proves it holds (DPoP).
///
/// Every provider has one (the defaults when the block is absent): a token that carries
/// `cnf.jkt` needs a valid proof whatever the configuration says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopConfig {
    /// Every token of this provider must be DPoP-bound and come with a valid proof.
    pub required: bool,
    /// How far a proof's `iat` may lie from now, in the past or the future (seconds).
    pub iat_window_seconds: u64,
    /// The proof algorithms accepted (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// The origin (and path prefix) clients see, when Envoy sits behind TLS termination or a
    /// rewrite: `htu` is compared with this origin, the prefix and the request path.
    pub external_origin: Option<ExternalOrigin>,
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            required: false,
            iat_window_seconds: DEFAULT_IAT_WINDOW_SECONDS,
            algorithms: Algorithm::DEFAULT.to_vec(),
            external_origin: None,
        }
    }
}

/// `external_origin`, normalised: lowercase scheme and host, no default port, no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalOrigin {
    /// `https://api.example.com` or `http://host:8080`.
    pub origin: String,
    /// A path prefix the proxy strips (`/orders`), or empty.
    pub prefix: String,
}

/// Compiles `dpop` (absent: the defaults).
pub fn compile(obj: &Obj<'_>, errors: &mut Errors) -> DpopConfig {
    let Some(value) = obj.get("dpop") else {
        return DpopConfig::default();
    };
    let Some(fields) = Obj::new(value, &obj.path_of("dpop"), DPOP_FIELDS, errors) else {
        return DpopConfig::default();
    };
    let required = fields.opt_bool("required", errors).unwrap_or(false);
    let iat_window_seconds = fields
        .opt_u64("iat_window_seconds", 1, MAX_IAT_WINDOW_SECONDS, errors)
        .unwrap_or(DEFAULT_IAT_WINDOW_SECONDS);
    let algorithms = super::provider::algorithms(&fields, errors);
    let external_origin = match fields.get("external_origin") {
        None | Some(Value::Null) => None,
        Some(_) => fields
            .opt_str("external_origin", errors)
            .and_then(|text| external_origin(text, &fields.path_of("external_origin"), errors)),
    };
    DpopConfig {
        required,
        iat_window_seconds,
        algorithms,
        external_origin,
    }
}

fn external_origin(text: &str, path: &str, errors: &mut Errors) -> Option<ExternalOrigin> {
    let Some(parsed) = crate::dpop::htu::Uri::parse(text) else {
        errors.add(
            path,
            Kind::BadUriScheme {
                uri: text.to_string(),
            },
        );
        return None;
    };
    if parsed.host.is_empty() || parsed.has_query_or_fragment {
        errors.add(
            path,
            Kind::BadUriHost {
                uri: text.to_string(),
            },
        );
        return None;
    }
    Some(ExternalOrigin {
        origin: parsed.origin(),
        prefix: parsed.path.trim_end_matches('/').to_string(),
    })
}
