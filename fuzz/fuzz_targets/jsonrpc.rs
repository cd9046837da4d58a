//! The MCP stage over arbitrary request bodies: `mcp::message::parse` on the raw bytes, then
//! `decide_with_body` / `explain_with_body` of a `POST /mcp` on a fixed MCP route (an `mcp`
//! block with methods, tools, a resource template, a prompt, argument conditions, a 2 KiB body
//! limit) with the bytes as the body, for three callers that always pass the route's token
//! checks: a crafted token with `crm:read crm:admin` (tenant `acme`) and one with `crm:read`
//! only (tenant `globex`), both under the accept-all verifier, and the genuinely signed demo
//! token (orders scopes only) under the real verifier (each verified once, at start-up, and
//! judged from that warm cache). Each caller is judged without MCP headers; the first is judged
//! again with `Mcp-Method` / `Mcp-Name` headers derived from the body (the body's own values
//! plainly or `=?base64?...?=`-encoded, fixed literals, or one header twice), picked by a
//! hash of the input.
//!
//! Checked for every input:
//! * nothing panics;
//! * `decide_with_body` and `explain_with_body(.., Some(body), ..)` return the same decision;
//! * the reason is one a reference model of this route computes from the body, the headers and
//!   the caller's claims (size, parse, headers against the body, the rule the method / name /
//!   URI selects, its claims, scopes and arguments), which is always one of the route's MCP
//!   reasons, `ambiguous_header` (a header twice) or `allowed`;
//! * a body that does not parse is `invalid_mcp_request` (or `body_too_large`); an `allowed`
//!   body parsed, its method is declared, and the decision's MCP facts name it;
//! * a message that parses reads the same with plain `serde_json` (method, id, target,
//!   arguments), and re-serialised by `serde_json`, or wrapped in JSON whitespace, it gets the
//!   same decision (when it still fits the limit);
//! * at header time (no body) the route asks for the body: `invalid_mcp_request` with
//!   `awaiting_body` set to the limit.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use workload_authz_core::mcp::message::{parse, Message, MessageError, TargetKind};
use workload_authz_core::mcp::UriPattern;
use workload_authz_core::{
    compile, decide_in, decide_with_body, explain_with_body, Decision, GuestVerifier, NoConnection,
    Policy, Reason, RequestView, RouteId, RuntimeState, SignatureVerifier,
};
use workload_authz_fuzz::{
    template, AcceptAll, EncodingEdit, FJson, Key, MemberEdit, SigEdit, TokenRecipe, DEMO_JWKS, NOW,
};

/// The route's `mcp.max_body_bytes`: below libFuzzer's default `-max_len` (4096), so that
/// `body_too_large` is reachable.
const MAX_BODY: usize = 2048;

/// The resource template of the route.
const RESOURCE_URI: &str = "crm://customers/{tenant}/**";

/// The `sub` of the demo template (every caller's token keeps it).
const SUB: &str = "spiffe://prod.example/ns/a/sa/b";

/// Every reason this route can give a caller whose token passes the route's checks.
const ROUTE_REASONS: &[Reason] = &[
    Reason::Allowed,
    Reason::BodyTooLarge,
    Reason::InvalidMcpRequest,
    Reason::McpHeaderMismatch,
    Reason::ToolNotAllowed,
    Reason::McpMethodNotAllowed,
    Reason::ClaimMismatch,
    Reason::InsufficientScope,
    Reason::ArgumentNotAllowed,
    // An MCP header sent twice (the route reads `mcp-method` and `mcp-name` once).
    Reason::AmbiguousHeader,
];

/// The fixed policy: one provider (the demo key) and the MCP route.
fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let text = json!({
            "mode": "enforce",
            "realm": "fuzz-mcp",
            "providers": {
                "agents": {
                    "issuer": "https://issuer.prod.example",
                    "audiences": ["orders"],
                    "local_jwks": { "inline_string": DEMO_JWKS },
                    "algorithms": ["ES256"]
                }
            },
            "routes": [
                { "action": "crm.mcp",
                  "match": { "path": "/mcp", "methods": ["POST"] },
                  "require": { "providers": ["agents"] },
                  "mcp": {
                      "resource": "https://crm.example/mcp",
                      "max_body_bytes": MAX_BODY,
                      "methods": { "initialize": {}, "ping": {}, "tools/list": {} },
                      "tools": {
                          "search_customers": { "scopes": ["crm:read"] },
                          "delete_customer": { "scopes": ["crm:admin"],
                                               "arguments": { "region": ["eu", "us"], "who": "{claim.sub}" } }
                      },
                      "resources": [
                          { "uri": RESOURCE_URI, "scopes": ["crm:read"], "claims": { "tenant": "{tenant}" } }
                      ],
                      "prompts": { "summarize": {} }
                  } }
            ]
        })
        .to_string();
        match compile(&text) {
            Ok(p) => p,
            Err(e) => panic!("fixture MCP policy refused: {e:?}\n{text}"),
        }
    })
}

