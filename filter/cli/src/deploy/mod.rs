//! `envoy` and `istio`: the policy embedded in a ready Envoy HTTP filter or Istio `WasmPlugin`.
//!
//! A policy with MCP routes needs the filter to pause in request headers and read the body
//! before anything reaches the upstream: Envoy's Wasm `PluginConfig` allows it with
//! `allow_on_headers_stop_iteration: true` (Envoy 1.35 and later), which `envoy` then sets.
//! Istio's `WasmPlugin` has no such field, so `istio` warns.
//!
//! `envoy --bootstrap` wraps the same filter entry in a complete static bootstrap
//! ([`bootstrap`]).

mod bootstrap;

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
    /// Print a complete static Envoy bootstrap (listener, the filter, the router, the JSON
    /// access log with the decision record on standard output, stats tags, admin, the upstream
    /// cluster) instead of the `http_filters` entry.
    #[arg(long)]
    pub bootstrap: bool,
    /// With --bootstrap: the upstream the listener forwards to [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT", requires = "bootstrap")]
    pub upstream: Option<String>,
    /// With --bootstrap: the listener's port (on 0.0.0.0) [default: 10000].
    #[arg(long, value_name = "PORT", requires = "bootstrap")]
    pub port: Option<u16>,
    /// With --bootstrap: the admin listener's port (on 127.0.0.1) [default: 9901].
    #[arg(long, value_name = "PORT", requires = "bootstrap")]
    pub admin_port: Option<u16>,
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
            loaded.print_errors(errors, false);
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

/// The routes with an `mcp` block, as `` routes[0] `crm.mcp` ``.
fn mcp_routes(policy: &Policy) -> Vec<String> {
    policy
        .routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.mcp.is_some())
        .map(|(i, r)| format!("routes[{i}] `{}`", r.action))
        .collect()
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// Comment lines naming the key sets read from `local_jwks.filename` and inlined.
fn inlined_notes(loaded: &Loaded) -> String {
    loaded
        .inlined
        .iter()
        .map(|i| {
            format!(
                "# {}: the key set of {} is inlined as local_jwks.inline_string.\n",
                i.field(),
                i.file.display()
            )
        })
        .collect()
}

/// Runs `envoy`.
pub fn envoy(args: &EnvoyArgs) -> Result<ExitCode, String> {
    let upstream = bootstrap::Upstream::parse(
        args.upstream
            .as_deref()
            .unwrap_or(bootstrap::DEFAULT_UPSTREAM),
    )
    .map_err(|e| e.to_string())?;
    let (loaded, policy, value) = match compiled(&args.policy)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let entry = filter_entry(&policy, &value, &args.wasm)?;
    let notes = inlined_notes(&loaded);
    if args.bootstrap {
        let text = bootstrap::render(&bootstrap::Bootstrap {
            file: &loaded.source.path,
            hash: &policy.hash,
            notes: &notes,
            filter_entry: &entry,
            upstream: &upstream,
            port: args.port.unwrap_or(bootstrap::DEFAULT_PORT),
            admin_port: args.admin_port.unwrap_or(bootstrap::DEFAULT_ADMIN_PORT),
        })
        .map_err(|e| e.to_string())?;
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    print!(
        "\
# workload-authz: Envoy HTTP filter with the policy of {file} (policy hash {hash}).
# Put it in the http_filters of an http_connection_manager, before envoy.filters.http.router.
# The policy is the filter's `configuration` (a google.protobuf.StringValue holding JSON).
{notes}{entry}",
        file = loaded.source.path,
        hash = policy.hash,
    );
    Ok(ExitCode::SUCCESS)
}

/// The `http_filters` entry (YAML at column 0): `envoy.filters.http.wasm` with the V8 runtime,
/// the module at `wasm`, the policy `value` as its `configuration`, and
/// `allow_on_headers_stop_iteration` when the policy has MCP routes.
fn filter_entry(policy: &Policy, value: &Value, wasm: &str) -> Result<String, String> {
    let pretty = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    let embedded: String = pretty
        .lines()
        .map(|line| format!("              {line}\n"))
        .collect();
    let mcp = mcp_routes(policy);
    let (mcp_note, stop_iteration) = if mcp.is_empty() {
        ("", "")
    } else {
        (
            "# MCP routes: the filter pauses in request headers to read the JSON-RPC body before\n\
             # anything reaches the upstream, which allow_on_headers_stop_iteration permits (Envoy 1.35+).\n",
            "      allow_on_headers_stop_iteration: true\n",
        )
    };
    Ok(format!(
        "\
{mcp_note}\
- name: workload_authz
  typed_config:
    \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
    config:
      name: workload_authz
      root_id: workload_authz
{stop_iteration}      vm_config:
        vm_id: workload_authz
        runtime: envoy.wasm.runtime.v8
        code:
          local:
            filename: {wasm}
      configuration:
        \"@type\": type.googleapis.com/google.protobuf.StringValue
        value: |-
{embedded}",
        wasm = quoted(wasm),
    ))
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
    let mcp = mcp_routes(&policy);
    let mcp_note = if mcp.is_empty() {
        String::new()
    } else {
        let routes = mcp.join(", ");
        eprintln!(
            "workload-authz: warning: the policy has MCP routes ({routes}): the filter must pause in request headers to read their JSON-RPC body, which needs Envoy's Wasm PluginConfig `allow_on_headers_stop_iteration: true`, and Istio's WasmPlugin has no field for it; without it those routes cannot be judged on their body. Insert the filter with an EnvoyFilter made from `workload-authz envoy` instead"
        );
        format!(
            "\
# WARNING: MCP routes ({routes}) need Envoy's Wasm PluginConfig
# `allow_on_headers_stop_iteration: true` (the filter pauses in request headers to read the
# JSON-RPC body), and a WasmPlugin has no field for it: insert the filter with an EnvoyFilter
# made from `workload-authz envoy` instead.
"
        )
    };
    let mut out = format!(
        "\
# workload-authz as an Istio WasmPlugin, with the policy of {file} (policy hash {hash}).
# failStrategy FAIL_CLOSE: if the module cannot be fetched or loaded, requests are refused.
{notes}{mcp_note}\
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: {name}
",
        file = loaded.source.path,
        hash = policy.hash,
        name = quoted(&args.name),
        notes = inlined_notes(&loaded),
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
