//! Stage 4, the transaction token a route requires (`require.transaction`): exactly one, of the
//! named `txn_token` provider, authenticated like an access token (on a trace of its own whose
//! failed step the `transaction` step quotes), with the claims the draft requires and a purpose
//! the route accepts.

use super::access_token::allowed_algorithm;
use super::authenticate::{authenticate, TokenRole};
use super::checks::{pass_if, Checks};
use super::Context;
use crate::config::{Provider, ProviderId};
use crate::decision::{Reason, Trace};
use crate::keys::Algorithm;
use crate::require::TransactionRequirement;
use crate::token::{self, Extracted};
use serde_json::{Map, Value};

/// Claims a transaction token must carry.
const REQUIRED_CLAIMS: [&str; 6] = ["txn", "sub", "scope", "req_wl", "iat", "exp"];

/// What the stage found: the token's `txn` (recorded even when its purpose is refused) and its
/// claims, or why it was refused (`missing_transaction_token`, `invalid_transaction_token`,
/// `transaction_purpose_mismatch`).
pub(super) struct TransactionOutcome {
    /// `txn` of a valid transaction token.
    pub txn: Option<String>,
    /// Its claims, for `txn.` claim conditions.
    pub claims: Result<Map<String, Value>, Reason>,
}

/// Finds, validates and checks the purpose of the route's transaction token.
pub(super) fn transaction<H: AsRef<str>>(
    ctx: &Context<'_>,
    required: &TransactionRequirement,
    headers: &[(H, H)],
    checks: &mut Checks<'_>,
) -> TransactionOutcome {
    let refused = |reason| TransactionOutcome {
        txn: None,
        claims: Err(reason),
    };
    let Some(provider) = ctx.policy.provider(required.provider) else {
        return refused(Reason::InvalidTransactionToken);
    };
    let text = match token::extract(&provider.from_headers, headers) {
        Extracted::One { token, .. } => token,
        Extracted::Missing => {
            let name = provider
                .from_headers
                .first()
                .map_or("", |s| s.name.as_str());
            let reason = Reason::MissingTransactionToken;
            let _ = checks.fail::<()>("transaction", reason, || format!("no `{name}` header"));
            return refused(reason);
        }
        Extracted::Several => {
            let reason = Reason::InvalidTransactionToken;
            let _ = checks.fail::<()>("transaction", reason, || {
                "more than one transaction token".to_string()
            });
            return refused(reason);
        }
    };
    let validated = validate(ctx, required.provider, provider, text, checks.tracing());
    let claims = match validated {
        Ok(claims) => {
            checks.pass("transaction", || format!("valid `{}` token", provider.name));
            claims
        }
        Err(why) => {
            let reason = Reason::InvalidTransactionToken;
            let _ = checks.fail::<()>("transaction", reason, || why);
            return refused(reason);
        }
    };
    let purpose = claims.get("scope").and_then(Value::as_str).unwrap_or("");
    let accepted = required.purposes.is_empty() || required.purposes.iter().any(|p| p == purpose);
    let txn = claims
        .get("txn")
        .and_then(Value::as_str)
        .map(str::to_string);
    let purposes = required.purposes.join(" ");
    let verdict = checks.check(
        "purpose",
        pass_if(accepted, Reason::TransactionPurposeMismatch),
        || format!("`{purpose}`, accepted [{purposes}]"),
    );
    TransactionOutcome {
        txn,
        claims: verdict.map(|()| claims),
    }
}

/// Validates a transaction token; the error is a description for the trace (formatted only
/// when tracing): the `typ`, algorithm and issuer rules, then [`authenticate`] on a trace of
/// its own whose failed step is quoted, then the required claims.
fn validate(
    ctx: &Context<'_>,
    id: ProviderId,
    provider: &Provider,
    text: &str,
    tracing: bool,
) -> Result<Map<String, Value>, String> {
    let jws = token::parse_with(text, &ctx.policy.limits.token).map_err(|e| format!("{e:?}"))?;
    let typ = jws.header.typ.as_deref().unwrap_or("");
    if !typ.eq_ignore_ascii_case("txntoken+jwt") {
        return Err(format!("typ `{typ}` is not txntoken+jwt"));
    }
    let alg = Algorithm::parse(&jws.header.alg).map_err(|_| "algorithm refused".to_string())?;
    if jws.claims.iss.as_deref() != Some(provider.issuer.as_str()) {
        return Err("issuer is not the provider's".to_string());
    }
    let mut steps = if tracing { Trace::on() } else { Trace::off() };
    let mut own = Checks::new(&mut steps);
    let authenticated = allowed_algorithm(provider, alg, &mut own).and_then(|()| {
        authenticate(
            ctx,
            id,
            provider,
            alg,
            &jws,
            TokenRole::Transaction,
            &mut own,
        )
    });
    if let Err(reason) = authenticated {
        let failed = steps.into_steps().into_iter().rfind(|s| s.failed.is_some());
        return Err(match failed {
            Some(step) => format!("{reason}: {}: {}", step.check, step.detail),
            None => reason.to_string(),
        });
    }
    if let Some(claim) = REQUIRED_CLAIMS
        .into_iter()
        .find(|claim| !jws.claims.all.contains_key(*claim))
    {
        return Err(format!("`{claim}` is missing"));
    }
    Ok(std::rc::Rc::try_unwrap(jws.claims).map_or_else(|shared| shared.all.clone(), |c| c.all))
}
