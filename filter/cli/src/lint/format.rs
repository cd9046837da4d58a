//! The output formats of `lint`: text (one line and a help line per finding, then a summary),
//! one JSON document, and SARIF 2.1.0 for code scanning. Lines come from the policy file
//! ([`Loaded::line`]), never from the findings themselves.

use super::rules::{RuleId, Severity};
use super::Finding;
use crate::policy::Loaded;
use clap::ValueEnum;
use serde_json::{json, Value};

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

/// What one run found.
pub struct Report<'a> {
    /// The policy.
    pub loaded: &'a Loaded,
    /// Every finding, in report order.
    pub findings: &'a [Finding],
    /// The configuration paths the rules other than WA000 did not read because they do not
    /// compile (empty: they read everything), or `None` when those rules could not run.
    pub skipped: Option<&'a [String]>,
    /// `--fail-on`.
    pub fail_on: Severity,
    /// Whether a finding reaches `--fail-on`.
    pub failed: bool,
}

/// The whole output of a run in `format`.
pub fn render(format: LintFormat, report: &Report<'_>) -> String {
    match format {
        LintFormat::Text => text(report),
        LintFormat::Json => format!("{:#}", as_json(report)),
        LintFormat::Sarif => format!("{:#}", sarif(report.loaded, report.findings)),
    }
}

/// For a policy that does not compile: what the other rules read, in words.
fn coverage_note(report: &Report<'_>) -> Option<String> {
    report.loaded.compiled.as_ref().err()?;
    Some(match report.skipped {
        None => {
            "no other rule ran: the policy must compile at least as far as its routes".to_string()
        }
        Some([]) => {
            "the other rules ran on the whole policy (the errors are in fields no rule reads)"
                .to_string()
        }
        Some(paths) => format!(
            "the other rules ran without the parts that do not compile: {}",
            paths.join(", ")
        ),
    })
}

fn count(findings: &[Finding], severity: Severity) -> usize {
    findings
        .iter()
        .filter(|f| f.rule().severity == severity)
        .count()
}

fn text(report: &Report<'_>) -> String {
    let Report {
        loaded,
        findings,
        fail_on,
        failed,
        ..
    } = *report;
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
    if let Some(note) = coverage_note(report) {
        lines.push(format!("{}: note: {note}", loaded.source.path));
    }
    lines.push(format!(
        "{}: {} finding(s): {} error(s), {} warning(s), {} note(s); --fail-on {}: {}",
        loaded.source.path,
        findings.len(),
        count(findings, Severity::Error),
        count(findings, Severity::Warning),
        count(findings, Severity::Note),
        fail_on.as_str(),
        if failed { "fail" } else { "pass" }
    ));
    lines.join("\n")
}

fn as_json(report: &Report<'_>) -> Value {
    let Report {
        loaded,
        findings,
        skipped,
        fail_on,
        failed,
    } = *report;
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
            "error": count(findings, Severity::Error),
            "warning": count(findings, Severity::Warning),
            "note": count(findings, Severity::Note),
        },
        "fail_on": fail_on.as_str(),
        "failed": failed,
        "skipped": skipped,
    })
}

/// `write-without-lifetime-limit` → `WriteWithoutLifetimeLimit` (SARIF rule names).
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
    let rules: Vec<Value> = RuleId::ALL
        .iter()
        .map(|id| {
            let r = id.rule();
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
            let (line, column) = if loaded.line(&f.path).is_some() {
                loaded.locations.find(&f.path).unwrap_or((1, 1))
            } else {
                (1, 1)
            };
            json!({
                "ruleId": r.code,
                "ruleIndex": f.id.index(),
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
    use super::*;

    #[test]
    fn sarif_rule_names_are_pascal_case() {
        assert_eq!(
            pascal("write-without-lifetime-limit"),
            "WriteWithoutLifetimeLimit"
        );
        assert_eq!(pascal("invalid-policy"), "InvalidPolicy");
    }
}
