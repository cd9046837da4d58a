//! `workload-authz lint POLICY`: governance findings with stable codes, as text, JSON or SARIF.

use crate::policy::{self, Loaded};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::process::ExitCode;
use workload_authz_core::config::Route;
use workload_authz_core::routes::{canonical_authority, without_trailing_slash, HostPattern};
use workload_authz_core::{Mode, Policy};

/// How serious a finding is.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    Note,
    /// Probably weakens the policy.
    Warning,
    /// A policy bug or a dangerous gap.
    Error,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Output formats of `lint`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    /// One line per finding, with a help line.
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0, for code scanning in CI.
    Sarif,
}

/// Arguments of `lint`.
#[derive(Args, Debug)]
pub struct LintArgs {
    /// The policy: JSON or YAML (`-` reads standard input).
    pub policy: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,
    /// Exit 1 when a finding of this severity or higher is reported.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: Severity,
    /// Longest token lifetime (seconds) accepted on write methods (WA001/WA002).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub max_write_lifetime: u64,
    /// The scopes your identity provider grants (a JSON list, or one per line): enables
    /// WA008 (granted, required by no route) and WA009 (required, never granted).
    #[arg(long, value_name = "FILE")]
    pub scopes: Option<String>,
}

/// A lint rule: stable code, name, severity, what it means and what to do.
pub struct Rule {
    /// Stable code (`WA001`).
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// Severity of every finding of this rule.
    pub severity: Severity,
    /// One sentence.
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
}

const INVALID_POLICY: Rule = Rule {
    code: "WA000",
    name: "invalid-policy",
    severity: Severity::Error,
    summary: "the policy does not compile: the filter refuses it",
    help: "run `workload-authz check` for every error with a hint",
};

/// Every rule, in code order. Codes are never reused.
pub const RULES: &[Rule] = &[
    INVALID_POLICY,
    Rule {
        code: "WA001",
        name: "write-without-lifetime-limit",
        severity: Severity::Error,
        summary: "a write method (POST, PUT, PATCH, DELETE, or any method) is reachable with tokens that have no lifetime limit",
        help: "set `max_lifetime_seconds` on the route (at most the threshold) or on every provider it accepts",
    },
    Rule {
        code: "WA002",
        name: "write-lifetime-above-threshold",
        severity: Severity::Warning,
        summary: "a write method is reachable with tokens living longer than the threshold (--max-write-lifetime)",
        help: "lower the route's `max_lifetime_seconds` (it tightens the provider's limit)",
    },
    Rule {
        code: "WA003",
        name: "any-valid-token",
        severity: Severity::Warning,
        summary: "a protected route requires no scopes, scopes_any, subjects or claims: any valid token passes",
        help: "require the scope (or subject, or claim) that grants this action",
    },
    Rule {
        code: "WA004",
        name: "provider-without-lifetime-limit",
        severity: Severity::Warning,
        summary: "a provider has no `max_lifetime_seconds`: its tokens may live for any time",
        help: "set `max_lifetime_seconds` on the provider (e.g. 900)",
    },
    Rule {
        code: "WA005",
        name: "protected-wildcard-route",
        severity: Severity::Warning,
        summary: "a protected route ends in `**`: one action (and one requirement) covers a whole subtree, endpoints added later included",
        help: "declare the routes of the subtree one by one, or make sure the requirement fits every path under it",
    },
    Rule {
        code: "WA006",
        name: "unreachable-route",
        severity: Severity::Error,
        summary: "an earlier route matches every request this route matches (first match wins): it can never match",
        help: "move the more specific route first, or remove it",
    },
    Rule {
        code: "WA007",
        name: "redundant-scope",
        severity: Severity::Note,
        summary: "a scope is listed twice, or a `scopes_any` entry is also in `scopes` (so the other alternatives are dead)",
        help: "remove the duplicate; a `scopes_any` met by a required scope is no requirement",
    },
    Rule {
        code: "WA008",
        name: "dead-scope",
        severity: Severity::Note,
        summary: "a granted scope (from --scopes) is required by no route",
        help: "stop granting it, or require it where it is meant to apply",
    },
    Rule {
        code: "WA009",
        name: "unknown-scope",
        severity: Severity::Warning,
        summary: "a route requires a scope that no entry of --scopes can satisfy: the route denies everyone",
        help: "fix the scope name, or add it to the identity provider's grants",
    },
    Rule {
        code: "WA010",
        name: "shadow-route",
        severity: Severity::Warning,
        summary: "a route is in shadow mode inside an enforcing policy: its denials are only recorded",
        help: "switch it to enforce once its shadow_deny decisions are the ones you mean",
    },
    Rule {
        code: "WA011",
        name: "shadow-policy",
        severity: Severity::Warning,
        summary: "the policy is in shadow mode: nothing is denied (except routes set to enforce)",
        help: "switch `mode` to `enforce` once the shadow denials are understood",
    },
    Rule {
        code: "WA012",
        name: "public-write-route",
        severity: Severity::Warning,
        summary: "a public route accepts a write method (POST, PUT, PATCH, DELETE, or any method): anyone can write",
        help: "restrict the public route's `methods` (e.g. [\"GET\", \"HEAD\"]) or protect it",
    },
    Rule {
        code: "WA013",
        name: "trailing-slash-conflict",
        severity: Severity::Warning,
        summary: "the slash variant of an exact route's path falls to another route, so the filter refuses it (invalid_path)",
        help: "end the template in `/**` to cover the path with and without the slash (and below), or give the slash form its own route before the broader one",
    },
];

