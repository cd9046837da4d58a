//! The RFC 6750 answer to a denial: status, `WWW-Authenticate`, and a small JSON body.

use super::reason::ReasonClass;
use super::{Decision, Outcome};

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
    let (status, error, challenge) = match reason.class() {
        ReasonClass::Allow => return None,
        ReasonClass::MissingCredentials => (
            401,
            "unauthorized",
            Some(format!("Bearer realm=\"{realm}\"")),
        ),
        ReasonClass::InvalidToken => (
            401,
            "invalid_token",
            Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{}\"",
                reason.description()
            )),
        ),
        ReasonClass::InsufficientScope => (
            403,
            "insufficient_scope",
            Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{}\"",
                decision.scopes_required.join(" ")
            )),
        ),
        ReasonClass::Forbidden => (403, "access_denied", None),
        ReasonClass::TooLarge => (431, "request_header_fields_too_large", None),
        ReasonClass::BadRequest => (
            400,
            "invalid_request",
            Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{}\"",
                reason.description()
            )),
        ),
    };
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("cache-control", "no-store".to_string()),
    ];
    if let Some(challenge) = challenge {
        headers.push(("www-authenticate", challenge));
    }
    let body = serde_json::json!({
        "error": error,
        "reason": reason.as_str(),
        "description": reason.description(),
    })
    .to_string();
    Some(DenyResponse {
        status,
        headers,
        body,
    })
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
