//! `review --format html`: the review report as one self-contained HTML5 page.
//!
//! The input is the JSON report of `review --format json` (its shape is documented with the
//! command). The page has a header (tool, window, inputs, policy) and summary cards
//! ([`head`]), three charts as inline SVG (decisions over time, denials by reason, scopes
//! granted vs used per workload: [`svg`]), the findings ([`findings`]), a table and a card per
//! workload and a table of routes ([`tables`]).
//!
//! Self-contained means no request at all: inline CSS, no script, no font, image or link by
//! URL, and a Content-Security-Policy that forbids every fetch and every script in case one
//! slipped in. Every string of the report comes from untrusted access logs and is escaped; a
//! missing or odd field reads as empty or zero (see [`fields`]), so any JSON value renders.

mod fields;
mod findings;
mod head;
mod svg;
mod tables;
mod text;

#[cfg(test)]
mod browser_test;
#[cfg(test)]
mod tests;

use fields::{count, field, list, text};
use serde_json::Value;
use text::{esc, num, when};

/// A decision of the filter: its key in the report, its label, and its colour in the charts.
#[derive(Clone, Copy)]
struct Decision {
    key: &'static str,
    label: &'static str,
    color: &'static str,
}

const ALLOW: Decision = Decision {
    key: "allow",
    label: "Allow",
    color: "#3e9a6c",
};
const DENY: Decision = Decision {
    key: "deny",
    label: "Deny",
    color: "#d3455b",
};
const SHADOW_ALLOW: Decision = Decision {
    key: "shadow_allow",
    label: "Shadow allow",
    color: "#8ec3e0",
};
const SHADOW_DENY: Decision = Decision {
    key: "shadow_deny",
    label: "Shadow deny",
    color: "#f0a04b",
};
const PUBLIC: Decision = Decision {
    key: "public",
    label: "Public",
    color: "#a9b3bf",
};

/// The decisions in the report's order, which is also the order of the stacks (allow at the
/// bottom).
const DECISIONS: [Decision; 5] = [ALLOW, DENY, SHADOW_ALLOW, SHADOW_DENY, PUBLIC];

/// The page's style sheet, inlined.
const STYLE: &str = include_str!("style.css");

/// No fetch of any kind, no script: only the inline style sheet and style attributes.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// The review report `report` (the JSON document of `review --format json`) as one
/// self-contained HTML5 document. Never panics: any JSON value renders, missing parts as
/// empty sections.
pub fn render(report: &Value) -> String {
    let body = [
        head::header(report),
        head::summary(report),
        charts(report),
        findings::findings(report),
        tables::workloads(report),
        tables::routes(report),
        footer(report),
    ]
    .concat();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n<title>{}</title>\n\
         <style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(&page_title(report))
    )
}

fn page_title(report: &Value) -> String {
    let window = field(report, "window");
    let (first, last) = (text(window, "first_seen"), text(window, "last_seen"));
    if first.is_empty() && last.is_empty() {
        "Access review".into()
    } else {
        format!("Access review {} – {}", when(&first), when(&last))
    }
}

/// A timestamp as `<time>`, or a dash when there is none.
fn time_html(ts: &str) -> String {
    if ts.is_empty() {
        dash()
    } else {
        format!("<time datetime=\"{}\">{}</time>", esc(ts), esc(&when(ts)))
    }
}

/// "first – last" of two timestamps (one when they are equal, the date once when they share
/// it), or a dash.
fn span_html(first: &str, last: &str) -> String {
    match (first.is_empty(), last.is_empty()) {
        (true, true) => dash(),
        _ if first == last => time_html(first),
        _ => match (utc_parts(first), utc_parts(last)) {
            (Some((day, from)), Some((same_day, to))) if day == same_day => format!(
                "<time datetime=\"{}\">{day} {from}</time> – <time datetime=\"{}\">{to} UTC</time>",
                esc(first),
                esc(last)
            ),
            _ => format!("{} – {}", time_html(first), time_html(last)),
        },
    }
}

/// The date and the time of a timestamp in the report's UTC form ("2026-12-02T05:02:11Z").
fn utc_parts(ts: &str) -> Option<(&str, &str)> {
    let (day, time) = ts.strip_suffix('Z')?.split_once('T')?;
    let digits = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|c| c.is_ascii_digit() || c == b'-' || c == b':')
    };
    (digits(day, 10) && digits(time, 8)).then_some((day, time))
}

fn dash() -> String {
    "<span class=\"muted\">—</span>".into()
}

/// `s` as `<code>`, or a dash when empty.
fn code(s: &str) -> String {
    if s.is_empty() {
        dash()
    } else {
        format!("<code>{}</code>", esc(s))
    }
}

/// A legend: colour swatches with labels (and totals).
fn legend(items: &[(&str, String, &str)]) -> String {
    let entries: String = items
        .iter()
        .map(|(label, value, color)| {
            format!(
                "<li><span class=\"swatch\" style=\"background: {color}\"></span>{label} <span class=\"muted\">{value}</span></li>"
            )
        })
        .collect();
    format!("<ul class=\"legend\">{entries}</ul>")
}

fn figure(class: &str, title: &str, legend_html: &str, chart: &svg::Chart) -> String {
    let notes: String = chart
        .notes
        .iter()
        .map(|n| format!("<span class=\"chart-note\">{}</span>", esc(n)))
        .collect();
    format!(
        "<figure class=\"chart {class}\"><figcaption><h3>{title}</h3>{notes}</figcaption>{legend_html}{}</figure>\n",
        chart.body
    )
}

fn charts(report: &Value) -> String {
    let decisions = field(field(report, "summary"), "decisions");
    let timeline_legend: Vec<(&str, String, &str)> = DECISIONS
        .iter()
        .map(|d| (d.label, num(count(decisions, d.key)), d.color))
        .collect();
    let denials = list(report, "denials_by_reason");
    let sum = |key: &str| {
        denials
            .iter()
            .fold(0u64, |a, d| a.saturating_add(count(d, key)))
    };
    let denial_legend = [
        (DENY.label, num(sum("deny")), DENY.color),
        (
            SHADOW_DENY.label,
            num(sum("shadow_deny")),
            SHADOW_DENY.color,
        ),
    ];
    let scopes = |key: &str| {
        list(report, "workloads")
            .iter()
            .fold(0u64, |a, w| a.saturating_add(list(w, key).len() as u64))
    };
    let scope_legend = [
        ("Granted", num(scopes("scopes_granted")), svg::GRANTED_COLOR),
        ("Used", num(scopes("scopes_used")), svg::USED_COLOR),
    ];
    format!(
        "<section id=\"charts\" class=\"section\">\n<h2>Charts</h2>\n{}<div class=\"chart-row\">\n{}{}</div>\n</section>\n",
        figure("wide", "Decisions over time", &legend(&timeline_legend), &svg::timeline(report)),
        figure("half", "Denials by reason", &legend(&denial_legend), &svg::denials(report)),
        figure("half", "Scopes granted vs used", &legend(&scope_legend), &svg::scopes(report)),
    )
}

fn footer(report: &Value) -> String {
    format!(
        "<footer class=\"page-foot\">Generated by {} {} at {}. This page is self-contained: it loads nothing \
         and runs no script. The JSON report (<code>--format json</code>) holds the same data.</footer>\n",
        esc(&text(report, "tool")),
        esc(&text(report, "version")),
        time_html(&text(report, "generated_at")),
    )
}
