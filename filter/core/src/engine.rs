//! The decision function: (policy, state, request, connection, now, verifier) → [`Decision`].

use crate::config::{Policy, Provider, Route};
use crate::decision::{Decision, Reason, Step, Trace};
use crate::identity::{actors, binding, spiffe, ConnectionInfo, NoConnection};
use crate::keys::{Algorithm, KeySet};
use crate::require::{claims, scopes, Bindings, Template, TransactionRequirement};
use crate::routes::{canonical_authority, clean_path};
use crate::state::RuntimeState;
use crate::telemetry;
use crate::token::{self, Extracted, Jws, SignatureVerifier, TimeRules};
use serde_json::{Map, Value};

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

/// Judges one request at `now` (seconds since the Unix epoch), with no connection facts.
pub fn decide<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> Decision {
    decide_in(policy, state, request, &NoConnection, now, verifier)
}

/// Judges one request with the facts of its connection (mTLS peer, source address).
pub fn decide_in<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    connection: &dyn ConnectionInfo,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> Decision {
    decide_traced(
        policy,
        state,
        request,
        connection,
        now,
        verifier,
        &mut Trace::off(),
    )
}

/// Judges one request like [`decide`] and returns every check it ran, for `explain`.
pub fn explain<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> (Decision, Vec<Step>) {
    explain_in(policy, state, request, &NoConnection, now, verifier)
}

/// [`explain`] with connection facts.
pub fn explain_in<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    connection: &dyn ConnectionInfo,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> (Decision, Vec<Step>) {
    let mut trace = Trace::on();
    let decision = decide_traced(
        policy, state, request, connection, now, verifier, &mut trace,
    );
    (decision, trace.into_steps())
}

/// What placeholders in templates are filled with: path captures, headers, source address.
struct RequestBindings<'a, H: AsRef<str>> {
    captures: &'a [&'a str],
    headers: &'a [(H, H)],
    connection: &'a dyn ConnectionInfo,
}

impl<H: AsRef<str>> Bindings for RequestBindings<'_, H> {
    fn capture(&self, index: usize) -> Option<&str> {
        self.captures.get(index).copied()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    fn source_address(&self) -> Option<&str> {
        self.connection.source_address()
    }
}

fn decide_traced<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    connection: &dyn ConnectionInfo,
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
    let path: &str = &path;
    let authority = match canonical_authority(request.authority) {
        Ok(authority) => authority,
        Err(error) => {
            trace.note("authority", Err(Reason::InvalidAuthority), || {
                format!("`{}` refused: {error}", request.authority)
            });
            return Decision::new(Reason::InvalidAuthority, policy.mode);
        }
    };
    let mut matched = None;
    for (index, route) in policy.routes.iter().enumerate() {
        match route.matcher.try_match(request.method, path, &authority) {
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
    if let Some(other) = policy.trailing_slash_conflict(request.method, path, &authority, index) {
        trace.note("path", Err(Reason::InvalidPath), || {
            format!(
                "`{path}` reaches routes[{index}] but `{}` reaches routes[{other}]: the trailing \
                 slash makes it another route",
                path.trim_end_matches('/')
            )
        });
        return Decision::new(Reason::InvalidPath, policy.mode);
    }
    let mut decision = Decision::new(Reason::Allowed, route.mode.unwrap_or(policy.mode));
    decision.route = Some(index);
    decision.action = Some(route.action.clone());
    if let Some(name) = repeated_header(&route.headers_read, request.headers) {
        trace.note("headers", Err(Reason::AmbiguousHeader), || {
            format!("`{name}` is read by the route and occurs more than once")
        });
        decision.conclude(Reason::AmbiguousHeader);
        return decision;
    }
    if route.public {
        trace.note("public", Ok(()), || {
            "public route: no token needed".to_string()
        });
        decision.conclude(Reason::Public);
        return decision;
    }
    let bindings = RequestBindings {
        captures: &captures,
        headers: request.headers,
        connection,
    };
    decision.scopes_required = route.require.rendered_scopes(&bindings);
    let mut judge = Judge {
        policy,
        state,
        route,
        bindings: &bindings,
        connection,
        now,
        verifier,
        decision,
        trace,
    };
    let verdict = judge.request(request.headers);
    let mut decision = judge.decision;
    decision.conclude(verdict.err().unwrap_or(Reason::Allowed));
    decision
}

/// Which token [`Judge::authenticate`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenRole {
    /// The route's access token (SVID rules apply; a cached token skips the signature).
    Access {
        /// Whether the token came from the verified-token cache.
        from_cache: bool,
    },
    /// A transaction token: never cached, `exp` required, the provider's lifetime only.
    Transaction,
}

