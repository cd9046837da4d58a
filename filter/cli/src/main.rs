//! `workload-authz`: the native command over the same core as the filter.
//!
//! - `check` compiles a policy (JSON or YAML) exactly as the filter's `on_configure` does and
//!   prints every error with its path and a hint;
//! - `lint` reports governance findings with stable codes (text, JSON or SARIF);
//! - `explain` judges one request offline and prints the decision record and the trace of every
//!   check;
//! - `keygen` and `mint` make development keys and tokens (`make run` uses them);
//! - `review` reads decision records from access logs and reports least-privilege findings;
//! - `envoy` and `istio` print a ready Envoy filter snippet or an Istio `WasmPlugin` manifest.
//!
//! Exit codes: 0 success, 1 a policy error / a lint finding at or above `--fail-on`, 2 a usage or
//! I/O error.

mod check;
mod deploy;
mod dpop;
mod explain;
mod jwks_file;
mod keys;
mod lint;
mod locate;
mod mint;
mod policy;
mod report_html;
mod review;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Offline tools for workload-authz policies: the same engine as the proxy-wasm filter.
#[derive(Parser, Debug)]
#[command(name = "workload-authz", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output formats of `check` and `explain`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextOrJson {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile a policy exactly as the filter's on_configure does; print every error with a hint.
    Check {
        /// The policy: JSON or YAML (an Istio WasmPlugin manifest is read from its pluginConfig).
        /// `-` reads standard input.
        policy: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// Report governance findings (stable codes WA000-WA017, see docs/cli.md).
    Lint(lint::LintArgs),
    /// Judge one request offline: the decision record the filter would write and every check.
    Explain(explain::ExplainArgs),
    /// Generate a development signing key: DIR/KID.pem and the public key added to DIR/jwks.json.
    Keygen(mint::KeygenArgs),
    /// Print a signed development JWT.
    Mint(mint::MintArgs),
    /// Print a DPoP proof (RFC 9449) for a request with an existing token.
    Proof(dpop::ProofArgs),
    /// Review decision records from access logs: least-privilege findings (RV001-RV010).
    Review(review::ReviewArgs),
    /// Print an Envoy HTTP filter (envoy.filters.http.wasm) with the policy embedded.
    Envoy(deploy::EnvoyArgs),
    /// Print an Istio WasmPlugin manifest with the policy as pluginConfig.
    Istio(deploy::IstioArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { policy, format } => check::run(&policy, format),
        Command::Lint(args) => lint::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Keygen(args) => mint::keygen(&args),
        Command::Mint(args) => mint::mint(&args),
        Command::Proof(args) => dpop::run(&args),
        Command::Review(args) => review::run(&args),
        Command::Envoy(args) => deploy::envoy(&args),
        Command::Istio(args) => deploy::istio(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("workload-authz: {message}");
            ExitCode::from(2)
        }
    }
}
