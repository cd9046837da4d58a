//! A route's compiled `mcp` block and the lookup of the rule one message must satisfy.

use super::arguments::ArgumentCondition;
use super::message::{Message, TargetKind};
use super::uri::UriPattern;
use crate::require::Requirements;

/// The default (and largest allowed) `max_body_bytes`: 64 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// The largest `max_body_bytes` a route may set: 1 MiB (the body is held in the VM).
pub const MAX_BODY_BYTES_LIMIT: usize = 1024 * 1024;

/// What one tool, prompt, resource or method requires, in addition to the route's `require`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct McpRule {
    /// The same vocabulary as `require` (no `providers`: the route's apply).
    pub require: Requirements,
    /// Conditions on `params.arguments` (tools and prompts).
    pub arguments: Vec<ArgumentCondition>,
}

/// One `resources[]` entry: a URI template and its rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRule {
    /// The URI template.
    pub uri: UriPattern,
    /// What reading it requires; `{name}` in its templates is a URI capture.
    pub rule: McpRule,
}

/// A route's `mcp` block, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct McpRoute {
    /// `resource`: the protected resource identifier (RFC 9728).
    pub resource: String,
    /// `authorization_servers` (RFC 9728).
    pub authorization_servers: Vec<String>,
    /// The RFC 9728 metadata URL sent as `resource_metadata` in every 401 of the route.
    pub resource_metadata: String,
    /// `max_body_bytes`.
    pub max_body_bytes: usize,
    /// `methods`: other methods allowed, by exact name.
    pub methods: Vec<(String, McpRule)>,
    /// `tools`, by name.
    pub tools: Vec<(String, McpRule)>,
    /// `resources`, first match wins.
    pub resources: Vec<ResourceRule>,
    /// `prompts`, by name.
    pub prompts: Vec<(String, McpRule)>,
}

/// The rule a message is judged by, with the resource URI's captures.
#[derive(Debug, Clone, Copy)]
pub struct Selected<'r> {
    /// The rule.
    pub rule: &'r McpRule,
    /// Index of the matched `resources[]` entry, for a resource.
    pub resource: Option<usize>,
}

/// Why no rule applies to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDeclared {
    /// `tools/call` of a tool not in `tools`, `prompts/get` of a prompt not in `prompts`,
    /// a resource URI no `resources[]` template matches (`tool_not_allowed`).
    Target(TargetKind),
    /// A method not in `methods` (`mcp_method_not_allowed`).
    Method,
}

/// A rule that is not a resource's: no URI captures.
fn unscoped(rule: &McpRule) -> (Selected<'_>, Vec<String>) {
    (
        Selected {
            rule,
            resource: None,
        },
        Vec::new(),
    )
}

fn by_name<'r>(rules: &'r [(String, McpRule)], name: &str) -> Option<&'r McpRule> {
    rules.iter().find(|(n, _)| n == name).map(|(_, rule)| rule)
}

impl McpRoute {
    /// The rule for `message`, and for a resource its URI captures. A resource method other
    /// than `resources/read` must also be listed in `methods` (subscribing is its own action).
    pub fn select(&self, message: &Message) -> Result<(Selected<'_>, Vec<String>), NotDeclared> {
        let target = message.target.as_deref().unwrap_or_default();
        match TargetKind::of(&message.method) {
            Some(kind @ (TargetKind::Tool | TargetKind::Prompt)) => {
                let table = if kind == TargetKind::Tool {
                    &self.tools
                } else {
                    &self.prompts
                };
                by_name(table, target)
                    .map(unscoped)
                    .ok_or(NotDeclared::Target(kind))
            }
            Some(kind @ TargetKind::Resource) => {
                if message.method != "resources/read"
                    && by_name(&self.methods, &message.method).is_none()
                {
                    return Err(NotDeclared::Method);
                }
                self.resources
                    .iter()
                    .enumerate()
                    .find_map(|(i, r)| {
                        r.uri.matches(target).map(|captures| {
                            let selected = Selected {
                                rule: &r.rule,
                                resource: Some(i),
                            };
                            (selected, captures)
                        })
                    })
                    .ok_or(NotDeclared::Target(kind))
            }
            None => by_name(&self.methods, &message.method)
                .map(unscoped)
                .ok_or(NotDeclared::Method),
        }
    }

    /// The request headers the rules' templates read, and the MCP headers checked against the
    /// body (`mcp-method`, `mcp-name`): each may occur at most once.
    pub fn headers_read(&self) -> Vec<String> {
        let mut names = vec!["mcp-method".to_string(), "mcp-name".to_string()];
        let rules = self
            .methods
            .iter()
            .chain(&self.tools)
            .chain(&self.prompts)
            .map(|(_, r)| r)
            .chain(self.resources.iter().map(|r| &r.rule));
        for rule in rules {
            let argument_templates = rule.arguments.iter().flat_map(|a| {
                a.allowed.iter().filter_map(|e| match e {
                    crate::require::Expected::Text(t) => Some(t),
                    _ => None,
                })
            });
            let headers = rule
                .require
                .headers_read()
                .into_iter()
                .chain(argument_templates.flat_map(|t| t.headers().map(str::to_string)));
            for name in headers {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Whether a caller could be offered tool `name` in a `tools/list` answer.
    pub fn tool(&self, name: &str) -> Option<&McpRule> {
        by_name(&self.tools, name)
    }

    /// Every scope template the route's rules name (for `scopes_supported`), as configured.
    pub fn scope_sources(&self) -> Vec<&str> {
        let rules = self
            .methods
            .iter()
            .chain(&self.tools)
            .chain(&self.prompts)
            .map(|(_, r)| r)
            .chain(self.resources.iter().map(|r| &r.rule));
        let mut out: Vec<&str> = Vec::new();
        for rule in rules {
            for t in rule.require.scopes.iter().chain(&rule.require.scopes_any) {
                if !out.contains(&t.as_str()) {
                    out.push(t.as_str());
                }
            }
        }
        out
    }
}
