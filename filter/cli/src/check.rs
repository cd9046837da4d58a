//! `workload-authz check POLICY`: compile exactly as `on_configure` does, print every error with
//! its path and a hint. Messages and hints both come from the core (`ConfigError`'s `Display` and
//! `hint`), so `check` says what the filter logs.

use crate::policy::{self, Loaded};
use crate::TextOrJson;
use serde_json::{json, Value};
use std::process::ExitCode;
use workload_authz_core::config::ConfigError;

/// Runs `check`.
pub fn run(path: &str, format: TextOrJson) -> Result<ExitCode, String> {
    let loaded = policy::load(path)?;
    let source = &loaded.source.path;
    match (&loaded.compiled, format) {
        (Ok(policy), TextOrJson::Text) => {
            println!(
                "{source}: ok ({} provider(s), {} route(s), mode {}, policy {})",
                policy.providers.len(),
                policy.routes.len(),
                policy.mode.as_str(),
                policy.hash
            );
            print_inlined(&loaded);
            Ok(ExitCode::SUCCESS)
        }
        (Ok(policy), TextOrJson::Json) => {
            let out = json!({
                "policy": source,
                "ok": true,
                "hash": policy.hash,
                "mode": policy.mode.as_str(),
                "providers": policy.providers.len(),
                "routes": policy.routes.len(),
                "errors": [],
                "inlined": inlined_json(&loaded),
            });
            println!("{out:#}");
            Ok(ExitCode::SUCCESS)
        }
        (Err(errors), TextOrJson::Text) => {
            loaded.print_errors(errors, true);
            print_inlined(&loaded);
            println!(
                "{source}: {} error(s); the filter refuses this configuration",
                errors.0.len()
            );
            Ok(ExitCode::from(1))
        }
        (Err(errors), TextOrJson::Json) => {
            let list: Vec<Value> = errors.0.iter().map(|e| error_json(e, &loaded)).collect();
            let out = json!({
                "policy": source,
                "ok": false,
                "errors": list,
                "inlined": inlined_json(&loaded),
            });
            println!("{out:#}");
            Ok(ExitCode::from(1))
        }
    }
}

/// A note per key set read from `local_jwks.filename`: it was checked inline, and the filter
/// itself would refuse the file (so the policy to deploy is the one `envoy`/`istio` print).
fn print_inlined(loaded: &Loaded) {
    for inlined in &loaded.inlined {
        println!(
            "{}: note: {}: checked with the key set of `{}` inline; the filter cannot read files: deploy what `workload-authz envoy` or `istio` prints (the key set inline)",
            loaded.place(&inlined.field()),
            inlined.field(),
            inlined.file.display(),
        );
    }
}

/// The inlined key sets as JSON: `[{"path", "file"}]`.
fn inlined_json(loaded: &Loaded) -> Value {
    loaded
        .inlined
        .iter()
        .map(|i| json!({"path": i.field(), "file": i.file.display().to_string()}))
        .collect()
}

/// One error as JSON: path, line (JSON files), message, hint, and `origin` for an error inside a
/// key set read from `local_jwks.filename` (else `null`).
pub fn error_json(error: &ConfigError, loaded: &Loaded) -> Value {
    json!({
        "path": error.path,
        "line": loaded.line(&error.path),
        "message": error.to_string(),
        "hint": error.hint(),
        "origin": loaded.origin(&error.path),
    })
}
