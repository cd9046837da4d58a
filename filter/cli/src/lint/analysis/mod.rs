//! [`lint`]: every rule over a compiled policy. The themes' functions are called route by route
//! and append their findings; [`lint`] then orders them by severity, then by code, keeping the
//! order of the routes within one code. The route-shape rules live here: WA005 (a protected
//! `**` route), WA010 (a shadow route), WA011 (a shadow policy), WA012 (a public write route).

mod lifetime;
mod mcp;
mod reachability;
mod requirements;

use super::{Finding, RuleId};
use workload_authz_core::config::{Route, RouteId};
use workload_authz_core::{Mode, Policy};

/// All findings for a compiled policy: `threshold` is `--max-write-lifetime` (seconds),
/// `catalogue` the granted scopes of `--scopes` (WA008/WA009 only run with it).
pub fn lint(policy: &Policy, threshold: u64, catalogue: Option<&[String]>) -> Vec<Finding> {
    let mut out = Vec::new();
    if policy.mode == Mode::Shadow {
        out.push(Finding::new(
            RuleId::ShadowPolicy,
            "mode",
            "the policy's `mode` is `shadow`: every denial is only recorded",
        ));
    }
    lifetime::providers(policy, &mut out);
    for subject in subjects(policy) {
        shape(policy, &subject, &mut out);
        lifetime::write_route(policy, &subject, threshold, &mut out);
        requirements::any_valid_token(policy, &subject, &mut out);
        reachability::unreachable(policy, &subject, &mut out);
        requirements::redundant_scopes(&subject, &mut out);
        reachability::trailing_slash(policy, &subject, &mut out);
        mcp::unrestricted(policy, &subject, &mut out);
        mcp::unbound_wildcard_resources(&subject, &mut out);
        mcp::list_mismatch(&subject, &mut out);
        mcp::non_post_methods(&subject, &mut out);
    }
    if let Some(catalogue) = catalogue {
        requirements::scope_catalogue(policy, catalogue, &mut out);
    }
    out.sort_by(|a, b| {
        b.rule()
            .severity
            .cmp(&a.rule().severity)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// One route as findings name it.
struct Subject<'p> {
    /// Its id (index in `routes`).
    id: RouteId,
    /// The compiled route.
    route: &'p Route,
    /// `routes[i]`.
    at: String,
    /// `` `action` (routes[i]) ``.
    name: String,
}

fn subjects(policy: &Policy) -> impl Iterator<Item = Subject<'_>> {
    policy.routes_with_ids().map(|(id, route)| {
        let at = format!("routes[{id}]");
        let name = format!("`{}` ({at})", route.action);
        Subject {
            id,
            route,
            at,
            name,
        }
    })
}

/// WA012 (a public route that accepts writes), WA005 (a protected `**` route), WA010 (a
/// shadow route in an enforcing policy).
fn shape(policy: &Policy, s: &Subject<'_>, out: &mut Vec<Finding>) {
    let route = s.route;
    if route.public {
        if let Some(writes) = write_methods(route) {
            out.push(Finding::new(
                RuleId::PublicWriteRoute,
                format!("{}.match", s.at),
                format!("public route {} accepts {writes} with no token", s.name),
            ));
        }
        return;
    }
    if route.matcher.path.has_rest() {
        out.push(Finding::new(
            RuleId::ProtectedWildcardRoute,
            format!("{}.match.path", s.at),
            format!(
                "protected route {} matches the whole subtree `{}`",
                s.name,
                route.matcher.path.as_str()
            ),
        ));
    }
    if route.mode == Some(Mode::Shadow) && policy.mode == Mode::Enforce {
        out.push(Finding::new(
            RuleId::ShadowRoute,
            format!("{}.mode", s.at),
            format!(
                "route {} is in shadow mode: its denials are only recorded",
                s.name
            ),
        ));
    }
}

const WRITE_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

/// The write methods a route accepts, in words; `None` when it accepts none.
fn write_methods(route: &Route) -> Option<String> {
    match &route.matcher.methods {
        None => Some("any method (POST, PUT, PATCH, DELETE included)".to_string()),
        Some(methods) => {
            let writes: Vec<&str> = methods
                .iter()
                .map(String::as_str)
                .filter(|m| WRITE_METHODS.contains(m))
                .collect();
            (!writes.is_empty()).then(|| writes.join(", "))
        }
    }
}

/// A unit test's policy, compiled exactly as the filter does; the one provider `mesh` reads
/// keys from a remote JWKS, so no key material is needed.
#[cfg(test)]
fn compiled(providers: serde_json::Value, routes: serde_json::Value) -> Policy {
    #![allow(clippy::unwrap_used)]
    let remote =
        serde_json::json!({"http_uri": {"uri": "http://idp.internal/jwks", "cluster": "idp"}});
    let mut providers = providers;
    for provider in providers.as_object_mut().unwrap().values_mut() {
        provider["remote_jwks"] = remote.clone();
        provider["audiences"] = serde_json::json!(["svc"]);
    }
    let config = serde_json::json!({"providers": providers, "routes": routes});
    workload_authz_core::config::compile_value(&config).unwrap()
}

/// `path: message` of the findings of rule `code`, in report order (unit tests).
#[cfg(test)]
fn messages(found: &[Finding], code: &str) -> Vec<String> {
    found
        .iter()
        .filter(|f| f.rule().code == code)
        .map(|f| format!("{}: {}", f.path, f.message))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule().code).collect()
    }

    #[test]
    fn findings_are_ordered_by_severity_then_code() {
        let policy = compiled(
            json!({"mesh": {"issuer": "https://mesh"}}),
            json!([
                {"action": "a", "match": {"path": "/**"}, "mode": "shadow"},
                {"action": "b", "match": {"path": "/b"}}
            ]),
        );
        let found = lint(&policy, 300, None);
        assert_eq!(
            codes(&found),
            vec!["WA001", "WA001", "WA006", "WA003", "WA003", "WA004", "WA005", "WA010"],
            "{found:#?}"
        );
        let paths: Vec<&str> = found.iter().take(2).map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["routes[0]", "routes[1]"],
            "route order within a code"
        );
    }
}
