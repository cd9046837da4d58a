//! The report's charts as inline SVG: decisions over time (stacked bars per timeline bucket),
//! denials by reason (horizontal bars, deny and shadow_deny stacked) and scopes granted vs used
//! per workload (paired horizontal bars).
//!
//! Every bar is one element of class `bar` carrying its numbers in data attributes
//! (`data-count` on each segment) and a `<title>` tooltip, so a test reads the values from the
//! DOM. A chart without data is a note (same id) instead of an empty frame; many timeline
//! buckets are summed into at most [`MAX_BARS`] bars, many rows are cut to [`MAX_ROWS`] with
//! an "and N more" note.

use super::fields::{count, field, list, text, texts};
use super::text::{epoch, esc, middle_cut, minute_of, num};
use super::{DECISIONS, DENY, SHADOW_DENY};
use serde_json::Value;
use std::collections::BTreeMap;

/// The most bars of the timeline: more buckets are summed into wider bars.
pub(super) const MAX_BARS: u64 = 200;
/// The most rows of the denial and scope charts.
pub(super) const MAX_ROWS: usize = 20;

/// A chart: the SVG (or the no-data note) and the notes below it.
pub(super) struct Chart {
    /// `<svg id=...>` or `<p id=... class="no-data">`.
    pub(super) body: String,
    /// What the caption adds (bucket width, rows left out), plain text.
    pub(super) notes: Vec<String>,
}

