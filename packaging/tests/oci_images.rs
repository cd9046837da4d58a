//! The two OCI images, offline: shape, media types, reproducibility, and the model of Istio's
//! image fetcher (including the packaging mistakes it refuses).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use workload_authz_packaging::oci::{self, Fetched, Variant};

fn module() -> Vec<u8> {
    let path = workload_authz_packaging::wasm_path();
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the filter module {} ({e}): run `make build` or set WORKLOAD_AUTHZ_WASM",
            path.display()
        )
    })
}

fn fetched(image: &oci::Image) -> Fetched {
    Fetched {
        manifest_bytes: image.manifest.clone(),
        manifest: serde_json::from_slice(&image.manifest).unwrap(),
        blobs: image
            .blobs()
            .into_iter()
            .map(|b| (b.digest(), b.bytes.clone()))
            .collect(),
    }
}

/// An image made of a manifest JSON and raw blobs (for the mistakes).
fn hand_made(config_type: &str, layers: &[(&str, Vec<u8>)]) -> Fetched {
    let config = b"{}".to_vec();
    let mut blobs = BTreeMap::new();
    blobs.insert(oci::digest(&config), config.clone());
    let mut descs = Vec::new();
    for (mt, bytes) in layers {
        blobs.insert(oci::digest(bytes), bytes.clone());
        descs.push(json!({"mediaType": mt, "digest": oci::digest(bytes), "size": bytes.len()}));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": oci::MANIFEST,
        "config": {"mediaType": config_type, "digest": oci::digest(&config), "size": config.len()},
        "layers": descs
    });
    Fetched {
        manifest_bytes: serde_json::to_vec(&manifest).unwrap(),
        manifest,
        blobs,
    }
}

