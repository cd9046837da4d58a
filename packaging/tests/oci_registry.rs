//! Both OCI images through a real registry: Debian's `docker-registry` (distribution 2.8) on
//! 127.0.0.1, `skopeo` pushes the layouts and pulls them back. The registry is read with plain
//! HTTP as an image fetcher does (`Accept`, `Docker-Content-Digest`, blobs by digest).
//!
//! Needs `docker-registry` and `skopeo` (`make oci-deps` installs both).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use workload_authz_packaging::oci::{self, Fetched, Variant};

const REPO: &str = "workload-authz";
const VERSION: &str = "0.0.0-test";

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{name}` is not installed: run `make oci-deps` (apt-get install docker-registry skopeo)")
    })
}

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

struct Registry {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Registry {
    fn start() -> Registry {
        let bin = tool("docker-registry");
        let dir = temp_dir("registry");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut reg = Registry { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = get(addr, "/v2/", "") {
                if r.status == 200 {
                    break;
                }
            }
            if let Ok(Some(status)) = reg.child.try_wait() {
                panic!("docker-registry exited ({status}):\n{}", reg.log());
            }
            assert!(
                Instant::now() < deadline,
                "registry not ready:\n{}",
                reg.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        reg
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    fn reference(&self, tag: &str) -> String {
        format!("docker://{}/{REPO}:{tag}", self.addr)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("registry files kept in {}", self.dir.display());
        }
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 GET (`Connection: close`), body by Content-Length, chunked, or to EOF.
fn get(addr: SocketAddr, path: &str, accept: &str) -> std::io::Result<Response> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let accept = if accept.is_empty() {
        String::new()
    } else {
        format!("Accept: {accept}\r\n")
    };
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..pos])
                    .split(';')
                    .next()
                    .unwrap_or("0")
                    .trim(),
                16,
            )
            .map_err(std::io::Error::other)?;
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[pos + 2..pos + 2 + size]);
            rest = &rest[pos + 2 + size + 2..];
        }
        body = out;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn skopeo(args: &[&str], home: &Path) {
    let out = Command::new(tool("skopeo"))
        .arg("--insecure-policy")
        .args(args)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pulls `tag` from the registry like an image fetcher: the manifest by tag with an OCI
/// `Accept`, then every blob by digest, each checked against its digest.
fn fetch(reg: &Registry, tag: &str) -> (Fetched, Response) {
    let r = get(
        reg.addr,
        &format!("/v2/{REPO}/manifests/{tag}"),
        &format!("{},{}", oci::MANIFEST, oci::DOCKER_MANIFEST),
    )
    .unwrap();
    assert_eq!(
        r.status,
        200,
        "manifest {tag}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let mut blobs = std::collections::BTreeMap::new();
    for desc in oci::descriptors(&manifest) {
        let d = desc["digest"].as_str().unwrap();
        let b = get(reg.addr, &format!("/v2/{REPO}/blobs/{d}"), "").unwrap();
        assert_eq!(b.status, 200, "blob {d}");
        assert_eq!(oci::digest(&b.body), d, "blob {d} content");
        assert_eq!(
            Some(b.body.len() as u64),
            desc["size"].as_u64(),
            "blob {d} size"
        );
        blobs.insert(d.to_string(), b.body);
    }
    let fetched = Fetched {
        manifest_bytes: r.body.clone(),
        manifest,
        blobs,
    };
    (fetched, r)
}

#[test]
fn both_variants_survive_a_registry_round_trip() {
    let path = workload_authz_packaging::wasm_path();
    let wasm = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}): run `make build`", path.display()));
    let module_sha = oci::digest(&wasm);
    let work = temp_dir("oci-push");
    let reg = Registry::start();
    let mut report = Vec::new();
    for variant in Variant::ALL {
        let image = oci::build(variant, &wasm, VERSION).unwrap();
        let tag = variant.tag(VERSION);
        let layout = work.join(variant.name());
        oci::write_layout(&image, &layout, &tag).unwrap();

        // Push with skopeo, keeping the manifest bytes (the digest is what WasmPlugins pin).
        skopeo(
            &[
                "copy",
                "--quiet",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &format!("oci:{}:{tag}", layout.display()),
                &reg.reference(&tag),
            ],
            &work,
        );

        // Read it back over HTTP.
        let (pulled, resp) = fetch(&reg, &tag);
        assert_eq!(
            resp.header("content-type"),
            Some(oci::MANIFEST),
            "{variant}"
        );
        assert_eq!(
            resp.header("docker-content-digest"),
            Some(image.digest().as_str()),
            "{variant}: the registry serves our manifest unchanged"
        );
        assert_eq!(pulled.manifest_bytes, image.manifest, "{variant}");
        let layers = pulled.layers();
        match variant {
            Variant::Compat => {
                assert_eq!(pulled.config_media_type(), oci::IMAGE_CONFIG);
                assert_eq!(layers.len(), 1, "{layers:?}");
                assert_eq!(layers[0].0, oci::LAYER_TAR_GZIP);
                let entries = oci::tgz_entries(pulled.blob(&layers[0].1).unwrap()).unwrap();
                assert_eq!(entries, vec!["plugin.wasm".to_string()]);
            }
            Variant::Oci => {
                assert_eq!(pulled.config_media_type(), oci::WASM_CONFIG);
                let types: Vec<&str> = layers.iter().map(|(mt, _)| mt.as_str()).collect();
                assert_eq!(types, vec![oci::WASM_CONFIG, oci::WASM_LAYER]);
            }
        }
        // What Istio would load, and that it is the module we built.
        let loaded = oci::istio_extract(&pulled).unwrap_or_else(|e| panic!("{variant}: {e}"));
        assert_eq!(oci::digest(&loaded), module_sha, "{variant}");
        // The known mistake (a generic layer type around a raw module) is not what we ship.
        assert_eq!(
            oci::raw_wasm_in_generic_layer(&pulled),
            Vec::<String>::new()
        );

        // And back with skopeo into a fresh layout: byte-identical manifest, same module.
        let back = work.join(format!("{}-pulled", variant.name()));
        skopeo(
            &[
                "copy",
                "--quiet",
                "--preserve-digests",
                "--src-tls-verify=false",
                &reg.reference(&tag),
                &format!("oci:{}:{tag}", back.display()),
            ],
            &work,
        );
        let round = oci::read_layout(&back, &tag).unwrap();
        assert_eq!(round.digest(), image.digest(), "{variant}");
        assert_eq!(
            oci::digest(&oci::istio_extract(&round).unwrap()),
            module_sha
        );
        report.push(format!(
            "{variant}: {}:{tag} manifest {} ({} layers, {} bytes of layers)",
            reg.addr,
            image.digest(),
            layers.len(),
            image.layers.iter().map(|l| l.bytes.len()).sum::<usize>()
        ));
    }
    // Both tags are listed.
    let tags = get(reg.addr, &format!("/v2/{REPO}/tags/list"), "").unwrap();
    let tags: serde_json::Value = serde_json::from_slice(&tags.body).unwrap();
    let mut names: Vec<String> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    names.sort();
    assert_eq!(names, vec![VERSION.to_string(), format!("{VERSION}-oci")]);
    for line in report {
        eprintln!("{line}");
    }
    let _ = std::fs::remove_dir_all(&work);
}
