//! `workload-authz lint POLICY`: governance findings with stable codes, as text, JSON or SARIF.
//!
//! Lint reads the compiled [`workload_authz_core::Policy`] only (the file's text is kept just to
//! put line numbers on findings) and asks it the questions the engine asks, through methods of
//! the core: `Policy::accepted_providers`, `Provider::effective_max_lifetime`,
//! `RouteMatch::covers`, `Template::can_match`, `Policy::route_for`.
//!
//! | file | what |
//! | --- | --- |
//! | `rules.rs` | the catalogue: [`RuleId`], each rule's code, name, severity, summary, help |
//! | `analysis/mod.rs` | [`lint`]: every rule in report order; WA005, WA010, WA011, WA012 |
//! | `analysis/lifetime.rs` | WA001, WA002, WA004: token lifetimes on write routes and providers |
//! | `analysis/requirements.rs` | WA003, WA007, WA008, WA009: what routes ask of tokens, scopes |
//! | `analysis/reachability.rs` | WA006, WA013: routes that never apply, slash variants |
//! | `analysis/mcp.rs` | WA014-WA017: the rules of `mcp` blocks, MCP routes' methods |
//! | `partial.rs` | a policy that does not compile: WA000, then the other rules on the rest |
//! | `format.rs` | text, JSON and SARIF 2.1.0 output |

mod analysis;
mod format;
mod partial;
pub mod rules;

use crate::policy;
use clap::Args;
use std::process::ExitCode;
use workload_authz_core::ConfigErrors;

pub use analysis::lint;
pub use format::LintFormat;
pub use rules::{Rule, RuleId, Severity};

/// Arguments of `lint`.
#[derive(Args, Debug)]
pub struct LintArgs {
    /// The policy: JSON or YAML (`-` reads standard input).
    pub policy: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,
    /// Exit 1 when a finding of this severity or higher is reported.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: Severity,
    /// Longest token lifetime (seconds) accepted on write methods (WA001/WA002).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub max_write_lifetime: u64,
    /// The scopes your identity provider grants (a JSON list, or one per line): enables
    /// WA008 (granted, required by no route) and WA009 (required, never granted).
    #[arg(long, value_name = "FILE")]
    pub scopes: Option<String>,
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule.
    pub id: RuleId,
    /// Configuration path of what the finding is about (`routes[2].match.path`).
    pub path: String,
    /// What was found, in words.
    pub message: String,
}

impl Finding {
    /// A finding of rule `id` at configuration path `path`.
    pub fn new(id: RuleId, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            id,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The rule's catalogue entry.
    pub fn rule(&self) -> &'static Rule {
        self.id.rule()
    }
}

/// Runs `lint`.
pub fn run(args: &LintArgs) -> Result<ExitCode, String> {
    let loaded = policy::load(&args.policy)?;
    let catalogue = match &args.scopes {
        Some(file) => Some(read_catalogue(file)?),
        None => None,
    };
    let threshold = args.max_write_lifetime;
    let (findings, skipped) = match (&loaded.compiled, &loaded.value) {
        (Ok(policy), _) => (
            lint(policy, threshold, catalogue.as_deref()),
            Some(Vec::new()),
        ),
        (Err(errors), Some(value)) => {
            let rest = partial::lint_rest(value, errors, threshold, catalogue.as_deref());
            let mut all = invalid(errors);
            all.extend(rest.findings);
            (all, rest.skipped)
        }
        (Err(errors), None) => (invalid(errors), None),
    };
    let worst = findings.iter().map(|f| f.rule().severity).max();
    let failed = worst.is_some_and(|w| w >= args.fail_on);
    let report = format::Report {
        loaded: &loaded,
        findings: &findings,
        skipped: skipped.as_deref(),
        fail_on: args.fail_on,
        failed,
    };
    println!("{}", format::render(args.format, &report));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// WA000: one finding per configuration error.
fn invalid(errors: &ConfigErrors) -> Vec<Finding> {
    errors
        .0
        .iter()
        .map(|e| Finding::new(RuleId::InvalidPolicy, e.path.clone(), e.to_string()))
        .collect()
}

/// The granted scopes of `--scopes FILE`: a JSON list of strings, or words separated by
/// whitespace with `#` comments.
fn read_catalogue(file: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    if text.trim_start().starts_with('[') {
        let list: Vec<String> = serde_json::from_str(&text)
            .map_err(|e| format!("{file}: not a JSON list of strings: {e}"))?;
        return Ok(list);
    }
    Ok(text
        .lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect())
}