/// The route's resource template, for the model.
fn resource_pattern() -> &'static UriPattern {
    static PATTERN: OnceLock<UriPattern> = OnceLock::new();
    PATTERN.get_or_init(|| match UriPattern::compile(RESOURCE_URI) {
        Ok(p) => p,
        Err(e) => panic!("fixture resource template refused: {e}"),
    })
}

/// One caller: its token, the verifier it is judged with, and the claims the model reads.
struct Caller {
    name: &'static str,
    token: String,
    genuine: bool,
    scopes: &'static [&'static str],
    tenant: &'static str,
}

/// The demo template with `scope` and `tenant` replaced (accepted by [`AcceptAll`] only).
fn crafted(scope: &'static str, tenant: &'static str) -> String {
    TokenRecipe {
        template: 0,
        header_edits: Vec::new(),
        payload_edits: vec![
            MemberEdit::Set(Key::Scope, FJson::Str(scope)),
            MemberEdit::Set(Key::Tenant, FJson::Str(tenant)),
        ],
        sig: SigEdit::Keep,
        encoding: EncodingEdit::None,
    }
    .build()
}

fn callers() -> &'static [Caller] {
    static CALLERS: OnceLock<Vec<Caller>> = OnceLock::new();
    CALLERS.get_or_init(|| {
        vec![
            Caller {
                name: "admin@acme",
                token: crafted("crm:read crm:admin", "acme"),
                genuine: false,
                scopes: &["crm:read", "crm:admin"],
                tenant: "acme",
            },
            Caller {
                name: "reader@globex",
                token: crafted("crm:read", "globex"),
                genuine: false,
                scopes: &["crm:read"],
                tenant: "globex",
            },
            Caller {
                name: "genuine demo token",
                // demo_read: scope "orders:read orders:write:acme", tenant acme.
                token: template(0).to_string(),
                genuine: true,
                scopes: &["orders:read", "orders:write:acme"],
                tenant: "acme",
            },
        ]
    })
}

const PING: &[u8] = br#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#;

impl Caller {
    fn verifier(&self) -> &'static dyn SignatureVerifier {
        if self.genuine {
            &GuestVerifier
        } else {
            &AcceptAll
        }
    }
}

thread_local! {
    /// The state each caller is judged in (see [`warm_state`]), by index in [`callers`].
    static WARM: Vec<RuntimeState> = callers().iter().map(warm_state).collect();
}

/// A state in which `caller`'s token was verified once (on a `ping`) and cached: each input then
/// costs no token check (no signature check under the sanitizer), and starts from the same
/// state.
fn warm_state(caller: &Caller) -> RuntimeState {
    let policy = policy();
    let state = RuntimeState::new(policy);
    let headers = [bearer(caller), json_type()];
    let req = mcp_request(&headers);
    let d = decide_with_body(
        policy,
        &state,
        &req,
        &NoConnection,
        PING,
        NOW,
        caller.verifier(),
    );
    assert_eq!(
        d.reason,
        Reason::Allowed,
        "{}: token refused: {d:?}",
        caller.name
    );
    assert_eq!(
        state.cached_tokens(),
        1,
        "{}: token not cached",
        caller.name
    );
    state
}

/// The caller's `authorization` header.
/// `content-type: application/json` (the route refuses a body labelled otherwise).
fn json_type() -> (String, String) {
    ("content-type".to_string(), "application/json".to_string())
}

fn bearer(caller: &Caller) -> (String, String) {
    (
        "authorization".to_string(),
        format!("Bearer {}", caller.token),
    )
}

/// `POST /mcp` with `headers`.
fn mcp_request(headers: &[(String, String)]) -> RequestView<'_, String> {
    RequestView {
        method: "POST",
        path: "/mcp",
        authority: "crm.example",
        headers,
    }
}

/// FNV-1a of the input: picks the header plan without taking bytes away from the body.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One MCP header as sent, and the text it stands for (`None`: it cannot be decoded).
struct Sent {
    name: &'static str,
    value: String,
    means: Option<String>,
}

