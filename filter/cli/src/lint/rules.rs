//! The rule catalogue: every lint rule with its stable code, name, severity, summary and help.
//! Findings name their rule by [`RuleId`]; codes are never reused for another meaning, and
//! `docs/cli.md` lists the same table (a test holds the two together).

use clap::ValueEnum;

/// How serious a finding is.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    Note,
    /// Probably weakens the policy.
    Warning,
    /// A policy bug or a dangerous gap.
    Error,
}

impl Severity {
    /// The lowercase word used in every output (`error`, `warning`, `note`; SARIF levels too).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A lint rule: stable code, name, severity, what it means and what to do.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code (`WA001`).
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// Severity of every finding of this rule.
    pub severity: Severity,
    /// One sentence.
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
}

/// Which rule a finding is of. Declared in code order: `RuleId::ALL[i]` is `WA{i:03}`, and
/// sorting by id sorts by code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// `WA000` `invalid-policy`.
    InvalidPolicy,
    /// `WA001` `write-without-lifetime-limit`.
    WriteWithoutLifetimeLimit,
    /// `WA002` `write-lifetime-above-threshold`.
    WriteLifetimeAboveThreshold,
    /// `WA003` `any-valid-token`.
    AnyValidToken,
    /// `WA004` `provider-without-lifetime-limit`.
    ProviderWithoutLifetimeLimit,
    /// `WA005` `protected-wildcard-route`.
    ProtectedWildcardRoute,
    /// `WA006` `unreachable-route`.
    UnreachableRoute,
    /// `WA007` `redundant-scope`.
    RedundantScope,
    /// `WA008` `dead-scope`.
    DeadScope,
    /// `WA009` `unknown-scope`.
    UnknownScope,
    /// `WA010` `shadow-route`.
    ShadowRoute,
    /// `WA011` `shadow-policy`.
    ShadowPolicy,
    /// `WA012` `public-write-route`.
    PublicWriteRoute,
    /// `WA013` `trailing-slash-conflict`.
    TrailingSlashConflict,
    /// `WA014` `mcp-unrestricted-target`.
    McpUnrestrictedTarget,
    /// `WA015` `mcp-unbound-wildcard-resource`.
    McpUnboundWildcardResource,
    /// `WA016` `mcp-list-mismatch`.
    McpListMismatch,
    /// `WA017` `mcp-non-post-method`.
    McpNonPostMethod,
}

impl RuleId {
    /// Every rule, in code order.
    pub const ALL: [RuleId; 18] = [
        RuleId::InvalidPolicy,
        RuleId::WriteWithoutLifetimeLimit,
        RuleId::WriteLifetimeAboveThreshold,
        RuleId::AnyValidToken,
        RuleId::ProviderWithoutLifetimeLimit,
        RuleId::ProtectedWildcardRoute,
        RuleId::UnreachableRoute,
        RuleId::RedundantScope,
        RuleId::DeadScope,
        RuleId::UnknownScope,
        RuleId::ShadowRoute,
        RuleId::ShadowPolicy,
        RuleId::PublicWriteRoute,
        RuleId::TrailingSlashConflict,
        RuleId::McpUnrestrictedTarget,
        RuleId::McpUnboundWildcardResource,
        RuleId::McpListMismatch,
        RuleId::McpNonPostMethod,
    ];

