//! The `sha256` a `WasmPlugin` pins, and rewriting it in the example manifests.
//!
//! What Istio compares `spec.sha256` with depends on the URL (`pkg/wasm/cache.go`):
//! * `http://`, `https://`, `file://`: the SHA-256 of the module bytes;
//! * `oci://`: the image (manifest) digest, checked before any layer is pulled.
//!
//! So a manifest pinned to the module's SHA-256 with an `oci://` URL never loads.
//!
//! The tracked manifests (`examples/istio/`) carry [`PLACEHOLDER`], never a digest: the digests
//! change with every commit that touches the module, so a committed one goes stale. `make dist`
//! writes copies with the real values under `dist/istio/` and leaves the tracked files alone.

use crate::oci::{self, Variant};

/// The `sha256` of the tracked example manifests: 64 zeros. It passes the CRD's pattern
/// (`^[a-f0-9]{64}$`) and no module or image has it, so a manifest applied without its real
/// pin is refused by Istio (checksum mismatch; with `FAIL_CLOSE` no traffic passes) instead of
/// loading an unverified module, which an empty `sha256` would do.
pub const PLACEHOLDER: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Every run of exactly 64 lowercase hex digits in `text` (not part of a longer hex or
/// alphanumeric run): the digests a document pins or quotes.
pub fn hex64_tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).copied().is_some_and(is_hex) {
            i += 1;
            continue;
        }
        let start = i;
        while bytes.get(i).copied().is_some_and(is_hex) {
            i += 1;
        }
        let before = start
            .checked_sub(1)
            .and_then(|j| bytes.get(j))
            .is_some_and(u8::is_ascii_alphanumeric);
        let after = bytes.get(i).is_some_and(u8::is_ascii_alphanumeric);
        if i - start == 64 && !before && !after {
            if let Some(t) = text.get(start..i) {
                out.push(t);
            }
        }
    }
    out
}

/// Every value a manifest may pin for one build, as 64 lowercase hex digits.
#[derive(Debug, Clone)]
pub struct Pins {
    pub version: String,
    pub module_sha256: String,
    pub compat_digest: String,
    pub oci_digest: String,
}

impl Pins {
    /// The three digests of this build (module, compat image, oci image).
    pub fn all(&self) -> [&str; 3] {
        [&self.module_sha256, &self.compat_digest, &self.oci_digest]
    }

    pub fn compute(wasm: &[u8], version: &str) -> Result<Pins, oci::Error> {
        let hex = |d: String| d.trim_start_matches("sha256:").to_string();
        Ok(Pins {
            version: version.to_string(),
            module_sha256: oci::sha256_hex(wasm),
            compat_digest: hex(oci::build(Variant::Compat, wasm, version)?.digest()),
            oci_digest: hex(oci::build(Variant::Oci, wasm, version)?.digest()),
        })
    }

    /// The `sha256` a `WasmPlugin` with this `url` must carry.
    pub fn expected(&self, url: &str) -> Result<String, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("url `{url}` has no scheme"))?;
        match scheme {
            "http" | "https" | "file" => {
                if !rest.contains(&self.version) {
                    return Err(format!(
                        "url `{url}` does not name version {}: update it",
                        self.version
                    ));
                }
                Ok(self.module_sha256.clone())
            }
            "oci" => {
                let last = rest.rsplit('/').next().unwrap_or(rest);
                let (_, tag) = last
                    .split_once(':')
                    .ok_or_else(|| format!("url `{url}` has no tag: use `:{}`", self.version))?;
                if tag.starts_with("sha256") || last.contains('@') {
                    return Err(format!(
                        "url `{url}`: reference the tag and pin the digest in `sha256`"
                    ));
                }
                let variant = Variant::of_tag(tag);
                if tag != variant.tag(&self.version) {
                    return Err(format!(
                        "url `{url}` has tag `{tag}`, expected `{}`",
                        variant.tag(&self.version)
                    ));
                }
                Ok(match variant {
                    Variant::Compat => self.compat_digest.clone(),
                    Variant::Oci => self.oci_digest.clone(),
                })
            }
            other => Err(format!("url `{url}`: unsupported scheme `{other}`")),
        }
    }
}

