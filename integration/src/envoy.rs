//! Starting Envoy with the workload-authz filter.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::echo::EchoServer;
use crate::http::{Request, Response};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How to run Envoy.
#[derive(Debug, Clone)]
pub struct EnvoyOptions {
    pub concurrency: u32,
    /// `-l` log level.
    pub log_level: String,
    /// `--component-log-level` (e.g. `wasm:debug`); empty for none.
    pub component_log_level: String,
    /// Extra fields merged into the HttpConnectionManager config.
    pub hcm_extra: Option<Value>,
    /// Install the wasm filter (false only for harness self-tests).
    pub filter: bool,
    /// Extra STATIC clusters `(name, port on 127.0.0.1)`, e.g. a JWKS or revocation server.
    pub clusters: Vec<(String, u16)>,
    /// A `transport_socket` for the main listener (e.g. TLS with client certificates).
    pub listener_transport_socket: Option<Value>,
    /// `allow_on_headers_stop_iteration` in the Wasm `PluginConfig` (MCP routes need it).
    pub allow_on_headers_stop_iteration: bool,
    /// Send `upstream` traffic to this port on 127.0.0.1 instead of the echo server (e.g. the
    /// MCP SDK's server).
    pub upstream_port: Option<u16>,
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            concurrency: 1,
            log_level: "info".into(),
            component_log_level: "wasm:debug".into(),
            hcm_extra: None,
            filter: true,
            clusters: Vec::new(),
            listener_transport_socket: None,
            allow_on_headers_stop_iteration: true,
            upstream_port: None,
        }
    }
}

#[derive(Debug)]
pub enum StartError {
    /// Envoy binary or wasm module missing.
    Missing(String),
    Io(String),
    /// Envoy exited during start-up.
    Exited {
        status: String,
        log: String,
    },
    /// Envoy did not become ready in time.
    Timeout {
        what: String,
        log: String,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Missing(m) => write!(f, "missing prerequisite: {m}"),
            StartError::Io(m) => write!(f, "i/o error: {m}"),
            StartError::Exited { status, log } => {
                write!(
                    f,
                    "Envoy exited during start-up ({status}); log tail:\n{log}"
                )
            }
            StartError::Timeout { what, log } => {
                write!(f, "timed out waiting for {what}; log tail:\n{log}")
            }
        }
    }
}

impl std::error::Error for StartError {}

