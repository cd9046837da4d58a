//! The review as one JSON document (`--format json`, and what the HTML report draws), and the
//! text and SARIF forms of the same findings.

use super::aggregate::{by_count, Aggregate, Counts, Route, Workload};
use super::findings::Finding;
use super::policy_view::PolicyView;
use super::record::{Outcome, OutcomeFacts};
use super::rules::ReviewRuleId;
use super::time::format_rfc3339;
use crate::lint::rules::Severity;
use serde_json::{json, Value};

/// What the report says besides the aggregation.
pub struct Context<'a> {
    /// The inputs as named.
    pub sources: Vec<String>,
    /// `--policy`, read.
    pub policy: Option<&'a PolicyView>,
    /// `--since`, `--until`.
    pub since: Option<i64>,
    /// `--until`.
    pub until: Option<i64>,
    /// When the review ran.
    pub now: i64,
}

fn time(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(format_rfc3339(t)))
}

fn counts(c: &Counts) -> Value {
    let mut map = serde_json::Map::new();
    for outcome in Outcome::ALL {
        map.insert(
            outcome.as_str().into(),
            json!(c.get(outcome.index()).copied().unwrap_or(0)),
        );
    }
    Value::Object(map)
}

fn severity_count(findings: &[Finding], severity: Severity) -> usize {
    findings
        .iter()
        .filter(|f| f.id.rule().severity == severity)
        .count()
}

fn workload_json(label: &str, w: &Workload) -> Value {
    let actions: Vec<Value> = by_count(w.actions.iter().map(|(a, n)| (a.clone(), *n)))
        .into_iter()
        .map(|(action, requests)| json!({"action": action, "requests": requests}))
        .collect();
    let mut reasons: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for (reason, tally) in &w.denials {
        reasons.entry(reason).or_default().0 += tally.count;
    }
    for (reason, tally) in &w.shadow_denials {
        reasons.entry(reason).or_default().1 += tally.count;
    }
    let denials: Vec<Value> = by_count(reasons.iter().map(|(r, (d, s))| (*r, d + s)))
        .into_iter()
        .map(|(reason, count)| {
            let (deny, shadow) = reasons.get(reason).copied().unwrap_or_default();
            json!({"reason": reason, "count": count, "deny": deny, "shadow_deny": shadow})
        })
        .collect();
    let unused: Vec<&String> = w.granted.difference(&w.used).collect();
    json!({
        "workload": label,
        "subject": w.subject,
        "provider": w.provider,
        "requests": w.requests,
        "first_seen": time(w.seen.first),
        "last_seen": time(w.seen.last),
        "decisions": counts(&w.decisions),
        "actions": actions,
        "scopes_granted": w.granted,
        "scopes_used": w.used,
        "scopes_unused": unused,
        "max_token_ttl_seconds": w.max_ttl,
        "max_delegation_depth": w.max_depth,
        "actor_chains": w.actor_chains,
        "denials": denials,
    })
}

fn route_json(route: &Route, policy: Option<&PolicyView>) -> Value {
    let view = policy.and_then(|p| p.route(&route.action));
    let callers: Vec<Value> = by_count(route.callers.iter().map(|(w, n)| (w.clone(), *n)))
        .into_iter()
        .map(|(workload, requests)| json!({"workload": workload, "requests": requests}))
        .collect();
    json!({
        "action": route.action,
        "tool": route.tool,
        "route_index": view.map(|v| v.index),
        "mode": view.map(|v| v.mode.clone()).or_else(|| route.mode.clone()),
        "requests": route.requests,
        "first_seen": time(route.seen.first),
        "last_seen": time(route.seen.last),
        "callers": callers,
        "actors": route.actors,
        "max_delegation_depth_seen": route.max_depth,
        "max_delegation_depth_allowed": view.and_then(|v| v.max_delegation_depth),
        "decisions": counts(&route.decisions),
    })
}

