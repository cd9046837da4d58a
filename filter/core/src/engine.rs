//! The decision function: (policy, request, now, verifier) → [`Decision`].

use crate::config::{Policy, Provider, Route};
use crate::decision::{Decision, Reason};
use crate::keys::{Algorithm, KeySet};
use crate::require::{claims, scopes, Template};
use crate::routes::clean_path;
use crate::state::RuntimeState;
use crate::telemetry;
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
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> Decision {
    let Ok(path) = clean_path(request.path) else {
        return Decision::new(Reason::InvalidPath, policy.mode);
    };
    let matched = policy.routes.iter().enumerate().find_map(|(index, route)| {
        route
            .matcher
            .matches(request.method, path, request.authority)
            .map(|captures| (index, route, captures))
    });
    let Some((index, route, captures)) = matched else {
        return Decision::new(Reason::NoRoute, policy.mode);
    };
    let mut decision = Decision::new(Reason::Allowed, route.mode.unwrap_or(policy.mode));
    decision.route = Some(index);
    decision.action = Some(route.action.clone());
    if route.public {
        decision.conclude(Reason::Public);
        return decision;
    }
    decision.scopes_required = route.require.rendered_scopes(&captures);
    let mut judge = Judge {
        policy,
        state,
        route,
        captures: &captures,
        now,
        verifier,
        decision,
    };
    let verdict = judge.token(request.headers);
    let mut decision = judge.decision;
    decision.conclude(verdict.err().unwrap_or(Reason::Allowed));
    decision
}

/// One protected request being judged; fills the decision as facts become known.
struct Judge<'a, 'c> {
    policy: &'a Policy,
    state: &'a RuntimeState,
    route: &'a Route,
    captures: &'c [&'c str],
    now: u64,
    verifier: &'a dyn SignatureVerifier,
    decision: Decision,
}

impl Judge<'_, '_> {
    fn token<H: AsRef<str>>(&mut self, headers: &[(H, H)]) -> Result<(), Reason> {
        let (text, sources) = match token::extract(&self.route.token_sources, headers) {
            Extracted::Missing => return Err(Reason::MissingToken),
            Extracted::Several => return Err(self.token_failed(Reason::MalformedToken)),
            Extracted::One { token, sources } => (token, sources),
        };
        self.decision.token_id = Some(telemetry::token_hash(text));
        let jws = match self.validate(text, &sources) {
            Ok(jws) => jws,
            Err(reason) => return Err(self.token_failed(reason)),
        };
        self.decision.token_result = Some(Reason::Allowed);
        self.route
            .require
            .check(jws.claims.sub.as_deref(), &jws.claims.all, self.captures)
    }

    fn token_failed(&mut self, reason: Reason) -> Reason {
        self.decision.token_result = Some(reason);
        reason
    }

    /// Token-level checks: format, algorithm, issuer, key, signature, time, audience.
    fn validate<'t>(&mut self, text: &'t str, sources: &[usize]) -> Result<Jws<'t>, Reason> {
        let jws = token::parse(text).map_err(|_| Reason::MalformedToken)?;
        let alg = Algorithm::parse(&jws.header.alg).map_err(|_| Reason::DisallowedAlgorithm)?;
        let iss = jws.claims.iss.as_deref().ok_or(Reason::BadIssuer)?;
        let provider_index = self
            .policy
            .provider_by_issuer(iss)
            .ok_or(Reason::BadIssuer)?;
        // The issuer's provider must be accepted on this route and read the header the token came in.
        let route = self.route;
        let reads_here = sources.iter().any(|s| {
            route
                .source_providers
                .get(*s)
                .is_some_and(|readers| readers.contains(&provider_index))
        });
        let provider = self
            .policy
            .providers
            .get(provider_index)
            .filter(|_| reads_here)
            .ok_or(Reason::BadIssuer)?;
        self.decision.provider = Some(provider.name.clone());
        if !provider.forward {
            self.decision.drop_header = sources
                .first()
                .and_then(|s| route.token_sources.get(*s))
                .map(|s| s.name.clone());
        }
        if !provider.algorithms.contains(&alg) {
            return Err(Reason::DisallowedAlgorithm);
        }
        let keys = self
            .state
            .keys(self.policy, provider_index, self.now)
            .ok_or(Reason::KeysUnavailable)?;
        verify_signature(keys, alg, &jws, self.verifier)?;
        self.record_verified(provider, &jws);
        let rules = TimeRules {
            clock_skew: provider.clock_skew_seconds,
            require_expiration: provider.require_expiration,
            max_lifetime: tightest(provider.max_lifetime_seconds, route.max_lifetime_seconds),
        };
        token::time::check(&jws.claims, self.now, rules)?;
        if !jws
            .claims
            .aud
            .iter()
            .any(|a| provider.audiences.contains(a))
        {
            return Err(Reason::BadAudience);
        }
        let claims = &jws.claims;
        let (jti, sub) = (claims.jti.as_deref(), claims.sub.as_deref());
        self.state
            .check_revocation(self.policy, jti, sub, claims.iat)?;
        Ok(jws)
    }

    /// Facts of a token whose signature verified: identity, scopes, headers for the upstream.
    fn record_verified(&mut self, provider: &Provider, jws: &Jws<'_>) {
        let claims = &jws.claims;
        let d = &mut self.decision;
        d.issuer = claims.iss.clone();
        d.subject = claims.sub.clone();
        if let Some(jti) = &claims.jti {
            d.token_id = Some(jti.clone());
        }
        d.token_ttl_remaining = token::time::remaining(claims, self.now);
        let granted = scopes::granted(&claims.all);
        let route = self.route;
        let captures = self.captures;
        let any_used = route
            .require
            .scopes_any
            .iter()
            .find(|t| granted.iter().any(|g| t.matches(g, captures)));
        let needed = |scope: &str| {
            let fits = |t: &Template| t.matches(scope, captures);
            route.require.scopes.iter().any(fits) || any_used.is_some_and(fits)
        };
        d.scopes_unused = granted
            .iter()
            .filter(|g| !needed(g))
            .map(|g| g.to_string())
            .collect();
        d.scopes_granted = granted.iter().map(|g| g.to_string()).collect();
        for header in &provider.claim_to_headers {
            let value =
                claims::lookup(&claims.all, &header.claim_path).and_then(telemetry::header_value);
            if let Some(value) = value {
                d.upstream_headers.push((header.header_name.clone(), value));
            }
        }
        if self.policy.identity_headers {
            let identity = [
                ("x-workload-subject", claims.sub.as_deref()),
                ("x-workload-action", Some(route.action.as_str())),
                ("x-workload-issuer", claims.iss.as_deref()),
            ];
            for (name, value) in identity {
                if let Some(value) = value.filter(|v| telemetry::is_header_safe(v)) {
                    d.upstream_headers
                        .push((name.to_string(), value.to_string()));
                }
            }
        }
    }
}

fn verify_signature(
    keys: &KeySet,
    alg: Algorithm,
    jws: &Jws<'_>,
    verifier: &dyn SignatureVerifier,
) -> Result<(), Reason> {
    let mut candidates = keys.candidates(jws.header.kid.as_deref(), alg).peekable();
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
