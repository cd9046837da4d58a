//! The findings table: severity, code and name, message and remedy, workload (and actor
//! chains), route, and the evidence (counts, first and last seen, the finding's own keys).

use super::fields::{self, count, field, list, opt_count, text};
use super::text::{esc, num};
use super::{code, span_html};
use serde_json::Value;

/// A CSS class for a severity of the report: only the known ones, never the report's text.
fn severity_class(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        "note" => "note",
        _ => "other",
    }
}

pub(super) fn findings(report: &Value) -> String {
    let all = list(report, "findings");
    let mut out = format!(
        "<section id=\"findings\" class=\"section\">\n<h2>Findings <span class=\"count\">{}</span></h2>\n",
        num(all.len() as u64)
    );
    if all.is_empty() {
        out.push_str("<p class=\"no-data\">No findings: every workload used what it was granted.</p>\n</section>\n");
        return out;
    }
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"findings\">\n<thead><tr><th>Severity</th><th>Finding and remedy</th>\
         <th>Workload</th><th>Route</th><th>Evidence</th></tr></thead>\n<tbody>\n",
    );
    for f in all {
        out.push_str(&finding_row(f));
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

fn finding_row(f: &Value) -> String {
    let severity = text(f, "severity");
    let class = severity_class(&severity);
    let remedy = text(f, "remedy");
    let remedy = if remedy.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"remedy\"><span class=\"remedy-label\">Remedy</span> {}</div>",
            esc(&remedy)
        )
    };
    format!(
        "<tr class=\"finding\" data-code=\"{}\" data-severity=\"{class}\">\
         <td><span class=\"badge sev-{class}\">{}</span></td>\
         <td class=\"message\"><div class=\"rule\"><code>{}</code> {}</div>{}{remedy}</td>\
         <td class=\"subject\">{}{}</td><td class=\"route\">{}</td>\
         <td class=\"evidence\">{}</td></tr>\n",
        esc(&text(f, "code")),
        esc(if severity.is_empty() {
            "—"
        } else {
            &severity
        }),
        esc(&text(f, "code")),
        esc(&text(f, "name")),
        esc(&text(f, "message")),
        code(&text(f, "workload")),
        chains_html(list(f, "actor_chains")),
        route_html(&text(f, "action"), opt_count(f, "route_index")),
        evidence_html(field(f, "evidence")),
    )
}

/// A route as its action and `routes[i]`.
fn route_html(action: &str, index: Option<u64>) -> String {
    let index = index.map_or(String::new(), |i| {
        format!("<div class=\"small muted\">routes[{i}]</div>")
    });
    format!("{}{index}", code(action))
}

/// Actor chains as "via a → b" lines.
pub(super) fn chains_html(chains: &[Value]) -> String {
    let lines: String = chains
        .iter()
        .filter_map(Value::as_array)
        .filter(|c| !c.is_empty())
        .map(|chain| {
            let hops: Vec<String> = chain
                .iter()
                .map(|a| format!("<code>{}</code>", esc(&fields::as_text(a))))
                .collect();
            format!("<li>via {}</li>", hops.join(" → "))
        })
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"chains\">{lines}</ul>")
    }
}

fn evidence_html(e: &Value) -> String {
    let mut out = format!(
        "<div class=\"ev-count\" data-count=\"{n}\"><strong>{}</strong> requests</div><div class=\"small\">{}</div>",
        num(count(e, "count")),
        span_html(&text(e, "first_seen"), &text(e, "last_seen")),
        n = count(e, "count"),
    );
    let extra: String = e
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !matches!(k.as_str(), "count" | "first_seen" | "last_seen"))
        .map(|(k, v)| {
            format!(
                "<div><dt>{}</dt><dd>{}</dd></div>",
                esc(&k.replace('_', " ")),
                esc(&value_text(v, 0))
            )
        })
        .collect();
    if !extra.is_empty() {
        out.push_str(&format!("<dl class=\"ev-extra\">{extra}</dl>"));
    }
    out
}

/// Any JSON value as one line of text (lists joined, objects as `key: value`).
fn value_text(v: &Value, depth: usize) -> String {
    if depth > 4 {
        return "…".into();
    }
    match v {
        Value::Null => "—".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| value_text(i, depth + 1))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, i)| format!("{k}: {}", value_text(i, depth + 1)))
            .collect::<Vec<_>>()
            .join("; "),
        other => fields::as_text(other),
    }
}
