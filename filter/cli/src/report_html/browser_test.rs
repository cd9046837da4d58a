//! The HTML report in a real browser: Debian's `chromium`, headless.
//!
//! The fixture's report is written to `<target>/review-html/report.html` (`<target>` is
//! `CARGO_TARGET_DIR` when set, else the workspace's `target/`), then chromium
//! - takes a 1280x2400 screenshot (`report.png` beside it: look at it), and
//! - dumps the DOM after loading (`report.dom.html`),
//!
//! both times with its console on stderr and a NetLog of every network request. The test fails
//! on any console message (the page has no script, so any message is an error: an exception,
//! a Content-Security-Policy violation), on any request the page made, on a screenshot that is
//! no real PNG of the window, and on a DOM without the three charts, their bars, and the
//! fixture's summary numbers.
//!
//! Negative controls show that the detectors catch what they must: a page with a call of an
//! undefined function and an image by URL, and the report itself with an image injected. The
//! empty report is opened too (no data: a note instead of each chart, and no error).
//!
//! Without chromium the test fails and says how to install it (`make chromium`, which
//! `make setup` and `make test` run); `WORKLOAD_AUTHZ_SKIP_BROWSER=1` skips it instead, for a
//! machine that cannot have a browser (CI never sets it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::render;
use super::tests::{attribute_values, chart, decision_sum, expected_bars, fixture, occurrences};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one chromium run may take (it takes about a second).
const TIMEOUT: Duration = Duration::from_secs(120);
/// The window, and so the screenshot.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2400;

/// `<target>/review-html`, created empty.
fn out_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("review-html");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// The browser (`WORKLOAD_AUTHZ_CHROMIUM`, else `chromium` on PATH), or `None` to skip.
fn browser() -> Option<PathBuf> {
    let browser =
        std::env::var_os("WORKLOAD_AUTHZ_CHROMIUM").map_or("chromium".into(), PathBuf::from);
    let version = Command::new(&browser)
        .arg("--version")
        .stderr(Stdio::null())
        .output();
    match version {
        Ok(out) if out.status.success() => {
            eprintln!("browser: {}", String::from_utf8_lossy(&out.stdout).trim());
            Some(browser)
        }
        _ if std::env::var("WORKLOAD_AUTHZ_SKIP_BROWSER").as_deref() == Ok("1") => {
            eprintln!(
                "browser test skipped: WORKLOAD_AUTHZ_SKIP_BROWSER=1 and no {}",
                browser.display()
            );
            None
        }
        _ => panic!(
            "the HTML report's browser test needs Debian's chromium, and `{}` does not run: \
             install it with `make chromium` (part of `make setup` and `make test`; CI runs it), \
             or set WORKLOAD_AUTHZ_SKIP_BROWSER=1 to skip this test on a machine without a browser",
            browser.display()
        ),
    }
}

/// What one chromium run left: its stdout (the DOM with `--dump-dom`), its stderr (the
/// console), and the path of its NetLog.
struct Run {
    stdout: String,
    stderr: String,
    netlog: PathBuf,
}

fn read_all(mut from: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` at most [`TIMEOUT`]; kills it (this one process) when it takes longer.
fn wait(child: &mut Child, what: &str) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium ({what}) exited with {status}");
            return;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium ({what}) did not finish in {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Opens `page` in headless chromium with a fresh profile; `mode` is `--dump-dom` or
/// `--screenshot=PATH`. `name` names the profile and NetLog files in `dir`.
fn open(browser: &Path, dir: &Path, name: &str, page: &Path, mode: &str) -> Run {
    let profile = dir.join(format!("profile-{name}"));
    let netlog = dir.join(format!("{name}.netlog.json"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox", // the tests run as root
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    wait(&mut child, name);
    let run = Run {
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        netlog,
    };
    std::fs::write(dir.join(format!("{name}.stderr.txt")), &run.stderr).unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    run
}

/// The console messages of a run: chromium logs each as `...:CONSOLE...] "message", source:`.
/// An uncaught exception is one of them; "Uncaught" anywhere counts too.
fn console_problems(run: &Run) -> Vec<String> {
    run.stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(|l| format!("console: {}", l.trim()))
        .collect()
}

/// The NetLog as JSON; one cut short (a browser killed) is closed first.
fn netlog(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no NetLog at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|_| {
        let cut = text.trim_end().trim_end_matches(',');
        serde_json::from_str(&format!("{cut}]}}"))
            .unwrap_or_else(|e| panic!("NetLog {} is no JSON: {e}", path.display()))
    })
}

/// The requests the page made (not chromium's own): URL requests whose initiator is the
/// page's opaque `file://` origin ("null") or whose isolation key names the `file://` page.
fn network_problems(run: &Run) -> Vec<String> {
    let log = netlog(&run.netlog);
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(start_job.is_u64(), "NetLog without URL_REQUEST_START_JOB");
    let events = log["events"].as_array().expect("NetLog events");
    events
        .iter()
        .filter(|e| e["type"] == start_job)
        .map(|e| &e["params"])
        .filter(|p| {
            let initiator = p["initiator"].as_str().unwrap_or("");
            let key = p["network_isolation_key"].as_str().unwrap_or("");
            initiator == "null" || initiator.starts_with("file:") || key.contains("file://")
        })
        .map(|p| {
            format!(
                "network request: {} {}",
                p["method"].as_str().unwrap_or("?"),
                p["url"]
            )
        })
        .collect()
}

fn problems(run: &Run) -> Vec<String> {
    let mut all = console_problems(run);
    all.extend(network_problems(run));
    all
}

