//! Stable reason codes: the deny body, the decision record and metric labels all use them.

/// Why a request was allowed or denied. The string form (`as_str`) is a public, stable contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Every check passed.
    Allowed,
    /// The route is public: no token needed.
    Public,
    /// No token was presented on a protected route.
    MissingToken,
    /// The token is not a well-formed compact JWS, or was presented more than once.
    MalformedToken,
    /// The signature does not verify with the selected key.
    BadSignature,
    /// No key of the provider fits the token's `kid` / algorithm.
    UnknownKey,
    /// The token's `alg` is not allowed by the provider (or is never allowed).
    DisallowedAlgorithm,
    /// `exp` is in the past (beyond the clock skew).
    Expired,
    /// `nbf` is in the future (beyond the clock skew).
    NotYetValid,
    /// `iat` is in the future (beyond the clock skew).
    IssuedInFuture,
    /// `iss` names no provider allowed on this route.
    BadIssuer,
    /// `aud` holds none of the provider's audiences.
    BadAudience,
    /// The token lives longer than allowed, or lacks the `exp`/`iat` needed to tell.
    LifetimeExceeded,
    /// A required scope is missing.
    InsufficientScope,
    /// The subject matches none of the route's subject patterns.
    SubjectNotAllowed,
    /// A required claim is missing or has another value.
    ClaimMismatch,
    /// An explicit deny rule (`deny`) matched the request.
    DeniedByRule,
    /// No route matches the request: only declared actions exist.
    NoRoute,
    /// The provider's remote key set has never been fetched, or is too stale to trust.
    KeysUnavailable,
    /// The token was revoked (by `jti`, or its subject's tokens issued before a time).
    Revoked,
    /// A `revocation` endpoint is configured but no list has been fetched yet.
    RevocationUnavailable,
    /// The token is longer than `limits.max_token_bytes`, or the request has more headers than
    /// `limits.max_headers`: answered 431.
    HeaderTooLarge,
    /// The path uses dot-segments, encoded separators or other tricks.
    InvalidPath,
    /// A SPIFFE provider's token breaks the JWT-SVID rules (`sub` not a SPIFFE ID of the trust
    /// domain, no `kid`, a `typ` other than `JWT`/`JOSE`).
    InvalidSvid,
    /// The current actor matches none of the route's `actor.subjects` (or there is no actor).
    ActorNotAllowed,
    /// More nested actors than the route's `max_delegation_depth`.
    DelegationTooDeep,
    /// No `authorization_details` entry of the token grants the route's detail.
    AuthorizationDetailsMismatch,
    /// The route requires a transaction token and the request has none.
    MissingTransactionToken,
    /// The transaction token is not valid (format, `typ`, signature, time, audience, claims).
    InvalidTransactionToken,
    /// The transaction token's purpose (`scope`) is not one the route accepts.
    TransactionPurposeMismatch,
    /// The token is bound to another transport: `cnf.x5t#S256` or `bind_peer` does not match
    /// the mTLS peer (or the connection is plaintext).
    BindingMismatch,
    /// The token's `typ` is not the one the route requires (e.g. `at+jwt`).
    WrongTokenType,
    /// `:authority` is not `host[:port]` (userinfo, a second port, empty labels...): answered 400.
    InvalidAuthority,
    /// A header the route's requirements read (`{header.NAME}`) occurs more than once: answered
    /// 400, as the upstream could act on another copy than the one checked.
    AmbiguousHeader,
    /// The body of an MCP route is over `mcp.max_body_bytes`: answered 413.
    BodyTooLarge,
    /// The body of an MCP route is not one JSON-RPC 2.0 request or notification (not JSON,
    /// duplicate members, a batch, no `method`, a bad `jsonrpc`, `id` or `params`): 400.
    InvalidMcpRequest,
    /// `Mcp-Method` or `Mcp-Name` differs from the body's method or name: 400.
    McpHeaderMismatch,
    /// A tool, prompt or resource the route's `mcp` block does not declare.
    ToolNotAllowed,
    /// A JSON-RPC method the route's `mcp.methods` does not list.
    McpMethodNotAllowed,
    /// A tool's or prompt's `arguments` condition does not hold.
    ArgumentNotAllowed,
    /// A DPoP route (or provider, or a DPoP-scheme token) and no `DPoP` proof header: 401 with a bare `DPoP algs=...` challenge.
    DpopProofMissing,
    /// More than one `DPoP` header.
    DpopMultipleProofs,
    /// The proof is not a compact JWS with JSON parts, or lacks `htm`, `htu`, `iat`, `jti` or `ath`.
    DpopMalformedProof,
    /// The proof's `typ` is not `dpop+jwt`.
    DpopWrongType,
    /// The proof's `alg` is `none`, symmetric, or not in `dpop.algorithms`.
    DpopDisallowedAlgorithm,
    /// The proof's `jwk` is missing, private, unusable, or does not fit its `alg`.
    DpopBadKey,
    /// The proof's signature does not verify with its own `jwk`.
    DpopBadSignature,
    /// The proof's `htm` is not the request method.
    DpopMethodMismatch,
    /// The proof's `htu` is not the request URI (normalised, without query).
    DpopUrlMismatch,
    /// The proof's `iat` is outside `dpop.iat_window_seconds` of now (past or future).
    DpopStaleProof,
    /// The proof's `ath` is not the hash of the access token sent with it.
    DpopTokenHashMismatch,
    /// The token's `cnf.jkt` is not the thumbprint of the proof's key.
    DpopKeyMismatch,
    /// The proof's `jti` was used before (by any worker) within its window.
    DpopReplayed,
    /// The proof could not be recorded against replay (the cache is full of live proofs, or shared data failed): refused, fail closed.
    DpopReplayCacheFull,
    /// A DPoP-bound token (`cnf.jkt`) sent with another scheme than `DPoP`.
    DpopBoundTokenAsBearer,
    /// A token sent with the `DPoP` scheme, or on a route requiring DPoP, that is not bound to a key (no `cnf.jkt`).
    DpopTokenNotBound,
}