const ENCODED_PREFIX: &str = "=?base64?";
const ENCODED_SUFFIX: &str = "?=";

/// The encoded form of `text`, and what a reader decodes it to (refused with a control
/// character).
fn encoded(name: &'static str, text: &str) -> Sent {
    Sent {
        name,
        value: format!(
            "{ENCODED_PREFIX}{}{ENCODED_SUFFIX}",
            STANDARD.encode(text.as_bytes())
        ),
        means: (!text.chars().any(char::is_control)).then(|| text.to_string()),
    }
}

/// `text` as a client sends it: plain when visible ASCII without surrounding spaces and not
/// looking like the encoded form, encoded otherwise.
fn as_sent(name: &'static str, text: &str) -> Sent {
    let visible = text.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let spaced = text.starts_with(' ') || text.ends_with(' ');
    let looks_encoded = text.starts_with(ENCODED_PREFIX) && text.ends_with(ENCODED_SUFFIX);
    if visible && !spaced && !looks_encoded {
        literal(name, text)
    } else {
        encoded(name, text)
    }
}

/// A visible-ASCII literal (sent as is).
fn literal(name: &'static str, text: &str) -> Sent {
    Sent {
        name,
        value: text.to_string(),
        means: Some(text.to_string()),
    }
}

/// The MCP headers of this input.
fn header_plan(pick: u64, message: Option<&Message>) -> Vec<Sent> {
    let mut out = Vec::new();
    match (pick % 7, message) {
        (1, Some(m)) => {
            out.push(as_sent("mcp-method", &m.method));
            if let Some(target) = &m.target {
                out.push(as_sent("mcp-name", target));
            }
        }
        (2, _) => out.push(literal("mcp-method", "tools/call")),
        (3, _) => out.push(literal("mcp-name", "search_customers")),
        (4, Some(m)) => {
            out.push(encoded("mcp-method", &m.method));
            if let Some(target) = &m.target {
                out.push(encoded("mcp-name", target));
            }
        }
        (5, _) => {
            out.push(literal("mcp-method", "ping"));
            out.push(literal("mcp-name", "summarize"));
        }
        // The same header twice, even with the body's own value: refused before the token.
        (6, m) => {
            let method = m.map_or("ping", |m| m.method.as_str());
            out.push(as_sent("mcp-method", method));
            out.push(as_sent("mcp-method", method));
        }
        _ => {}
    }
    out
}

/// Whether a header is sent twice (`ambiguous_header`: the route reads each once).
fn repeated(plan: &[Sent]) -> bool {
    plan.iter()
        .enumerate()
        .any(|(i, a)| plan[..i].iter().any(|b| b.name == a.name))
}

/// Whether the headers sent name the message's method and target.
fn headers_agree(plan: &[Sent], message: &Message) -> bool {
    plan.iter().all(|sent| {
        let body = match sent.name {
            "mcp-method" => Some(message.method.as_str()),
            _ => message.target.as_deref(),
        };
        sent.means.is_some() && sent.means.as_deref() == body
    })
}

/// Whether an argument value is allowed: a scalar that `fits`, or a non-empty array of them.
fn argument_holds(value: Option<&Value>, fits: impl Fn(&str) -> bool) -> bool {
    let scalar = |v: &Value| v.as_str().is_some_and(&fits);
    match value {
        None => false,
        Some(Value::Array(items)) => !items.is_empty() && items.iter().all(scalar),
        Some(v) => scalar(v),
    }
}

/// The reason this route gives `caller` for `body` with `plan`'s headers.
fn expected_reason(body: &[u8], plan: &[Sent], caller: &Caller) -> Reason {
    if repeated(plan) {
        return Reason::AmbiguousHeader;
    }
    if body.len() > MAX_BODY {
        return Reason::BodyTooLarge;
    }
    let Ok(message) = parse(body) else {
        return Reason::InvalidMcpRequest;
    };
    if !headers_agree(plan, &message) {
        return Reason::McpHeaderMismatch;
    }
    let scope = |needed: &str| {
        if caller.scopes.contains(&needed) {
            Reason::Allowed
        } else {
            Reason::InsufficientScope
        }
    };
    let target = message.target.as_deref().unwrap_or_default();
    match message.method.as_str() {
        "initialize" | "ping" | "tools/list" => Reason::Allowed,
        "tools/call" => match target {
            "search_customers" => scope("crm:read"),
            "delete_customer" => match scope("crm:admin") {
                Reason::Allowed => {
                    let args = &message.arguments;
                    let region = argument_holds(args.get("region"), |r| r == "eu" || r == "us");
                    let who = argument_holds(args.get("who"), |w| w == SUB);
                    if region && who {
                        Reason::Allowed
                    } else {
                        Reason::ArgumentNotAllowed
                    }
                }
                other => other,
            },
            _ => Reason::ToolNotAllowed,
        },
        "prompts/get" if target == "summarize" => Reason::Allowed,
        "prompts/get" => Reason::ToolNotAllowed,
        "resources/read" => match resource_pattern().matches(target) {
            None => Reason::ToolNotAllowed,
            Some(captures) if captures.first().map(String::as_str) != Some(caller.tenant) => {
                Reason::ClaimMismatch
            }
            Some(_) => scope("crm:read"),
        },
        // Listed in no `methods` (subscribing needs an entry there too), and anything else.
        _ => Reason::McpMethodNotAllowed,
    }
}

