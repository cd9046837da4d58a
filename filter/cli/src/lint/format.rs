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

/// The whole output of a run in `format`.
pub fn render(
    format: LintFormat,
    loaded: &Loaded,
    findings: &[Finding],
    fail_on: Severity,
    failed: bool,
) -> String {
    match format {
        LintFormat::Text => text(loaded, findings, fail_on, failed),
        LintFormat::Json => format!("{:#}", as_json(loaded, findings, fail_on, failed)),
        LintFormat::Sarif => format!("{:#}", sarif(loaded, findings)),
    }
}

fn count(findings: &[Finding], severity: Severity) -> usize {
    findings
        .iter()
        .filter(|f| f.rule().severity == severity)
        .count()
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

fn as_json(loaded: &Loaded, findings: &[Finding], fail_on: Severity, failed: bool) -> Value {
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
