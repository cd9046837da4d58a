//! Release pins that hold.
//!
//! Digests change with every commit that touches the module, so the tracked files carry none:
//! the Istio examples pin `pin::PLACEHOLDER`, `CHANGELOG.md` says where the digests are.
//! `make dist` writes the pinned copies under `dist/` and must never rewrite a tracked file.
//!
//! * every 64-hex-digit digest in the tracked documents (`CHANGELOG.md`, `README.md`, `docs/`,
//!   `examples/`) is the placeholder or a digest of the current build: a stale pin fails here;
//! * `workload-authz-dist pin` and `changelog` write copies and refuse to write over their input;
//! * with `WORKLOAD_AUTHZ_DIST=<dir>` (as `make dist` runs it), the copies in that directory
//!   carry the digests of the module they ship.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use workload_authz_packaging::{pin, workspace_root};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "workload-authz-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn walk(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, exts, out);
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| exts.contains(&x))
        {
            out.push(p);
        }
    }
}

/// The tracked documents a user copies digests from.
fn documents() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files = vec![root.join("CHANGELOG.md"), root.join("README.md")];
    walk(&root.join("docs"), &["md"], &mut files);
    walk(
        &root.join("examples"),
        &["yaml", "yml", "json", "md"],
        &mut files,
    );
    files
}

fn build_pins() -> Result<pin::Pins, String> {
    let path = workload_authz_packaging::wasm_path();
    let wasm = std::fs::read(&path).map_err(|e| format!("{} ({e})", path.display()))?;
    let version = workload_authz_packaging::version().ok_or("no workspace version")?;
    pin::Pins::compute(&wasm, &version).map_err(|e| e.to_string())
}

#[test]
fn tracked_documents_carry_no_stale_digest() {
    let root = workspace_root();
    let mut found = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for token in pin::hex64_tokens(line) {
                if token != pin::PLACEHOLDER {
                    let shown = file.strip_prefix(&root).unwrap_or(&file).display();
                    found.push((format!("{shown}:{}", n + 1), token.to_string()));
                }
            }
        }
    }
    if found.is_empty() {
        return;
    }
    let listed = || {
        found
            .iter()
            .map(|(at, t)| format!("{at}: {t}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let pins = build_pins().unwrap_or_else(|e| {
        panic!(
            "these tracked files carry digests, which cannot be checked without the build ({e}; \
             run `make build`). Put the placeholder {} back, or say where the digests are \
             (dist/, the release): `make dist` writes the pinned copies.\n{}",
            pin::PLACEHOLDER,
            listed()
        )
    });
    let stale: Vec<String> = found
        .iter()
        .filter(|(_, t)| !pins.all().contains(&t.as_str()))
        .map(|(at, t)| format!("{at}: {t}"))
        .collect();
    assert!(
        stale.is_empty(),
        "digests that are neither the placeholder {} nor a digest of the current build \
         (module {}, compat image {}, oci image {}); tracked files keep the placeholder, \
         `make dist` writes the pinned copies under dist/:\n{}",
        pin::PLACEHOLDER,
        pins.module_sha256,
        pins.compat_digest,
        pins.oci_digest,
        stale.join("\n")
    );
}