/// The oracles that hold whatever the model says (`plan`: the MCP headers).
fn check_invariants(
    body: &[u8],
    parsed: &Result<Message, MessageError>,
    plan: &[Sent],
    caller: &Caller,
    d: &Decision,
) {
    assert!(
        ROUTE_REASONS.contains(&d.reason),
        "reason {:?} is not one of this route's",
        d.reason
    );
    assert_eq!(d.route, Some(RouteId::new(0)), "the MCP route is the only route");
    let facts = d.mcp.as_deref();
    assert!(facts.is_some(), "an MCP route's decision has MCP facts");
    if repeated(plan) {
        // Refused at the headers: the body is never read.
        assert_eq!(d.reason, Reason::AmbiguousHeader);
        assert!(facts.is_some_and(|f| !f.parsed && f.method.is_none()));
        return;
    }
    match parsed {
        Err(_) => assert!(
            matches!(d.reason, Reason::InvalidMcpRequest | Reason::BodyTooLarge),
            "a body that does not parse is {:?}",
            d.reason
        ),
        Ok(m) if body.len() <= MAX_BODY => {
            let facts = facts.unwrap_or_else(|| unreachable!());
            assert!(facts.parsed, "a parsed message is recorded as parsed");
            assert_eq!(facts.method.as_deref(), Some(m.method.as_str()));
            assert_eq!(facts.name, m.target);
        }
        Ok(_) => {}
    }
    if d.reason == Reason::Allowed {
        let m = match parsed {
            Ok(m) => m,
            Err(e) => panic!("allowed, but the body does not parse ({e:?})"),
        };
        let declared = match TargetKind::of(&m.method) {
            None => ["initialize", "ping", "tools/list"].contains(&m.method.as_str()),
            Some(TargetKind::Tool) => {
                ["search_customers", "delete_customer"].contains(&m.target.as_deref().unwrap_or(""))
            }
            Some(TargetKind::Prompt) => m.target.as_deref() == Some("summarize"),
            // The caller's own tenant, spelled as is (captures are not decoded, and escaping
            // an unreserved character matches nothing), then the end or a `/`.
            Some(TargetKind::Resource) => {
                m.method == "resources/read"
                    && m.target.as_deref().is_some_and(|t| {
                        t.get(..16)
                            .is_some_and(|o| o.eq_ignore_ascii_case("crm://customers/"))
                            && t[16..]
                                .strip_prefix(caller.tenant)
                                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                    })
            }
        };
        assert!(
            declared,
            "allowed an undeclared `{}` {:?}",
            m.method, m.target
        );
        let label = m.target.as_deref().unwrap_or(&m.method);
        let facts = facts.unwrap_or_else(|| unreachable!());
        assert_eq!(facts.tool_label.as_deref(), Some(label));
        assert!(d.proceeds(), "allowed in enforce mode proceeds");
    }
}

/// A message that parses reads the same with plain `serde_json` (which keeps the last of
/// duplicate members, so only a message the strict reader took is compared).
fn check_plain_reader(body: &[u8], m: &Message) -> Value {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => panic!("the strict reader took a body serde_json refuses: {e}"),
    };
    assert_eq!(value.get("jsonrpc"), Some(&json!("2.0")));
    assert_eq!(
        value.get("method").and_then(Value::as_str),
        Some(m.method.as_str())
    );
    assert_eq!(value.get("id"), m.id.as_ref());
    let params = value.get("params");
    if let Some(kind) = TargetKind::of(&m.method) {
        let target = params
            .and_then(|p| p.get(kind.member()))
            .and_then(Value::as_str);
        assert_eq!(target, m.target.as_deref());
    } else {
        assert_eq!(m.target, None);
    }
    let arguments = match TargetKind::of(&m.method) {
        Some(TargetKind::Tool | TargetKind::Prompt) => params
            .and_then(|p| p.get("arguments"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        _ => serde_json::Map::new(),
    };
    assert_eq!(arguments, m.arguments);
    value
}

struct Judge<'a> {
    state: &'a RuntimeState,
    verifier: &'a dyn SignatureVerifier,
    headers: &'a [(String, String)],
}