fn rule(code: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.code == code)
        .unwrap_or(&INVALID_POLICY)
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule's code.
    pub code: &'static str,
    /// Configuration path of what the finding is about.
    pub path: String,
    /// What was found, in words.
    pub message: String,
}

impl Finding {
    fn new(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code,
            path: path.into(),
            message: message.into(),
        }
    }

    fn rule(&self) -> &'static Rule {
        rule(self.code)
    }
}

const WRITE_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

/// Runs `lint`.
pub fn run(args: &LintArgs) -> Result<ExitCode, String> {
    let loaded = policy::load(&args.policy)?;
    let catalogue = match &args.scopes {
        Some(file) => Some(read_catalogue(file)?),
        None => None,
    };
    let findings = match (&loaded.compiled, &loaded.value) {
        (Ok(policy), Some(value)) => {
            lint(policy, value, args.max_write_lifetime, catalogue.as_deref())
        }
        (Err(errors), _) => errors
            .0
            .iter()
            .map(|e| Finding::new("WA000", e.path.clone(), e.to_string()))
            .collect(),
        (Ok(_), None) => Vec::new(),
    };
    let worst = findings.iter().map(|f| f.rule().severity).max();
    let failed = worst.is_some_and(|w| w >= args.fail_on);
    let out = match args.format {
        LintFormat::Text => text(&loaded, &findings, args.fail_on, failed),
        LintFormat::Json => format!("{:#}", as_json(&loaded, &findings, args.fail_on, failed)),
        LintFormat::Sarif => format!("{:#}", sarif(&loaded, &findings)),
    };
    println!("{out}");
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_catalogue(file: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    if text.trim_start().starts_with('[') {
        let list: Vec<String> = serde_json::from_str(&text)
            .map_err(|e| format!("{file}: not a JSON list of strings: {e}"))?;
        return Ok(list);
    }
    Ok(text
        .lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect())
}

/// All findings for a compiled policy and its raw JSON.
pub fn lint(
    policy: &Policy,
    value: &Value,
    threshold: u64,
    catalogue: Option<&[String]>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let raw_routes: Vec<&Value> = value
        .get("routes")
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    if policy.mode == Mode::Shadow {
        out.push(Finding::new(
            "WA011",
            "mode",
            "the policy's `mode` is `shadow`: every denial is only recorded",
        ));
    }
    for provider in &policy.providers {
        if provider.max_lifetime_seconds.is_none() {
            out.push(Finding::new(
                "WA004",
                format!("providers.{}", provider.name),
                format!(
                    "provider `{}` has no `max_lifetime_seconds`: its tokens may live for any time",
                    provider.name
                ),
            ));
        }
    }
    for (index, route) in policy.routes.iter().enumerate() {
        let raw = raw_routes.get(index).copied();
        let at = format!("routes[{index}]");
        let name = format!("`{}` ({at})", route.action);
        let template = raw
            .and_then(|r| r.get("match"))
            .and_then(|m| m.get("path"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let writes = write_methods(route);
        if route.public {
            if let Some(writes) = &writes {
                out.push(Finding::new(
                    "WA012",
                    format!("{at}.match"),
                    format!("public route {name} accepts {writes} with no token"),
                ));
            }
        } else {
            if let Some(writes) = &writes {
                lifetime_findings(policy, route, &at, &name, writes, threshold, &mut out);
            }
            if !requires_something(raw) {
                let who = match &route.require.providers {
                    Some(list) => format!("of {}", provider_names(policy, list)),
                    None => "of any provider".to_string(),
                };
                out.push(Finding::new(
                    "WA003",
                    at.clone(),
                    format!("protected route {name} requires nothing of the token: any valid token {who} passes"),
                ));
            }
            if template.ends_with("/**") {
                out.push(Finding::new(
                    "WA005",
                    format!("{at}.match.path"),
                    format!("protected route {name} matches the whole subtree `{template}`"),
                ));
            }
            if route.mode == Some(Mode::Shadow) && policy.mode == Mode::Enforce {
                out.push(Finding::new(
                    "WA010",
                    format!("{at}.mode"),
                    format!("route {name} is in shadow mode: its denials are only recorded"),
                ));
            }
        }
        if let Some(earlier) = (0..index).find(|&e| covers(policy, &raw_routes, e, index)) {
            let action = policy.routes.get(earlier).map_or("", |r| r.action.as_str());
            out.push(Finding::new(
                "WA006",
                at.clone(),
                format!(
                    "route {name} can never match: `{action}` (routes[{earlier}]) comes first and matches every request it matches"
                ),
            ));
        }
        if let Some(raw) = raw {
            redundant_scopes(raw, &at, &name, &mut out);
        }
        if let Some(message) = trailing_slash_conflict(policy, index, route) {
            out.push(Finding::new(
                "WA013",
                format!("{at}.match.path"),
                format!("route {name}: {message}"),
            ));
        }
    }
    if let Some(catalogue) = catalogue {
        scope_catalogue(&raw_routes, catalogue, &mut out);
    }
    out.sort_by(|a, b| {
        rule(b.code)
            .severity
            .cmp(&rule(a.code).severity)
            .then_with(|| a.code.cmp(b.code))
    });
    out
}

/// WA013: where a request for the route's path with (or, for a template ending in `/`, without)
/// the trailing slash goes, when the filter then refuses it as `invalid_path`. Asked of the
/// compiled policy with the engine's own matcher, on a sample request the route matches.
fn trailing_slash_conflict(policy: &Policy, index: usize, route: &Route) -> Option<String> {
    if route.matcher.path.has_rest() {
        return None;
    }
    let method = route
        .matcher
        .methods
        .as_ref()
        .and_then(|m| m.first())
        .map_or("GET", String::as_str);
    let host = match route.matcher.hosts.as_ref().and_then(|h| h.first()) {
        Some(HostPattern::Exact(host)) => host.clone(),
        Some(HostPattern::Suffix(suffix)) => format!("x{suffix}"),
        Some(HostPattern::Any) | None => String::new(),
    };
    let authority = canonical_authority(&host).ok()?;
    let sample = route.matcher.path.sample_path();
    let (slashed, owner) = match without_trailing_slash(&sample) {
        // A template ending in `/`: its own requests conflict when the bare form goes elsewhere.
        Some(_) => (sample.clone(), index),
        None if sample == "/" => return None,
        None => {
            let slashed = format!("{sample}/");
            let (owner, _) = policy.route_for(method, &slashed, &authority)?;
            (slashed, owner)
        }
    };
    let other = policy.trailing_slash_conflict(method, &slashed, &authority, owner)?;
    let bare = slashed.trim_end_matches('/');
    let action = |i: usize| policy.routes.get(i).map_or("", |r| r.action.as_str());
    Some(format!(
        "`{method} {slashed}` reaches routes[{owner}] `{}` but `{bare}` reaches routes[{other}] `{}`, so `{slashed}` is refused as invalid_path",
        action(owner),
        action(other)
    ))
}

/// Whether a route's raw `require` asks anything of the caller beyond a valid token: any member
/// other than `providers` and the token-shape rules (`typ`, `max_delegation_depth`,
/// `allow_delegation`); `bind_peer` counts when true.
fn requires_something(raw: Option<&Value>) -> bool {
    let Some(require) = raw
        .and_then(|r| r.get("require"))
        .and_then(Value::as_object)
    else {
        return false;
    };
    require.iter().any(|(key, value)| match key.as_str() {
        "providers" | "typ" | "max_delegation_depth" | "allow_delegation" => false,
        "bind_peer" => value.as_bool() == Some(true),
        _ => !value.is_null(),
    })
}

fn provider_names(policy: &Policy, list: &[usize]) -> String {
    list.iter()
        .filter_map(|i| policy.providers.get(*i))
        .map(|p| format!("`{}`", p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The write methods a route accepts, in words; `None` when it accepts none.
fn write_methods(route: &Route) -> Option<String> {
    match &route.matcher.methods {
        None => Some("any method (POST, PUT, PATCH, DELETE included)".to_string()),
        Some(methods) => {
            let writes: Vec<&str> = methods
                .iter()
                .map(String::as_str)
                .filter(|m| WRITE_METHODS.contains(m))
                .collect();
            (!writes.is_empty()).then(|| writes.join(", "))
        }
    }
}

fn lifetime_findings(
    policy: &Policy,
    route: &Route,
    at: &str,
    name: &str,
    writes: &str,
    threshold: u64,
    out: &mut Vec<Finding>,
) {
    let accepted: Vec<usize> = match &route.require.providers {
        Some(list) => list.clone(),
        None => (0..policy.providers.len()).collect(),
    };
    let mut unbounded = Vec::new();
    let mut longest: Option<(u64, &str)> = None;
    for index in accepted {
        let Some(provider) = policy.providers.get(index) else {
            continue;
        };
        let effective = match (provider.max_lifetime_seconds, route.max_lifetime_seconds) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match effective {
            None => unbounded.push(format!("`{}`", provider.name)),
            Some(limit) if longest.is_none_or(|(l, _)| limit > l) => {
                longest = Some((limit, provider.name.as_str()));
            }
            Some(_) => {}
        }
    }
    if !unbounded.is_empty() {
        out.push(Finding::new(
            "WA001",
            at.to_string(),
            format!(
                "route {name} accepts {writes} with tokens of {} that have no lifetime limit (threshold {threshold}s)",
                unbounded.join(", ")
            ),
        ));
    } else if let Some((limit, provider)) = longest.filter(|(l, _)| *l > threshold) {
        out.push(Finding::new(
            "WA002",
            format!("{at}.max_lifetime_seconds"),
            format!(
                "route {name} accepts {writes} with tokens of `{provider}` living up to {limit}s, above the {threshold}s threshold"
            ),
        ));
    }
}

fn redundant_scopes(raw: &Value, at: &str, name: &str, out: &mut Vec<Finding>) {
    let list = |field: &str| -> Vec<String> {
        raw.get("require")
            .and_then(|r| r.get(field))
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (all, any) = (list("scopes"), list("scopes_any"));
    for (field, items) in [("scopes", &all), ("scopes_any", &any)] {
        for (i, scope) in items.iter().enumerate() {
            if items.iter().take(i).any(|s| s == scope) {
                out.push(Finding::new(
                    "WA007",
                    format!("{at}.require.{field}[{i}]"),
                    format!("route {name} lists `{scope}` twice in `{field}`"),
                ));
            }
        }
    }
    for (i, scope) in any.iter().enumerate() {
        if all.contains(scope) {
            let others: Vec<&str> = any
                .iter()
                .filter(|s| *s != scope)
                .map(String::as_str)
                .collect();
            out.push(Finding::new(
                "WA007",
                format!("{at}.require.scopes_any[{i}]"),
                format!(
                    "route {name} requires `{scope}` in `scopes`, so its `scopes_any` is always met{}",
                    if others.is_empty() {
                        String::new()
                    } else {
                        format!(": the alternatives {} are dead", others.join(", "))
                    }
                ),
            ));
        }
    }
}

/// Whether a scope template (`orders:write:{tenant}`) can equal `scope` for some captures
/// (each capture is one non-empty path segment: no `/`).
fn template_fits(template: &str, scope: &str) -> bool {
    match template.find('{') {
        None => template == scope,
        Some(open) => {
            let (literal, tail) = template.split_at(open);
            let Some(rest_scope) = scope.strip_prefix(literal) else {
                return false;
            };
            let after = tail
                .find('}')
                .and_then(|c| tail.get(c + 1..))
                .unwrap_or_default();
            (1..=rest_scope.len()).any(|n| {
                rest_scope.is_char_boundary(n)
                    && rest_scope.get(..n).is_some_and(|c| !c.contains('/'))
                    && rest_scope.get(n..).is_some_and(|s| template_fits(after, s))
            })
        }
    }
}

fn scope_catalogue(raw_routes: &[&Value], catalogue: &[String], out: &mut Vec<Finding>) {
    let mut required: Vec<(String, String)> = Vec::new();
    for (index, raw) in raw_routes.iter().enumerate() {
        for field in ["scopes", "scopes_any"] {
            let items = raw
                .get("require")
                .and_then(|r| r.get(field))
                .and_then(Value::as_array);
            for (i, scope) in items.into_iter().flatten().enumerate() {
                if let Some(scope) = scope.as_str() {
                    required.push((
                        format!("routes[{index}].require.{field}[{i}]"),
                        scope.to_string(),
                    ));
                }
            }
        }
    }
    for granted in catalogue {
        if !required.iter().any(|(_, t)| template_fits(t, granted)) {
            out.push(Finding::new(
                "WA008",
                "routes",
                format!("granted scope `{granted}` is required by no route"),
            ));
        }
    }
    for (path, template) in &required {
        if !catalogue.iter().any(|g| template_fits(template, g)) {
            out.push(Finding::new(
                "WA009",
                path.clone(),
                format!("scope `{template}` is granted to no one (not in --scopes): this requirement denies everyone"),
            ));
        }
    }
}

/// Whether route `earlier` matches every request route `later` matches (a sound check: when it
/// says yes, `later` is unreachable).
fn covers(policy: &Policy, raw: &[&Value], earlier: usize, later: usize) -> bool {
    let (Some(a), Some(b)) = (policy.routes.get(earlier), policy.routes.get(later)) else {
        return false;
    };
    let methods_ok = match (&a.matcher.methods, &b.matcher.methods) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(am), Some(bm)) => bm.iter().all(|m| am.contains(m)),
    };
    let hosts_ok = match (&a.matcher.hosts, &b.matcher.hosts) {
        (None, _) => true,
        (Some(ah), None) => ah.contains(&HostPattern::Any),
        (Some(ah), Some(bh)) => bh.iter().all(|h| ah.iter().any(|g| host_covers(g, h))),
    };
    let template = |i: usize| {
        raw.get(i)
            .and_then(|r| r.get("match"))
            .and_then(|m| m.get("path"))
            .and_then(Value::as_str)
    };
    let paths_ok = match (template(earlier), template(later)) {
        (Some(ta), Some(tb)) => path_covers(ta, tb),
        _ => false,
    };
    methods_ok && hosts_ok && paths_ok
}

/// Whether host pattern `a` matches every authority `b` matches.
fn host_covers(a: &HostPattern, b: &HostPattern) -> bool {
    let no_port = |h: &str| !h.contains(':') && !h.contains(']');
    match (a, b) {
        (HostPattern::Any, _) => true,
        (_, HostPattern::Any) => false,
        (HostPattern::Exact(x), HostPattern::Exact(y)) => {
            x == y
                || (no_port(x)
                    && y.rsplit_once(':').is_some_and(|(h, _)| h == x)
                    && !y.contains(']'))
        }
        (HostPattern::Suffix(s), HostPattern::Suffix(t)) => t.ends_with(s.as_str()),
        (HostPattern::Suffix(s), HostPattern::Exact(y)) => {
            let host = if y.contains(']') {
                y.as_str()
            } else {
                y.rsplit_once(':').map_or(y.as_str(), |(h, _)| h)
            };
            host.len() > s.len() && host.ends_with(s.as_str())
        }
        (HostPattern::Exact(_), HostPattern::Suffix(_)) => false,
    }
}

#[derive(PartialEq)]
enum Seg<'a> {
    Literal(&'a str),
    Any,
}

fn parse_template(template: &str) -> (Vec<Seg<'_>>, bool) {
    let body = template.strip_prefix('/').unwrap_or(template);
    if body.is_empty() {
        return (Vec::new(), false);
    }
    let mut segs = Vec::new();
    let mut rest = false;
    for s in body.split('/') {
        if s == "**" {
            rest = true;
        } else if s == "*" || (s.starts_with('{') && s.ends_with('}')) {
            segs.push(Seg::Any);
        } else {
            segs.push(Seg::Literal(s));
        }
    }
    (segs, rest)
}

/// Whether path template `a` matches every path template `b` matches.
fn path_covers(a: &str, b: &str) -> bool {
    let (sa, rest_a) = parse_template(a);
    let (sb, rest_b) = parse_template(b);
    for (i, seg) in sa.iter().enumerate() {
        let Some(other) = sb.get(i) else {
            return false; // `b` matches shorter paths (or, with `**`, paths of any length).
        };
        let fits = match (seg, other) {
            (Seg::Any, Seg::Any) => true,
            (Seg::Any, Seg::Literal(l)) => !l.is_empty(),
            (Seg::Literal(x), Seg::Literal(y)) => x == y,
            (Seg::Literal(_), Seg::Any) => false,
        };
        if !fits {
            return false;
        }
    }
    rest_a || (sa.len() == sb.len() && !rest_b)
}

fn text(loaded: &Loaded, findings: &[Finding], fail_on: Severity, failed: bool) -> String {
    let mut lines = Vec::new();
    for f in findings {
        let r = f.rule();
        lines.push(format!(
            "{}: {}[{}] {}: {}",
            loaded.place(&f.path),
            r.severity.as_str(),
            r.code,
            r.name,
            f.message
        ));
        lines.push(format!("  help: {}", r.help));
    }
    let count = |s: Severity| findings.iter().filter(|f| f.rule().severity == s).count();
    lines.push(format!(
        "{}: {} finding(s): {} error(s), {} warning(s), {} note(s); --fail-on {}: {}",
        loaded.source.path,
        findings.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Note),
        fail_on.as_str(),
        if failed { "fail" } else { "pass" }
    ));
    lines.join("\n")
}

fn as_json(loaded: &Loaded, findings: &[Finding], fail_on: Severity, failed: bool) -> Value {
    let count = |s: Severity| findings.iter().filter(|f| f.rule().severity == s).count();
    let list: Vec<Value> = findings
        .iter()
        .map(|f| {
            let r = f.rule();
            json!({
                "code": r.code,
                "name": r.name,
                "severity": r.severity.as_str(),
                "path": f.path,
                "line": loaded.line(&f.path),
                "message": f.message,
                "help": r.help,
            })
        })
        .collect();
    json!({
        "policy": loaded.source.path,
        "hash": loaded.compiled.as_ref().ok().map(|p| p.hash.clone()),
        "findings": list,
        "summary": {
            "error": count(Severity::Error),
            "warning": count(Severity::Warning),
            "note": count(Severity::Note),
        },
        "fail_on": fail_on.as_str(),
        "failed": failed,
    })
}

fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// SARIF 2.1.0: one run, every rule described, one result per finding.
fn sarif(loaded: &Loaded, findings: &[Finding]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": pascal(r.name),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": format!("{} ({}).", r.summary, r.name)},
                "help": {"text": r.help, "markdown": format!("**{}** `{}`: {}\n\n{}", r.code, r.name, r.summary, r.help)},
                "defaultConfiguration": {"level": r.severity.as_str()},
                "properties": {"tags": ["security", "authorization", "workload-authz"]},
            })
        })
        .collect();
    let uri = loaded.source.path.trim_start_matches("./").to_string();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let r = f.rule();
            let index = RULES.iter().position(|x| x.code == r.code).unwrap_or(0);
            let (line, column) = if loaded.line(&f.path).is_some() {
                loaded.locations.find(&f.path).unwrap_or((1, 1))
            } else {
                (1, 1)
            };
            json!({
                "ruleId": r.code,
                "ruleIndex": index,
                "level": r.severity.as_str(),
                "message": {"text": format!("{} ({})", f.message, f.path)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line, "startColumn": column},
                    },
                    "logicalLocations": [{"fullyQualifiedName": f.path, "kind": "member"}],
                }],
                "partialFingerprints": {"workloadAuthzFinding/v1": format!("{}:{}", r.code, f.path)},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "workload-authz",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn path_coverage_is_sound() {
        assert!(path_covers("/**", "/a/b"));
        assert!(path_covers("/a/**", "/a"));
        assert!(path_covers("/a/{x}", "/a/b"));
        assert!(path_covers("/a/*", "/a/{id}"));
        assert!(path_covers("/a/b", "/a/b"));
        assert!(!path_covers("/a/b", "/a/{x}"));
        assert!(!path_covers("/a/*", "/a/**"));
        assert!(!path_covers("/a/*", "/a/"));
        assert!(!path_covers("/a/*/c", "/a/b"));
        assert!(!path_covers("/a", "/a/b"));
        assert!(path_covers("/a/**", "/a/b/**"));
        assert!(!path_covers("/", "/**"));
    }

    #[test]
    fn host_coverage() {
        let h = |s: &str| HostPattern::compile(s).unwrap();
        assert!(host_covers(&h("*"), &h("a.example")));
        assert!(host_covers(&h("a.example"), &h("a.example:8080")));
        assert!(!host_covers(&h("a.example:8080"), &h("a.example")));
        assert!(host_covers(&h("*.example"), &h("*.a.example")));
        assert!(host_covers(&h("*.example"), &h("a.example:80")));
        assert!(!host_covers(&h("*.example"), &h("example")));
        assert!(!host_covers(&h("a.example"), &h("*.example")));
    }

    #[test]
    fn scope_templates_fit_concrete_scopes() {
        assert!(template_fits("orders:write:{tenant}", "orders:write:acme"));
        assert!(!template_fits("orders:write:{tenant}", "orders:write:"));
        assert!(template_fits("{a}:{b}", "x:y"));
        assert!(!template_fits("orders:read", "orders:write"));
    }
}
