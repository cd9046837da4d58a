#!/usr/bin/env python3
"""`make bench`: Envoy with no auth filter, with jwt_authn + RBAC, and with workload-authz, under the
same wrk load on 127.0.0.1, per algorithm and workload.

For each algorithm every configuration ("variant") runs in its own Envoy (`--concurrency 1`, pinned
with taskset to BENCH_ENVOY_CPU); wrk is pinned to BENCH_WRK_CPU. Per workload, each variant is
warmed up, then the variants are measured in turn, BENCH_REPEAT times (interleaved, so a slow
moment of the machine hits every variant alike); each cell reports the median of its repetitions.

Envoy CPU time per request = (utime + stime of the Envoy process after - before) / requests Envoy
completed in between (its `downstream_rq_completed` counter): robust when the machine is shared.

Workloads: `reuse` (BENCH_REUSE_TOKENS [16] valid tokens in turn), `fresh` (a new token per
request), `deny` (tampered signatures, 401), all `GET /orders/42`; and, only when BENCH_WORKLOADS
names them:
- `mcp`: an MCP tool call, `POST /mcp` with a 1 KiB JSON-RPC `tools/call` of `search_customers`
  and 16 reused tokens with the scope crm:read. `mcp` runs in Envoys of its own
  (bench/envoy/*-mcp.yaml: the MCP policy, and in every configuration a buffer filter before the
  router). Before measuring, every `mcp` Envoy must allow the call and refuse another tool,
  another method, a duplicate `name`, a token without the scope, a bad token and no token
  (baseline: 200 to all).
- `dpop` and `bearer` (e.g. BENCH_WORKLOADS=dpop,bearer): what DPoP (RFC 9449) costs against a plain
  bearer token. `dpop`: `GET /orders/42` with `Authorization: DPoP <token>`, BENCH_REUSE_TOKENS
  reused tokens bound (`cnf.jkt`) to the algorithm's DPoP key, and a fresh proof per request (own
  `jti`, `htm` GET, `htu` http://orders.bench/orders/42 (https:// with BENCH_HEADERS=client: Envoy
  takes X-Forwarded-Proto as the scheme), `ath`, `iat` when minted; signed with a key of the row's
  algorithm). `bearer`: the reuse tokens as `Authorization: Bearer`. The workload-authz policy of
  both (wasm_dpop_policy) is wasm_policy()'s with the provider's `dpop` block (`iat_window_seconds`
  600) and `limits.dpop_replay_entries` 1,000,000, the `dpop` one with `require.dpop` on the route
  as well: each wasm variant runs in two Envoys, one per policy. Native (jwt_authn + RBAC) cannot
  check a proof and runs `bearer` only; the baseline runs both. A proof is accepted once, so the
  proofs are minted just before the runs that send them (bench/src/bin/dpop-proofs.rs, DPOP_PROOFS),
  as many as the highest rate measured on that Envoy (the warm-up's first) allows x 1.5 (1.25 once a
  run was measured): once for all the runs of the workload when they end within the proofs' 600 s
  window, else per run. pool.lua sends each proof at most once; a run whose proofs run out stops
  sending and is flagged invalid ("proofs ran out"), never a replay. Each dpop run records the
  replay cache it found and left (accepted proofs within their window), to show whether the cost per
  request grows with it. Before measuring, a fresh proof must be served, the same proof again
  refused (dpop_replayed), a proof for another URL refused (dpop_url_mismatch), the bound token as
  Bearer refused (dpop_bound_token_as_bearer; native serves it: it does not know `cnf.jkt`), a plain
  token on the DPoP route refused (dpop_proof_missing) and served on the bearer one (baseline: 200
  to all). The report's "DPoP against Bearer" section gives, per algorithm, workload-authz's dpop
  cost, its bearer cost, what DPoP adds, the ratios dpop / bearer and dpop / native bearer with the
  range over the repetitions, and each dpop run with its replay cache.
The mcp and dpop families run in Envoys of their own, started after the others' are stopped, so
adding them changes nothing in the other workloads' figures. A failed sanity check of either
stops the benchmark with status 1.

Writes BENCH_OUT/report.md and BENCH_OUT/report.json. Settings (environment):
  BENCH_SECONDS=8 BENCH_WARMUP=2 BENCH_REPEAT=5 BENCH_CONNECTIONS=16 BENCH_WRK_THREADS=1
  BENCH_ALGS=ES256,RS256,EdDSA BENCH_WORKLOADS=reuse,fresh,deny (also: mcp, dpop, bearer)
  BENCH_VARIANTS=baseline,native,workload-authz BENCH_REFERENCE=native
  BENCH_VARIANTS_FILE=bench/variants.json BENCH_POOL=20000 BENCH_REUSE_TOKENS=16
  BENCH_ENVOY_CPU=0 BENCH_WRK_CPU=1
  BENCH_CLAIMS=minimal (or rich) BENCH_HEADERS=minimal (or client)
  BENCH_OUT=target/bench BENCH_POOL_DIR=target/bench/pool ENVOY_BIN WASM MINT_POOL DPOP_PROOFS
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
DPOP_PROOFS = env("DPOP_PROOFS", os.path.join(ROOT, "target", "bench-tools", "dpop-proofs"))
POOL_DIR = os.path.abspath(env("BENCH_POOL_DIR", os.path.join(ROOT, "target", "bench", "pool")))

ISSUER = "https://issuer.bench.example"
AUDIENCE = "orders"
SCOPE = "orders:read"  # required; tokens carry "orders:read orders:write"
MAX_LIFETIME = 86400
TOKEN_TTL = 4 * 3600
PATH = "/orders/42"
# A workload's expected status: valid tokens pass, tampered signatures get 401 (baseline: 200).
EXPECTED = {"reuse": 200, "fresh": 200, "deny": 401, "mcp": 200, "dpop": 200, "bearer": 200}
# The token pool file of each workload (bench/src/bin/mint-pool.rs): `bearer` sends the reuse
# tokens, `dpop` the same number of tokens bound to the algorithm's DPoP key.
POOL_OF = {"bearer": "reuse"}
# Whether the dpop family runs (its sanity check mints proofs and sends bound tokens).
DPOP_FAMILY = bool({"dpop", "bearer"} & set(WORKLOADS))
# The `mcp` workload: tool calls on the MCP route of bench/envoy/*-mcp.yaml.
MCP_PATH = "/mcp"
MCP_SCOPE = "crm:read"  # required by the tool; the mcp pool's tokens carry exactly this scope
MCP_TOOL = "search_customers"
MCP_BODY_BYTES = 1024  # each request's JSON-RPC body, padded to exactly this size
MCP_MAX_BODY = 8192  # both filters' body limit (the native MCP filter's default)
MCP_BODIES = 64  # distinct bodies (ids 1..64) wrk sends in turn, each with the next token
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
# The dpop workload: `GET /orders/42` with `Authorization: DPoP <token>` and a fresh proof. wrk
# and the sanity check send `Host: orders.bench` to the plaintext listener, so the filter builds
# the request URI from `:scheme` (http; https with BENCH_HEADERS=client, whose
# `X-Forwarded-Proto: https` Envoy takes as the scheme) and `:authority`: the proofs' `htu`
# (see dpop_htu).
DPOP_HOST = "orders.bench"
# The policy of both dpop and bearer: proofs stay valid (and remembered) for the longest window
# the filter accepts, in a replay cache as large as it allows, so that every proof of an
# algorithm's runs fits and none expires between its runs.
DPOP_WINDOW = 600  # dpop.iat_window_seconds (at most 600)
DPOP_REPLAY_ENTRIES = 1_000_000  # limits.dpop_replay_entries (at most 1,000,000)
# Proofs minted for a run: the highest dpop rate measured on that Envoy (before any, for the
# warm-up, DPOP_WARM_RATE) x its seconds x the margin, plus a few. A run whose proofs run out
# stops sending (pool.lua) and is flagged; no proof is ever sent twice to a filter.
DPOP_WARM_RATE = 10_000  # req/s
DPOP_MARGIN_WARM, DPOP_MARGIN = 1.5, 1.25  # after the warm-up only / after a measured run
DPOP_EXTRA_PROOFS = 500
DPOP_SAFETY_S = 60  # a batch is used only while its proofs have this long left in the window
DPOP_BASELINE_PROOFS = 4096  # the baseline checks nothing: it sends these in turn
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
            # Nor dpop.txt and dpop-key.pem before the dpop workload.
            and (not DPOP_FAMILY or m.get("dpop", 0) == REUSE_TOKENS)
        )
        if good:
            log(f"reusing token pools in {POOL_DIR} (valid until {m['exp']})")
            return m
    except (OSError, ValueError, KeyError):
        pass
    log(f"minting token pools ({POOL_SIZE} fresh tokens per algorithm) into {POOL_DIR}")
    subprocess.run(
        [MINT_POOL, "--out", POOL_DIR, "--algs", ",".join(ALGS), "--fresh", str(POOL_SIZE),
         "--reuse", str(REUSE_TOKENS), "--dpop", str(REUSE_TOKENS), "--ttl", str(TOKEN_TTL),
         "--iss", ISSUER, "--aud", AUDIENCE,
         "--scope", "orders:read orders:write", "--mcp-scope", MCP_SCOPE, "--claims", CLAIMS],
        check=True,
    )
    with open(manifest_path) as f:
        return json.load(f)


def pool_file(alg, workload):
    return os.path.join(POOL_DIR, alg, f"{POOL_OF.get(workload, workload)}.txt")


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


def wasm_dpop_policy(alg, jwks, variant, flavor):
    """The workload-authz policy of the dpop workload (`flavor` "dpop") and of the bearer one
    ("bearer"): wasm_policy()'s, whose provider accepts DPoP proofs for DPOP_WINDOW seconds with
    room for DPOP_REPLAY_ENTRIES of them (unless the variant sets its own), the orders route
    requiring DPoP (`require.dpop`) in the dpop flavor only: otherwise the same policy."""
    policy = wasm_policy(alg, jwks, variant)
    policy["providers"]["mesh"].setdefault("dpop", {}).setdefault(
        "iat_window_seconds", DPOP_WINDOW)
    policy.setdefault("limits", {}).setdefault("dpop_replay_entries", DPOP_REPLAY_ENTRIES)
    if flavor == "dpop":
        orders = next(r for r in policy["routes"] if r["action"] == "orders.read")
        orders["require"]["dpop"] = True
    return policy


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


def bootstrap(name, variant, alg, port, admin_port, family, flavor=None):
    """Writes the Envoy bootstrap of one variant for one algorithm and workload family ("orders":
    reuse, fresh, deny; "mcp": the mcp workload; "dpop": the dpop and bearer workloads, a wasm
    variant with the policy of `flavor`, see wasm_dpop_policy); returns its path."""
    jwks = read(os.path.join(POOL_DIR, alg, "jwks.json")).strip()
    kind = variant["kind"]
    mcp = family == "mcp"
    suffix = "-mcp" if mcp else ""  # of the templates (the dpop family uses the orders ones)
    name_suffix = suffix
    if family == "dpop":
        name_suffix = f"-{flavor}" if kind == "wasm" else "-dpop-bearer"
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
        if config is None and family == "dpop":
            config = json.dumps(wasm_dpop_policy(alg, jwks, variant, flavor))
        elif config is None:
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
    path = os.path.join(OUT, "envoy", f"{alg}-{name}{name_suffix}.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Envoy:
    def __init__(self, name, variant, alg, family="orders", flavor=None, serves=None):
        """`serves`: the workloads this Envoy is measured with (default: all of its family's);
        `flavor`: the policy of a wasm variant in the dpop family ("dpop" or "bearer")."""
        self.name, self.variant, self.alg = name, variant, alg
        self.flavor, self.serves = flavor, serves
        self.proofs = None  # a ProofSupply, for a filter that checks the dpop workload's proofs
        self.port, self.admin_port = free_port(), free_port()
        self.config = bootstrap(name, variant, alg, self.port, self.admin_port, family, flavor)
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

    def get(self, authorization=None, proof=None):
        """GET /orders/42 with these `Authorization` and `DPoP` headers (else as pool.lua's):
        (status, the answer's `reason`, None when it has none)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = dict(extra_headers(), Host=DPOP_HOST)
            if authorization is not None:
                headers["Authorization"] = authorization
            if proof is not None:
                headers["DPoP"] = proof
            conn.request("GET", PATH, headers=headers)
            r = conn.getresponse()
            body = r.read()
            try:
                reason = json.loads(body).get("reason")
            except (ValueError, AttributeError):
                reason = None
            return r.status, reason
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


# ---------------------------------------------------------------- DPoP proofs


def dpop_htu(path=PATH):
    """The URI the filter sees for `path` (what a proof's `htu` must be): `:scheme` is Envoy's,
    http on this plaintext listener unless the request carries `X-Forwarded-Proto`."""
    scheme = extra_headers().get("X-Forwarded-Proto", "http")
    return f"{scheme}://{DPOP_HOST}{path}"


def mint_proofs(alg, count, path, htu=None):
    """`count` fresh proofs (bench/src/bin/dpop-proofs.rs) for `htu` (default: dpop_htu()) into
    `path`, one `INDEX<TAB>PROOF` line each, `iat` now; returns dpop-proofs' summary (count,
    iat, seconds, per_second)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    out = subprocess.run(
        [DPOP_PROOFS, "--alg", alg, "--key", os.path.join(POOL_DIR, alg, "dpop-key.pem"),
         "--tokens", pool_file(alg, "dpop"), "--htu", htu or dpop_htu(), "--htm", "GET",
         "--count", str(count),
         "--out", path],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def read_proofs(alg, path):
    """The (token, proof) pairs of a proof file of `alg`."""
    tokens = read(pool_file(alg, "dpop")).split()
    pairs = []
    for line in read(path).splitlines():
        index, proof = line.split("\t")
        pairs.append((tokens[int(index)], proof))
    return pairs


def answer_text(answer):
    """(status, reason) as `401 dpop_replayed`."""
    return f"{answer[0]}" + (f" {answer[1]}" if answer[1] else "")


class ProofSupply:
    """The fresh proofs one filter that checks them (a workload-authz Envoy of the dpop
    workload) is sent: every proof at most once, minted just before the run that needs them
    (dpop-proofs signs on both CPUs while no run is measured). A batch minted for a run serves
    the runs after it too while they all end within the window of its proofs' `iat` (then the
    proofs of the whole workload are minted once), else each run gets a batch of its own.

    Also counts the proofs the filter's replay cache holds: every accepted proof (the 2xx
    answers of the dpop runs) until its `iat` + window, when the filter drops it."""

    def __init__(self, envoy, window, capacity):
        self.envoy, self.window, self.capacity = envoy, window, capacity
        self.batches = []  # {path, iat, count, next, accepted}
        self.rate = None  # the highest dpop rate measured on this Envoy, req/s
        self.measured = False  # whether a measured run (not only the warm-up) gave the rate
        self.mint_rate = None  # proofs per second dpop-proofs signed last time

    def need(self, seconds):
        rate = self.rate or DPOP_WARM_RATE
        margin = DPOP_MARGIN if self.measured else DPOP_MARGIN_WARM
        return int(rate * seconds * margin) + DPOP_EXTRA_PROOFS

    def mint(self, count):
        e = self.envoy
        path = os.path.join(OUT, "proofs", e.alg, f"{e.name}-{len(self.batches) + 1}.txt")
        started = time.time()
        summary = mint_proofs(e.alg, count, path)
        self.mint_rate = summary["per_second"]
        log(f"{e.alg} dpop {e.name:16} minted {count:,} proofs in {time.time() - started:.1f} s "
            f"({summary['per_second']:,.0f}/s)")
        for old in self.batches:  # every line of an older batch is spent or never to be sent
            if old.get("path") and os.path.exists(old["path"]):
                os.remove(old["path"])
        batch = {"path": path, "iat": summary["iat"], "count": count, "next": 0, "accepted": 0}
        self.batches.append(batch)
        return batch

    def take(self, seconds, runs_left=1, span=0.0):
        """Lines for a run of `seconds`: {batch, first, count}. `runs_left` (this one included)
        and `span` (seconds from one of this Envoy's runs to its next) size a new batch for all
        of them when they fit in its window."""
        n = self.need(seconds)
        b = self.batches[-1] if self.batches else None
        if (b is None or "path" not in b or b["count"] - b["next"] < n
                or b["iat"] + self.window - time.time() < seconds + DPOP_SAFETY_S):
            count = n
            if runs_left > 1 and self.mint_rate:
                total = n * runs_left
                ends = total / self.mint_rate + (runs_left - 1) * span + seconds
                if ends < self.window - DPOP_SAFETY_S:
                    count = total
                else:
                    log(f"{self.envoy.alg} dpop {self.envoy.name}: {runs_left} runs would end "
                        f"{ends:.0f} s after their proofs' iat, over the {self.window} s window: "
                        "minting proofs per run")
            b = self.mint(count)
        if self.live() + n > 0.9 * self.capacity:
            log(f"{self.envoy.alg} dpop {self.envoy.name}: {self.live():,} + {n:,} proofs near the "
                f"replay cache's {self.capacity:,}: expect dpop_replay_cache_full (401)")
        first = b["next"]
        b["next"] += n
        return {"batch": b, "first": first, "count": n}

    def accepted(self, count, iat):
        """`count` proofs of `iat` accepted outside the runs (the sanity check)."""
        self.batches.append({"iat": iat, "count": count, "next": count, "accepted": count})

    def live(self, now=None):
        """Accepted proofs the filter still holds (entries expire at iat + window)."""
        now = time.time() if now is None else now
        return sum(b["accepted"] for b in self.batches if b["iat"] + self.window >= now)

    def record(self, taken, m, measured=True):
        """Books run `m` (measure()'s) that sent the lines `taken`: its accepted proofs, the
        rate it reached (`measured`: a measured run, not the warm-up), the replay cache before
        and after it."""
        m["replay_cache_before"] = self.live(m["started"])
        taken["batch"]["accepted"] += m["by_class"]["2xx"]
        m["replay_cache_after"] = self.live(m["ended"])
        m["proofs"] = {"minted_iat": taken["batch"]["iat"], "first": taken["first"],
                       "count": taken["count"]}
        rate = m["rps"]
        if m["proofs_exhausted"] and m["cpu_us_per_req"]:
            # wrk counts the whole duration: the rate Envoy's CPU time allows instead.
            rate = max(rate, 1e6 / m["cpu_us_per_req"])
        self.rate = max(self.rate or 0, rate)
        self.measured = self.measured or measured


def baseline_proofs(alg):
    """The proofs the baseline (which checks none) sends in turn, in
    BENCH_OUT/proofs/ALG/baseline.txt."""
    path = os.path.join(OUT, "proofs", alg, "baseline.txt")
    mint_proofs(alg, DPOP_BASELINE_PROOFS, path)
    return {"batch": {"path": path}, "first": 0, "count": DPOP_BASELINE_PROOFS}


def checks_proofs(envoy):
    """Whether this Envoy's filter checks DPoP proofs (workload-authz with the dpop policy)."""
    return envoy.variant["kind"] == "wasm" and envoy.flavor == "dpop"


def dpop_sanity_check(envoy, fresh, other_url):
    """The dpop family's Envoys' answers: [(case, (status, reason), (status, reason) expected)].
    `fresh` is a (token, proof) never sent to this Envoy, `other_url` one for /orders/43.
    The baseline answers 200 to all; native (jwt_authn + RBAC, bearer only) knows nothing of
    `cnf.jkt` and serves a bound token sent as a bearer token."""
    bound, proof = fresh
    plain = first_token(envoy.alg, "bearer")
    kind = envoy.variant["kind"]
    cases = []
    if "bearer" in envoy.serves:
        cases += [("a plain token as Bearer", f"Bearer {plain}", None, (200, None))]
    if "dpop" in envoy.serves:
        cases += [
            ("DPoP, a fresh proof", f"DPoP {bound}", proof, (200, None)),
            ("DPoP, the same proof again", f"DPoP {bound}", proof, (401, "dpop_replayed")),
            (f"DPoP, a proof for {dpop_htu('/orders/43')}", f"DPoP {other_url[0]}", other_url[1],
             (401, "dpop_url_mismatch")),
            ("the bound token as Bearer", f"Bearer {bound}", None,
             (401, "dpop_bound_token_as_bearer")),
            ("a plain token as Bearer (the route requires DPoP)", f"Bearer {plain}", None,
             (401, "dpop_proof_missing")),
        ]
    if "bearer" in envoy.serves and "dpop" not in envoy.serves:
        cases += [("the bound token as Bearer", f"Bearer {bound}", None,
                   (200, None) if kind == "native" else (401, "dpop_bound_token_as_bearer"))]
    cases += [("no token", None, None, (401, None))]
    out = []
    for case, authorization, sent_proof, want in cases:
        if kind == "baseline":
            want = (200, None)
        got = envoy.get(authorization, sent_proof)
        if want[1] is None:  # only the status counts
            got = (got[0], None)
        out.append((case, got, want))
    return out


def check_dpop(alg, envoys, results):
    """The DPoP sanity checks of every Envoy of the dpop family, logged and recorded; exits on
    any failure. Each proof-checking Envoy's accepted proof is booked in its ProofSupply."""
    path = os.path.join(OUT, "proofs", alg, "sanity.txt")
    summary = mint_proofs(alg, 1, path)
    fresh = read_proofs(alg, path)[0]
    mint_proofs(alg, 1, path, htu=dpop_htu("/orders/43"))
    other_url = read_proofs(alg, path)[0]
    os.remove(path)
    failed = []
    for e in envoys:
        for case, got, want in dpop_sanity_check(e, fresh, other_url):
            ok = got == want
            log(f"{alg} dpop sanity {e.name:16} {e.flavor or '':6} {'ok  ' if ok else 'FAIL'} "
                f"{answer_text(got)} (expected {answer_text(want)}): {case}")
            results.setdefault("dpop_sanity", []).append(
                {"alg": alg, "variant": e.name, "policy": e.flavor, "case": case,
                 "status": got[0], "reason": got[1], "expected": want[0],
                 "expected_reason": want[1]})
            if not ok:
                failed.append(f"{e.name} {e.flavor or ''}: {case}: got {answer_text(got)}, "
                              f"expected {answer_text(want)}")
        if e.proofs:
            e.proofs.accepted(1, summary["iat"])
    if failed:
        sys.exit("bench: DPOP SANITY CHECK FAILED, nothing measured (configurations in "
                 f"{OUT}/envoy/):\n  " + "\n  ".join(failed))


# ---------------------------------------------------------------- measuring


def run_wrk(envoy, workload, seconds, offset, proofs=None, mode="once"):
    """One wrk run; `proofs` ({batch, first, count}, the dpop workload) are the proof lines
    to send, each once (`mode` "once") or in turn ("cycle", the baseline)."""
    mcp = workload == "mcp"
    cmd = ["taskset", "-c", WRK_CPU, "wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS),
           "-d", f"{seconds}s", "--timeout", "10s", "-s", os.path.join(BENCH, "pool.lua"),
           f"http://127.0.0.1:{envoy.port}{MCP_PATH if mcp else PATH}", "--",
           pool_file(envoy.alg, workload), str(proofs["first"] if proofs else offset),
           str(WRK_THREADS), os.path.join(OUT, "mcp-bodies.jsonl") if mcp else "-",
           os.path.join(OUT, "extra-headers.txt")]
    if proofs:
        cmd += [proofs["batch"]["path"], str(proofs["count"]), mode]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    raise RuntimeError(f"no WRK_JSON line in wrk output:\n{out}")


RQ_STATS = r"^http\.bench\.downstream_rq_(completed|[2-5]xx)$"


def measure(envoy, workload, offset, ours, seconds=None, proofs=None, mode="once"):
    builds = other_builds(ours)
    started = time.time()
    s0, c0 = envoy.stats(RQ_STATS), envoy.cpu_seconds()
    wrk = run_wrk(envoy, workload, seconds or SECONDS, offset, proofs, mode)
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
        # A filter that checks proofs was sent all the run's proofs before its end.
        "proofs_exhausted": bool(wrk.get("exhausted")) and mode == "once",
        "started": started,
        "ended": time.time(),
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def families():
    """The workloads grouped by the Envoys that serve them, in BENCH_WORKLOADS order: "orders"
    (reuse, fresh, deny: GET /orders/42), "mcp" (its own configurations) and "dpop" (dpop and
    bearer: the DPoP policy)."""
    family_of = {"mcp": "mcp", "dpop": "dpop", "bearer": "dpop"}
    out = {}
    for workload in WORKLOADS:
        out.setdefault(family_of.get(workload, "orders"), []).append(workload)
    return out


def run_alg(alg, variants, results, memory):
    for family, workloads in families().items():
        chosen = variants
        if family in ("mcp", "dpop"):
            # The no-op filters read neither the body nor the proofs: nothing to compare.
            chosen = {n: v for n, v in variants.items() if "configuration" not in v}
            skipped = [n for n in variants if n not in chosen]
            if skipped:
                log(f"{alg} {family}: skipping {', '.join(skipped)} (a filter without a policy)")
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


def start_envoys(alg, family, workloads, variants, envoys):
    """Starts the Envoys of a family into `envoys`. In the dpop family each wasm variant runs
    twice, with the dpop policy (the dpop workload) and with the bearer one; native serves
    bearer only (jwt_authn cannot check a proof); the baseline serves both."""
    for name, variant in variants.items():
        if family != "dpop":
            envoys.append(Envoy(name, variant, alg, family, serves=set(workloads)))
        elif variant["kind"] == "wasm":
            for workload in workloads:
                envoys.append(Envoy(name, variant, alg, family, flavor=workload,
                                    serves={workload}))
        elif variant["kind"] == "native":
            if "bearer" in workloads:
                envoys.append(Envoy(name, variant, alg, family, serves={"bearer"}))
            if "dpop" in workloads:
                log(f"{alg} dpop: {name} not measured (jwt_authn cannot check a DPoP proof)")
        else:
            envoys.append(Envoy(name, variant, alg, family, serves=set(workloads)))
    for e in envoys:
        if checks_proofs(e):
            policy = wasm_dpop_policy(alg, "", e.variant, "dpop")
            e.proofs = ProofSupply(e, policy["providers"]["mesh"]["dpop"]["iat_window_seconds"],
                                   policy["limits"]["dpop_replay_entries"])


def run_family(alg, family, workloads, variants, results, memory):
    log(f"{alg}: starting {', '.join(variants)}" + (f" ({family})" if family != "orders" else ""))
    envoys = []
    try:
        start_envoys(alg, family, workloads, variants, envoys)
        if family == "mcp":
            check_mcp(alg, envoys, results)
        elif family == "dpop":
            check_dpop(alg, envoys, results)
        else:
            for e in envoys:
                problems = sanity_check(e, workloads)
                if problems:
                    log(f"{alg} {e.name}: SANITY CHECK FAILED: {'; '.join(problems)}")
                    results.setdefault("sanity_failures", []).append(
                        {"alg": alg, "variant": e.name, "problems": problems})
        ours = {x.proc.pid for x in envoys}
        for workload in workloads:
            serving = [e for e in envoys if workload in e.serves]
            cycle = baseline_proofs(alg) if workload == "dpop" else None
            for e in serving:
                if workload == "dpop" and e.proofs:
                    taken = e.proofs.take(WARMUP)
                    m = measure(e, workload, 0, ours, WARMUP, taken)
                    e.proofs.record(taken, m, measured=False)
                    log(f"{alg} dpop  {e.name:16} warm-up: {m['rps']:8.0f} req/s, replay cache "
                        f"{m['replay_cache_after']:,} proofs"
                        + (" (its proofs ran out)" if m["proofs_exhausted"] else ""))
                else:
                    run_wrk(e, workload, WARMUP, 0, cycle, "cycle")
            reps = {e.name: [] for e in serving}
            last_start = {}
            for rep in range(REPEAT):
                for e in serving:
                    taken, mode = cycle, "cycle"
                    if workload == "dpop" and e.proofs:
                        span = (time.time() - last_start[e.name] if e.name in last_start
                                else len(serving) * (SECONDS + 1))
                        taken, mode = e.proofs.take(SECONDS, REPEAT - rep, span), "once"
                    last_start[e.name] = time.time()
                    # Each repetition starts at another place of the pool.
                    m = measure(e, workload, (rep + 1) * 5003, ours, SECONDS, taken, mode)
                    extra = ""
                    if workload == "dpop" and e.proofs:
                        e.proofs.record(taken, m)
                        m["wasm_memories_kib"] = e.wasm_memories()
                        extra = (f"  replay cache {m['replay_cache_before']:,} -> "
                                 f"{m['replay_cache_after']:,} proofs"
                                 + ("  PROOFS RAN OUT" if m["proofs_exhausted"] else ""))
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
                        f"p99 {m['p99_ms']:.2f} ms  unexpected {m['unexpected_status']}{extra}")
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
                    "proofs_exhausted": any(r["proofs_exhausted"] for r in runs),
                    "runs": runs,
                })
    finally:
        for e in envoys:
            e.stop()
        if family == "dpop":  # hundreds of MB of spent proofs
            shutil.rmtree(os.path.join(OUT, "proofs", alg), ignore_errors=True)
            try:
                os.rmdir(os.path.join(OUT, "proofs"))
            except OSError:
                pass


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
        if c["workload"] == "dpop" and c["kind"] == "wasm" and not ref:
            c["ratio_note"] = f"no {REFERENCE} dpop: see DPoP against Bearer"
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
    results["dpop"] = dpop_summary(cells, variants, base_name)


