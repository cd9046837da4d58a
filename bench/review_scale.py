#!/usr/bin/env python3
"""The `review` scale row of `make bench`: BENCH_REVIEW_RECORDS (5,000,000) generated access-log
records (bench/src/bin/review-log.rs: 400 workloads, 60 routes, shadow routes, delegated calls,
denials, over a day) reviewed by `workload-authz review --format json`, BENCH_REVIEW_REPEAT (3)
times. Reports wall time, CPU time and peak RSS (the child's ru_maxrss) per run, their median,
and records per second; the target is under 60 s on this machine's 2 cores with memory bounded
(the review keeps aggregates, never records). Appends a section to BENCH_OUT/report.md and writes
BENCH_OUT/review.json.

Settings (environment): BENCH_REVIEW_RECORDS=5000000 BENCH_REVIEW_REPEAT=3 BENCH_OUT=target/bench
  CLI=target/release/workload-authz REVIEW_LOG=target/release/review-log
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "target", "bench"))
RECORDS = int(os.environ.get("BENCH_REVIEW_RECORDS", "5000000"))
REPEAT = int(os.environ.get("BENCH_REVIEW_REPEAT", "3"))
CLI = os.environ.get("CLI", os.path.join(ROOT, "target", "release", "workload-authz"))
GENERATOR = os.environ.get("REVIEW_LOG", os.path.join(ROOT, "target", "release", "review-log"))
TARGET_SECONDS = 60


def log(message):
    print(f"review-scale: {message}", file=sys.stderr, flush=True)


def generate(path):
    """The log, generated once per record count (deterministic, so a kept file is the same)."""
    if os.path.exists(path):
        return
    log(f"generating {RECORDS:,} records into {path}")
    subprocess.run([GENERATOR, str(RECORDS), path + ".tmp"], check=True)
    os.replace(path + ".tmp", path)


def one_run(path, report_path):
    """One review in a fresh child; returns wall s, CPU s and the child's peak RSS (KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    # ru_maxrss of RUSAGE_CHILDREN is the largest of all children so far: each run goes through a
    # wrapper process of its own, which reports the peak of its one child, the review.
    probe = (
        "import resource,subprocess,sys;"
        "subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, CLI, "review", path, "--format", "json",
         "--no-progress", "-o", report_path],
        check=True, capture_output=True, text=True,
    )
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, int(result.stdout.strip())


def main():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"review-{RECORDS}.log")
    generate(path)
    size = os.path.getsize(path)
    report_path = os.path.join(OUT, "review-report.json")
    runs = []
    for n in range(REPEAT):
        wall, cpu, rss = one_run(path, report_path)
        log(f"run {n + 1}/{REPEAT}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss / 1024:.1f} MiB")
        runs.append({"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "peak_rss_kib": rss})
    with open(report_path) as f:
        report = json.load(f)
    if report["inputs"]["records"] != RECORDS:
        log(f"the review counted {report['inputs']['records']} records, not {RECORDS}")
        return 1
    wall = statistics.median(r["wall_seconds"] for r in runs)
    rss = max(r["peak_rss_kib"] for r in runs)
    summary = {
        "records": RECORDS,
        "log_bytes": size,
        "runs": runs,
        "median_wall_seconds": wall,
        "records_per_second": round(RECORDS / wall),
        "max_peak_rss_kib": rss,
        "target_seconds": TARGET_SECONDS,
        "within_target": wall < TARGET_SECONDS,
        "findings": report["summary"]["findings"],
        "workloads": report["summary"]["workloads"],
    }
    with open(os.path.join(OUT, "review.json"), "w") as f:
        json.dump(summary, f, indent=2)
    walls = ", ".join(f"{r['wall_seconds']:.1f}" for r in runs)
    section = (
        "\n## `workload-authz review` at scale\n\n"
        "| records | log | median wall (runs) | records/s | peak RSS | findings | target |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        f"| {RECORDS:,} | {size / 2**30:.2f} GiB | {wall:.1f} s ({walls}) | {RECORDS / wall:,.0f} "
        f"| {rss / 1024:.1f} MiB | {sum(report['summary']['findings'].values())} "
        f"| < {TARGET_SECONDS} s: {'met' if wall < TARGET_SECONDS else 'MISSED'} |\n"
    )
    with open(os.path.join(OUT, "report.md"), "a") as f:
        f.write(section)
    print(section)
    return 0 if wall < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
