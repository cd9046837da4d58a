//! The decision function: (policy, state, request, connection, now, verifier) → [`Decision`].
//!
//! A request goes through the stages below in order; each is a function from typed inputs to a
//! typed output (a matched route, a presented token, an identified then authenticated token,
//! its actor chain), handed to the next stage and never read back from the decision record.
//! Every check is recorded through one helper ([`checks::Checks`]) for `explain`, which runs
//! the very same code with the trace on. Each [`Reason`] comes from exactly one stage (the
//! table is [`PRODUCERS`], checked by a test against the stages' sources).
//!
//! | README step | stage (file) | function | reasons |
//! | --- | --- | --- | --- |
//! | 1. path hygiene | route | [`route::canonical_path`] | `invalid_path` |
//! | 2. authority, 3. route | route | [`route::select`], [`route::headers_read_once`] | `invalid_authority`, `no_route`, `invalid_path` (trailing slash), `ambiguous_header` |
//! | 4. public routes | route | [`route::public`] | `public` |
//! | 5. token | access_token | [`access_token::present`] | `header_too_large`, `missing_token`, `malformed_token` (two tokens) |
//! | 6. JOSE checks, 7. issuer | access_token | [`access_token::identify`], [`access_token::allowed_algorithm`] | `malformed_token`, `disallowed_algorithm`, `bad_issuer` |
//! | 8. key and signature, 9. time, lifetime, audience, revocation | authenticate | [`authenticate::authenticate`] | `invalid_svid`, `keys_unavailable`, `unknown_key`, `bad_signature`, `expired`, `not_yet_valid`, `issued_in_future`, `lifetime_exceeded`, `bad_audience`, `revoked`, `revocation_unavailable` |
//! | claim shape, `typ` | access_token | [`access_token::claim_shape`], [`access_token::token_type`] | `malformed_token`, `wrong_token_type` |
//! | proof of possession (RFC 9449) | dpop | [`dpop::possession`] | `dpop_proof_missing`, `dpop_multiple_proofs`, `dpop_bound_token_as_bearer`, `dpop_token_not_bound`, `dpop_malformed_proof`, `dpop_wrong_type`, `dpop_disallowed_algorithm`, `dpop_bad_key`, `dpop_bad_signature`, `dpop_method_mismatch`, `dpop_url_mismatch`, `dpop_stale_proof`, `dpop_token_hash_mismatch`, `dpop_key_mismatch`, `dpop_replayed`, `dpop_replay_cache_full` |
//! | transport binding | binding | [`binding::transport`] | `binding_mismatch` |
//! | transaction token | transaction | [`transaction::transaction`] | `missing_transaction_token`, `invalid_transaction_token`, `transaction_purpose_mismatch` |
//! | 10. requirements | requirements | [`requirements::requirements`] | `subject_not_allowed`, `delegation_too_deep`, `actor_not_allowed`, `claim_mismatch`, `insufficient_scope`, `authorization_details_mismatch` |
//! | 11. MCP message (routes with `mcp`) | mcp | [`mcp::message`] | `body_too_large`, `invalid_mcp_request`, `mcp_header_mismatch`, `tool_not_allowed`, `mcp_method_not_allowed`, `argument_not_allowed`, then the rule's requirements through [`requirements::requirements`] |
//! | upstream effects | effects | [`effects::record_verified`], [`effects::drop_token_header`] | none |
//! | (all passed) | mod | [`decide_traced`] | `allowed` |
//!
//! The authenticate stage serves transaction tokens too; the transaction stage then answers any
//! of its reasons as `invalid_transaction_token`.

mod access_token;
mod authenticate;
mod binding;
mod checks;
mod deny;
mod dpop;
mod effects;
mod mcp;
mod producers;
mod requirements;
mod route;
mod transaction;

use crate::config::Policy;
use crate::decision::{Decision, Reason, Step, Trace};
use crate::identity::{ConnectionInfo, NoConnection};
use crate::require::{scopes, Bindings};
use crate::state::RuntimeState;
use crate::telemetry;
use crate::token::SignatureVerifier;
use authenticate::TokenRole;
use checks::Checks;
pub use producers::PRODUCERS;

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
    let ctx = Context::new(policy, state, connection, now, verifier, None);
    decide_traced(&ctx, request, &mut Trace::off())
}

