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
