//! From the aggregation (and the policy, with `--policy`) to findings: each names the workload,
//! the route action, the evidence and a concrete remedy.

use super::aggregate::{
    by_count, Aggregate, Route, Seen, Workload, INCIDENT_REASONS, NO_TOKEN, OTHER,
};
use super::policy_view::{PolicyView, RouteView};
use super::rules::ReviewRuleId;
use super::time::format_rfc3339;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What the findings are judged against.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Tokens living longer than this many seconds are RV005.
    pub max_token_lifetime: u64,
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Its rule.
    pub id: ReviewRuleId,
    /// The workload (subject, or a label for unverified callers).
    pub workload: Option<String>,
    /// Its delegation chains, current actor first.
    pub actor_chains: Vec<Vec<String>>,
    /// The route action.
    pub action: Option<String>,
    /// The MCP entry (`tools/call name`).
    pub tool: Option<String>,
    /// The route's index in the policy (with `--policy`).
    pub route_index: Option<usize>,
    /// One sentence.
    pub message: String,
    /// Counts, times and lists behind it.
    pub evidence: Map<String, Value>,
    /// What to change.
    pub remedy: String,
}

fn time(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(format_rfc3339(t)))
}

fn evidence(count: u64, seen: Seen) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("count".into(), json!(count));
    map.insert("first_seen".into(), time(seen.first));
    map.insert("last_seen".into(), time(seen.last));
    map
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

fn quoted(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", inner.join(", "))
}

/// `routes[3] (orders.write)`, or `orders.write` without a policy.
fn route_name(action: &str, view: Option<&RouteView>) -> String {
    match view {
        Some(v) => format!("routes[{}] ({action})", v.index),
        None => format!("route `{action}`"),
    }
}

fn is_identified(label: &str) -> bool {
    !label.starts_with('(')
}

/// Every finding, sorted: most severe first, then by code, workload and action.
pub fn findings(agg: &Aggregate, policy: Option<&PolicyView>, limits: Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut labels: Vec<&String> = agg.workloads.keys().collect();
    labels.sort();
    for label in labels {
        let Some(w) = agg.workloads.get(label) else {
            continue;
        };
        unused_scopes(label, w, &mut out);
        long_lived(label, w, policy, limits, &mut out);
        denials(label, w, &mut out);
        incidents(label, w, &mut out);
    }
    let mut routes: Vec<&Route> = agg.routes.values().collect();
    routes.sort_by(|a, b| (&a.action, &a.tool).cmp(&(&b.action, &b.tool)));
    for route in routes {
        let view = policy.and_then(|p| p.route(&route.action));
        if view.is_some_and(|v| v.public) || route.action == OTHER {
            continue;
        }
        single_caller(route, view, &mut out);
        if route.tool.is_none() {
            delegation(route, view, policy.is_some(), &mut out);
            shadow(route, view, &agg.workloads, &mut out);
        }
    }
    if let Some(policy) = policy {
        never_called(agg, policy, &mut out);
    }
    for f in &mut out {
        if let (true, Some(w)) = (
            f.actor_chains.is_empty(),
            f.workload
                .as_ref()
                .and_then(|label| agg.workloads.get(label)),
        ) {
            f.actor_chains = w.actor_chains.iter().cloned().collect();
        }
    }
    out.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                std::cmp::Reverse(f.id.rule().severity),
                f.id,
                f.workload.clone(),
                f.action.clone(),
                f.tool.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    out
}

fn finding(id: ReviewRuleId, message: String, remedy: String) -> Finding {
    Finding {
        id,
        workload: None,
        actor_chains: Vec::new(),
        action: None,
        tool: None,
        route_index: None,
        message,
        evidence: Map::new(),
        remedy,
    }
}

fn for_workload(mut f: Finding, label: &str, w: &Workload) -> Finding {
    f.workload = Some(label.to_string());
    f.actor_chains = w.actor_chains.iter().cloned().collect();
    f
}

fn unused_scopes(label: &str, w: &Workload, out: &mut Vec<Finding>) {
    if !is_identified(label) || label == OTHER {
        return;
    }
    let unused: Vec<String> = w.granted.difference(&w.used).cloned().collect();
    if unused.is_empty() {
        return;
    }
    let used: Vec<String> = w.used.iter().cloned().collect();
    let issuer = w
        .provider
        .as_deref()
        .map_or(String::new(), |p| format!(" (provider {p})"));
    let kept = if used.is_empty() {
        "it needed none of its scopes".to_string()
    } else {
        format!("keep {}", list(&used))
    };
    let mut f = finding(
        ReviewRuleId::UnusedScope,
        format!(
            "{label} holds {} scope(s) that none of its {} request(s) needed: {}",
            unused.len(),
            w.requests,
            list(&unused)
        ),
        format!(
            "remove {} from the scopes its issuer{issuer} grants {label}; {kept}",
            list(&unused)
        ),
    );
    f.evidence = evidence(w.requests, w.seen);
    f.evidence.insert("scopes_granted".into(), json!(w.granted));
    f.evidence.insert("scopes_used".into(), json!(used));
    f.evidence.insert("scopes_unused".into(), json!(unused));
    let mut actions: Vec<&String> = w.actions.keys().collect();
    actions.sort();
    f.evidence.insert("actions".into(), json!(actions));
    out.push(for_workload(f, label, w));
}

