//! Time rules: expiry, not-before, issued-at and maximum lifetime, all against a given `now`.

use super::jws::Claims;
use crate::decision::Reason;

/// The time rules that apply to one token on one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRules {
    /// Tolerated clock difference, in seconds.
    pub clock_skew: u64,
    /// Whether `exp` must be present.
    pub require_expiration: bool,
    /// The longest `exp - iat` allowed, if any (then `iat` and `exp` are required).
    pub max_lifetime: Option<u64>,
}

/// Checks the time claims at `now` (seconds since the Unix epoch).
pub fn check(claims: &Claims, now: u64, rules: TimeRules) -> Result<(), Reason> {
    let skew = rules.clock_skew;
    match claims.exp {
        Some(exp) if now >= exp.saturating_add(skew) => return Err(Reason::Expired),
        None if rules.require_expiration => return Err(Reason::LifetimeExceeded),
        _ => {}
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(skew)) {
        return Err(Reason::NotYetValid);
    }
    if claims.iat.is_some_and(|iat| iat > now.saturating_add(skew)) {
        return Err(Reason::IssuedInFuture);
    }
    if let Some(max) = rules.max_lifetime {
        let (Some(iat), Some(exp)) = (claims.iat, claims.exp) else {
            return Err(Reason::LifetimeExceeded);
        };
        if exp.saturating_sub(iat) > max {
            return Err(Reason::LifetimeExceeded);
        }
    }
    Ok(())
}

/// Seconds until `exp`, if the token has one (0 once expired).
pub fn remaining(claims: &Claims, now: u64) -> Option<u64> {
    claims.exp.map(|exp| exp.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: Option<u64>, nbf: Option<u64>, iat: Option<u64>) -> Claims {
        Claims {
            all: Default::default(),
            iss: None,
            sub: None,
            aud: vec![],
            exp,
            nbf,
            iat,
            jti: None,
        }
    }

    const RULES: TimeRules = TimeRules {
        clock_skew: 60,
        require_expiration: true,
        max_lifetime: None,
    };
    const NOW: u64 = 1_800_000_000;

    #[test]
    fn expiry_honours_the_skew() {
        assert_eq!(
            check(&claims(Some(NOW - 59), None, None), NOW, RULES),
            Ok(())
        );
        assert_eq!(
            check(&claims(Some(NOW - 60), None, None), NOW, RULES),
            Err(Reason::Expired)
        );
        assert_eq!(
            check(&claims(Some(NOW + 300), None, None), NOW, RULES),
            Ok(())
        );
    }

    #[test]
    fn missing_expiry_only_matters_when_required() {
        assert_eq!(
            check(&claims(None, None, None), NOW, RULES),
            Err(Reason::LifetimeExceeded)
        );
        let lax = TimeRules {
            require_expiration: false,
            ..RULES
        };
        assert_eq!(check(&claims(None, None, None), NOW, lax), Ok(()));
    }

    #[test]
    fn not_before_and_issued_at_honour_the_skew() {
        let exp = Some(NOW + 100);
        assert_eq!(
            check(&claims(exp, Some(NOW + 60), None), NOW, RULES),
            Ok(())
        );
        assert_eq!(
            check(&claims(exp, Some(NOW + 61), None), NOW, RULES),
            Err(Reason::NotYetValid)
        );
        assert_eq!(
            check(&claims(exp, None, Some(NOW + 60)), NOW, RULES),
            Ok(())
        );
        assert_eq!(
            check(&claims(exp, None, Some(NOW + 61)), NOW, RULES),
            Err(Reason::IssuedInFuture)
        );
        assert_eq!(
            check(&claims(exp, Some(u64::MAX), None), NOW, RULES),
            Err(Reason::NotYetValid)
        );
    }

    #[test]
    fn max_lifetime_needs_iat_and_exp() {
        let rules = TimeRules {
            max_lifetime: Some(300),
            ..RULES
        };
        assert_eq!(
            check(&claims(Some(NOW + 100), None, Some(NOW - 200)), NOW, rules),
            Ok(())
        );
        assert_eq!(
            check(&claims(Some(NOW + 101), None, Some(NOW - 200)), NOW, rules),
            Err(Reason::LifetimeExceeded)
        );
        assert_eq!(
            check(&claims(Some(NOW + 100), None, None), NOW, rules),
            Err(Reason::LifetimeExceeded)
        );
        let lax = TimeRules {
            require_expiration: false,
            ..rules
        };
        assert_eq!(
            check(&claims(None, None, Some(NOW)), NOW, lax),
            Err(Reason::LifetimeExceeded)
        );
    }

    #[test]
    fn huge_values_do_not_overflow() {
        assert_eq!(
            check(
                &claims(Some(u64::MAX), None, Some(0)),
                u64::MAX - 1000,
                RULES
            ),
            Ok(())
        );
        assert_eq!(
            check(&claims(Some(u64::MAX), None, None), u64::MAX, RULES),
            Err(Reason::Expired)
        );
        assert_eq!(remaining(&claims(Some(NOW - 5), None, None), NOW), Some(0));
        assert_eq!(remaining(&claims(Some(NOW + 5), None, None), NOW), Some(5));
    }
}
