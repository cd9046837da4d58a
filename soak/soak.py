#!/usr/bin/env python3
"""Soak test of workload-authz in a real Envoy (make soak SOAK_SECONDS=600).

Runs, for SOAK_SECONDS:
* Envoy (--concurrency 2) with the filter on an LDS file-based dynamic listener, routes answered
  by `direct_response` after the filter (no upstream to overload);
* a local JWKS server whose key set rotates every ROTATE_SECONDS (a sliding window of two of
  KEYS keys), fetched by the filter through `remote_jwks` (cache_duration_seconds 10);
* a configuration reload every RELOAD_SECONDS: the LDS file is swapped (moved into place) with
  the other of two policies (they differ in realm and one route), so Envoy builds a new
  listener and the filter runs on_configure again;
* wrk (2 threads, CONNECTIONS connections) replaying a mix of requests: tokens of every key
  (current or rotated out), tokens without the scope, expired, bad signature, alg none,
  garbage, two tokens, an oversized token, no token, the public route, a bad path.

Checks (exit 1 on any failure): no 5xx answered (wrk's per-status count and Envoy's
downstream_rq_5xx), Envoy alive, the Wasm VMs never failed (wasm stats), every reload applied
(LDS update_success), keys refetched, and memory (Envoy RSS and tcmalloc allocated bytes)
flat within MEMORY_TOLERANCE after the warm-up. Writes target/soak/report.json and report.md.

Environment: SOAK_SECONDS (600), ROTATE_SECONDS (30), RELOAD_SECONDS (45), WARMUP_SECONDS
(min(120, 25 % of the run)), CONNECTIONS (16), KEYS (6), MEMORY_TOLERANCE (0.10), ENVOY_BIN,
WASM, CLI (the workload-authz command: keygen and mint), WRK (wrk), SOAK_DIR (target/soak).
"""

import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env_int(name, default):
    return int(os.environ.get(name, default))


