//! The decision function: (policy, request, now, verifier) → [`Decision`].

use crate::config::{Policy, Provider, Route};
use crate::decision::{Decision, Reason, Step, Trace};
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
    decide_traced(policy, state, request, now, verifier, &mut Trace::off())
}

/// Judges one request like [`decide`] and returns every check it ran, for `explain`.
pub fn explain<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> (Decision, Vec<Step>) {
    let mut trace = Trace::on();
    let decision = decide_traced(policy, state, request, now, verifier, &mut trace);
    (decision, trace.into_steps())
}

fn decide_traced<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    now: u64,
    verifier: &dyn SignatureVerifier,
    trace: &mut Trace,
) -> Decision {
    let path = match clean_path(request.path) {
        Ok(path) => {
            trace.note("path", Ok(()), || format!("`{path}` is clean"));
            path
        }
        Err(error) => {
            trace.note("path", Err(Reason::InvalidPath), || {
                format!("`{}` refused: {error:?}", request.path)
            });
            return Decision::new(Reason::InvalidPath, policy.mode);
        }
    };
    let mut matched = None;
    for (index, route) in policy.routes.iter().enumerate() {
        match route
            .matcher
            .try_match(request.method, path, request.authority)
        {
            Ok(captures) => {
                trace.note("route", Ok(()), || {
                    let names = route.matcher.path.capture_names();
                    let bound: Vec<String> = names
                        .iter()
                        .zip(&captures)
                        .map(|(n, v)| format!("{n}={v}"))
                        .collect();
                    format!(
                        "routes[{index}] `{}` matches {}",
                        route.action,
                        bound.join(" ")
                    )
                });
                matched = Some((index, route, captures));
                break;
            }
            Err(part) => trace.note("route", Ok(()), || {
                format!(
                    "routes[{index}] `{}` skipped: {part} does not match",
                    route.action
                )
            }),
        }
    }
    let Some((index, route, captures)) = matched else {
        trace.note("route", Err(Reason::NoRoute), || {
            format!("no route declares {} {path}", request.method)
        });
        return Decision::new(Reason::NoRoute, policy.mode);
    };
    let mut decision = Decision::new(Reason::Allowed, route.mode.unwrap_or(policy.mode));
    decision.route = Some(index);
    decision.action = Some(route.action.clone());
    if route.public {
        trace.note("public", Ok(()), || {
            "public route: no token needed".to_string()
        });
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
        trace,
    };
    let verdict = judge.token(request.headers);
    let mut decision = judge.decision;
    decision.conclude(verdict.err().unwrap_or(Reason::Allowed));
    decision
}

/// One protected request being judged; fills the decision as facts become known.
struct Judge<'a, 'c> {
    trace: &'c mut Trace,
    policy: &'a Policy,
    state: &'a RuntimeState,
    route: &'a Route,
    captures: &'c [&'c str],
    now: u64,
    verifier: &'a dyn SignatureVerifier,
    decision: Decision,
}

impl Judge<'_, '_> {
    /// Records a check in the trace and passes its result on.
    fn note(
        &mut self,
        check: &'static str,
        result: Result<(), Reason>,
        detail: impl FnOnce() -> String,
    ) -> Result<(), Reason> {
        self.trace.note(check, result, detail);
        result
    }

