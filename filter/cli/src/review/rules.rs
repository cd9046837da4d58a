//! The catalogue of review findings: stable codes `RV001`.. with name, severity, summary and
//! help. Codes are never reused for another meaning; `docs/cli.md` and the README list the same
//! table (a test holds them together).

use crate::lint::rules::Severity;

/// A review rule.
#[derive(Debug, PartialEq, Eq)]
pub struct ReviewRule {
    /// Stable code.
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// One sentence.
    pub summary: &'static str,
}

/// Which rule a finding is of; `ReviewRuleId::ALL[i]` is `RV{i+1:03}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReviewRuleId {
    /// `RV001`.
    UnusedScope,
    /// `RV002`.
    RouteNeverCalled,
    /// `RV003`.
    ToolNeverCalled,
    /// `RV004`.
    SingleCaller,
    /// `RV005`.
    LongLivedToken,
    /// `RV006`.
    DelegationDepthUnused,
    /// `RV007`.
    RouteActors,
    /// `RV008`.
    ShadowWouldDeny,
    /// `RV009`.
    Denials,
    /// `RV010`.
    IncidentSignal,
}

impl ReviewRuleId {
    /// Every rule, in code order.
    pub const ALL: [ReviewRuleId; 10] = [
        ReviewRuleId::UnusedScope,
        ReviewRuleId::RouteNeverCalled,
        ReviewRuleId::ToolNeverCalled,
        ReviewRuleId::SingleCaller,
        ReviewRuleId::LongLivedToken,
        ReviewRuleId::DelegationDepthUnused,
        ReviewRuleId::RouteActors,
        ReviewRuleId::ShadowWouldDeny,
        ReviewRuleId::Denials,
        ReviewRuleId::IncidentSignal,
    ];

    /// Its index in [`ReviewRuleId::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The rule.
    pub fn rule(self) -> &'static ReviewRule {
        use ReviewRuleId as R;
        use Severity::{Error, Note, Warning};
        match self {
            R::UnusedScope => &ReviewRule {
                code: "RV001",
                name: "unused-scope",
                severity: Warning,
                summary: "a workload's tokens carry scopes that none of its requests needed over the window",
            },
            R::RouteNeverCalled => &ReviewRule {
                code: "RV002",
                name: "route-never-called",
                severity: Note,
                summary: "a protected route of the policy was never called over the window (needs --policy)",
            },
            R::ToolNeverCalled => &ReviewRule {
                code: "RV003",
                name: "tool-never-called",
                severity: Note,
                summary: "an MCP tool or prompt of the policy was never called over the window (needs --policy)",
            },
            R::SingleCaller => &ReviewRule {
                code: "RV004",
                name: "single-caller",
                severity: Note,
                summary: "a route or MCP tool was called by one workload only, and the policy does not pin it to that workload",
            },
            R::LongLivedToken => &ReviewRule {
                code: "RV005",
                name: "long-lived-token",
                severity: Warning,
                summary: "a workload presented tokens living longer than --max-token-lifetime or the policy's limit",
            },
            R::DelegationDepthUnused => &ReviewRule {
                code: "RV006",
                name: "delegation-depth-unused",
                severity: Note,
                summary: "a route allows deeper delegation chains than any allowed request used",
            },
            R::RouteActors => &ReviewRule {
                code: "RV007",
                name: "route-actors",
                severity: Note,
                summary: "agents acted on a route through delegation, and the policy does not name which actors may",
            },
            R::ShadowWouldDeny => &ReviewRule {
                code: "RV008",
                name: "shadow-would-deny",
                severity: Warning,
                summary: "a shadow-mode route denied some workloads' requests: enforcing it breaks them",
            },
            R::Denials => &ReviewRule {
                code: "RV009",
                name: "denials",
                severity: Note,
                summary: "a workload's requests were denied, by reason",
            },
            R::IncidentSignal => &ReviewRule {
                code: "RV010",
                name: "incident-signal",
                severity: Error,
                summary: "requests with forged, revoked or replayed credentials (bad_signature, revoked, dpop_replayed...)",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    /// `docs/cli.md` lists every rule with its code, name and severity.
    #[test]
    fn the_documented_table_is_the_catalogue() {
        let docs = include_str!("../../../../docs/cli.md");
        for id in ReviewRuleId::ALL {
            let r = id.rule();
            let row = format!("| `{}` | `{}` | {} |", r.code, r.name, r.severity.as_str());
            assert!(docs.contains(&row), "docs/cli.md lacks `{row}`");
        }
    }

    #[test]
    fn codes_follow_the_order_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for (i, id) in ReviewRuleId::ALL.iter().enumerate() {
            assert_eq!(id.index(), i);
            assert_eq!(id.rule().code, format!("RV{:03}", i + 1));
            assert!(names.insert(id.rule().name));
        }
    }
}
