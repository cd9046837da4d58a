//! Unit tests of the HTML report: escaping, no URL references, the charts' bars against the
//! fixture, empty and odd reports, and the downsampling of huge ones. The helpers that read
//! the charts out of the markup serve the browser test too (on chromium's DOM).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::render;
use super::svg::{MAX_BARS, MAX_ROWS};
use super::tables::MAX_CARDS;
use serde_json::{json, Value};

/// The realistic report of `fixture.json` (5 workloads, 6 routes, 92 buckets, 12 findings).
pub(super) fn fixture() -> Value {
    serde_json::from_str(include_str!("fixture.json")).expect("fixture.json is JSON")
}

/// The markup of the element `<svg id="{id}"` up to its `</svg>`, if any.
pub(super) fn chart<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("<svg id=\"{id}\""))?;
    let len = html[start..].find("</svg>")?;
    Some(&html[start..start + len])
}

/// How many times `needle` occurs in `haystack`.
pub(super) fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The sum of `data-count` of the segments of `decision` in a chart.
pub(super) fn decision_sum(svg: &str, decision: &str) -> u64 {
    let marker = format!("data-decision=\"{decision}\" data-count=\"");
    svg.match_indices(&marker)
        .map(|(i, m)| {
            let rest = &svg[i + m.len()..];
            rest[..rest.find('"').unwrap()].parse::<u64>().unwrap()
        })
        .sum()
}

/// The values of every `name="..."` attribute in `html`.
pub(super) fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let marker = format!(" {name}=\"");
    html.match_indices(&marker)
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// What the fixture's charts must show: bars of the timeline, rows of the denials, workloads
/// with scopes.
pub(super) fn expected_bars(report: &Value) -> (usize, usize, usize) {
    let buckets = report["timeline"]["buckets"].as_array().unwrap().len();
    let reasons = report["denials_by_reason"].as_array().unwrap().len();
    let with_scopes = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| !w["scopes_granted"].as_array().unwrap().is_empty())
        .count();
    (buckets, reasons, with_scopes)
}

