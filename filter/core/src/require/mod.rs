//! Route requirements: providers, scopes, subjects, claims, actors, authorization details,
//! transaction tokens and transport binding.

pub mod claims;
pub mod rar;
pub mod scopes;
pub mod subjects;
pub mod template;

pub use claims::{ClaimCondition, Expected};
pub use rar::{DetailRequirement, DetailsError, FieldValue};
pub use subjects::{SubjectPattern, SubjectPatternError};
pub use template::{Bindings, Template, TemplateError};

use crate::config::ProviderId;
use crate::decision::Reason;
use serde_json::{Map, Value};

/// What a protected route requires of a valid token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requirements {
    /// The providers whose tokens are accepted; `None` for any.
    pub providers: Option<Vec<ProviderId>>,
    /// Scopes all required.
    pub scopes: Vec<Template>,
    /// Scopes of which one is required.
    pub scopes_any: Vec<Template>,
    /// Subject patterns, one of which must match `sub` (none: any subject).
    pub subjects: Vec<SubjectPattern>,
    /// Claim conditions, all required.
    pub claims: Vec<ClaimCondition>,
    /// `actor.subjects`: the current actor must match one (none: no actor requirement).
    pub actor_subjects: Vec<SubjectPattern>,
    /// Most nested actors allowed (`allow_delegation: false` is 0); `None` for no limit.
    pub max_delegation_depth: Option<usize>,
    /// RFC 9396 detail one of the token's `authorization_details` must grant.
    pub authorization_details: Option<DetailRequirement>,
    /// A transaction token that must accompany the access token.
    pub transaction: Option<TransactionRequirement>,
    /// Whether the caller (current actor, else `sub`) must be the mTLS peer's SPIFFE ID.
    pub bind_peer: bool,
    /// A required JOSE `typ` (compared case-insensitively; an `application/` prefix is ignored).
    pub typ: Option<String>,
    /// `dpop: true`: the token must be DPoP-bound and come with a valid proof (RFC 9449).
    pub dpop: bool,
}

/// `require.transaction`: a transaction token of `provider` whose purpose (`scope`) is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRequirement {
    /// The `txn_token` provider.
    pub provider: ProviderId,
    /// Accepted purposes; empty for any.
    pub purposes: Vec<String>,
}

