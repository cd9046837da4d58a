//! What routes ask of tokens: WA003 (nothing but a valid token), WA007 (a scope listed twice,
//! or a `scopes_any` made dead by `scopes`), and, against the granted scopes of `--scopes`,
//! WA008 (a grant no route requires) and WA009 (a requirement nobody is granted), answered by
//! the core's `Template::can_match`.

use super::{Finding, RuleId, Subject};
use workload_authz_core::require::{Requirements, Template};
use workload_authz_core::Policy;

/// Whether the requirements ask anything of the caller beyond a valid token of an accepted
/// provider: `providers`, `typ` and the delegation depth alone do not count.
fn asks_of_caller(require: &Requirements) -> bool {
    !require.scopes.is_empty()
        || !require.scopes_any.is_empty()
        || !require.subjects.is_empty()
        || !require.claims.is_empty()
        || !require.actor_subjects.is_empty()
        || require.authorization_details.is_some()
        || require.transaction.is_some()
        || require.bind_peer
}

/// WA003: a protected route whose requirements ask nothing of the caller.
pub(super) fn any_valid_token(policy: &Policy, s: &Subject<'_>, out: &mut Vec<Finding>) {
    let route = s.route;
    if route.public || asks_of_caller(&route.require) {
        return;
    }
    let who = match &route.require.providers {
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
    };
    out.push(Finding::new(
        RuleId::AnyValidToken,
        s.at.clone(),
        format!(
            "protected route {} requires nothing of the token: any valid token {who} passes",
            s.name
        ),
    ));
}

/// WA007: a scope listed twice in `scopes` or in `scopes_any`, and each `scopes_any` entry that
/// `scopes` already requires. Templates compare as written.
pub(super) fn redundant_scopes(s: &Subject<'_>, out: &mut Vec<Finding>) {
    let require = &s.route.require;
    let (at, name) = (&s.at, &s.name);
    for (field, items) in [
        ("scopes", &require.scopes),
        ("scopes_any", &require.scopes_any),
    ] {
        for (i, scope) in items.iter().enumerate() {
            if items.iter().take(i).any(|t| t.as_str() == scope.as_str()) {
                out.push(Finding::new(
                    RuleId::RedundantScope,
                    format!("{at}.require.{field}[{i}]"),
                    format!("route {name} lists `{}` twice in `{field}`", scope.as_str()),
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
            format!("{at}.require.scopes_any[{i}]"),
            format!("route {name} requires `{scope}` in `scopes`, so its `scopes_any` is always met{dead}"),
        ));
    }
}

/// WA008 and WA009 against the granted scopes.
pub(super) fn scope_catalogue(policy: &Policy, catalogue: &[String], out: &mut Vec<Finding>) {
    let mut required: Vec<(String, &Template)> = Vec::new();
    for (index, route) in policy.routes.iter().enumerate() {
        for (field, items) in [
            ("scopes", &route.require.scopes),
            ("scopes_any", &route.require.scopes_any),
        ] {
            for (i, template) in items.iter().enumerate() {
                required.push((format!("routes[{index}].require.{field}[{i}]"), template));
            }
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
    use super::super::{compiled, lint};
    use serde_json::json;

    fn messages(found: &[super::Finding], code: &str) -> Vec<String> {
        found
            .iter()
            .filter(|f| f.rule().code == code)
            .map(|f| format!("{}: {}", f.path, f.message))
            .collect()
    }

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