/// The JSON form of one finding.
pub fn finding_json(f: &Finding) -> Value {
    let rule = f.id.rule();
    json!({
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.as_str(),
        "workload": f.workload,
        "actor_chains": f.actor_chains,
        "action": f.action,
        "tool": f.tool,
        "route_index": f.route_index,
        "message": f.message,
        "evidence": f.evidence,
        "remedy": f.remedy,
    })
}

/// The whole report.
pub fn json_report(agg: &Aggregate, findings: &[Finding], ctx: &Context) -> Value {
    let mut labels: Vec<(&String, &Workload)> = agg.workloads.iter().collect();
    labels.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then_with(|| a.0.cmp(b.0)));
    let workloads: Vec<Value> = labels
        .into_iter()
        .map(|(label, w)| workload_json(label, w))
        .collect();
    let mut routes: Vec<&Route> = agg.routes.values().collect();
    routes.sort_by_key(|r| {
        let index = ctx
            .policy
            .and_then(|p| p.route(&r.action))
            .map_or(usize::MAX, |v| v.index);
        (index, r.action.clone(), r.tool.clone())
    });
    let routes: Vec<Value> = routes
        .into_iter()
        .map(|r| route_json(r, ctx.policy))
        .collect();
    let buckets: Vec<Value> = agg
        .timeline
        .buckets
        .iter()
        .map(|(start, c)| {
            let mut bucket = counts(c);
            if let Some(map) = bucket.as_object_mut() {
                map.insert("start".into(), time(Some(*start)));
            }
            bucket
        })
        .collect();
    let reasons: Vec<Value> = {
        let mut list: Vec<(&String, &(u64, u64))> = agg.reasons.iter().collect();
        list.sort_by(|a, b| {
            (b.1 .0 + b.1 .1)
                .cmp(&(a.1 .0 + a.1 .1))
                .then_with(|| a.0.cmp(b.0))
        });
        list.into_iter()
            .map(|(reason, (deny, shadow))| {
                json!({"reason": reason, "deny": deny, "shadow_deny": shadow})
            })
            .collect()
    };
    let distinct_routes = agg.routes.keys().filter(|(_, tool)| tool.is_none()).count();
    json!({
        "tool": "workload-authz review",
        "version": env!("CARGO_PKG_VERSION"),
        "generated_at": time(Some(ctx.now)),
        "inputs": {
            "sources": ctx.sources,
            "lines": agg.input.lines,
            "records": agg.input.records,
            "without_record": agg.input.without_record,
            "unreadable": agg.input.unreadable,
            "outside_filter": agg.input.filtered_out,
        },
        "window": {
            "first_seen": time(agg.seen.first),
            "last_seen": time(agg.seen.last),
            "since": time(ctx.since),
            "until": time(ctx.until),
        },
        "policy": ctx.policy.map(|p| json!({"path": p.path, "hash": p.hash})),
        "policies_seen": agg.policies,
        "summary": {
            "records": agg.input.records,
            "workloads": agg.workloads.len(),
            "routes": distinct_routes,
            "decisions": counts(&agg.decisions),
            "findings": {
                "error": severity_count(findings, Severity::Error),
                "warning": severity_count(findings, Severity::Warning),
                "note": severity_count(findings, Severity::Note),
            },
        },
        "timeline": { "bucket_seconds": agg.timeline.bucket_seconds, "buckets": buckets },
        "denials_by_reason": reasons,
        "workloads": workloads,
        "routes": routes,
        "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
        "truncated": { "workloads": agg.truncated_workloads, "routes": agg.truncated_routes },
    })
}

