//! Stage 2, the access token: exactly one token in the headers the route reads, well formed, of
//! a supported algorithm, naming a provider accepted here (then authenticated, see
//! [`super::authenticate`]); once its signature holds, the shape of its claims (scope strings,
//! the actor chain, authorization details) and its JOSE `typ`.

use super::authenticate::{self, TokenRole};
use super::checks::{pass_if, Checks};
use super::Context;
use crate::config::{Provider, ProviderId, Route};
use crate::decision::{Decision, Reason, Trace};
use crate::identity::actors;
use crate::keys::Algorithm;
use crate::require::scopes;
use crate::telemetry;
use crate::token::{self, Extracted, Jws};
use serde_json::Value;

/// The one token of the request, and the route's sources (indexes) that read its header.
pub(super) struct Presented<'h> {
    /// The token text (without the header's prefix).
    pub text: &'h str,
    /// Indexes into `route.token_sources` of the sources that matched its header.
    pub sources: Vec<usize>,
}

/// Why no token could be presented, and whether a token was examined at all (for the
/// token-validation counter).
pub(super) struct Refusal {
    /// The reason.
    pub reason: Reason,
    /// A token was found and refused (`false`: none was, or the headers were refused first).
    pub token_examined: bool,
}

/// A well-formed token of a supported algorithm whose issuer is a provider accepted here.
pub(super) struct Identified<'a, 't> {
    /// The parsed token (from the verified-token cache when `from_cache`).
    pub jws: Jws<'t>,
    /// Its algorithm, on the provider's allow-list.
    pub alg: Algorithm,
    /// Its provider's id.
    pub provider_id: ProviderId,
    /// Its provider.
    pub provider: &'a Provider,
    /// Whether its signature was verified by an earlier request.
    pub from_cache: bool,
}

/// Exactly one token within the limits (`header_too_large`, `missing_token`, `malformed_token`
/// for two tokens).
pub(super) fn present<'h, H: AsRef<str>>(
    ctx: &Context<'_>,
    route: &Route,
    headers: &'h [(H, H)],
    checks: &mut Checks<'_>,
) -> Result<Presented<'h>, Refusal> {
    let limits = ctx.policy.limits;
    let refuse = |reason, token_examined| Refusal {
        reason,
        token_examined,
    };
    if headers.len() > limits.max_headers {
        let count = headers.len();
        let _ = checks.fail::<()>("token", Reason::HeaderTooLarge, || {
            format!(
                "{count} request headers, over limits.max_headers {}",
                limits.max_headers
            )
        });
        return Err(refuse(Reason::HeaderTooLarge, false));
    }
    let (text, sources) = match token::extract(&route.token_sources, headers) {
        Extracted::One { token, sources } => (token, sources),
        Extracted::Missing => {
            let unprefixed = route
                .token_sources
                .iter()
                .find(|s| crate::routes::header_value(headers, &s.header.name).is_some());
            let unprefixed_words = |source: &crate::token::TokenSource| {
                format!(
                    "`{}` is present but its value does not start with `{}`: the token must follow that prefix",
                    source.header.name,
                    source.header.value_prefix.trim_end()
                )
            };
            if let Some(source) = unprefixed {
                checks.hint(unprefixed_words(source));
            }
            let _ = checks.fail::<()>("token", Reason::MissingToken, || match unprefixed {
                Some(source) => unprefixed_words(source),
                None => format!("no token in: {}", where_tokens_go(route)),
            });
            return Err(refuse(Reason::MissingToken, false));
        }
        Extracted::Several => {
            let _ = checks.fail::<()>("token", Reason::MalformedToken, || {
                "more than one token presented".to_string()
            });
            return Err(refuse(Reason::MalformedToken, true));
        }
    };
    if text.len() > limits.token.max_token_bytes {
        let size = text.len();
        let _ = checks.fail::<()>("token", Reason::HeaderTooLarge, || {
            format!(
                "{size}-byte token, over limits.max_token_bytes {}",
                limits.token.max_token_bytes
            )
        });
        return Err(refuse(Reason::HeaderTooLarge, true));
    }
    checks.pass("token", || {
        format!("one token ({})", telemetry::token_hash(text))
    });
    Ok(Presented { text, sources })
}

/// Why [`identify`] found no provider accepted here for the token.
pub(super) enum NotIdentified<'a, 't> {
    /// Refused for this reason (`malformed_token`, `disallowed_algorithm`, `bad_issuer` of an
    /// issuer no provider has).
    Refused(Reason),
    /// Its `iss` is a provider's, but not one the route accepts or reads from the token's header:
    /// `bad_issuer`, and the token is still worth authenticating for the record and counters.
    NotAccepted(Identified<'a, 't>),
}

impl From<Reason> for NotIdentified<'_, '_> {
    fn from(reason: Reason) -> Self {
        NotIdentified::Refused(reason)
    }
}

