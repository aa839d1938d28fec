#!/usr/bin/env python3
"""Benchmark: a clean sandboxed build (`cargo reflex build`) against the plain build.

Builds fixtures/bench-build (serde, serde_json, regex, tokio, clap, reqwest, tracing, chrono:
181 packages) from scratch, alternating plain `cargo build --offline --locked` and
`cargo reflex build --no-fetch`, and prints the median wall time of each and the overhead.
Dependencies are fetched once first (stage 1 is not timed: it is the same `cargo fetch`).
Usage: scripts/bench-build.py [--runs N] [--profile dev|release]
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--release", action="store_true")
ap.add_argument("--monitor", action="store_true", help="compare `cargo reflex build --monitor` (and report alert latency)")
a = ap.parse_args()

subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
reflex = os.path.join(root, "target/release/cargo-reflex")
work = tempfile.mkdtemp(prefix="reflex-bench-build-")
proj = os.path.join(work, "proj")
shutil.copytree(os.path.join(root, "fixtures/bench-build"), proj)
subprocess.run(["cargo", "fetch", "--locked"], cwd=proj, check=True)
with open(os.path.join(proj, "Cargo.lock")) as f:
    packages = f.read().count("[[package]]")
extra = ["--release"] if a.release else []
env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}

def build(cmd):
    shutil.rmtree(os.path.join(proj, "target"), ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=proj, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start

plain_cmd = ["cargo", "build", "--offline", "--locked"] + extra
sandbox_cmd = [reflex, "build", "--no-fetch"] + (["--monitor"] if a.monitor else []) + ["--"] + extra
latencies = []

def alert_latencies():
    import json
    path = os.path.join(proj, "target/reflex-monitor/alerts.jsonl")
    if not os.path.exists(path):
        return
    with open(path) as f:
        for line in f:
            latencies.append(json.loads(line)["cargo_reflex"]["time_to_detect_ms"])
plain, sandboxed = [], []
for i in range(a.runs):
    order = [(plain, plain_cmd), (sandboxed, sandbox_cmd)]
    if i % 2:
        order.reverse()
    for bucket, cmd in order:
        bucket.append(build(cmd))
        if bucket is sandboxed and a.monitor:
            alert_latencies()
        print(f"run {i + 1}: {'sandboxed' if bucket is sandboxed else 'plain'} {bucket[-1]:.1f} s", file=sys.stderr)
shutil.rmtree(work, ignore_errors=True)
p, s = statistics.median(plain), statistics.median(sandboxed)
print(f"project: fixtures/bench-build, {packages} packages, {'release' if a.release else 'dev'} profile, {a.runs} alternating clean builds each")
print(f"plain cargo build:      median {p:.2f} s  (runs: {', '.join(f'{x:.1f}' for x in plain)})")
label = "cargo reflex build --monitor" if a.monitor else "cargo reflex build"
print(f"{label}: median {s:.2f} s  (runs: {', '.join(f'{x:.1f}' for x in sandboxed)})")
if a.monitor:
    latencies.sort()
    if latencies:
        print(f"alerts: {len(latencies)} over {a.runs} builds; time to detect median {latencies[len(latencies) // 2]:.2f} ms, max {latencies[-1]:.2f} ms (target at most 100 ms)")
    else:
        print("alerts: none (the project's build scripts did nothing alert-worthy); time to detect not measured here")
print(f"ratio sandboxed/plain: {s / p:.3f}  (overhead {100 * (s / p - 1):+.1f}%, target at most +5%)")
