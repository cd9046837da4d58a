//! What routes ask of tokens: WA003 (nothing but a valid token), WA007 (a scope listed twice,
//! or a `scopes_any` made dead by `scopes`), and, against the granted scopes of `--scopes`,
//! WA008 (a grant no route requires) and WA009 (a requirement nobody is granted), answered by
//! the core's `Template::can_match`. The rules of an `mcp` block count as requirements of
//! their route for WA007-WA009.

use super::mcp::rules_of;
use super::{Finding, RuleId, Subject};
use workload_authz_core::config::Route;
use workload_authz_core::require::{Requirements, Template};
use workload_authz_core::Policy;

/// Whether the requirements ask anything of the caller beyond a valid token of an accepted
/// provider: `providers`, `typ` and the delegation depth alone do not count.
pub(super) fn asks_of_caller(require: &Requirements) -> bool {
    !require.scopes.is_empty()
        || !require.scopes_any.is_empty()
        || !require.subjects.is_empty()
        || !require.claims.is_empty()
        || !require.actor_subjects.is_empty()
        || require.authorization_details.is_some()
        || require.transaction.is_some()
        || require.bind_peer
}

/// WA003: a protected route whose requirements ask nothing of the caller. An MCP route's
/// messages are judged by their own rules (WA014 covers those that ask nothing either).
pub(super) fn any_valid_token(policy: &Policy, s: &Subject<'_>, out: &mut Vec<Finding>) {
    let route = s.route;
    if route.public || route.mcp.is_some() || asks_of_caller(&route.require) {
        return;
    }
    let who = accepted_tokens(policy, route);
    out.push(Finding::new(
        RuleId::AnyValidToken,
        s.at.clone(),
        format!(
            "protected route {} requires nothing of the token: any valid token {who} passes",
            s.name
        ),
    ));
}

/// Whose tokens a route accepts, in words: `of any provider`, `` of `mesh`, `legacy` ``.
pub(super) fn accepted_tokens(policy: &Policy, route: &Route) -> String {
    match &route.require.providers {
        None => "of any provider".to_string(),
        Some(_) => {
            let names: Vec<String> = policy
                .accepted_providers(route)
                .iter()
                .map(|(_, p)| format!("`{}`", p.name))
                .collect();
            if names.is_empty() {
                "of no access-token provider".to_string()
            } else {
                format!("of {}", names.join(", "))
            }
        }
    }
}

/// WA007 on a route's `require` and on each rule of its `mcp` block.
pub(super) fn redundant_scopes(s: &Subject<'_>, out: &mut Vec<Finding>) {
    let route_name = format!("route {}", s.name);
    redundant_in(
        &s.route.require,
        &format!("{}.require", s.at),
        &route_name,
        out,
    );
    for rule in rules_of(s) {
        let who = format!("{} of {route_name}", rule.label());
        redundant_in(&rule.rule.require, &rule.at, &who, out);
    }
}

/// WA007: a scope listed twice in `scopes` or in `scopes_any`, and each `scopes_any` entry that
/// `scopes` already requires. Templates compare as written. `at` is where the fields are
/// (`routes[0].require`), `name` what holds them (`` route `a` (routes[0]) ``).
fn redundant_in(require: &Requirements, at: &str, name: &str, out: &mut Vec<Finding>) {
    for (field, items) in [
        ("scopes", &require.scopes),
        ("scopes_any", &require.scopes_any),
    ] {
        for (i, scope) in items.iter().enumerate() {
            if items.iter().take(i).any(|t| t.as_str() == scope.as_str()) {
                out.push(Finding::new(
                    RuleId::RedundantScope,
                    format!("{at}.{field}[{i}]"),
                    format!("{name} lists `{}` twice in `{field}`", scope.as_str()),
                ));
            }
        }
    }
    let all: Vec<&str> = require.scopes.iter().map(Template::as_str).collect();
    for (i, scope) in require.scopes_any.iter().enumerate() {
        let scope = scope.as_str();
        if !all.contains(&scope) {
            continue;
        }
        let others: Vec<&str> = require
            .scopes_any
            .iter()
            .map(Template::as_str)
            .filter(|s| *s != scope)
            .collect();
        let dead = if others.is_empty() {
            String::new()
        } else {
            format!(": the alternatives {} are dead", others.join(", "))
        };
        out.push(Finding::new(
            RuleId::RedundantScope,
            format!("{at}.scopes_any[{i}]"),
            format!(
                "{name} requires `{scope}` in `scopes`, so its `scopes_any` is always met{dead}"
            ),
        ));
    }
}

