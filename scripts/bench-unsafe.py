#!/usr/bin/env python3
"""Benchmark: cargo-reflex's unsafe scan (part of `recon`, reads .crate archives, compiles
nothing) against cargo-geiger (which builds the project) on a real project's full dependency
tree. Prints both wall times and peak memory, the ratio, and the counts side by side.

Usage: scripts/bench-unsafe.py [PROJECT_DIR]
Default project: abscissa_core 0.9.0 (87 packages) from cargo's registry source cache, copied
to a scratch directory. Needs cargo-geiger 0.13.0 (`cargo install --locked cargo-geiger
--version 0.13.0`) and GNU time (`apt-get install time`); not part of CI.
"""
import glob, json, os, shutil, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
reflex = os.path.join(root, "target/release/cargo-reflex")
scratch = tempfile.mkdtemp(prefix="reflex-unsafe-bench-")
if len(sys.argv) > 1:
    project = sys.argv[1]
else:
    src = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/abscissa_core-0.9.0")))
    if not src:
        sys.exit("abscissa_core-0.9.0 is not in cargo's registry cache: pass a project directory")
    project = os.path.join(scratch, "project")
    shutil.copytree(src[0], project)

def timed(cmd, cwd, out):
    with open(out, "w") as f:
        r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, cwd=cwd, stdout=f, stderr=subprocess.PIPE, text=True)
    wall, rss = r.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss) / 1024

# cargo-geiger compiles; run it first so cargo's download cache holds every archive, then
# cargo-reflex reads the same archives (offline, cold analysis cache).
g_wall, g_rss = timed(["cargo", "geiger", "--output-format", "Json"], project, os.path.join(scratch, "geiger.json"))
r_wall, r_rss = timed([reflex, "recon", "--offline", "--no-fetch", "--format", "json", "--deny", "none",
                       "--cache-dir", os.path.join(scratch, "cache")], project, os.path.join(scratch, "reflex.json"))
geiger = json.load(open(os.path.join(scratch, "geiger.json")))
ours = json.load(open(os.path.join(scratch, "reflex.json")))

def g_counts(u):
    s = lambda k: u["used"][k]["unsafe_"] + u["unused"][k]["unsafe_"]
    return {"fns": s("functions") + s("methods"), "impls": s("item_impls"), "traits": s("item_traits"), "exprs": s("exprs"), "forbid": u["forbids_unsafe"]}

g = {(p["package"]["id"]["name"], p["package"]["id"]["version"]): g_counts(p["unsafety"]) for p in geiger["packages"]}
rows = {(c["name"], c["version"]): c for c in ours["crates"] if "unsafe_total" in c}
print(f"project: {project} ({ours['target']['package_count']} packages)")
print(f"  cargo-geiger 0.13.0 (builds)        {g_wall:7.2f} s  {g_rss:7.1f} MiB")
print(f"  cargo-reflex recon (cold, offline)  {r_wall:7.2f} s  {r_rss:7.1f} MiB   {g_wall / r_wall:.1f}x faster, memory ratio {r_rss / g_rss:.2f}")
# Per-crate unsafe detail comes from the JSON crate rows; re-read archives' counts via analysis cache.
cache = glob.glob(os.path.join(scratch, "cache", "analysis-*", "*.json"))
detail = {}
for path in cache:
    a = json.load(open(path))
    base = os.path.basename(path)[:-5]
    name_version = base.rsplit("-", 1)[0]
    for (n, v) in rows:
        if name_version == f"{n}-{v}":
            detail[(n, v)] = a
agree = {"fns": 0, "impls": 0, "traits": 0, "forbid": 0}
compared = 0
print(f"\n  {'crate':34} {'geiger fns':>10} {'ours fns':>8} {'g impls':>7} {'o impls':>7} {'g traits':>8} {'o traits':>8} {'g exprs':>7} {'o blocks':>8} {'g forbid':>8} {'o forbid':>8}")
for key in sorted(set(g) & set(detail)):
    gc, a = g[key], detail[key]
    oc = a["unsafe_counts"]
    o = {"fns": oc["functions"], "impls": oc["impls"], "traits": oc["traits"], "forbid": a["forbids_unsafe"]}
    compared += 1
    for k in agree:
        agree[k] += gc[k] == o[k]
    if gc["fns"] or o["fns"] or gc["impls"] or o["impls"] or gc["exprs"] or oc["blocks"]:
        print(f"  {key[0] + ' ' + key[1]:34} {gc['fns']:>10} {o['fns']:>8} {gc['impls']:>7} {o['impls']:>7} {gc['traits']:>8} {o['traits']:>8} {gc['exprs']:>7} {oc['blocks']:>8} {str(gc['forbid']):>8} {str(o['forbid']):>8}")
print(f"\n  crates compared: {compared}; equal counts: unsafe fns+methods {agree['fns']}, impls {agree['impls']}, traits {agree['traits']}, forbid(unsafe_code) {agree['forbid']}")
print("  (geiger counts unsafe *expressions*, cargo-reflex unsafe *blocks*; geiger scans only files the build used,")
print("   cargo-reflex every non-test source of the archive, so platform-specific files count here too.)")
