//! Test harness for running the workload-authz proxy-wasm filter inside a real Envoy.
//!
//! * [`Envoy`]: starts Envoy (V8 runtime) with the filter and a given policy in front of an
//!   in-process echo upstream ([`echo::EchoServer`]), or checks that Envoy refuses a policy.
//! * [`http`]: a minimal HTTP/1.1 client that sends requests verbatim.
//! * [`tokens`]: fresh key pairs (RS256, PS256, ES256, ES384, EdDSA), JWKS and token minting.
//! * [`check`]: expectation table checking with readable failure lists.
//!
//! Locations (overridable through the environment):
//! * Envoy: `ENVOY_BIN`, else `<workspace>/.venv/bin/envoy`.
//! * Filter: `WORKLOAD_AUTHZ_WASM`, else `<workspace>/target/wasm32-wasip1/release/workload_authz.wasm`.
//! * Shared vectors: `<workspace>/../shared/vectors/`.

pub mod check;
pub mod docserver;
pub mod echo;
pub mod envoy;
pub mod http;
pub mod tokens;

pub use check::{Checker, Expect};
pub use envoy::{Envoy, EnvoyOptions, StartError};
pub use http::{Request, Response};

use std::path::PathBuf;

/// The workspace root (parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join(".."))
}

/// Path of the Envoy binary: `ENVOY_BIN`, else `<workspace>/.venv/bin/envoy`.
pub fn envoy_bin() -> PathBuf {
    match std::env::var_os("ENVOY_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".venv").join("bin").join("envoy"),
    }
}

/// Path of the filter module: `WORKLOAD_AUTHZ_WASM`, else the release wasm in the target dir.
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

/// Path of the native CLI: `WORKLOAD_AUTHZ_CLI`, else the newer of the release and debug builds
/// in the target dir (a stale release binary must not shadow a fresh debug build). Panics with
/// what to run when neither is built: tests that need it cannot run without it.
pub fn cli_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("WORKLOAD_AUTHZ_CLI").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let target = workspace_root().join("target");
    let candidates = [
        target.join("release").join("workload-authz"),
        target.join("debug").join("workload-authz"),
    ];
    let modified = |p: &PathBuf| p.metadata().and_then(|m| m.modified()).ok();
    let newest = candidates
        .iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| modified(p));
    match newest {
        Some(found) => found.clone(),
        None => panic!(
            "the workload-authz CLI is not built: run `make cli` (or `cargo build -p workload-authz-cli`), \
             or point WORKLOAD_AUTHZ_CLI at the binary (looked for {} and {})",
            candidates[0].display(),
            candidates[1].display()
        ),
    }
}

/// Directory of the shared (read-only) test vectors.
pub fn vectors_dir() -> PathBuf {
    workspace_root().join("..").join("shared").join("vectors")
}

/// Reads a file of the shared vectors (path relative to [`vectors_dir`]), trimmed.
pub fn read_vector(rel: &str) -> String {
    let path = vectors_dir().join(rel);
    match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().to_string(),
        Err(e) => panic!("cannot read vector {}: {e}", path.display()),
    }
}

/// Current UNIX time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// base64url without padding.
pub fn b64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[idx as usize]));
        }
    }
    out
}

/// Decodes base64url (padding and the standard alphabet tolerated). `None` on bad input.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64url_roundtrip() {
        for len in 0..40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = b64url(&data);
            assert!(!enc.contains('='));
            assert_eq!(b64url_decode(&enc), Some(data));
        }
        assert_eq!(b64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64url(b"fo"), "Zm8");
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
    }
}
