//! Compiling the `routes` block.

use super::error::{Choice, ConfigErrorKind as Kind, ListOf};
use super::ids::ProviderId;
use super::policy::{accepted_provider_ids, Mode, Provider, Route, RouteDpop};
use super::provider::{is_name, MAX_LIFETIME_LIMIT};
use super::reader::{item, Errors, Obj};
use super::requirements::{compile_require, PathScope};
use crate::keys::Algorithm;
use crate::require::Requirements;
use crate::routes::{HeaderCondition, HeaderTest, HostPattern, PathPattern, RouteMatch};
use crate::token::{HeaderSource, TokenSource};
use serde_json::Value;

/// The fields of a route.
pub const ROUTE_FIELDS: &[&str] = &[
    "action",
    "match",
    "public",
    "require",
    "max_lifetime_seconds",
    "mode",
    "mcp",
];
/// The fields of `match`.
pub const MATCH_FIELDS: &[&str] = &[
    "path",
    "methods",
    "hosts",
    "headers",
    "not_methods",
    "not_paths",
];
/// The fields of one `match.headers` entry: `name` and exactly one test.
pub const HEADER_MATCH_FIELDS: &[&str] = &["name", "exact", "prefix", "present", "absent"];
/// The fields of `require`.
pub const REQUIRE_FIELDS: &[&str] = &[
    "providers",
    "scopes",
    "scopes_any",
    "subjects",
    "claims",
    "actor",
    "max_delegation_depth",
    "allow_delegation",
    "authorization_details",
    "transaction",
    "bind_peer",
    "typ",
    "dpop",
];

/// Compiles one route; `providers` are the compiled providers (by name lookup).
pub fn compile(
    value: &Value,
    path: &str,
    providers: &[(String, Option<Provider>)],
    errors: &mut Errors,
) -> Option<Route> {
    let obj = Obj::new(value, path, ROUTE_FIELDS, errors)?;
    let before = errors.0.len();
    let action = required_name(&obj, "action", errors);
    let matcher = obj
        .required("match", errors)
        .and_then(|m| compile_match(m, &obj.path_of("match"), errors));
    let public = obj.opt_bool("public", errors).unwrap_or(false);
    let mode = obj
        .opt_str("mode", errors)
        .and_then(|m| parse_mode(m, &obj.path_of("mode"), errors));
    let max_lifetime_seconds = obj.opt_u64("max_lifetime_seconds", 1, MAX_LIFETIME_LIMIT, errors);
    let require = match obj.get("require") {
        Some(_) if public => {
            errors.add(&obj.path_of("require"), Kind::PublicRouteRequirement);
            None
        }
        Some(value) => matcher.as_ref().and_then(|(m, template)| {
            let scope = PathScope::route(&m.path, template);
            compile_require(value, &obj.path_of("require"), &scope, providers, errors)
        }),
        None => Some(Requirements::default()),
    };
    if public && max_lifetime_seconds.is_some() {
        errors.add(
            &obj.path_of("max_lifetime_seconds"),
            Kind::PublicRouteLifetime,
        );
    }
    let mcp = match obj.get("mcp") {
        None => None,
        Some(_) if public => {
            errors.add(&obj.path_of("mcp"), Kind::PublicRouteMcp);
            None
        }
        Some(value) => matcher.as_ref().and_then(|(m, template)| {
            let scope = PathScope::route(&m.path, template);
            super::mcp::compile(value, &obj.path_of("mcp"), &scope, providers, errors)
        }),
    };
    if errors.0.len() != before {
        return None;
    }
    let require = require?;
    let token_sources = token_sources(&require, providers);
    let dpop = route_dpop(&require, providers);
    let mut headers_read = require.headers_read();
    if let Some(mcp) = &mcp {
        for name in mcp.headers_read() {
            if !headers_read.contains(&name) {
                headers_read.push(name);
            }
        }
    }
    Some(Route {
        action: action?.to_string(),
        matcher: matcher?.0,
        public,
        mode,
        max_lifetime_seconds,
        require,
        token_sources,
        headers_read,
        mcp: mcp.map(Box::new),
        dpop,
    })
}

/// The route's DPoP facts: required by `require.dpop` or by every accepted provider; the
/// union of their proof algorithms.
fn route_dpop(require: &Requirements, providers: &[(String, Option<Provider>)]) -> RouteDpop {
    let declared = |id: ProviderId| providers.get(id.index()).and_then(|(_, p)| p.as_ref());
    let accepted: Vec<&Provider> = accepted_provider_ids(require, providers.len(), declared)
        .into_iter()
        .filter_map(declared)
        .collect();
    let required =
        require.dpop || (!accepted.is_empty() && accepted.iter().all(|p| p.dpop.required));
    let algs: Vec<&str> = Algorithm::DEFAULT
        .iter()
        .filter(|alg| accepted.iter().any(|p| p.dpop.algorithms.contains(alg)))
        .map(|alg| alg.as_str())
        .collect();
    RouteDpop {
        required,
        algs: algs.join(" "),
    }
}

/// Parses a `mode` value.
pub fn parse_mode(text: &str, path: &str, errors: &mut Errors) -> Option<Mode> {
    match text {
        "enforce" => Some(Mode::Enforce),
        "shadow" => Some(Mode::Shadow),
        other => {
            errors.add(path, Kind::not_a(Choice::Mode, other));
            None
        }
    }
}

/// The required field `key`, a name (`BadActionName` otherwise, still returned so that the
/// rest of the object is checked): a route's `action`, a deny rule's `name`.
pub(super) fn required_name<'a>(obj: &Obj<'a>, key: &str, errors: &mut Errors) -> Option<&'a str> {
    let name = obj.req_str(key, errors)?;
    if !is_name(name) {
        errors.add(
            &obj.path_of(key),
            Kind::BadActionName {
                name: name.to_string(),
            },
        );
    }
    Some(name)
}

