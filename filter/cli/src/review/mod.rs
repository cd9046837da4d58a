//! `workload-authz review`: reads decision records from access logs (streaming, bounded memory)
//! and reports least-privilege findings (RV001-RV010): scopes granted but never used, routes and
//! MCP tools never called or called by one workload only, long-lived tokens, delegation depth
//! used against allowed, what enforcing a shadow route would break, denials and incident signals.
//! With `--policy` the findings name route indexes and `--suggest` writes a tightened policy.

mod aggregate;
mod findings;
mod input;
mod ordered;
mod policy_view;
mod record;
mod report;
pub mod rules;
mod suggest;
pub mod time;

use crate::lint::rules::Severity;
use aggregate::Aggregate;
use clap::{Args, ValueEnum};
use findings::Thresholds;
use input::{Line, Source};
use policy_view::PolicyView;
use record::{Parsed, Record};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Output formats of `review`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewFormat {
    /// A summary and one block per finding.
    Text,
    /// One JSON document: findings, per-workload and per-route tables, the timeline.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// One self-contained HTML file with charts (inline SVG, no network fetches).
    Html,
}

/// Arguments of `review`.
#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// Access logs (JSON lines, the default record or the `keys` form): files, directories
    /// (every file below), `-` for standard input; gzip is recognised.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<String>,
    /// The policy the records were made with: findings name its routes, and never-called routes
    /// and tools are found.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<String>,
    /// Write a tightened policy proposal here (needs --policy); nothing is applied.
    #[arg(long, value_name = "FILE", requires = "policy")]
    pub suggest: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReviewFormat,
    /// Write the report here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<String>,
    /// Only records at or after this time (RFC 3339, or a duration ago: 30m, 24h, 7d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records before this time (RFC 3339, or a duration ago).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only these workloads: a subject or actor pattern, `*` for any run of characters
    /// (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub workload: Vec<String>,
    /// Tokens presented with more than this many seconds left are RV005 (the policy's provider
    /// limit applies when lower).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub max_token_lifetime: u64,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Progress on standard error: by default only when it is a terminal.
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,
    /// No progress on standard error.
    #[arg(long)]
    pub no_progress: bool,
}

/// Records filter: time window and workload patterns.
struct Selection {
    since: Option<i64>,
    until: Option<i64>,
    workloads: Vec<String>,
}

impl Selection {
    fn keeps(&self, record: &Record) -> bool {
        let in_window = match (record.time, self.since, self.until) {
            (None, None, None) => true,
            (None, _, _) => false,
            (Some(t), since, until) => since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u),
        };
        if !in_window {
            return false;
        }
        if self.workloads.is_empty() {
            return true;
        }
        let label = aggregate::workload_label(record);
        self.workloads.iter().any(|pattern| {
            glob(pattern, &label) || record.actor_chain.iter().any(|a| glob(pattern, a))
        })
    }
}

/// `*` matches any run of characters (`/` included); everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = text.get(first.len()..text.len() - last.len()).unwrap_or("");
    for middle in parts.iter().skip(1).take(parts.len().saturating_sub(2)) {
        match rest.find(middle) {
            Some(at) => rest = rest.get(at + middle.len()..).unwrap_or(""),
            None => return false,
        }
    }
    true
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Progress on standard error, at most every second.
struct Progress {
    enabled: bool,
    last: std::time::Instant,
    bytes: u64,
}

impl Progress {
    fn tick(&mut self, agg: &Aggregate, source: &str) {
        if !self.enabled || self.last.elapsed().as_millis() < 1000 {
            return;
        }
        self.last = std::time::Instant::now();
        eprint!(
            "\rreview: {} lines, {} records, {} MiB read ({source})\x1b[K",
            agg.input.lines,
            agg.input.records,
            self.bytes >> 20
        );
    }

    fn done(&self, agg: &Aggregate) {
        if self.enabled {
            eprintln!(
                "\rreview: {} lines, {} records, {} MiB read\x1b[K",
                agg.input.lines,
                agg.input.records,
                self.bytes >> 20
            );
        }
    }
}

fn read_all(
    sources: &[Source],
    selection: &Selection,
    progress: &mut Progress,
) -> Result<Aggregate, String> {
    let mut agg = Aggregate::default();
    let mut line = Vec::with_capacity(4096);
    for source in sources {
        let name = source.name();
        let mut reader = source.open().map_err(|e| format!("{name}: {e}"))?;
        loop {
            let state = input::next_line(reader.as_mut(), &mut line, input::MAX_LINE_BYTES)
                .map_err(|e| format!("{name}: {e}"))?;
            match state {
                Line::End => break,
                Line::TooLong => {
                    agg.input.lines += 1;
                    agg.input.unreadable += 1;
                    continue;
                }
                Line::Read => {}
            }
            progress.bytes += line.len() as u64 + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            agg.input.lines += 1;
            match record::parse(&line) {
                Parsed::Record(record) if selection.keeps(&record) => agg.add(&record),
                Parsed::Record(_) => agg.input.filtered_out += 1,
                Parsed::WithoutRecord => agg.input.without_record += 1,
                Parsed::Unreadable => agg.input.unreadable += 1,
            }
            if agg.input.lines % 65_536 == 0 {
                progress.tick(&agg, &name);
            }
        }
    }
    progress.done(&agg);
    Ok(agg)
}