/// The headers a route reads tokens from, each with its prefixes: `authorization (Bearer, DPoP)`.
fn where_tokens_go(route: &Route) -> String {
    let mut places: Vec<(&str, Vec<&str>)> = Vec::new();
    for source in &route.token_sources {
        let prefix = source.header.value_prefix.trim_end();
        match places
            .iter_mut()
            .find(|(name, _)| *name == source.header.name)
        {
            Some((_, prefixes)) if !prefixes.contains(&prefix) => prefixes.push(prefix),
            Some(_) => {}
            None => places.push((source.header.name.as_str(), vec![prefix])),
        }
    }
    let described: Vec<String> = places
        .into_iter()
        .map(|(name, prefixes)| {
            let prefixes: Vec<&str> = prefixes.into_iter().filter(|p| !p.is_empty()).collect();
            if prefixes.is_empty() {
                name.to_string()
            } else {
                format!("{name} ({})", prefixes.join(", "))
            }
        })
        .collect();
    described.join(", ")
}

/// Format, algorithm, and the provider its `iss` names, which must be accepted on the route and
/// read the header the token came in (`malformed_token`, `disallowed_algorithm`, `bad_issuer`).
pub(super) fn identify<'a, 't>(
    ctx: &Context<'a>,
    route: &Route,
    presented: &Presented<'t>,
    checks: &mut Checks<'_>,
) -> Result<Identified<'a, 't>, NotIdentified<'a, 't>> {
    let cached = ctx.state.cached(presented.text, ctx.now);
    let from_cache = cached.is_some();
    let parsed = match cached {
        Some(jws) => Ok(jws),
        None => token::parse_with(presented.text, &ctx.policy.limits.token),
    };
    let jws = match parsed {
        Ok(jws) => jws,
        Err(error) => {
            return checks
                .fail("format", Reason::MalformedToken, || format!("{error:?}"))
                .map_err(NotIdentified::Refused)
        }
    };
    let header = &jws.header;
    checks.pass("format", || {
        format!(
            "alg {}, kid {}",
            header.alg,
            header.kid.as_deref().unwrap_or("-")
        )
    });
    let alg = checks.check(
        "algorithm",
        Algorithm::parse(&header.alg).map_err(|_| Reason::DisallowedAlgorithm),
        || match Algorithm::parse(&header.alg) {
            Ok(_) => format!("`{}` is a supported asymmetric algorithm", header.alg),
            Err(_) => format!("`{}` is not an accepted asymmetric algorithm", header.alg),
        },
    )?;
    let iss = jws.claims.iss.as_deref();
    let named = iss
        .and_then(|iss| ctx.policy.provider_by_issuer(iss))
        .and_then(|p| ctx.policy.provider(p).map(|provider| (p, provider)));
    let reads_here = named.is_some_and(|(p, _)| {
        presented.sources.iter().any(|s| {
            route
                .token_sources
                .get(*s)
                .is_some_and(|source| source.providers.contains(&p))
        })
    });
    let found = named.filter(|_| reads_here);
    let issuer = checks.check("issuer", found.ok_or(Reason::BadIssuer), || {
        issuer_detail(ctx, route, iss, named, reads_here)
    });
    let Ok((provider_id, provider)) = issuer else {
        checks.hint(match named {
            Some((_, provider)) => format!(
                "the token's issuer is provider `{}`, not accepted on this route or not from this header",
                provider.name
            ),
            None => "no provider has the token's issuer (issuers are compared exactly)".to_string(),
        });
        return Err(match named {
            Some((provider_id, provider)) => NotIdentified::NotAccepted(Identified {
                jws,
                alg,
                provider_id,
                provider,
                from_cache,
            }),
            None => NotIdentified::Refused(Reason::BadIssuer),
        });
    };
    allowed_algorithm(provider, alg, checks)?;
    Ok(Identified {
        jws,
        alg,
        provider_id,
        provider,
        from_cache,
    })
}

/// `explain`'s words for the issuer check: which provider the `iss` names and why it is not
/// accepted here, or the provider issuer it nearly is (a trailing slash, the scheme, case).
fn issuer_detail(
    ctx: &Context<'_>,
    route: &Route,
    iss: Option<&str>,
    named: Option<(ProviderId, &Provider)>,
    reads_here: bool,
) -> String {
    let Some(iss) = iss else {
        return "no `iss`".to_string();
    };
    match (named, reads_here) {
        (Some((_, provider)), true) => format!("`{iss}` is provider `{}`", provider.name),
        (Some((id, provider)), false) => {
            let accepted_here = route
                .token_sources
                .iter()
                .any(|s| s.providers.contains(&id));
            if accepted_here {
                format!(
                    "`{iss}` is provider `{}`, accepted here but not from the header the token came in",
                    provider.name
                )
            } else {
                let accepted: Vec<&str> = ctx
                    .policy
                    .providers_with_ids()
                    .filter(|(p, _)| route.token_sources.iter().any(|s| s.providers.contains(p)))
                    .map(|(_, p)| p.name.as_str())
                    .collect();
                format!(
                    "`{iss}` is provider `{}`, which this route does not accept (it accepts: {})",
                    provider.name,
                    accepted.join(", ")
                )
            }
        }
        (None, _) => {
            let near = ctx
                .policy
                .providers_with_ids()
                .map(|(_, p)| p)
                .find(|p| issuers_look_alike(&p.issuer, iss));
            match near {
                Some(p) => format!(
                    "no provider has the issuer `{iss}`; did you mean `{}` (provider `{}`)? Issuers are compared exactly",
                    p.issuer, p.name
                ),
                None => format!("no provider has the issuer `{iss}`"),
            }
        }
    }
}

