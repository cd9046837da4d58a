//! Stage 7, the MCP message on a route with an `mcp` block, after the route's requirements:
//! the body (`body_too_large`, `invalid_mcp_request`), the 2026-07-28 headers against it
//! (`mcp_header_mismatch`), the rule its method and name select (`tool_not_allowed`,
//! `mcp_method_not_allowed`), that rule's requirements (through the requirements stage, so
//! the same reasons as a route's), then its `arguments` (`argument_not_allowed`).

use super::checks::{pass_if, Checks};
use super::requirements::{self, Facts};
use super::{transaction, Context};
use crate::decision::{Decision, McpFacts, Reason, Trace};
use crate::mcp::{self, header_value, McpRoute, McpRule, Message, NotDeclared};
use crate::require::{claims, Bindings};
use crate::telemetry;
use serde_json::{Map, Value};

/// The counter label of a name that is not declared (bounded cardinality).
pub const OTHER_LABEL: &str = "other";

/// The facts an MCP route's decision starts with (before any body is read).
pub(super) fn facts_of(route: &McpRoute) -> Box<McpFacts> {
    Box::new(McpFacts {
        resource_metadata: route.resource_metadata.clone(),
        ..McpFacts::default()
    })
}

/// What fills a rule's placeholders: a resource's URI captures, then the route's captures,
/// the request's headers and address, and the access token's claims.
struct RuleBindings<'b> {
    uri_captures: &'b [String],
    route: &'b dyn Bindings,
    claims: &'b Map<String, Value>,
}

impl Bindings for RuleBindings<'_> {
    fn capture(&self, index: usize) -> Option<&str> {
        match self.uri_captures.get(index) {
            Some(capture) => Some(capture.as_str()),
            None => self
                .route
                .capture(index.checked_sub(self.uri_captures.len())?),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.route.header(name)
    }

    fn source_address(&self) -> Option<&str> {
        self.route.source_address()
    }

    fn claim(&self, path: &[String]) -> Option<&str> {
        claims::lookup(self.claims, path).and_then(Value::as_str)
    }
}

/// Judges the message of an MCP route on a token that met the route's requirements.
/// Without a body (header time) it asks for one: `awaiting_body` and `invalid_mcp_request`.
pub(super) fn message<H: AsRef<str>>(
    ctx: &Context<'_>,
    route: &McpRoute,
    headers: &[(H, H)],
    facts: &Facts<'_>,
    decision: &mut Decision,
    checks: &mut Checks<'_>,
) -> Result<(), Reason> {
    let Some(body) = ctx.body else {
        decision.awaiting_body = Some(route.max_body_bytes);
        return checks.fail("mcp_body", Reason::InvalidMcpRequest, || {
            format!(
                "the route reads the JSON-RPC body (at most {} bytes): judged again once it is read",
                route.max_body_bytes
            )
        });
    };
    checks.check(
        "mcp_body",
        pass_if(body.len() <= route.max_body_bytes, Reason::BodyTooLarge),
        || format!("{} bytes, at most {}", body.len(), route.max_body_bytes),
    )?;
    checks.check(
        "mcp_content_type",
        pass_if(is_json(headers), Reason::InvalidMcpRequest),
        || "`content-type` must be one `application/json`".to_string(),
    )?;
    let message = checks.check(
        "mcp_message",
        mcp::message::parse(body).map_err(|_| Reason::InvalidMcpRequest),
        || match mcp::message::parse(body) {
            Ok(m) => format!(
                "`{}`{}",
                m.method,
                m.target
                    .as_deref()
                    .map(|t| format!(" `{t}`"))
                    .unwrap_or_default()
            ),
            Err(e) => e.to_string(),
        },
    )?;
    let selection = route.select(&message);
    record_message(route, &message, selection.is_ok(), decision);
    checks.check("mcp_headers", headers_agree(&message, headers), || {
        "Mcp-Method / Mcp-Name against the body".to_string()
    })?;
    let (selected, uri_captures) = checks.check(
        "mcp_rule",
        selection.map_err(|e| match e {
            NotDeclared::Target(_) => Reason::ToolNotAllowed,
            NotDeclared::Method => Reason::McpMethodNotAllowed,
        }),
        || match &message.target {
            Some(target) => format!("`{}` of `{target}`", message.method),
            None => format!("method `{}`", message.method),
        },
    )?;
    let rule = selected.rule;
    let bindings = RuleBindings {
        uri_captures: &uri_captures,
        route: facts.bindings,
        claims: &facts.jws.claims.all,
    };
    record_scopes(rule, facts.granted, &bindings, decision);
    rule_requirements(ctx, rule, headers, facts, &bindings, checks, Some(decision))?;
    let failed = mcp::arguments::first_failed(&rule.arguments, &message.arguments, &bindings);
    checks.check(
        "mcp_arguments",
        pass_if(failed.is_none(), Reason::ArgumentNotAllowed),
        || match failed {
            Some(condition) => format!("`{}` is not an allowed value", condition.name),
            None => format!("{} condition(s) hold", rule.arguments.len()),
        },
    )?;
    if message.method == "tools/list" {
        let visible = visible_tools(ctx, route, headers, facts);
        checks.pass("mcp_tools_list", || {
            format!("the answer will list only: {}", visible.join(", "))
        });
        if let Some(mcp) = decision.mcp.as_deref_mut() {
            mcp.visible_tools = Some(visible);
        }
    }
    Ok(())
}

