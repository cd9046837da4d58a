//! Stage 6, the route's requirements on an authentic, bound token: subjects, the delegation
//! chain, claim conditions, scopes, then RFC 9396 authorization details.

use super::checks::Checks;
use super::Context;
use crate::decision::Reason;
use crate::require::{Bindings, Requirements};
use crate::token::Jws;
use serde_json::{Map, Value};

/// What the requirements read of the request and its tokens.
#[derive(Clone, Copy)]
pub(super) struct Facts<'f> {
    /// The access token.
    pub jws: &'f Jws<'f>,
    /// Its delegation chain, current actor first.
    pub actor_chain: &'f [String],
    /// The scopes it grants.
    pub granted: &'f [&'f str],
    /// The transaction token's claims, when the route requires one.
    pub transaction: Option<&'f Map<String, Value>>,
    /// Path captures, headers, source address.
    pub bindings: &'f dyn Bindings,
}

/// The route's (or an MCP rule's) requirements: `subject_not_allowed`, `delegation_too_deep` / `actor_not_allowed`, `claim_mismatch`,
/// `insufficient_scope`, `authorization_details_mismatch`, in that order.
pub(super) fn requirements(
    ctx: &Context<'_>,
    require: &Requirements,
    facts: &Facts<'_>,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let sub = facts.jws.claims.sub.as_deref();
    checks.check("subjects", require.check_subject(sub), || match sub {
        Some(sub) => format!("`{sub}` against {} pattern(s)", require.subjects.len()),
        None => "no `sub`".to_string(),
    })?;
    checks.check("actors", require.check_actors(facts.actor_chain), || {
        format!(
            "chain [{}], max depth {}",
            facts.actor_chain.join(" "),
            require
                .max_delegation_depth
                .map_or("-".to_string(), |d| d.to_string())
        )
    })?;
    let claims = &facts.jws.claims.all;
    checks.check(
        "claims",
        require.check_claims(claims, facts.transaction, facts.bindings),
        || {
            if require.claims.is_empty() {
                return "no conditions".to_string();
            }
            let described: Vec<String> = require
                .claims
                .iter()
                .map(|c| match (c.from_transaction, facts.transaction) {
                    (false, _) => c.explain(claims, facts.bindings),
                    (true, Some(txn)) => c.explain(txn, facts.bindings),
                    (true, None) => format!("`{}`: no transaction token", c.name),
                })
                .collect();
            described.join("; ")
        },
    )?;
    checks.check(
        "scopes",
        require.check_granted_scopes(facts.granted, facts.bindings),
        || {
            format!(
                "required [{}], granted [{}]",
                require.rendered_scopes(facts.bindings).join(" "),
                facts.granted.join(" ")
            )
        },
    )?;
    if require.authorization_details.is_some() {
        let max = ctx.policy.limits.max_authorization_details;
        checks.check(
            "authorization_details",
            require.check_details(claims, max, facts.bindings),
            || "RFC 9396 detail required by the route".to_string(),
        )?;
    }
    Ok(())
}
