//! Stage 3, authenticate: the checks every token gets once its provider is known, access and
//! transaction tokens alike. JWT-SVID rules (access tokens of `spiffe` providers), keys,
//! signature, then time, lifetime, audience and revocation: the signature is always checked
//! before any claim-based reason, so every `expired` or `bad_audience` is about an authentic
//! token.

use super::checks::{pass_if, Checks};
use super::Context;
use crate::config::{Provider, ProviderId};
use crate::decision::Reason;
use crate::identity::spiffe;
use crate::keys::{Algorithm, KeySet};
use crate::token::{self, Jws, SignatureVerifier, TimeRules};

/// Which token is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenRole {
    /// The route's access token (SVID rules apply; a cached token skips the signature), under
    /// the route's lifetime limit (`max_lifetime_seconds`) as well as the provider's.
    Access {
        /// Whether the token came from the verified-token cache.
        from_cache: bool,
        /// The route's own lifetime limit.
        route_max_lifetime: Option<u64>,
    },
    /// A transaction token: never cached, `exp` required, the provider's lifetime only.
    Transaction,
}

/// Authenticates `jws` of `provider` (`invalid_svid`, `keys_unavailable`, `unknown_key`,
/// `bad_signature`, the time reasons of [`token::time::check`], `bad_audience`, and the
/// revocation reasons of [`crate::state::RuntimeState::check_revocation`]).
pub(super) fn authenticate(
    ctx: &Context<'_>,
    provider_id: ProviderId,
    provider: &Provider,
    alg: Algorithm,
    jws: &Jws<'_>,
    role: TokenRole,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let access = matches!(role, TokenRole::Access { .. });
    let from_cache = matches!(
        role,
        TokenRole::Access {
            from_cache: true,
            ..
        }
    );
    let spiffe_domain = provider.spiffe_trust_domain.as_ref().filter(|_| access);
    if spiffe_domain.is_some() {
        let typ = jws.header.typ.as_deref();
        let typ_ok = typ.is_none_or(|t| t == "JWT" || t == "JOSE");
        let kid_ok = jws.header.kid.is_some();
        checks.check(
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
    let Some(keys) = ctx.state.keys(ctx.policy, provider_id, ctx.now) else {
        return checks.fail("keys", Reason::KeysUnavailable, || {
            format!("no usable key set for `{}`", provider.name)
        });
    };
    if from_cache {
        checks.pass("signature", || {
            "verified earlier (verified-token cache)".to_string()
        });
    } else {
        let signature = verify_signature(keys, alg, jws, spiffe_domain.is_some(), ctx.verifier);
        if signature == Err(Reason::UnknownKey) {
            checks.hint(unknown_key(keys, alg, jws, provider));
        }
        checks.check("signature", signature, || match signature {
            Err(Reason::UnknownKey) => unknown_key(keys, alg, jws, provider),
            _ => format!("{alg} with {} key(s) in the set", keys.len()),
        })?;
        if access {
            ctx.state.remember(jws);
        }
    }
    if let Some(domain) = spiffe_domain {
        let sub = jws.claims.sub.as_deref().unwrap_or("");
        let parsed = spiffe::parse(sub);
        let ok = parsed.is_ok_and(|id| id.trust_domain == domain && !id.path.is_empty());
        checks.check("svid", pass_if(ok, Reason::InvalidSvid), || match parsed {
            Ok(id) => format!(
                "`{sub}` in trust domain `{}`, expected `{domain}`",
                id.trust_domain
            ),
            Err(error) => format!("`sub` is not a SPIFFE ID: {error}"),
        })?;
    }
    let rules = time_rules(provider, role);
    let claims = &jws.claims;
    let now = ctx.now;
    checks.check("time", token::time::check(claims, now, rules), || {
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
    checks.check(
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
    let revocation = ctx.state.check_revocation(ctx.policy, jti, sub, claims.iat);
    checks.check("revocation", revocation, || {
        format!("jti {}", jti.unwrap_or("-"))
    })
}

/// The time rules for a token of `provider` in `role`.
fn time_rules(provider: &Provider, role: TokenRole) -> TimeRules {
    match role {
        TokenRole::Access {
            route_max_lifetime, ..
        } => TimeRules {
            clock_skew: provider.clock_skew_seconds,
            require_expiration: provider.require_expiration,
            max_lifetime: provider.effective_max_lifetime(route_max_lifetime),
        },
        TokenRole::Transaction => TimeRules {
            clock_skew: provider.clock_skew_seconds,
            require_expiration: true,
            max_lifetime: provider.max_lifetime_seconds,
        },
    }
}

/// Why no key can verify: the token's `kid` against the `kid`s the provider has (a `kid` is a
/// header value, not a claim: fit for the debug log).
fn unknown_key(keys: &KeySet, alg: Algorithm, jws: &Jws<'_>, provider: &Provider) -> String {
    let kids: Vec<&str> = keys.kids().collect();
    let held = if kids.is_empty() {
        "none with a kid".to_string()
    } else {
        kids.join(", ")
    };
    match jws.header.kid.as_deref() {
        Some(kid) => format!(
            "no {alg} key with kid `{kid}` in the key set of `{}` (kids: {held})",
            provider.name
        ),
        None => format!(
            "no key of the set of `{}` fits {alg} (the token has no kid; kids: {held})",
            provider.name
        ),
    }
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