impl Requirements {
    /// Every request header a template of these requirements reads (lowercase, each once): a
    /// request must carry each of them at most once, or it is `ambiguous_header`.
    pub fn headers_read(&self) -> Vec<String> {
        let claim_templates = self.claims.iter().flat_map(|c| {
            c.allowed.iter().filter_map(|e| match e {
                Expected::Text(t) => Some(t),
                _ => None,
            })
        });
        let detail_templates = self.authorization_details.iter().flat_map(|d| {
            d.fields.iter().filter_map(|(_, v)| match v {
                FieldValue::Text(t) => Some(t),
                FieldValue::Exact(_) => None,
            })
        });
        let mut names: Vec<String> = Vec::new();
        for template in self
            .scopes
            .iter()
            .chain(&self.scopes_any)
            .chain(claim_templates)
            .chain(detail_templates)
        {
            for name in template.headers() {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        names
    }

    /// `subjects`: `sub` must match one pattern (when any are listed).
    pub fn check_subject(&self, subject: Option<&str>) -> Result<(), Reason> {
        if self.subjects.is_empty() {
            return Ok(());
        }
        let subject = subject.ok_or(Reason::SubjectNotAllowed)?;
        if self.subjects.iter().any(|p| p.matches(subject)) {
            Ok(())
        } else {
            Err(Reason::SubjectNotAllowed)
        }
    }

    /// `actor` and the delegation depth, on the chain (current actor first).
    pub fn check_actors(&self, chain: &[String]) -> Result<(), Reason> {
        if self
            .max_delegation_depth
            .is_some_and(|max| chain.len() > max)
        {
            return Err(Reason::DelegationTooDeep);
        }
        if !self.actor_subjects.is_empty() {
            let current = chain.first().ok_or(Reason::ActorNotAllowed)?;
            if !self.actor_subjects.iter().any(|p| p.matches(current)) {
                return Err(Reason::ActorNotAllowed);
            }
        }
        Ok(())
    }

    /// `claims`: every condition holds (`txn.` conditions read the transaction token's claims).
    pub fn check_claims<B: Bindings + ?Sized>(
        &self,
        claims: &Map<String, Value>,
        transaction: Option<&Map<String, Value>>,
        bindings: &B,
    ) -> Result<(), Reason> {
        let holds = |c: &ClaimCondition| match (c.from_transaction, transaction) {
            (false, _) => c.holds(claims, bindings),
            (true, Some(txn)) => c.holds(txn, bindings),
            (true, None) => false,
        };
        if self.claims.iter().all(holds) {
            Ok(())
        } else {
            Err(Reason::ClaimMismatch)
        }
    }

    /// `scopes` (all) and `scopes_any` (one), on the scopes the token grants.
    pub fn check_granted_scopes<S: AsRef<str>, B: Bindings + ?Sized>(
        &self,
        granted: &[S],
        bindings: &B,
    ) -> Result<(), Reason> {
        let has = |t: &Template| granted.iter().any(|g| t.matches(g.as_ref(), bindings));
        if !self.scopes.iter().all(has) {
            return Err(Reason::InsufficientScope);
        }
        if !self.scopes_any.is_empty() && !self.scopes_any.iter().any(has) {
            return Err(Reason::InsufficientScope);
        }
        Ok(())
    }

    /// `authorization_details`: one entry of the token grants the route's detail. The engine
    /// refuses an unreadable list (not an array, too many entries) as `malformed_token` before
    /// any requirement; here it grants nothing.
    pub fn check_details<B: Bindings + ?Sized>(
        &self,
        claims: &Map<String, Value>,
        max_entries: usize,
        bindings: &B,
    ) -> Result<(), Reason> {
        let Some(required) = &self.authorization_details else {
            return Ok(());
        };
        match required.check(claims, max_entries, bindings) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(Reason::AuthorizationDetailsMismatch),
        }
    }

    /// Which of the `granted` scopes this requirement needs: those fitting a `scopes` template,
    /// or the `scopes_any` template the granted scopes meet first (the one that satisfied it).
    /// Granted but not needed is the record's `scopes_unused`.
    pub fn needed_scopes<'r, S: AsRef<str>, B: Bindings + ?Sized>(
        &'r self,
        granted: &[S],
        bindings: &'r B,
    ) -> NeededScopes<'r, B> {
        let any_used = self
            .scopes_any
            .iter()
            .find(|t| granted.iter().any(|g| t.matches(g.as_ref(), bindings)));
        NeededScopes {
            scopes: &self.scopes,
            any_used,
            bindings,
        }
    }

    /// The required scopes, filled in, for the `scope` attribute of an `insufficient_scope` answer.
    pub fn rendered_scopes<B: Bindings + ?Sized>(&self, bindings: &B) -> Vec<String> {
        self.scopes
            .iter()
            .chain(&self.scopes_any)
            .map(|t| t.render(bindings))
            .collect()
    }
}

/// The scopes a requirement needs, out of those a token grants ([`Requirements::needed_scopes`]):
/// the `scopes_any` template in use is found once, then each scope is one check.
pub struct NeededScopes<'r, B: ?Sized> {
    scopes: &'r [Template],
    any_used: Option<&'r Template>,
    bindings: &'r B,
}

impl<B: Bindings + ?Sized> NeededScopes<'_, B> {
    /// Whether `scope` is needed.
    pub fn needs(&self, scope: &str) -> bool {
        let fits = |t: &Template| t.matches(scope, self.bindings);
        self.scopes.iter().any(fits) || self.any_used.is_some_and(fits)
    }
}
