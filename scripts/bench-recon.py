#!/usr/bin/env python3
"""Benchmark: `cargo reflex recon` of the 1,035-package nushell lockfile with a warm cache.

The first run fills cargo-reflex's cache (index data online, crate archives and their
analyses); the measured runs then reuse it. Prints median wall time and peak memory against
the targets (2 s, 300 MiB). Usage: scripts/bench-recon.py [--runs N] [--offline] [--cache-dir DIR]
Needs network for the first run unless the cache is already warm; GNU time for memory.
"""
import argparse, os, statistics, subprocess, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--offline", action="store_true", help="measure offline runs (index data from cargo's cache only)")
ap.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "reflex-bench-recon-cache"))
ap.add_argument("--lockfile", default=os.path.join(root, "fixtures/corpus/nushell__nushell/Cargo.lock"))
a = ap.parse_args()
subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
cmd = [os.path.join(root, "target/release/cargo-reflex"), "recon", "--file", a.lockfile, "--cache-dir", a.cache_dir,
       "--no-fetch", "--format", "json", "--deny", "none"]
warm_up = subprocess.run(cmd, capture_output=True, text=True)
if warm_up.returncode not in (0, 1):
    raise SystemExit(warm_up.stderr)
measured = cmd + (["--offline"] if a.offline else [])
walls, rss = [], []
for _ in range(a.runs):
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + measured, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, kib = r.stderr.strip().splitlines()[-1].split()
    walls.append(float(wall))
    rss.append(int(kib) / 1024)
packages = open(a.lockfile).read().count("[[package]]")
wall, mem = statistics.median(walls), max(rss)
print(f"recon, warm cache, {'offline' if a.offline else 'online index'}: {packages} packages")
print(f"  median wall {wall:.2f} s (target 2 s: {'ok' if wall <= 2 else 'MISSED'}), peak {mem:.1f} MiB (target 300 MiB: {'ok' if mem <= 300 else 'MISSED'})")
