//! Route requirements: providers, scopes, subjects and claim conditions.

pub mod claims;
pub mod scopes;
pub mod subjects;
pub mod template;

pub use claims::{ClaimCondition, Expected};
pub use subjects::SubjectPattern;
pub use template::{Template, TemplateError};

use crate::decision::Reason;
use serde_json::{Map, Value};

/// What a protected route requires of a valid token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requirements {
    /// Indexes of the providers whose tokens are accepted; `None` for any.
    pub providers: Option<Vec<usize>>,
    /// Scopes all required.
    pub scopes: Vec<Template>,
    /// Scopes of which one is required.
    pub scopes_any: Vec<Template>,
    /// Subject patterns, one of which must match `sub` (none: any subject).
    pub subjects: Vec<SubjectPattern>,
    /// Claim conditions, all required.
    pub claims: Vec<ClaimCondition>,
}

impl Requirements {
    /// Checks subjects, claims and scopes, in that order.
    pub fn check(
        &self,
        subject: Option<&str>,
        claims: &Map<String, Value>,
        captures: &[&str],
    ) -> Result<(), Reason> {
        self.check_subject(subject)?;
        self.check_claims(claims, captures)?;
        self.check_scopes(claims, captures)
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

    /// `claims`: every condition holds.
    pub fn check_claims(
        &self,
        claims: &Map<String, Value>,
        captures: &[&str],
    ) -> Result<(), Reason> {
        if self.claims.iter().all(|c| c.holds(claims, captures)) {
            Ok(())
        } else {
            Err(Reason::ClaimMismatch)
        }
    }

    /// `scopes` (all) and `scopes_any` (one).
    pub fn check_scopes(
        &self,
        claims: &Map<String, Value>,
        captures: &[&str],
    ) -> Result<(), Reason> {
        let granted = scopes::granted(claims);
        let has = |t: &Template| granted.iter().any(|g| t.matches(g, captures));
        if !self.scopes.iter().all(has) {
            return Err(Reason::InsufficientScope);
        }
        if !self.scopes_any.is_empty() && !self.scopes_any.iter().any(has) {
            return Err(Reason::InsufficientScope);
        }
        Ok(())
    }

    /// The required scopes, filled in, for the `scope` attribute of an `insufficient_scope` answer.
    pub fn rendered_scopes(&self, captures: &[&str]) -> Vec<String> {
        self.scopes
            .iter()
            .chain(&self.scopes_any)
            .map(|t| t.render(captures))
            .collect()
    }
}