/// A coordinate with at most one decimal.
fn f(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

fn no_data(id: &str, message: &str) -> Chart {
    Chart {
        body: format!(
            "<p id=\"{id}\" class=\"no-data\" data-empty=\"true\">{}</p>",
            esc(message)
        ),
        notes: Vec::new(),
    }
}

fn svg_open(id: &str, width: f64, height: f64, title: &str) -> String {
    format!(
        "<svg id=\"{id}\" class=\"chart-svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         role=\"img\" aria-labelledby=\"{id}-title\"><title id=\"{id}-title\">{}</title>",
        esc(title),
        w = f(width),
        h = f(height)
    )
}

/// A step of 1, 2 or 5 times a power of ten that divides `0..=max` into at most `ticks` parts.
fn nice_step(max: u64, ticks: u64) -> u64 {
    let mut magnitude: u64 = 1;
    loop {
        for m in [1, 2, 5] {
            let step = magnitude.saturating_mul(m);
            if step.saturating_mul(ticks) >= max {
                return step;
            }
        }
        match magnitude.checked_mul(10) {
            Some(next) => magnitude = next,
            None => return u64::MAX,
        }
    }
}

/// The top of an axis for values up to `max` and its tick values (0 first).
fn axis(max: u64, ticks: u64) -> (u64, Vec<u64>) {
    let step = nice_step(max.max(1), ticks);
    let top = max.max(1).div_ceil(step).saturating_mul(step);
    let values = (0..=top / step).map(|i| i.saturating_mul(step)).collect();
    (top, values)
}

/// `value` of `top` as a length of `span` pixels.
fn scale(value: u64, top: u64, span: f64) -> f64 {
    if top == 0 {
        0.0
    } else {
        value as f64 / top as f64 * span
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions over time

/// One bar of the timeline: one bucket, or consecutive buckets summed.
struct Slot {
    first: String,
    last: String,
    buckets: u64,
    counts: [u64; 5],
}

impl Slot {
    fn total(&self) -> u64 {
        self.counts.iter().fold(0, |a, c| a.saturating_add(*c))
    }
}

/// The timeline's buckets placed on a time axis of `width` slots of `group` buckets each.
struct Timeline {
    slots: BTreeMap<u64, Slot>,
    width: u64,
    group: u64,
    bucket_seconds: u64,
    /// The first bucket's start in seconds, when every start is a timestamp (else the buckets
    /// are placed one after the other).
    origin: Option<i64>,
}

fn decision_counts(bucket: &Value) -> [u64; 5] {
    DECISIONS.map(|d| count(bucket, d.key))
}

fn place_buckets(buckets: &[Value], bucket_seconds: u64) -> Timeline {
    let starts: Option<Vec<i64>> = buckets.iter().map(|b| epoch(&text(b, "start"))).collect();
    let origin = starts.as_ref().and_then(|s| s.iter().min().copied());
    let positions: Vec<u64> = match (&starts, origin) {
        (Some(starts), Some(t0)) => starts
            .iter()
            .map(|t| t.abs_diff(t0) / bucket_seconds)
            .collect(),
        _ => (0..buckets.len() as u64).collect(),
    };
    let span = positions.iter().max().map_or(0, |m| m.saturating_add(1));
    let group = span.div_ceil(MAX_BARS).max(1);
    let mut slots: BTreeMap<u64, Slot> = BTreeMap::new();
    for (bucket, pos) in buckets.iter().zip(&positions) {
        let start = text(bucket, "start");
        let slot = slots.entry(pos / group).or_insert_with(|| Slot {
            first: start.clone(),
            last: start.clone(),
            buckets: 0,
            counts: [0; 5],
        });
        slot.last = start;
        slot.buckets += 1;
        for (sum, c) in slot.counts.iter_mut().zip(decision_counts(bucket)) {
            *sum = sum.saturating_add(c);
        }
    }
    Timeline {
        slots,
        width: span.div_ceil(group).max(1),
        group,
        bucket_seconds,
        origin,
    }
}

impl Timeline {
    /// The start of slot `key` as "2026-12-02 05:02", or the raw start of its first bucket.
    fn label(&self, key: u64) -> String {
        match self.origin {
            Some(t0) => {
                let offset = key
                    .saturating_mul(self.group)
                    .saturating_mul(self.bucket_seconds);
                minute_of(t0.saturating_add(i64::try_from(offset).unwrap_or(i64::MAX)))
            }
            None => self
                .slots
                .get(&key)
                .map(|s| s.first.clone())
                .unwrap_or_default(),
        }
    }
}

/// Decisions over time: one stacked bar per timeline bucket (or per group of buckets).
pub(super) fn timeline(report: &Value) -> Chart {
    const ID: &str = "chart-timeline";
    let tl = field(report, "timeline");
    let bucket_seconds = count(tl, "bucket_seconds").max(1);
    let t = place_buckets(list(tl, "buckets"), bucket_seconds);
    if t.slots.values().all(|s| s.total() == 0) {
        return no_data(ID, "No decisions in the window.");
    }
    let bucket = super::text::duration(bucket_seconds);
    let mut notes = vec![format!("Requests per {bucket} bucket, UTC.")];
    if t.group > 1 {
        notes.push(format!(
            "{} buckets summed into {} bars of {} each.",
            num(t.slots.values().map(|s| s.buckets).sum()),
            num(t.slots.len() as u64),
            super::text::duration(bucket_seconds.saturating_mul(t.group))
        ));
    }
    Chart {
        body: draw_timeline(ID, &t),
        notes,
    }
}

const TL_W: f64 = 1100.0;
const TL_H: f64 = 280.0;
const TL_LEFT: f64 = 56.0;
const TL_RIGHT: f64 = 12.0;
const TL_TOP: f64 = 12.0;
const TL_BOTTOM: f64 = 34.0;

fn draw_timeline(id: &str, t: &Timeline) -> String {
    let plot_w = TL_W - TL_LEFT - TL_RIGHT;
    let plot_h = TL_H - TL_TOP - TL_BOTTOM;
    let max = t.slots.values().map(Slot::total).max().unwrap_or(0);
    let (top, ticks) = axis(max, 5);
    let mut out = svg_open(id, TL_W, TL_H, "Decisions over time, stacked by decision");
    out.push_str(&y_grid(&ticks, top, plot_w, plot_h));
    let slot_w = plot_w / t.width as f64;
    let bar_w = if slot_w >= 4.0 { slot_w * 0.78 } else { slot_w };
    out.push_str("<g class=\"bars\">");
    for (key, slot) in &t.slots {
        let x = TL_LEFT + *key as f64 * slot_w + (slot_w - bar_w) / 2.0;
        out.push_str(&timeline_bar(slot, x, bar_w, top, plot_h));
    }
    out.push_str("</g>");
    out.push_str(&x_labels(t, slot_w, plot_h));
    out.push_str("</svg>");
    out
}

fn y_grid(ticks: &[u64], top: u64, plot_w: f64, plot_h: f64) -> String {
    let mut out = String::from("<g class=\"grid\">");
    for v in ticks {
        let y = TL_TOP + plot_h - scale(*v, top, plot_h);
        out.push_str(&format!(
            "<line x1=\"{l}\" x2=\"{r}\" y1=\"{y}\" y2=\"{y}\" class=\"{c}\"/>\
             <text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{}</text>",
            num(*v),
            l = f(TL_LEFT),
            r = f(TL_LEFT + plot_w),
            y = f(y),
            c = if *v == 0 { "axis" } else { "gridline" },
            tx = f(TL_LEFT - 8.0),
            ty = f(y + 4.0),
        ));
    }
    out.push_str("</g>");
    out
}

fn slot_title(slot: &Slot) -> String {
    let when = if slot.buckets > 1 {
        format!(
            "{} – {} ({} buckets)",
            super::text::when(&slot.first),
            super::text::when(&slot.last),
            slot.buckets
        )
    } else {
        super::text::when(&slot.first)
    };
    let parts: Vec<String> = DECISIONS
        .iter()
        .zip(slot.counts)
        .filter(|(_, c)| *c > 0)
        .map(|(d, c)| format!("{} {}", d.key, num(c)))
        .collect();
    format!(
        "{when}: {} requests\n{}",
        num(slot.total()),
        parts.join(", ")
    )
}

fn timeline_bar(slot: &Slot, x: f64, w: f64, top: u64, plot_h: f64) -> String {
    let data: String = DECISIONS
        .iter()
        .zip(slot.counts)
        .map(|(d, c)| format!(" data-{}=\"{c}\"", d.key.replace('_', "-")))
        .collect();
    let mut out = format!(
        "<g class=\"bar\" data-start=\"{}\" data-buckets=\"{}\" data-total=\"{}\"{data}><title>{}</title>",
        esc(&slot.first),
        slot.buckets,
        slot.total(),
        esc(&slot_title(slot))
    );
    let mut y = TL_TOP + plot_h;
    for (d, c) in DECISIONS.iter().zip(slot.counts) {
        if c == 0 {
            continue;
        }
        let h = scale(c, top, plot_h);
        y -= h;
        out.push_str(&format!(
            "<rect class=\"seg\" data-decision=\"{}\" data-count=\"{c}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
            d.key,
            f(x),
            f(y),
            f(w),
            f(h),
            d.color
        ));
    }
    out.push_str("</g>");
    out
}

/// Up to 8 time labels under the bars; the date is left out when all share one day.
fn x_labels(t: &Timeline, slot_w: f64, plot_h: f64) -> String {
    let every = t.width.div_ceil(8).max(1);
    let keys: Vec<u64> = (0..t.width)
        .step_by(usize::try_from(every).unwrap_or(1))
        .collect();
    let labels: Vec<String> = keys.iter().map(|k| t.label(*k)).collect();
    let one_day = t.origin.is_some()
        && labels
            .iter()
            .all(|l| l.get(..10) == labels.first().and_then(|f| f.get(..10)));
    let mut out = String::from("<g class=\"x-labels\">");
    for (key, label) in keys.iter().zip(&labels) {
        let shown = match (one_day, label.get(11..)) {
            (true, Some(time)) => time.to_string(),
            _ => label.get(5..).unwrap_or(label).to_string(),
        };
        let x = TL_LEFT + (*key as f64 + 0.5) * slot_w;
        out.push_str(&format!(
            "<line class=\"tick\" x1=\"{x}\" x2=\"{x}\" y1=\"{y0}\" y2=\"{y1}\"/><text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
            esc(&shown),
            x = f(x),
            y0 = f(TL_TOP + plot_h),
            y1 = f(TL_TOP + plot_h + 5.0),
            ty = f(TL_TOP + plot_h + 20.0)
        ));
    }
    out.push_str("</g>");
    out
}

// ---------------------------------------------------------------------------------------------
// Horizontal bar charts (denials by reason, scopes per workload)

const ROW_W: f64 = 540.0;
const ROW_TOP: f64 = 6.0;
const ROW_BOTTOM: f64 = 26.0;
const VALUE_W: f64 = 48.0;

/// One horizontal segment of a row.
struct Segment<'a> {
    /// The class attribute ("seg", "bar granted").
    class: &'a str,
    /// The data attribute naming what is counted, and its value (`data-decision="deny"`).
    data: (&'a str, &'a str),
    count: u64,
    color: &'a str,
}

/// The vertical grid and value labels under rows drawn from `x0` to `x1`, for `rows_h` pixels.
fn x_grid(top: u64, ticks: &[u64], x0: f64, x1: f64, rows_h: f64) -> String {
    let mut out = String::from("<g class=\"grid\">");
    for v in ticks {
        let x = x0 + scale(*v, top, x1 - x0);
        out.push_str(&format!(
            "<line x1=\"{x}\" x2=\"{x}\" y1=\"{y0}\" y2=\"{y1}\" class=\"{c}\"/><text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
            num(*v),
            x = f(x),
            y0 = f(ROW_TOP),
            y1 = f(ROW_TOP + rows_h),
            c = if *v == 0 { "axis" } else { "gridline" },
            ty = f(ROW_TOP + rows_h + 16.0)
        ));
    }
    out.push_str("</g>");
    out
}

/// Segments laid end to end from `x0` at height `y`; returns the SVG and the end.
fn segments(segs: &[Segment<'_>], x0: f64, y: f64, h: f64, top: u64, span: f64) -> (String, f64) {
    let mut out = String::new();
    let mut x = x0;
    for s in segs {
        let w = scale(s.count, top, span);
        out.push_str(&format!(
            "<rect class=\"{}\" data-{}=\"{}\" data-count=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" rx=\"2\"/>",
            s.class,
            s.data.0,
            s.data.1,
            s.count,
            f(x),
            f(y),
            f(w),
            f(h),
            s.color
        ));
        x += w;
    }
    (out, x)
}

fn value_label(x: f64, y: f64, text: &str, class: &str) -> String {
    format!(
        "<text class=\"{class}\" x=\"{}\" y=\"{}\">{}</text>",
        f(x + 6.0),
        f(y),
        esc(text)
    )
}

fn row_label(x: f64, y: f64, text: &str, max_chars: usize) -> String {
    format!(
        "<text class=\"row-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        f(x),
        f(y),
        esc(&middle_cut(text, max_chars))
    )
}

// Denials by reason

struct Denial {
    reason: String,
    deny: u64,
    shadow_deny: u64,
}

const DEN_LABEL_W: f64 = 150.0;
const DEN_ROW_H: f64 = 28.0;

/// Denials by reason: one bar per reason, deny and shadow_deny stacked.
pub(super) fn denials(report: &Value) -> Chart {
    const ID: &str = "chart-denials";
    let all: Vec<Denial> = list(report, "denials_by_reason")
        .iter()
        .map(|d| Denial {
            reason: text(d, "reason"),
            deny: count(d, "deny"),
            shadow_deny: count(d, "shadow_deny"),
        })
        .filter(|d| d.deny.saturating_add(d.shadow_deny) > 0)
        .collect();
    if all.is_empty() {
        return no_data(ID, "No denials in the window.");
    }
    let (shown, rest) = all.split_at(all.len().min(MAX_ROWS));
    let mut notes = Vec::new();
    if !rest.is_empty() {
        let more: u64 = rest
            .iter()
            .map(|d| d.deny.saturating_add(d.shadow_deny))
            .sum();
        notes.push(format!(
            "and {} more reasons ({} denials)",
            num(rest.len() as u64),
            num(more)
        ));
    }
    Chart {
        body: draw_denials(ID, shown),
        notes,
    }
}

fn draw_denials(id: &str, rows: &[Denial]) -> String {
    let rows_h = rows.len() as f64 * DEN_ROW_H;
    let (x0, x1) = (DEN_LABEL_W + 8.0, ROW_W - VALUE_W);
    let max = rows
        .iter()
        .map(|d| d.deny.saturating_add(d.shadow_deny))
        .max()
        .unwrap_or(0);
    let (top, ticks) = axis(max, 4);
    let mut out = svg_open(
        id,
        ROW_W,
        ROW_TOP + rows_h + ROW_BOTTOM,
        "Denials by reason (deny and shadow_deny)",
    );
    out.push_str(&x_grid(top, &ticks, x0, x1, rows_h));
    for (i, d) in rows.iter().enumerate() {
        let y = ROW_TOP + i as f64 * DEN_ROW_H;
        let total = d.deny.saturating_add(d.shadow_deny);
        let segs = [
            Segment {
                class: "seg",
                data: ("decision", DENY.key),
                count: d.deny,
                color: DENY.color,
            },
            Segment {
                class: "seg",
                data: ("decision", SHADOW_DENY.key),
                count: d.shadow_deny,
                color: SHADOW_DENY.color,
            },
        ];
        let (rects, end) = segments(&segs, x0, y + 6.0, DEN_ROW_H - 12.0, top, x1 - x0);
        out.push_str(&format!(
            "<g class=\"bar\" data-reason=\"{r}\" data-deny=\"{}\" data-shadow-deny=\"{}\" data-total=\"{total}\">\
             <title>{r}: {} denials (deny {}, shadow_deny {})</title>{}{rects}{}</g>",
            d.deny,
            d.shadow_deny,
            num(total),
            num(d.deny),
            num(d.shadow_deny),
            row_label(DEN_LABEL_W, y + DEN_ROW_H / 2.0 + 4.0, &d.reason, 24),
            value_label(end, y + DEN_ROW_H / 2.0 + 4.0, &num(total), "value"),
            r = esc(&d.reason),
        ));
    }
    out.push_str("</svg>");
    out
}

// Scopes granted vs used

struct ScopeRow {
    workload: String,
    granted: Vec<String>,
    used: Vec<String>,
    unused: Vec<String>,
}

/// Scope bar colours: granted (light), used (dark).
pub(super) const GRANTED_COLOR: &str = "#b9cbe4";
/// The colour of the used-scopes bar.
pub(super) const USED_COLOR: &str = "#2f62a8";

const SC_LABEL_W: f64 = 200.0;
const SC_ROW_H: f64 = 34.0;

/// Scopes granted vs used: two bars per workload (workloads without scopes are left out).
pub(super) fn scopes(report: &Value) -> Chart {
    const ID: &str = "chart-scopes";
    let workloads = list(report, "workloads");
    let all: Vec<ScopeRow> = workloads
        .iter()
        .map(|w| ScopeRow {
            workload: text(w, "workload"),
            granted: texts(w, "scopes_granted"),
            used: texts(w, "scopes_used"),
            unused: texts(w, "scopes_unused"),
        })
        .filter(|r| !r.granted.is_empty() || !r.used.is_empty())
        .collect();
    if all.is_empty() {
        return no_data(ID, "No workload presented scopes in the window.");
    }
    let (shown, rest) = all.split_at(all.len().min(MAX_ROWS));
    let unused: usize = all.iter().map(|r| r.unused.len()).sum();
    let mut notes = vec![format!(
        "{} granted scope{} never used.",
        num(unused as u64),
        if unused == 1 { "" } else { "s" }
    )];
    if !rest.is_empty() {
        notes.push(format!("and {} more workloads", num(rest.len() as u64)));
    }
    let without = workloads.len().saturating_sub(all.len());
    if without > 0 {
        notes.push(format!(
            "{} workload{} without scopes not shown.",
            num(without as u64),
            if without == 1 { "" } else { "s" }
        ));
    }
    Chart {
        body: draw_scopes(ID, shown),
        notes,
    }
}

fn scope_title(r: &ScopeRow) -> String {
    let unused = if r.unused.is_empty() {
        "none unused".to_string()
    } else {
        format!("unused: {}", r.unused.join(", "))
    };
    format!(
        "{}: {} granted, {} used; {unused}",
        r.workload,
        r.granted.len(),
        r.used.len()
    )
}

fn draw_scopes(id: &str, rows: &[ScopeRow]) -> String {
    let rows_h = rows.len() as f64 * SC_ROW_H;
    let (x0, x1) = (SC_LABEL_W + 8.0, ROW_W - VALUE_W);
    let max = rows
        .iter()
        .map(|r| r.granted.len().max(r.used.len()) as u64)
        .max()
        .unwrap_or(0);
    let (top, ticks) = axis(max, 4);
    let mut out = svg_open(
        id,
        ROW_W,
        ROW_TOP + rows_h + ROW_BOTTOM,
        "Scopes granted vs used per workload",
    );
    out.push_str(&x_grid(top, &ticks, x0, x1, rows_h));
    for (i, r) in rows.iter().enumerate() {
        let y = ROW_TOP + i as f64 * SC_ROW_H;
        let (g, u) = (r.granted.len() as u64, r.used.len() as u64);
        let bar = |kind: &'static str, n: u64, color: &'static str, dy: f64| {
            let class = if kind == "granted" {
                "bar granted"
            } else {
                "bar used"
            };
            let seg = [Segment {
                class,
                data: ("kind", kind),
                count: n,
                color,
            }];
            let (rect, end) = segments(&seg, x0, y + dy, 11.0, top, x1 - x0);
            format!(
                "{rect}{}",
                value_label(end, y + dy + 9.5, &num(n), "value small")
            )
        };
        out.push_str(&format!(
            "<g class=\"pair\" data-workload=\"{}\" data-granted=\"{g}\" data-used=\"{u}\" data-unused=\"{}\">\
             <title>{}</title>{}{}{}</g>",
            esc(&r.workload),
            r.unused.len(),
            esc(&scope_title(r)),
            row_label(SC_LABEL_W, y + SC_ROW_H / 2.0 + 4.0, &r.workload, 34),
            bar("granted", g, GRANTED_COLOR, 5.0),
            bar("used", u, USED_COLOR, 18.0),
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axes() {
        assert_eq!(axis(0, 5), (1, vec![0, 1]));
        assert_eq!(axis(7, 5), (8, vec![0, 2, 4, 6, 8]));
        assert_eq!(axis(93, 5), (100, vec![0, 20, 40, 60, 80, 100]));
        assert_eq!(axis(4, 4), (4, vec![0, 1, 2, 3, 4]));
        assert_eq!(nice_step(u64::MAX, 5), 5_000_000_000_000_000_000);
    }

    #[test]
    fn coordinates_are_short() {
        assert_eq!(f(12.0), "12");
        assert_eq!(f(12.345), "12.3");
    }
}
