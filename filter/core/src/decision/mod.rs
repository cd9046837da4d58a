//! Decisions: the value every request ends in, and the answer sent for a denial.

pub mod mode;
pub mod reason;
pub mod response;
pub mod trace;

pub use reason::{Reason, ReasonClass};
pub use response::{render_denial, DenyResponse};
pub use trace::{Step, Trace};

pub use mode::Mode;

use crate::config::RouteId;

/// What happens to the request, as recorded in `workload_authz.decision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every check passed (enforce mode).
    Allow,
    /// A check failed (enforce mode): the request is answered by the filter.
    Deny,
    /// Every check passed (shadow mode).
    ShadowAllow,
    /// A check failed, but shadow mode lets the request go on.
    ShadowDeny,
    /// A public route: no token needed.
    Public,
}

impl Outcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [Outcome; 5] = [
        Outcome::Allow,
        Outcome::Deny,
        Outcome::ShadowAllow,
        Outcome::ShadowDeny,
        Outcome::Public,
    ];

    /// The outcome of its stable string form (`shadow_deny`).
    pub fn parse(word: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == word)
    }

    /// The outcome for `reason` under `mode`.
    pub fn of(reason: Reason, mode: Mode) -> Outcome {
        match (reason, mode) {
            (Reason::Public, _) => Outcome::Public,
            (Reason::Allowed, Mode::Enforce) => Outcome::Allow,
            (Reason::Allowed, Mode::Shadow) => Outcome::ShadowAllow,
            (_, Mode::Enforce) => Outcome::Deny,
            (_, Mode::Shadow) => Outcome::ShadowDeny,
        }
    }

    /// The stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::ShadowAllow => "shadow_allow",
            Outcome::ShadowDeny => "shadow_deny",
            Outcome::Public => "public",
        }
    }

    /// Whether the request goes on to the upstream.
    pub fn proceeds(self) -> bool {
        self != Outcome::Deny
    }
}

/// What the filter decided for one request, with the facts that led there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Why.
    pub reason: Reason,
    /// What happens to the request.
    pub outcome: Outcome,
    /// The mode that applied (the route's, else the policy's).
    pub mode: Mode,
    /// The matched route, if any.
    pub route: Option<RouteId>,
    /// The matched route's action.
    pub action: Option<String>,
    /// The provider whose issuer the token names, once known.
    pub provider: Option<String>,
    /// `iss` of a token whose signature verified.
    pub issuer: Option<String>,
    /// `sub` of a token whose signature verified.
    pub subject: Option<String>,
    /// `jti` of a verified token, else `sha256:` and 16 hex digits of the token's hash.
    pub token_id: Option<String>,
    /// Seconds until `exp` of a verified token.
    pub token_ttl_remaining: Option<u64>,
    /// The verdict on the token itself (`Allowed` when it is valid), when one was examined.
    pub token_result: Option<Reason>,
    /// Scopes the verified token grants.
    pub scopes_granted: Vec<String>,
    /// Scopes the route requires (templates filled in; `scopes` then `scopes_any`).
    pub scopes_required: Vec<String>,
    /// Granted scopes this action did not need: the least-privilege signal.
    pub scopes_unused: Vec<String>,
    /// Headers to set on the request forwarded upstream (claims and identity).
    pub upstream_headers: Vec<(String, String)>,
    /// A header to remove before forwarding (the token's, for providers with `forward: false`).
    pub drop_header: Option<String>,
    /// The delegation chain of a verified token: the current actor first.
    pub actor_chain: Vec<String>,
    /// `txn` of a verified transaction token: follows one business transaction across hops.
    pub txn: Option<String>,
    /// On an MCP route: what the message asks (method, name, arguments digest) and how a
    /// denial is answered (`resource_metadata`, the JSON-RPC `id`).
    pub mcp: Option<Box<McpFacts>>,
    /// On an MCP route judged before its body: the body must be read (at most this many bytes)
    /// and the request judged again with it. The decision is `invalid_mcp_request` meanwhile,
    /// so a host that ignores this field refuses the request.
    pub awaiting_body: Option<usize>,
    /// On a DPoP route, or once the request used the `DPoP` scheme: what challenges name and
    /// whether a proof was checked.
    pub dpop: Option<Box<DpopFacts>>,
    /// What an operator needs to fix a refusal, in a few words (the filter's debug log line:
    /// `unknown_key` names the token's `kid` and the provider's; never a claim value or token).
    pub hint: Option<String>,
    /// The name of the deny rule that refused the request (`denied_by_rule`).
    pub deny_rule: Option<String>,
}