/// A running Envoy with the filter, in front of an in-process echo upstream.
/// Dropping it kills Envoy and removes its temporary directory (kept if the thread panicked).
pub struct Envoy {
    child: Option<Child>,
    dir: PathBuf,
    pub admin: SocketAddr,
    pub listener: SocketAddr,
    pub upstream: EchoServer,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_dir() -> Result<PathBuf, StartError> {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "workload-authz-it-{}-{n}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| StartError::Io(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

/// Last `max_lines` lines of a file (empty if unreadable).
pub fn tail(path: &Path, max_lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}

/// The Envoy bootstrap (as JSON, which Envoy reads given a `.json` file name).
pub fn bootstrap(
    policy_json: &str,
    wasm: &Path,
    upstream_port: u16,
    access_log: &Path,
    opts: &EnvoyOptions,
) -> Value {
    let mut hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "ingress",
        "codec_type": "AUTO",
        "access_log": [{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": access_log.to_string_lossy(),
                "log_format": { "json_format": {
                    "start_time": "%START_TIME%",
                    "method": "%REQ(:METHOD)%",
                    "path": "%REQ(:PATH)%",
                    "authority": "%REQ(:AUTHORITY)%",
                    "status": "%RESPONSE_CODE%",
                    "details": "%RESPONSE_CODE_DETAILS%",
                    "flags": "%RESPONSE_FLAGS%",
                    "upstream": "%UPSTREAM_HOST%",
                    "www_authenticate": "%RESP(WWW-AUTHENTICATE)%",
                    "duration_ms": "%DURATION%"
                }}
            }
        }],
        "route_config": {
            "name": "local",
            "virtual_hosts": [{
                "name": "all",
                "domains": ["*"],
                "routes": [{ "match": { "prefix": "/" }, "route": { "cluster": "upstream", "timeout": "10s" } }]
            }]
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.wasm",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                    "config": {
                        "name": "workload_authz",
                        "root_id": "workload_authz",
                        "allow_on_headers_stop_iteration": opts.allow_on_headers_stop_iteration,
                        "vm_config": {
                            "vm_id": "workload_authz",
                            "runtime": "envoy.wasm.runtime.v8",
                            "code": { "local": { "filename": wasm.to_string_lossy() } }
                        },
                        "configuration": {
                            "@type": "type.googleapis.com/google.protobuf.StringValue",
                            "value": policy_json
                        }
                    }
                }
            },
            {
                "name": "envoy.filters.http.router",
                "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
            }
        ]
    });
    if !opts.filter {
        if let Some(Value::Array(filters)) = hcm.get_mut("http_filters") {
            filters.retain(|f| f.get("name") != Some(&json!("envoy.filters.http.wasm")));
        }
    }
    if let (Some(Value::Object(extra)), Some(obj)) = (&opts.hcm_extra, hcm.as_object_mut()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    // The access-log fields and stats tags users copy from envoy/: the tests prove they work.
    if let Some(format) = hcm
        .pointer_mut("/access_log/0/typed_config/log_format/json_format")
        .and_then(Value::as_object_mut)
    {
        // Both shipped formats: the default record's `authz` object and the `keys` level's
        // flat `authz_*` fields (null where the level in use does not write them).
        for name in ["access-log-format.json", "access-log-format-keys.json"] {
            if let Value::Object(fields) = shipped_config(name) {
                for (k, v) in fields {
                    format.entry(k).or_insert(v);
                }
            }
        }
    }
    let mut chain = json!({ "filters": [{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": hcm
    }]});
    if let (Some(socket), Some(obj)) = (&opts.listener_transport_socket, chain.as_object_mut()) {
        obj.insert("transport_socket".to_string(), socket.clone());
    }
    let mut clusters = vec![static_cluster("upstream", upstream_port)];
    clusters.extend(
        opts.clusters
            .iter()
            .map(|(name, port)| static_cluster(name, *port)),
    );
    json!({
        "node": { "id": "workload-authz-it", "cluster": "workload-authz-it" },
        "stats_config": shipped_config("stats-config.json"),
        "admin": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": 0 } } },
        "static_resources": {
            "listeners": [{
                "name": "main",
                "address": { "socket_address": { "address": "127.0.0.1", "port_value": 0 } },
                "filter_chains": [chain]
            }],
            "clusters": clusters
        }
    })
}

/// A STATIC cluster of one endpoint on 127.0.0.1.
pub fn static_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
                "socket_address": { "address": "127.0.0.1", "port_value": port }
            }}}]}]
        }
    })
}

