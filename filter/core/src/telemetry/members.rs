//! The decision record's members, once: what [`super::record_json`] writes as JSON text and
//! [`super::record_struct`] as a protobuf `Struct` (and what [`super::record`] builds as a value).

use crate::config::Policy;
use crate::decision::Decision;

/// One member's value (a JSON value; a `google.protobuf.Value` in the `Struct`).
pub(super) enum Field<'d> {
    /// An absent fact.
    Null,
    /// A string.
    Text(&'d str),
    /// A whole number (the token's remaining lifetime).
    Number(u64),
    /// A list of strings (scopes, the actor chain).
    List(&'d [String]),
}

impl<'d> Field<'d> {
    /// A string, or `Null` when absent.
    fn text(value: Option<&'d str>) -> Self {
        value.map_or(Field::Null, Field::Text)
    }
}

/// How many members a record has at most (a DPoP decision on an MCP route, or one a deny rule
/// refused): 3 + 1 + 1 + 2 + 3 + 11 below.
pub(super) const MOST_MEMBERS: usize = 21;

/// The record's members, sorted by name (the order `serde_json` writes [`super::record`] in).
pub(super) fn members<'d>(
    decision: &'d Decision,
    policy: &'d Policy,
) -> Vec<(&'static str, Field<'d>)> {
    let mut fields = Vec::with_capacity(MOST_MEMBERS);
    fields.extend([
        ("action", Field::text(decision.action.as_deref())),
        ("actor_chain", Field::List(&decision.actor_chain)),
        ("decision", Field::Text(decision.outcome.as_str())),
    ]);
    if let Some(rule) = decision.deny_rule.as_deref() {
        fields.push(("deny_rule", Field::Text(rule)));
    }
    if let Some(dpop) = decision.dpop.as_deref() {
        fields.push(("dpop_jkt", Field::text(dpop.jkt.as_deref())));
    }
    fields.extend([
        ("issuer", Field::text(decision.issuer.as_deref())),
        ("jti", Field::text(decision.token_id.as_deref())),
    ]);
    if let Some(mcp) = decision.mcp.as_deref() {
        fields.extend([
            (
                "mcp_arguments",
                Field::text(mcp.arguments_digest.as_deref()),
            ),
            ("mcp_method", Field::text(mcp.method.as_deref())),
            ("mcp_name", Field::text(mcp.name.as_deref())),
        ]);
    }
    fields.extend([
        ("mode", Field::Text(decision.mode.as_str())),
        ("policy", Field::Text(policy.hash.as_str())),
        ("provider", Field::text(decision.provider.as_deref())),
        ("reason", Field::Text(decision.reason.as_str())),
        ("scopes_granted", Field::List(&decision.scopes_granted)),
        ("scopes_required", Field::List(&decision.scopes_required)),
        ("scopes_unused", Field::List(&decision.scopes_unused)),
        ("subject", Field::text(decision.subject.as_deref())),
        (
            "token_ttl_remaining",
            decision
                .token_ttl_remaining
                .map_or(Field::Null, Field::Number),
        ),
        ("txn", Field::text(decision.txn.as_deref())),
    ]);
    debug_assert!(fields.len() <= MOST_MEMBERS, "MOST_MEMBERS is out of date");
    fields
}
