#!/usr/bin/env python3
"""Benchmark: detection of malicious crate code and names (issue #14, item 8).

Positives: the benign reconstructions of real malicious crates in fixtures/malware/*/ (each with a
LABEL.md); the names listed in fixtures/malware/HELD_OUT are the held-out part, never tuned on
(their rows are printed one by one only with --show-held-out; their recall always).
Negatives: the real archives of the N most downloaded crates (data/popularity ranked list, newest
non-yanked version from the sparse index) and every registry crate of the corpus lockfiles
(fixtures/corpus/*/Cargo.lock), fetched through the registry into a cache directory (not
committed; cargo's own download cache is used first).

A crate is *flagged* by cargo-reflex when it has a high or critical finding whose code does not
start with `advisory-` (advisories know the real malicious names; this measures behaviour and
name alone). Printed: recall (tuning / held-out), false positives (listed), time per crate and in
total, cold (empty cargo-reflex cache) and warm (same cache again), and the same for
cargo-rustinel (`cargo-rustinel check --source-path DIR`) and GuardDog (`guarddog crates scan
DIR`) when they are installed, with the ratio of our cold time to rustinel's.

Usage: scripts/bench-detection.py [--top 500] [--no-corpus] [--cache DIR] [--no-build]
                                  [--tools reflex,rustinel,guarddog] [--others-limit N]
                                  [--fetch-only] [--show-held-out] [--json FILE]
Network: only to fetch index entries and archives missing from the cache.
"""
import argparse, concurrent.futures, csv, glob, hashlib, io, json, os, re, shutil, statistics
import subprocess, sys, tarfile, tempfile, time, tomllib, urllib.request

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--top", type=int, default=500, help="how many of the most downloaded crates (default 500)")
ap.add_argument("--no-corpus", action="store_true", help="skip the crates of the corpus lockfiles")
ap.add_argument("--cache", default=os.path.join(root, "target", "bench-detection"),
                help="archives, index entries and unpacked sources (default target/bench-detection)")
ap.add_argument("--no-build", action="store_true", help="use target/release/cargo-reflex as it is")
ap.add_argument("--tools", default="reflex,rustinel,guarddog", help="comma-separated; missing tools are skipped")
ap.add_argument("--others-limit", type=int, default=None,
                help="run rustinel and GuardDog on the positives and only the first N popular negatives")
ap.add_argument("--fetch-only", action="store_true", help="fill the cache and stop")
ap.add_argument("--jobs", type=int, default=8, help="parallel downloads (analysis runs one crate at a time)")
ap.add_argument("--show-held-out", action="store_true", help="print held-out rows one by one (only once tuning is over)")
ap.add_argument("--json", help="write every per-crate result to this file")
a = ap.parse_args()

cache = os.path.abspath(a.cache)
for d in ("crates", "index", "src", "positives"):
    os.makedirs(os.path.join(cache, d), exist_ok=True)
tools = set(t.strip() for t in a.tools.split(",") if t.strip())
UA = {"User-Agent": "cargo-reflex bench-detection (https://github.com/cargo-reflex/cargo-reflex)"}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Negatives: names, versions, archives
# ---------------------------------------------------------------------------------------------
def index_path(name):
    n = name.lower()
    if len(n) <= 2:
        return f"{len(n)}/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def http_get(url):
    req = urllib.request.Request(url, headers=UA)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def index_entries(name):
    """The sparse index lines of one crate (cached in cache/index)."""
    path = os.path.join(cache, "index", name.lower())
    if not os.path.exists(path):
        body = http_get("https://index.crates.io/" + index_path(name))
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.replace(path + ".tmp", path)
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def version_key(v):
    core, _, pre = v.partition("+")[0].partition("-")
    nums = tuple(int(x) if x.isdigit() else 0 for x in core.split("."))
    return (nums, 0 if pre else 1, pre)


def newest(name):
    entries = [e for e in index_entries(name) if not e.get("yanked")]
    stable = [e for e in entries if "-" not in e["vers"].partition("+")[0]]
    pick = max(stable or entries, key=lambda e: version_key(e["vers"]), default=None)
    return (pick["name"], pick["vers"], pick["cksum"]) if pick else None


def cargo_cached(name, version):
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    hits = glob.glob(os.path.join(home, "registry", "cache", "*", f"{name}-{version}.crate"))
    return hits[0] if hits else None


def archive(name, version, cksum):
    """Path of the .crate in our cache: copied from cargo's cache or downloaded; checksum verified."""
    path = os.path.join(cache, "crates", f"{name}-{version}.crate")
    if os.path.exists(path):
        return path
    local = cargo_cached(name, version)
    body = open(local, "rb").read() if local else http_get(f"https://static.crates.io/crates/{name}/{name}-{version}.crate")
    if cksum and hashlib.sha256(body).hexdigest() != cksum:
        raise RuntimeError(f"{name} {version}: checksum mismatch")
    with open(path + ".tmp", "wb") as f:
        f.write(body)
    os.replace(path + ".tmp", path)
    return path


def resolve(name):
    try:
        return newest(name)
    except Exception as e:  # a crate deleted since the ranking: reported, not fatal
        log(f"  no index entry for {name}: {e}")
        return None


def popular_names(n):
    with open(os.path.join(root, "data/popularity/top_crates_by_downloads_2024-03-18_ranked.csv")) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["rank"]))
    return [r["name"] for r in rows[:n]]


def corpus_packages():
    seen = {}
    for lock in sorted(glob.glob(os.path.join(root, "fixtures/corpus/*/Cargo.lock"))):
        with open(lock, "rb") as f:
            data = tomllib.load(f)
        for p in data.get("package", []):
            if p.get("source", "").startswith("registry+https://github.com/rust-lang/crates.io-index") or \
               p.get("source", "").startswith("sparse+https://index.crates.io"):
                seen.setdefault((p["name"], p["version"]), p.get("checksum"))
    return [(n, v, c) for (n, v), c in sorted(seen.items())]


def fetch_all(items, what):
    """items: [(name, version, cksum)] -> {(name, version): path}; failures are logged and skipped."""
    out, failed = {}, []
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futs = {pool.submit(archive, n, v, c): (n, v) for n, v, c in items}
        for i, fut in enumerate(concurrent.futures.as_completed(futs), 1):
            key = futs[fut]
            try:
                out[key] = fut.result()
            except Exception as e:  # network or checksum: reported, not fatal
                failed.append(f"{key[0]} {key[1]}: {e}")
            if i % 200 == 0:
                log(f"  {what}: {i}/{len(items)}")
    for f in failed:
        log(f"  could not fetch {f}")
    return out, failed


log(f"resolving the {a.top} most downloaded crates (sparse index, cached in {cache}/index)")
with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
    resolved = list(pool.map(lambda n: (n, resolve(n)), popular_names(a.top)))
popular_items = [r for _, r in resolved if r]
popular, popular_failed = fetch_all(popular_items, "popular")
corpus, corpus_failed = ({}, []) if a.no_corpus else fetch_all(corpus_packages(), "corpus")
log(f"negatives: {len(popular)} popular archives, {len(corpus)} corpus archives in {cache}/crates")
if a.fetch_only:
    sys.exit(0)
