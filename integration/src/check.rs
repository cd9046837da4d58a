//! Expectation tables: run many requests against one Envoy, collect every mismatch, and fail
//! once with a readable list.

use std::fmt::Write as _;

use crate::envoy::Envoy;
use crate::http::{Request, Response};

/// The stable denial reasons of the filter's contract.
pub const REASONS: &[&str] = &[
    "missing_token",
    "malformed_token",
    "bad_signature",
    "unknown_key",
    "disallowed_algorithm",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "bad_issuer",
    "bad_audience",
    "lifetime_exceeded",
    "insufficient_scope",
    "subject_not_allowed",
    "claim_mismatch",
    "no_route",
    "invalid_path",
];

/// What a request must produce.
#[derive(Debug, Clone)]
pub enum Expect {
    /// 200 from the echo upstream (which must have received the request).
    Allow,
    /// 401, reason `missing_token`, `WWW-Authenticate: Bearer realm="<realm>"` without `error=`.
    MissingToken,
    /// 401, given reason, WWW-Authenticate with `error="invalid_token"`.
    InvalidToken(&'static str),
    /// 403, reason `insufficient_scope`, WWW-Authenticate with `error="insufficient_scope"` and
    /// `scope="<scopes>"` (not checked when empty).
    InsufficientScope(&'static str),
    /// 403 with the given reason (subject_not_allowed, claim_mismatch, no_route, invalid_path).
    Forbidden(&'static str),
    /// Denied with 401 or 403 and any reason of the contract (for cases the contract leaves
    /// open); the upstream must not be reached.
    Denied,
}

/// Collects mismatches for one Envoy.
pub struct Checker<'a> {
    pub envoy: &'a Envoy,
    pub realm: String,
    failures: Vec<String>,
    passed: usize,
}

impl<'a> Checker<'a> {
    pub fn new(envoy: &'a Envoy, realm: &str) -> Checker<'a> {
        Checker {
            envoy,
            realm: realm.to_string(),
            failures: Vec::new(),
            passed: 0,
        }
    }

    /// Sends `req` and checks the response against `expect`. Returns the response (if any).
    pub fn case(&mut self, name: &str, req: Request, expect: Expect) -> Option<Response> {
        let before = self.envoy.upstream.count();
        let resp = match self.envoy.send(&req) {
            Ok(r) => r,
            Err(e) => {
                self.failures.push(format!(
                    "[{name}] {req}\n    expected {expect:?}\n    got I/O error: {e}"
                ));
                return None;
            }
        };
        let reached = self.envoy.upstream.count() > before;
        let problems = self.problems(&req, &resp, &expect, reached);
        if problems.is_empty() {
            self.passed += 1;
        } else {
            let mut msg = format!(
                "[{name}] {req}\n    expected {expect:?}\n    got {}",
                summary(&resp)
            );
            for p in problems {
                let _ = write!(msg, "\n    - {p}");
            }
            self.failures.push(msg);
        }
        Some(resp)
    }

    /// Records a free-form failure.
    pub fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    fn problems(
        &self,
        req: &Request,
        resp: &Response,
        expect: &Expect,
        reached: bool,
    ) -> Vec<String> {
        let mut p = Vec::new();
        let www = resp.www_authenticate();
        let realm_prefix = format!("Bearer realm=\"{}\"", self.realm);
        let reason = resp.reason();
        let check_denied = |p: &mut Vec<String>, status: &[u16], want_reason: Option<&str>| {
            if !status.contains(&resp.status) {
                p.push(format!("status {} not in {status:?}", resp.status));
            }
            if reached {
                p.push("request reached the upstream".into());
            }
            if resp.header("x-echo").is_some() {
                p.push("response came from the upstream".into());
            }
            match (&reason, want_reason) {
                (None, _) => p.push(format!(
                    "body has no JSON \"reason\": {:?}",
                    resp.body_str()
                )),
                (Some(r), Some(w)) if r != w => p.push(format!("reason {r:?}, expected {w:?}")),
                (Some(r), None) if !REASONS.contains(&r.as_str()) => {
                    p.push(format!("reason {r:?} is not one of the contract's reasons"))
                }
                _ => {}
            }
            // The body must never echo the token.
            for (name, value) in &req.headers {
                if name.eq_ignore_ascii_case("host") {
                    continue;
                }
                let token = value.rsplit(' ').next().unwrap_or(value);
                if token.len() > 8 && resp.body_str().contains(token) {
                    p.push("body contains the token".into());
                }
                for part in token.split('.') {
                    if part.len() > 16 && resp.body_str().contains(part) {
                        p.push("body contains a part of the token".into());
                    }
                }
            }
        };
        match expect {
            Expect::Allow => {
                if resp.status != 200 {
                    p.push(format!("status {} != 200", resp.status));
                }
                if !reached {
                    p.push("upstream did not receive the request".into());
                }
                if resp.header("x-echo") != Some("upstream") {
                    p.push("response lacks x-echo: upstream".into());
                }
            }
            Expect::MissingToken => {
                check_denied(&mut p, &[401], Some("missing_token"));
                match www {
                    None => p.push("no WWW-Authenticate".into()),
                    Some(w) => {
                        if !w.starts_with(&realm_prefix) {
                            p.push(format!(
                                "WWW-Authenticate {w:?} does not start with {realm_prefix:?}"
                            ));
                        }
                        if w.contains("error=") {
                            p.push(format!("WWW-Authenticate {w:?} has an error attribute"));
                        }
                    }
                }
            }
            Expect::InvalidToken(r) => {
                check_denied(&mut p, &[401], Some(r));
                match www {
                    None => p.push("no WWW-Authenticate".into()),
                    Some(w) => {
                        if !w.starts_with(&realm_prefix) {
                            p.push(format!(
                                "WWW-Authenticate {w:?} does not start with {realm_prefix:?}"
                            ));
                        }
                        if !w.contains("error=\"invalid_token\"") {
                            p.push(format!(
                                "WWW-Authenticate {w:?} lacks error=\"invalid_token\""
                            ));
                        }
                    }
                }
            }
            Expect::InsufficientScope(scopes) => {
                check_denied(&mut p, &[403], Some("insufficient_scope"));
                match www {
                    None => p.push("no WWW-Authenticate".into()),
                    Some(w) => {
                        if !w.starts_with(&realm_prefix) {
                            p.push(format!(
                                "WWW-Authenticate {w:?} does not start with {realm_prefix:?}"
                            ));
                        }
                        if !w.contains("error=\"insufficient_scope\"") {
                            p.push(format!(
                                "WWW-Authenticate {w:?} lacks error=\"insufficient_scope\""
                            ));
                        }
                        let want = format!("scope=\"{scopes}\"");
                        if !scopes.is_empty() && !w.contains(&want) {
                            p.push(format!("WWW-Authenticate {w:?} lacks {want}"));
                        }
                    }
                }
            }
            Expect::Forbidden(r) => {
                check_denied(&mut p, &[403], Some(r));
                if let Some(w) = www {
                    if w.contains("error=\"invalid_token\"") {
                        p.push(format!(
                            "403 with WWW-Authenticate {w:?} (invalid_token is a 401)"
                        ));
                    }
                }
            }
            Expect::Denied => check_denied(&mut p, &[401, 403], None),
        }
        p
    }

    /// Panics with every mismatch (and Envoy's log tail) if any case failed.
    pub fn finish(self) {
        if self.failures.is_empty() {
            eprintln!("all {} cases passed", self.passed);
            return;
        }
        let mut msg = format!(
            "{} of {} cases failed:\n\n{}\n",
            self.failures.len(),
            self.failures.len() + self.passed,
            self.failures.join("\n\n")
        );
        let _ = write!(msg, "\n--- Envoy log tail ---\n{}", self.envoy.log_tail(40));
        panic!("{msg}");
    }
}

fn summary(resp: &Response) -> String {
    let body = resp.body_str();
    let body = if body.len() > 300 {
        format!(
            "{}…",
            &body[..body.char_indices().nth(300).map_or(body.len(), |(i, _)| i)]
        )
    } else {
        body
    };
    format!(
        "{} www-authenticate={:?} body={:?}",
        resp.status,
        resp.www_authenticate(),
        body
    )
}

/// Starts Envoy or panics with a readable message.
pub fn start_envoy(policy: &str) -> Envoy {
    match Envoy::start(policy) {
        Ok(e) => e,
        Err(e) => panic!("Envoy failed to start with policy:\n{policy}\n\n{e}"),
    }
}