/// A JSON file from the repository's `envoy/` folder (`null` if it is missing or broken, which
/// the tests that depend on it then notice).
pub fn shipped_config(name: &str) -> Value {
    let path = crate::workspace_root().join("envoy").join(name);
    std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

struct Spawned {
    child: Child,
    dir: PathBuf,
    upstream: EchoServer,
}

/// The Envoy binary and (when `filter`) the filter module, or what is missing.
fn prerequisites(filter: bool) -> Result<(PathBuf, PathBuf), StartError> {
    let envoy = crate::envoy_bin();
    let wasm = crate::wasm_path();
    if !envoy.exists() {
        return Err(StartError::Missing(format!(
            "Envoy binary {} (set ENVOY_BIN)",
            envoy.display()
        )));
    }
    if filter && !wasm.exists() {
        return Err(StartError::Missing(format!(
            "filter module {} (build it: cargo build -p workload-authz --target wasm32-wasip1 --release, or set WORKLOAD_AUTHZ_WASM)",
            wasm.display()
        )));
    }
    Ok((envoy, wasm))
}

fn spawn(policy_json: &str, opts: &EnvoyOptions) -> Result<Spawned, StartError> {
    let (envoy, wasm) = prerequisites(opts.filter)?;
    let upstream = EchoServer::start().map_err(|e| StartError::Io(format!("echo server: {e}")))?;
    let dir = temp_dir()?;
    let config = bootstrap(
        policy_json,
        &wasm,
        opts.upstream_port.unwrap_or(upstream.port()),
        &dir.join("access.log"),
        opts,
    );
    let config_path = dir.join("bootstrap.json");
    let io = |e: std::io::Error| StartError::Io(e.to_string());
    std::fs::write(
        &config_path,
        serde_json::to_string_pretty(&config).map_err(|e| StartError::Io(e.to_string()))?,
    )
    .map_err(io)?;
    std::fs::write(dir.join("policy.json"), policy_json).map_err(io)?;
    let child = launch(&envoy, &config_path, &dir, opts)?;
    Ok(Spawned {
        child,
        dir,
        upstream,
    })
}

/// Starts `envoy -c config_path` with the harness's flags (admin address file, logs in `dir`:
/// envoy.log, stdout.log, stderr.log; access logs flushed every 100 ms).
fn launch(
    envoy: &Path,
    config_path: &Path,
    dir: &Path,
    opts: &EnvoyOptions,
) -> Result<Child, StartError> {
    let io = |e: std::io::Error| StartError::Io(e.to_string());
    let stdout = std::fs::File::create(dir.join("stdout.log")).map_err(io)?;
    let stderr = std::fs::File::create(dir.join("stderr.log")).map_err(io)?;
    let mut cmd = Command::new(envoy);
    cmd.arg("-c")
        .arg(config_path)
        .arg("--disable-hot-restart")
        .arg("--concurrency")
        .arg(opts.concurrency.to_string())
        .arg("-l")
        .arg(&opts.log_level)
        .arg("--log-path")
        .arg(dir.join("envoy.log"))
        .arg("--admin-address-path")
        .arg(dir.join("admin.address"))
        .arg("--file-flush-interval-msec")
        .arg("100");
    if !opts.component_log_level.is_empty() {
        cmd.arg("--component-log-level")
            .arg(&opts.component_log_level);
    }
    cmd.stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| StartError::Io(format!("spawning {}: {e}", envoy.display())))
}

/// Log text of an Envoy run: envoy.log + stderr + stdout.
fn log_text(dir: &Path, max_lines: usize) -> String {
    let mut out = tail(&dir.join("envoy.log"), max_lines);
    for f in ["stderr.log", "stdout.log"] {
        let t = tail(&dir.join(f), max_lines);
        if !t.trim().is_empty() {
            out.push_str(&format!("\n--- {f} ---\n{t}"));
        }
    }
    out
}

fn admin_get(admin: SocketAddr, path: &str) -> std::io::Result<Response> {
    Request::get(path).send(admin)
}

impl Envoy {
    /// Starts Envoy with the filter configured with `policy_json`.
    pub fn start(policy_json: &str) -> Result<Envoy, StartError> {
        Envoy::start_with(policy_json, &EnvoyOptions::default())
    }

    pub fn start_with(policy_json: &str, opts: &EnvoyOptions) -> Result<Envoy, StartError> {
        let spawned = spawn(policy_json, opts)?;
        Envoy::wait_ready(spawned, "main")
    }

    /// Starts Envoy with a complete bootstrap of its own (`file_name` ends in `.yaml` or `.json`,
    /// which tells Envoy how to read `text`), in front of `upstream` (which the bootstrap must
    /// point at), and waits until it is ready and `listener` (a listener's name) is bound. The
    /// harness's flags apply (admin address file, logs and standard output in [`Envoy::dir`]).
    pub fn start_bootstrap(
        text: &str,
        file_name: &str,
        listener: &str,
        upstream: EchoServer,
        opts: &EnvoyOptions,
    ) -> Result<Envoy, StartError> {
        let (envoy, _) = prerequisites(false)?;
        let dir = temp_dir()?;
        let config_path = dir.join(file_name);
        std::fs::write(&config_path, text).map_err(|e| StartError::Io(e.to_string()))?;
        let child = launch(&envoy, &config_path, &dir, opts)?;
        Envoy::wait_ready(
            Spawned {
                child,
                dir,
                upstream,
            },
            listener,
        )
    }

