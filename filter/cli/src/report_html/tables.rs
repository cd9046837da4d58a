//! The per-workload and per-route parts of the page: an overview table of the workloads, a
//! card per workload (actions, scopes, denials, actor chains), and a table of the routes.

use super::fields::{count, field, list, opt_count, text, texts};
use super::findings::chains_html;
use super::text::{duration, esc, num, percent};
use super::{code, dash, span_html, DECISIONS, SHADOW_DENY};
use serde_json::Value;

/// The most workload cards; the table lists every workload.
pub(super) const MAX_CARDS: usize = 100;
/// The most rows of a list inside a card or a cell (actions, callers, chains).
const MAX_ITEMS: usize = 12;

fn th_num(label: &str) -> String {
    format!("<th class=\"num\">{label}</th>")
}

fn td_num(n: u64) -> String {
    format!("<td class=\"num\" data-value=\"{n}\">{}</td>", num(n))
}

/// "and N more" after `shown` of `total` items, or nothing.
fn more(total: usize, shown: usize, what: &str) -> String {
    if total > shown {
        format!(
            "<div class=\"more small muted\">and {} more {what}</div>",
            num((total - shown) as u64)
        )
    } else {
        String::new()
    }
}

/// The decisions as one proportional bar (with a tooltip) and the non-zero counts.
fn decision_bar(decisions: &Value) -> String {
    let total = DECISIONS
        .iter()
        .fold(0u64, |a, d| a.saturating_add(count(decisions, d.key)));
    if total == 0 {
        return dash();
    }
    let mut bar = String::new();
    let mut parts = Vec::new();
    for d in DECISIONS {
        let n = count(decisions, d.key);
        if n == 0 {
            continue;
        }
        bar.push_str(&format!(
            "<span style=\"width: {}; background: {}\" data-decision=\"{}\" data-count=\"{n}\"></span>",
            percent(n, total),
            d.color,
            d.key
        ));
        parts.push(format!("{} {}", num(n), d.label.to_lowercase()));
    }
    format!(
        "<div class=\"dbar\" title=\"{}\">{bar}</div><div class=\"small muted\">{}</div>",
        esc(&parts.join(", ")),
        parts.join(" · ")
    )
}

/// The workloads: one overview table and a card per workload.
pub(super) fn workloads(report: &Value) -> String {
    let all = list(report, "workloads");
    let mut out = format!(
        "<section id=\"workloads\" class=\"section\">\n<h2>Workloads <span class=\"count\">{}</span></h2>\n",
        num(all.len() as u64)
    );
    if all.is_empty() {
        out.push_str("<p class=\"no-data\">No workload in the window.</p>\n</section>\n");
        return out;
    }
    out.push_str(&overview(all));
    out.push_str("<div class=\"workload-cards\">\n");
    for (i, w) in all.iter().take(MAX_CARDS).enumerate() {
        out.push_str(&workload_card(i, w));
    }
    out.push_str("</div>\n");
    out.push_str(&more(
        all.len(),
        MAX_CARDS,
        "workloads (in the table above)",
    ));
    out.push_str("</section>\n");
    out
}

fn overview(all: &[Value]) -> String {
    let mut out = String::from("<div class=\"table-wrap\"><table class=\"workloads\">\n<thead><tr><th>Workload</th><th>Provider</th>");
    out.push_str(&th_num("Requests"));
    for d in DECISIONS {
        out.push_str(&th_num(d.label));
    }
    out.push_str(&th_num("Scopes used"));
    out.push_str("<th>Unused scopes</th>");
    out.push_str(&th_num("Max token TTL"));
    out.push_str(&th_num("Delegation"));
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, w) in all.iter().enumerate() {
        out.push_str(&overview_row(i, w));
    }
    out.push_str("</tbody></table></div>\n");
    out
}

fn overview_row(i: usize, w: &Value) -> String {
    let name = text(w, "workload");
    let link = if i < MAX_CARDS {
        format!("<a href=\"#workload-{i}\"><code>{}</code></a>", esc(&name))
    } else {
        code(&name)
    };
    let decisions = field(w, "decisions");
    let cells: String = DECISIONS
        .iter()
        .map(|d| td_num(count(decisions, d.key)))
        .collect();
    let granted = texts(w, "scopes_granted");
    let used = texts(w, "scopes_used");
    let unused = texts(w, "scopes_unused");
    let unused_html = if unused.is_empty() {
        dash()
    } else {
        scope_chips(&unused, "unused")
    };
    format!(
        "<tr data-workload=\"{}\"><td class=\"subject\">{link}</td><td>{}</td>{}{cells}\
         <td class=\"num\" data-used=\"{}\" data-granted=\"{}\">{} / {}</td><td>{unused_html}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        esc(&name),
        provider_html(&text(w, "provider")),
        td_num(count(w, "requests")),
        used.len(),
        granted.len(),
        used.len(),
        granted.len(),
        ttl_html(opt_count(w, "max_token_ttl_seconds")),
        num(count(w, "max_delegation_depth")),
    )
}