fn long_lived(
    label: &str,
    w: &Workload,
    policy: Option<&PolicyView>,
    limits: Thresholds,
    out: &mut Vec<Finding>,
) {
    let Some(ttl) = w.max_ttl else {
        return;
    };
    let provider_limit = policy
        .zip(w.provider.as_deref())
        .and_then(|(p, name)| p.provider_lifetimes.get(name).copied().flatten());
    let limit = provider_limit.map_or(limits.max_token_lifetime, |l| {
        l.min(limits.max_token_lifetime)
    });
    if ttl <= limit {
        return;
    }
    let provider = w.provider.as_deref().unwrap_or("?");
    let setting = match (policy.is_some(), provider_limit) {
        (true, None) => {
            format!("; set providers.{provider}.max_lifetime_seconds to {limit} (it has no limit)")
        }
        (true, Some(l)) if l > limit => {
            format!("; lower providers.{provider}.max_lifetime_seconds from {l} to {limit}")
        }
        _ => String::new(),
    };
    let mut f = finding(
        ReviewRuleId::LongLivedToken,
        format!("{label} presented tokens with up to {ttl} s left to live, above {limit} s"),
        format!("issue {label} tokens of at most {limit} s{setting}"),
    );
    f.evidence = evidence(w.requests, w.seen);
    f.evidence
        .insert("max_token_ttl_seconds".into(), json!(ttl));
    f.evidence.insert("limit_seconds".into(), json!(limit));
    f.evidence
        .insert("policy_limit_seconds".into(), json!(provider_limit));
    out.push(for_workload(f, label, w));
}

/// Reasons with a remedy of their own (the rest get a pointer to the reason table).
const REASON_REMEDIES: [(&str, &str); 12] = [
    (
        "insufficient_scope",
        "grant the scope the route requires if the call is legitimate, else stop the caller",
    ),
    (
        "expired",
        "have the workload refresh its tokens before they expire",
    ),
    (
        "lifetime_exceeded",
        "have the issuer mint shorter-lived tokens for this workload",
    ),
    (
        "missing_token",
        "send a token, or declare the route public if it is meant to be",
    ),
    ("bad_audience", "request tokens for this service's audience"),
    (
        "subject_not_allowed",
        "add the subject to the route's require.subjects if it should call, else stop it",
    ),
    (
        "actor_not_allowed",
        "add the agent to require.actor.subjects if it should act here, else stop it",
    ),
    (
        "delegation_too_deep",
        "shorten the delegation chain, or raise require.max_delegation_depth if it is meant",
    ),
    (
        "claim_mismatch",
        "the token's claims do not fit the resource (another tenant?): check the caller",
    ),
    (
        "no_route",
        "declare the route the caller needs (anything not declared is denied), or stop the caller",
    ),
    (
        "unknown_key",
        "the issuer signs with a key the filter does not have: check key rotation and the JWKS",
    ),
    (
        "tool_not_allowed",
        "declare the tool in the route's mcp block if the agent needs it, else stop the agent",
    ),
];

fn remedy_for_reason(reason: &str) -> &'static str {
    REASON_REMEDIES.iter().find(|(r, _)| *r == reason).map_or(
        "see the reason table in the README for what the caller must change",
        |(_, remedy)| remedy,
    )
}

fn denials(label: &str, w: &Workload, out: &mut Vec<Finding>) {
    if w.denials.is_empty() {
        return;
    }
    let reasons = by_count(w.denials.iter().map(|(r, t)| (r.clone(), t.count)));
    let total: u64 = reasons.iter().map(|(_, c)| c).sum();
    let described: Vec<String> = reasons.iter().map(|(r, c)| format!("{r} {c}")).collect();
    let top = reasons.first().map_or("", |(r, _)| r.as_str());
    let seen = w
        .denials
        .values()
        .fold(Seen::default(), |acc, t| acc.merge(t.seen));
    let mut f = finding(
        ReviewRuleId::Denials,
        format!(
            "{label} was denied {total} time(s): {}",
            described.join(", ")
        ),
        format!("mostly {top}: {}", remedy_for_reason(top)),
    );
    f.evidence = evidence(total, seen);
    let reasons: Vec<Value> = reasons
        .iter()
        .map(|(reason, count)| json!({"reason": reason, "count": count}))
        .collect();
    f.evidence.insert("reasons".into(), Value::Array(reasons));
    out.push(for_workload(f, label, w));
}