/// The `scopes` and `scopes_any` templates of `require`, each with its path (`at` is where the
/// fields are).
fn scope_templates<'r>(at: &str, require: &'r Requirements) -> Vec<(String, &'r Template)> {
    let mut out = Vec::new();
    for (field, items) in [
        ("scopes", &require.scopes),
        ("scopes_any", &require.scopes_any),
    ] {
        for (i, template) in items.iter().enumerate() {
            out.push((format!("{at}.{field}[{i}]"), template));
        }
    }
    out
}

/// WA008 and WA009 against the granted scopes.
pub(super) fn scope_catalogue(policy: &Policy, catalogue: &[String], out: &mut Vec<Finding>) {
    let mut required: Vec<(String, &Template)> = Vec::new();
    for s in super::subjects(policy) {
        required.extend(scope_templates(
            &format!("{}.require", s.at),
            &s.route.require,
        ));
        for rule in rules_of(&s) {
            required.extend(scope_templates(&rule.at, &rule.rule.require));
        }
    }
    for granted in catalogue {
        if !required.iter().any(|(_, t)| t.can_match(granted)) {
            out.push(Finding::new(
                RuleId::DeadScope,
                "routes",
                format!("granted scope `{granted}` is required by no route"),
            ));
        }
    }
    for (path, template) in &required {
        if !catalogue.iter().any(|g| template.can_match(g)) {
            out.push(Finding::new(
                RuleId::UnknownScope,
                path.clone(),
                format!(
                    "scope `{}` is granted to no one (not in --scopes): this requirement denies everyone",
                    template.as_str()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{compiled, lint, messages};
    use serde_json::json;

    #[test]
    fn scope_templates_meet_the_catalogue() {
        let policy = compiled(
            json!({"mesh": {"issuer": "https://mesh", "max_lifetime_seconds": 60}}),
            json!([
                {"action": "w", "match": {"path": "/t/{tenant}/orders", "methods": ["GET"]},
                 "require": {"scopes": ["orders:write:{tenant}"], "scopes_any": ["a", "b"]}},
                {"action": "h", "match": {"path": "/h", "methods": ["GET"]},
                 "require": {"scopes": ["svc:{header.x-svc}"]}}
            ]),
        );
        // A capture is one non-empty segment; a header value may be empty or hold `/`.
        let grants = [
            "orders:write:acme",
            "orders:write:",
            "orders:write:a/b",
            "a",
            "svc:a/b",
        ]
        .map(String::from);
        let found = lint(&policy, 300, Some(&grants));
        assert_eq!(
            messages(&found, "WA008"),
            vec![
                "routes: granted scope `orders:write:` is required by no route",
                "routes: granted scope `orders:write:a/b` is required by no route",
            ]
        );
        assert_eq!(
            messages(&found, "WA009"),
            vec!["routes[0].require.scopes_any[1]: scope `b` is granted to no one (not in --scopes): this requirement denies everyone"]
        );
    }

    #[test]
    fn redundant_scopes_and_requirements_that_ask_nothing() {
        let policy = compiled(
            json!({"mesh": {"issuer": "https://mesh", "max_lifetime_seconds": 60}}),
            json!([
                {"action": "r", "match": {"path": "/r", "methods": ["GET"]},
                 "require": {"scopes": ["x", "x"], "scopes_any": ["x", "y"]}},
                {"action": "n", "match": {"path": "/n", "methods": ["GET"]},
                 "require": {"providers": ["mesh"], "typ": "at+jwt", "max_delegation_depth": 1}},
                {"action": "b", "match": {"path": "/b", "methods": ["GET"]},
                 "require": {"bind_peer": "spiffe_id"}},
                {"action": "e", "match": {"path": "/e", "methods": ["GET"]},
                 "require": {"scopes": [], "claims": {}}}
            ]),
        );
        let found = lint(&policy, 300, None);
        assert_eq!(
            messages(&found, "WA007"),
            vec![
                "routes[0].require.scopes[1]: route `r` (routes[0]) lists `x` twice in `scopes`",
                "routes[0].require.scopes_any[0]: route `r` (routes[0]) requires `x` in `scopes`, so its `scopes_any` is always met: the alternatives y are dead",
            ]
        );
        assert_eq!(
            messages(&found, "WA003"),
            vec![
                "routes[1]: protected route `n` (routes[1]) requires nothing of the token: any valid token of `mesh` passes",
                "routes[3]: protected route `e` (routes[3]) requires nothing of the token: any valid token of any provider passes",
            ],
            "`bind_peer` asks something of the caller; empty `scopes` and `claims` ask nothing"
        );
    }
}
