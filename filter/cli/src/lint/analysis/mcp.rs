//! MCP routes (a route with an `mcp` block), asked of the compiled `McpRoute`: WA014 (a tool,
//! prompt or resource any valid token may call), WA015 (a `**` resource template whose rule
//! binds none of its captures), WA016 (tools or prompts declared without their list method, or
//! the list method with nothing declared), WA017 (an MCP route matching methods other than
//! POST). [`rules_of`] names every rule of a block, for these and for WA007-WA009.

use super::requirements::{accepted_tokens, asks_of_caller};
use super::{Finding, RuleId, Subject};
use workload_authz_core::mcp::{McpRoute, McpRule, ResourceRule};
use workload_authz_core::require::{Expected, Template};
use workload_authz_core::Policy;

/// What an `mcp` rule governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `tools.NAME` (`tools/call`).
    Tool,
    /// `prompts.NAME` (`prompts/get`).
    Prompt,
    /// `resources[i]` (`resources/read`).
    Resource,
    /// `methods.NAME`.
    Method,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Tool => "tool",
            Kind::Prompt => "prompt",
            Kind::Resource => "resource",
            Kind::Method => "method",
        }
    }

    /// What a caller does to it.
    fn verb(self) -> &'static str {
        match self {
            Kind::Tool | Kind::Method => "call",
            Kind::Prompt => "get",
            Kind::Resource => "read",
        }
    }
}

/// One rule of an `mcp` block as findings name it.
pub(super) struct RuleAt<'p> {
    /// What it governs.
    pub kind: Kind,
    /// The tool, prompt or method name, or the resource's URI template.
    pub name: &'p str,
    /// Its configuration path: `routes[0].mcp.tools.search`, `routes[0].mcp.resources[1]`.
    pub at: String,
    /// The compiled rule.
    pub rule: &'p McpRule,
}

impl RuleAt<'_> {
    /// `` tool `search` ``.
    pub fn label(&self) -> String {
        format!("{} `{}`", self.kind.as_str(), self.name)
    }
}

/// Every rule of the route's `mcp` block (none off MCP routes): tools, prompts, resources,
/// methods.
pub(super) fn rules_of<'p>(s: &Subject<'p>) -> Vec<RuleAt<'p>> {
    let Some(mcp) = s.route.mcp.as_deref() else {
        return Vec::new();
    };
    let named = |kind: Kind, field: &'static str, rules: &'p [(String, McpRule)]| {
        let at = &s.at;
        rules.iter().map(move |(name, rule)| RuleAt {
            kind,
            name: name.as_str(),
            at: format!("{at}.mcp.{field}.{name}"),
            rule,
        })
    };
    let resources = mcp.resources.iter().enumerate().map(|(i, r)| RuleAt {
        kind: Kind::Resource,
        name: r.uri.as_str(),
        at: format!("{}.mcp.resources[{i}]", s.at),
        rule: &r.rule,
    });
    named(Kind::Tool, "tools", &mcp.tools)
        .chain(named(Kind::Prompt, "prompts", &mcp.prompts))
        .chain(resources)
        .chain(named(Kind::Method, "methods", &mcp.methods))
        .collect()
}

/// WA014: a tool, prompt or resource whose rule asks nothing of the caller on a route whose
/// `require` asks nothing either. `methods` rules (`initialize`, `ping`...) are left alone:
/// any caller of the route may run the protocol.
pub(super) fn unrestricted(policy: &Policy, s: &Subject<'_>, out: &mut Vec<Finding>) {
    if s.route.mcp.is_none() || asks_of_caller(&s.route.require) {
        return;
    }
    let who = accepted_tokens(policy, s.route);
    for rule in rules_of(s) {
        if rule.kind == Kind::Method || asks_of_caller(&rule.rule.require) {
            continue;
        }
        out.push(Finding::new(
            RuleId::McpUnrestrictedTarget,
            rule.at.clone(),
            format!(
                "{} of MCP route {} requires nothing of the token, nor does the route: any valid token {who} may {} it",
                rule.label(),
                s.name,
                rule.kind.verb()
            ),
        ));
    }
}

/// The `{...}` placeholders of a template, as written (`crm:read:{tenant}` → `tenant`).
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// Whether a scope or claim condition of the resource's rule names one of its URI captures.
fn binds_a_capture(resource: &ResourceRule) -> bool {
    let captures = resource.uri.capture_names();
    let templated =
        |t: &Template| placeholders(t.as_str()).any(|p| captures.iter().any(|c| c == p));
    let require = &resource.rule.require;
    require
        .scopes
        .iter()
        .chain(&require.scopes_any)
        .any(templated)
        || require.claims.iter().any(|c| {
            c.allowed
                .iter()
                .any(|e| matches!(e, Expected::Text(t) if templated(t)))
        })
}

