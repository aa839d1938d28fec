#!/usr/bin/env python3
"""Benchmark: `cargo reflex respond` over a generated tree of 10,000 real lockfiles.

The tree holds 10,000 repositories (`<tmp>/org-N/repo-M/Cargo.lock`), each a hard link to one of
the corpus lockfiles (1,035 to 181 packages), so the run reads real lockfiles without using
1 GB of disk. Warm: one run first, then the median of N. Target: under 10 s.
Usage: scripts/bench-respond.py [--lockfiles N] [--runs N] [--query Q]
"""
import argparse, glob, json, os, shutil, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--lockfiles", type=int, default=10_000)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--query", default="RUSTSEC-2023-0071")
a = ap.parse_args()

subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
reflex = os.path.join(root, "target/release/cargo-reflex")
sources = sorted(glob.glob(os.path.join(root, "fixtures/corpus/*/Cargo.lock")))
work = tempfile.mkdtemp(prefix="reflex-bench-respond-")
for i in range(a.lockfiles):
    d = os.path.join(work, f"org-{i // 100}", f"repo-{i % 100}")
    os.makedirs(d)
    os.link(sources[i % len(sources)], os.path.join(d, "Cargo.lock"))
cmd = [reflex, "respond", a.query, work, "--format", "json"]
first = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
walls = []
for _ in range(a.runs):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    walls.append(time.perf_counter() - t)
shutil.rmtree(work)
m = statistics.median(walls)
print(f"tree: {a.lockfiles} lockfiles ({len(sources)} distinct real ones, hard-linked); query {a.query}")
print(f"scanned {first['lockfiles_scanned']}, affected {len(first['projects'])}")
print(f"cargo reflex respond (warm): median {m:.2f} s over {a.runs} runs; target 10 s: ratio {m / 10:.2f}")