impl Reason {
    /// Every reason, in a fixed order (used to pre-declare metrics and in tests).
    pub const ALL: [Reason; 56] = [
        Reason::Allowed,
        Reason::Public,
        Reason::MissingToken,
        Reason::MalformedToken,
        Reason::BadSignature,
        Reason::UnknownKey,
        Reason::DisallowedAlgorithm,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::IssuedInFuture,
        Reason::BadIssuer,
        Reason::BadAudience,
        Reason::LifetimeExceeded,
        Reason::InsufficientScope,
        Reason::SubjectNotAllowed,
        Reason::ClaimMismatch,
        Reason::DeniedByRule,
        Reason::NoRoute,
        Reason::InvalidPath,
        Reason::KeysUnavailable,
        Reason::Revoked,
        Reason::RevocationUnavailable,
        Reason::HeaderTooLarge,
        Reason::InvalidSvid,
        Reason::ActorNotAllowed,
        Reason::DelegationTooDeep,
        Reason::AuthorizationDetailsMismatch,
        Reason::MissingTransactionToken,
        Reason::InvalidTransactionToken,
        Reason::TransactionPurposeMismatch,
        Reason::BindingMismatch,
        Reason::WrongTokenType,
        Reason::InvalidAuthority,
        Reason::AmbiguousHeader,
        Reason::BodyTooLarge,
        Reason::InvalidMcpRequest,
        Reason::McpHeaderMismatch,
        Reason::ToolNotAllowed,
        Reason::McpMethodNotAllowed,
        Reason::ArgumentNotAllowed,
        Reason::DpopProofMissing,
        Reason::DpopMultipleProofs,
        Reason::DpopMalformedProof,
        Reason::DpopWrongType,
        Reason::DpopDisallowedAlgorithm,
        Reason::DpopBadKey,
        Reason::DpopBadSignature,
        Reason::DpopMethodMismatch,
        Reason::DpopUrlMismatch,
        Reason::DpopStaleProof,
        Reason::DpopTokenHashMismatch,
        Reason::DpopKeyMismatch,
        Reason::DpopReplayed,
        Reason::DpopReplayCacheFull,
        Reason::DpopBoundTokenAsBearer,
        Reason::DpopTokenNotBound,
    ];

