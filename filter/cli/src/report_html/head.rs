//! The top of the page: the header (tool, window, policy, inputs) and the summary cards
//! (records, workloads, routes, findings by severity, and one card per decision).

use super::fields::{count, field, list, text, texts};
use super::text::{esc, num, percent, when};
use super::{code, span_html, time_html, DECISIONS};
use serde_json::Value;

pub(super) fn header(report: &Value) -> String {
    let window = field(report, "window");
    let summary = field(report, "summary");
    let (first, last) = (text(window, "first_seen"), text(window, "last_seen"));
    let lede = if first.is_empty() {
        format!("{} decision records.", num(count(summary, "records")))
    } else {
        format!(
            "{} decision records from {} to {}.",
            num(count(summary, "records")),
            esc(&when(&first)),
            esc(&when(&last))
        )
    };
    format!(
        "<header class=\"page-head\">\n<div class=\"eyebrow\"><span class=\"tool\">{}</span> <span class=\"version\">{}</span></div>\n\
         <h1>Access review</h1>\n<p class=\"lede\">{lede}</p>\n<dl class=\"meta\">\n{}{}{}{}</dl>\n</header>\n",
        esc(&text(report, "tool")),
        esc(&text(report, "version")),
        meta("Generated", &time_html(&text(report, "generated_at"))),
        meta("Window", &window_html(window)),
        meta("Policy", &policy_html(field(report, "policy"))),
        meta("Inputs", &inputs_html(field(report, "inputs"))),
    )
}

fn meta(term: &str, value: &str) -> String {
    format!("<div><dt>{term}</dt><dd>{value}</dd></div>\n")
}

fn window_html(window: &Value) -> String {
    let mut out = span_html(&text(window, "first_seen"), &text(window, "last_seen"));
    for (key, label) in [("since", "since"), ("until", "until")] {
        let ts = text(window, key);
        if !ts.is_empty() {
            out.push_str(&format!(
                "<div class=\"small muted\">--{label} {}</div>",
                time_html(&ts)
            ));
        }
    }
    out
}

fn policy_html(policy: &Value) -> String {
    if !policy.is_object() {
        return "<span class=\"muted\">none (run with <code>--policy</code> to correlate)</span>"
            .into();
    }
    format!(
        "{}<div class=\"small muted\">hash <code>{}</code></div>",
        code(&text(policy, "path")),
        esc(&text(policy, "hash"))
    )
}

fn inputs_html(inputs: &Value) -> String {
    let sources = texts(inputs, "sources");
    let list: String = sources
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", esc(s)))
        .collect();
    let counts = [
        ("lines", "lines"),
        ("records", "records"),
        ("without_record", "without a record"),
        ("unreadable", "unreadable"),
        ("outside_filter", "outside the filters"),
    ]
    .iter()
    .map(|(key, label)| {
        format!(
            "<span data-input=\"{key}\" data-value=\"{n}\">{} {label}</span>",
            num(count(inputs, key)),
            n = count(inputs, key)
        )
    })
    .collect::<Vec<_>>()
    .join(" · ");
    format!("<ul class=\"sources\">{list}</ul><div class=\"small muted\">{counts}</div>")
}

/// A summary card; `metric` and `value` are also data attributes for tests and scripts.
fn card(metric: &str, label: &str, value: u64, sub: &str, accent: Option<&str>) -> String {
    let style = accent.map_or(String::new(), |c| format!(" style=\"--accent: {c}\""));
    format!(
        "<div class=\"card{}\" data-metric=\"{metric}\" data-value=\"{value}\"{style}>\
         <div class=\"card-label\">{label}</div><div class=\"card-value\">{}</div>\
         <div class=\"card-sub\">{sub}</div></div>\n",
        if accent.is_some() { " accent" } else { "" },
        num(value)
    )
}

pub(super) fn summary(report: &Value) -> String {
    let s = field(report, "summary");
    let inputs = field(report, "inputs");
    let records = count(s, "records");
    let decisions = field(s, "decisions");
    let truncated = field(report, "truncated");
    let merged = |key: &str| match count(truncated, key) {
        0 => String::new(),
        n => format!("{} more merged into “(other)”", num(n)),
    };
    let mut out = String::from(
        "<section id=\"summary\" class=\"section\">\n<h2>Summary</h2>\n<div class=\"cards\">\n",
    );
    out.push_str(&card(
        "records",
        "Records",
        records,
        &format!("from {} log lines", num(count(inputs, "lines"))),
        None,
    ));
    out.push_str(&card(
        "workloads",
        "Workloads",
        count(s, "workloads"),
        &[workloads_note(report), merged("workloads")].join(" "),
        None,
    ));
    out.push_str(&card(
        "routes",
        "Routes",
        count(s, "routes"),
        &[routes_note(report), merged("routes")].join(" "),
        None,
    ));
    out.push_str(&findings_card(field(s, "findings")));
    out.push_str("</div>\n<div class=\"cards decisions\">\n");
    for d in DECISIONS {
        let n = count(decisions, d.key);
        out.push_str(&card(
            &format!("decisions.{}", d.key),
            d.label,
            n,
            &format!("{} of records", percent(n, records)),
            Some(d.color),
        ));
    }
    out.push_str("</div>\n</section>\n");
    out
}

/// "2 with unused scopes · 1 delegating" of the workloads.
fn workloads_note(report: &Value) -> String {
    let all = list(report, "workloads");
    let unused = all
        .iter()
        .filter(|w| !list(w, "scopes_unused").is_empty())
        .count();
    let delegating = all
        .iter()
        .filter(|w| !list(w, "actor_chains").is_empty())
        .count();
    let mut parts = Vec::new();
    if unused > 0 {
        parts.push(format!("{} with unused scopes", num(unused as u64)));
    }
    if delegating > 0 {
        parts.push(format!("{} delegating", num(delegating as u64)));
    }
    parts.join(" · ")
}

/// "1 in shadow mode · 1 never called" of the routes.
fn routes_note(report: &Value) -> String {
    let all = list(report, "routes");
    let shadow = all.iter().filter(|r| text(r, "mode") == "shadow").count();
    let idle = all.iter().filter(|r| count(r, "requests") == 0).count();
    let mut parts = Vec::new();
    if shadow > 0 {
        parts.push(format!("{} in shadow mode", num(shadow as u64)));
    }
    if idle > 0 {
        parts.push(format!("{} never called", num(idle as u64)));
    }
    parts.join(" · ")
}

fn findings_card(findings: &Value) -> String {
    let severities = ["error", "warning", "note"];
    let total = severities
        .iter()
        .fold(0u64, |a, s| a.saturating_add(count(findings, s)));
    let chips: String = severities
        .iter()
        .map(|s| {
            let n = count(findings, s);
            format!(
                "<span class=\"chip sev-{s}\" data-metric=\"findings.{s}\" data-value=\"{n}\">{} {s}{}</span>",
                num(n),
                if n == 1 { "" } else { "s" }
            )
        })
        .collect();
    format!(
        "<div class=\"card\" data-metric=\"findings\" data-value=\"{total}\"><div class=\"card-label\">Findings</div>\
         <div class=\"card-value\">{}</div><div class=\"card-sub chips\">{chips}</div></div>\n",
        num(total)
    )
}
