//! Decisions: the value every request ends in, and the answer sent for a denial.

pub mod reason;
pub mod response;

pub use reason::{Reason, ReasonClass};
pub use response::{render_denial, DenyResponse};

/// What the filter decided for one request, with the facts that led there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Why.
    pub reason: Reason,
    /// Index of the matched route, if any.
    pub route: Option<usize>,
    /// The matched route's action.
    pub action: Option<String>,
    /// The provider that issued the token, once known.
    pub provider: Option<String>,
    /// `iss` of a token whose signature verified.
    pub issuer: Option<String>,
    /// `sub` of a token whose signature verified.
    pub subject: Option<String>,
    /// The scopes the route requires (filled in), reported with `insufficient_scope`.
    pub required_scopes: Vec<String>,
}

impl Decision {
    /// A decision with only a reason.
    pub fn new(reason: Reason) -> Self {
        Decision {
            reason,
            route: None,
            action: None,
            provider: None,
            issuer: None,
            subject: None,
            required_scopes: Vec::new(),
        }
    }

    /// Whether the request may go on.
    pub fn allowed(&self) -> bool {
        self.reason.class() == ReasonClass::Allow
    }
}