    /// The stable string code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Allowed => "allowed",
            Reason::Public => "public",
            Reason::MissingToken => "missing_token",
            Reason::MalformedToken => "malformed_token",
            Reason::BadSignature => "bad_signature",
            Reason::UnknownKey => "unknown_key",
            Reason::DisallowedAlgorithm => "disallowed_algorithm",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::IssuedInFuture => "issued_in_future",
            Reason::BadIssuer => "bad_issuer",
            Reason::BadAudience => "bad_audience",
            Reason::LifetimeExceeded => "lifetime_exceeded",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::SubjectNotAllowed => "subject_not_allowed",
            Reason::ClaimMismatch => "claim_mismatch",
            Reason::DeniedByRule => "denied_by_rule",
            Reason::NoRoute => "no_route",
            Reason::InvalidPath => "invalid_path",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::Revoked => "revoked",
            Reason::RevocationUnavailable => "revocation_unavailable",
            Reason::HeaderTooLarge => "header_too_large",
            Reason::InvalidSvid => "invalid_svid",
            Reason::ActorNotAllowed => "actor_not_allowed",
            Reason::DelegationTooDeep => "delegation_too_deep",
            Reason::AuthorizationDetailsMismatch => "authorization_details_mismatch",
            Reason::MissingTransactionToken => "missing_transaction_token",
            Reason::InvalidTransactionToken => "invalid_transaction_token",
            Reason::TransactionPurposeMismatch => "transaction_purpose_mismatch",
            Reason::BindingMismatch => "binding_mismatch",
            Reason::WrongTokenType => "wrong_token_type",
            Reason::InvalidAuthority => "invalid_authority",
            Reason::AmbiguousHeader => "ambiguous_header",
            Reason::BodyTooLarge => "body_too_large",
            Reason::InvalidMcpRequest => "invalid_mcp_request",
            Reason::McpHeaderMismatch => "mcp_header_mismatch",
            Reason::ToolNotAllowed => "tool_not_allowed",
            Reason::McpMethodNotAllowed => "mcp_method_not_allowed",
            Reason::ArgumentNotAllowed => "argument_not_allowed",
            Reason::DpopProofMissing => "dpop_proof_missing",
            Reason::DpopMultipleProofs => "dpop_multiple_proofs",
            Reason::DpopMalformedProof => "dpop_malformed_proof",
            Reason::DpopWrongType => "dpop_wrong_type",
            Reason::DpopDisallowedAlgorithm => "dpop_disallowed_algorithm",
            Reason::DpopBadKey => "dpop_bad_key",
            Reason::DpopBadSignature => "dpop_bad_signature",
            Reason::DpopMethodMismatch => "dpop_method_mismatch",
            Reason::DpopUrlMismatch => "dpop_url_mismatch",
            Reason::DpopStaleProof => "dpop_stale_proof",
            Reason::DpopTokenHashMismatch => "dpop_token_hash_mismatch",
            Reason::DpopKeyMismatch => "dpop_key_mismatch",
            Reason::DpopReplayed => "dpop_replayed",
            Reason::DpopReplayCacheFull => "dpop_replay_cache_full",
            Reason::DpopBoundTokenAsBearer => "dpop_bound_token_as_bearer",
            Reason::DpopTokenNotBound => "dpop_token_not_bound",
        }
    }

    /// The RFC 6750 class of this reason, which decides the status and `WWW-Authenticate`.
    pub fn class(self) -> ReasonClass {
        match self {
            Reason::Allowed | Reason::Public => ReasonClass::Allow,
            Reason::MissingToken => ReasonClass::MissingCredentials,
            Reason::MalformedToken
            | Reason::BadSignature
            | Reason::UnknownKey
            | Reason::DisallowedAlgorithm
            | Reason::Expired
            | Reason::NotYetValid
            | Reason::IssuedInFuture
            | Reason::BadIssuer
            | Reason::BadAudience
            | Reason::LifetimeExceeded
            | Reason::KeysUnavailable
            | Reason::Revoked
            | Reason::RevocationUnavailable
            | Reason::InvalidSvid
            | Reason::MissingTransactionToken
            | Reason::InvalidTransactionToken
            | Reason::BindingMismatch
            | Reason::WrongTokenType => ReasonClass::InvalidToken,
            Reason::InsufficientScope => ReasonClass::InsufficientScope,
            Reason::SubjectNotAllowed
            | Reason::DeniedByRule
            | Reason::ClaimMismatch
            | Reason::NoRoute
            | Reason::InvalidPath
            | Reason::ActorNotAllowed
            | Reason::DelegationTooDeep
            | Reason::AuthorizationDetailsMismatch
            | Reason::TransactionPurposeMismatch
            | Reason::ToolNotAllowed
            | Reason::McpMethodNotAllowed
            | Reason::ArgumentNotAllowed => ReasonClass::Forbidden,
            Reason::HeaderTooLarge => ReasonClass::TooLarge,
            Reason::BodyTooLarge => ReasonClass::BodyTooLarge,
            Reason::InvalidAuthority
            | Reason::AmbiguousHeader
            | Reason::InvalidMcpRequest
            | Reason::McpHeaderMismatch => ReasonClass::BadRequest,
            Reason::DpopProofMissing => ReasonClass::DpopMissing,
            Reason::DpopMultipleProofs
            | Reason::DpopMalformedProof
            | Reason::DpopWrongType
            | Reason::DpopDisallowedAlgorithm
            | Reason::DpopBadKey
            | Reason::DpopBadSignature
            | Reason::DpopMethodMismatch
            | Reason::DpopUrlMismatch
            | Reason::DpopStaleProof
            | Reason::DpopTokenHashMismatch
            | Reason::DpopKeyMismatch
            | Reason::DpopReplayed
            | Reason::DpopReplayCacheFull => ReasonClass::InvalidDpopProof,
            Reason::DpopBoundTokenAsBearer | Reason::DpopTokenNotBound => {
                ReasonClass::DpopInvalidToken
            }
        }
    }

    /// A short human description, safe to send to a client (it never holds request data).
    pub fn description(self) -> &'static str {
        match self {
            Reason::Allowed => "the request is allowed",
            Reason::Public => "the route is public",
            Reason::MissingToken => "a bearer token is required",
            Reason::MalformedToken => "the token is malformed",
            Reason::BadSignature => "the token signature is invalid",
            Reason::UnknownKey => "the token was signed with an unknown key",
            Reason::DisallowedAlgorithm => "the token algorithm is not allowed",
            Reason::Expired => "the token is expired",
            Reason::NotYetValid => "the token is not valid yet",
            Reason::IssuedInFuture => "the token was issued in the future",
            Reason::BadIssuer => "the token issuer is not accepted here",
            Reason::BadAudience => "the token audience is not accepted here",
            Reason::LifetimeExceeded => "the token lifetime exceeds the allowed maximum",
            Reason::InsufficientScope => "the token lacks a required scope",
            Reason::SubjectNotAllowed => "the token subject is not allowed on this route",
            Reason::ClaimMismatch => "a required claim does not match",
            Reason::DeniedByRule => "an explicit deny rule matches this request",
            Reason::NoRoute => "no route declares this request",
            Reason::InvalidPath => "the request path is not acceptable",
            Reason::KeysUnavailable => "the keys to verify the token are unavailable",
            Reason::Revoked => "the token has been revoked",
            Reason::RevocationUnavailable => "the revocation list is not available yet",
            Reason::HeaderTooLarge => "the token or the request headers are too large",
            Reason::InvalidSvid => "the token is not a valid JWT-SVID for this trust domain",
            Reason::ActorNotAllowed => "the acting party is not allowed on this route",
            Reason::DelegationTooDeep => "the delegation chain is too long for this route",
            Reason::AuthorizationDetailsMismatch => {
                "no authorization detail of the token grants this request"
            }
            Reason::MissingTransactionToken => "a transaction token is required",
            Reason::InvalidTransactionToken => "the transaction token is invalid",
            Reason::TransactionPurposeMismatch => {
                "the transaction purpose is not accepted on this route"
            }
            Reason::BindingMismatch => "the token is bound to another client",
            Reason::WrongTokenType => "the token type is not accepted on this route",
            Reason::InvalidAuthority => "the request authority (host) is malformed",
            Reason::AmbiguousHeader => "a header this route reads is repeated",
            Reason::BodyTooLarge => "the request body is too large",
            Reason::InvalidMcpRequest => "the body is not one JSON-RPC 2.0 request or notification",
            Reason::McpHeaderMismatch => "the MCP headers do not match the request body",
            Reason::ToolNotAllowed => "this tool, resource or prompt is not allowed here",
            Reason::McpMethodNotAllowed => "this MCP method is not allowed here",
            Reason::ArgumentNotAllowed => "an argument of this call is not allowed",
            Reason::DpopProofMissing => "a DPoP proof is required",
            Reason::DpopMultipleProofs => "exactly one DPoP proof is allowed",
            Reason::DpopMalformedProof => "the DPoP proof is malformed",
            Reason::DpopWrongType => "the DPoP proof type is not dpop+jwt",
            Reason::DpopDisallowedAlgorithm => "the DPoP proof algorithm is not allowed",
            Reason::DpopBadKey => "the DPoP proof key is missing or not a public key",
            Reason::DpopBadSignature => "the DPoP proof signature is invalid",
            Reason::DpopMethodMismatch => "the DPoP proof is for another method",
            Reason::DpopUrlMismatch => "the DPoP proof is for another URL",
            Reason::DpopStaleProof => "the DPoP proof is too old or too far in the future",
            Reason::DpopTokenHashMismatch => "the DPoP proof is for another access token",
            Reason::DpopKeyMismatch => "the DPoP proof key is not the key the token is bound to",
            Reason::DpopReplayed => "the DPoP proof was already used",
            Reason::DpopReplayCacheFull => {
                "the DPoP proof could not be recorded; retry with a new proof"
            }
            Reason::DpopBoundTokenAsBearer => {
                "a DPoP-bound token must be sent with the DPoP scheme"
            }
            Reason::DpopTokenNotBound => "the token is not bound to a DPoP key",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a reason is answered (RFC 6750 section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonClass {
    /// The request goes on.
    Allow,
    /// 401 with a bare `Bearer realm=...` challenge.
    MissingCredentials,
    /// 401 with `error="invalid_token"`.
    InvalidToken,
    /// 403 with `error="insufficient_scope"` and the required scopes.
    InsufficientScope,
    /// 403 without a challenge.
    Forbidden,
    /// 431: a header (the token) or the header count is over a limit.
    TooLarge,
    /// 413: the body of an MCP route is over its limit.
    BodyTooLarge,
    /// 400 with `error="invalid_request"`: the request itself cannot be read one way.
    BadRequest,
    /// 401 with a bare `DPoP algs="..."` challenge (RFC 9449 section 7.1): a proof is needed.
    DpopMissing,
    /// 401 with `DPoP error="invalid_dpop_proof"` (RFC 9449 section 7.1).
    InvalidDpopProof,
    /// 401 with `DPoP error="invalid_token"`: the token is used against its DPoP binding.
    DpopInvalidToken,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for reason in Reason::ALL {
            let code = reason.as_str();
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    #[test]
    fn classes_follow_rfc6750() {
        assert_eq!(
            Reason::MissingToken.class(),
            ReasonClass::MissingCredentials
        );
        assert_eq!(Reason::Expired.class(), ReasonClass::InvalidToken);
        assert_eq!(
            Reason::InsufficientScope.class(),
            ReasonClass::InsufficientScope
        );
        assert_eq!(Reason::NoRoute.class(), ReasonClass::Forbidden);
        assert_eq!(Reason::Allowed.class(), ReasonClass::Allow);
    }
}
