//! Stage: proof of possession (RFC 9449). A token sent as `Authorization: DPoP` comes with
//! exactly one `DPoP` proof, checked against the request, the token and its `cnf.jkt`, then
//! recorded against replay across workers. A token bound to a key (`cnf.jkt`) is never accepted
//! as a bearer token; a route or provider with `dpop.required` accepts only bound tokens with a
//! proof. See [`crate::dpop`] for the checks and their reasons.

use super::access_token::Presented;
use super::checks::Checks;
use super::{Context, RequestView};
use crate::config::{Provider, Route};
use crate::decision::{Decision, DpopFacts, Reason};
use crate::dpop::{self, htu, Expected, Replay};
use crate::token::Jws;
use serde_json::Value;

/// The header a proof comes in.
pub const PROOF_HEADER: &str = "dpop";

/// Whether the token came with the `DPoP` scheme; notes the DPoP facts challenges need when it
/// did, or when the route requires DPoP.
pub(super) fn note_scheme(
    route: &Route,
    presented: &Presented<'_>,
    decision: &mut Decision,
) -> bool {
    let dpop_scheme = presented.sources.iter().any(|s| {
        route
            .token_sources
            .get(*s)
            .is_some_and(|source| source.header.is_dpop_scheme())
    });
    if dpop_scheme || route.dpop.required {
        decision.dpop = Some(route_facts(route));
    }
    dpop_scheme
}

/// The DPoP facts of a route before any proof is read.
pub(super) fn route_facts(route: &Route) -> Box<DpopFacts> {
    Box::new(DpopFacts {
        algs: route.dpop.algs.clone(),
        proof_checked: false,
        jkt: None,
    })
}

/// The DPoP rules for an authentic token of `provider` presented with `dpop_scheme`
/// (`dpop_bound_token_as_bearer`, `dpop_proof_missing`, `dpop_token_not_bound`,
/// `dpop_multiple_proofs`, every reason of [`dpop::ProofError`], `dpop_replayed`,
/// `dpop_replay_cache_full`).
#[allow(clippy::too_many_arguments)]
pub(super) fn possession<H: AsRef<str>>(
    ctx: &Context<'_>,
    route: &Route,
    provider: &Provider,
    request: &RequestView<'_, H>,
    presented: &Presented<'_>,
    dpop_scheme: bool,
    jws: &Jws<'_>,
    decision: &mut Decision,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let jkt = match jws.claims.all.get("cnf").and_then(|cnf| cnf.get("jkt")) {
        None => None,
        Some(Value::String(jkt)) => Some(jkt.as_str()),
        Some(_) => {
            return checks.fail("dpop", Reason::DpopTokenNotBound, || {
                "`cnf.jkt` is not a string".to_string()
            })
        }
    };
    let required = route.require.dpop || provider.dpop.required;
    if !dpop_scheme {
        if jkt.is_some() || required {
            decision.dpop.get_or_insert_with(|| route_facts(route));
        }
        if jkt.is_some() {
            return checks.fail("dpop", Reason::DpopBoundTokenAsBearer, || {
                "the token is bound to a key (`cnf.jkt`) and was sent as a bearer token".to_string()
            });
        }
        if required {
            return checks.fail("dpop", Reason::DpopProofMissing, || {
                "this route requires a DPoP-bound token sent with the DPoP scheme".to_string()
            });
        }
        return Ok(());
    }
    let facts = decision.dpop.get_or_insert_with(|| route_facts(route));
    facts.proof_checked = true;
    let mut proofs = crate::routes::header_values(request.headers, PROOF_HEADER);
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => {
            return checks.fail("dpop", Reason::DpopProofMissing, || {
                "no `DPoP` header".to_string()
            })
        }
        (Some(_), Some(_)) => {
            return checks.fail("dpop", Reason::DpopMultipleProofs, || {
                "more than one `DPoP` header".to_string()
            })
        }
        (Some(proof), None) => proof.trim_matches(|c| c == ' ' || c == '\t'),
    };
    let Some(jkt) = jkt else {
        return checks.fail("dpop", Reason::DpopTokenNotBound, || {
            "the token has no `cnf.jkt`: it is not bound to the proof's key".to_string()
        });
    };
    let scheme = request
        .headers
        .iter()
        .find(|(name, _)| name.as_ref() == ":scheme")
        .map_or("https", |(_, value)| value.as_ref());
    let uri = htu::request_uri(
        scheme,
        request.authority,
        request.path,
        provider.dpop.external_origin.as_ref(),
    );
    let expected = Expected {
        method: request.method,
        uri: uri.as_deref(),
        access_token: presented.text,
        jkt,
        now: ctx.now,
    };
    let checked = dpop::check(
        proof,
        &expected,
        &provider.dpop,
        &ctx.policy.limits.token,
        ctx.verifier,
    );
    let checked = match checked {
        Ok(checked) => checked,
        Err(error) => return checks.fail("dpop", error.reason(), || error.to_string()),
    };
    let expires_at = checked.iat.saturating_add(provider.dpop.iat_window_seconds);
    let replay =
        ctx.state
            .replay_cache()
            .first_use(&checked.jkt, &checked.jti, expires_at, ctx.now);
    match replay {
        Replay::Fresh => {}
        Replay::Replayed => {
            return checks.fail("dpop", Reason::DpopReplayed, || {
                format!("`jti` {} was used before", checked.jti)
            })
        }
        Replay::Unrecorded => {
            return checks.fail("dpop", Reason::DpopReplayCacheFull, || {
                "the replay cache could not record the proof (full, or shared data failed)"
                    .to_string()
            })
        }
    }
    checks.pass("dpop", || {
        format!(
            "{} proof for {} {}, key {}",
            checked.alg,
            request.method,
            uri.as_deref().unwrap_or("-"),
            checked.jkt
        )
    });
    if let Some(facts) = decision.dpop.as_mut() {
        facts.jkt = Some(checked.jkt);
    }
    Ok(())
}