/// What a decision knows of DPoP (RFC 9449).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DpopFacts {
    /// The proof algorithms accepted, space-separated: `algs` of the `DPoP` challenge.
    pub algs: String,
    /// A proof was checked (each is used once: such a decision is never memoised).
    pub proof_checked: bool,
    /// The RFC 7638 thumbprint of a verified proof's key (the token's `cnf.jkt`).
    pub jkt: Option<String>,
}

/// What an MCP route's decision knows of the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McpFacts {
    /// The RFC 9728 metadata URL, sent as `resource_metadata` in challenges.
    pub resource_metadata: String,
    /// Whether a message was read (denials of a message get a JSON-RPC error body).
    pub parsed: bool,
    /// `method`.
    pub method: Option<String>,
    /// `params.name` or `params.uri`.
    pub name: Option<String>,
    /// `sha256:` and 16 hex digits of `params.arguments` (never the arguments themselves).
    pub arguments_digest: Option<String>,
    /// The JSON text of the request `id`; `None` for a notification.
    pub id: Option<String>,
    /// The tool label for counters: a declared name, `other` for anything else.
    pub tool_label: Option<String>,
    /// For an allowed `tools/list`: the declared tools this caller may call (their rules'
    /// requirements hold; `arguments` are judged per call). The answer is cut to these.
    pub visible_tools: Option<Vec<String>>,
}

impl Decision {
    /// A decision with only a reason, under `mode`.
    pub fn new(reason: Reason, mode: Mode) -> Self {
        Decision {
            reason,
            outcome: Outcome::of(reason, mode),
            mode,
            route: None,
            action: None,
            provider: None,
            issuer: None,
            subject: None,
            token_id: None,
            token_ttl_remaining: None,
            token_result: None,
            scopes_granted: Vec::new(),
            scopes_required: Vec::new(),
            scopes_unused: Vec::new(),
            upstream_headers: Vec::new(),
            drop_header: None,
            actor_chain: Vec::new(),
            txn: None,
            mcp: None,
            awaiting_body: None,
            dpop: None,
            hint: None,
            deny_rule: None,
        }
    }

    /// Sets the final reason (and so the outcome).
    pub fn conclude(&mut self, reason: Reason) {
        self.reason = reason;
        self.outcome = Outcome::of(reason, self.mode);
    }

    /// Whether the request goes on to the upstream.
    pub fn proceeds(&self) -> bool {
        self.outcome.proceeds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_reason_and_mode() {
        assert_eq!(Outcome::of(Reason::Allowed, Mode::Enforce), Outcome::Allow);
        assert_eq!(Outcome::of(Reason::Expired, Mode::Enforce), Outcome::Deny);
        assert_eq!(
            Outcome::of(Reason::Allowed, Mode::Shadow),
            Outcome::ShadowAllow
        );
        assert_eq!(
            Outcome::of(Reason::Expired, Mode::Shadow),
            Outcome::ShadowDeny
        );
        assert_eq!(Outcome::of(Reason::Public, Mode::Shadow), Outcome::Public);
        assert!(!Outcome::Deny.proceeds());
        assert!(Outcome::ShadowDeny.proceeds());
    }
}