    /// The position of the rule in [`RuleId::ALL`] (SARIF `ruleIndex`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The rule's catalogue entry.
    pub fn rule(self) -> &'static Rule {
        match self {
            RuleId::InvalidPolicy => &Rule {
                code: "WA000",
                name: "invalid-policy",
                severity: Severity::Error,
                summary: "the policy does not compile: the filter refuses it",
                help: "run `workload-authz check` for every error with a hint",
            },
            RuleId::WriteWithoutLifetimeLimit => &Rule {
                code: "WA001",
                name: "write-without-lifetime-limit",
                severity: Severity::Error,
                summary: "a write method (POST, PUT, PATCH, DELETE, or any method) is reachable with tokens that have no lifetime limit",
                help: "set `max_lifetime_seconds` on the route (at most the threshold) or on every provider it accepts",
            },
            RuleId::WriteLifetimeAboveThreshold => &Rule {
                code: "WA002",
                name: "write-lifetime-above-threshold",
                severity: Severity::Warning,
                summary: "a write method is reachable with tokens living longer than the threshold (--max-write-lifetime)",
                help: "lower the route's `max_lifetime_seconds` (it tightens the provider's limit)",
            },
            RuleId::AnyValidToken => &Rule {
                code: "WA003",
                name: "any-valid-token",
                severity: Severity::Warning,
                summary: "a protected route requires no scopes, scopes_any, subjects or claims: any valid token passes",
                help: "require the scope (or subject, or claim) that grants this action",
            },
            RuleId::ProviderWithoutLifetimeLimit => &Rule {
                code: "WA004",
                name: "provider-without-lifetime-limit",
                severity: Severity::Warning,
                summary: "a provider has no `max_lifetime_seconds`: its tokens may live for any time",
                help: "set `max_lifetime_seconds` on the provider (e.g. 900)",
            },
            RuleId::ProtectedWildcardRoute => &Rule {
                code: "WA005",
                name: "protected-wildcard-route",
                severity: Severity::Warning,
                summary: "a protected route ends in `**`: one action (and one requirement) covers a whole subtree, endpoints added later included",
                help: "declare the routes of the subtree one by one, or make sure the requirement fits every path under it",
            },
            RuleId::UnreachableRoute => &Rule {
                code: "WA006",
                name: "unreachable-route",
                severity: Severity::Error,
                summary: "an earlier route matches every request this route matches (first match wins): it can never match",
                help: "move the more specific route first, or remove it",
            },
            RuleId::RedundantScope => &Rule {
                code: "WA007",
                name: "redundant-scope",
                severity: Severity::Note,
                summary: "a scope is listed twice, or a `scopes_any` entry is also in `scopes` (so the other alternatives are dead)",
                help: "remove the duplicate; a `scopes_any` met by a required scope is no requirement",
            },
            RuleId::DeadScope => &Rule {
                code: "WA008",
                name: "dead-scope",
                severity: Severity::Note,
                summary: "a granted scope (from --scopes) is required by no route",
                help: "stop granting it, or require it where it is meant to apply",
            },
            RuleId::UnknownScope => &Rule {
                code: "WA009",
                name: "unknown-scope",
                severity: Severity::Warning,
                summary: "a route requires a scope that no entry of --scopes can satisfy: the route denies everyone",
                help: "fix the scope name, or add it to the identity provider's grants",
            },
            RuleId::ShadowRoute => &Rule {
                code: "WA010",
                name: "shadow-route",
                severity: Severity::Warning,
                summary: "a route is in shadow mode inside an enforcing policy: its denials are only recorded",
                help: "switch it to enforce once its shadow_deny decisions are the ones you mean",
            },
            RuleId::ShadowPolicy => &Rule {
                code: "WA011",
                name: "shadow-policy",
                severity: Severity::Warning,
                summary: "the policy is in shadow mode: nothing is denied (except routes set to enforce)",
                help: "switch `mode` to `enforce` once the shadow denials are understood",
            },
            RuleId::PublicWriteRoute => &Rule {
                code: "WA012",
                name: "public-write-route",
                severity: Severity::Warning,
                summary: "a public route accepts a write method (POST, PUT, PATCH, DELETE, or any method): anyone can write",
                help: "restrict the public route's `methods` (e.g. [\"GET\", \"HEAD\"]) or protect it",
            },
            RuleId::TrailingSlashConflict => &Rule {
                code: "WA013",
                name: "trailing-slash-conflict",
                severity: Severity::Warning,
                summary: "the slash variant of an exact route's path falls to another route, so the filter refuses it (invalid_path)",
                help: "end the template in `/**` to cover the path with and without the slash (and below), or give the slash form its own route before the broader one",
            },
            RuleId::McpUnrestrictedTarget => &Rule {
                code: "WA014",
                name: "mcp-unrestricted-target",
                severity: Severity::Warning,
                summary: "an MCP tool, prompt or resource rule asks nothing of the caller, and neither does its route's `require`: any valid token of the route's providers may call it",
                help: "require the scope (or subject, or claim) that grants it in the rule (`\"scopes\": [\"crm:read\"]`), or on the route",
            },
            RuleId::McpUnboundWildcardResource => &Rule {
                code: "WA015",
                name: "mcp-unbound-wildcard-resource",
                severity: Severity::Warning,
                summary: "an MCP resource template ends in `**` and its rule binds no capture of the URI (no scope or claim condition templated with `{name}`): any holder of its scopes reads the whole tree",
                help: "capture the part of the URI that names the owner and bind it: `crm://customers/{tenant}/**` with a claim condition `\"tenant\": \"{tenant}\"` or a scope `crm:read:{tenant}`",
            },
            RuleId::McpListMismatch => &Rule {
                code: "WA016",
                name: "mcp-list-mismatch",
                severity: Severity::Warning,
                summary: "an MCP route declares tools (prompts) but `methods` lacks `tools/list` (`prompts/list`), so clients cannot discover them; or it allows the list method with nothing declared, so what it lists can never be called",
                help: "add `\"tools/list\": {}` (`\"prompts/list\": {}`) to `mcp.methods` next to the declared tools (prompts), or remove the list method when none is declared",
            },
            RuleId::McpNonPostMethod => &Rule {
                code: "WA017",
                name: "mcp-non-post-method",
                severity: Severity::Warning,
                summary: "an MCP route matches methods other than POST (or any method): such requests (GET for an SSE stream, DELETE to end a session) carry no JSON-RPC message and are answered invalid_mcp_request",
                help: "set `match.methods` to [\"POST\"]; serve GET or DELETE of the MCP endpoint, if needed, by a route of their own without `mcp`",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_in_code_order_with_unique_names() {
        for (i, id) in RuleId::ALL.iter().enumerate() {
            assert_eq!(id.index(), i);
            assert_eq!(id.rule().code, format!("WA{i:03}"));
            let name = id.rule().name;
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name}"
            );
            let same = RuleId::ALL.iter().filter(|o| o.rule().name == name).count();
            assert_eq!(same, 1, "{name} is used once");
        }
        let mut sorted = RuleId::ALL;
        sorted.sort();
        assert_eq!(sorted, RuleId::ALL);
    }

    /// `docs/cli.md` lists every rule with its code, name and severity.
    #[test]
    fn the_documented_table_is_the_catalogue() {
        let docs = include_str!("../../../../docs/cli.md");
        for id in RuleId::ALL {
            let r = id.rule();
            let row = format!("| `{}` | `{}` | {} |", r.code, r.name, r.severity.as_str());
            assert!(docs.contains(&row), "docs/cli.md lacks `{row}`");
        }
    }
}