/// Two issuers that differ only by a trailing slash, the scheme or the case.
fn issuers_look_alike(a: &str, b: &str) -> bool {
    let core = |s: &str| {
        let s = s.trim_end_matches('/');
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        s.to_ascii_lowercase()
    };
    a != b && core(a) == core(b)
}

/// A token of a provider the route does not accept: `bad_issuer` all the same, but the record
/// names its provider and the token-validations counter says `not_accepted` when the token is
/// authentic (a misrouted caller, not an attack), or why it is not. Checked without a trace:
/// `explain` already said why the issuer is refused.
pub(super) fn not_accepted(
    ctx: &Context<'_>,
    token: &Identified<'_, '_>,
    decision: &mut Decision,
) -> Reason {
    if token.provider.kind == crate::config::TokenKind::Transaction {
        // A transaction token is never an access token: not authenticated (nor cached) as one.
        decision.token_result = Some(Reason::BadIssuer);
        return Reason::BadIssuer;
    }
    let mut silent = Trace::off();
    let mut quiet = Checks::new(&mut silent);
    let role = TokenRole::Access {
        from_cache: token.from_cache,
        route_max_lifetime: None,
    };
    let authentic = allowed_algorithm(token.provider, token.alg, &mut quiet).and_then(|()| {
        authenticate::authenticate(
            ctx,
            token.provider_id,
            token.provider,
            token.alg,
            &token.jws,
            role,
            &mut quiet,
        )
    });
    decision.provider = Some(token.provider.name.clone());
    decision.token_result = Some(authentic.err().unwrap_or(Reason::BadIssuer));
    Reason::BadIssuer
}

/// The provider's `algorithms` allow-list (`disallowed_algorithm`); transaction tokens answer
/// a refusal as `invalid_transaction_token` (see [`super::transaction`]).
pub(super) fn allowed_algorithm(
    provider: &Provider,
    alg: Algorithm,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let allowed = provider.algorithms.contains(&alg);
    checks.check(
        "algorithm",
        pass_if(allowed, Reason::DisallowedAlgorithm),
        || {
            let verb = if allowed { "is" } else { "is not" };
            format!("{alg} {verb} allowed by `{}`", provider.name)
        },
    )
}

/// The shape of an authentic token's claims (`malformed_token`): scope strings split on the
/// space only, the `act` chain within `limits.max_actor_hops` (returned, current actor first),
/// and, on a route that requires one, a readable `authorization_details` list. Failures are
/// reported as `format` steps, like the other format rules; a passing shape is not traced.
pub(super) fn claim_shape(
    ctx: &Context<'_>,
    route: &Route,
    jws: &Jws<'_>,
    checks: &mut Checks<'_>,
) -> Result<Vec<String>, Reason> {
    let claims = &jws.claims.all;
    if let Some(name) = scopes::malformed_claim(claims) {
        return checks.fail("format", Reason::MalformedToken, || {
            format!("`{name}` holds a control character other than the separating space")
        });
    }
    let chain = match actors::chain(claims, ctx.policy.limits.max_actor_hops) {
        Ok(chain) => chain,
        Err(error) => {
            return checks.fail("actors", Reason::MalformedToken, || {
                format!("`act` refused: {error:?}")
            })
        }
    };
    if route.require.authorization_details.is_some() {
        let max = ctx.policy.limits.max_authorization_details;
        let readable = match claims.get("authorization_details") {
            None => true,
            Some(Value::Array(entries)) => entries.len() <= max,
            Some(_) => false,
        };
        if !readable {
            return checks.fail("authorization_details", Reason::MalformedToken, || {
                format!("`authorization_details` is not a list of at most {max} entries")
            });
        }
    }
    Ok(chain)
}

/// `require.typ` (`wrong_token_type`): RFC 8725 / 9068 comparison, case-insensitive, the
/// `application/` prefix optional.
pub(super) fn token_type(
    route: &Route,
    jws: &Jws<'_>,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let Some(required) = &route.require.typ else {
        return Ok(());
    };
    let typ = jws.header.typ.as_deref().unwrap_or("");
    let fits = typ_matches(typ, required);
    checks.check("typ", pass_if(fits, Reason::WrongTokenType), || {
        format!("`{typ}`, route requires `{required}`")
    })
}

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