fn incidents(label: &str, w: &Workload, out: &mut Vec<Finding>) {
    for reason in INCIDENT_REASONS {
        let enforced = w.denials.get(reason).copied().unwrap_or_default();
        let shadow = w.shadow_denials.get(reason).copied().unwrap_or_default();
        let count = enforced.count + shadow.count;
        if count == 0 {
            continue;
        }
        let remedy = match reason {
            "bad_signature" | "dpop_bad_signature" => "a token or proof was forged or tampered with: find the sender (source address, jti) and check for key leaks or a misconfigured issuer",
            "revoked" => "a revoked credential is still in use: find where it is stored and rotate that workload's credentials",
            _ => "a DPoP proof was replayed or a bound token used without its key: the token has probably been stolen; revoke it",
        };
        let peak = enforced.peak_per_minute.max(shadow.peak_per_minute);
        let mut f = finding(
            ReviewRuleId::IncidentSignal,
            format!("{label}: {count} request(s) denied as {reason} (peak {peak} in one minute)"),
            remedy.to_string(),
        );
        f.evidence = evidence(count, enforced.seen.merge(shadow.seen));
        f.evidence.insert("reason".into(), json!(reason));
        f.evidence.insert("peak_per_minute".into(), json!(peak));
        f.evidence.insert("shadow".into(), json!(shadow.count));
        out.push(for_workload(f, label, w));
    }
}

fn for_route(mut f: Finding, route: &Route, view: Option<&RouteView>) -> Finding {
    f.action = Some(route.action.clone());
    f.tool.clone_from(&route.tool);
    f.route_index = view.map(|v| v.index);
    f
}

fn single_caller(route: &Route, view: Option<&RouteView>, out: &mut Vec<Finding>) {
    if route.passed_callers.len() != 1 {
        return;
    }
    let Some((caller, count)) = route.passed_callers.iter().next() else {
        return;
    };
    if !is_identified(caller) || caller == OTHER || caller == NO_TOKEN {
        return;
    }
    let already_pinned = view
        .and_then(|v| v.subjects.as_ref())
        .is_some_and(|s| s.len() == 1 && s.first() == Some(caller));
    if already_pinned && route.tool.is_none() {
        return;
    }
    let name = route_name(&route.action, view);
    let (what, remedy) = match &route.tool {
        Some(tool) => (
            format!("{tool} on {name}"),
            format!("give the rule of {tool} `\"subjects\": [\"{caller}\"]`"),
        ),
        None => (
            name.clone(),
            format!(
                "pin {}.require.subjects to {}",
                view.map_or(name.clone(), |v| format!("routes[{}]", v.index)),
                quoted(std::slice::from_ref(caller))
            ),
        ),
    };
    let mut f = finding(
        ReviewRuleId::SingleCaller,
        format!("{what} was called only by {caller} ({count} request(s) passed)"),
        remedy,
    );
    f.evidence = evidence(*count, route.seen);
    f.evidence.insert("caller".into(), json!(caller));
    f.workload = Some(caller.clone());
    out.push(for_route(f, route, view));
}

fn delegation(route: &Route, view: Option<&RouteView>, has_policy: bool, out: &mut Vec<Finding>) {
    let passed = route.passed_callers.values().sum::<u64>();
    if passed == 0 {
        return;
    }
    let seen = route.max_depth as u64;
    if has_policy {
        let Some(view) = view else {
            return;
        };
        let allowed = view.max_delegation_depth;
        if allowed.is_some_and(|a| a <= seen) {
            return;
        }
        let allowed_text = allowed.map_or("any delegation depth".to_string(), |a| {
            format!("delegation chains of {a}")
        });
        let remedy = if seen == 0 {
            format!(
                "set routes[{}].require.allow_delegation to false",
                view.index
            )
        } else {
            format!(
                "set routes[{}].require.max_delegation_depth to {seen}",
                view.index
            )
        };
        let mut f = finding(
            ReviewRuleId::DelegationDepthUnused,
            format!(
                "{} allows {allowed_text}; the {passed} request(s) that passed used at most {seen}",
                route_name(&route.action, Some(view))
            ),
            remedy,
        );
        f.evidence = evidence(passed, route.seen);
        f.evidence.insert("depth_seen".into(), json!(seen));
        f.evidence.insert("depth_allowed".into(), json!(allowed));
        out.push(for_route(f, route, Some(view)));
    }
    if !route.actors.is_empty() && view.is_none_or(|v| v.actor_subjects.is_none()) {
        let actors: Vec<String> = route.actors.iter().cloned().collect();
        let target = view.map_or(route_name(&route.action, None), |v| {
            format!("routes[{}]", v.index)
        });
        let mut f = finding(
            ReviewRuleId::RouteActors,
            format!(
                "{} was called through delegation by {} actor(s): {} (depth up to {seen})",
                route_name(&route.action, view),
                actors.len(),
                list(&actors)
            ),
            format!("pin {target}.require.actor.subjects to {}", quoted(&actors)),
        );
        f.evidence = evidence(passed, route.seen);
        f.evidence.insert("actors".into(), json!(actors));
        f.evidence.insert("depth_seen".into(), json!(seen));
        out.push(for_route(f, route, view));
    }
}

