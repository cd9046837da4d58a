//! OCI images of the filter, built without Docker, byte for byte reproducible.
//!
//! Two variants of the Wasm image specification that Istio's image fetcher accepts:
//!
//! * **compat**: an ordinary OCI image (config `application/vnd.oci.image.config.v1+json`) with
//!   ONE `application/vnd.oci.image.layer.v1.tar+gzip` layer, a tar holding `plugin.wasm`.
//!   Every registry and every OCI tool handles it.
//! * **oci**: config `application/vnd.module.wasm.config.v1+json` (the runtime config:
//!   `envoy_proxy`, ABI, root id) and the raw module as ONE
//!   `application/vnd.module.wasm.content.layer.v1+wasm` layer. Istio's fetcher
//!   (`pkg/wasm/imagefetcher.go`, `extractOCIArtifactImage`) insists on exactly two entries in
//!   the manifest's `layers` and picks the one of the wasm content type, as Solo's `wasme`
//!   pushed them: so the runtime config blob is listed as a layer too (same blob as the
//!   config). A manifest whose only layer is the module is refused by Istio with "number of
//!   layers must be 2 but got 1".
//!
//! Nothing time- or host-dependent goes in (no `created`, tar entries with mtime 0, uid/gid 0,
//! gzip header without time or name), so the manifest digest is a function of the module and
//! the version. That digest is what a `WasmPlugin` with an `oci://` URL pins in `sha256`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
pub const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

/// Name of the module inside images (the compat tar entry, the oci layer title).
pub const PLUGIN_FILE: &str = "plugin.wasm";
/// The filter's root id (Envoy `root_id`, Istio `pluginName`).
pub const ROOT_ID: &str = "workload_authz";
/// The proxy-wasm ABI the module exports (`proxy_abi_version_0_2_1`).
pub const ABI_VERSION: &str = "v0.2.1";

static NULL: Value = Value::Null;

/// The value at a path of object keys (`Null` when absent).
pub fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().try_fold(v, |v, k| v.get(*k)).unwrap_or(&NULL)
}

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Compat,
    Oci,
}

impl Variant {
    pub const ALL: [Variant; 2] = [Variant::Compat, Variant::Oci];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Compat => "compat",
            Variant::Oci => "oci",
        }
    }

    /// The tag this variant is published under for `version`: `0.1.0` (compat, the default)
    /// and `0.1.0-oci`.
    pub fn tag(self, version: &str) -> String {
        match self {
            Variant::Compat => version.to_string(),
            Variant::Oci => format!("{version}-oci"),
        }
    }

    /// The variant a tag names (`-oci` suffix: the oci variant).
    pub fn of_tag(tag: &str) -> Variant {
        if tag.ends_with("-oci") {
            Variant::Oci
        } else {
            Variant::Compat
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error(msg.into()))
}

/// A content-addressed blob with its media type.
#[derive(Debug, Clone)]
pub struct Blob {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

impl Blob {
    pub fn digest(&self) -> String {
        digest(&self.bytes)
    }

    fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest(),
            size: self.bytes.len() as u64,
            annotations: self.annotations.clone(),
        }
    }
}

#[derive(Serialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Manifest {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: Descriptor,
    layers: Vec<Descriptor>,
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ImageConfig {
    architecture: &'static str,
    os: &'static str,
    config: BTreeMap<String, String>,
    rootfs: RootFs,
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

/// The runtime config of the oci variant (Solo's Wasm artifact spec, `envoy_proxy` type).
#[derive(Serialize)]
struct RuntimeConfig {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "abiVersions")]
    abi_versions: Vec<&'static str>,
    config: RuntimeConfigInner,
}

#[derive(Serialize)]
struct RuntimeConfigInner {
    root_ids: Vec<&'static str>,
}

#[derive(Serialize)]
struct Index {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: Vec<Descriptor>,
}

/// One image: its manifest bytes (what the digest is taken of), config and layers.
#[derive(Debug, Clone)]
pub struct Image {
    pub variant: Variant,
    pub manifest: Vec<u8>,
    pub config: Blob,
    pub layers: Vec<Blob>,
}