/// The declared tools whose rules' requirements this caller meets (their `arguments` are
/// judged on each call): what an allowed `tools/list` answer may offer.
fn visible_tools<H: AsRef<str>>(
    ctx: &Context<'_>,
    route: &McpRoute,
    headers: &[(H, H)],
    facts: &Facts<'_>,
) -> Vec<String> {
    let mut quiet = Trace::off();
    let mut checks = Checks::new(&mut quiet);
    let bindings = RuleBindings {
        uri_captures: &[],
        route: facts.bindings,
        claims: &facts.jws.claims.all,
    };
    route
        .tools
        .iter()
        .filter(|(_, rule)| {
            rule_requirements(ctx, rule, headers, facts, &bindings, &mut checks, None).is_ok()
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// A rule's requirements, through the requirements stage: first the transaction token it
/// requires (`require.transaction`, whose claims its `txn.` conditions read; its `txn` goes to
/// the record when there is one to fill), then the rest as a route's.
fn rule_requirements<H: AsRef<str>>(
    ctx: &Context<'_>,
    rule: &McpRule,
    headers: &[(H, H)],
    facts: &Facts<'_>,
    bindings: &dyn Bindings,
    checks: &mut Checks<'_>,
    decision: Option<&mut Decision>,
) -> Result<(), Reason> {
    let transaction = match &rule.require.transaction {
        Some(required) => {
            let outcome = transaction::transaction(ctx, required, headers, checks);
            if let (Some(txn), Some(decision)) = (outcome.txn, decision) {
                decision.txn = Some(txn);
            }
            Some(outcome.claims?)
        }
        None => None,
    };
    let rule_facts = Facts {
        transaction: transaction.as_ref().or(facts.transaction),
        bindings,
        ..*facts
    };
    requirements::requirements(ctx, &rule.require, &rule_facts, checks)
}

/// Exactly one `content-type`, `application/json` (parameters such as `charset` allowed): a
/// body labelled otherwise could be read another way by the server.
fn is_json<H: AsRef<str>>(headers: &[(H, H)]) -> bool {
    let mut types = crate::routes::header_values(headers, "content-type");
    let first = types.next();
    types.next().is_none()
        && first.is_some_and(|t| {
            let media = t.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/json")
        })
}

/// `Mcp-Method` and `Mcp-Name`, when sent, must name the body's method and target.
fn headers_agree<H: AsRef<str>>(message: &Message, headers: &[(H, H)]) -> Result<(), Reason> {
    let header = |name: &str| crate::routes::header_value(headers, name);
    let agrees = |sent: Option<&str>, body: Option<&str>| match sent {
        None => true,
        Some(sent) => header_value::decode(sent).is_ok_and(|decoded| Some(&*decoded) == body),
    };
    pass_if(
        agrees(header("mcp-method"), Some(&message.method))
            && agrees(header("mcp-name"), message.target.as_deref()),
        Reason::McpHeaderMismatch,
    )
}

/// The message's facts for the record and the answer (`declared`: its method and name select a
/// rule, so its name may be a counter label).
fn record_message(route: &McpRoute, message: &Message, declared: bool, decision: &mut Decision) {
    let facts = decision.mcp.get_or_insert_with(|| facts_of(route));
    facts.parsed = true;
    facts.method = Some(message.method.clone());
    facts.name = message.target.clone();
    facts.arguments_digest =
        (!message.arguments.is_empty()).then(|| telemetry::arguments_digest(&message.arguments));
    facts.id = message.id.as_ref().map(Value::to_string);
    let label = message.target.as_deref().unwrap_or(&message.method);
    facts.tool_label = Some(if declared {
        label.to_string()
    } else {
        OTHER_LABEL.to_string()
    });
}

/// The rule's scopes join the route's in `scopes_required` (and so the `insufficient_scope`
/// challenge), and granted scopes the rule needs are no longer `scopes_unused`.
fn record_scopes(
    rule: &McpRule,
    granted: &[&str],
    bindings: &dyn Bindings,
    decision: &mut Decision,
) {
    let require = &rule.require;
    for scope in require.rendered_scopes(bindings) {
        if !decision.scopes_required.contains(&scope) {
            decision.scopes_required.push(scope);
        }
    }
    let needed = require.needed_scopes(granted, bindings);
    decision.scopes_unused.retain(|scope| !needed.needs(scope));
}