/// One protected request being judged; fills the decision as facts become known.
struct Judge<'a, 'c> {
    trace: &'c mut Trace,
    policy: &'a Policy,
    state: &'a RuntimeState,
    route: &'a Route,
    bindings: &'c dyn Bindings,
    connection: &'c dyn ConnectionInfo,
    now: u64,
    verifier: &'a dyn SignatureVerifier,
    decision: Decision,
}

fn pass_if(ok: bool, reason: Reason) -> Result<(), Reason> {
    if ok {
        Ok(())
    } else {
        Err(reason)
    }
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

    /// [`Judge::note`] with a detail that reads the decision so far.
    fn note_with(
        &mut self,
        check: &'static str,
        result: Result<(), Reason>,
        detail: impl FnOnce(&Decision) -> String,
    ) -> Result<(), Reason> {
        let decision = &self.decision;
        self.trace.note(check, result, || detail(decision));
        result
    }

    fn token_failed(&mut self, reason: Reason) -> Reason {
        self.decision.token_result = Some(reason);
        reason
    }

    /// The access token, then the transaction token, then the route's requirements.
    fn request<H: AsRef<str>>(&mut self, headers: &[(H, H)]) -> Result<(), Reason> {
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
        self.note("token", Ok(()), || {
            format!("one token ({})", telemetry::token_hash(text))
        })?;
        let verdict = self.token(text, &sources, headers);
        if self.decision.token_id.is_none() {
            // No `jti` was vouched for: name the token by its hash (computed only now, as a
            // verified token with a `jti` needs none).
            self.decision.token_id = Some(telemetry::token_hash(text));
        }
        verdict
    }

    /// The extracted token: validated, then the transaction token and the route's requirements.
    fn token<H: AsRef<str>>(
        &mut self,
        text: &str,
        sources: &[usize],
        headers: &[(H, H)],
    ) -> Result<(), Reason> {
        let jws = match self.validate(text, sources) {
            Ok(jws) => jws,
            Err(reason) => return Err(self.token_failed(reason)),
        };
        self.decision.token_result = Some(Reason::Allowed);
        let transaction = match &self.route.require.transaction {
            Some(required) => Some(self.transaction(required, headers)?),
            None => None,
        };
        self.requirements(&jws, transaction.as_ref())
    }

    /// The route's requirements on a valid token.
    fn requirements(
        &mut self,
        jws: &Jws<'_>,
        transaction: Option<&Map<String, Value>>,
    ) -> Result<(), Reason> {
        let require = &self.route.require;
        let (sub, claims) = (jws.claims.sub.as_deref(), &jws.claims.all);
        let bindings = self.bindings;
        self.note("subjects", require.check_subject(sub), || match sub {
            Some(sub) => format!("`{sub}` against {} pattern(s)", require.subjects.len()),
            None => "no `sub`".to_string(),
        })?;
        let actors = require.check_actors(&self.decision.actor_chain);
        self.note_with("actors", actors, |decision| {
            format!(
                "chain [{}], max depth {}",
                decision.actor_chain.join(" "),
                require
                    .max_delegation_depth
                    .map_or("-".to_string(), |d| d.to_string())
            )
        })?;
        if require.bind_peer {
            let peer = self.connection.peer_uri_san();
            let caller = caller_of(&self.decision, sub);
            let bound = caller.is_some() && caller == peer;
            self.note_with(
                "bind_peer",
                pass_if(bound, Reason::BindingMismatch),
                |decision| {
                    format!(
                        "caller `{}`, mTLS peer `{}`",
                        caller_of(decision, sub).unwrap_or("-"),
                        peer.unwrap_or("none")
                    )
                },
            )?;
        }
        let claim_result = require.check_claims(claims, transaction, bindings);
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
        let scope_result = require.check_granted_scopes(&self.decision.scopes_granted, bindings);
        self.note_with("scopes", scope_result, |decision| {
            format!(
                "required [{}], granted [{}]",
                decision.scopes_required.join(" "),
                decision.scopes_granted.join(" ")
            )
        })?;
        if require.authorization_details.is_some() {
            let max = self.policy.limits.max_authorization_details;
            let details = require.check_details(claims, max, bindings);
            self.note("authorization_details", details, || {
                "RFC 9396 detail required by the route".to_string()
            })?;
        }
        Ok(())
    }

    /// Token-level checks: format, algorithm, issuer, SVID rules, key, signature, time,
    /// audience, revocation, binding, delegation chain.
    fn validate<'t>(&mut self, text: &'t str, sources: &[usize]) -> Result<Jws<'t>, Reason> {
        let cached = self.state.cached(text, self.now);
        let from_cache = cached.is_some();
        let parsed = match cached {
            Some(jws) => Ok(jws),
            None => token::parse_with(text, &self.policy.limits.token),
        };
        let jws = match parsed {
            Ok(jws) => jws,
            Err(error) => {
                self.note("format", Err(Reason::MalformedToken), || {
                    format!("{error:?}")
                })?;
                return Err(Reason::MalformedToken);
            }
        };
        let header = std::rc::Rc::clone(&jws.header);
        let alg_name = header.alg.as_str();
        self.note("format", Ok(()), || {
            format!(
                "alg {alg_name}, kid {}",
                header.kid.as_deref().unwrap_or("-")
            )
        })?;
        let alg = Algorithm::parse(&jws.header.alg);
        let known = alg
            .as_ref()
            .map(|_| ())
            .map_err(|_| Reason::DisallowedAlgorithm);
        self.note("algorithm", known, || match known {
            Ok(()) => format!("`{alg_name}` is a supported asymmetric algorithm"),
            Err(_) => format!("`{alg_name}` is not an accepted asymmetric algorithm"),
        })?;
        let alg = alg.map_err(|_| Reason::DisallowedAlgorithm)?;
        let claims = std::rc::Rc::clone(&jws.claims);
        let iss = claims.iss.as_deref();
        let provider_index = iss.and_then(|iss| self.policy.provider_by_issuer(iss));
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
        let found = provider.map(|p| p.name.as_str());
        self.note(
            "issuer",
            provider.map(|_| ()).ok_or(Reason::BadIssuer),
            || match (iss, found) {
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
        let role = TokenRole::Access { from_cache };
        self.authenticate(provider, provider_index, alg, &jws, role)?;
        if let Some(name) = scopes::malformed_claim(&jws.claims.all) {
            // A claim-format rule, checked once the signature holds (reported only on failure,
            // like the other format rules).
            self.note("format", Err(Reason::MalformedToken), || {
                format!("`{name}` holds a control character other than the separating space")
            })?;
        }
        self.record_verified(provider, &jws);
        if let Some(required) = &route.require.typ {
            let typ = jws.header.typ.as_deref().unwrap_or("");
            let fits = typ_matches(typ, required);
            self.note("typ", pass_if(fits, Reason::WrongTokenType), || {
                format!("`{typ}`, route requires `{required}`")
            })?;
        }
        self.certificate_binding(&jws)?;
        let max_hops = self.policy.limits.max_actor_hops;
        match actors::chain(&jws.claims.all, max_hops) {
            Ok(chain) => self.decision.actor_chain = chain,
            Err(error) => {
                self.note("actors", Err(Reason::MalformedToken), || {
                    format!("`act` refused: {error:?}")
                })?;
            }
        }
        Ok(jws)
    }

    /// Algorithm allow-list, SVID rules (access tokens), keys, signature, time, audience and
    /// revocation: the checks every token gets once its provider is known.
    fn authenticate(
        &mut self,
        provider: &Provider,
        provider_index: usize,
        alg: Algorithm,
        jws: &Jws<'_>,
        role: TokenRole,
    ) -> Result<(), Reason> {
        let access = matches!(role, TokenRole::Access { .. });
        let from_cache = role == TokenRole::Access { from_cache: true };
        let spiffe_domain = provider.spiffe_trust_domain.as_ref().filter(|_| access);
        let allowed = provider.algorithms.contains(&alg);
        self.note(
            "algorithm",
            pass_if(allowed, Reason::DisallowedAlgorithm),
            || {
                let verb = if allowed { "is" } else { "is not" };
                format!("{alg} {verb} allowed by `{}`", provider.name)
            },
        )?;
        if spiffe_domain.is_some() {
            let typ = jws.header.typ.as_deref();
            let typ_ok = typ.is_none_or(|t| t == "JWT" || t == "JOSE");
            let kid_ok = jws.header.kid.is_some();
            self.note(
                "svid",
                pass_if(typ_ok && kid_ok, Reason::InvalidSvid),
                || {
                    format!(
                        "typ {}, kid {}",
                        typ.unwrap_or("-"),
                        if kid_ok { "present" } else { "missing" }
                    )
                },
            )?;
        }
        let Some(keys) = self.state.keys(self.policy, provider_index, self.now) else {
            return self.note("keys", Err(Reason::KeysUnavailable), || {
                format!("no usable key set for `{}`", provider.name)
            });
        };
        if from_cache {
            self.note("signature", Ok(()), || {
                "verified earlier (verified-token cache)".to_string()
            })?;
        } else {
            let spiffe = spiffe_domain.is_some();
            let signature = verify_signature(keys, alg, jws, spiffe, self.verifier);
            self.note("signature", signature, || {
                format!("{alg} with {} key(s) in the set", keys.len())
            })?;
            if access {
                self.state.remember(jws);
            }
        }
        if let Some(domain) = spiffe_domain {
            let sub = jws.claims.sub.as_deref().unwrap_or("");
            let parsed = spiffe::parse(sub);
            let ok = parsed.is_ok_and(|id| id.trust_domain == domain && !id.path.is_empty());
            self.note("svid", pass_if(ok, Reason::InvalidSvid), || match parsed {
                Ok(id) => format!(
                    "`{sub}` in trust domain `{}`, expected `{domain}`",
                    id.trust_domain
                ),
                Err(error) => format!("`sub` is not a SPIFFE ID: {error}"),
            })?;
        }
        let rules = match role {
            TokenRole::Access { .. } => TimeRules {
                clock_skew: provider.clock_skew_seconds,
                require_expiration: provider.require_expiration,
                max_lifetime: tightest(
                    provider.max_lifetime_seconds,
                    self.route.max_lifetime_seconds,
                ),
            },
            TokenRole::Transaction => TimeRules {
                clock_skew: provider.clock_skew_seconds,
                require_expiration: true,
                max_lifetime: provider.max_lifetime_seconds,
            },
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
            pass_if(audience_ok, Reason::BadAudience),
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
        })
    }

    /// RFC 8705: a token with `cnf.x5t#S256` is only good over mTLS with that certificate.
    fn certificate_binding(&mut self, jws: &Jws<'_>) -> Result<(), Reason> {
        let Some(thumbprint) = binding::certificate_thumbprint(&jws.claims.all) else {
            return Ok(());
        };
        let digest = self.connection.peer_certificate_sha256_hex();
        let bound = digest.is_some_and(|d| binding::thumbprint_matches(thumbprint, d));
        self.note(
            "binding",
            pass_if(bound, Reason::BindingMismatch),
            || match digest {
                Some(_) => "cnf.x5t#S256 against the mTLS peer certificate".to_string(),
                None => "cnf.x5t#S256 but no client certificate (plaintext or no mTLS)".to_string(),
            },
        )
    }

    /// The transaction token the route requires: exactly one, valid, of an accepted purpose.
    fn transaction<H: AsRef<str>>(
        &mut self,
        required: &TransactionRequirement,
        headers: &[(H, H)],
    ) -> Result<Map<String, Value>, Reason> {
        let Some(provider) = self.policy.providers.get(required.provider) else {
            return Err(Reason::InvalidTransactionToken);
        };
        let text = match token::extract(&provider.from_headers, headers) {
            Extracted::One { token, .. } => token,
            Extracted::Missing => {
                self.note("transaction", Err(Reason::MissingTransactionToken), || {
                    format!(
                        "no `{}` header",
                        provider
                            .from_headers
                            .first()
                            .map_or("", |s| s.name.as_str())
                    )
                })?;
                return Err(Reason::MissingTransactionToken);
            }
            Extracted::Several => {
                self.note("transaction", Err(Reason::InvalidTransactionToken), || {
                    "more than one transaction token".to_string()
                })?;
                return Err(Reason::InvalidTransactionToken);
            }
        };
        let checked = self.transaction_token(required.provider, provider, text);
        let (claims, why) = match checked {
            Ok(claims) => (Some(claims), String::new()),
            Err(why) => (None, why),
        };
        self.note(
            "transaction",
            claims
                .as_ref()
                .map(|_| ())
                .ok_or(Reason::InvalidTransactionToken),
            || {
                if why.is_empty() {
                    format!("valid `{}` token", provider.name)
                } else {
                    why
                }
            },
        )?;
        let claims = claims.ok_or(Reason::InvalidTransactionToken)?;
        let purpose = claims.get("scope").and_then(Value::as_str).unwrap_or("");
        let accepted =
            required.purposes.is_empty() || required.purposes.iter().any(|p| p == purpose);
        self.decision.txn = claims
            .get("txn")
            .and_then(Value::as_str)
            .map(str::to_string);
        let purposes = required.purposes.join(" ");
        self.note(
            "purpose",
            pass_if(accepted, Reason::TransactionPurposeMismatch),
            || format!("`{purpose}`, accepted [{purposes}]"),
        )?;
        Ok(claims)
    }

    /// Validates a transaction token; the error is a description for the trace. After the
    /// token-type and issuer checks it gets the access token's checks ([`Judge::authenticate`]),
    /// on a trace of their own whose failed step says why (formatted only when tracing).
    fn transaction_token(
        &self,
        index: usize,
        provider: &Provider,
        text: &str,
    ) -> Result<Map<String, Value>, String> {
        let jws =
            token::parse_with(text, &self.policy.limits.token).map_err(|e| format!("{e:?}"))?;
        let typ = jws.header.typ.as_deref().unwrap_or("");
        if !typ.eq_ignore_ascii_case("txntoken+jwt") {
            return Err(format!("typ `{typ}` is not txntoken+jwt"));
        }
        let alg = Algorithm::parse(&jws.header.alg).map_err(|_| "algorithm refused".to_string())?;
        if jws.claims.iss.as_deref() != Some(provider.issuer.as_str()) {
            return Err("issuer is not the provider's".to_string());
        }
        let mut steps = if self.trace.is_on() {
            Trace::on()
        } else {
            Trace::off()
        };
        let mut judge = Judge {
            trace: &mut steps,
            policy: self.policy,
            state: self.state,
            route: self.route,
            bindings: self.bindings,
            connection: self.connection,
            now: self.now,
            verifier: self.verifier,
            decision: Decision::new(Reason::Allowed, self.decision.mode),
        };
        if let Err(reason) = judge.authenticate(provider, index, alg, &jws, TokenRole::Transaction)
        {
            let failed = steps.into_steps().into_iter().rfind(|s| s.failed.is_some());
            return Err(match failed {
                Some(step) => format!("{reason}: {}: {}", step.check, step.detail),
                None => reason.to_string(),
            });
        }
        for claim in ["txn", "sub", "scope", "req_wl", "iat", "exp"] {
            if !jws.claims.all.contains_key(claim) {
                return Err(format!("`{claim}` is missing"));
            }
        }
        Ok(std::rc::Rc::try_unwrap(jws.claims).map_or_else(|shared| shared.all.clone(), |c| c.all))
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
        let bindings = self.bindings;
        let any_used = route
            .require
            .scopes_any
            .iter()
            .find(|t| granted.iter().any(|g| t.matches(g, bindings)));
        let needed = |scope: &str| {
            let fits = |t: &Template| t.matches(scope, bindings);
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

/// The first of `names` that occurs more than once in `headers` (names compared
/// case-insensitively): a value the decision reads must be the only one the upstream can see.
fn repeated_header<'n, H: AsRef<str>>(names: &'n [String], headers: &[(H, H)]) -> Option<&'n str> {
    names.iter().map(String::as_str).find(|name| {
        headers
            .iter()
            .filter(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .nth(1)
            .is_some()
    })
}

/// Who must be the mTLS peer of a bound token: the current actor, else the subject.
fn caller_of<'d>(decision: &'d Decision, sub: Option<&'d str>) -> Option<&'d str> {
    decision.actor_chain.first().map(String::as_str).or(sub)
}

/// `typ` comparison as RFC 8725 / 9068 want it: case-insensitive, `application/` optional.
fn typ_matches(typ: &str, required: &str) -> bool {
    let strip = |t: &str| {
        let lower = t.to_ascii_lowercase();
        lower
            .strip_prefix("application/")
            .map(str::to_string)
            .unwrap_or(lower)
    };
    strip(typ) == strip(required)
}

fn verify_signature(
    keys: &KeySet,
    alg: Algorithm,
    jws: &Jws<'_>,
    spiffe: bool,
    verifier: &dyn SignatureVerifier,
) -> Result<(), Reason> {
    let mut candidates = keys
        .candidates(jws.header.kid.as_deref(), alg, spiffe)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_comparison() {
        assert!(typ_matches("at+jwt", "at+jwt"));
        assert!(typ_matches("application/AT+JWT", "at+jwt"));
        assert!(!typ_matches("JWT", "at+jwt"));
        assert!(!typ_matches("", "at+jwt"));
    }
}