impl Image {
    /// `sha256:<hex>` of the manifest: the image digest a registry reports.
    pub fn digest(&self) -> String {
        digest(&self.manifest)
    }

    /// Every distinct blob (config and layers).
    pub fn blobs(&self) -> Vec<&Blob> {
        let mut out: Vec<&Blob> = vec![&self.config];
        for l in &self.layers {
            if !out.iter().any(|b| b.digest() == l.digest()) {
                out.push(l);
            }
        }
        out
    }
}

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The compat layer: a gzip'd tar with `plugin.wasm` (0644, root, mtime 0). Returns
/// `(tar, tar.gz)`: the diff id is taken of the uncompressed tar.
pub fn compat_layer(wasm: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_path(PLUGIN_FILE)?;
    header.set_size(wasm.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append(&header, wasm)?;
    let tar = builder.into_inner()?;
    // No name, no mtime in the gzip header; OS "unknown" (255).
    let mut gz = flate2::GzBuilder::new()
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar)?;
    let tgz = gz.finish()?;
    Ok((tar, tgz))
}

/// Builds the image of `variant` for a module and a version.
pub fn build(variant: Variant, wasm: &[u8], version: &str) -> Result<Image, Error> {
    if !is_wasm(wasm) {
        return err("the module does not start with the Wasm magic number and version 1");
    }
    let manifest_annotations = annotations(&[
        ("org.opencontainers.image.title", "workload-authz"),
        (
            "org.opencontainers.image.description",
            "workload-authz proxy-wasm HTTP filter (proxy-wasm ABI 0.2.1)",
        ),
        ("org.opencontainers.image.version", version),
        ("org.opencontainers.image.licenses", "Apache-2.0"),
        ("module.wasm.image/variant", variant.name()),
    ]);
    let (config, layers) = match variant {
        Variant::Compat => {
            let (tar, tgz) = compat_layer(wasm)?;
            let config = ImageConfig {
                architecture: "wasm",
                os: "wasip1",
                config: BTreeMap::new(),
                rootfs: RootFs {
                    kind: "layers",
                    diff_ids: vec![digest(&tar)],
                },
            };
            let config = Blob {
                media_type: IMAGE_CONFIG.into(),
                bytes: to_json(&config)?,
                annotations: BTreeMap::new(),
            };
            let layer = Blob {
                media_type: LAYER_TAR_GZIP.into(),
                bytes: tgz,
                annotations: BTreeMap::new(),
            };
            (config, vec![layer])
        }
        Variant::Oci => {
            let runtime = RuntimeConfig {
                kind: "envoy_proxy",
                abi_versions: vec![ABI_VERSION],
                config: RuntimeConfigInner {
                    root_ids: vec![ROOT_ID],
                },
            };
            let bytes = to_json(&runtime)?;
            let config = Blob {
                media_type: WASM_CONFIG.into(),
                bytes: bytes.clone(),
                annotations: BTreeMap::new(),
            };
            let config_layer = Blob {
                media_type: WASM_CONFIG.into(),
                bytes,
                annotations: annotations(&[(
                    "org.opencontainers.image.title",
                    "runtime-config.json",
                )]),
            };
            let module = Blob {
                media_type: WASM_LAYER.into(),
                bytes: wasm.to_vec(),
                annotations: annotations(&[("org.opencontainers.image.title", PLUGIN_FILE)]),
            };
            (config, vec![config_layer, module])
        }
    };
    let manifest = Manifest {
        schema_version: 2,
        media_type: MANIFEST,
        config: config.descriptor(),
        layers: layers.iter().map(Blob::descriptor).collect(),
        annotations: manifest_annotations,
    };
    Ok(Image {
        variant,
        manifest: to_json(&manifest)?,
        config,
        layers,
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error(e.to_string()))
}

/// Wasm binary magic and version 1.
pub fn is_wasm(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm\x01\0\0\0")
}

/// Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/*`) holding `image`
/// under the ref name `tag`. An existing layout directory is replaced.
pub fn write_layout(image: &Image, dir: &Path, tag: &str) -> Result<(), Error> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    let write_blob = |bytes: &[u8]| -> Result<(), Error> {
        let hex = sha256_hex(bytes);
        std::fs::write(blobs.join(hex), bytes)?;
        Ok(())
    };
    write_blob(&image.manifest)?;
    for blob in image.blobs() {
        write_blob(&blob.bytes)?;
    }
    std::fs::write(
        dir.join("oci-layout"),
        b"{\"imageLayoutVersion\":\"1.0.0\"}",
    )?;
    let index = Index {
        schema_version: 2,
        media_type: INDEX,
        manifests: vec![Descriptor {
            media_type: MANIFEST.into(),
            digest: image.digest(),
            size: image.manifest.len() as u64,
            annotations: annotations(&[("org.opencontainers.image.ref.name", tag)]),
        }],
    };
    std::fs::write(dir.join("index.json"), to_json(&index)?)?;
    Ok(())
}

