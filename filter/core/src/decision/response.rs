//! The RFC 6750 answer to a denial: status, `WWW-Authenticate`, and a small JSON body.

use super::reason::{Reason, ReasonClass};
use super::{Decision, McpFacts, Outcome};

/// A local reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyResponse {
    /// HTTP status.
    pub status: u32,
    /// Headers to send.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: String,
}

/// The answer for a denied decision; `None` when the request goes on (allowed, public, shadow).
pub fn render_denial(decision: &Decision, realm: &str) -> Option<DenyResponse> {
    if decision.outcome != Outcome::Deny {
        return None;
    }
    let reason = decision.reason;
    // A DPoP route, or a request that used the DPoP scheme, is challenged with `DPoP` and the
    // accepted proof algorithms (RFC 9449 section 7.1).
    let dpop = decision.dpop.as_deref();
    let scheme = if dpop.is_some() { "DPoP" } else { "Bearer" };
    let algs = dpop.map_or(String::new(), |d| format!(", algs=\"{}\"", d.algs));
    let token_error = |error: &str| {
        format!(
            "{scheme} realm=\"{realm}\", error=\"{error}\", error_description=\"{}\"{algs}",
            reason.description()
        )
    };
    let (status, error, challenge) = match reason.class() {
        ReasonClass::Allow => return None,
        ReasonClass::MissingCredentials | ReasonClass::DpopMissing => (
            401,
            "unauthorized",
            Some(format!("{scheme} realm=\"{realm}\"{algs}")),
        ),
        ReasonClass::InvalidToken | ReasonClass::DpopInvalidToken => {
            (401, "invalid_token", Some(token_error("invalid_token")))
        }
        ReasonClass::InvalidDpopProof => (
            401,
            "invalid_dpop_proof",
            Some(token_error("invalid_dpop_proof")),
        ),
        ReasonClass::InsufficientScope => (
            403,
            "insufficient_scope",
            Some(format!(
                "{scheme} realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{}\"{algs}",
                decision.scopes_required.join(" ")
            )),
        ),
        ReasonClass::Forbidden => (403, "access_denied", None),
        ReasonClass::TooLarge => (431, "request_header_fields_too_large", None),
        ReasonClass::BodyTooLarge => (413, "payload_too_large", None),
        ReasonClass::BadRequest => (
            400,
            "invalid_request",
            Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{}\"",
                reason.description()
            )),
        ),
    };
    let mcp = decision.mcp.as_deref();
    let challenge = match (challenge, mcp) {
        (Some(challenge), Some(mcp)) if status == 401 || error == "insufficient_scope" => {
            Some(format!(
                "{challenge}, resource_metadata=\"{}\"",
                mcp.resource_metadata
            ))
        }
        (challenge, _) => challenge,
    };
    let mut headers = vec![("cache-control", "no-store".to_string())];
    if let Some(challenge) = challenge {
        headers.push(("www-authenticate", challenge));
    }
    let body = match mcp {
        Some(mcp) if mcp.parsed && mcp.id.is_none() => String::new(),
        Some(mcp)
            if mcp.parsed
                || matches!(reason.class(), ReasonClass::BodyTooLarge)
                || reason == Reason::InvalidMcpRequest =>
        {
            json_rpc_error(mcp, reason, status)
        }
        _ => serde_json::json!({
            "error": error,
            "reason": reason.as_str(),
            "description": reason.description(),
        })
        .to_string(),
    };
    if !body.is_empty() {
        headers.insert(0, ("content-type", "application/json".to_string()));
    }
    Some(DenyResponse {
        status,
        headers,
        body,
    })
}

/// A JSON-RPC 2.0 error answer for a denied MCP message: the request's `id` (`null` when the
/// body could not be read as one message), never its arguments.
fn json_rpc_error(mcp: &McpFacts, reason: Reason, status: u32) -> String {
    let code = match status {
        400 | 413 => -32600,
        _ => -32001,
    };
    let id = mcp.id.as_deref().unwrap_or("null");
    format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{}}}",
        serde_json::json!({
            "code": code,
            "message": reason.description(),
            "data": { "reason": reason.as_str(), "status": status },
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Mode;
    use crate::decision::Reason;

    fn denied(reason: Reason) -> Decision {
        Decision::new(reason, Mode::Enforce)
    }

    fn header<'a>(r: &'a DenyResponse, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn missing_token_has_a_bare_challenge() {
        let r = render_denial(&denied(Reason::MissingToken), "orders-api").unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(
            header(&r, "www-authenticate"),
            Some("Bearer realm=\"orders-api\"")
        );
        assert!(r.body.contains("\"reason\":\"missing_token\""));
    }

    #[test]
    fn invalid_token_and_scope_answers() {
        let r = render_denial(&denied(Reason::Expired), "r").unwrap();
        assert_eq!(r.status, 401);
        assert!(header(&r, "www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
        let mut d = denied(Reason::InsufficientScope);
        d.scopes_required = vec!["a".into(), "b:c".into()];
        let r = render_denial(&d, "r").unwrap();
        assert_eq!(r.status, 403);
        assert_eq!(
            header(&r, "www-authenticate"),
            Some("Bearer realm=\"r\", error=\"insufficient_scope\", scope=\"a b:c\"")
        );
    }

    #[test]
    fn malformed_requests_are_invalid_request() {
        for reason in [Reason::InvalidAuthority, Reason::AmbiguousHeader] {
            let r = render_denial(&denied(reason), "r").unwrap();
            assert_eq!(r.status, 400);
            let challenge = header(&r, "www-authenticate").unwrap();
            assert!(
                challenge.contains("error=\"invalid_request\""),
                "{challenge}"
            );
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(body["error"], "invalid_request");
            assert_eq!(body["reason"], reason.as_str());
        }
    }

    #[test]
    fn forbidden_has_no_challenge_and_allow_no_answer() {
        let r = render_denial(&denied(Reason::NoRoute), "r").unwrap();
        assert_eq!(r.status, 403);
        assert_eq!(header(&r, "www-authenticate"), None);
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["reason"], "no_route");
        assert!(render_denial(&denied(Reason::Allowed), "r").is_none());
        assert!(render_denial(&Decision::new(Reason::Expired, Mode::Shadow), "r").is_none());
    }
}
