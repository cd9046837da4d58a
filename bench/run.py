#!/usr/bin/env python3
"""`make bench`: Envoy with no auth filter, with jwt_authn + RBAC, and with workload-authz, under the
same wrk load on 127.0.0.1, per algorithm and workload.

For each algorithm every configuration ("variant") runs in its own Envoy (`--concurrency 1`, pinned
with taskset to BENCH_ENVOY_CPU); wrk is pinned to BENCH_WRK_CPU. Per workload, each variant is
warmed up, then the variants are measured in turn, BENCH_REPEAT times (interleaved, so a slow
moment of the machine hits every variant alike); each cell reports the median of its repetitions.

Envoy CPU time per request = (utime + stime of the Envoy process after - before) / requests Envoy
completed in between (its `downstream_rq_completed` counter): robust when the machine is shared.

Workloads: `reuse` (BENCH_REUSE_TOKENS [16] valid tokens in turn), `fresh` (a new token per request), `deny` (tampered
signatures, 401), all `GET /orders/42`; and, only when BENCH_WORKLOADS names it, `mcp`: an MCP tool
call, `POST /mcp` with a 1 KiB JSON-RPC `tools/call` of `search_customers` and 16 reused tokens with
the scope crm:read. `mcp` runs in Envoys of its own (bench/envoy/*-mcp.yaml: the MCP policy, and
in every configuration a buffer filter before the router), started after the others' are
stopped, so adding it changes nothing in the other workloads' figures. Before measuring, every
`mcp` Envoy must allow the call and refuse another tool, another method, a duplicate `name`, a
token without the scope, a bad token and no token (baseline: 200 to all); otherwise the
benchmark stops with status 1.

Writes BENCH_OUT/report.md and BENCH_OUT/report.json. Settings (environment):
  BENCH_SECONDS=8 BENCH_WARMUP=2 BENCH_REPEAT=5 BENCH_CONNECTIONS=16 BENCH_WRK_THREADS=1
  BENCH_ALGS=ES256,RS256,EdDSA BENCH_WORKLOADS=reuse,fresh,deny (also: mcp)
  BENCH_VARIANTS=baseline,native,workload-authz BENCH_REFERENCE=native
  BENCH_VARIANTS_FILE=bench/variants.json BENCH_POOL=20000 BENCH_REUSE_TOKENS=16
  BENCH_ENVOY_CPU=0 BENCH_WRK_CPU=1
  BENCH_CLAIMS=minimal (or rich) BENCH_HEADERS=minimal (or client)
  BENCH_OUT=target/bench BENCH_POOL_DIR=target/bench/pool ENVOY_BIN WASM MINT_POOL
"""

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")


def env(name, default):
    return os.environ.get(name) or default


def env_list(name, default):
    return [x.strip() for x in env(name, default).split(",") if x.strip()]


SECONDS = int(env("BENCH_SECONDS", "8"))
WARMUP = int(env("BENCH_WARMUP", "2"))
REPEAT = int(env("BENCH_REPEAT", "5"))
CONNECTIONS = int(env("BENCH_CONNECTIONS", "16"))
WRK_THREADS = int(env("BENCH_WRK_THREADS", "1"))
ALGS = env_list("BENCH_ALGS", "ES256,RS256,EdDSA")
WORKLOADS = env_list("BENCH_WORKLOADS", "reuse,fresh,deny")
VARIANTS = env_list("BENCH_VARIANTS", "baseline,native,workload-authz")
REFERENCE = env("BENCH_REFERENCE", "native")
VARIANTS_FILE = env("BENCH_VARIANTS_FILE", os.path.join(BENCH, "variants.json"))
POOL_SIZE = int(env("BENCH_POOL", "20000"))
# Tokens the reuse workload sends in turn: over limits.token_cache_entries (1024) or
# decision_memo_entries (512) a "reuse" load misses the caches, like native's jwt_cache_size.
REUSE_TOKENS = int(env("BENCH_REUSE_TOKENS", "16"))
# The request's shape, to compare with other load scripts: `rich` tokens carry ~700 bytes more
# claims (groups, roles, kubernetes.io, ...); `client` requests carry the headers a typical
# client and mesh add (user-agent, accept*, x-request-id, traceparent, x-forwarded-*).
CLAIMS = env("BENCH_CLAIMS", "minimal")
REQUEST_HEADERS = env("BENCH_HEADERS", "minimal")
CLIENT_HEADERS = {
    "User-Agent": "orders-client/3.14.2 (linux; amd64) grpc-gateway/2.19",
    "Accept": "application/json, text/plain, */*",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-US,en;q=0.9",
    "X-Request-Id": "3f2b8c1e-9d4a-4e7b-a6c5-0b1d2e3f4a5b",
    "Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "X-Forwarded-For": "10.12.34.56, 10.0.0.7",
    "X-Forwarded-Proto": "https",
    "X-Envoy-Attempt-Count": "1",
}