/// The screenshot is a real PNG of the whole window, with more in it than a blank page.
fn check_png(path: &Path) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (WIDTH, HEIGHT), "screenshot size");
    assert!(
        bytes.len() > 100_000,
        "screenshot of {} bytes: a blank page?",
        bytes.len()
    );
}

/// The DOM chromium built has the three charts with the fixture's bars and numbers, the
/// summary cards with the fixture's numbers, and nothing that fetches.
fn check_dom(dom: &str, report: &Value) {
    let (buckets, reasons, with_scopes) = expected_bars(report);
    let timeline = chart(dom, "chart-timeline").expect("DOM has svg#chart-timeline");
    assert_eq!(
        occurrences(timeline, "<g class=\"bar\""),
        buckets,
        "timeline bars"
    );
    let decisions = report["summary"]["decisions"].as_object().unwrap();
    for (decision, n) in decisions {
        assert_eq!(
            decision_sum(timeline, decision),
            n.as_u64().unwrap(),
            "timeline {decision}"
        );
    }
    let denials = chart(dom, "chart-denials").expect("DOM has svg#chart-denials");
    assert_eq!(
        occurrences(denials, "<g class=\"bar\""),
        reasons,
        "denial bars"
    );
    for d in report["denials_by_reason"].as_array().unwrap() {
        let row = format!(
            "data-reason=\"{}\" data-deny=\"{}\" data-shadow-deny=\"{}\"",
            d["reason"].as_str().unwrap(),
            d["deny"],
            d["shadow_deny"]
        );
        assert!(denials.contains(&row), "{row}");
    }
    let scopes = chart(dom, "chart-scopes").expect("DOM has svg#chart-scopes");
    assert_eq!(
        occurrences(scopes, "class=\"bar granted\""),
        with_scopes,
        "granted bars"
    );
    assert_eq!(
        occurrences(scopes, "class=\"bar used\""),
        with_scopes,
        "used bars"
    );
    let s = &report["summary"];
    let mut metrics: Vec<(String, u64)> = ["records", "workloads", "routes"]
        .iter()
        .map(|k| (k.to_string(), s[k].as_u64().unwrap()))
        .collect();
    for group in ["decisions", "findings"] {
        for (k, v) in s[group].as_object().unwrap() {
            metrics.push((format!("{group}.{k}"), v.as_u64().unwrap()));
        }
    }
    for (metric, value) in metrics {
        let attr = format!("data-metric=\"{metric}\" data-value=\"{value}\"");
        assert!(dom.contains(&attr), "summary card {attr}");
    }
    assert!(
        dom.contains("<div class=\"card-value\">3,326</div>"),
        "records shown"
    );
    assert!(
        !dom.contains("<script") && !dom.contains(" src="),
        "nothing to run or fetch"
    );
    assert!(attribute_values(dom, "href")
        .iter()
        .all(|h| h.starts_with('#')));
}

/// The detectors catch an exception, a request by URL, and a CSP violation.
fn negative_controls(browser: &Path, dir: &Path) {
    let page = dir.join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>control</title></head><body><p>control</p>\
         <script>nonexistent()</script><img src=\"http://example.invalid/pixel.png\" alt=\"\"></body></html>",
    )
    .unwrap();
    let run = open(browser, dir, "control", &page, "--dump-dom");
    let found = problems(&run);
    assert!(
        found
            .iter()
            .any(|p| p.contains("Uncaught ReferenceError: nonexistent is not defined")),
        "the console detector missed the exception: {found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("network request: GET \"http://example.invalid/pixel.png\"")),
        "the network detector missed the image: {found:?}"
    );
    // The report's own CSP turns an injected fetch into a console error.
    let injected = render(&fixture()).replace(
        "</main>",
        "<img src=\"https://example.invalid/pixel.png\" alt=\"\"></main>",
    );
    let page = dir.join("injected.html");
    std::fs::write(&page, injected).unwrap();
    let run = open(browser, dir, "injected", &page, "--dump-dom");
    let found = problems(&run);
    assert!(
        found
            .iter()
            .any(|p| p.contains("Content Security Policy") && p.contains("example.invalid")),
        "the CSP violation was not reported: {found:?}"
    );
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = browser() else { return };
    let dir = out_dir();
    let report = fixture();
    let page = dir.join("report.html");
    std::fs::write(&page, render(&report)).unwrap();

    negative_controls(&browser, &dir);

    let png = dir.join("report.png");
    let shot = open(
        &browser,
        &dir,
        "screenshot",
        &page,
        &format!("--screenshot={}", png.display()),
    );
    let dom = open(&browser, &dir, "dom", &page, "--dump-dom");
    std::fs::write(dir.join("report.dom.html"), &dom.stdout).unwrap();
    eprintln!("report: {}\nscreenshot: {}", page.display(), png.display());

    let mut found = problems(&shot);
    found.extend(problems(&dom));
    assert!(
        found.is_empty(),
        "the report is not clean in chromium:\n{}",
        found.join("\n")
    );
    check_png(&png);
    check_dom(&dom.stdout, &report);

    // A report without data is clean too, with a note in place of each chart.
    let page = dir.join("empty.html");
    std::fs::write(&page, render(&serde_json::json!({}))).unwrap();
    let empty = open(&browser, &dir, "empty", &page, "--dump-dom");
    let found = problems(&empty);
    assert!(
        found.is_empty(),
        "the empty report is not clean in chromium:\n{}",
        found.join("\n")
    );
    for id in ["chart-timeline", "chart-denials", "chart-scopes"] {
        assert!(
            empty
                .stdout
                .contains(&format!("<p id=\"{id}\" class=\"no-data\"")),
            "{id}"
        );
    }
}