SOAK_SECONDS = env_int("SOAK_SECONDS", 600)
ROTATE_SECONDS = env_int("ROTATE_SECONDS", 30)
RELOAD_SECONDS = env_int("RELOAD_SECONDS", 45)
WARMUP_SECONDS = env_int("WARMUP_SECONDS", min(120, SOAK_SECONDS // 4))
CONNECTIONS = env_int("CONNECTIONS", 16)
KEYS = env_int("KEYS", 6)
SAMPLE_SECONDS = env_int("SAMPLE_SECONDS", 5)
MEMORY_TOLERANCE = float(os.environ.get("MEMORY_TOLERANCE", "0.10"))
ENVOY_BIN = os.environ.get("ENVOY_BIN", os.path.join(ROOT, ".venv/bin/envoy"))
WASM = os.environ.get("WASM", os.path.join(ROOT, "target/wasm32-wasip1/release/workload_authz.wasm"))
CLI = os.environ.get("CLI", os.path.join(ROOT, "target/release/workload-authz"))
WRK = os.environ.get("WRK", "wrk")
OUT = os.environ.get("SOAK_DIR", os.path.join(ROOT, "target/soak"))
ISSUER = "https://soak.example"


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- keys and tokens -------------------------------------------------------------------------

def make_keys(work):
    """KEYS ES256 keys (kid soak-0..), each with its public JWK."""
    keydir = os.path.join(work, "keys")
    shutil.rmtree(keydir, ignore_errors=True)
    os.makedirs(keydir)
    for i in range(KEYS):
        subprocess.run([CLI, "keygen", "--alg", "ES256", "--kid", f"soak-{i}", "--out", keydir],
                       check=True, stdout=subprocess.DEVNULL)
    jwks = json.load(open(os.path.join(keydir, "jwks.json")))
    by_kid = {k["kid"]: k for k in jwks["keys"]}
    return keydir, [by_kid[f"soak-{i}"] for i in range(KEYS)]


def mint(keydir, kid, *extra, ttl=None, scope="read", now=None):
    ttl = ttl if ttl is not None else SOAK_SECONDS + 3600
    args = [CLI, "mint", "--key", os.path.join(keydir, f"{kid}.pem"), "--kid", kid,
            "--iss", ISSUER, "--aud", "soak", "--sub", "spiffe://soak/ns/a/sa/client",
            "--ttl", str(ttl)]
    if scope:
        args += ["--scope", scope]
    if now is not None:
        args += ["--now", str(now)]
    args += list(extra)
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def corrupt(token):
    h, p, s = token.split(".")
    c = "A" if s[10] != "A" else "B"
    return f"{h}.{p}.{s[:10]}{c}{s[11:]}"


def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def request_mix(keydir):
    """(name, method, path, headers) replayed round-robin by wrk."""
    reqs = []
    now = int(time.time())
    for i in range(KEYS):
        kid = f"soak-{i}"
        tok = mint(keydir, kid)
        # Tokens of current keys: 200; of rotated-out keys: 401 unknown_key.
        reqs.append((f"valid-{kid}", "GET", "/api/x", {"Authorization": f"Bearer {tok}"}))
        reqs.append((f"valid2-{kid}", "GET", "/api/y", {"Authorization": f"Bearer {tok}"}))
    k0 = "soak-0"
    reqs += [
        ("no-scope", "GET", "/api/x", {"Authorization": "Bearer " + mint(keydir, k0, scope="")}),
        ("expired", "GET", "/api/x", {"Authorization": "Bearer " + mint(keydir, k0, ttl=60, now=now - 7200)}),
        ("bad-signature", "GET", "/api/x", {"Authorization": "Bearer " + corrupt(mint(keydir, k0))}),
        ("alg-none", "GET", "/api/x", {"Authorization": "Bearer " + b64url(b'{"alg":"none"}') + "."
                                       + b64url(json.dumps({"iss": ISSUER, "aud": "soak", "exp": now + 9999}).encode()) + "."}),
        ("garbage", "GET", "/api/x", {"Authorization": "Bearer abc.def.ghi"}),
        ("oversized", "GET", "/api/x", {"Authorization": "Bearer " + mint(keydir, k0, "--claim", "pad=" + "p" * 9000)}),
        ("no-token", "GET", "/api/x", {}),
        ("public", "GET", "/healthz", {}),
        ("bad-path", "GET", "/healthz/../api/x", {}),
        ("no-route", "DELETE", "/api/x", {}),
    ]
    return reqs


def wrk_script(reqs, path):
    lines = ["-- generated by soak/soak.py", "local reqs = {}"]
    for _name, method, p, headers in reqs:
        headers = {"Host": "localhost", **headers}
        hs = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
        lines.append(f"table.insert(reqs, wrk.format({json.dumps(method)}, {json.dumps(p)}, {{{hs}}}))")
    lines.append(r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  counter = math.random(#reqs)
  statuses = {}
end
function request()
  counter = counter % #reqs + 1
  return reqs[counter]
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  io.write("STATUSES")
  for k, v in pairs(total) do io.write(string.format(" %d=%d", k, v)) end
  io.write("\n")
  io.write(string.format("LATENCY p50=%d p99=%d max=%d\n", latency:percentile(50), latency:percentile(99), latency.max))
end
""")
    with open(path, "w") as f:
        f.write("\n".join(lines))


# --- JWKS server -----------------------------------------------------------------------------

class Jwks:
    def __init__(self, jwks):
        self.jwks = jwks
        self.phase = 0
        self.lock = threading.Lock()
        self.served = 0

    def current(self):
        with self.lock:
            return [self.jwks[(self.phase + j) % len(self.jwks)] for j in range(2)]

    def rotate(self):
        with self.lock:
            self.phase += 1

    def document(self):
        with self.lock:
            self.served += 1
        return json.dumps({"keys": self.current()}).encode()


def jwks_server(state, port):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = state.document()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# --- Envoy -----------------------------------------------------------------------------------

def policy(variant, jwks_port):
    return json.dumps({
        "realm": f"soak-{variant}",
        "providers": {
            "mesh": {
                "issuer": ISSUER,
                "audiences": ["soak"],
                "remote_jwks": {
                    "http_uri": {"uri": f"http://127.0.0.1:{jwks_port}/jwks.json",
                                 "cluster": "jwks", "timeout_ms": 1000},
                    "cache_duration_seconds": 10,
                    "max_stale_seconds": 60,
                },
            }
        },
        "routes": [
            {"action": "health", "match": {"path": "/healthz"}, "public": True},
            {"action": "read", "match": {"path": "/api/{x}", "methods": ["GET"]},
             "require": {"scopes": ["read"]}},
        ] + ([{"action": "extra", "match": {"path": "/extra/**"}}] if variant == "b" else []),
    })


def listener(variant, port, jwks_port):
    return {
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        "name": "main",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "ingress",
                "codec_type": "AUTO",
                "route_config": {"name": "local", "virtual_hosts": [{
                    "name": "all", "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"},
                                "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}]}]},
                "http_filters": [
                    {"name": "envoy.filters.http.wasm", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                        "config": {
                            "name": "workload_authz", "root_id": "workload_authz",
                            "vm_config": {"vm_id": "workload_authz", "runtime": "envoy.wasm.runtime.v8",
                                          "code": {"local": {"filename": WASM}}},
                            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                              "value": policy(variant, jwks_port)}}}},
                    {"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                ],
            }}]}],
    }


def write_lds(lds_dir, variant, port, jwks_port):
    tmp = os.path.join(lds_dir, ".lds.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"resources": [listener(variant, port, jwks_port)]}, f)
    os.rename(tmp, os.path.join(lds_dir, "lds.json"))


def bootstrap(work, lds_dir, admin_port, jwks_port):
    return {
        "node": {"id": "soak", "cluster": "soak"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "dynamic_resources": {"lds_config": {
            "resource_api_version": "V3",
            "path_config_source": {"path": os.path.join(lds_dir, "lds.json"),
                                   "watched_directory": {"path": lds_dir}}}},
        "static_resources": {"clusters": [{
            "name": "jwks", "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": "jwks", "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": jwks_port}}}}]}]}}]},
    }


def admin(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


def stats(port):
    out = {}
    for line in admin(port, "/stats").splitlines():
        name, _, value = line.partition(": ")
        try:
            out[name] = int(value)
        except ValueError:
            pass
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmRSS:\s+(\d+)", f.read())
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


def probe_variant(port):
    """Which policy the filter runs: `b` routes /extra/** (401 missing_token, realm soak-b),
    `a` does not (403 no_route)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/extra/x", timeout=5) as r:
            return f"unexpected {r.status}"
    except urllib.error.HTTPError as e:
        www = e.headers.get("www-authenticate", "")
        if e.code == 401 and 'realm="soak-b"' in www:
            return "b"
        if e.code == 403:
            return "a"
        return f"unexpected {e.code} {www}"
    except OSError as e:
        return f"unreachable: {e}"


def main():
    global WASM
    os.makedirs(OUT, exist_ok=True)
    work = os.path.join(OUT, "work")
    shutil.rmtree(work, ignore_errors=True)
    lds_dir = os.path.join(work, "lds")
    os.makedirs(lds_dir)
    for need in (ENVOY_BIN, WASM, CLI):
        if not os.path.exists(need):
            sys.exit(f"soak: missing {need}")

    # A private copy of the module: a rebuild of the workspace's .wasm during the run must not
    # make the reloads load different code (new code means new VMs and more memory).
    wasm_copy = os.path.join(work, "workload_authz.wasm")
    shutil.copyfile(WASM, wasm_copy)
    WASM = wasm_copy
    log(f"{SOAK_SECONDS} s, rotate keys every {ROTATE_SECONDS} s, reload config every "
        f"{RELOAD_SECONDS} s, warm-up {WARMUP_SECONDS} s, {CONNECTIONS} connections")
    keydir, jwks = make_keys(work)
    reqs = request_mix(keydir)
    script = os.path.join(work, "mix.lua")
    wrk_script(reqs, script)

    jwks_port, admin_port, port = free_port(), free_port(), free_port()
    state = Jwks(jwks)
    srv = jwks_server(state, jwks_port)
    write_lds(lds_dir, "a", port, jwks_port)
    with open(os.path.join(work, "bootstrap.json"), "w") as f:
        json.dump(bootstrap(work, lds_dir, admin_port, jwks_port), f, indent=1)
    envoy_log = os.path.join(work, "envoy.log")
    envoy = subprocess.Popen(
        [ENVOY_BIN, "-c", os.path.join(work, "bootstrap.json"), "--concurrency", "2",
         "--disable-hot-restart", "--drain-time-s", "2", "--drain-strategy", "immediate",
         "--log-path", envoy_log, "-l", "warning"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "envoy.stderr"), "w"))
    failures = []
    samples = []
    try:
        deadline = time.time() + 30
        while True:
            try:
                if admin(admin_port, "/ready").strip() == "LIVE":
                    break
            except OSError:
                pass
            if envoy.poll() is not None or time.time() > deadline:
                sys.exit("soak: Envoy did not start; see " + envoy_log)
            time.sleep(0.2)
        # Wait for the first key set.
        first_ok = False
        for _ in range(100):
            try:
                with urllib.request.urlopen(urllib.request.Request(
                        f"http://127.0.0.1:{port}/api/x", headers=reqs[0][3]), timeout=5) as r:
                    first_ok = r.status == 200
            except urllib.error.HTTPError:
                pass
            if first_ok:
                break
            time.sleep(0.2)
        if not first_ok:
            failures.append("the first valid token was never allowed (JWKS not fetched?)")
        start_stats = stats(admin_port)
        log(f"Envoy pid {envoy.pid} ready on 127.0.0.1:{port}; wrk starting")

        wrk_out = os.path.join(work, "wrk.out")
        wrk = subprocess.Popen(
            [WRK, "-t", "2", "-c", str(CONNECTIONS), "-d", f"{SOAK_SECONDS}s", "--timeout", "5s",
             "--latency", "-s", script, f"http://127.0.0.1:{port}"],
            stdout=open(wrk_out, "w"), stderr=subprocess.STDOUT)
        t0 = time.time()
        next_rotate, next_reload, next_sample = t0 + ROTATE_SECONDS, t0 + RELOAD_SECONDS, t0
        rotations = reloads = 0
        reload_delays = []
        variant = "a"
        if probe_variant(port) != "a":
            failures.append(f"initial policy not in force: {probe_variant(port)}")
        while wrk.poll() is None:
            now = time.time()
            if now >= next_rotate:
                state.rotate()
                rotations += 1
                next_rotate += ROTATE_SECONDS
                log(f"rotated keys: now {[k['kid'] for k in state.current()]}")
            if now >= next_reload:
                variant = "b" if variant == "a" else "a"
                write_lds(lds_dir, variant, port, jwks_port)
                reloads += 1
                next_reload += RELOAD_SECONDS
                applied_at = None
                seen = None
                while time.time() < now + 10:
                    seen = probe_variant(port)
                    if seen == variant:
                        applied_at = time.time() - now
                        break
                    time.sleep(0.1)
                if applied_at is None:
                    failures.append(f"reload {reloads} (variant {variant}) not applied within 10 s: {seen}")
                else:
                    reload_delays.append(applied_at)
                log(f"reload {reloads}: policy variant {variant}"
                    + (f", in force after {applied_at:.2f} s" if applied_at is not None else ", NOT applied"))
            if now >= next_sample:
                try:
                    s = stats(admin_port)
                except OSError as e:
                    failures.append(f"admin unreachable at +{now - t0:.0f} s: {e}")
                    s = {}
                samples.append({
                    "t": round(now - t0, 1),
                    "rss_kb": rss_kb(envoy.pid),
                    "allocated": s.get("server.memory_allocated", 0),
                    "heap": s.get("server.memory_heap_size", 0),
                    "vm_active": s.get("wasm.envoy.wasm.runtime.v8.active"),
                    "vm_created": s.get("wasm.envoy.wasm.runtime.v8.created"),
                    "rq_total": s.get("http.ingress.downstream_rq_total", 0),
                    "rq_5xx": s.get("http.ingress.downstream_rq_5xx", 0),
                })
                next_sample += SAMPLE_SECONDS
            if envoy.poll() is not None:
                failures.append(f"Envoy exited ({envoy.returncode}) at +{now - t0:.0f} s")
                wrk.kill()
                break
            time.sleep(0.2)
        wrk.wait()
        elapsed = time.time() - t0
        time.sleep(3)
        end_stats = stats(admin_port) if envoy.poll() is None else {}
    finally:
        alive = envoy.poll() is None
        if alive:
            envoy.send_signal(signal.SIGTERM)
            try:
                envoy.wait(10)
            except subprocess.TimeoutExpired:
                envoy.kill()
        srv.shutdown()

    # --- verdicts ---------------------------------------------------------------------------
    text = open(wrk_out).read()
    statuses = {}
    m = re.search(r"STATUSES(.*)", text)
    if m:
        for part in m.group(1).split():
            k, v = part.split("=")
            statuses[int(k)] = int(v)
    m = re.search(r"LATENCY p50=(\d+) p99=(\d+) max=(\d+)", text)
    latency = {"p50_us": int(m.group(1)), "p99_us": int(m.group(2)), "max_us": int(m.group(3))} if m else {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    rps = float(m.group(1)) if m else 0.0
    m = re.search(r"Socket errors: (.*)", text)
    socket_errors = m.group(1).strip() if m else "none"
    total = sum(statuses.values())
    fivexx = sum(v for k, v in statuses.items() if k >= 500)
    if total == 0:
        failures.append("wrk recorded no response:\n" + text[-2000:])
    if fivexx:
        failures.append(f"{fivexx} responses with 5xx: {statuses}")
    envoy_5xx = end_stats.get("http.ingress.downstream_rq_5xx", 0) - start_stats.get("http.ingress.downstream_rq_5xx", 0)
    if envoy_5xx:
        failures.append(f"Envoy counted {envoy_5xx} downstream 5xx")
    if not alive:
        failures.append("Envoy was not alive at the end")
    for want in (200, 401, 403, 431):
        if not statuses.get(want):
            failures.append(f"no {want} answered: the mix is not exercised ({statuses})")

    wasm_stats = {k: v for k, v in end_stats.items() if k.startswith("wasm.")}
    wasm_failures = {k: v for k, v in wasm_stats.items()
                     if re.search(r"fail|crash|abort|error", k) and v}
    if wasm_failures:
        failures.append(f"Wasm failure counters: {wasm_failures}")
    vms = [s["vm_active"] for s in samples if s["vm_active"] is not None]
    if vms and (min(vms) == 0 or vms[-1] > vms[0] + 1):
        failures.append(f"Wasm VMs active over time: {vms[0]} at start, min {min(vms)}, last {vms[-1]}")
    try:
        envoy_text = open(envoy_log, errors="replace").read()
    except OSError:
        envoy_text = ""
    crashes = [l for l in envoy_text.splitlines()
               if re.search(r"panicked|wasm trap|Function: proxy_on_\w+ failed|abort|RuntimeError", l)]
    if crashes:
        failures.append(f"{len(crashes)} VM failure lines in the Envoy log, first: {crashes[0][:300]}")
    lds_ok = end_stats.get("listener_manager.lds.update_success", 0)
    lds_rejected = end_stats.get("listener_manager.lds.update_rejected", 0)
    if lds_rejected:
        failures.append(f"{lds_rejected} LDS updates rejected")
    if reloads and lds_ok < reloads:
        failures.append(f"{reloads} reloads but only {lds_ok} LDS updates applied")
    fetches = {k: v for k, v in end_stats.items() if "workload_authz_fetches_total" in k or "fetches" in k}
    if state.served < 2:
        failures.append(f"the JWKS was fetched {state.served} times")

    after = [s for s in samples if s["t"] >= WARMUP_SECONDS]
    memory = {}
    for key in ("rss_kb", "allocated"):
        series = [s[key] for s in after if s[key]]
        if len(series) >= 2:
            base = series[0]
            peak = max(series)
            last = series[-1]
            growth_peak = (peak - base) / base
            growth_last = (last - base) / base
            memory[key] = {"after_warmup": base, "peak": peak, "last": last,
                           "growth_peak": round(growth_peak, 4), "growth_last": round(growth_last, 4)}
            if growth_peak > MEMORY_TOLERANCE:
                failures.append(f"{key} grew {growth_peak:.1%} after warm-up ({base} -> peak {peak})")
        else:
            failures.append(f"too few {key} samples after warm-up ({len(series)})")

    report = {
        "seconds": round(elapsed, 1), "requests": total, "rps": rps, "statuses": statuses,
        "latency": latency, "socket_errors": socket_errors, "envoy_5xx": envoy_5xx,
        "vm_active": {"first": vms[0] if vms else None, "min": min(vms) if vms else None,
                      "max": max(vms) if vms else None},
        "vm_created": samples[-1]["vm_created"] if samples else None,
        "reload_applied_max_s": round(max(reload_delays), 2) if reload_delays else None,
        "rotations": rotations, "reloads": reloads, "lds_update_success": lds_ok,
        "lds_update_rejected": lds_rejected, "jwks_served": state.served,
        "wasm_stats": wasm_stats, "fetch_stats": fetches, "memory": memory,
        "warmup_seconds": WARMUP_SECONDS, "samples": samples, "failures": failures,
        "mix": [r[0] for r in reqs],
    }
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    md = [f"# Soak report ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
          f"- duration: {elapsed:.0f} s, {total} requests, {rps:.0f} req/s, socket errors: {socket_errors}",
          f"- statuses: {dict(sorted(statuses.items()))}; Envoy downstream 5xx: {envoy_5xx}",
          f"- latency: {latency}",
          f"- key rotations: {rotations}; JWKS documents served: {state.served}",
          f"- config reloads: {reloads} ({len(reload_delays)} seen in force, at most "
          f"{report['reload_applied_max_s']} s after the file swap); LDS update_success {lds_ok}, rejected {lds_rejected}",
          f"- Wasm VMs active: {report['vm_active']}, created in total: {report['vm_created']}",
          f"- wasm stats: {wasm_stats}",
          f"- memory after {WARMUP_SECONDS} s warm-up: {json.dumps(memory)}",
          f"- result: {'PASS' if not failures else 'FAIL: ' + '; '.join(failures)}"]
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    if failures:
        print("\nsoak FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        print(f"Envoy files kept in {work}", file=sys.stderr)
        sys.exit(1)
    print(f"soak passed (files in {work})")


if __name__ == "__main__":
    main()