ENVOY_CPU = env("BENCH_ENVOY_CPU", "0")
WRK_CPU = env("BENCH_WRK_CPU", "1")
OUT = os.path.abspath(env("BENCH_OUT", os.path.join(ROOT, "target", "bench")))
ENVOY_BIN = env("ENVOY_BIN", os.path.join(ROOT, ".venv", "bin", "envoy"))
WASM = os.path.abspath(
    env("WASM", os.path.join(ROOT, "target", "wasm32-wasip1", "release", "workload_authz.wasm"))
)
MINT_POOL = env("MINT_POOL", os.path.join(ROOT, "target", "release", "mint-pool"))
POOL_DIR = os.path.abspath(env("BENCH_POOL_DIR", os.path.join(ROOT, "target", "bench", "pool")))

ISSUER = "https://issuer.bench.example"
AUDIENCE = "orders"
SCOPE = "orders:read"  # required; tokens carry "orders:read orders:write"
MAX_LIFETIME = 86400
TOKEN_TTL = 4 * 3600
PATH = "/orders/42"
# A workload's expected status: valid tokens pass, tampered signatures get 401 (baseline: 200).
EXPECTED = {"reuse": 200, "fresh": 200, "deny": 401, "mcp": 200}
# The `mcp` workload: tool calls on the MCP route of bench/envoy/*-mcp.yaml.
MCP_PATH = "/mcp"
MCP_SCOPE = "crm:read"  # required by the tool; the mcp pool's tokens carry exactly this scope
MCP_TOOL = "search_customers"
MCP_BODY_BYTES = 1024  # each request's JSON-RPC body, padded to exactly this size
MCP_MAX_BODY = 8192  # both filters' body limit (the native MCP filter's default)
MCP_BODIES = 64  # distinct bodies (ids 1..64) wrk sends in turn, each with the next token
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
TICKS = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- machine facts


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def envoy_version():
    out = subprocess.run([ENVOY_BIN, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version: \S+?/(\d+\.\d+\.\d+)/\S+", out)
    return m.group(1) if m else out.strip()


def other_builds(ours=()):
    """Names of build processes (cargo, rustc, linkers) and of Envoys not ours running now."""
    names = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in ("cargo", "rustc", "cc", "ld", "lld", "rust-lld", "cc1", "clang", "wrk"):
            names.append(comm)
        elif comm == "envoy" and int(pid) not in ours:
            names.append("envoy (not ours)")
    return names


def git_describe():
    """The commit measured, with `+dirty` when the work tree has changes."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------- token pools


def ensure_pool():
    """Mints the pools unless a fresh-enough one with every algorithm is already there."""
    manifest_path = os.path.join(POOL_DIR, "manifest.json")
    try:
        with open(manifest_path) as f:
            m = json.load(f)
        good = (
            m["exp"] - time.time() > 2 * 3600
            and m["fresh"] >= POOL_SIZE
            and m.get("reuse", 16) == REUSE_TOKENS
            and set(ALGS) <= set(m["algorithms"])
            and m["issuer"] == ISSUER
            and m.get("claims", "minimal") == CLAIMS
            # Pools minted before the mcp workload existed have no mcp.txt.
            and ("mcp" not in WORKLOADS
                 or (m.get("mcp", 0) > 0 and m.get("mcp_scope") == MCP_SCOPE))
        )
        if good:
            log(f"reusing token pools in {POOL_DIR} (valid until {m['exp']})")
            return m
    except (OSError, ValueError, KeyError):
        pass
    log(f"minting token pools ({POOL_SIZE} fresh tokens per algorithm) into {POOL_DIR}")
    subprocess.run(
        [MINT_POOL, "--out", POOL_DIR, "--algs", ",".join(ALGS), "--fresh", str(POOL_SIZE),
         "--reuse", str(REUSE_TOKENS), "--ttl", str(TOKEN_TTL), "--iss", ISSUER, "--aud", AUDIENCE,
         "--scope", "orders:read orders:write", "--mcp-scope", MCP_SCOPE, "--claims", CLAIMS],
        check=True,
    )
    with open(manifest_path) as f:
        return json.load(f)


def pool_file(alg, workload):
    return os.path.join(POOL_DIR, alg, f"{workload}.txt")


def first_token(alg, workload):
    with open(pool_file(alg, workload)) as f:
        return f.readline().strip()


def mcp_body(request_id, tool=MCP_TOOL):
    """A JSON-RPC `tools/call` of `tool`, one line of exactly MCP_BODY_BYTES bytes."""
    def text(padding):
        return json.dumps({
            "jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": tool, "arguments": {
                "query": "customers in region eu with open orders", "limit": 50,
                "fields": ["id", "name", "region", "open_orders"], "padding": padding}},
        }, separators=(",", ":"))
    return text("x" * max(0, MCP_BODY_BYTES - len(text(""))))


def extra_headers():
    """The headers BENCH_HEADERS adds to every request (besides Host, Authorization and the MCP
    workload's own)."""
    return CLIENT_HEADERS if REQUEST_HEADERS == "client" else {}


def extra_headers_file():
    """Writes extra_headers() as `Name: value` lines for pool.lua; returns the path."""
    path = os.path.join(OUT, "extra-headers.txt")
    with open(path, "w") as f:
        f.writelines(f"{name}: {value}\n" for name, value in extra_headers().items())
    return path


def mcp_bodies_file():
    """The bodies wrk sends for the mcp workload (BENCH_OUT/mcp-bodies.jsonl), one per line."""
    path = os.path.join(OUT, "mcp-bodies.jsonl")
    with open(path, "w") as f:
        f.writelines(mcp_body(i) + "\n" for i in range(1, MCP_BODIES + 1))
    return path


# ---------------------------------------------------------------- Envoy configurations


def load_variants():
    with open(VARIANTS_FILE) as f:
        known = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    unknown = [v for v in VARIANTS if v not in known]
    if unknown:
        sys.exit(f"bench: unknown variant(s) {unknown}; known: {sorted(known)} ({VARIANTS_FILE})")
    return {name: known[name] for name in VARIANTS}


def merge(base, extra):
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


def wasm_provider(alg, jwks, variant):
    """The policy's one provider, the jwt_authn provider of bench/envoy/native*.yaml."""
    provider = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "local_jwks": {"inline_string": jwks},
        "algorithms": [alg],
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
        "clock_skew_seconds": 60,
        "max_lifetime_seconds": MAX_LIFETIME,
        "require_expiration": True,
    }
    return merge(provider, variant.get("provider", {}))


def gateway_route(i):
    """Route `i` of a gateway-like policy: the eight shapes of the core's criterion `routes` group
    (literal paths, templates, `*` and `**`, methods, hosts), public, none of them reaching
    `GET /orders/42`."""
    shapes = [
        {"path": f"/svc{i}/items", "methods": ["GET"]},
        {"path": f"/svc{i}/items/{{id}}", "methods": ["GET", "PUT"]},
        {"path": f"/api/v1/svc{i}/{{tenant}}/orders/{{id}}"},
        {"path": f"/static/svc{i}/**"},
        {"path": f"/svc{i}/*/status", "methods": ["POST"], "hosts": ["*.example.com"]},
        {"path": f"/api/v2/{{tenant}}/svc{i}", "hosts": [f"svc{i}.example.com"]},
        {"path": f"/svc{i}", "methods": ["DELETE"], "hosts": ["api.example.com:8443"]},
        {"path": f"/svc{i}/{{a}}/{{b}}/**", "methods": ["GET", "POST"]},
    ]
    return {"action": f"r{i}", "match": shapes[i % len(shapes)], "public": True}


def wasm_policy(alg, jwks, variant):
    """The workload-authz policy equivalent to bench/envoy/native.yaml. A variant with `routes`: N
    gets N routes, the benchmark's own one first (`route_at`: "first") or last (the default), the
    others gateway-like (`gateway_route`)."""
    orders = {
        "action": "orders.read",
        "match": {"path": "/orders/{id}", "methods": ["GET"]},
        "require": {"providers": ["mesh"], "scopes": [SCOPE]},
    }
    routes = [gateway_route(i) for i in range(max(int(variant.get("routes", 1)) - 1, 0))]
    routes.insert(0 if variant.get("route_at") == "first" else len(routes), orders)
    policy = {
        "realm": "bench",
        "providers": {"mesh": wasm_provider(alg, jwks, variant)},
        "routes": routes,
    }
    return merge(policy, variant.get("policy", {}))


def wasm_mcp_policy(alg, jwks, variant):
    """The workload-authz policy of the mcp workload, equivalent to bench/envoy/native-mcp.yaml:
    on POST /mcp a valid token, and in the body a `tools/call` of MCP_TOOL, which needs MCP_SCOPE.
    Any other tool (`tool_not_allowed`) or method (`mcp_method_not_allowed`) is denied."""
    policy = {
        "realm": "bench",
        "providers": {"mesh": wasm_provider(alg, jwks, variant)},
        "routes": [{
            "action": "crm.mcp",
            "match": {"path": MCP_PATH, "methods": ["POST"]},
            "require": {"providers": ["mesh"]},
            "mcp": {
                "resource": "https://crm.bench.example/mcp",
                "max_body_bytes": MCP_MAX_BODY,
                "tools": {MCP_TOOL: {"scopes": [MCP_SCOPE]}},
            },
        }],
    }
    return merge(policy, variant.get("policy", {}))


def indent(text, spaces):
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else line for line in text.splitlines())


def read(path):
    with open(path) as f:
        return f.read()


def fill(template, values):
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", template)
    if left:
        raise ValueError(f"unfilled placeholders {left}")
    return template


def bootstrap(name, variant, alg, port, admin_port, family):
    """Writes the Envoy bootstrap of one variant for one algorithm and workload family ("orders":
    reuse, fresh, deny; "mcp": the mcp workload); returns its path."""
    jwks = read(os.path.join(POOL_DIR, alg, "jwks.json")).strip()
    kind = variant["kind"]
    mcp = family == "mcp"
    suffix = "-mcp" if mcp else ""
    if kind == "baseline":
        filters = ""
    elif kind == "native":
        text = read(os.path.join(BENCH, "envoy", f"native{suffix}.yaml"))
        size = int(variant.get("jwt_cache_size", 1024))
        if size <= 0:  # jwt_authn caches only when jwt_cache_config is present
            text = "\n".join(l for l in text.splitlines() if "jwt_cache_config" not in l)
        values = {
            "ISSUER": json.dumps(ISSUER), "AUDIENCE": json.dumps(AUDIENCE),
            "JWKS": json.dumps(jwks), "SCOPE": MCP_SCOPE if mcp else SCOPE,
            "JWT_CACHE_SIZE": str(size),
        }
        if mcp:
            values["MAX_BODY"] = str(MCP_MAX_BODY)
        filters = fill(text, values)
    elif kind == "wasm":
        wasm = variant["wasm_snapshot"]
        config = variant.get("configuration")  # verbatim, e.g. for bench/noop-filter
        if config is None:
            policy = wasm_mcp_policy if mcp else wasm_policy
            config = json.dumps(policy(alg, jwks, variant))
        filters = fill(read(os.path.join(BENCH, "envoy", f"workload-authz{suffix}.yaml")), {
            "WASM": wasm, "POLICY": json.dumps(config),
        })
    else:
        raise ValueError(f"variant {name}: unknown kind {kind}")
    if mcp:  # the whole request before the direct response, for every configuration alike
        filters += "\n" + fill(read(os.path.join(BENCH, "envoy", "buffer-mcp.yaml")),
                                {"MAX_BODY": str(MCP_MAX_BODY)})
    text = fill(read(os.path.join(BENCH, "envoy", "bootstrap.yaml")), {
        "ADMIN_PORT": str(admin_port), "PORT": str(port), "FILTERS": indent(filters, 10),
    })
    path = os.path.join(OUT, "envoy", f"{alg}-{name}{suffix}.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Envoy:
    def __init__(self, name, variant, alg, family="orders"):
        self.name, self.variant, self.alg = name, variant, alg
        self.port, self.admin_port = free_port(), free_port()
        self.config = bootstrap(name, variant, alg, self.port, self.admin_port, family)
        self.log_path = self.config.replace(".yaml", ".log")
        self.proc = subprocess.Popen(
            ["taskset", "-c", ENVOY_CPU, ENVOY_BIN, "-c", self.config, "--concurrency", "1",
             "--disable-hot-restart", "-l", "warning", "--log-path", self.log_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"Envoy ({alg} {name}) exited with {self.proc.returncode}; "
                    f"log {self.log_path}:\n{read(self.log_path)[-3000:]}")
            try:
                if self.admin("/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Envoy ({alg} {name}) not ready after 60 s; see {self.log_path}")

    def admin(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def stats(self, pattern=None):
        """Counters and gauges (those matching the regex `pattern`, else all), as a dict.
        Filter when measuring: a full dump costs Envoy milliseconds of CPU."""
        query = "&filter=" + urllib.parse.quote(pattern) if pattern else ""
        _, body = self.admin(f"/stats?format=json{query}")
        return {s["name"]: s["value"] for s in json.loads(body)["stats"] if "value" in s}

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def wasm_memories(self):
        """The V8 Wasm linear memories of this Envoy, as [(size KiB, resident KiB)], from
        /proc/PID/smaps: V8 maps each Wasm memory as its committed read-write pages immediately
        followed by an inaccessible guard reservation of several GiB (Envoy's admin stats have no
        memory figure per Wasm VM). One per VM: the main thread's and each worker's."""
        vmas = []  # [start, end, perms, pathname, rss]
        with open(f"/proc/{self.proc.pid}/smaps") as f:
            for line in f:
                head = line.split()
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    lo, hi = (int(x, 16) for x in head[0].split("-"))
                    vmas.append([lo, hi, head[1], head[5] if len(head) > 5 else "", 0])
                elif head and head[0] == "Rss:" and vmas:
                    vmas[-1][4] = int(head[1])
        found = []
        for prev, vma in zip(vmas, vmas[1:]):
            if (vma[2] == "---p" and vma[1] - vma[0] >= 4 << 30 and prev[1] == vma[0]
                    and prev[2] == "rw-p" and not prev[3]):
                found.append(((prev[1] - prev[0]) // 1024, prev[4]))
        return found

    def request(self, token, body=None):
        """GET /orders/42, or with a `body`, an MCP POST /mcp (headers as pool.lua's); the
        status."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = dict(extra_headers())
            headers.update({"Host": "orders.bench"} if body is None
                           else dict(MCP_HEADERS, Host="crm.bench"))
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            if body is None:
                conn.request("GET", PATH, headers=headers)
            else:  # bytes: http.client sends the headers and the body in one write
                conn.request("POST", MCP_PATH, body=body.encode(), headers=headers)
            r = conn.getresponse()
            r.read()
            return r.status
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def expected_status(variant, workload):
    """Baseline and the no-op filters let everything through."""
    if variant["kind"] == "baseline" or "configuration" in variant:
        return 200
    return EXPECTED[workload]


def sanity_check(envoy, workloads):
    """One request per workload and one without a token, each with the status we expect."""
    problems = []
    for workload in workloads:
        want = expected_status(envoy.variant, workload)
        got = envoy.request(first_token(envoy.alg, workload))
        if got != want:
            problems.append(f"{workload}: got {got}, expected {want}")
    if envoy.variant["kind"] != "baseline" and "configuration" not in envoy.variant:
        got = envoy.request(None)
        if got != 401:
            problems.append(f"no token: got {got}, expected 401")
    return problems


def mcp_sanity_check(envoy):
    """The MCP Envoy's answers to the allowed call and to calls it must refuse (baseline: 200 to
    all): [(case, got, expected)]."""
    alg = envoy.alg
    tools_list = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}})
    # A duplicate member, which readers resolve differently: both configurations refuse it.
    twice = mcp_body(6).replace('"name":', '"name":"delete_customer","name":', 1)
    cases = [
        (f"tools/call {MCP_TOOL}, token with {MCP_SCOPE}",
         first_token(alg, "mcp"), mcp_body(1), 200),
        ("tools/call delete_customer (a tool not allowed)",
         first_token(alg, "mcp"), mcp_body(2, tool="delete_customer"), 403),
        ("tools/list (a method not allowed)", first_token(alg, "mcp"), tools_list, 403),
        ("tools/call with `name` twice, delete_customer then search_customers",
         first_token(alg, "mcp"), twice, 400),
        (f"tools/call {MCP_TOOL}, token without {MCP_SCOPE} (reuse pool)",
         first_token(alg, "reuse"), mcp_body(3), 403),
        (f"tools/call {MCP_TOOL}, tampered signature (deny pool)",
         first_token(alg, "deny"), mcp_body(4), 401),
        (f"tools/call {MCP_TOOL}, no token", None, mcp_body(5), 401),
    ]
    baseline = envoy.variant["kind"] == "baseline"
    return [(case, envoy.request(token, body), 200 if baseline else want)
            for case, token, body, want in cases]


# ---------------------------------------------------------------- measuring


def run_wrk(envoy, workload, seconds, offset):
    mcp = workload == "mcp"
    cmd = ["taskset", "-c", WRK_CPU, "wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS),
           "-d", f"{seconds}s", "--timeout", "10s", "-s", os.path.join(BENCH, "pool.lua"),
           f"http://127.0.0.1:{envoy.port}{MCP_PATH if mcp else PATH}", "--",
           pool_file(envoy.alg, workload), str(offset), str(WRK_THREADS),
           os.path.join(OUT, "mcp-bodies.jsonl") if mcp else "-",
           os.path.join(OUT, "extra-headers.txt")]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    raise RuntimeError(f"no WRK_JSON line in wrk output:\n{out}")


RQ_STATS = r"^http\.bench\.downstream_rq_(completed|[2-5]xx)$"


def measure(envoy, workload, offset, ours):
    builds = other_builds(ours)
    s0, c0 = envoy.stats(RQ_STATS), envoy.cpu_seconds()
    wrk = run_wrk(envoy, workload, SECONDS, offset)
    c1, s1 = envoy.cpu_seconds(), envoy.stats(RQ_STATS)

    def delta(stat):
        return s1.get(f"http.bench.{stat}", 0) - s0.get(f"http.bench.{stat}", 0)

    completed = delta("downstream_rq_completed")
    by_class = {c: delta(f"downstream_rq_{c}") for c in ("2xx", "3xx", "4xx", "5xx")}
    want = expected_status(envoy.variant, workload)
    wrong = completed - by_class[f"{want // 100}xx"]
    cpu = c1 - c0
    return {
        "requests_wrk": wrk["requests"],
        "requests_envoy": completed,
        "by_class": by_class,
        "unexpected_status": wrong,
        "wrk_non_2xx_3xx": wrk["non_2xx_3xx"],
        "socket_errors": wrk["connect_errors"] + wrk["read_errors"] + wrk["write_errors"]
        + wrk["timeouts"],
        "rps": wrk["requests"] / (wrk["duration_us"] / 1e6),
        "p50_ms": wrk["p50_us"] / 1000,
        "p99_ms": wrk["p99_us"] / 1000,
        "cpu_s": cpu,
        "cpu_us_per_req": cpu * 1e6 / completed if completed else None,
        "loadavg": loadavg(),
        "other_processes": sorted(set(builds)),
        "wrapped_pool": (wrk["requests"] > POOL_SIZE and workload == "fresh"
                         and envoy.variant["kind"] != "baseline"),
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def families():
    """The workloads grouped by the Envoys that serve them, in BENCH_WORKLOADS order: "orders"
    (reuse, fresh, deny: GET /orders/42) and "mcp" (its own configurations)."""
    out = {}
    for workload in WORKLOADS:
        out.setdefault("mcp" if workload == "mcp" else "orders", []).append(workload)
    return out


def run_alg(alg, variants, results, memory):
    for family, workloads in families().items():
        chosen = variants
        if family == "mcp":
            # The no-op filters do not read the body: nothing to compare on a tool call.
            chosen = {n: v for n, v in variants.items() if "configuration" not in v}
            skipped = [n for n in variants if n not in chosen]
            if skipped:
                log(f"{alg} mcp: skipping {', '.join(skipped)} (a filter without a policy)")
        run_family(alg, family, workloads, chosen, results, memory)


def check_mcp(alg, envoys, results):
    """The MCP sanity checks of every Envoy, logged and recorded; exits on any failure."""
    failed = []
    for e in envoys:
        for case, got, want in mcp_sanity_check(e):
            ok = got == want
            log(f"{alg} mcp sanity {e.name:16} {'ok  ' if ok else 'FAIL'} {got} "
                f"(expected {want}): {case}")
            results.setdefault("mcp_sanity", []).append(
                {"alg": alg, "variant": e.name, "case": case, "status": got, "expected": want})
            if not ok:
                failed.append(f"{e.name}: {case}: got {got}, expected {want}")
    if failed:
        sys.exit("bench: MCP SANITY CHECK FAILED, nothing measured (configurations in "
                 f"{OUT}/envoy/):\n  " + "\n  ".join(failed))


def run_family(alg, family, workloads, variants, results, memory):
    log(f"{alg}: starting {', '.join(variants)}" + (" (mcp)" if family == "mcp" else ""))
    envoys = []
    try:
        for name, variant in variants.items():
            envoys.append(Envoy(name, variant, alg, family))
        if family == "mcp":
            check_mcp(alg, envoys, results)
        else:
            for e in envoys:
                problems = sanity_check(e, workloads)
                if problems:
                    log(f"{alg} {e.name}: SANITY CHECK FAILED: {'; '.join(problems)}")
                    results.setdefault("sanity_failures", []).append(
                        {"alg": alg, "variant": e.name, "problems": problems})
        for workload in workloads:
            for e in envoys:
                run_wrk(e, workload, WARMUP, 0)
            reps = {e.name: [] for e in envoys}
            for rep in range(REPEAT):
                for e in envoys:
                    # Each repetition starts at another place of the pool.
                    m = measure(e, workload, (rep + 1) * 5003, {x.proc.pid for x in envoys})
                    reps[e.name].append(m)
                    if workload == "fresh":
                        memory.append({
                            "alg": alg, "variant": e.name, "after_fresh_run": rep + 1,
                            "rss_kib": e.rss_kib(), "wasm_memories_kib": e.wasm_memories(),
                            "envoy_stats": {k: v for k, v in e.stats().items()
                                            if "wasm" in k or k.startswith("server.memory")},
                        })
                    log(f"{alg} {workload:5} {e.name:16} rep {rep + 1}: "
                        f"{m['rps']:8.0f} req/s  {m['cpu_us_per_req'] or 0:8.1f} us CPU/req  "
                        f"p99 {m['p99_ms']:.2f} ms  unexpected {m['unexpected_status']}")
            for name, runs in reps.items():
                results["cells"].append({
                    "alg": alg, "workload": workload, "variant": name,
                    "kind": variants[name]["kind"],
                    "rps": median([r["rps"] for r in runs]),
                    "p50_ms": median([r["p50_ms"] for r in runs]),
                    "p99_ms": median([r["p99_ms"] for r in runs]),
                    "cpu_us_per_req": median([r["cpu_us_per_req"] for r in runs]),
                    "unexpected_status": sum(r["unexpected_status"] for r in runs),
                    "socket_errors": sum(r["socket_errors"] for r in runs),
                    "wrapped_pool": any(r["wrapped_pool"] for r in runs),
                    "runs": runs,
                })
    finally:
        for e in envoys:
            e.stop()


def derive(results, variants):
    """Authorization cost (minus baseline) and the ratio of each wasm variant to the reference."""
    cells = results["cells"]

    def find(alg, workload, variant):
        return next((c for c in cells if (c["alg"], c["workload"], c["variant"])
                     == (alg, workload, variant)), None)

    base_name = next((n for n, v in variants.items() if v["kind"] == "baseline"), None)
    for c in cells:
        base = find(c["alg"], c["workload"], base_name) if base_name else None
        c["authz_cost_us"] = (c["cpu_us_per_req"] - base["cpu_us_per_req"]
                              if base and c["cpu_us_per_req"] is not None else None)
        # Noise of a cost: the spread of this cell's and the baseline's repetitions.
        spread = [max(r) - min(r) for r in (
            [x["cpu_us_per_req"] for x in c["runs"] if x["cpu_us_per_req"] is not None],
            [x["cpu_us_per_req"] for x in (base or {}).get("runs", [])
             if x["cpu_us_per_req"] is not None]) if r]
        c["noise_us"] = sum(spread) if spread else None
    for c in cells:
        ref = find(c["alg"], c["workload"], REFERENCE)
        c["ratio_vs_reference"] = None
        c["ratio_note"] = None
        if c["kind"] != "wasm" or not ref or c["authz_cost_us"] is None:
            continue
        if ref["authz_cost_us"] is None:
            continue
        if ref["authz_cost_us"] <= 1.0:
            # The reference costs nothing measurable: no ratio.
            c["ratio_note"] = f"{REFERENCE} ~0"
            continue
        if ref["authz_cost_us"] <= (ref["noise_us"] or 0):
            c["ratio_note"] = f"{REFERENCE}'s cost is within its noise"
        c["ratio_vs_reference"] = c["authz_cost_us"] / ref["authz_cost_us"]


# ---------------------------------------------------------------- report


def fmt(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"


WASM_TARGET_BYTES = 600_000


def targets(results):
    """The issues' targets (#15: reuse <= 1.0, fresh <= 1.1, deny no slower than fresh, memory
    flat; #14: an MCP tool call no more than native's cost), for each wasm variant:
    (text, met or None when unknown)."""
    cells, out = results["cells"], []

    def find(alg, workload, variant):
        return next((c for c in cells if (c["alg"], c["workload"], c["variant"])
                     == (alg, workload, variant)), None)

    size = results["machine"]["wasm_bytes"]
    out.append((f".wasm {size:,} bytes < {WASM_TARGET_BYTES:,}", size < WASM_TARGET_BYTES))
    wasm_variants = [n for n, v in results["settings"]["variants"].items()
                     if v["kind"] == "wasm" and "configuration" not in v]
    for name in wasm_variants:
        for alg in ALGS:
            for workload, limit in (("reuse", 1.0), ("fresh", 1.1), ("mcp", 1.0)):
                c = find(alg, workload, name)
                if not c:
                    continue
                if c["ratio_vs_reference"] is not None:
                    r = c["ratio_vs_reference"]
                    note = f" ({c['ratio_note']})" if c["ratio_note"] else ""
                    out.append((f"{name} {alg} {workload}: ratio {r:.2f} <= {limit}{note}",
                                r <= limit))
                elif c["ratio_note"]:
                    out.append((f"{name} {alg} {workload}: cost {fmt(c['authz_cost_us'])} us "
                                f"while {c['ratio_note']} (target ratio <= {limit})",
                                (c["authz_cost_us"] or 0) <= 1.0))
            deny, fresh = find(alg, "deny", name), find(alg, "fresh", name)
            if deny and fresh and deny["authz_cost_us"] is not None \
                    and fresh["authz_cost_us"] is not None:
                # "No slower" within the noise of the two cells.
                slack = (deny["noise_us"] or 0) + (fresh["noise_us"] or 0)
                out.append((f"{name} {alg} deny {fmt(deny['authz_cost_us'])} us <= fresh "
                            f"{fmt(fresh['authz_cost_us'])} us (+ noise {fmt(slack)})",
                            deny["authz_cost_us"] <= fresh["authz_cost_us"] + slack))
        mems = [m for m in results["memory"] if m["variant"] == name]
        for alg in ALGS:
            runs = [m for m in mems if m["alg"] == alg]
            if len(runs) >= 2:
                first = sum(size for size, _ in runs[0]["wasm_memories_kib"])
                last = sum(size for size, _ in runs[-1]["wasm_memories_kib"])
                out.append((f"{name} {alg} Wasm memory after fresh run 1 / {len(runs)}: "
                            f"{first:,} / {last:,} KiB (flat)", last <= first))
    return out


def report_md(results):
    m = results["machine"]
    lines = [
        "# workload-authz benchmark",
        "",
        f"- date: {results['date']}",
        f"- machine: {m['nproc']} CPUs ({m['cpu_model']}), Envoy {m['envoy']} "
        f"(`--concurrency 1` on CPU {ENVOY_CPU}), wrk on CPU {WRK_CPU}",
        f"- workload-authz .wasm: {m['wasm_bytes']:,} bytes ({m['wasm_bytes'] / 1024:.0f} KiB), "
        f"built from {m['git']}",
        f"- load: {SECONDS} s x {REPEAT} runs per cell (median), {WARMUP} s warm-up, "
        f"{CONNECTIONS} connections, {WRK_THREADS} wrk thread(s), "
        f"fresh pool {POOL_SIZE:,} tokens per algorithm, {CLAIMS} claims, {REQUEST_HEADERS} "
        "request headers",
        f"- load average before / after: {results['loadavg_before']} / {results['loadavg_after']}; "
        f"other build processes seen during runs: {', '.join(results['other_processes']) or 'none'}",
        "",
        "CPU/req: Envoy user+sys CPU time per request served (median of the runs). authz cost: "
        "CPU/req minus the baseline's for the same algorithm and workload, ± the spread (max - "
        "min) of this cell's runs plus the baseline's. ratio: authz cost / "
        f"{REFERENCE}'s.",
        "",
        "| alg | workload | configuration | req/s | p50 ms | p99 ms | CPU/req µs | authz cost µs "
        f"| ratio vs {REFERENCE} | statuses |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for c in results["cells"]:
        status = "ok" if c["unexpected_status"] == 0 and c["socket_errors"] == 0 else (
            f"{c['unexpected_status']} unexpected, {c['socket_errors']} socket errors")
        if c["wrapped_pool"]:
            status += " (pool wrapped)"
        cost = fmt(c["authz_cost_us"])
        if c["kind"] != "baseline" and c["noise_us"] is not None:
            cost += f" ± {fmt(c['noise_us'])}"
        ratio = fmt(c["ratio_vs_reference"], 2)
        if c["ratio_note"]:
            ratio = f"{ratio} ({c['ratio_note']})" if c["ratio_vs_reference"] else c["ratio_note"]
        lines.append(
            f"| {c['alg']} | {c['workload']} | {c['variant']} | {fmt(c['rps'], 0)} "
            f"| {fmt(c['p50_ms'], 2)} | {fmt(c['p99_ms'], 2)} | {fmt(c['cpu_us_per_req'])} "
            f"| {cost} | {ratio} | {status} |")
    lines += ["", f"## Targets of issues 14 and 15 (ratios against {REFERENCE})", ""]
    for text, met in targets(results):
        mark = {True: "met", False: "NOT met", None: "?"}[met]
        lines.append(f"- {mark}: {text}")
    if results["memory"]:
        lines += [
            "",
            "## Memory after each fresh run",
            "",
            "Wasm memories: each V8 Wasm VM's linear memory, size / resident KiB, read from "
            "/proc/PID/smaps (Envoy's admin stats have no memory figure per Wasm VM). With "
            "`--concurrency 1` Envoy holds three Wasm VMs of the plugin (presumably the base VM "
            "it clones from, the main thread's and the worker's). RSS: the whole Envoy process.",
            "",
            "| alg | configuration | after fresh run | Wasm memories KiB (size / resident) "
            "| Envoy RSS KiB |",
            "| --- | --- | ---: | --- | ---: |",
        ]
        for mem in results["memory"]:
            vms = ", ".join(f"{size:,} / {rss:,}" for size, rss in mem["wasm_memories_kib"])
            lines.append(f"| {mem['alg']} | {mem['variant']} | {mem['after_fresh_run']} "
                         f"| {vms or '-'} | {mem['rss_kib']:,} |")
    if results.get("mcp_sanity"):
        lines += [
            "",
            "## The mcp workload",
            "",
            f"`POST {MCP_PATH}`, a {MCP_BODY_BYTES}-byte JSON-RPC `tools/call` of `{MCP_TOOL}` "
            f"(content-type application/json), 16 reused tokens with the scope `{MCP_SCOPE}`, in "
            "Envoys of its own (bench/envoy/*-mcp.yaml). native: Envoy's MCP filter "
            "(`envoy.filters.http.mcp`), jwt_authn and RBAC requiring a valid token, POST /mcp, "
            f"method `tools/call`, `params.name` `{MCP_TOOL}` (the MCP filter's dynamic metadata) "
            f"and the scope `{MCP_SCOPE}`. workload-authz: a route POST /mcp whose `mcp` block "
            f"declares only the tool `{MCP_TOOL}`, requiring `{MCP_SCOPE}`. Each (baseline too) "
            "ends with Envoy's buffer filter, so the direct response waits for the whole request. "
            "Checked before measuring:",
            "",
            "| alg | configuration | request | status | expected |",
            "| --- | --- | --- | ---: | ---: |",
        ]
        lines += [f"| {c['alg']} | {c['variant']} | {c['case']} | {c['status']} "
                  f"| {c['expected']} |" for c in results["mcp_sanity"]]
    if results.get("sanity_failures"):
        lines += ["", "## Sanity check failures", ""]
        lines += [f"- {f['alg']} {f['variant']}: {'; '.join(f['problems'])}"
                  for f in results["sanity_failures"]]
    return "\n".join(lines) + "\n"


def snapshot_wasm(variants):
    """Copies each .wasm measured into BENCH_OUT/wasm/: a rebuild during the run (the tree is
    shared) must not change what the later Envoys load."""
    os.makedirs(os.path.join(OUT, "wasm"), exist_ok=True)
    for name, variant in variants.items():
        if variant["kind"] == "wasm":
            source = os.path.abspath(os.path.join(ROOT, variant.get("wasm", WASM)))
            copy = os.path.join(OUT, "wasm", f"{name}.wasm")
            shutil.copyfile(source, copy)
            variant["wasm_source"], variant["wasm_snapshot"] = source, copy
            variant["wasm_bytes"] = os.path.getsize(copy)


def main():
    # A SIGTERM (timeout, Ctrl-C from make) unwinds, so that every Envoy started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: `{tool}` is not installed")
    unknown = [w for w in WORKLOADS if w not in EXPECTED]
    if unknown:
        sys.exit(f"bench: unknown workload(s) {unknown}; known: {sorted(EXPECTED)}")
    variants = load_variants()
    os.makedirs(OUT, exist_ok=True)
    snapshot_wasm(variants)
    ensure_pool()
    extra_headers_file()
    if "mcp" in WORKLOADS:
        mcp_bodies_file()
    started = time.time()
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "nproc": os.cpu_count(), "cpu_model": cpu_model(), "envoy": envoy_version(),
            "wasm": WASM, "wasm_bytes": os.path.getsize(WASM),
            "git": git_describe(),
        },
        "settings": {
            "seconds": SECONDS, "warmup": WARMUP, "repeat": REPEAT, "connections": CONNECTIONS,
            "wrk_threads": WRK_THREADS, "pool": POOL_SIZE, "envoy_cpu": ENVOY_CPU,
            "wrk_cpu": WRK_CPU, "reference": REFERENCE, "variants": variants,
        },
        "loadavg_before": loadavg(),
        "cells": [],
        "memory": [],
    }
    for alg in ALGS:
        run_alg(alg, variants, results, results["memory"])
    derive(results, variants)
    results["loadavg_after"] = loadavg()
    results["other_processes"] = sorted(
        {p for c in results["cells"] for r in c["runs"] for p in r["other_processes"]})
    results["elapsed_s"] = round(time.time() - started, 1)
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(results, f, indent=2)
    md = report_md(results)
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"done in {results['elapsed_s']} s: {OUT}/report.md, {OUT}/report.json")


if __name__ == "__main__":
    main()
