#!/usr/bin/env python3
"""Benchmark: `cargo reflex audit` vs `cargo audit` on the largest corpus lockfile.

Prints median wall time and peak memory (max RSS) of each tool over N runs, and the ratios.
Both use the same advisory database (data/advisory-db), no network, no yanked check.
Usage: scripts/bench-audit.py [--runs N] [--lockfile PATH]   (needs cargo-audit on PATH;
builds cargo-reflex in release mode first).
"""
import argparse, os, resource, shutil, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=15)
ap.add_argument("--lockfile", default=os.path.join(root, "fixtures/corpus/nushell__nushell/Cargo.lock"))
a = ap.parse_args()

subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
reflex = os.path.join(root, "target/release/cargo-reflex")
db = os.path.join(root, "data/advisory-db")
with open(a.lockfile) as f:
    packages = f.read().count("[[package]]")

GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None

def measure(cmd):
    """Median wall seconds and peak RSS (MiB) of `cmd` over the runs, each in a fresh process.

    Peak RSS comes from GNU time (`apt-get install time`): a child forked from Python would
    count Python's own pages in its maximum RSS.
    """
    walls, rss = [], []
    for _ in range(a.runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"{cmd[0]} exited {proc.returncode}")
    if GNU_TIME:
        for _ in range(3):
            out = subprocess.run([GNU_TIME, "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            rss.append(int(out.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(walls), (max(rss) if rss else float("nan"))

cases = {
    "cargo-reflex audit (--advisory-db dir)": [reflex, "audit", "--file", a.lockfile, "--advisory-db", db, "--offline", "--no-yanked", "--format", "json"],
    "cargo-reflex audit (embedded db)": [reflex, "audit", "--file", a.lockfile, "--offline", "--no-yanked", "--format", "json"],
}
yanked_cases = {
    "cargo-reflex audit (embedded db, yanked from cache)": [reflex, "audit", "--file", a.lockfile, "--offline", "--format", "json"],
}
peer = shutil.which("cargo-audit")
print(f"lockfile: {os.path.relpath(a.lockfile, root)} ({packages} packages), {a.runs} runs each, median wall, peak RSS")

def report(title, peer_cmd, ours):
    print(title)
    base = None
    if peer:
        base = measure(peer_cmd)
        print(f"  {'cargo-audit':52} {base[0]*1000:7.1f} ms  {base[1]:6.1f} MiB")
    for name, cmd in ours.items():
        wall, mem = measure(cmd)
        line = f"  {name:52} {wall*1000:7.1f} ms  {mem:6.1f} MiB"
        if base:
            line += f"   time ratio {wall/base[0]:.2f}  memory ratio {mem/base[1]:.2f}"
        print(line)

report("advisories only (--no-yanked):",
       [peer or "", "audit", "--db", db, "--no-fetch", "--no-yanked", "--stale", "--json", "--file", a.lockfile], cases)
report("advisories + yanked from cargo's local index cache (no network):",
       [peer or "", "audit", "--db", db, "--no-fetch", "--stale", "--json", "--file", a.lockfile], yanked_cases)
if not peer:
    print("  (cargo-audit not installed: `cargo install --locked cargo-audit` for the ratio)")
if not GNU_TIME:
    print("  (peak memory needs GNU time: `apt-get install time`)")