/// Judges a request with its whole body: on a route with an `mcp` block, the JSON-RPC message
/// is judged too (elsewhere the body is not read). The host calls it once the body is complete,
/// after [`decide_in`] answered with [`Decision::awaiting_body`].
pub fn decide_with_body<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    connection: &dyn ConnectionInfo,
    body: &[u8],
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> Decision {
    let ctx = Context::new(policy, state, connection, now, verifier, Some(body));
    decide_traced(&ctx, request, &mut Trace::off())
}

/// [`explain_in`] with the request body (`explain --body`); `None` judges as at header time.
#[allow(clippy::too_many_arguments)]
pub fn explain_with_body<H: AsRef<str>>(
    policy: &Policy,
    state: &RuntimeState,
    request: &RequestView<'_, H>,
    connection: &dyn ConnectionInfo,
    body: Option<&[u8]>,
    now: u64,
    verifier: &dyn SignatureVerifier,
) -> (Decision, Vec<Step>) {
    let ctx = Context::new(policy, state, connection, now, verifier, body);
    let mut trace = Trace::on();
    let decision = decide_traced(&ctx, request, &mut trace);
    (decision, trace.into_steps())
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
    explain_with_body(policy, state, request, connection, None, now, verifier)
}

/// What every stage may read: the policy, the run-time state, the connection, the time, the
/// verifier.
pub(crate) struct Context<'a> {
    policy: &'a Policy,
    state: &'a RuntimeState,
    connection: &'a dyn ConnectionInfo,
    now: u64,
    verifier: &'a dyn SignatureVerifier,
    /// The whole request body, once read (MCP routes); `None` at header time.
    body: Option<&'a [u8]>,
}

impl<'a> Context<'a> {
    fn new(
        policy: &'a Policy,
        state: &'a RuntimeState,
        connection: &'a dyn ConnectionInfo,
        now: u64,
        verifier: &'a dyn SignatureVerifier,
        body: Option<&'a [u8]>,
    ) -> Self {
        Context {
            policy,
            state,
            connection,
            now,
            verifier,
            body,
        }
    }
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
        crate::routes::header_value(self.headers, name)
    }

    fn source_address(&self) -> Option<&str> {
        self.connection.source_address()
    }
}

/// The stages in order (see the module doc).
fn decide_traced<H: AsRef<str>>(
    ctx: &Context<'_>,
    request: &RequestView<'_, H>,
    trace: &mut Trace,
) -> Decision {
    let mut checks = Checks::new(trace);
    let mut decision = decide_checked(ctx, request, &mut checks);
    decision.hint = checks.take_hint();
    decision
}

/// The stages, recording into `checks`.
fn decide_checked<H: AsRef<str>>(
    ctx: &Context<'_>,
    request: &RequestView<'_, H>,
    checks: &mut Checks<'_>,
) -> Decision {
    let policy = ctx.policy;
    let path = match route::canonical_path(request, checks) {
        Ok(path) => path,
        Err(reason) => return Decision::new(reason, policy.mode),
    };
    let selected = route::select(policy, request, &path, checks);
    let denials = if route::deny_rules_apply(&selected) {
        deny::matching(policy, request, &path)
    } else {
        Vec::new()
    };
    let matched = match selected {
        Ok(matched) => matched,
        Err(reason) => {
            let mut decision = Decision::new(reason, policy.mode);
            if let Err(denied) = deny::unconditional(&denials, &mut decision, checks) {
                decision.conclude(denied);
            }
            return decision;
        }
    };
    let route = matched.route;
    let mut decision = Decision::new(Reason::Allowed, route.mode.unwrap_or(policy.mode));
    decision.route = Some(matched.id);
    decision.action = Some(route.action.clone());
    decision.mcp = route.mcp.as_deref().map(mcp::facts_of);
    if route.dpop.required {
        decision.dpop = Some(dpop::route_facts(route));
    }
    let early = deny::unconditional(&denials, &mut decision, checks)
        .and_then(|()| route::headers_read_once(route, request.headers, checks))
        .err()
        .or_else(|| route::public(route, checks));
    if let Some(reason) = early {
        decision.conclude(reason);
        return decision;
    }
    let bindings = RequestBindings {
        captures: &matched.captures,
        headers: request.headers,
        connection: ctx.connection,
    };
    decision.scopes_required = route.require.rendered_scopes(&bindings);
    let around = Around {
        bindings: &bindings,
        denials: &denials,
    };
    let verdict = protected(ctx, route, request, around, &mut decision, checks);
    decision.conclude(verdict.err().unwrap_or(Reason::Allowed));
    decision
}