/// WA015: a resource template ending in `**` whose rule binds none of the URI's captures.
pub(super) fn unbound_wildcard_resources(s: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(mcp) = s.route.mcp.as_deref() else {
        return;
    };
    for (i, resource) in mcp.resources.iter().enumerate() {
        if !resource.uri.has_rest() || binds_a_capture(resource) {
            continue;
        }
        let captures = resource.uri.capture_names();
        let unbound = if captures.is_empty() {
            "it captures nothing to bind".to_string()
        } else {
            let names: Vec<String> = captures.iter().map(|c| format!("{{{c}}}")).collect();
            format!(
                "no scope or claim condition of its rule names {}",
                names.join(", ")
            )
        };
        let scopes: Vec<&str> = resource
            .rule
            .require
            .scopes
            .iter()
            .map(Template::as_str)
            .collect();
        let holder = if scopes.is_empty() {
            "any caller its rule admits".to_string()
        } else {
            format!("any token with `{}`", scopes.join("`, `"))
        };
        out.push(Finding::new(
            RuleId::McpUnboundWildcardResource,
            format!("{}.mcp.resources[{i}].uri", s.at),
            format!(
                "resource `{}` of MCP route {} ends in `**` and {unbound}: {holder} reads every resource under it",
                resource.uri.as_str(),
                s.name
            ),
        ));
    }
}

/// A table of named rules of an `mcp` block.
type Table = fn(&McpRoute) -> &[(String, McpRule)];

/// Tools and prompts: the table, its list method, and the method that calls an entry.
const LISTS: [(&str, Table, &str, &str); 2] = [
    ("tools", |m| &m.tools, "tools/list", "tools/call"),
    ("prompts", |m| &m.prompts, "prompts/list", "prompts/get"),
];

/// WA016: tools (prompts) declared while `methods` lacks their list method, or the list method
/// allowed with none declared.
pub(super) fn list_mismatch(s: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(mcp) = s.route.mcp.as_deref() else {
        return;
    };
    for (table, rules, list, call) in LISTS {
        let declared: Vec<String> = rules(mcp).iter().map(|(n, _)| format!("`{n}`")).collect();
        let listed = mcp.methods.iter().any(|(n, _)| n == list);
        if !declared.is_empty() && !listed {
            out.push(Finding::new(
                RuleId::McpListMismatch,
                format!("{}.mcp.methods", s.at),
                format!(
                    "MCP route {} declares {table} ({}) but `methods` lacks `{list}`: clients cannot discover them (the filter answers `{list}` mcp_method_not_allowed)",
                    s.name,
                    declared.join(", ")
                ),
            ));
        } else if declared.is_empty() && listed {
            out.push(Finding::new(
                RuleId::McpListMismatch,
                format!("{}.mcp.methods.{list}", s.at),
                format!(
                    "MCP route {} allows `{list}` but declares no {table}: every `{call}` is refused (tool_not_allowed), whatever the server lists",
                    s.name
                ),
            ));
        }
    }
}