fn dist(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_workload-authz-dist"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn snapshot(files: &[PathBuf]) -> Vec<Vec<u8>> {
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// What `make dist` does, on the tracked files: copies are written, the inputs never change,
/// and an output over an input is refused.
#[test]
fn the_dist_tool_writes_copies_and_never_its_inputs() {
    let root = workspace_root();
    let tmp = temp_dir("dist-copies");
    // A minimal module: the Wasm magic number and version 1.
    let wasm = tmp.join("module.wasm");
    std::fs::write(&wasm, b"\0asm\x01\0\0\0").unwrap();
    let wasm_arg = wasm.to_str().unwrap();
    let version = "9.9.9";
    let pins = pin::Pins::compute(b"\0asm\x01\0\0\0", version).unwrap();

    let mut manifests = Vec::new();
    walk(
        &root.join("examples").join("istio"),
        &["yaml"],
        &mut manifests,
    );
    assert!(manifests.len() >= 2);
    let changelog = root.join("CHANGELOG.md");
    let mut inputs = manifests.clone();
    inputs.push(changelog.clone());
    let before = snapshot(&inputs);

    // The tracked URLs name the workspace version: pin for it.
    let real_version = workload_authz_packaging::version().unwrap();
    let real_pins = pin::Pins::compute(b"\0asm\x01\0\0\0", &real_version).unwrap();
    let out_dir = tmp.join("istio");
    let mut args = vec![
        "pin",
        "--wasm",
        wasm_arg,
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let names: Vec<String> = manifests
        .iter()
        .map(|m| m.to_str().unwrap().to_string())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let (ok, log) = dist(&args);
    assert!(ok, "{log}");
    for m in &manifests {
        let copy = std::fs::read_to_string(out_dir.join(m.file_name().unwrap())).unwrap();
        let original = std::fs::read_to_string(m).unwrap();
        if original.contains("kind: WasmPlugin") {
            assert!(!copy.contains(pin::PLACEHOLDER), "{}: {copy}", m.display());
            assert!(
                real_pins.all().iter().any(|d| copy.contains(d)),
                "{}: {copy}",
                m.display()
            );
        } else {
            assert_eq!(copy, original, "{}", m.display());
        }
    }

    let copy = tmp.join("CHANGELOG.md");
    let (ok, log) = dist(&[
        "changelog",
        "--wasm",
        wasm_arg,
        "--version",
        version,
        "--date",
        "2000-01-01",
        "--file",
        changelog.to_str().unwrap(),
        "--out",
        copy.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    let text = std::fs::read_to_string(&copy).unwrap();
    for d in pins.all() {
        assert!(text.contains(d), "{text}");
    }

    // Refused: no --out, an output directory holding the inputs, the changelog over itself.
    let istio = root.join("examples").join("istio");
    let refused: Vec<Vec<String>> = vec![
        vec![
            "pin".into(),
            "--wasm".into(),
            wasm_arg.into(),
            names[0].clone(),
        ],
        vec![
            "pin".into(),
            "--wasm".into(),
            wasm_arg.into(),
            "--out".into(),
            istio.to_str().unwrap().into(),
            names[0].clone(),
        ],
        vec![
            "pin".into(),
            "--wasm".into(),
            wasm_arg.into(),
            "--out".into(),
            "examples/../examples/istio".into(),
            names[0].clone(),
        ],
        vec![
            "changelog".into(),
            "--wasm".into(),
            wasm_arg.into(),
            "--date".into(),
            "2000-01-01".into(),
            "--file".into(),
            "CHANGELOG.md".into(),
            "--out".into(),
            changelog.to_str().unwrap().into(),
        ],
        vec![
            "changelog".into(),
            "--wasm".into(),
            wasm_arg.into(),
            "--date".into(),
            "2000-01-01".into(),
            "--file".into(),
            "CHANGELOG.md".into(),
        ],
    ];
    for args in refused {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, log) = dist(&args);
        assert!(!ok, "accepted {args:?}: {log}");
    }
    assert!(
        snapshot(&inputs) == before,
        "a tracked file changed under workload-authz-dist"
    );
    std::fs::remove_dir_all(&tmp).ok();
}

/// `make dist` runs this with `WORKLOAD_AUTHZ_DIST=dist`: the shipped module is the build, its
/// `.sha256` file and `dist/CHANGELOG.md` carry its digests.
#[test]
fn the_dist_copies_carry_the_build_when_asked() {
    let Some(dir) = std::env::var_os("WORKLOAD_AUTHZ_DIST").filter(|d| !d.is_empty()) else {
        eprintln!("WORKLOAD_AUTHZ_DIST not set: dist/ not checked");
        return;
    };
    let dir = workspace_root().join(dir);
    let pins = build_pins().unwrap();
    let shipped = std::fs::read(dir.join("workload_authz.wasm")).unwrap();
    assert_eq!(
        workload_authz_packaging::oci::sha256_hex(&shipped),
        pins.module_sha256,
        "dist/workload_authz.wasm is not the build"
    );
    let sum = std::fs::read_to_string(dir.join("workload_authz.wasm.sha256")).unwrap();
    assert_eq!(
        sum.trim_end(),
        format!("{}  workload_authz.wasm", pins.module_sha256)
    );
    let changelog = std::fs::read_to_string(dir.join("CHANGELOG.md")).unwrap();
    for d in pins.all() {
        assert!(changelog.contains(d), "dist/CHANGELOG.md lacks {d}");
    }
    assert!(
        changelog.contains(&format!("| {} bytes |", shipped.len())),
        "dist/CHANGELOG.md lacks the module size"
    );
}
