//! The built module's interface: the proxy-wasm ABI it declares, what it imports (all listed in
//! docs/packaging.md, the page gateway vendors read) and nothing from unexpected modules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use workload_authz_packaging::{module, wasm_path, workspace_root};

fn interface() -> module::Interface {
    let path = wasm_path();
    let wasm = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{} ({e}): run `make build`", path.display()));
    module::interface(&wasm).unwrap()
}

#[test]
fn declares_proxy_wasm_abi_0_2_1_as_a_wasi_reactor() {
    let iface = interface();
    let exports: Vec<&str> = iface.exports.iter().map(|e| e.name.as_str()).collect();
    for name in [
        "proxy_abi_version_0_2_1",
        "_initialize",
        "memory",
        "proxy_on_memory_allocate",
        "proxy_on_vm_start",
        "proxy_on_configure",
        "proxy_on_context_create",
        "proxy_on_request_headers",
        "proxy_on_http_call_response",
        "proxy_on_tick",
    ] {
        assert!(
            exports.contains(&name),
            "missing export {name}: {exports:?}"
        );
    }
    assert!(!exports.contains(&"_start"), "a reactor, not a command");
    let other_abis: Vec<&&str> = exports
        .iter()
        .filter(|e| e.starts_with("proxy_abi_version_") && **e != "proxy_abi_version_0_2_1")
        .collect();
    assert!(other_abis.is_empty(), "{other_abis:?}");
}

/// The exports `make build` keeps (filter/plugin/exports.json, binaryen's wasm-metadce graph).
fn kept_exports() -> Vec<String> {
    let path = workspace_root()
        .join("filter")
        .join("plugin")
        .join("exports.json");
    let graph: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut kept: Vec<String> = graph
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|node| node["export"].as_str().map(str::to_owned))
        .collect();
    kept.sort();
    kept
}

/// Envoy calls an exported callback on every request whether the filter answers it or not
/// (about 1.6k instructions each under V8), and skips one the module does not export.
#[test]
fn exports_only_the_callbacks_the_filter_answers() {
    let mut exports: Vec<String> = interface().exports.into_iter().map(|e| e.name).collect();
    exports.sort();
    assert_eq!(exports, kept_exports(), "run `make build` (wasm-metadce)");
    let doc = std::fs::read_to_string(workspace_root().join("docs").join("packaging.md")).unwrap();
    let undocumented: Vec<&String> = exports
        .iter()
        .filter(|e| !doc.contains(&format!("`{e}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "exports not listed in docs/packaging.md: {undocumented:?}"
    );
    for unanswered in [
        "proxy_on_log",
        "proxy_on_done",
        "proxy_on_request_trailers",
        "proxy_on_response_trailers",
        "proxy_on_new_connection",
        "proxy_on_queue_ready",
    ] {
        assert!(!exports.iter().any(|e| e == unanswered), "{unanswered}");
    }
    // The callbacks the glue implements (filter/plugin/src/http.rs, root.rs) are all kept.
    for answered in [
        "proxy_on_request_body",
        "proxy_on_response_headers",
        "proxy_on_response_body",
        "proxy_on_delete",
    ] {
        assert!(exports.iter().any(|e| e == answered), "{answered}");
    }
}

#[test]
fn every_import_is_documented_for_vendors() {
    let iface = interface();
    let doc = std::fs::read_to_string(workspace_root().join("docs").join("packaging.md")).unwrap();
    let mut missing = Vec::new();
    for i in &iface.imports {
        assert!(
            i.module == "env" || i.module == "wasi_snapshot_preview1",
            "import from an unexpected module: {i}"
        );
        assert_eq!(i.kind, "func", "{i}");
        if !doc.contains(&i.name) {
            missing.push(i.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "imports not listed in docs/packaging.md: {missing:?}"
    );
}
