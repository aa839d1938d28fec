#!/usr/bin/env python3
"""Benchmark: `cargo reflex review` of two ~1,000-package lockfiles with 40 changes, warm cache.

The head is nushell's real lockfile (1,035 packages). The base is the same lockfile with 40
packages moved to another version whose `.crate` archive is in cargo's download cache (so both
sides of every change are read from local archives: the warm case). Prints the median wall time
and peak memory over N runs and the ratio to the 1 s target.
Usage: scripts/bench-review.py [--runs N] [--changes N]
"""
import argparse, glob, hashlib, os, re, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=10)
ap.add_argument("--changes", type=int, default=40)
ap.add_argument("--lockfile", default=os.path.join(root, "fixtures/corpus/nushell__nushell/Cargo.lock"))
a = ap.parse_args()

cargo_home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
cached = {}
for d in glob.glob(os.path.join(cargo_home, "registry/cache/*/")):
    for f in os.listdir(d):
        m = re.match(r"(.+)-(\d+\.\d+\.\d+[^/]*)\.crate$", f)
        if m:
            cached.setdefault(m.group(1), {})[m.group(2)] = os.path.join(d, f)

text = open(a.lockfile).read()
blocks = text.split("\n[[package]]\n")
names = [re.search(r'^name = "([^"]+)"', b, re.M) for b in blocks[1:]]
count = {}
for n in names:
    count[n.group(1)] = count.get(n.group(1), 0) + 1
picked = []
for i, b in enumerate(blocks[1:], start=1):
    name = re.search(r'^name = "([^"]+)"', b, re.M).group(1)
    version = re.search(r'^version = "([^"]+)"', b, re.M).group(1)
    versions = cached.get(name, {})
    others = sorted(v for v in versions if v != version)
    if count[name] == 1 and version in versions and others and "registry+" in b:
        picked.append((i, name, version, others[0]))
    if len(picked) == a.changes:
        break
if len(picked) < a.changes:
    sys.exit(f"only {len(picked)} packages have two versions in cargo's cache; run `cargo fetch` in a few projects")
for i, name, version, other in picked:
    checksum = hashlib.sha256(open(cached[name][other], "rb").read()).hexdigest()
    b = blocks[i].replace(f'version = "{version}"', f'version = "{other}"', 1)
    blocks[i] = re.sub(r'checksum = "[0-9a-f]+"', f'checksum = "{checksum}"', b)
tmp = tempfile.mkdtemp()
base = os.path.join(tmp, "base.lock")
open(base, "w").write("\n[[package]]\n".join(blocks))

subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
reflex = os.path.join(root, "target/release/cargo-reflex")
cache = os.path.join(tmp, "cache")
cmd = [reflex, "review", "--base-file", base, "--head-file", a.lockfile, "--offline", "--cache-dir", cache, "--format", "json"]
out = subprocess.run(cmd, capture_output=True, text=True)  # warms cargo-reflex's own caches
if out.returncode not in (0, 1):
    sys.exit(out.stderr)
import json
report = json.loads(out.stdout)
changes = report["review"]["changes"]
with_code = sum(1 for c in changes if c.get("code") is not None)
walls = []
for _ in range(a.runs):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    walls.append(time.perf_counter() - start)
rss = float("nan")
if os.path.exists("/usr/bin/time"):
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rss = int(r.stderr.strip().splitlines()[-1]) / 1024
median = statistics.median(walls)
print(f"lockfiles: {report['target']['package_count']} packages; {len(changes)} changes, {with_code} with both archives read and diffed")
print(f"cargo-reflex review (warm cache): median {median * 1000:.0f} ms over {a.runs} runs, peak {rss:.0f} MiB")
print(f"target 1 s: ratio {median / 1.0:.2f}")