    /// Waits until the admin listener answers `/ready` with LIVE, then reads the address of the
    /// listener named `listener`.
    fn wait_ready(spawned: Spawned, listener: &str) -> Result<Envoy, StartError> {
        let Spawned {
            mut child,
            dir,
            upstream,
        } = spawned;
        let deadline = Instant::now() + START_TIMEOUT;
        let fail_exit = |status: ExitStatus, dir: &Path| StartError::Exited {
            status: status.to_string(),
            log: log_text(dir, 60),
        };
        let kill = |child: &mut Child| {
            let _ = child.kill();
            let _ = child.wait();
        };
        // 1. admin address file.
        let admin = loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(fail_exit(status, &dir));
            }
            if let Ok(text) = std::fs::read_to_string(dir.join("admin.address")) {
                if let Ok(addr) = text.trim().parse::<SocketAddr>() {
                    break addr;
                }
            }
            if Instant::now() > deadline {
                kill(&mut child);
                return Err(StartError::Timeout {
                    what: "admin address file".into(),
                    log: log_text(&dir, 60),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // 2. /ready == LIVE.
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(fail_exit(status, &dir));
            }
            if let Ok(r) = admin_get(admin, "/ready") {
                if r.status == 200 && r.body_str().trim() == "LIVE" {
                    break;
                }
            }
            if Instant::now() > deadline {
                kill(&mut child);
                return Err(StartError::Timeout {
                    what: "admin /ready == LIVE".into(),
                    log: log_text(&dir, 60),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // 3. The listener's real port.
        let listener = match admin_get(admin, "/listeners?format=json")
            .ok()
            .and_then(|r| r.json())
            .and_then(|v| listener_address(&v, listener))
        {
            Some(a) => a,
            None => {
                kill(&mut child);
                return Err(StartError::Io(format!(
                    "cannot read listener address from admin /listeners; log tail:\n{}",
                    log_text(&dir, 60)
                )));
            }
        };
        Ok(Envoy {
            child: Some(child),
            dir,
            admin,
            listener,
            upstream,
        })
    }

    /// Starts Envoy with a policy the filter must refuse; waits until Envoy exits and
    /// returns its log text. Panics if Envoy becomes ready, exits with success, or does not
    /// exit within 30 s.
    pub fn start_expect_failure(policy_json: &str) -> String {
        let Spawned { mut child, dir, .. } = match spawn(policy_json, &EnvoyOptions::default()) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    let log = log_text(&dir, 100_000);
                    if status.success() {
                        panic!("Envoy exited successfully ({status}) but the config should be refused; log:\n{log}");
                    }
                    let _ = std::fs::remove_dir_all(&dir);
                    return log;
                }
                Ok(None) => {}
                Err(e) => panic!("waiting for Envoy: {e}"),
            }
            // If Envoy became ready the config was accepted.
            if let Some(addr) = std::fs::read_to_string(dir.join("admin.address"))
                .ok()
                .and_then(|t| t.trim().parse::<SocketAddr>().ok())
            {
                if let Ok(r) = admin_get(addr, "/ready") {
                    if r.status == 200 && r.body_str().trim() == "LIVE" {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!(
                            "Envoy started (ready: LIVE) but the config should be refused; log tail:\n{}",
                            log_text(&dir, 60)
                        );
                    }
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "Envoy did not exit within {START_TIMEOUT:?} with a config that should be refused; log tail:\n{}",
                    log_text(&dir, 60)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a request to the main listener.
    pub fn send(&self, req: &Request) -> std::io::Result<Response> {
        req.send(self.listener)
    }

    /// Temporary directory (bootstrap.json, policy.json, envoy.log, access.log, ...).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Tail of Envoy's log (plus stderr/stdout).
    pub fn log_tail(&self, max_lines: usize) -> String {
        log_text(&self.dir, max_lines)
    }

    /// Access log entries (JSON lines) written so far (flushed every 100 ms).
    pub fn access_log(&self) -> Vec<Value> {
        json_lines(&self.dir.join("access.log"))
    }

    /// Waits (up to 5 s) until the access log has at least `n` entries; returns them.
    pub fn wait_access_log(&self, n: usize) -> Vec<Value> {
        wait_lines(n, || self.access_log())
    }

    /// The JSON lines Envoy wrote to its standard output so far (an access log to
    /// `/dev/stdout`, such as the `StdoutAccessLog` of `workload-authz envoy --bootstrap`).
    pub fn stdout_json(&self) -> Vec<Value> {
        json_lines(&self.dir.join("stdout.log"))
    }

    /// Waits (up to 5 s) until standard output holds at least `n` JSON lines; returns them.
    pub fn wait_stdout_json(&self, n: usize) -> Vec<Value> {
        wait_lines(n, || self.stdout_json())
    }

    /// The sum of a Prometheus counter's samples (from `/stats/prometheus`) whose labels include
    /// every `(name, value)` of `labels`; 0 when there is none yet.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let text = self
            .admin_get("/stats/prometheus")
            .map(|r| r.body_str())
            .unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter(|l| {
                labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Admin GET (e.g. `/stats`).
    pub fn admin_get(&self, path: &str) -> std::io::Result<Response> {
        admin_get(self.admin, path)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// The lines of a file that are JSON values (none if it is unreadable).
fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Calls `read` until it returns at least `n` entries, for up to 5 s; returns the last answer.
fn wait_lines(n: usize, read: impl Fn() -> Vec<Value>) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let entries = read();
        if entries.len() >= n || Instant::now() > deadline {
            return entries;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn listener_address(v: &Value, name: &str) -> Option<SocketAddr> {
    let statuses = v.get("listener_statuses")?.as_array()?;
    let l = statuses
        .iter()
        .find(|l| l.get("name").and_then(Value::as_str) == Some(name))?;
    let sa = l.get("local_address")?.get("socket_address")?;
    let ip = sa.get("address")?.as_str()?;
    let port = sa.get("port_value")?.as_u64()?;
    format!("{ip}:{port}").parse().ok()
}

impl Drop for Envoy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() || std::env::var_os("WORKLOAD_AUTHZ_KEEP_LOGS").is_some() {
            eprintln!("Envoy files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Reads all of a stream (helper for raw admin access).
pub fn read_all(mut s: TcpStream) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    s.read_to_end(&mut v)?;
    Ok(v)
}

/// Writes raw bytes to the listener and returns the raw response (for malformed requests).
pub fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(bytes)?;
    read_all(s)
}

impl Envoy {
    /// Starts Envoy with an arbitrary `http_filters` list in front of the echo upstream, e.g.
    /// Envoy's own `envoy.filters.http.jwt_authn` for differential tests. The router filter is
    /// appended; the workload-authz filter is not installed (unless `filters` holds it).
    pub fn start_with_http_filters(
        filters: Vec<Value>,
        opts: &EnvoyOptions,
    ) -> Result<Envoy, StartError> {
        let mut all = filters;
        all.push(json!({
            "name": "envoy.filters.http.router",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
        }));
        let mut hcm_extra = match &opts.hcm_extra {
            Some(Value::Object(extra)) => extra.clone(),
            _ => serde_json::Map::new(),
        };
        hcm_extra.insert("http_filters".into(), Value::Array(all));
        let opts = EnvoyOptions {
            filter: false,
            hcm_extra: Some(Value::Object(hcm_extra)),
            ..opts.clone()
        };
        Envoy::start_with("{}", &opts)
    }
}