/// WA017: an MCP route that matches methods other than POST, or any method.
pub(super) fn non_post_methods(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if s.route.mcp.is_none() {
        return;
    }
    let (at, accepts) = match &s.route.matcher.methods {
        None => (
            format!("{}.match", s.at),
            "accepts any method (`match.methods` is absent)".to_string(),
        ),
        Some(methods) => {
            let others: Vec<&str> = methods
                .iter()
                .map(String::as_str)
                .filter(|m| *m != "POST")
                .collect();
            if others.is_empty() {
                return;
            }
            (
                format!("{}.match.methods", s.at),
                format!("accepts {}", others.join(", ")),
            )
        }
    };
    out.push(Finding::new(
        RuleId::McpNonPostMethod,
        at,
        format!(
            "MCP route {} {accepts}: such requests carry no JSON-RPC message and are answered invalid_mcp_request (400)",
            s.name
        ),
    ));
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::super::{compiled, lint, messages};
    use serde_json::{json, Value};

    const MESH: &str = "https://mesh";

    /// A policy of MCP routes `/mcp/0`, `/mcp/1`...: each `(require, mcp)` pair, POST only,
    /// with `resource` set.
    fn mcp_routes(routes: &[(Value, Value)]) -> workload_authz_core::Policy {
        let list: Vec<Value> = routes
            .iter()
            .enumerate()
            .map(|(i, (require, mcp))| {
                let mut mcp = mcp.clone();
                mcp["resource"] = json!(format!("https://svc.example/mcp/{i}"));
                json!({"action": format!("mcp{i}"), "match": {"path": format!("/mcp/{i}"), "methods": ["POST"]},
                       "require": require, "mcp": mcp})
            })
            .collect();
        compiled(
            json!({"mesh": {"issuer": MESH, "max_lifetime_seconds": 60}}),
            Value::Array(list),
        )
    }

    fn found(
        policy: &workload_authz_core::Policy,
        code: &str,
        scopes: Option<&[String]>,
    ) -> Vec<String> {
        messages(&lint(policy, 300, scopes), code)
    }

    #[test]
    fn wa014_a_target_nothing_restricts() {
        let policy = mcp_routes(&[
            (
                json!({"providers": ["mesh"]}),
                json!({"methods": {"ping": {}, "tools/list": {}, "prompts/list": {}},
                       "tools": {"open": {}, "scoped": {"scopes": ["t"]}, "mine": {"subjects": ["spiffe://x/*"]},
                                 "filtered": {"arguments": {"region": "eu"}}},
                       "prompts": {"p": {}},
                       "resources": [{"uri": "crm://a/b"}, {"uri": "crm://a/c", "claims": {"team": "x"}}]}),
            ),
            (
                json!({"scopes": ["mcp"]}),
                json!({"methods": {"tools/list": {}}, "tools": {"open": {}}}),
            ),
        ]);
        assert_eq!(
            found(&policy, "WA014", None),
            vec![
                "routes[0].mcp.tools.filtered: tool `filtered` of MCP route `mcp0` (routes[0]) requires nothing of the token, nor does the route: any valid token of `mesh` may call it",
                "routes[0].mcp.tools.open: tool `open` of MCP route `mcp0` (routes[0]) requires nothing of the token, nor does the route: any valid token of `mesh` may call it",
                "routes[0].mcp.prompts.p: prompt `p` of MCP route `mcp0` (routes[0]) requires nothing of the token, nor does the route: any valid token of `mesh` may get it",
                "routes[0].mcp.resources[0]: resource `crm://a/b` of MCP route `mcp0` (routes[0]) requires nothing of the token, nor does the route: any valid token of `mesh` may read it",
            ],
            "`arguments` restrict values, not callers; `methods` rules are the protocol's; a route scope restricts every tool"
        );
        assert!(
            found(&policy, "WA003", None).is_empty(),
            "an MCP route's messages are judged by their rules"
        );
    }

    #[test]
    fn wa015_a_wildcard_resource_that_binds_no_capture() {
        let policy = mcp_routes(&[(
            json!({}),
            json!({"resources": [
                {"uri": "crm://a/{t}/**", "scopes": ["r"], "claims": {"tenant": "{t}"}},
                {"uri": "crm://b/{t}/**", "scopes": ["r:{t}"]},
                {"uri": "crm://c/{t}/**", "scopes_any": ["r:{t}", "admin"]},
                {"uri": "crm://d/{t}/**", "scopes": ["r"], "claims": {"tenant": "acme"}},
                {"uri": "crm://e/**", "scopes": ["r", "s"]},
                {"uri": "crm://f/{t}", "scopes": ["r"]},
                {"uri": "crm://g/**", "claims": {"tenant": "{claim.org}"}}
            ]}),
        )]);
        assert_eq!(
            found(&policy, "WA015", None),
            vec![
                "routes[0].mcp.resources[3].uri: resource `crm://d/{t}/**` of MCP route `mcp0` (routes[0]) ends in `**` and no scope or claim condition of its rule names {t}: any token with `r` reads every resource under it",
                "routes[0].mcp.resources[4].uri: resource `crm://e/**` of MCP route `mcp0` (routes[0]) ends in `**` and it captures nothing to bind: any token with `r`, `s` reads every resource under it",
                "routes[0].mcp.resources[6].uri: resource `crm://g/**` of MCP route `mcp0` (routes[0]) ends in `**` and it captures nothing to bind: any caller its rule admits reads every resource under it",
            ]
        );
    }

    #[test]
    fn wa016_declared_tools_and_prompts_without_their_list_and_the_reverse() {
        let policy = mcp_routes(&[
            (
                json!({"scopes": ["m"]}),
                json!({"methods": {"ping": {}}, "tools": {"a": {"scopes": ["a"]}, "b": {"scopes": ["b"]}}}),
            ),
            (
                json!({"scopes": ["m"]}),
                json!({"methods": {"tools/list": {}, "prompts/list": {}}}),
            ),
            (
                json!({"scopes": ["m"]}),
                json!({"methods": {"tools/list": {}, "prompts/list": {}},
                                              "tools": {"a": {}}, "prompts": {"p": {}}}),
            ),
            (json!({"scopes": ["m"]}), json!({"prompts": {"p": {}}})),
        ]);
        assert_eq!(
            found(&policy, "WA016", None),
            vec![
                "routes[0].mcp.methods: MCP route `mcp0` (routes[0]) declares tools (`a`, `b`) but `methods` lacks `tools/list`: clients cannot discover them (the filter answers `tools/list` mcp_method_not_allowed)",
                "routes[1].mcp.methods.tools/list: MCP route `mcp1` (routes[1]) allows `tools/list` but declares no tools: every `tools/call` is refused (tool_not_allowed), whatever the server lists",
                "routes[1].mcp.methods.prompts/list: MCP route `mcp1` (routes[1]) allows `prompts/list` but declares no prompts: every `prompts/get` is refused (tool_not_allowed), whatever the server lists",
                "routes[3].mcp.methods: MCP route `mcp3` (routes[3]) declares prompts (`p`) but `methods` lacks `prompts/list`: clients cannot discover them (the filter answers `prompts/list` mcp_method_not_allowed)",
            ]
        );
    }

    #[test]
    fn wa017_an_mcp_route_that_matches_more_than_post() {
        let route = |methods: Option<Value>| {
            let mut r = json!({"action": "m", "match": {"path": "/mcp"}, "require": {"scopes": ["m"]},
                               "mcp": {"resource": "https://svc.example/mcp", "methods": {"ping": {}}}});
            if let Some(methods) = methods {
                r["match"]["methods"] = methods;
            }
            r
        };
        let policy = |methods| {
            compiled(
                json!({"mesh": {"issuer": MESH, "max_lifetime_seconds": 60}}),
                json!([route(methods)]),
            )
        };
        assert_eq!(
            found(&policy(None), "WA017", None),
            vec!["routes[0].match: MCP route `m` (routes[0]) accepts any method (`match.methods` is absent): such requests carry no JSON-RPC message and are answered invalid_mcp_request (400)"]
        );
        assert_eq!(
            found(&policy(Some(json!(["POST", "GET", "DELETE"]))), "WA017", None),
            vec!["routes[0].match.methods: MCP route `m` (routes[0]) accepts GET, DELETE: such requests carry no JSON-RPC message and are answered invalid_mcp_request (400)"]
        );
        assert!(found(&policy(Some(json!(["POST"]))), "WA017", None).is_empty());
        // A route without `mcp` is not concerned.
        let plain = compiled(
            json!({"mesh": {"issuer": MESH, "max_lifetime_seconds": 60}}),
            json!([{"action": "p", "match": {"path": "/p", "methods": ["GET"]}, "require": {"scopes": ["m"]}}]),
        );
        assert!(found(&plain, "WA017", None).is_empty());
    }

    #[test]
    fn mcp_rules_count_for_redundant_dead_and_unknown_scopes() {
        let policy = mcp_routes(&[(
            json!({"scopes": ["mcp"]}),
            json!({"methods": {"tools/list": {}},
                   "tools": {"x": {"scopes": ["crm:write", "crm:write"]}, "y": {"scopes": ["crm:nobody"]}},
                   "resources": [{"uri": "crm://c/{t}/**", "scopes": ["crm:read:{t}"]}]}),
        )]);
        assert_eq!(
            found(&policy, "WA007", None),
            vec!["routes[0].mcp.tools.x.scopes[1]: tool `x` of route `mcp0` (routes[0]) lists `crm:write` twice in `scopes`"]
        );
        let grants = ["mcp", "crm:write", "crm:read:acme", "crm:stale"].map(String::from);
        assert_eq!(
            found(&policy, "WA008", Some(&grants)),
            vec!["routes: granted scope `crm:stale` is required by no route"],
            "a grant an MCP rule requires is not dead"
        );
        assert_eq!(
            found(&policy, "WA009", Some(&grants)),
            vec!["routes[0].mcp.tools.y.scopes[0]: scope `crm:nobody` is granted to no one (not in --scopes): this requirement denies everyone"]
        );
    }
}
