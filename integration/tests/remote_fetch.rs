//! Envoy loads the module over HTTP, as a control plane distributes it: `vm_config.code.remote`
//! (`http_uri` to a server this test runs on 127.0.0.1, `sha256` pinned). With the right sha256
//! the filter judges requests; with a wrong one Envoy refuses the module and never serves.
//!
//! The access log uses the `%FILTER_STATE(wasm.workload_authz.*:PLAIN)%` formats of
//! `examples/istio/mesh-config.yaml`, read from that file, so the documented Istio log format
//! is exercised in every Envoy of the version matrix.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use workload_authz_integration::echo::EchoServer;
use workload_authz_integration::envoy::{bootstrap, tail};
use workload_authz_integration::tokens::{jwks, key, Alg};
use workload_authz_integration::{
    envoy_bin, now, wasm_path, workspace_root, EnvoyOptions, Request,
};

const MODULE_PATH: &str = "/modules/workload_authz.wasm";
const ISS: &str = "https://issuer.remote.example";

/// Serves the module at [`MODULE_PATH`] (404 elsewhere) and counts the requests for it.
struct ModuleServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ModuleServer {
    fn start(module: Vec<u8>) -> ModuleServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &module, &h),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        ModuleServer { addr, hits, stop }
    }

    fn uri(&self) -> String {
        format!("http://{}{MODULE_PATH}", self.addr)
    }
}

impl Drop for ModuleServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(stream: TcpStream, module: &[u8], hits: &AtomicUsize) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Skip the headers.
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let path = line.split_whitespace().nth(1).unwrap_or_default();
    let mut stream = stream;
    if path == MODULE_PATH {
        hits.fetch_add(1, Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/wasm\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            module.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(module);
    } else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let _ = stream.flush();
}

/// Lowercase hex SHA-256 (FIPS 180-4), enough for pinning a module in a test.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// The access-log fields of examples/istio/mesh-config.yaml that read the filter's state.
fn documented_log_fields() -> Map<String, Value> {
    let path = workspace_root()
        .join("examples")
        .join("istio")
        .join("mesh-config.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Map::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some((name, value)) = line.trim().split_once(": ") {
            let value = value.trim().trim_matches('"');
            if value.contains("wasm.workload_authz.") {
                out.insert(name.to_string(), json!(value));
            }
        }
    }
    assert!(
        out.len() >= 4,
        "{}: no decision-record fields found",
        path.display()
    );
    // The CEL expressions of the Istio Telemetry tag overrides, as `tag_<name>` fields.
    let path = workspace_root()
        .join("examples")
        .join("istio")
        .join("telemetry.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tag = None;
    for line in text.lines().map(str::trim) {
        if let Some(expr) = line.strip_prefix("value: ") {
            if let Some(name) = tag.take() {
                let expr = expr.trim_matches('"');
                out.insert(format!("tag_{name}"), json!(format!("%CEL({expr})%")));
            }
        } else if let Some(name) = line.strip_suffix(':') {
            tag = name.starts_with("authz_").then(|| name.to_string());
        }
    }
    assert!(
        out.contains_key("tag_authz_reason"),
        "{}: no tag overrides found",
        path.display()
    );
    out
}

fn policy() -> String {
    json!({
        "realm": "remote",
        "providers": { "mesh": {
            "issuer": ISS,
            "audiences": ["orders"],
            "local_jwks": { "inline_string": jwks(&[key(Alg::ES256)]) }
        }},
        "routes": [
            { "action": "health", "match": { "path": "/healthz" }, "public": true },
            { "action": "orders.read", "match": { "path": "/orders/{id}", "methods": ["GET"] },
              "require": { "scopes": ["orders:read"] } }
        ]
    })
    .to_string()
}

