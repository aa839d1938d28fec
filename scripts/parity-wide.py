#!/usr/bin/env python3
"""Wider parity check against cargo-audit, beyond the committed corpus fixtures.

Audits every Cargo.lock found under the given directories (default: the published crates in
cargo's registry source cache, ~/.cargo/registry/src/*/*/Cargo.lock) with cargo-audit and with
cargo-reflex, same database, no network, and prints any difference in (advisory, package,
version). Needs cargo-audit on PATH. Not part of CI.
"""
import glob, json, os, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
db = os.path.join(root, "data/advisory-db")
reflex = os.path.join(root, "target/release/cargo-reflex")
subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
dirs = sys.argv[1:] or glob.glob(os.path.expanduser("~/.cargo/registry/src/*"))
locks = sorted(l for d in dirs for l in glob.glob(os.path.join(d, "*", "Cargo.lock")))
mismatches = matches = audited = 0
for lock in locks:
    a = subprocess.run(["cargo-audit", "audit", "--db", db, "--no-fetch", "--no-yanked", "--stale", "--json", "--file", lock], capture_output=True, text=True)
    try:
        peer = json.loads(a.stdout)
    except json.JSONDecodeError:
        continue  # cargo-audit could not read it; nothing to compare
    expected = {(v["advisory"]["id"], v["package"]["name"], v["package"]["version"]) for v in peer["vulnerabilities"]["list"]}
    for warnings in peer["warnings"].values():
        expected |= {(w["advisory"]["id"], w["package"]["name"], w["package"]["version"]) for w in warnings if w.get("advisory")}
    b = subprocess.run([reflex, "audit", "--file", lock, "--advisory-db", db, "--offline", "--no-yanked", "--format", "json", "--deny", "none"], capture_output=True, text=True)
    ours = {(f["advisory"]["id"], f["package"]["name"], f["package"]["version"]) for f in json.loads(b.stdout)["findings"] if f.get("advisory")}
    audited += 1
    matches += len(expected)
    if ours != expected:
        mismatches += 1
        print(f"{lock}: missing {sorted(expected - ours)} extra {sorted(ours - expected)}")
print(f"lockfiles {audited}, advisory matches {matches}, mismatches {mismatches}")
