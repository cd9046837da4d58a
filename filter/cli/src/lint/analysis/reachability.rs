//! Routes that never apply, asked of the compiled matcher: WA006 (an earlier route covers this
//! one, `RouteMatch::covers`) and WA013 (the trailing-slash variant of an exact route's path
//! goes elsewhere, so the filter refuses it: asked with the engine's own `Policy::route_for`
//! and `Policy::trailing_slash_conflict`).

use super::{Finding, RuleId, Subject};
use workload_authz_core::routes::{canonical_authority, without_trailing_slash, HostPattern};
use workload_authz_core::{Policy, RouteId};

/// WA006: the first earlier route that matches every request this one matches.
pub(super) fn unreachable(policy: &Policy, s: &Subject<'_>, out: &mut Vec<Finding>) {
    let earlier = policy
        .routes_with_ids()
        .take(s.id.index())
        .find(|(_, e)| e.matcher.covers(&s.route.matcher));
    let Some((earlier, earlier_route)) = earlier else {
        return;
    };
    let action = earlier_route.action.as_str();
    out.push(Finding::new(
        RuleId::UnreachableRoute,
        s.at.clone(),
        format!(
            "route {} can never match: `{action}` (routes[{earlier}]) comes first and matches every request it matches",
            s.name
        ),
    ));
}

/// WA013, on a sample request the route matches (its first method, its first host).
pub(super) fn trailing_slash(policy: &Policy, s: &Subject<'_>, out: &mut Vec<Finding>) {
    if let Some(message) = trailing_slash_conflict(policy, s) {
        out.push(Finding::new(
            RuleId::TrailingSlashConflict,
            format!("{}.match.path", s.at),
            format!("route {}: {message}", s.name),
        ));
    }
}

/// Where a request for the route's path with (or, for a template ending in `/`, without) the
/// trailing slash goes, when the filter then refuses it as `invalid_path`.
fn trailing_slash_conflict(policy: &Policy, s: &Subject<'_>) -> Option<String> {
    let (id, route) = (s.id, s.route);
    if route.matcher.path.has_rest() {
        return None;
    }
    let method = route
        .matcher
        .methods
        .as_ref()
        .and_then(|m| m.first())
        .map_or("GET", String::as_str);
    let host = match route.matcher.hosts.as_ref().and_then(|h| h.first()) {
        Some(HostPattern::Exact(host)) => host.clone(),
        Some(HostPattern::Suffix(suffix)) => format!("x{suffix}"),
        Some(HostPattern::Any) | None => String::new(),
    };
    let authority = canonical_authority(&host).ok()?;
    let sample = route.matcher.path.sample_path();
    let (slashed, owner) = match without_trailing_slash(&sample) {
        // A template ending in `/`: its own requests conflict when the bare form goes elsewhere.
        Some(_) => (sample.clone(), id),
        None if sample == "/" => return None,
        None => {
            let slashed = format!("{sample}/");
            let (owner, _) = policy.route_for(method, &slashed, &authority)?;
            (slashed, owner)
        }
    };
    let other = policy.trailing_slash_conflict(method, &slashed, &authority, owner)?;
    let bare = slashed.trim_end_matches('/');
    let action = |id: RouteId| policy.route(id).map_or("", |r| r.action.as_str());
    Some(format!(
        "`{method} {slashed}` reaches routes[{owner}] `{}` but `{bare}` reaches routes[{other}] `{}`, so `{slashed}` is refused as invalid_path",
        action(owner),
        action(other)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::{compiled, lint};
    use serde_json::json;

    #[test]
    fn an_earlier_covering_route_makes_a_later_one_unreachable() {
        let policy = compiled(
            json!({"mesh": {"issuer": "https://mesh", "max_lifetime_seconds": 60}}),
            json!([
                {"action": "any", "match": {"path": "/a/{id}", "methods": ["GET", "HEAD"],
                 "hosts": ["*.example"]}, "require": {"scopes": ["r"]}},
                {"action": "one", "match": {"path": "/a/b", "methods": ["GET"],
                 "hosts": ["api.example:8443"]}, "require": {"scopes": ["r"]}},
                {"action": "other-host", "match": {"path": "/a/b", "methods": ["GET"],
                 "hosts": ["api.other"]}, "require": {"scopes": ["r"]}},
                {"action": "escaped", "match": {"path": "/caf%c3%a9/*"}, "require": {"scopes": ["r"]}},
                {"action": "same", "match": {"path": "/caf%C3%A9/x"}, "require": {"scopes": ["r"]}}
            ]),
        );
        let wa006: Vec<String> = lint(&policy, 300, None)
            .into_iter()
            .filter(|f| f.rule().code == "WA006")
            .map(|f| format!("{}: {}", f.path, f.message))
            .collect();
        assert_eq!(
            wa006,
            vec![
                "routes[1]: route `one` (routes[1]) can never match: `any` (routes[0]) comes first and matches every request it matches",
                "routes[4]: route `same` (routes[4]) can never match: `escaped` (routes[3]) comes first and matches every request it matches",
            ],
            "literals compare in the canonical form the engine matches (escape hex case aside)"
        );
    }
}
