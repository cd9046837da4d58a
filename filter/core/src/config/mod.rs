//! Configuration: raw JSON → [`compile`] → [`Policy`], every error with its JSON path.

pub mod deny;
pub mod dpop;
pub mod error;
pub mod ids;
pub mod limits;
pub mod mcp;
pub mod oidc;
pub mod policy;
pub mod provider;
pub mod reader;
pub mod remote;
pub mod requirements;
pub mod route;
pub mod scope;

/// The known fields of every configuration object, for tools (the CLI's hints) that must not drift
/// from what the compiler accepts.
pub mod fields {
    pub use super::limits::FIELDS as LIMITS;
    pub use super::oidc::OIDC_DISCOVERY_FIELDS as OIDC_DISCOVERY;
    pub use super::provider::PROVIDER_FIELDS as PROVIDER;
    pub use super::remote::{
        HTTP_URI_FIELDS as HTTP_URI, REMOTE_JWKS_FIELDS as REMOTE_JWKS,
        REVOCATION_FIELDS as REVOCATION,
    };
    pub use super::route::{
        MATCH_FIELDS as MATCH, REQUIRE_FIELDS as REQUIRE, ROUTE_FIELDS as ROUTE,
    };
    pub use super::TOP_FIELDS as TOP;
}

pub use error::{Choice, ConfigError, ConfigErrorKind, ConfigErrors, ListOf};
pub use ids::{ProviderId, RouteId};
pub use limits::Limits;
pub use oidc::OidcDiscovery;
pub use policy::{
    ClaimHeader, KeySource, Mode, Policy, Provider, RecordLevel, Route, RouteDpop, TokenKind,
    VerifierChoice, IDENTITY_HEADERS,
};
pub use remote::{HttpUri, RemoteJwks, RevocationSource};

use crate::revocation::RevocationList;
use crate::routes::RouteIndex;
use reader::{item, Errors, Obj};
use serde_json::Value;

/// The fields of the top level.
pub const TOP_FIELDS: &[&str] = &[
    "mode",
    "realm",
    "providers",
    "routes",
    "deny",
    "identity_headers",
    "revocation",
    "revoked",
    "limits",
    "signature_verifier",
    "decision_record",
];

/// The realm used when the configuration names none.
pub const DEFAULT_REALM: &str = "workload-authz";

/// Parses and compiles a JSON configuration, collecting every problem.
pub fn compile(text: &str) -> Result<Policy, ConfigErrors> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            "",
            ConfigErrorKind::NotJson(e.to_string()),
        )])
    })?;
    compile_value(&value)
}

/// Compiles an already parsed configuration.
pub fn compile_value(value: &Value) -> Result<Policy, ConfigErrors> {
    let mut errors = Errors::default();
    let policy = compile_inner(value, &mut errors);
    match policy {
        Some(policy) if errors.0.is_empty() => Ok(policy),
        _ => Err(ConfigErrors(errors.0)),
    }
}