/// What the route stage found around the route: the request's bindings (captures, headers,
/// connection) and the deny rules whose `match` fits it.
#[derive(Clone, Copy)]
struct Around<'c> {
    bindings: &'c dyn Bindings,
    denials: &'c [deny::DenyMatch<'c, 'c>],
}

/// A protected route: the access token, its binding, the transaction token, the requirements.
fn protected<H: AsRef<str>>(
    ctx: &Context<'_>,
    route: &crate::config::Route,
    request: &RequestView<'_, H>,
    around: Around<'_>,
    decision: &mut Decision,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let presented = access_token::present(ctx, route, request.headers, checks).map_err(|r| {
        if r.token_examined {
            decision.token_result = Some(r.reason);
        }
        r.reason
    })?;
    let verdict = verified(ctx, route, request, &presented, around, decision, checks);
    if decision.token_id.is_none() {
        // No `jti` was vouched for: name the token by its hash (computed only now, as a
        // verified token with a `jti` needs none).
        decision.token_id = Some(telemetry::token_hash(presented.text));
    }
    verdict
}

/// From the presented token to the verdict.
fn verified<H: AsRef<str>>(
    ctx: &Context<'_>,
    route: &crate::config::Route,
    request: &RequestView<'_, H>,
    presented: &access_token::Presented<'_>,
    around: Around<'_>,
    decision: &mut Decision,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let Around { bindings, denials } = around;
    let token_failed = |decision: &mut Decision, reason| {
        decision.token_result = Some(reason);
        reason
    };
    let dpop_scheme = dpop::note_scheme(route, presented, decision);
    let token = match access_token::identify(ctx, route, presented, checks) {
        Ok(token) => token,
        Err(access_token::NotIdentified::Refused(reason)) => {
            return Err(token_failed(decision, reason))
        }
        Err(access_token::NotIdentified::NotAccepted(token)) => {
            return Err(access_token::not_accepted(ctx, &token, decision));
        }
    };
    effects::drop_token_header(decision, route, token.provider, &presented.sources);
    let role = TokenRole::Access {
        from_cache: token.from_cache,
        route_max_lifetime: route.max_lifetime_seconds,
    };
    let jws = &token.jws;
    authenticate::authenticate(
        ctx,
        token.provider_id,
        token.provider,
        token.alg,
        jws,
        role,
        checks,
    )
    .map_err(|r| token_failed(decision, r))?;
    let granted = scopes::granted(&jws.claims.all);
    effects::record_verified(
        ctx,
        decision,
        route,
        token.provider,
        jws,
        &granted,
        bindings,
    );
    // After the record names the authentic token: a refused proof still says whose it was.
    dpop::possession(
        ctx,
        route,
        token.provider,
        request,
        presented,
        dpop_scheme,
        jws,
        decision,
        checks,
    )
    .map_err(|r| token_failed(decision, r))?;
    let actor_chain = access_token::claim_shape(ctx, route, jws, checks)
        .and_then(|chain| access_token::token_type(route, jws, checks).map(|()| chain))
        .and_then(|chain| binding::transport(ctx, route, jws, &chain, checks).map(|()| chain))
        .map_err(|r| token_failed(decision, r))?;
    decision.token_result = Some(Reason::Allowed);
    if let Err(denied) = deny::on_token(ctx, denials, jws, request.headers, decision, checks) {
        decision.actor_chain = actor_chain;
        return Err(denied);
    }
    let facts = requirements::Facts {
        jws,
        actor_chain: &actor_chain,
        granted: &granted,
        transaction: None,
        bindings,
    };
    let verdict = authorized(ctx, route, request.headers, facts, decision, checks);
    decision.actor_chain = actor_chain;
    verdict
}

/// The transaction token and the route's requirements on a valid access token (`facts` of the
/// access token; the transaction token's claims are added here).
fn authorized<H: AsRef<str>>(
    ctx: &Context<'_>,
    route: &crate::config::Route,
    headers: &[(H, H)],
    facts: requirements::Facts<'_>,
    decision: &mut Decision,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let transaction = match &route.require.transaction {
        Some(required) => {
            let outcome = transaction::transaction(ctx, required, headers, checks);
            decision.txn = outcome.txn;
            Some(outcome.claims?)
        }
        None => None,
    };
    let facts = requirements::Facts {
        transaction: transaction.as_ref(),
        ..facts
    };
    requirements::requirements(ctx, &route.require, &facts, checks)?;
    match route.mcp.as_deref() {
        Some(rules) => mcp::message(ctx, rules, headers, &facts, decision, checks),
        None => Ok(()),
    }
}
