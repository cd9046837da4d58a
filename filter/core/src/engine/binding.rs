//! Stage 5, the transport binding: a token bound to a client certificate (RFC 8705
//! `cnf.x5t#S256`) is only good over mTLS with that certificate, and on a route with
//! `bind_peer` the caller (the current actor, else `sub`) must be the mTLS peer's SPIFFE ID.
//! Both answer `binding_mismatch`, before any authorization requirement.

use super::checks::{pass_if, Checks};
use super::Context;
use crate::config::Route;
use crate::decision::Reason;
use crate::identity::binding;
use crate::token::Jws;

/// The token's certificate binding, then the route's `bind_peer`.
pub(super) fn transport(
    ctx: &Context<'_>,
    route: &Route,
    jws: &Jws<'_>,
    actor_chain: &[String],
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    if let Some(thumbprint) = binding::certificate_thumbprint(&jws.claims.all) {
        let digest = ctx.connection.peer_certificate_sha256_hex();
        let bound = digest.is_some_and(|d| binding::thumbprint_matches(thumbprint, d));
        checks.check(
            "binding",
            pass_if(bound, Reason::BindingMismatch),
            || match digest {
                Some(_) => "cnf.x5t#S256 against the mTLS peer certificate".to_string(),
                None => "cnf.x5t#S256 but no client certificate (plaintext or no mTLS)".to_string(),
            },
        )?;
    }
    if route.require.bind_peer {
        let peer = ctx.connection.peer_uri_san();
        let caller = caller(actor_chain, jws.claims.sub.as_deref());
        let bound = caller.is_some() && caller == peer;
        checks.check("bind_peer", pass_if(bound, Reason::BindingMismatch), || {
            format!(
                "caller `{}`, mTLS peer `{}`",
                caller.unwrap_or("-"),
                peer.unwrap_or("none")
            )
        })?;
    }
    Ok(())
}

/// Who must be the mTLS peer of a bound token: the current actor, else the subject.
fn caller<'t>(actor_chain: &'t [String], sub: Option<&'t str>) -> Option<&'t str> {
    actor_chain.first().map(String::as_str).or(sub)
}