/// 16 hex digits of the SHA-256 of the canonical (key-sorted, compact) JSON of the configuration.
fn policy_hash(value: &Value) -> String {
    let digest = hmac_sha256::Hash::hash(value.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn compile_inner(value: &Value, errors: &mut Errors) -> Option<Policy> {
    let top = Obj::new(value, "", TOP_FIELDS, errors)?;
    let mode = top
        .opt_str("mode", errors)
        .and_then(|m| route::parse_mode(m, "mode", errors))
        .unwrap_or_default();
    let realm = top.opt_str("realm", errors).unwrap_or(DEFAULT_REALM);
    let identity_headers = top.opt_bool("identity_headers", errors).unwrap_or(false);
    let limits = limits::compile(top.get("limits"), errors);
    let decision_record = match top.opt_str("decision_record", errors) {
        None | Some("struct") => RecordLevel::Struct,
        Some("keys" | "full") => RecordLevel::Keys,
        Some("compact") => RecordLevel::Compact,
        Some("off") => RecordLevel::Off,
        Some(other) => {
            errors.add(
                "decision_record",
                ConfigErrorKind::not_a(Choice::RecordLevel, other),
            );
            RecordLevel::Struct
        }
    };
    let signature_verifier = match top.opt_str("signature_verifier", errors) {
        None | Some("auto") => VerifierChoice::Auto,
        Some("guest") => VerifierChoice::Guest,
        Some(other) => {
            errors.add(
                "signature_verifier",
                ConfigErrorKind::not_a(Choice::Verifier, other),
            );
            VerifierChoice::Auto
        }
    };
    let revocation = top
        .get("revocation")
        .and_then(|v| remote::revocation(v, "revocation", errors));
    let revoked = match top.get("revoked") {
        None => RevocationList::default(),
        Some(value) => RevocationList::from_value(value).unwrap_or_else(|e| {
            errors.add("revoked", ConfigErrorKind::BadRevocationList(e));
            RevocationList::default()
        }),
    };
    if realm.is_empty()
        || !realm
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        errors.add("realm", ConfigErrorKind::BadRealm);
    }

    let mut providers: Vec<(String, Option<Provider>)> = Vec::new();
    if let Some(value) = top.get("providers") {
        match value.as_object() {
            None => errors.push(reader::wrong_type(
                "providers",
                "an object of name to provider",
            )),
            Some(map) => {
                for (name, entry) in map {
                    let path = format!("providers.{name}");
                    providers.push((
                        name.clone(),
                        provider::compile(name, entry, &path, &limits.jwks, errors),
                    ));
                }
            }
        }
    }
    for (i, (name, p)) in providers.iter().enumerate() {
        let Some(p) = p else { continue };
        let clash = providers
            .iter()
            .take(i)
            .find(|(_, other)| other.as_ref().is_some_and(|o| o.issuer == p.issuer));
        if let Some((other, _)) = clash {
            errors.add(
                &format!("providers.{name}.issuer"),
                ConfigErrorKind::DuplicateIssuer {
                    issuer: p.issuer.clone(),
                    other_provider: other.clone(),
                },
            );
        }
    }

    let mut routes = Vec::new();
    match top.required("routes", errors).map(Value::as_array) {
        None => {}
        Some(None) => errors.push(reader::wrong_type("routes", "a list of routes")),
        Some(Some(list)) if list.is_empty() => errors.add("routes", ConfigErrorKind::NoRoutes),
        Some(Some(list)) => {
            for (i, entry) in list.iter().enumerate() {
                if let Some(route) = route::compile(entry, &item("routes", i), &providers, errors) {
                    routes.push(route);
                }
            }
        }
    }
    let deny = top
        .get("deny")
        .map(|value| deny::compile(value, &providers, errors))
        .unwrap_or_default();
    if providers.is_empty() && routes.iter().any(|r| !r.public) {
        errors.add("providers", ConfigErrorKind::NoProviders);
    }
    if !errors.0.is_empty() {
        return None;
    }
    let providers: Vec<Provider> = providers.into_iter().filter_map(|(_, p)| p).collect();
    let mut stripped_headers: Vec<String> =
        IDENTITY_HEADERS.iter().map(|h| h.to_string()).collect();
    for header in providers.iter().flat_map(|p| &p.claim_to_headers) {
        if !stripped_headers.contains(&header.header_name) {
            stripped_headers.push(header.header_name.clone());
        }
    }
    let route_index = RouteIndex::new(routes.iter().map(|route| &route.matcher));
    let mut match_headers: Vec<String> = Vec::new();
    let matchers = routes
        .iter()
        .map(|r| &r.matcher)
        .chain(deny.iter().map(|d| &d.matcher));
    for condition in matchers.flat_map(|m| &m.headers) {
        if !match_headers.contains(&condition.name) {
            match_headers.push(condition.name.clone());
        }
    }
    Some(Policy {
        mode,
        realm: realm.to_string(),
        providers,
        routes,
        route_index,
        deny,
        match_headers,
        identity_headers,
        stripped_headers,
        revocation,
        revoked,
        limits,
        signature_verifier,
        decision_record,
        hash: policy_hash(value),
    })
}
