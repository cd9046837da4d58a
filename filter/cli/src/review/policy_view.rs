//! What `review --policy` reads of a policy: its routes (index, action, mode, whether public,
//! declared subjects, actors, delegation depth, lifetime limit, MCP tools and prompts) and its
//! providers' lifetime limits. Read from the policy's JSON value after it compiled, so every
//! field is known to be well formed.

use serde_json::Value;
use std::collections::BTreeMap;

/// One route of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// Its index in `routes`.
    pub index: usize,
    /// Its action.
    pub action: String,
    /// `enforce` or `shadow` (the route's, else the policy's).
    pub mode: String,
    /// A public route (no token).
    pub public: bool,
    /// `require.subjects`, when set.
    pub subjects: Option<Vec<String>>,
    /// `require.actor.subjects`, when set.
    pub actor_subjects: Option<Vec<String>>,
    /// The most nested actors allowed (`max_delegation_depth`; 0 for `allow_delegation: false`),
    /// `None` for no limit.
    pub max_delegation_depth: Option<u64>,
    /// The route's `max_lifetime_seconds`.
    pub max_lifetime: Option<u64>,
    /// `require.providers`, when set.
    pub providers: Option<Vec<String>>,
    /// MCP tool names (`tools/call`), sorted.
    pub tools: Vec<String>,
    /// MCP prompt names (`prompts/get`), sorted.
    pub prompts: Vec<String>,
}

/// The policy as `review` sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyView {
    /// The file.
    pub path: String,
    /// The policy hash the filter writes in every record.
    pub hash: String,
    /// Routes in order.
    pub routes: Vec<RouteView>,
    /// `max_lifetime_seconds` per provider name (absent: no limit).
    pub provider_lifetimes: BTreeMap<String, Option<u64>>,
}

impl PolicyView {
    /// Reads the view from a compiled policy's JSON value.
    pub fn of(path: &str, hash: &str, value: &Value) -> PolicyView {
        let default_mode = value
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("enforce");
        let routes = value
            .get("routes")
            .and_then(Value::as_array)
            .map(|routes| {
                routes
                    .iter()
                    .enumerate()
                    .map(|(index, route)| route_view(index, route, default_mode))
                    .collect()
            })
            .unwrap_or_default();
        let provider_lifetimes = value
            .get("providers")
            .and_then(Value::as_object)
            .map(|providers| {
                providers
                    .iter()
                    .map(|(name, p)| {
                        (
                            name.clone(),
                            p.get("max_lifetime_seconds").and_then(Value::as_u64),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        PolicyView {
            path: path.to_string(),
            hash: hash.to_string(),
            routes,
            provider_lifetimes,
        }
    }

    /// The first route with this action (records name routes by action).
    pub fn route(&self, action: &str) -> Option<&RouteView> {
        self.routes.iter().find(|r| r.action == action)
    }
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value.and_then(Value::as_array).map(|list| {
        list.iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect()
    })
}

fn names(value: Option<&Value>) -> Vec<String> {
    let mut names: Vec<String> = value
        .and_then(Value::as_object)
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn route_view(index: usize, route: &Value, default_mode: &str) -> RouteView {
    let require = route.get("require");
    let field = |name: &str| require.and_then(|r| r.get(name));
    let max_delegation_depth = match field("allow_delegation").and_then(Value::as_bool) {
        Some(false) => Some(0),
        _ => field("max_delegation_depth").and_then(Value::as_u64),
    };
    let mcp = route.get("mcp");
    RouteView {
        index,
        action: route
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        mode: route
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or(default_mode)
            .to_string(),
        public: route.get("public").and_then(Value::as_bool) == Some(true),
        subjects: strings(field("subjects")),
        actor_subjects: strings(field("actor").and_then(|a| a.get("subjects"))),
        max_delegation_depth,
        max_lifetime: route.get("max_lifetime_seconds").and_then(Value::as_u64),
        providers: strings(field("providers")),
        tools: names(mcp.and_then(|m| m.get("tools"))),
        prompts: names(mcp.and_then(|m| m.get("prompts"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_and_limits_are_read() {
        let policy = json!({
            "mode": "shadow",
            "providers": {"mesh": {"max_lifetime_seconds": 900}, "agents": {}},
            "routes": [
                {"action": "health", "match": {"path": "/h"}, "public": true},
                {"action": "orders.write", "mode": "enforce", "max_lifetime_seconds": 300,
                 "require": {"subjects": ["spiffe://x/*"], "allow_delegation": false}},
                {"action": "crm.mcp", "require": {"max_delegation_depth": 2,
                  "actor": {"subjects": ["spiffe://a/agent"]}},
                 "mcp": {"tools": {"b": {}, "a": {}}, "prompts": {"p": {}}}}
            ]
        });
        let view = PolicyView::of("p.json", "h", &policy);
        assert_eq!(view.routes.len(), 3);
        assert!(view.routes[0].public);
        assert_eq!(view.routes[0].mode, "shadow");
        assert_eq!(view.routes[1].mode, "enforce");
        assert_eq!(view.routes[1].max_delegation_depth, Some(0));
        assert_eq!(view.routes[1].max_lifetime, Some(300));
        assert_eq!(
            view.routes[1].subjects.as_deref(),
            Some(&["spiffe://x/*".to_string()][..])
        );
        assert_eq!(view.routes[2].max_delegation_depth, Some(2));
        assert_eq!(view.routes[2].tools, ["a", "b"]);
        assert_eq!(view.routes[2].prompts, ["p"]);
        assert_eq!(view.provider_lifetimes["mesh"], Some(900));
        assert_eq!(view.provider_lifetimes["agents"], None);
        assert_eq!(view.route("crm.mcp").unwrap().index, 2);
    }
}
