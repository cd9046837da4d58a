//! `workload-authz-dist`: the release steps of `make oci` and `make dist`.
//!
//! ```text
//! workload-authz-dist oci       --wasm W [--version V] --out DIR   # DIR/compat, DIR/oci (OCI layouts)
//! workload-authz-dist pin       --wasm W [--version V] FILE...     # rewrite WasmPlugin sha256
//! workload-authz-dist changelog --wasm W [--version V] --date D --file CHANGELOG.md
//! workload-authz-dist digests   --wasm W [--version V]             # what each URL kind pins
//! workload-authz-dist interface --wasm W                           # imports and exports
//! ```
//! The version defaults to `[workspace.package] version`.

use std::path::PathBuf;
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
            let pins = pin::Pins::compute(&wasm, &version).map_err(e)?;
            for file in &args.files {
                let text = std::fs::read_to_string(file)
                    .map_err(|err| format!("{}: {err}", file.display()))?;
                let (new, report) = pin::rewrite(&text, &pins)
                    .map_err(|err| format!("{}: {err}", file.display()))?;
                if new != text {
                    std::fs::write(file, &new)
                        .map_err(|err| format!("{}: {err}", file.display()))?;
                }
                for r in report {
                    println!("{}: {r}", file.display());
                }
            }
        }
        "changelog" => {
            let file = args.file.ok_or("--file is required")?;
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
            std::fs::write(&file, new).map_err(|err| format!("{}: {err}", file.display()))?;
            println!("{}: section [{version}] updated", file.display());
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