/// The text form: a summary, then one block per finding.
pub fn text(agg: &Aggregate, findings: &[Finding], ctx: &Context) -> String {
    let mut out = Vec::new();
    let d = &agg.decisions;
    let n = |o: Outcome| d.get(o.index()).copied().unwrap_or(0);
    out.push(format!(
        "review: {} record(s) from {} source(s), {} to {}",
        agg.input.records,
        ctx.sources.len(),
        agg.seen.first.map_or("-".into(), format_rfc3339),
        agg.seen.last.map_or("-".into(), format_rfc3339),
    ));
    out.push(format!(
        "  decisions: {} allow, {} deny, {} shadow_allow, {} shadow_deny, {} public; {} workload(s), {} route(s)",
        n(Outcome::Allow),
        n(Outcome::Deny),
        n(Outcome::ShadowAllow),
        n(Outcome::ShadowDeny),
        n(Outcome::Public),
        agg.workloads.len(),
        agg.routes.keys().filter(|(_, t)| t.is_none()).count(),
    ));
    if agg.input.unreadable + agg.input.without_record + agg.input.filtered_out > 0 {
        out.push(format!(
            "  skipped: {} unreadable line(s), {} without a record, {} outside --since/--until/--workload",
            agg.input.unreadable, agg.input.without_record, agg.input.filtered_out
        ));
    }
    if let Some(p) = ctx.policy {
        out.push(format!("  policy: {} ({})", p.path, p.hash));
    }
    for f in findings {
        let rule = f.id.rule();
        out.push(String::new());
        out.push(format!(
            "{}[{}] {}: {}",
            rule.severity.as_str(),
            rule.code,
            rule.name,
            f.message
        ));
        for chain in &f.actor_chains {
            out.push(format!("  actor chain: {}", chain.join(" <- ")));
        }
        let count = f.evidence.get("count").and_then(Value::as_u64).unwrap_or(0);
        let first = f
            .evidence
            .get("first_seen")
            .and_then(Value::as_str)
            .unwrap_or("-");
        let last = f
            .evidence
            .get("last_seen")
            .and_then(Value::as_str)
            .unwrap_or("-");
        out.push(format!("  evidence: {count} request(s), {first} to {last}"));
        out.push(format!("  remedy: {}", f.remedy));
    }
    out.push(String::new());
    out.push(format!(
        "{} finding(s): {} error(s), {} warning(s), {} note(s)",
        findings.len(),
        severity_count(findings, Severity::Error),
        severity_count(findings, Severity::Warning),
        severity_count(findings, Severity::Note),
    ));
    out.join("\n")
}

/// SARIF 2.1.0: every rule described, one result per finding, located at the policy's route when
/// `--policy` is given (`line_of` finds `routes[N]` in the file).
pub fn sarif(
    findings: &[Finding],
    policy_uri: Option<&str>,
    line_of: &dyn Fn(&str) -> Option<(usize, usize)>,
) -> Value {
    let rules: Vec<Value> = ReviewRuleId::ALL
        .iter()
        .map(|id| {
            let r = id.rule();
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "defaultConfiguration": {"level": r.severity.as_str()},
                "properties": {"tags": ["security", "least-privilege", "workload-authz"]},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let r = f.id.rule();
            let logical = [f.workload.as_deref(), f.action.as_deref(), f.tool.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" / ");
            let mut location = json!({
                "logicalLocations": [{"fullyQualifiedName": logical, "kind": "resource"}],
            });
            if let (Some(uri), Some(index)) = (policy_uri, f.route_index) {
                let (line, column) = line_of(&format!("routes[{index}]")).unwrap_or((1, 1));
                if let Some(map) = location.as_object_mut() {
                    map.insert(
                        "physicalLocation".into(),
                        json!({"artifactLocation": {"uri": uri},
                               "region": {"startLine": line, "startColumn": column}}),
                    );
                }
            }
            json!({
                "ruleId": r.code,
                "ruleIndex": f.id.index(),
                "level": r.severity.as_str(),
                "message": {"text": format!("{} Remedy: {}", f.message, f.remedy)},
                "locations": [location],
                "partialFingerprints": {"workloadAuthzReview/v1": format!("{}:{}", r.code, logical)},
                "properties": {"evidence": f.evidence},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "workload-authz review",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}
