//! Release packaging of the workload-authz filter (native only; nothing here reaches the
//! `.wasm`):
//!
//! * [`oci`]: the *compat* and *oci* OCI images of the module, as OCI image layouts, and a
//!   model of how Istio's image fetcher reads them;
//! * [`pin`]: the `sha256` a `WasmPlugin` must pin for its URL, and rewriting the examples;
//! * [`module`]: the module's imports and exports (what a host must provide);
//! * [`changelog`]: the release's artefact block in `CHANGELOG.md`.
//!
//! The `workload-authz-dist` binary drives them from `make oci` and `make dist`.

pub mod changelog;
pub mod module;
pub mod oci;
pub mod pin;

use std::path::PathBuf;

/// The workspace root (parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join(".."))
}

/// The filter module: `WORKLOAD_AUTHZ_WASM`, else the release build in the target dir.
pub fn wasm_path() -> PathBuf {
    match std::env::var_os("WORKLOAD_AUTHZ_WASM") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root()
            .join("target")
            .join("wasm32-wasip1")
            .join("release")
            .join("workload_authz.wasm"),
    }
}

/// `version` of `[workspace.package]` in a Cargo.toml text.
pub fn workspace_version(cargo_toml: &str) -> Option<String> {
    let mut in_section = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(rest) = line.strip_prefix("version") {
                let value = rest.trim_start().strip_prefix('=')?.trim();
                return Some(value.trim_matches('"').to_string());
            }
        }
    }
    None
}

/// The workspace version (from the root Cargo.toml).
pub fn version() -> Option<String> {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).ok()?;
    workspace_version(&text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_workspace_version() {
        let toml = "[workspace]\nmembers = []\n\n[workspace.package]\nedition = \"2021\"\nversion = \"1.2.3\"\n\n[x]\nversion = \"9\"\n";
        assert_eq!(super::workspace_version(toml).as_deref(), Some("1.2.3"));
        assert_eq!(
            super::workspace_version("[package]\nversion = \"1\"\n"),
            None
        );
    }
}