fn provider_html(provider: &str) -> String {
    if provider.is_empty() {
        dash()
    } else {
        format!("<span class=\"tag\">{}</span>", esc(provider))
    }
}

fn ttl_html(ttl: Option<u64>) -> String {
    ttl.map_or_else(dash, |s| {
        format!("<span title=\"{} s\">{}</span>", num(s), duration(s))
    })
}

fn scope_chips(scopes: &[String], kind: &str) -> String {
    scopes
        .iter()
        .map(|s| format!("<span class=\"scope {kind}\">{}</span>", esc(s)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn workload_card(i: usize, w: &Value) -> String {
    let name = text(w, "workload");
    let subject = text(w, "subject");
    let subject_note = if subject.is_empty() {
        "<div class=\"small muted\">no verified subject</div>".to_string()
    } else if subject != name {
        format!(
            "<div class=\"small muted\">subject {}</div>",
            code(&subject)
        )
    } else {
        String::new()
    };
    format!(
        "<article class=\"workload-card\" id=\"workload-{i}\" data-workload=\"{}\">\n\
         <header><h3><code>{}</code></h3>{}</header>{subject_note}\n{}\n<dl class=\"facts\">{}</dl>\n\
         <div class=\"card-cols\">{}{}{}{}</div>\n</article>\n",
        esc(&name),
        esc(&name),
        match text(w, "provider") {
            p if p.is_empty() => String::new(),
            p => provider_html(&p),
        },
        decision_bar(field(w, "decisions")),
        facts(w),
        actions_block(w),
        scopes_block(w),
        denials_block(w),
        chains_block(w),
    )
}

fn facts(w: &Value) -> String {
    [
        ("Requests", num(count(w, "requests"))),
        (
            "Max token TTL",
            ttl_html(opt_count(w, "max_token_ttl_seconds")),
        ),
        ("Delegation depth", num(count(w, "max_delegation_depth"))),
        (
            "Seen",
            span_html(&text(w, "first_seen"), &text(w, "last_seen")),
        ),
    ]
    .iter()
    .map(|(k, v)| format!("<div><dt>{k}</dt><dd>{v}</dd></div>"))
    .collect()
}

fn block(title: &str, body: &str) -> String {
    format!("<div class=\"block\"><h4>{title}</h4>{body}</div>")
}

/// A two-column table (name, count) of `items`, cut to [`MAX_ITEMS`].
fn mini_table(items: &[Value], name: &str, n: &str, what: &str, empty: &str) -> String {
    if items.is_empty() {
        return format!("<p class=\"muted small\">{empty}</p>");
    }
    let rows: String = items
        .iter()
        .take(MAX_ITEMS)
        .map(|i| {
            format!(
                "<tr><td>{}</td>{}</tr>",
                code(&text(i, name)),
                td_num(count(i, n))
            )
        })
        .collect();
    format!(
        "<table class=\"mini\"><tbody>{rows}</tbody></table>{}",
        more(items.len(), MAX_ITEMS, what)
    )
}

fn actions_block(w: &Value) -> String {
    block(
        "Actions",
        &mini_table(list(w, "actions"), "action", "requests", "actions", "none"),
    )
}

fn denials_block(w: &Value) -> String {
    block(
        "Denials",
        &mini_table(list(w, "denials"), "reason", "count", "reasons", "none"),
    )
}

fn scopes_block(w: &Value) -> String {
    let granted = texts(w, "scopes_granted");
    let used = texts(w, "scopes_used");
    let unused = texts(w, "scopes_unused");
    if granted.is_empty() && used.is_empty() {
        return block("Scopes", "<p class=\"muted small\">none presented</p>");
    }
    let mut body = format!(
        "<p class=\"small\" data-granted=\"{}\" data-used=\"{}\">{} of {} granted scopes used</p><div class=\"scopes\">{}",
        granted.len(),
        used.len(),
        num(used.len() as u64),
        num(granted.len() as u64),
        scope_chips(&used, "used")
    );
    if !unused.is_empty() {
        body.push(' ');
        body.push_str(&scope_chips(&unused, "unused"));
    }
    body.push_str("</div>");
    block("Scopes", &body)
}

fn chains_block(w: &Value) -> String {
    let chains = list(w, "actor_chains");
    let body = if chains.is_empty() {
        "<p class=\"muted small\">none (direct calls)</p>".to_string()
    } else {
        let shown = chains.get(..MAX_ITEMS).unwrap_or(chains);
        format!(
            "{}{}",
            chains_html(shown),
            more(chains.len(), MAX_ITEMS, "chains")
        )
    };
    block("Actor chains", &body)
}

/// The routes: one row per route of the policy (or per action seen).
pub(super) fn routes(report: &Value) -> String {
    let all = list(report, "routes");
    let mut out = format!(
        "<section id=\"routes\" class=\"section\">\n<h2>Routes <span class=\"count\">{}</span></h2>\n",
        num(all.len() as u64)
    );
    if all.is_empty() {
        out.push_str("<p class=\"no-data\">No route in the window.</p>\n</section>\n");
        return out;
    }
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"routes\">\n<thead><tr><th>Route</th><th>Mode</th>",
    );
    out.push_str(&th_num("Requests"));
    out.push_str("<th>Decisions</th><th>Callers</th><th>Actors</th>");
    out.push_str(&th_num("Depth seen / allowed"));
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in all {
        out.push_str(&route_row(r));
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

fn mode_html(mode: &str) -> String {
    match mode {
        "enforce" => "<span class=\"badge mode-enforce\">enforce</span>".into(),
        "shadow" => format!(
            "<span class=\"badge mode-shadow\" style=\"--accent: {}\">shadow</span>",
            SHADOW_DENY.color
        ),
        "" => dash(),
        other => format!("<span class=\"badge\">{}</span>", esc(other)),
    }
}

fn callers_html(callers: &[Value]) -> String {
    if callers.is_empty() {
        return dash();
    }
    let items: String = callers
        .iter()
        .take(MAX_ITEMS)
        .map(|c| {
            format!(
                "<li><code>{}</code><span class=\"n\">{}</span></li>",
                esc(&text(c, "workload")),
                num(count(c, "requests"))
            )
        })
        .collect();
    format!(
        "<ul class=\"plain counted\">{items}</ul>{}",
        more(callers.len(), MAX_ITEMS, "callers")
    )
}

fn actors_html(actors: &[String]) -> String {
    if actors.is_empty() {
        return dash();
    }
    let items: String = actors
        .iter()
        .take(MAX_ITEMS)
        .map(|a| format!("<li><code>{}</code></li>", esc(a)))
        .collect();
    format!(
        "<ul class=\"plain\">{items}</ul>{}",
        more(actors.len(), MAX_ITEMS, "actors")
    )
}

/// "seen / allowed", marked when delegated calls went deeper than the route allows.
fn depth_html(r: &Value) -> String {
    let seen = count(r, "max_delegation_depth_seen");
    let allowed = opt_count(r, "max_delegation_depth_allowed");
    let over = allowed.is_some_and(|a| seen > a);
    format!(
        "<td class=\"num{}\" data-seen=\"{seen}\"{}>{} / {}</td>",
        if over { " over" } else { "" },
        if over {
            " title=\"deeper than allowed (those calls were denied)\""
        } else {
            ""
        },
        num(seen),
        allowed.map_or("—".to_string(), num)
    )
}

fn route_row(r: &Value) -> String {
    let requests = count(r, "requests");
    let index = opt_count(r, "route_index").map_or(String::new(), |i| {
        format!("<div class=\"small muted\">routes[{i}]</div>")
    });
    let decisions = if requests == 0 {
        "<span class=\"muted\">never called</span>".to_string()
    } else {
        format!(
            "{}<div class=\"small muted seen\">{}</div>",
            decision_bar(field(r, "decisions")),
            span_html(&text(r, "first_seen"), &text(r, "last_seen"))
        )
    };
    format!(
        "<tr data-action=\"{}\"{}><td>{}{index}</td><td>{}</td>{}<td class=\"decisions\">{decisions}</td>\
         <td class=\"subject\">{}</td><td class=\"subject\">{}</td>{}</tr>\n",
        esc(&text(r, "action")),
        if requests == 0 { " class=\"never-called\"" } else { "" },
        code(&text(r, "action")),
        mode_html(&text(r, "mode")),
        td_num(requests),
        callers_html(list(r, "callers")),
        actors_html(&texts(r, "actors")),
        depth_html(r),
    )
}
