//! `workload-authz-dist`: the release steps of `make oci` and `make dist`.
//!
//! ```text
//! workload-authz-dist oci       --wasm W [--version V] --out DIR   # DIR/compat, DIR/oci (OCI layouts)
//! workload-authz-dist pin       --wasm W [--version V] --out DIR FILE...  # DIR/<file>, sha256 pinned
//! workload-authz-dist changelog --wasm W [--version V] --date D --file CHANGELOG.md --out COPY
//! workload-authz-dist digests   --wasm W [--version V]             # what each URL kind pins
//! workload-authz-dist interface --wasm W                           # imports and exports
//! ```
//! The version defaults to `[workspace.package] version`.
//!
//! `pin` and `changelog` write copies (under `dist/` in `make dist`) and refuse to write over
//! their input: the tracked files keep `pin::PLACEHOLDER` and no digest, so they never go stale.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use workload_authz_packaging::oci::{self, Variant};
use workload_authz_packaging::{changelog, module, pin};

struct Args {
    command: String,
    wasm: Option<PathBuf>,
    version: Option<String>,
    out: Option<PathBuf>,
    date: Option<String>,
    file: Option<PathBuf>,
    files: Vec<PathBuf>,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it.next().ok_or("missing command")?;
    let mut args = Args {
        command,
        wasm: None,
        version: None,
        out: None,
        date: None,
        file: None,
        files: Vec::new(),
    };
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--wasm" => args.wasm = Some(value()?.into()),
            "--version" => args.version = Some(value()?),
            "--out" => args.out = Some(value()?.into()),
            "--date" => args.date = Some(value()?),
            "--file" => args.file = Some(value()?.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => args.files.push(a.into()),
        }
    }
    Ok(args)
}

/// Refuses an output that is (or would overwrite) one of the inputs.
fn not_an_input(out: &Path, inputs: &[&Path]) -> Result<(), String> {
    let canon = |p: &Path| {
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = parent
            .canonicalize()
            .unwrap_or_else(|_| parent.to_path_buf());
        p.file_name().map(|n| dir.join(n))
    };
    for input in inputs {
        if canon(out).is_some() && canon(out) == canon(input) {
            return Err(format!(
                "refusing to write over {} (the tracked file keeps its placeholder; write the copy elsewhere, e.g. under dist/)",
                input.display()
            ));
        }
    }
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    let wasm_path = args.wasm.clone().ok_or("--wasm is required")?;
    let wasm = std::fs::read(&wasm_path).map_err(|e| format!("{}: {e}", wasm_path.display()))?;
    let version = match args.version.clone() {
        Some(v) => v,
        None => workload_authz_packaging::version().ok_or("cannot read the workspace version")?,
    };
    let e = |e: oci::Error| e.to_string();
    match args.command.as_str() {
        "oci" => {
            let out = args.out.ok_or("--out is required")?;
            for variant in Variant::ALL {
                let image = oci::build(variant, &wasm, &version).map_err(e)?;
                let dir = out.join(variant.name());
                let tag = variant.tag(&version);
                oci::write_layout(&image, &dir, &tag).map_err(e)?;
                let size: usize = image.layers.iter().map(|l| l.bytes.len()).sum();
                println!(
                    "{:<6} {}:{tag}  manifest {}  ({} layer(s), {size} bytes)",
                    variant.name(),
                    dir.display(),
                    image.digest(),
                    image.layers.len()
                );
            }
        }
        "pin" => {
            let out = args
                .out
                .ok_or("--out DIR is required (the copies go there; inputs are never rewritten)")?;
            let pins = pin::Pins::compute(&wasm, &version).map_err(e)?;
            let inputs: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
            let mut todo = Vec::new();
            for file in &args.files {
                let name = file
                    .file_name()
                    .ok_or_else(|| format!("{}: not a file name", file.display()))?;
                let target = out.join(name);
                not_an_input(&target, &inputs)?;
                let text = std::fs::read_to_string(file)
                    .map_err(|err| format!("{}: {err}", file.display()))?;
                let (new, report) = pin::rewrite(&text, &pins)
                    .map_err(|err| format!("{}: {err}", file.display()))?;
                todo.push((target, new, report));
            }
            std::fs::create_dir_all(&out).map_err(|err| format!("{}: {err}", out.display()))?;
            for (target, new, report) in todo {
                std::fs::write(&target, &new)
                    .map_err(|err| format!("{}: {err}", target.display()))?;
                println!("{}", target.display());
                for r in report {
                    println!("  {r}");
                }
            }
        }
        "changelog" => {
            let file = args.file.ok_or("--file is required")?;
            let out = args
                .out
                .ok_or("--out COPY is required (the tracked changelog is never rewritten)")?;
            not_an_input(&out, &[&file])?;
            let date = args.date.ok_or("--date is required")?;
            let pins = pin::Pins::compute(&wasm, &version).map_err(e)?;
            let compat = oci::build(Variant::Compat, &wasm, &version).map_err(e)?;
            let layer = compat.layers.first().map_or(0, |l| l.bytes.len());
            let block = format!(
                "Artefacts (`make dist`):\n\n\
                 | artefact | digest | size |\n| --- | --- | --- |\n\
                 | `workload_authz.wasm` | sha256 `{}` | {} bytes |\n\
                 | OCI image, compat variant, tag `{}` | `sha256:{}` | layer {layer} bytes |\n\
                 | OCI image, oci variant, tag `{}` | `sha256:{}` | layer {} bytes |",
                pins.module_sha256,
                wasm.len(),
                Variant::Compat.tag(&version),
                pins.compat_digest,
                Variant::Oci.tag(&version),
                pins.oci_digest,
                wasm.len()
            );
            let text = std::fs::read_to_string(&file).unwrap_or_else(|_| {
                "# Changelog\n\nAll notable changes to workload-authz. Versions follow the workspace version in `Cargo.toml`.\n".to_string()
            });
            let new = changelog::update(&text, &version, &date, &block);
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
            }
            std::fs::write(&out, new).map_err(|err| format!("{}: {err}", out.display()))?;
            println!(
                "{}: {} with the artefacts of section [{version}]",
                out.display(),
                file.display()
            );
        }
        "digests" => {
            let pins = pin::Pins::compute(&wasm, &version).map_err(e)?;
            println!(
                "module sha256 (http/https/file URLs): {}",
                pins.module_sha256
            );
            println!(
                "oci://...:{} (compat) manifest digest: {}",
                Variant::Compat.tag(&version),
                pins.compat_digest
            );
            println!(
                "oci://...:{} (oci) manifest digest:    {}",
                Variant::Oci.tag(&version),
                pins.oci_digest
            );
        }
        "interface" => {
            let iface = module::interface(&wasm)?;
            for i in &iface.imports {
                println!("import {i}");
            }
            for x in &iface.exports {
                println!("export {} ({})", x.name, x.kind);
            }
        }
        other => return Err(format!("unknown command `{other}`")),
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("workload-authz-dist: {msg}");
            ExitCode::FAILURE
        }
    }
}