#[test]
fn fixture_is_consistent() {
    // The browser test checks the DOM against these sums, so the fixture must agree with itself.
    let r = fixture();
    let (buckets, reasons, with_scopes) = expected_bars(&r);
    assert!(buckets >= 60, "{buckets} buckets");
    assert_eq!((reasons, with_scopes), (5, 4));
    for d in ["allow", "deny", "shadow_allow", "shadow_deny", "public"] {
        let over_time: u64 = r["timeline"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b[d].as_u64().unwrap())
            .sum();
        assert_eq!(
            over_time,
            r["summary"]["decisions"][d].as_u64().unwrap(),
            "{d}"
        );
    }
    assert_eq!(r["workloads"].as_array().unwrap().len(), 5);
    assert_eq!(r["routes"].as_array().unwrap().len(), 6);
    assert!(r["routes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["mode"] == "shadow"));
    let codes: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.len() >= 10 && (1..=10).all(|n| codes.contains(&format!("RV{n:03}").as_str())));
}

#[test]
fn renders_one_html5_document() {
    let html = render(&fixture());
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(occurrences(&html, "<body>"), 1);
    for section in ["summary", "findings", "charts", "workloads", "routes"] {
        assert!(
            html.contains(&format!("<section id=\"{section}\"")),
            "{section}"
        );
    }
    // The header: tool, version, generated_at, window, inputs, policy hash.
    for text in [
        "workload-authz review",
        "0.1.0",
        "2026-12-03 08:00:00 UTC",
        "/var/log/envoy/access.log.1.gz",
        "b090747761a1f530",
        "examples/policy.json",
    ] {
        assert!(html.contains(text), "{text}");
    }
}

#[test]
fn summary_cards_carry_the_numbers() {
    let r = fixture();
    let html = render(&r);
    let s = &r["summary"];
    let mut metrics = vec![
        ("records", s["records"].as_u64().unwrap()),
        ("workloads", s["workloads"].as_u64().unwrap()),
        ("routes", s["routes"].as_u64().unwrap()),
    ];
    for (k, v) in s["decisions"].as_object().unwrap() {
        metrics.push((
            Box::leak(format!("decisions.{k}").into_boxed_str()),
            v.as_u64().unwrap(),
        ));
    }
    for (k, v) in s["findings"].as_object().unwrap() {
        metrics.push((
            Box::leak(format!("findings.{k}").into_boxed_str()),
            v.as_u64().unwrap(),
        ));
    }
    for (metric, value) in metrics {
        let attr = format!("data-metric=\"{metric}\" data-value=\"{value}\"");
        assert_eq!(occurrences(&html, &attr), 1, "{attr}");
    }
    assert!(html.contains("<div class=\"card-value\">3,326</div>"));
}

#[test]
fn chart_bars_match_the_fixture() {
    let r = fixture();
    let html = render(&r);
    let (buckets, reasons, with_scopes) = expected_bars(&r);
    let timeline = chart(&html, "chart-timeline").unwrap();
    assert_eq!(occurrences(timeline, "<g class=\"bar\""), buckets);
    for d in ["allow", "deny", "shadow_allow", "shadow_deny", "public"] {
        let want = r["summary"]["decisions"][d].as_u64().unwrap();
        assert_eq!(decision_sum(timeline, d), want, "{d}");
    }
    let denials = chart(&html, "chart-denials").unwrap();
    assert_eq!(occurrences(denials, "<g class=\"bar\""), reasons);
    assert!(denials.contains(
        "data-reason=\"missing_scope\" data-deny=\"24\" data-shadow-deny=\"90\" data-total=\"114\""
    ));
    let scopes = chart(&html, "chart-scopes").unwrap();
    assert_eq!(occurrences(scopes, "<g class=\"pair\""), with_scopes);
    assert_eq!(occurrences(scopes, "class=\"bar granted\""), with_scopes);
    assert_eq!(occurrences(scopes, "class=\"bar used\""), with_scopes);
    assert!(scopes.contains(
        "data-workload=\"spiffe://prod.example/ns/shop/sa/checkout\" data-granted=\"4\" data-used=\"3\""
    ));
    // Every bar has a tooltip, every chart a viewBox.
    for svg in [timeline, denials, scopes] {
        assert!(svg.contains(" viewBox=\"0 0 "));
        let bars = occurrences(svg, "<g class=\"bar\"") + occurrences(svg, "<g class=\"pair\"");
        assert_eq!(occurrences(svg, "<title"), bars + 1);
    }
}

#[test]
fn timeline_places_bars_by_time() {
    // Minute 0, 1 and 10: the third bar stands right of a gap, not next to the second.
    let bucket = |start: &str| json!({"start": start, "allow": 1});
    let r = json!({"timeline": {"bucket_seconds": 60, "buckets": [
        bucket("2026-12-02T05:00:00Z"), bucket("2026-12-02T05:01:00Z"), bucket("2026-12-02T05:10:00Z")]}});
    let html = render(&r);
    let svg = chart(&html, "chart-timeline").unwrap();
    let xs: Vec<f64> = svg
        .split("<rect class=\"seg\"")
        .skip(1)
        .map(|rect| attribute_values(rect, "x")[0].parse().unwrap())
        .collect();
    assert_eq!(xs.len(), 3, "{svg}");
    let (step1, step2) = (xs[1] - xs[0], xs[2] - xs[1]);
    assert!((step2 / step1 - 9.0).abs() < 0.01, "{xs:?}");
}

/// A report whose every string is markup, in every place a string can appear.
fn hostile_report() -> Value {
    let evil = "<script>alert(1)</script>";
    let attr = "\"><img src=x onerror=alert(2)>";
    let mut r = fixture();
    r["tool"] = json!(evil);
    r["version"] = json!(attr);
    r["generated_at"] = json!(attr);
    r["inputs"]["sources"] = json!([evil, attr]);
    r["window"]["first_seen"] = json!(evil);
    r["policy"] = json!({"path": evil, "hash": attr});
    r["timeline"]["buckets"][0]["start"] = json!(attr);
    r["denials_by_reason"][0]["reason"] = json!(evil);
    let w = &mut r["workloads"][0];
    w["workload"] = json!(evil);
    w["subject"] = json!(attr);
    w["provider"] = json!(evil);
    w["actions"][0]["action"] = json!(attr);
    w["scopes_granted"] = json!([evil, attr]);
    w["scopes_used"] = json!([evil]);
    w["scopes_unused"] = json!([attr]);
    w["actor_chains"] = json!([[evil, attr]]);
    w["denials"] = json!([{"reason": evil, "count": 1}]);
    let route = &mut r["routes"][0];
    route["action"] = json!(evil);
    route["mode"] = json!(attr);
    route["callers"][0]["workload"] = json!(attr);
    route["actors"] = json!([evil]);
    let f = &mut r["findings"][0];
    for key in [
        "code", "name", "severity", "workload", "action", "message", "remedy",
    ] {
        f[key] = json!(evil);
    }
    f["actor_chains"] = json!([[attr]]);
    f["evidence"][attr] = json!(evil);
    f["evidence"]["first_seen"] = json!(attr);
    r
}

#[test]
fn every_string_of_the_report_is_escaped() {
    let html = render(&hostile_report());
    assert!(!html.contains("<script"), "a script element got through");
    assert!(!html.contains("<img"), "an attribute value broke out");
    assert!(!html.contains("onerror=alert(2)>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    // The subject appears as text in the table, the card and the chart label and tooltip.
    assert!(occurrences(&html, "&lt;script&gt;alert(1)&lt;/script&gt;") > 10);
    // A severity or mode that is no known one does not become a class.
    assert!(!html.contains("sev-&lt;"));
    assert!(html.contains("<span class=\"badge sev-other\">&lt;script&gt;"));
}

#[test]
fn no_url_references() {
    let html = render(&fixture());
    // Nothing that could fetch: no scheme at all (not even an xmlns), no src, no stylesheet or
    // import, no url(), no script; links only to fragments of the page.
    for banned in [
        "http:", "https:", "//cdn", " src=", "<link", "@import", "url(", "<script", "<img",
        "<iframe", "<object",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
    let hrefs = attribute_values(&html, "href");
    assert!(!hrefs.is_empty());
    assert!(hrefs.iter().all(|h| h.starts_with('#')), "{hrefs:?}");
    assert!(
        html.contains("default-src 'none'"),
        "the CSP forbids every fetch"
    );
}

/// The name of the attribute whose value holds byte `at` of `html`, `None` in text.
fn attribute_at(html: &str, at: usize) -> Option<&str> {
    let before = &html[..at];
    let quote = before.rfind("=\"")?;
    if before.rfind('>').is_some_and(|gt| gt > quote) || before[quote + 2..].contains('"') {
        return None;
    }
    let name_start = before[..quote].rfind(' ')? + 1;
    Some(&before[name_start..quote])
}

#[test]
fn urls_in_the_logs_stay_text() {
    let mut r = fixture();
    r["findings"][0]["message"] =
        json!("see https://evil.example/a.js and http://evil.example/b.png");
    r["workloads"][0]["workload"] = json!("https://evil.example/c.css");
    r["inputs"]["sources"] = json!(["https://evil.example/d"]);
    let html = render(&r);
    assert!(html.contains("https://evil.example/a.js"));
    let mut places = Vec::new();
    for (at, _) in html.match_indices("://evil.example") {
        let place = attribute_at(&html, at);
        // Only in text, and in data attributes and aria labels that nothing fetches.
        assert!(
            place.is_none_or(|name| name.starts_with("data-") || name == "title"),
            "a URL from the logs in attribute {place:?}"
        );
        places.push(place);
    }
    assert!(
        places.contains(&None) && places.contains(&Some("data-workload")),
        "{places:?}"
    );
    let hrefs = attribute_values(&html, "href");
    assert!(hrefs.iter().all(|h| h.starts_with('#')), "{hrefs:?}");
}

#[test]
fn empty_report_renders_notes() {
    for r in [
        json!({}),
        json!(null),
        json!([1, 2]),
        json!("x"),
        empty_schema(),
    ] {
        let html = render(&r);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<svg"), "no chart without data: {r}");
        for id in ["chart-timeline", "chart-denials", "chart-scopes"] {
            assert!(
                html.contains(&format!(
                    "<p id=\"{id}\" class=\"no-data\" data-empty=\"true\">"
                )),
                "{id}"
            );
        }
        assert!(html.contains("No findings"));
        assert!(html.contains("data-metric=\"records\" data-value=\"0\""));
    }
}

fn empty_schema() -> Value {
    json!({
        "tool": "workload-authz review", "version": "0.1.0", "generated_at": "2026-12-03T08:00:00Z",
        "inputs": {"sources": [], "lines": 0, "records": 0, "without_record": 0, "unreadable": 0, "outside_filter": 0},
        "window": {"first_seen": null, "last_seen": null, "since": null, "until": null},
        "policy": null,
        "summary": {"records": 0, "workloads": 0, "routes": 0,
            "decisions": {"allow": 0, "deny": 0, "shadow_allow": 0, "shadow_deny": 0, "public": 0},
            "findings": {"error": 0, "warning": 0, "note": 0}},
        "timeline": {"bucket_seconds": 60, "buckets": []},
        "denials_by_reason": [], "workloads": [], "routes": [], "findings": [],
        "truncated": {"workloads": 0, "routes": 0}
    })
}

/// Every path of `v` that leads to a value, the first item standing for a whole list.
fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let mut p = prefix.clone();
                p.push(k.clone());
                out.push(p.clone());
                paths(child, p, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                let mut p = prefix.clone();
                p.push("0".into());
                out.push(p.clone());
                paths(first, p, out);
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) if v.is_array() => &mut v[i],
        _ => &mut v[k.as_str()],
    })
}

#[test]
fn odd_values_anywhere_do_not_panic() {
    let base = fixture();
    let mut all = Vec::new();
    paths(&base, Vec::new(), &mut all);
    assert!(all.len() > 100, "{}", all.len());
    let odd = [
        json!(null),
        json!(-7),
        json!(1e300),
        json!("x"),
        json!([{}]),
        json!({"a": [1]}),
    ];
    for path in &all {
        for value in &odd {
            let mut r = base.clone();
            *at(&mut r, path) = value.clone();
            let html = render(&r);
            assert!(html.ends_with("</html>\n"), "{path:?} = {value}");
        }
    }
}

#[test]
fn huge_report_is_downsampled() {
    let buckets: Vec<Value> = (0..5000u64)
        .map(|i| {
            json!({"start": super::text::minute_of(1_796_187_600 + 60 * i as i64).replace(' ', "T") + ":00Z",
                   "allow": 3, "deny": i % 2, "shadow_allow": 0, "shadow_deny": 0, "public": 1})
        })
        .collect();
    let workloads: Vec<Value> = (0..500)
        .map(|i| {
            json!({"workload": format!("spiffe://prod.example/ns/n{i}/sa/w{i}"), "requests": 10,
                   "decisions": {"allow": 10}, "scopes_granted": ["a", "b"], "scopes_used": ["a"],
                   "scopes_unused": ["b"], "actions": [], "actor_chains": [], "denials": []})
        })
        .collect();
    let reasons: Vec<Value> = (0..100)
        .map(|i| json!({"reason": format!("reason_{i}"), "deny": 100 - i, "shadow_deny": 0}))
        .collect();
    let r = json!({"timeline": {"bucket_seconds": 60, "buckets": buckets},
                   "workloads": workloads, "denials_by_reason": reasons});
    let html = render(&r);
    let timeline = chart(&html, "chart-timeline").unwrap();
    let bars = occurrences(timeline, "<g class=\"bar\"");
    assert!(bars as u64 <= MAX_BARS && bars >= 150, "{bars} bars");
    assert_eq!(
        decision_sum(timeline, "allow"),
        15_000,
        "sums keep every request"
    );
    assert_eq!(decision_sum(timeline, "deny"), 2500);
    assert!(html.contains("5,000 buckets summed into"));
    let scopes = chart(&html, "chart-scopes").unwrap();
    assert_eq!(occurrences(scopes, "<g class=\"pair\""), MAX_ROWS);
    assert!(html.contains(&format!("and {} more workloads", 500 - MAX_ROWS)));
    let denials = chart(&html, "chart-denials").unwrap();
    assert_eq!(occurrences(denials, "<g class=\"bar\""), MAX_ROWS);
    assert!(html.contains(&format!("and {} more reasons", 100 - MAX_ROWS)));
    assert_eq!(
        occurrences(&html, "<article class=\"workload-card\""),
        MAX_CARDS
    );
    assert!(html.len() < 3_000_000, "{} bytes", html.len());
}

#[test]
fn unparseable_times_fall_back_to_order() {
    let r = json!({"timeline": {"bucket_seconds": 0, "buckets": [
        {"start": "yesterday", "allow": 2}, {"start": null, "deny": 1}, {"allow": "many"}]}});
    let html = render(&r);
    let svg = chart(&html, "chart-timeline").unwrap();
    assert_eq!(occurrences(svg, "<g class=\"bar\""), 3);
    assert_eq!(decision_sum(svg, "allow"), 2);
}
