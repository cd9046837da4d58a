//! Stage 1, the route: one canonical view of the request (path, authority, the headers the
//! route reads) and the first route that declares it.

use super::checks::Checks;
use super::RequestView;
use crate::config::{Policy, Route, RouteId};
use crate::decision::Reason;
use crate::routes::{canonical_authority, clean_path, Authority};
use std::borrow::Cow;

/// The route a request matched, with its path captures.
pub(super) struct MatchedRoute<'a, 'p> {
    /// Its id in `policy.routes`.
    pub id: RouteId,
    /// The route.
    pub route: &'a Route,
    /// Path captures, in the order of the template's names.
    pub captures: Vec<&'p str>,
}

/// The canonical path routes are matched on (`invalid_path` for one that reads two ways).
pub(super) fn canonical_path<'r, H: AsRef<str>>(
    request: &RequestView<'r, H>,
    checks: &mut Checks<'_>,
) -> Result<Cow<'r, str>, Reason> {
    match clean_path(request.path) {
        Ok(clean) => {
            checks.pass("path", || format!("`{clean}` is clean"));
            Ok(clean)
        }
        Err(error) => checks.fail("path", Reason::InvalidPath, || {
            format!("`{}` refused: {error:?}", request.path)
        }),
    }
}

/// The first route whose `match` fits the request at the canonical `path` and authority
/// (`invalid_authority`, `no_route`, `invalid_path` for a trailing slash that changes the route).
/// Found through the policy's route index; `explain` tries every route in order instead, to
/// trace why each one before the match was skipped (the same route either way).
pub(super) fn select<'a, 'p, H: AsRef<str>>(
    policy: &'a Policy,
    request: &RequestView<'_, H>,
    path: &'p str,
    checks: &mut Checks<'_>,
) -> Result<MatchedRoute<'a, 'p>, Reason> {
    let authority = match canonical_authority(request.authority) {
        Ok(authority) => authority,
        Err(error) => {
            return checks.fail("authority", Reason::InvalidAuthority, || {
                format!("`{}` refused: {error}", request.authority)
            })
        }
    };
    if let Some(name) = repeated(&policy.match_headers, request.headers) {
        return checks.fail("headers", Reason::AmbiguousHeader, || {
            format!("`{name}` is read by a route's `match` and occurs more than once")
        });
    }
    let found = if checks.tracing() {
        scan(policy, request, path, &authority, checks)
    } else {
        policy
            .route_for_request(request.method, path, &authority, request.headers)
            .and_then(|(id, captures)| policy.route(id).map(|route| (id, route, captures)))
    };
    let Some((id, route, captures)) = found else {
        return checks.fail("route", Reason::NoRoute, || {
            format!("no route declares {} {path}", request.method)
        });
    };
    checks.pass("route", || {
        let names = route.matcher.path.capture_names();
        let bound: Vec<String> = names
            .iter()
            .zip(&captures)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        format!(
            "routes[{id}] `{}` matches {}",
            route.action,
            bound.join(" ")
        )
    });
    let conflict =
        policy.trailing_slash_conflict_with(request.method, path, &authority, request.headers, id);
    if let Some(other) = conflict {
        return checks.fail("path", Reason::InvalidPath, || {
            format!(
                "`{path}` reaches routes[{id}] but `{}` reaches routes[{other}]: \
                 the trailing slash makes it another route",
                path.trim_end_matches('/')
            )
        });
    }
    Ok(MatchedRoute {
        id,
        route,
        captures,
    })
}

/// Whether deny rules are judged on a request the route stage decided `selected` for: when a
/// route matched, or none did (`no_route`); not when the request was refused as unreadable
/// (its path, authority or a repeated header could be read two ways).
pub(super) fn deny_rules_apply(selected: &Result<MatchedRoute<'_, '_>, Reason>) -> bool {
    matches!(selected, Ok(_) | Err(Reason::NoRoute))
}

/// Every route in order until one matches, each one skipped noted with the part of its `match`
/// that did not fit (what `explain` shows).
fn scan<'a, 'p, H: AsRef<str>>(
    policy: &'a Policy,
    request: &RequestView<'_, H>,
    path: &'p str,
    authority: &Authority<'_>,
    checks: &mut Checks<'_>,
) -> Option<(RouteId, &'a Route, Vec<&'p str>)> {
    for (id, route) in policy.routes_with_ids() {
        let matched = route
            .matcher
            .try_match(request.method, path, authority)
            .and_then(|captures| {
                if route.matcher.headers_fit(request.headers) {
                    Ok(captures)
                } else {
                    Err("headers")
                }
            });
        match matched {
            Ok(captures) => return Some((id, route, captures)),
            Err(part) => checks.pass("route", || {
                format!(
                    "routes[{id}] `{}` skipped: {part} does not match",
                    route.action
                )
            }),
        }
    }
    None
}

/// The first of `names` that occurs more than once among `headers`.
pub(super) fn repeated<'n, H: AsRef<str>>(
    names: &'n [String],
    headers: &[(H, H)],
) -> Option<&'n str> {
    names
        .iter()
        .find(|name| crate::routes::header_values(headers, name).nth(1).is_some())
        .map(String::as_str)
}

/// Every header the route's requirements read occurs at most once (`ambiguous_header`): the
/// upstream must not be able to act on another copy than the one checked.
pub(super) fn headers_read_once<H: AsRef<str>>(
    route: &Route,
    headers: &[(H, H)],
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    match repeated(&route.headers_read, headers) {
        None => Ok(()),
        Some(name) => checks.fail("headers", Reason::AmbiguousHeader, || {
            format!("`{name}` is read by the route and occurs more than once")
        }),
    }
}

/// A public route ends the decision here (`public`); `None` for a protected one.
pub(super) fn public(route: &Route, checks: &mut Checks<'_>) -> Option<Reason> {
    route.public.then(|| {
        checks.pass("public", || "public route: no token needed".to_string());
        Reason::Public
    })
}