/// A value after `key:` on a YAML line, without quotes or trailing comment.
pub fn line_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(key)?.strip_prefix(':')?;
    let rest = rest.split(" #").next().unwrap_or(rest).trim();
    Some(rest.trim_matches(|c| c == '"' || c == '\''))
}

/// Rewrites the `sha256:` of every `WasmPlugin` document in `text`. Returns the new text and
/// one line per document (`url -> sha256`).
pub fn rewrite(text: &str, pins: &Pins) -> Result<(String, Vec<String>), String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut report = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut flush = |doc: &mut Vec<&str>, out: &mut String| -> Result<(), String> {
        let is_plugin = doc
            .iter()
            .any(|l| line_value(l, "kind") == Some("WasmPlugin") && !l.starts_with(' '));
        if !is_plugin {
            doc.iter().for_each(|l| out.push_str(l));
            doc.clear();
            return Ok(());
        }
        let url = doc
            .iter()
            .find_map(|l| line_value(l, "url").filter(|_| l.starts_with("  url:")))
            .ok_or("a WasmPlugin without `spec.url`")?;
        let sha = pins.expected(url)?;
        let mut replaced = false;
        for l in doc.iter() {
            if l.starts_with("  sha256:") {
                let eol = if l.ends_with('\n') { "\n" } else { "" };
                out.push_str(&format!("  sha256: \"{sha}\"{eol}"));
                replaced = true;
            } else {
                out.push_str(l);
            }
        }
        if !replaced {
            return Err(format!(
                "the WasmPlugin for `{url}` has no `spec.sha256` line"
            ));
        }
        report.push(format!("{url} -> {sha}"));
        doc.clear();
        Ok(())
    };
    for line in lines {
        if line.trim_end() == "---" {
            flush(&mut doc, &mut out)?;
            out.push_str(line);
        } else {
            doc.push(line);
        }
    }
    flush(&mut doc, &mut out)?;
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins() -> Pins {
        Pins {
            version: "1.2.3".into(),
            module_sha256: "a".repeat(64),
            compat_digest: "b".repeat(64),
            oci_digest: "c".repeat(64),
        }
    }

    #[test]
    fn expected_follows_the_url_scheme() {
        let p = pins();
        assert_eq!(
            p.expected("https://x.example/v1.2.3/workload_authz.wasm"),
            Ok("a".repeat(64))
        );
        assert_eq!(p.expected("oci://r.example/w:1.2.3"), Ok("b".repeat(64)));
        assert_eq!(
            p.expected("oci://r.example/w:1.2.3-oci"),
            Ok("c".repeat(64))
        );
        assert!(p.expected("oci://r.example/w:1.2.2").is_err());
        assert!(p.expected("oci://r.example/w").is_err());
        assert!(p.expected("https://x.example/v1.2.2/w.wasm").is_err());
        assert!(p.expected("ftp://x/1.2.3").is_err());
    }

    #[test]
    fn finds_64_hex_digit_runs_only() {
        let a = "a".repeat(64);
        let text = format!(
            "sha256 `{a}` | sha256:{PLACEHOLDER}\n{a}f x{a} {} AB{a} sha256:{}",
            "b".repeat(63),
            "c".repeat(64)
        );
        assert_eq!(
            hex64_tokens(&text),
            vec![a.as_str(), PLACEHOLDER, "c".repeat(64).as_str()]
        );
        assert!(hex64_tokens(&"0".repeat(65)).is_empty());
    }

    #[test]
    fn rewrite_touches_only_wasmplugin_sha256() {
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  sha256: keep\n---\n# c\napiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nspec:\n  url: oci://r.example/w:1.2.3-oci\n  sha256: \"0000\"\n  pluginConfig:\n    sha256: inner\n";
        let (out, report) = rewrite(text, &pins()).unwrap_or_default();
        assert!(out.contains("  sha256: keep\n"), "{out}");
        assert!(
            out.contains(&format!("  sha256: \"{}\"\n", "c".repeat(64))),
            "{out}"
        );
        assert!(out.contains("    sha256: inner\n"), "{out}");
        assert!(out.contains("---\n# c\n"), "{out}");
        assert_eq!(report.len(), 1);
    }
}