/// An image read back from a layout or a registry: the manifest, parsed, and a blob source.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub manifest_bytes: Vec<u8>,
    pub manifest: Value,
    pub blobs: BTreeMap<String, Vec<u8>>,
}

impl Fetched {
    pub fn digest(&self) -> String {
        digest(&self.manifest_bytes)
    }

    pub fn blob(&self, digest: &str) -> Option<&[u8]> {
        self.blobs.get(digest).map(Vec::as_slice)
    }

    /// `(mediaType, digest)` of each layer.
    pub fn layers(&self) -> Vec<(String, String)> {
        at(&self.manifest, &["layers"])
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        (
                            at(l, &["mediaType"])
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            at(l, &["digest"]).as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn config_media_type(&self) -> String {
        at(&self.manifest, &["config", "mediaType"])
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Reads the image tagged `tag` from an OCI layout, checking every blob's digest and size.
pub fn read_layout(dir: &Path, tag: &str) -> Result<Fetched, Error> {
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)
        .map_err(|e| Error(format!("index.json: {e}")))?;
    let entry = at(&index, &["manifests"])
        .as_array()
        .and_then(|ms| {
            ms.iter().find(|m| {
                at(m, &["annotations", "org.opencontainers.image.ref.name"]).as_str() == Some(tag)
            })
        })
        .ok_or_else(|| Error(format!("no manifest tagged `{tag}` in {}", dir.display())))?;
    let read = |d: &str| -> Result<Vec<u8>, Error> {
        let hex = d
            .strip_prefix("sha256:")
            .ok_or_else(|| Error(format!("unsupported digest `{d}`")))?;
        let bytes = std::fs::read(dir.join("blobs").join("sha256").join(hex))?;
        if digest(&bytes) != d {
            return err(format!("blob {d} does not match its digest"));
        }
        Ok(bytes)
    };
    let manifest_digest = at(entry, &["digest"]).as_str().unwrap_or_default();
    let manifest_bytes = read(manifest_digest)?;
    let manifest: Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| Error(format!("manifest {manifest_digest}: {e}")))?;
    let mut blobs = BTreeMap::new();
    for desc in descriptors(&manifest) {
        let d = at(desc, &["digest"]).as_str().unwrap_or_default();
        let bytes = read(d)?;
        if Some(bytes.len() as u64) != at(desc, &["size"]).as_u64() {
            return err(format!("blob {d}: size differs from its descriptor"));
        }
        blobs.insert(d.to_string(), bytes);
    }
    Ok(Fetched {
        manifest_bytes,
        manifest,
        blobs,
    })
}

/// The config descriptor and the layer descriptors of a manifest.
pub fn descriptors(manifest: &Value) -> Vec<&Value> {
    let mut out = vec![at(manifest, &["config"])];
    if let Some(layers) = at(manifest, &["layers"]).as_array() {
        out.extend(layers.iter());
    }
    out
}

/// Extracts `plugin.wasm` from a gzip'd tar (first entry whose base name is `plugin.wasm`).
pub fn plugin_from_tgz(tgz: &[u8]) -> Result<Vec<u8>, Error> {
    let gz = flate2::read::GzDecoder::new(tgz);
    let mut archive = tar::Archive::new(gz);
    let entries = archive
        .entries()
        .map_err(|e| Error(format!("failed to parse layer as tar.gz: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| Error(format!("failed to parse layer as tar.gz: {e}")))?;
        let path = entry.path().map_err(|e| Error(e.to_string()))?;
        if path.file_name().and_then(|n| n.to_str()) == Some(PLUGIN_FILE) {
            let mut out = Vec::new();
            entry.read_to_end(&mut out)?;
            return Ok(out);
        }
    }
    err(format!("{PLUGIN_FILE} not found in the archive"))
}

/// The names of every entry of a gzip'd tar.
pub fn tgz_entries(tgz: &[u8]) -> Result<Vec<String>, Error> {
    let gz = flate2::read::GzDecoder::new(tgz);
    let mut archive = tar::Archive::new(gz);
    let mut out = Vec::new();
    for entry in archive.entries().map_err(|e| Error(e.to_string()))? {
        let entry = entry.map_err(|e| Error(e.to_string()))?;
        let path = entry.path().map_err(|e| Error(e.to_string()))?;
        out.push(path.to_string_lossy().into_owned());
    }
    Ok(out)
}

/// What Istio's Wasm image fetcher does with a pulled image (`pkg/wasm/imagefetcher.go`):
/// a Docker schema 2 manifest → the last layer must be a Docker tar.gzip with `plugin.wasm`;
/// otherwise the *compat* reading (last layer `application/vnd.oci.image.layer.v1.tar+gzip`
/// holding `plugin.wasm`), then the *oci* reading (exactly two layers, one of them
/// `application/vnd.module.wasm.content.layer.v1+wasm`, taken raw); finally the bytes must
/// start with the Wasm magic number (`cache.go`, `isValidWasmBinary`).
pub fn istio_extract(image: &Fetched) -> Result<Vec<u8>, Error> {
    let layers = image.layers();
    let blob = |d: &str| {
        image
            .blob(d)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error(format!("blob {d} missing")))
    };
    let last_layer = |expected: &str| -> Result<Vec<u8>, Error> {
        let (mt, d) = layers
            .last()
            .ok_or_else(|| Error("number of layers must be greater than zero".into()))?;
        if mt != expected {
            return err(format!("invalid media type {mt} (expect {expected})"));
        }
        plugin_from_tgz(&blob(d)?).map_err(|e| Error(format!("could not extract wasm binary: {e}")))
    };
    let module = if at(&image.manifest, &["mediaType"]).as_str() == Some(DOCKER_MANIFEST) {
        last_layer(DOCKER_LAYER)?
    } else {
        match last_layer(LAYER_TAR_GZIP) {
            Ok(m) => m,
            Err(compat) => {
                let oci = if layers.len() != 2 {
                    Err(Error(format!(
                        "number of layers must be 2 but got {}",
                        layers.len()
                    )))
                } else {
                    match layers.iter().find(|(mt, _)| mt == WASM_LAYER) {
                        Some((_, d)) => blob(d),
                        None => Err(Error(format!(
                            "could not find the layer of type {WASM_LAYER}"
                        ))),
                    }
                };
                match oci {
                    Ok(m) => m,
                    Err(oci) => {
                        return err(format!(
                            "the given image is in invalid format as an OCI image: could not parse as compat variant: {compat}; could not parse as oci variant: {oci}"
                        ))
                    }
                }
            }
        }
    };
    if module.len() < 8 || !module.starts_with(b"\0asm") {
        return err("fetched Wasm binary is invalid");
    }
    Ok(module)
}

/// The known packaging mistake (`oras push reg/x:tag plugin.wasm` and friends): a layer with a
/// generic container-layer media type whose content is the raw module instead of a gzip'd
/// tar. Istio refuses such images. Returns a description of each offending layer.
pub fn raw_wasm_in_generic_layer(image: &Fetched) -> Vec<String> {
    let generic = [
        LAYER_TAR_GZIP,
        LAYER_TAR,
        DOCKER_LAYER,
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/octet-stream",
    ];
    image
        .layers()
        .into_iter()
        .filter(|(mt, d)| {
            generic.contains(&mt.as_str()) && image.blob(d).is_some_and(|b| b.starts_with(b"\0asm"))
        })
        .map(|(mt, d)| format!("layer {d} ({mt}) is a raw Wasm module"))
        .collect()
}