impl Judge<'_> {
    fn request(&self) -> RequestView<'_, String> {
        mcp_request(self.headers)
    }

    /// `decide_with_body` and `explain_with_body`, which must agree.
    fn judge(&self, body: &[u8]) -> Decision {
        let policy = policy();
        let req = self.request();
        let d = decide_with_body(
            policy,
            self.state,
            &req,
            &NoConnection,
            body,
            NOW,
            self.verifier,
        );
        let (e, steps) = explain_with_body(
            policy,
            self.state,
            &req,
            &NoConnection,
            Some(body),
            NOW,
            self.verifier,
        );
        assert_eq!(d, e, "decide_with_body and explain_with_body disagree");
        assert!(!steps.is_empty(), "explain records the checks it ran");
        d
    }
}

/// What one input is judged against.
struct Case<'a> {
    body: &'a [u8],
    parsed: &'a Result<Message, MessageError>,
    /// The body as plain `serde_json` read it (when the strict reader took it).
    plain: Option<&'a Value>,
}

/// Judges `case` for caller `index` (in [`callers`]) with `plan`'s headers against the model; with `variants`, also
/// the header-time decision, the whitespace-wrapped and the re-serialised bodies.
fn run(case: &Case<'_>, index: usize, plan: &[Sent], variants: bool) {
    let policy = policy();
    let caller = &callers()[index];
    let mut headers = vec![bearer(caller), json_type()];
    headers.extend(plan.iter().map(|s| (s.name.to_string(), s.value.clone())));
    let state = WARM.with(|states| states[index].clone());
    let verifier = caller.verifier();
    let judge = Judge {
        state: &state,
        verifier,
        headers: &headers,
    };
    let body = case.body;
    let d = judge.judge(body);
    check_invariants(body, case.parsed, plan, caller, &d);
    let expected = expected_reason(body, plan, caller);
    assert_eq!(
        d.reason,
        expected,
        "caller {:?} ({} MCP headers): the route's model expects {expected:?}\ndecision: {d:?}",
        caller.name,
        plan.len()
    );
    if !variants {
        return;
    }
    // At header time the route asks for the body.
    let at_headers = decide_in(
        policy,
        &state,
        &judge.request(),
        &NoConnection,
        NOW,
        verifier,
    );
    if repeated(plan) {
        assert_eq!(at_headers.reason, Reason::AmbiguousHeader);
        assert_eq!(at_headers.awaiting_body, None);
    } else {
        assert_eq!(at_headers.reason, Reason::InvalidMcpRequest);
        assert_eq!(at_headers.awaiting_body, Some(MAX_BODY));
    }
    // JSON whitespace around the message changes nothing.
    if body.len() + 4 <= MAX_BODY {
        let mut wrapped = b" \t\n".to_vec();
        wrapped.extend_from_slice(body);
        wrapped.push(b'\r');
        let w = judge.judge(&wrapped);
        assert_eq!(w, d, "whitespace around the body changed the decision");
    }
    // Re-serialised by serde_json, a message that parsed gets the same decision.
    if let Some(value) = case.plain {
        let text = value.to_string();
        if text.len() <= MAX_BODY && d.reason != Reason::BodyTooLarge {
            let r = judge.judge(text.as_bytes());
            assert_eq!(r, d, "the re-serialised body {text:?} changed the decision");
        }
    }
}

fuzz_target!(|body: &[u8]| {
    let parsed = parse(body);
    let plain = match &parsed {
        Ok(m) => Some(check_plain_reader(body, m)),
        Err(_) => None,
    };
    let case = Case {
        body,
        parsed: &parsed,
        plain: plain.as_ref(),
    };
    // Every caller without MCP headers, then the first with the headers this input picks.
    for index in 0..callers().len() {
        run(&case, index, &[], index == 0);
    }
    let plan = header_plan(fnv(body), parsed.as_ref().ok());
    if !plan.is_empty() {
        run(&case, 0, &plan, true);
    }
});