fn shadow(
    route: &Route,
    view: Option<&RouteView>,
    workloads: &std::collections::HashMap<String, Workload>,
    out: &mut Vec<Finding>,
) {
    if route.shadow_denials.is_empty() {
        return;
    }
    let mut per_workload: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    let mut seen = Seen::default();
    let mut total = 0;
    for ((workload, reason), tally) in &route.shadow_denials {
        per_workload
            .entry(workload.as_str())
            .or_default()
            .push((reason.as_str(), tally.count));
        total += tally.count;
        seen = seen.merge(tally.seen);
    }
    let described: Vec<String> = per_workload
        .iter()
        .map(|(w, reasons)| {
            let r: Vec<String> = reasons.iter().map(|(r, c)| format!("{c}× {r}")).collect();
            format!("{w} ({})", r.join(", "))
        })
        .collect();
    let name = route_name(&route.action, view);
    let mut f = finding(
        ReviewRuleId::ShadowWouldDeny,
        format!(
            "enforcing {name} breaks {} workload(s): {}",
            per_workload.len(),
            described.join("; ")
        ),
        format!(
            "before switching {name} to enforce, grant these callers what they lack or fix the policy; each of these requests would be refused"
        ),
    );
    f.evidence = evidence(total, seen);
    let details: Vec<Value> = per_workload
        .iter()
        .map(|(w, reasons)| {
            let r: Vec<Value> = reasons
                .iter()
                .map(|(reason, count)| json!({"reason": reason, "count": count}))
                .collect();
            json!({"workload": w, "reasons": r})
        })
        .collect();
    f.evidence.insert("workloads".into(), Value::Array(details));
    let chains: BTreeSet<Vec<String>> = per_workload
        .keys()
        .filter_map(|w| workloads.get(*w))
        .flat_map(|w| w.actor_chains.iter().cloned())
        .collect();
    f.actor_chains = chains.into_iter().collect();
    out.push(for_route(f, route, view));
}

fn never_called(agg: &Aggregate, policy: &PolicyView, out: &mut Vec<Finding>) {
    let window = match (agg.seen.first, agg.seen.last) {
        (Some(first), Some(last)) => format!(
            " between {} and {}",
            format_rfc3339(first),
            format_rfc3339(last)
        ),
        _ => String::new(),
    };
    let mut done = BTreeSet::new();
    for view in &policy.routes {
        if view.public || !done.insert(view.action.clone()) {
            continue;
        }
        let called = agg.routes.contains_key(&(view.action.clone(), None));
        if !called {
            let mut f = finding(
                ReviewRuleId::RouteNeverCalled,
                format!(
                    "{} was never called{window}",
                    route_name(&view.action, Some(view))
                ),
                format!(
                    "remove routes[{}] if nothing needs it any more (or review a longer window first)",
                    view.index
                ),
            );
            f.evidence = evidence(0, agg.seen);
            f.action = Some(view.action.clone());
            f.route_index = Some(view.index);
            out.push(f);
        }
        for (method, names, field) in [
            ("tools/call", &view.tools, "tools"),
            ("prompts/get", &view.prompts, "prompts"),
        ] {
            for name in names {
                let tool = format!("{method} {name}");
                if agg
                    .routes
                    .contains_key(&(view.action.clone(), Some(tool.clone())))
                {
                    continue;
                }
                let mut f = finding(
                    ReviewRuleId::ToolNeverCalled,
                    format!(
                        "{tool} on {} was never called{window}",
                        route_name(&view.action, Some(view))
                    ),
                    format!(
                        "remove mcp.{field}.{name} from routes[{}] if no agent needs it",
                        view.index
                    ),
                );
                f.evidence = evidence(0, agg.seen);
                f.action = Some(view.action.clone());
                f.tool = Some(tool);
                f.route_index = Some(view.index);
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_named_is_one_the_filter_writes() {
        let known: Vec<&str> = workload_authz_core::Reason::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        for (reason, _) in REASON_REMEDIES {
            assert!(known.contains(&reason), "{reason}");
        }
        for reason in INCIDENT_REASONS {
            assert!(known.contains(&reason), "{reason}");
        }
    }
}