    fn token<H: AsRef<str>>(&mut self, headers: &[(H, H)]) -> Result<(), Reason> {
        let limits = self.policy.limits;
        if headers.len() > limits.max_headers {
            let count = headers.len();
            return self.note("token", Err(Reason::HeaderTooLarge), || {
                format!(
                    "{count} request headers, over limits.max_headers {}",
                    limits.max_headers
                )
            });
        }
        let (text, sources) = match token::extract(&self.route.token_sources, headers) {
            Extracted::Missing => {
                let names: Vec<&str> = self
                    .route
                    .token_sources
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                let names = names.join(", ");
                return self.note("token", Err(Reason::MissingToken), || {
                    format!("no bearer token in: {names}")
                });
            }
            Extracted::Several => {
                self.trace.note("token", Err(Reason::MalformedToken), || {
                    "more than one token presented".to_string()
                });
                return Err(self.token_failed(Reason::MalformedToken));
            }
            Extracted::One { token, sources } => (token, sources),
        };
        if text.len() > limits.token.max_token_bytes {
            let size = text.len();
            self.trace.note("token", Err(Reason::HeaderTooLarge), || {
                format!(
                    "{size}-byte token, over limits.max_token_bytes {}",
                    limits.token.max_token_bytes
                )
            });
            return Err(self.token_failed(Reason::HeaderTooLarge));
        }
        let id = telemetry::token_hash(text);
        self.note("token", Ok(()), || format!("one token ({id})"))?;
        self.decision.token_id = Some(id);
        let jws = match self.validate(text, &sources) {
            Ok(jws) => jws,
            Err(reason) => return Err(self.token_failed(reason)),
        };
        self.decision.token_result = Some(Reason::Allowed);
        let require = &self.route.require;
        let (sub, claims, captures) = (jws.claims.sub.as_deref(), &jws.claims.all, self.captures);
        let subject = require.check_subject(sub);
        self.note("subjects", subject, || match sub {
            Some(sub) => format!("`{sub}` against {} pattern(s)", require.subjects.len()),
            None => "no `sub`".to_string(),
        })?;
        let claim_result = require.check_claims(claims, captures);
        self.note("claims", claim_result, || {
            let names: Vec<&str> = require.claims.iter().map(|c| c.name.as_str()).collect();
            format!(
                "conditions on: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })?;
        let scope_result = require.check_scopes(claims, captures);
        let (granted, required) = (
            self.decision.scopes_granted.join(" "),
            self.decision.scopes_required.join(" "),
        );
        self.note("scopes", scope_result, || {
            format!("required [{required}], granted [{granted}]")
        })
    }

    fn token_failed(&mut self, reason: Reason) -> Reason {
        self.decision.token_result = Some(reason);
        reason
    }

    /// Token-level checks: format, algorithm, issuer, key, signature, time, audience, revocation.
    fn validate<'t>(&mut self, text: &'t str, sources: &[usize]) -> Result<Jws<'t>, Reason> {
        let jws = match token::parse_with(text, &self.policy.limits.token) {
            Ok(jws) => jws,
            Err(error) => {
                self.note("format", Err(Reason::MalformedToken), || {
                    format!("{error:?}")
                })?;
                return Err(Reason::MalformedToken);
            }
        };
        let alg_name = jws.header.alg.clone();
        let kid = jws.header.kid.clone();
        self.note("format", Ok(()), || {
            format!("alg {alg_name}, kid {}", kid.as_deref().unwrap_or("-"))
        })?;
        let alg = Algorithm::parse(&jws.header.alg);
        self.note(
            "algorithm",
            alg.as_ref()
                .map(|_| ())
                .map_err(|_| Reason::DisallowedAlgorithm),
            || format!("`{alg_name}` is not an accepted asymmetric algorithm"),
        )?;
        let alg = alg.map_err(|_| Reason::DisallowedAlgorithm)?;
        let iss = jws.claims.iss.clone();
        let provider_index = iss
            .as_deref()
            .and_then(|iss| self.policy.provider_by_issuer(iss));
        // The issuer's provider must be accepted on this route and read the header the token came in.
        let route = self.route;
        let reads_here = provider_index.is_some_and(|p| {
            sources.iter().any(|s| {
                route
                    .source_providers
                    .get(*s)
                    .is_some_and(|readers| readers.contains(&p))
            })
        });
        let provider = provider_index
            .and_then(|p| self.policy.providers.get(p))
            .filter(|_| reads_here);
        let found = provider.map(|p| p.name.clone());
        self.note(
            "issuer",
            provider.map(|_| ()).ok_or(Reason::BadIssuer),
            || match (&iss, &found) {
                (None, _) => "no `iss`".to_string(),
                (Some(iss), Some(name)) => format!("`{iss}` is provider `{name}`"),
                (Some(iss), None) => {
                    format!("`{iss}` is no provider accepted here (or not from its header)")
                }
            },
        )?;
        let (Some(provider), Some(provider_index)) = (provider, provider_index) else {
            return Err(Reason::BadIssuer);
        };
        self.decision.provider = Some(provider.name.clone());
        if !provider.forward {
            self.decision.drop_header = sources
                .first()
                .and_then(|s| route.token_sources.get(*s))
                .map(|s| s.name.clone());
        }
        let allowed = provider.algorithms.contains(&alg);
        self.note(
            "algorithm",
            if allowed {
                Ok(())
            } else {
                Err(Reason::DisallowedAlgorithm)
            },
            || {
                format!(
                    "{alg} {} allowed by `{}`",
                    if allowed { "is" } else { "is not" },
                    provider.name
                )
            },
        )?;
        let Some(keys) = self.state.keys(self.policy, provider_index, self.now) else {
            self.note("keys", Err(Reason::KeysUnavailable), || {
                format!("no usable key set for `{}`", provider.name)
            })?;
            return Err(Reason::KeysUnavailable);
        };
        let signature = verify_signature(keys, alg, &jws, self.verifier);
        self.note("signature", signature, || {
            format!("{alg} with {} key(s) in the set", keys.len())
        })?;
        self.record_verified(provider, &jws);
        let rules = TimeRules {
            clock_skew: provider.clock_skew_seconds,
            require_expiration: provider.require_expiration,
            max_lifetime: tightest(provider.max_lifetime_seconds, route.max_lifetime_seconds),
        };
        let claims = &jws.claims;
        let now = self.now;
        self.note("time", token::time::check(claims, now, rules), || {
            let show = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
            format!(
                "now {now}, iat {}, nbf {}, exp {}, skew {}s, max lifetime {}",
                show(claims.iat),
                show(claims.nbf),
                show(claims.exp),
                rules.clock_skew,
                show(rules.max_lifetime)
            )
        })?;
        let audience_ok = claims.aud.iter().any(|a| provider.audiences.contains(a));
        self.note(
            "audience",
            if audience_ok {
                Ok(())
            } else {
                Err(Reason::BadAudience)
            },
            || {
                format!(
                    "token [{}], accepted [{}]",
                    claims.aud.join(" "),
                    provider.audiences.join(" ")
                )
            },
        )?;
        let (jti, sub) = (claims.jti.as_deref(), claims.sub.as_deref());
        let revocation = self
            .state
            .check_revocation(self.policy, jti, sub, claims.iat);
        self.note("revocation", revocation, || {
            format!("jti {}", jti.unwrap_or("-"))
        })?;
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