fn write_output(path: Option<&str>, text: &str) -> Result<(), String> {
    match path {
        None | Some("-") => {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{text}").map_err(|e| format!("standard output: {e}"))
        }
        Some(path) => std::fs::write(path, format!("{text}\n")).map_err(|e| format!("{path}: {e}")),
    }
}

/// Runs `review`.
pub fn run(args: &ReviewArgs) -> Result<ExitCode, String> {
    let now = now();
    let since = args
        .since
        .as_deref()
        .map(|s| time::parse_bound(s, now))
        .transpose()
        .map_err(|e| format!("--since: {e}"))?;
    let until = args
        .until
        .as_deref()
        .map(|s| time::parse_bound(s, now))
        .transpose()
        .map_err(|e| format!("--until: {e}"))?;
    let loaded = match &args.policy {
        Some(path) => Some(crate::policy::load(path)?),
        None => None,
    };
    let view =
        match &loaded {
            Some(loaded) => {
                let compiled =
                    loaded.compiled.as_ref().map_err(|errors| {
                        format!(
                    "{}: the policy does not compile (run `workload-authz check` on it): {}",
                    loaded.source.path,
                    errors.0.first().map(ToString::to_string).unwrap_or_default()
                )
                    })?;
                let value = loaded.value.as_ref().ok_or("the policy has no value")?;
                Some(PolicyView::of(&loaded.source.path, &compiled.hash, value))
            }
            None => None,
        };
    let sources = input::expand(&args.logs)?;
    let selection = Selection {
        since,
        until,
        workloads: args.workload.clone(),
    };
    let mut progress = Progress {
        enabled: !args.no_progress && (args.progress || std::io::stderr().is_terminal()),
        last: std::time::Instant::now(),
        bytes: 0,
    };
    let agg = read_all(&sources, &selection, &mut progress)?;
    let thresholds = Thresholds {
        max_token_lifetime: args.max_token_lifetime,
    };
    let found = findings::findings(&agg, view.as_ref(), thresholds);
    let ctx = report::Context {
        sources: sources.iter().map(Source::name).collect(),
        policy: view.as_ref(),
        since,
        until,
        now,
    };
    let rendered = match args.format {
        ReviewFormat::Text => report::text(&agg, &found, &ctx),
        ReviewFormat::Json => format!("{:#}", report::json_report(&agg, &found, &ctx)),
        ReviewFormat::Sarif => {
            let line_of = |path: &str| {
                loaded
                    .as_ref()
                    .filter(|l| l.line(path).is_some())
                    .and_then(|l| l.locations.find(path))
            };
            let uri = loaded
                .as_ref()
                .map(|l| l.source.path.trim_start_matches("./").to_string());
            format!("{:#}", report::sarif(&found, uri.as_deref(), &line_of))
        }
        ReviewFormat::Html => crate::report_html::render(&report::json_report(&agg, &found, &ctx)),
    };
    write_output(args.output.as_deref(), &rendered)?;
    if let (Some(path), Some(loaded), Some(view)) = (&args.suggest, &loaded, &view) {
        let proposal = suggest::propose(&loaded.source, view, &agg)?;
        std::fs::write(path, proposal.text).map_err(|e| format!("{path}: {e}"))?;
        eprintln!(
            "review: wrote a policy proposal to {path} ({} change(s); nothing applied): {}",
            proposal.changes.len(),
            proposal.changes.join("; ")
        );
    }
    let worst = found.iter().map(|f| f.id.rule().severity).max();
    let failed = args
        .fail_on
        .is_some_and(|threshold| worst.is_some_and(|w| w >= threshold));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::glob;

    #[test]
    fn workload_patterns_glob() {
        assert!(glob("spiffe://prod/*", "spiffe://prod/ns/a/sa/b"));
        assert!(glob("*checkout", "spiffe://prod/ns/shop/sa/checkout"));
        assert!(glob("*/sa/*out", "spiffe://prod/ns/shop/sa/checkout"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(!glob("spiffe://dev/*", "spiffe://prod/x"));
        assert!(!glob("a*a", "a"));
        assert!(glob("*", ""));
    }
}
