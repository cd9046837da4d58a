//! Stage 7, the upstream effects and the facts of the decision record: who the verified caller
//! is, which scopes it was granted and which of them this action did not need (the
//! least-privilege signal), the headers to set or remove on the forwarded request. Produces no
//! reason.

use super::Context;
use crate::config::{Provider, Route};
use crate::decision::Decision;
use crate::require::{claims, Bindings};
use crate::telemetry;
use crate::token::{self, Jws};

/// The provider's token header is removed before forwarding (`forward: false`).
pub(super) fn drop_token_header(
    decision: &mut Decision,
    route: &Route,
    provider: &Provider,
    sources: &[usize],
) {
    decision.provider = Some(provider.name.clone());
    if !provider.forward {
        decision.drop_header = sources
            .first()
            .and_then(|s| route.token_sources.get(*s))
            .map(|s| s.header.name.clone());
    }
}

/// Facts of a token whose signature verified: identity, scopes, headers for the upstream.
pub(super) fn record_verified(
    ctx: &Context<'_>,
    decision: &mut Decision,
    route: &Route,
    provider: &Provider,
    jws: &Jws<'_>,
    granted: &[&str],
    bindings: &dyn Bindings,
) {
    let (policy, now) = (ctx.policy, ctx.now);
    let claims = &jws.claims;
    decision.issuer = claims.iss.clone();
    decision.subject = claims.sub.clone();
    if let Some(jti) = &claims.jti {
        decision.token_id = Some(jti.clone());
    }
    decision.token_ttl_remaining = token::time::remaining(claims, now);
    let needed = route.require.needed_scopes(granted, bindings);
    decision.scopes_unused = granted
        .iter()
        .filter(|g| !needed.needs(g))
        .map(|g| g.to_string())
        .collect();
    decision.scopes_granted = granted.iter().map(|g| g.to_string()).collect();
    for header in &provider.claim_to_headers {
        let value =
            claims::lookup(&claims.all, &header.claim_path).and_then(telemetry::header_value);
        if let Some(value) = value {
            decision
                .upstream_headers
                .push((header.header_name.clone(), value));
        }
    }
    if policy.identity_headers {
        let identity = [
            ("x-workload-subject", claims.sub.as_deref()),
            ("x-workload-action", Some(route.action.as_str())),
            ("x-workload-issuer", claims.iss.as_deref()),
        ];
        for (name, value) in identity {
            if let Some(value) = value.filter(|v| telemetry::is_header_safe(v)) {
                decision
                    .upstream_headers
                    .push((name.to_string(), value.to_string()));
            }
        }
    }
}
