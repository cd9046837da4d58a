//! Counter names, with their labels encoded for the tag-extraction rules in
//! `envoy/stats-config.json`.

use crate::decision::Decision;

/// Name of the decisions counter for one (decision, reason, action) combination, with the
/// labels encoded for the tag-extraction rules in `envoy/stats-config.json`:
/// `decision=.=deny;.;reason=.=expired;.;action=.=orders.read;.;workload_authz_decisions_total`.
pub fn decisions_metric(decision: &Decision) -> String {
    format!(
        "decision=.={};.;reason=.={};.;action=.={};.;workload_authz_decisions_total",
        decision.outcome.as_str(),
        decision.reason.as_str(),
        decision.action.as_deref().unwrap_or("none"),
    )
}

/// Name of the MCP calls counter of a decision on an MCP route whose message was read:
/// `tool=.=search;.;decision=.=allow;.;reason=.=allowed;.;action=.=crm.mcp;.;workload_authz_mcp_calls_total`.
/// The `tool` label is the declared tool, prompt, resource URI or method, else `other` (also for
/// a declared name with characters a stat name cannot carry): bounded by the configuration.
pub fn mcp_calls_metric(decision: &Decision) -> Option<String> {
    let label = decision.mcp.as_deref()?.tool_label.as_deref()?;
    let safe = label
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'/' | b'.'));
    Some(format!(
        "tool=.={};.;decision=.={};.;reason=.={};.;action=.={};.;workload_authz_mcp_calls_total",
        if safe { label } else { "other" },
        decision.outcome.as_str(),
        decision.reason.as_str(),
        decision.action.as_deref().unwrap_or("none"),
    ))
}

/// Name of the token-validations counter for the decision's token, if one was examined:
/// `provider=.=mesh;.;result=.=valid;.;workload_authz_token_validations_total`.
pub fn validations_metric(decision: &Decision) -> Option<String> {
    use crate::decision::Reason;
    let result = match (decision.token_result?, &decision.provider) {
        (Reason::Allowed, _) => "valid",
        // An authentic token of a provider the route does not accept (a misrouted caller).
        (Reason::BadIssuer, Some(_)) => "not_accepted",
        (other, _) => other.as_str(),
    };
    Some(format!(
        "provider=.={};.;result=.={};.;workload_authz_token_validations_total",
        decision.provider.as_deref().unwrap_or("unknown"),
        result
    ))
}