def run_costs(cell, base):
    """The authorization cost of each repetition of `cell`: its CPU/req minus the baseline's
    in the same repetition (None where either is missing)."""
    if not cell or not base:
        return []
    return [r["cpu_us_per_req"] - b["cpu_us_per_req"]
            if r["cpu_us_per_req"] is not None and b["cpu_us_per_req"] is not None else None
            for r, b in zip(cell["runs"], base["runs"])]


def ratio(numerator, denominator):
    """numerator / denominator, None when the denominator is not a measurable cost (<= 1 µs)."""
    if numerator is None or denominator is None or denominator <= 1.0:
        return None
    return numerator / denominator


def spread(values):
    """[min, max] of the values that are not None, or None."""
    values = [v for v in values if v is not None]
    return [min(values), max(values)] if values else None


def dpop_summary(cells, variants, base_name):
    """What DPoP costs, per algorithm and workload-authz configuration: the dpop workload's
    authorization cost against the same configuration's bearer one and against the reference's
    (native) bearer one (native cannot check DPoP), each ratio of the medians with the range of
    the ratios of the repetitions (repetition i of each cell, each minus the baseline's
    repetition i), and each dpop run with the replay cache it found and left."""
    def find(alg, workload, variant):
        return next((c for c in cells if (c["alg"], c["workload"], c["variant"])
                     == (alg, workload, variant)), None)

    out = []
    for alg in ALGS:
        for name, variant in variants.items():
            dpop = find(alg, "dpop", name)
            if variant["kind"] != "wasm" or not dpop:
                continue
            bearer, native = find(alg, "bearer", name), find(alg, "bearer", REFERENCE)
            base_dpop, base_bearer = find(alg, "dpop", base_name), find(alg, "bearer", base_name)
            dpop_runs = run_costs(dpop, base_dpop)
            bearer_runs = run_costs(bearer, base_bearer)
            native_runs = run_costs(native, base_bearer)

            def against(other, other_runs):
                if not other:
                    return None
                return {
                    "cost_us": other["authz_cost_us"],
                    "ratio": ratio(dpop["authz_cost_us"], other["authz_cost_us"]),
                    "ratio_range": spread([ratio(d, o) for d, o in zip(dpop_runs, other_runs)]),
                    "extra_us": (dpop["authz_cost_us"] - other["authz_cost_us"]
                                 if dpop["authz_cost_us"] is not None
                                 and other["authz_cost_us"] is not None else None),
                    "extra_range": spread([d - o for d, o in zip(dpop_runs, other_runs)
                                           if d is not None and o is not None]),
                }

            out.append({
                "alg": alg, "variant": name, "dpop_cost_us": dpop["authz_cost_us"],
                "dpop_cost_range": spread(dpop_runs),
                "vs_bearer": against(bearer, bearer_runs),
                "reference": REFERENCE, "vs_reference_bearer": against(native, native_runs),
                "proofs_exhausted": dpop["proofs_exhausted"],
                "runs": [{
                    "run": i + 1, "rps": r["rps"], "cpu_us_per_req": r["cpu_us_per_req"],
                    "authz_cost_us": cost, "replay_cache_before": r.get("replay_cache_before"),
                    "replay_cache_after": r.get("replay_cache_after"),
                    "wasm_memories_kib": r.get("wasm_memories_kib"),
                    "unexpected_status": r["unexpected_status"],
                    "proofs_exhausted": r["proofs_exhausted"],
                } for i, (r, cost) in enumerate(
                    zip(dpop["runs"], dpop_runs or [None] * len(dpop["runs"])))],
            })
    return out


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
                    # Three decimals where two would round a miss onto the limit.
                    shown = f"{r:.3f}" if r > limit and round(r, 2) <= limit else f"{r:.2f}"
                    out.append((f"{name} {alg} {workload}: ratio {shown} <= {limit}{note}",
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
        if c.get("proofs_exhausted"):
            status += " (proofs ran out: invalid)"
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
    if results.get("dpop"):
        lines += dpop_report_md(results)
    if results.get("sanity_failures"):
        lines += ["", "## Sanity check failures", ""]
        lines += [f"- {f['alg']} {f['variant']}: {'; '.join(f['problems'])}"
                  for f in results["sanity_failures"]]
    return "\n".join(lines) + "\n"


def fmt_range(r, digits=1):
    return "" if not r else f" ({fmt(r[0], digits)}-{fmt(r[1], digits)})"


def dpop_report_md(results):
    """The report's section on the dpop and bearer workloads."""
    lines = [
        "",
        "## DPoP against Bearer",
        "",
        f"`dpop`: `GET {PATH}` with `Authorization: DPoP <token>`, {REUSE_TOKENS} reused tokens "
        "bound to the algorithm's DPoP key (`cnf.jkt`), and a fresh proof on every request (its "
        f"own `jti`, `htm` GET, `htu` {dpop_htu()}, `ath`, `iat` when minted, signed with that "
        "key, of the row's algorithm); each proof is sent once. `bearer`: the same request with "
        f"`Authorization: Bearer` and {REUSE_TOKENS} reused plain tokens, on the same policy "
        "but for `require.dpop` (both: the provider's `dpop` block with `iat_window_seconds` "
        f"{DPOP_WINDOW}, `limits.dpop_replay_entries` {DPOP_REPLAY_ENTRIES:,}). Native "
        "(jwt_authn + RBAC) cannot check a proof: it runs `bearer` only. A bearer request is "
        "served from the decision memo; a decision that checked a proof never is.",
        "",
        "Costs are authorization costs (CPU/req minus the baseline's for the same workload, "
        "medians); in brackets the range over the repetitions (repetition i of each cell, each "
        "minus the baseline's repetition i).",
        "",
        "| alg | configuration | dpop cost µs | bearer cost µs | DPoP adds µs | dpop / bearer "
        f"| {REFERENCE} bearer cost µs | dpop / {REFERENCE} bearer |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in results["dpop"]:
        b, n = d["vs_bearer"] or {}, d["vs_reference_bearer"] or {}
        flag = " (proofs ran out: invalid)" if d["proofs_exhausted"] else ""
        lines.append(
            f"| {d['alg']} | {d['variant']}{flag} | {fmt(d['dpop_cost_us'])}"
            f"{fmt_range(d['dpop_cost_range'])} | {fmt(b.get('cost_us'))} "
            f"| {fmt(b.get('extra_us'))}{fmt_range(b.get('extra_range'))} "
            f"| {fmt(b.get('ratio'), 2)}{fmt_range(b.get('ratio_range'), 2)} "
            f"| {fmt(n.get('cost_us'))} | {fmt(n.get('ratio'), 2)}"
            f"{fmt_range(n.get('ratio_range'), 2)} |")
    lines += [
        "",
        "Each dpop run of workload-authz, with the proofs its replay cache held before and "
        "after it (the accepted proofs, each kept until its `iat` + `iat_window_seconds`; every "
        "shard is read and written whole per proof, so a cost that grows down this table is "
        "the cache's):",
        "",
        "| alg | configuration | run | req/s | CPU/req µs | authz cost µs | replay cache before "
        "→ after (proofs) | Wasm memories KiB | statuses |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for d in results["dpop"]:
        for r in d["runs"]:
            status = "ok" if r["unexpected_status"] == 0 else f"{r['unexpected_status']} unexpected"
            if r["proofs_exhausted"]:
                status += " (proofs ran out: invalid)"
            memories = ", ".join(f"{size:,}" for size, _ in r["wasm_memories_kib"] or [])
            lines.append(
                f"| {d['alg']} | {d['variant']} | {r['run']} | {fmt(r['rps'], 0)} "
                f"| {fmt(r['cpu_us_per_req'])} | {fmt(r['authz_cost_us'])} "
                f"| {fmt(r['replay_cache_before'], 0)} → {fmt(r['replay_cache_after'], 0)} "
                f"| {memories or '-'} | {status} |")
    if results.get("dpop_sanity"):
        lines += [
            "",
            "Checked before measuring (the baseline answers 200 to all; native does not know "
            "`cnf.jkt`):",
            "",
            "| alg | configuration | policy | request | answer | expected |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [f"| {c['alg']} | {c['variant']} | {c['policy'] or '-'} | {c['case']} "
                  f"| {answer_text((c['status'], c['reason']))} "
                  f"| {answer_text((c['expected'], c['expected_reason']))} |"
                  for c in results["dpop_sanity"]]
    return lines


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
    if DPOP_FAMILY and not os.access(DPOP_PROOFS, os.X_OK):
        sys.exit(f"bench: no {DPOP_PROOFS} (`cargo build --profile bench-tools -p "
                 "workload-authz-bench --bin dpop-proofs`, or `make bench-tools` with "
                 "BENCH_WORKLOADS naming dpop or bearer)")
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
            "workloads": WORKLOADS, "reuse_tokens": REUSE_TOKENS, "claims": CLAIMS,
            "headers": REQUEST_HEADERS,
        },
        "loadavg_before": loadavg(),
        "cells": [],
        "memory": [],
    }
    if DPOP_FAMILY:
        results["settings"]["dpop"] = {
            "htu": dpop_htu(), "iat_window_seconds": DPOP_WINDOW,
            "dpop_replay_entries": DPOP_REPLAY_ENTRIES, "warm_rate": DPOP_WARM_RATE,
            "margin_after_warmup": DPOP_MARGIN_WARM, "margin": DPOP_MARGIN,
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