/// The harness bootstrap, with the module fetched from `uri` (pinned to `sha256`) and the
/// documented access-log fields.
fn remote_bootstrap(
    uri: &str,
    sha256: &str,
    upstream: u16,
    server: SocketAddr,
    dir: &Path,
) -> Value {
    let mut b = bootstrap(
        &policy(),
        &wasm_path(),
        upstream,
        &dir.join("access.log"),
        &EnvoyOptions::default(),
    );
    let hcm = &mut b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"];
    let mut format = documented_log_fields();
    format.insert("status".into(), json!("%RESPONSE_CODE%"));
    format.insert("path".into(), json!("%REQ(:PATH)%"));
    hcm["access_log"][0]["typed_config"]["log_format"] = json!({ "json_format": format });
    let vm = &mut hcm["http_filters"][0]["typed_config"]["config"]["vm_config"];
    assert!(vm.is_object(), "unexpected harness bootstrap shape");
    vm["code"] = json!({ "remote": {
        "http_uri": { "uri": uri, "cluster": "module_server", "timeout": "5s" },
        "sha256": sha256,
        "retry_policy": { "num_retries": 1 }
    }});
    let clusters = b["static_resources"]["clusters"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("no clusters"));
    clusters.push(json!({
        "name": "module_server",
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": { "cluster_name": "module_server", "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
            "socket_address": { "address": server.ip().to_string(), "port_value": server.port() }
        }}}]}]}
    }));
    b
}

struct Running {
    child: Child,
    dir: PathBuf,
}

impl Running {
    fn log(&self) -> String {
        let mut out = tail(&self.dir.join("envoy.log"), 40);
        out.push_str(&tail(&self.dir.join("stderr.log"), 20));
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("Envoy files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn launch(config: &Value, dir: PathBuf) -> Running {
    std::fs::write(dir.join("bootstrap.json"), config.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let file = |n: &str| std::fs::File::create(dir.join(n)).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(envoy_bin())
        .arg("-c")
        .arg(dir.join("bootstrap.json"))
        .args(["--disable-hot-restart", "--concurrency", "1", "-l", "info"])
        .args([
            "--component-log-level",
            "wasm:debug",
            "--file-flush-interval-msec",
            "100",
        ])
        .arg("--log-path")
        .arg(dir.join("envoy.log"))
        .arg("--admin-address-path")
        .arg(dir.join("admin.address"))
        .stdin(Stdio::null())
        .stdout(file("stdout.log"))
        .stderr(file("stderr.log"))
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", envoy_bin().display()));
    Running { child, dir }
}

enum Outcome {
    /// Ready, with the main listener's address.
    Ready(SocketAddr),
    /// Exited during start-up.
    Exited(String),
    /// Neither ready nor exited within the time.
    NotReady,
}

fn wait(env: &mut Running, limit: Duration) -> Outcome {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = env.child.try_wait() {
            return Outcome::Exited(status.to_string());
        }
        let admin = std::fs::read_to_string(env.dir.join("admin.address"))
            .ok()
            .and_then(|t| t.trim().parse::<SocketAddr>().ok());
        if let Some(admin) = admin {
            let ready = Request::get("/ready")
                .send(admin)
                .is_ok_and(|r| r.body_str().trim() == "LIVE");
            if ready {
                let listeners = Request::get("/listeners?format=json")
                    .send(admin)
                    .ok()
                    .and_then(|r| r.json());
                let addr = listeners.and_then(|v| {
                    let sa = &v["listener_statuses"][0]["local_address"]["socket_address"];
                    format!("{}:{}", sa["address"].as_str()?, sa["port_value"].as_u64()?)
                        .parse()
                        .ok()
                });
                if let Some(addr) = addr {
                    return Outcome::Ready(addr);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Outcome::NotReady
}

fn work_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "workload-authz-remote-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn module() -> Vec<u8> {
    let path = wasm_path();
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{} ({e}): build the filter first (make build)",
            path.display()
        )
    })
}

#[test]
fn remote_module_with_pinned_sha256_judges_requests() {
    let module = module();
    let sha = sha256_hex(&module);
    let server = ModuleServer::start(module);
    let upstream = EchoServer::start().unwrap_or_else(|e| panic!("{e}"));
    let dir = work_dir("ok");
    let config = remote_bootstrap(&server.uri(), &sha, upstream.port(), server.addr, &dir);
    let mut envoy = launch(&config, dir);
    let listener = match wait(&mut envoy, Duration::from_secs(30)) {
        Outcome::Ready(a) => a,
        Outcome::Exited(s) => panic!("Envoy exited ({s}):\n{}", envoy.log()),
        Outcome::NotReady => panic!("Envoy not ready:\n{}", envoy.log()),
    };
    assert!(
        server.hits.load(Ordering::SeqCst) >= 1,
        "the module was fetched from {}",
        server.uri()
    );

    let t = now();
    let claims = |scope: &str| json!({"iss": ISS, "aud": "orders", "sub": "spiffe://x/ns/a/sa/b", "iat": t, "exp": t + 300, "scope": scope});
    let send = |r: Request| r.send(listener).unwrap_or_else(|e| panic!("request: {e}"));
    let public = send(Request::get("/healthz"));
    assert_eq!(public.status, 200, "public route: {}", public.body_str());
    let missing = send(Request::get("/orders/1"));
    assert_eq!(missing.status, 401, "no token: {}", missing.body_str());
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"remote\"")
    );
    let allowed =
        send(Request::get("/orders/1").bearer(&key(Alg::ES256).sign(&claims("orders:read"))));
    assert_eq!(allowed.status, 200, "valid token: {}", allowed.body_str());
    let scope =
        send(Request::get("/orders/1").bearer(&key(Alg::ES256).sign(&claims("orders:write"))));
    assert_eq!(scope.status, 403, "missing scope: {}", scope.body_str());
    assert_eq!(
        upstream.count(),
        2,
        "only the public and the allowed request reach the upstream"
    );

