//! `envoy` and `istio`: the policy embedded in a ready Envoy HTTP filter or Istio `WasmPlugin`.

use crate::policy::{self, Loaded};
use clap::Args;
use serde_json::Value;
use std::process::ExitCode;
use workload_authz_core::Policy;

/// Arguments of `envoy`.
#[derive(Args, Debug)]
pub struct EnvoyArgs {
    /// The policy: JSON or YAML (`-` reads standard input).
    pub policy: String,
    /// Where Envoy reads the filter module.
    #[arg(
        long,
        default_value = "/etc/envoy/workload_authz.wasm",
        value_name = "PATH"
    )]
    pub wasm: String,
}

/// Arguments of `istio`.
#[derive(Args, Debug)]
pub struct IstioArgs {
    /// The policy: JSON or YAML (`-` reads standard input).
    pub policy: String,
    /// The module: `oci://REGISTRY/REPO:TAG` (or `http(s)://.../plugin.wasm`, `file://...`).
    #[arg(long, value_name = "URL")]
    pub image: String,
    /// SHA-256 Istio checks: of the image manifest for oci://, of the module for http(s)://.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// `metadata.name`.
    #[arg(long, default_value = "workload-authz")]
    pub name: String,
    /// `metadata.namespace` (default: none, the namespace kubectl applies to).
    #[arg(long)]
    pub namespace: Option<String>,
    /// A `selector.matchLabels` entry KEY=VALUE (repeatable; none: every workload of the
    /// namespace).
    #[arg(long, value_name = "KEY=VALUE")]
    pub selector: Vec<String>,
    /// `spec.priority` within the AUTHN phase.
    #[arg(long)]
    pub priority: Option<i32>,
}

/// Loads a policy and refuses to go on when it does not compile (printing every error).
fn compiled(path: &str) -> Result<Result<(Loaded, Policy, Value), ExitCode>, String> {
    let loaded = policy::load(path)?;
    match (&loaded.compiled, &loaded.value) {
        (Ok(policy), Some(value)) => {
            let (policy, value) = (policy.clone(), value.clone());
            Ok(Ok((loaded, policy, value)))
        }
        (Err(errors), _) => {
            for error in &errors.0 {
                eprintln!("{}: error: {error}", loaded.place(&error.path));
                eprintln!("  hint: {}", error.hint());
            }
            eprintln!(
                "{}: {} error(s): nothing printed, the filter would refuse this policy",
                loaded.source.path,
                errors.0.len()
            );
            Ok(Err(ExitCode::from(1)))
        }
        (Ok(_), None) => Err("the policy has no value".into()),
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// Runs `envoy`.
pub fn envoy(args: &EnvoyArgs) -> Result<ExitCode, String> {
    let (loaded, policy, value) = match compiled(&args.policy)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let pretty = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
    let embedded: String = pretty
        .lines()
        .map(|line| format!("              {line}\n"))
        .collect();
    print!(
        "\
# workload-authz: Envoy HTTP filter with the policy of {file} (policy hash {hash}).
# Put it in the http_filters of an http_connection_manager, before envoy.filters.http.router.
# The policy is the filter's `configuration` (a google.protobuf.StringValue holding JSON).
- name: workload_authz
  typed_config:
    \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
    config:
      name: workload_authz
      root_id: workload_authz
      vm_config:
        vm_id: workload_authz
        runtime: envoy.wasm.runtime.v8
        code:
          local:
            filename: {wasm}
      configuration:
        \"@type\": type.googleapis.com/google.protobuf.StringValue
        value: |-
{embedded}",
        file = loaded.source.path,
        hash = policy.hash,
        wasm = quoted(&args.wasm),
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `istio`.
pub fn istio(args: &IstioArgs) -> Result<ExitCode, String> {
    let scheme_ok = ["oci://", "http://", "https://", "file://"]
        .iter()
        .any(|s| args.image.starts_with(s));
    if !scheme_ok {
        return Err(format!(
            "`--image {}`: expected oci://REGISTRY/REPO:TAG (or http://, https://, file://)",
            args.image
        ));
    }
    if let Some(hex) = &args.sha256 {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`--sha256 {hex}`: expected 64 hex digits"));
        }
    }
    let mut labels = Vec::new();
    for pair in &args.selector {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!("`--selector {pair}`: expected KEY=VALUE"));
        };
        labels.push((k.to_string(), v.to_string()));
    }
    let (loaded, policy, value) = match compiled(&args.policy)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let config = serde_norway::to_string(&value).map_err(|e| e.to_string())?;
    let config: String = config.lines().map(|line| format!("    {line}\n")).collect();
    let mut out = format!(
        "\
# workload-authz as an Istio WasmPlugin, with the policy of {file} (policy hash {hash}).
# failStrategy FAIL_CLOSE: if the module cannot be fetched or loaded, requests are refused.
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: {name}
",
        file = loaded.source.path,
        hash = policy.hash,
        name = quoted(&args.name),
    );
    if let Some(ns) = &args.namespace {
        out.push_str(&format!("  namespace: {}\n", quoted(ns)));
    }
    out.push_str("spec:\n");
    if !labels.is_empty() {
        out.push_str("  selector:\n    matchLabels:\n");
        for (k, v) in &labels {
            out.push_str(&format!("      {}: {}\n", quoted(k), quoted(v)));
        }
    }
    out.push_str(&format!("  url: {}\n", quoted(&args.image)));
    out.push_str("  imagePullPolicy: IfNotPresent\n");
    if let Some(hex) = &args.sha256 {
        out.push_str(&format!(
            "  sha256: {}\n",
            quoted(&hex.to_ascii_lowercase())
        ));
    }
    out.push_str("  pluginName: workload_authz\n  phase: AUTHN\n");
    if let Some(priority) = args.priority {
        out.push_str(&format!("  priority: {priority}\n"));
    }
    out.push_str("  failStrategy: FAIL_CLOSE\n  type: HTTP\n  pluginConfig:\n");
    out.push_str(&config);
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
