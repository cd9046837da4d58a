//! The decision function: (policy, request, now, verifier) → [`Decision`].

use crate::config::{Policy, Provider, Route};
use crate::decision::{Decision, Reason};
use crate::keys::Algorithm;
use crate::routes::clean_path;
use crate::token::{self, Extracted, Jws, SignatureVerifier, TimeRules};

/// The parts of a request the engine reads. Header names are lowercase.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a, H: AsRef<str>> {
    /// `:method`.
    pub method: &'a str,
    /// `:path`, query included.
    pub path: &'a str,
    /// `:authority`.
    pub authority: &'a str,
    /// Request headers, in order, duplicates kept.
    pub headers: &'a [(H, H)],
}

/// Judges one request at `now` (seconds since the Unix epoch).
pub fn decide<H: AsRef<str>>(
    policy: &Policy,
    request: &RequestView<'_, H>,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> Decision {
    let Ok(path) = clean_path(request.path) else {
        return Decision::new(Reason::InvalidPath);
    };
    let matched = policy.routes.iter().enumerate().find_map(|(index, route)| {
        route
            .matcher
            .matches(request.method, path, request.authority)
            .map(|captures| (index, route, captures))
    });
    let Some((index, route, captures)) = matched else {
        return Decision::new(Reason::NoRoute);
    };
    let mut decision = Decision::new(Reason::Allowed);
    decision.route = Some(index);
    decision.action = Some(route.action.clone());
    if route.public {
        decision.reason = Reason::Public;
        return decision;
    }
    if let Err(reason) = judge_token(
        policy,
        route,
        request,
        &captures,
        now,
        verifier,
        &mut decision,
    ) {
        decision.reason = reason;
        if reason == Reason::InsufficientScope {
            decision.required_scopes = route.require.rendered_scopes(&captures);
        }
    }
    decision
}

fn judge_token<H: AsRef<str>>(
    policy: &Policy,
    route: &Route,
    request: &RequestView<'_, H>,
    captures: &[&str],
    now: u64,
    verifier: &dyn SignatureVerifier,
    decision: &mut Decision,
) -> Result<(), Reason> {
    let (text, sources) = match token::extract(&route.token_sources, request.headers) {
        Extracted::Missing => return Err(Reason::MissingToken),
        Extracted::Several => return Err(Reason::MalformedToken),
        Extracted::One { token, sources } => (token, sources),
    };
    let jws = token::parse(text).map_err(|_| Reason::MalformedToken)?;
    let alg = Algorithm::parse(&jws.header.alg).map_err(|_| Reason::DisallowedAlgorithm)?;
    let iss = jws.claims.iss.as_deref().ok_or(Reason::BadIssuer)?;
    let provider_index = policy.provider_by_issuer(iss).ok_or(Reason::BadIssuer)?;
    // The issuer's provider must be accepted on this route and read the header the token came in.
    let reads_here = sources.iter().any(|s| {
        route
            .source_providers
            .get(*s)
            .is_some_and(|readers| readers.contains(&provider_index))
    });
    let provider = policy
        .providers
        .get(provider_index)
        .filter(|_| reads_here)
        .ok_or(Reason::BadIssuer)?;
    decision.provider = Some(provider.name.clone());
    if !provider.algorithms.contains(&alg) {
        return Err(Reason::DisallowedAlgorithm);
    }
    verify_signature(provider, alg, &jws, verifier)?;
    decision.issuer = Some(iss.to_string());
    decision.subject = jws.claims.sub.clone();
    let rules = TimeRules {
        clock_skew: provider.clock_skew_seconds,
        require_expiration: provider.require_expiration,
        max_lifetime: tightest(provider.max_lifetime_seconds, route.max_lifetime_seconds),
    };
    token::time::check(&jws.claims, now, rules)?;
    if !jws
        .claims
        .aud
        .iter()
        .any(|a| provider.audiences.contains(a))
    {
        return Err(Reason::BadAudience);
    }
    route
        .require
        .check(jws.claims.sub.as_deref(), &jws.claims.all, captures)
}

fn verify_signature(
    provider: &Provider,
    alg: Algorithm,
    jws: &Jws<'_>,
    verifier: &dyn SignatureVerifier,
) -> Result<(), Reason> {
    let mut candidates = provider
        .keys
        .candidates(jws.header.kid.as_deref(), alg)
        .peekable();
    if candidates.peek().is_none() {
        return Err(Reason::UnknownKey);
    }
    if candidates.any(|key| verifier.verify(alg, &key.key, jws).is_ok()) {
        Ok(())
    } else {
        Err(Reason::BadSignature)
    }
}

fn tightest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