    // The documented access-log format carries the decision record.
    let deadline = Instant::now() + Duration::from_secs(5);
    let entries = loop {
        let entries: Vec<Value> = std::fs::read_to_string(envoy.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if entries.len() >= 4 || Instant::now() > deadline {
            break entries;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entries.len(), 4, "{entries:?}");
    let field = |i: usize, k: &str| entries[i][k].as_str().unwrap_or_default().to_string();
    let decisions: Vec<(String, String, String)> = (0..4)
        .map(|i| {
            (
                field(i, "authz_decision"),
                field(i, "authz_reason"),
                field(i, "authz_action"),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("public".into(), "public".into(), "health".into()),
            ("deny".into(), "missing_token".into(), "orders.read".into()),
            ("allow".into(), "allowed".into(), "orders.read".into()),
            (
                "deny".into(),
                "insufficient_scope".into(),
                "orders.read".into()
            ),
        ],
        "access log: {entries:?}"
    );
    assert_eq!(
        field(2, "authz_subject"),
        "spiffe://x/ns/a/sa/b",
        "{entries:?}"
    );
    assert_eq!(entries[0]["authz_subject"], Value::Null, "absent: null");
    assert_eq!(entries[2]["tag_authz_reason"], "allowed", "{entries:?}");
    assert_eq!(entries[3]["tag_authz_reason"], "insufficient_scope");
    assert_eq!(entries[2]["tag_authz_subject"], "spiffe://x/ns/a/sa/b");
    assert_eq!(
        entries[2]["authz_record"]["scopes_required"],
        json!(["orders:read"]),
        "{entries:?}"
    );
}

#[test]
fn remote_module_with_wrong_sha256_is_refused() {
    let module = module();
    let wrong = sha256_hex(b"not the module");
    let server = ModuleServer::start(module);
    let upstream = EchoServer::start().unwrap_or_else(|e| panic!("{e}"));
    let dir = work_dir("bad");
    let config = remote_bootstrap(&server.uri(), &wrong, upstream.port(), server.addr, &dir);
    let mut envoy = launch(&config, dir);
    let outcome = wait(&mut envoy, Duration::from_secs(15));
    let log = envoy.log();
    // Envoy fetches the bytes (and retries), refuses them for the hash, and fails the plugin.
    // With `fail_open: false` it then either stops or serves with every request refused:
    // Envoy 1.36-1.40 do the latter (HTTP 503 for every route, public ones included).
    let what = match outcome {
        Outcome::Exited(s) => format!("Envoy exited ({s})"),
        Outcome::NotReady => "Envoy never became ready".to_string(),
        Outcome::Ready(listener) => {
            let mut statuses = Vec::new();
            for path in ["/healthz", "/orders/1"] {
                let r = Request::get(path)
                    .send(listener)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_ne!(r.status, 200, "{path} passed with a refused module:\n{log}");
                statuses.push(format!("{path} -> {}", r.status));
            }
            assert_eq!(upstream.count(), 0, "nothing reaches the upstream");
            format!(
                "Envoy serves with the plugin failed closed ({})",
                statuses.join(", ")
            )
        }
    };
    assert!(
        server.hits.load(Ordering::SeqCst) >= 1,
        "Envoy fetched the module:\n{log}"
    );
    let full = std::fs::read_to_string(envoy.dir.join("envoy.log")).unwrap_or_default();
    assert!(
        full.contains("Plugin workload_authz failed to load"),
        "Envoy's log says the plugin failed to load:\n{log}"
    );
    eprintln!(
        "wrong sha256: {what}; {} fetch(es)",
        server.hits.load(Ordering::SeqCst)
    );
}