/// The compiled `match`, and its path template as written (for the hints of the requirements).
pub(super) fn compile_match<'a>(
    value: &'a Value,
    path: &str,
    errors: &mut Errors,
) -> Option<(RouteMatch, &'a str)> {
    let obj = Obj::new(value, path, MATCH_FIELDS, errors)?;
    let template = obj.req_str("path", errors);
    let pattern = template.and_then(|p| {
        PathPattern::compile(p)
            .map_err(|e| errors.add(&obj.path_of("path"), Kind::BadPathTemplate(e)))
            .ok()
    });
    let methods = method_list(&obj, "methods", errors);
    if methods.as_ref().is_some_and(Vec::is_empty) {
        errors.add(&obj.path_of("methods"), Kind::EmptyList(ListOf::Methods));
    }
    let not_methods = method_list(&obj, "not_methods", errors).unwrap_or_default();
    let not_paths = obj
        .opt_str_list("not_paths", errors)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            PathPattern::compile(p)
                .map_err(|e| {
                    errors.add(
                        &item(&obj.path_of("not_paths"), i),
                        Kind::BadPathTemplate(e),
                    )
                })
                .ok()
        })
        .collect();
    let headers = match obj.get("headers") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                header_condition(entry, &item(&obj.path_of("headers"), i), errors)
            })
            .collect(),
        Some(_) => {
            errors.push(super::reader::wrong_type(
                &obj.path_of("headers"),
                "a list of {name, exact | prefix | present | absent}",
            ));
            Vec::new()
        }
    };
    let hosts = obj.opt_str_list("hosts", errors).map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let pattern = HostPattern::compile(h);
                if pattern.is_none() {
                    errors.add(
                        &item(&obj.path_of("hosts"), i),
                        Kind::BadHostPattern {
                            pattern: h.to_string(),
                        },
                    );
                }
                pattern
            })
            .collect::<Vec<_>>()
    });
    if hosts.as_ref().is_some_and(Vec::is_empty) {
        errors.add(&obj.path_of("hosts"), Kind::EmptyList(ListOf::Hosts));
    }
    Some((
        RouteMatch {
            path: pattern?,
            methods,
            hosts,
            headers,
            not_methods,
            not_paths,
        },
        template?,
    ))
}

/// A list of HTTP methods (uppercased), each a token of letters and `-`.
fn method_list(obj: &Obj<'_>, key: &str, errors: &mut Errors) -> Option<Vec<String>> {
    obj.opt_str_list(key, errors).map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let valid =
                    !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
                if !valid {
                    errors.add(
                        &item(&obj.path_of(key), i),
                        Kind::BadMethod {
                            method: m.to_string(),
                        },
                    );
                }
                valid.then(|| m.to_ascii_uppercase())
            })
            .collect::<Vec<_>>()
    })
}

/// One `match.headers` entry: `{name, exact}`, `{name, prefix}`, `{name, present: true|false}`
/// or `{name, absent: true}` (Envoy's `HeaderMatcher` subset).
fn header_condition(value: &Value, path: &str, errors: &mut Errors) -> Option<HeaderCondition> {
    let obj = Obj::new(value, path, HEADER_MATCH_FIELDS, errors)?;
    let name = obj.req_str("name", errors)?;
    let valid_name = !name.is_empty()
        && !name.starts_with(':')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid_name {
        errors.add(
            &obj.path_of("name"),
            Kind::BadHeaderName {
                name: name.to_string(),
            },
        );
        return None;
    }
    let exact = obj.opt_str("exact", errors);
    let prefix = obj.opt_str("prefix", errors);
    let present = obj.opt_bool("present", errors);
    let absent = obj.opt_bool("absent", errors);
    let test = match (exact, prefix, present, absent) {
        (Some(v), None, None, None) => HeaderTest::Exact(v.to_string()),
        (None, Some(v), None, None) => HeaderTest::Prefix(v.to_string()),
        (None, None, Some(true), None) | (None, None, None, Some(false)) => HeaderTest::Present,
        (None, None, Some(false), None) | (None, None, None, Some(true)) => HeaderTest::Absent,
        _ => {
            errors.add(path, Kind::HeaderMatchTest);
            return None;
        }
    };
    Some(HeaderCondition {
        name: name.to_ascii_lowercase(),
        test,
    })
}

fn token_sources(
    require: &Requirements,
    providers: &[(String, Option<Provider>)],
) -> Vec<TokenSource> {
    // Transaction-token providers never authenticate the caller: they are read by `transaction`.
    let declared = |id: ProviderId| providers.get(id.index()).and_then(|(_, p)| p.as_ref());
    let accepted = accepted_provider_ids(require, providers.len(), declared);
    let mut sources: Vec<TokenSource> = Vec::new();
    for id in accepted {
        let Some(provider) = declared(id) else {
            continue;
        };
        // `Authorization: Bearer` is read as `Authorization: DPoP` too (RFC 9449 section 7.1).
        let dpop = provider
            .from_headers
            .iter()
            .filter(|h| h.is_authorization_bearer())
            .map(|_| HeaderSource::dpop());
        let headers: Vec<HeaderSource> =
            provider.from_headers.iter().cloned().chain(dpop).collect();
        for header in headers {
            match sources.iter_mut().find(|s| s.header == header) {
                Some(source) => source.providers.push(id),
                None => sources.push(TokenSource {
                    header,
                    providers: vec![id],
                }),
            }
        }
    }
    sources
}