/// A gzip'd tar with one file.
fn tgz_with(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path(name).unwrap();
    h.set_size(bytes.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, bytes).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &b.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

#[test]
fn compat_image_is_one_tar_gzip_layer_with_plugin_wasm() {
    let wasm = module();
    let image = oci::build(Variant::Compat, &wasm, "9.9.9").unwrap();
    let f = fetched(&image);
    assert_eq!(f.manifest["mediaType"], oci::MANIFEST);
    assert_eq!(f.config_media_type(), oci::IMAGE_CONFIG);
    let layers = f.layers();
    assert_eq!(layers.len(), 1, "{layers:?}");
    assert_eq!(layers[0].0, oci::LAYER_TAR_GZIP);
    let tgz = f.blob(&layers[0].1).unwrap();
    assert_eq!(&tgz[..2], &[0x1f, 0x8b], "the layer is gzip");
    assert_eq!(
        oci::tgz_entries(tgz).unwrap(),
        vec!["plugin.wasm".to_string()]
    );
    assert_eq!(oci::plugin_from_tgz(tgz).unwrap(), wasm);
    // The config's diff id is the digest of the uncompressed tar.
    let (tar, _) = oci::compat_layer(&wasm).unwrap();
    let config: Value = serde_json::from_slice(&image.config.bytes).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"], json!([oci::digest(&tar)]));
    assert_eq!(
        f.manifest["annotations"]["org.opencontainers.image.version"],
        "9.9.9"
    );
    assert_eq!(oci::istio_extract(&f).unwrap(), wasm);
    assert!(oci::raw_wasm_in_generic_layer(&f).is_empty());
}

#[test]
fn oci_image_has_the_wasm_config_and_one_wasm_content_layer() {
    let wasm = module();
    let image = oci::build(Variant::Oci, &wasm, "9.9.9").unwrap();
    let f = fetched(&image);
    assert_eq!(f.config_media_type(), oci::WASM_CONFIG);
    let runtime: Value = serde_json::from_slice(&image.config.bytes).unwrap();
    assert_eq!(runtime["type"], "envoy_proxy");
    assert_eq!(runtime["config"]["root_ids"], json!(["workload_authz"]));
    let layers = f.layers();
    let content: Vec<_> = layers
        .iter()
        .filter(|(mt, _)| mt == oci::WASM_LAYER)
        .collect();
    assert_eq!(
        content.len(),
        1,
        "exactly one wasm content layer: {layers:?}"
    );
    assert_eq!(f.blob(&content[0].1).unwrap(), wasm.as_slice());
    // Istio's fetcher wants exactly two layers: the runtime config and the module.
    assert_eq!(layers.len(), 2, "{layers:?}");
    assert_eq!(
        layers[0],
        (oci::WASM_CONFIG.to_string(), image.config.digest())
    );
    let wasm_layer = &f.manifest["layers"][1];
    assert_eq!(
        wasm_layer["annotations"]["org.opencontainers.image.title"],
        "plugin.wasm"
    );
    assert_eq!(oci::istio_extract(&f).unwrap(), wasm);
    assert!(oci::raw_wasm_in_generic_layer(&f).is_empty());
}

#[test]
fn images_are_reproducible_and_layouts_read_back() {
    let wasm = module();
    let dir = std::env::temp_dir().join(format!("workload-authz-oci-{}", std::process::id()));
    for variant in Variant::ALL {
        let a = oci::build(variant, &wasm, "1.0.0").unwrap();
        let b = oci::build(variant, &wasm, "1.0.0").unwrap();
        assert_eq!(
            a.manifest, b.manifest,
            "{variant}: same inputs, same manifest"
        );
        assert_ne!(
            a.digest(),
            oci::build(variant, &wasm, "1.0.1").unwrap().digest(),
            "{variant}: the version is part of the image"
        );
        let layout = dir.join(variant.name());
        oci::write_layout(&a, &layout, &variant.tag("1.0.0")).unwrap();
        let back = oci::read_layout(&layout, &variant.tag("1.0.0")).unwrap();
        assert_eq!(back.manifest_bytes, a.manifest);
        assert_eq!(back.digest(), a.digest());
        assert_eq!(oci::istio_extract(&back).unwrap(), wasm);
        let layout_file = std::fs::read_to_string(layout.join("oci-layout")).unwrap();
        assert_eq!(layout_file, r#"{"imageLayoutVersion":"1.0.0"}"#);
        assert!(oci::read_layout(&layout, "other").is_err());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn known_mistakes_are_refused_by_the_istio_model() {
    let wasm = module();
    let (_, tgz) = oci::compat_layer(&wasm).unwrap();
    // `oras push reg/x:tag plugin.wasm`: one raw-wasm layer with a generic media type.
    for generic in [
        oci::LAYER_TAR,
        oci::LAYER_TAR_GZIP,
        "application/octet-stream",
    ] {
        let mistake = hand_made(oci::IMAGE_CONFIG, &[(generic, wasm.clone())]);
        let e = oci::istio_extract(&mistake).unwrap_err().to_string();
        assert!(e.contains("invalid format"), "{generic}: {e}");
        assert_eq!(
            oci::raw_wasm_in_generic_layer(&mistake).len(),
            1,
            "{generic}"
        );
    }
    // The wasm content type, but as the ONLY layer (config only in `config`).
    let single = hand_made(oci::WASM_CONFIG, &[(oci::WASM_LAYER, wasm.clone())]);
    let e = oci::istio_extract(&single).unwrap_err().to_string();
    assert!(e.contains("number of layers must be 2 but got 1"), "{e}");
    // A tar.gz without plugin.wasm.
    let other = tgz_with("filter.wasm", &wasm);
    let e = oci::istio_extract(&hand_made(
        oci::IMAGE_CONFIG,
        &[(oci::LAYER_TAR_GZIP, other)],
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("plugin.wasm not found"), "{e}");
    // A plugin.wasm that is not a module.
    let junk = tgz_with("plugin.wasm", b"not wasm");
    let e = oci::istio_extract(&hand_made(
        oci::IMAGE_CONFIG,
        &[(oci::LAYER_TAR_GZIP, junk)],
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("invalid"), "{e}");
    // The good compat layer, for contrast, passes through the same hand-made path.
    let good = hand_made(oci::IMAGE_CONFIG, &[(oci::LAYER_TAR_GZIP, tgz)]);
    assert_eq!(oci::istio_extract(&good).unwrap(), wasm);
}
