//! Explicit deny rules (`deny`), judged before the routes' own checks: a rule whose `match`
//! fits the request refuses it (`denied_by_rule`, 403) before anything else is looked at; one
//! with `when` refuses it once the access token is verified, if the token meets `when`.

use super::checks::Checks;
use super::{RequestBindings, RequestView};
use crate::config::deny::DenyRule;
use crate::config::Policy;
use crate::decision::{Decision, Reason};
use crate::routes::canonical_authority;
use crate::token::Jws;

/// A deny rule whose `match` fits the request, with its path captures (for `when` templates).
pub(super) struct DenyMatch<'a, 'p> {
    /// The rule.
    pub rule: &'a DenyRule,
    /// Its path captures.
    pub captures: Vec<&'p str>,
}

/// The deny rules whose `match` fits the request at the canonical `path` (none when the
/// authority is malformed: the route stage refuses the request then).
pub(super) fn matching<'a, 'p, H: AsRef<str>>(
    policy: &'a Policy,
    request: &RequestView<'_, H>,
    path: &'p str,
) -> Vec<DenyMatch<'a, 'p>> {
    if policy.deny.is_empty() {
        return Vec::new();
    }
    let Ok(authority) = canonical_authority(request.authority) else {
        return Vec::new();
    };
    policy
        .deny
        .iter()
        .filter_map(|rule| {
            let captures = rule
                .matcher
                .try_match(request.method, path, &authority)
                .ok()?;
            rule.matcher
                .headers_fit(request.headers)
                .then_some(DenyMatch { rule, captures })
        })
        .collect()
}

/// The first matching rule without `when` refuses the request.
pub(super) fn unconditional(
    matches: &[DenyMatch<'_, '_>],
    decision: &mut Decision,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    match matches.iter().find(|m| m.rule.when.is_none()) {
        None => Ok(()),
        Some(m) => refuse(m.rule, decision, checks, "matches the request"),
    }
}

/// The first matching rule whose `when` the verified token meets refuses the request.
pub(super) fn on_token<H: AsRef<str>>(
    ctx: &super::Context<'_>,
    matches: &[DenyMatch<'_, '_>],
    jws: &Jws<'_>,
    headers: &[(H, H)],
    decision: &mut Decision,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    for m in matches {
        let Some(when) = &m.rule.when else {
            continue;
        };
        let bindings = RequestBindings {
            captures: &m.captures,
            headers,
            connection: ctx.connection,
        };
        let holds = when.check_subject(jws.claims.sub.as_deref()).is_ok()
            && when.check_claims(&jws.claims.all, None, &bindings).is_ok();
        if holds {
            return refuse(
                m.rule,
                decision,
                checks,
                "matches, and the token meets its `when`",
            );
        }
        checks.pass("deny", || {
            format!(
                "deny rule `{}` matches, but the token does not meet its `when`",
                m.rule.name
            )
        });
    }
    Ok(())
}

fn refuse(
    rule: &DenyRule,
    decision: &mut Decision,
    checks: &mut Checks<'_>,
    why: &str,
) -> Result<(), Reason> {
    decision.deny_rule = Some(rule.name.clone());
    checks.fail("deny", Reason::DeniedByRule, || {
        format!("deny rule `{}` {why}", rule.name)
    })
}
