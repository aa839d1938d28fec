#!/usr/bin/env python3
"""Benchmark: look-alike (typosquat) detection of `cargo reflex recon`, offline.

Recall: the malicious crate names of the RustSec advisory database labeled with the crate each
imitates (fixtures/lookalike/labels.tsv, rules in its header). A name counts as found when recon
flags it with `typosquat-suspect` naming the labeled crate (first or "also resembles"). Figures
for the tuning rows and the held-out rows apart, each over the rows whose target is in the
popularity corpus (the offline detector cannot know other crates) and over all rows.

False positives: recon on a lockfile of the top N popular crates themselves (default 2,000),
and on every real lockfile of the corpus (fixtures/corpus/*/Cargo.lock, its _historical/ and
--corpus directories; the same file twice counts once): any `typosquat-suspect` there is
listed, and counted per 1,000 distinct crate names and per 1,000 locked packages.

Usage: scripts/bench-lookalike.py [--popular-top N] [--corpus DIR ...] [--show-held-out] [--no-build]
No network: recon runs with --offline --no-fetch and a private, empty cache directory.
"""
import argparse, csv, glob, hashlib, json, os, re, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--popular-top", type=int, default=2000)
ap.add_argument("--corpus", action="append", default=[], help="more directories holding */Cargo.lock (e.g. ../shared/data/corpus)")
ap.add_argument("--show-held-out", action="store_true", help="print the held-out rows one by one (only once tuning is over)")
ap.add_argument("--no-build", action="store_true")
a = ap.parse_args()

if not a.no_build:
    subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
exe = os.path.join(root, "target/release/cargo-reflex")
work = tempfile.mkdtemp(prefix="reflex-bench-lookalike-")
cache = os.path.join(work, "cache")


def canonical(name):
    return name.lower().replace("-", "_")


def recon(lockfile):
    """The typosquat findings of an offline recon: {package name: [imitated names]}, and the wall time."""
    start = time.monotonic()
    r = subprocess.run([exe, "recon", "--file", lockfile, "--offline", "--no-fetch", "--cache-dir", cache,
                        "--format", "json", "--deny", "none", "--color", "never"], capture_output=True, text=True)
    wall = time.monotonic() - start
    if r.returncode not in (0, 1):
        sys.exit(f"recon {lockfile} failed ({r.returncode}): {r.stderr}")
    found = {}
    for f in json.loads(r.stdout)["findings"]:
        if f["code"] != "typosquat-suspect":
            continue
        targets = re.findall(r"may imitate `([^`]+)`", f["title"])
        for e in f.get("evidence", []):
            targets += re.findall(r"^also resembles `([^`]+)`", e)
        found[f["package"]["name"]] = (targets, f.get("evidence", [""])[0])
    return found, wall


def synthetic_lockfile(path, names):
    """A lockfile whose root depends on each name, all from crates.io."""
    out = ['version = 4', '', '[[package]]', 'name = "bench-root"', 'version = "0.1.0"', 'dependencies = [']
    out += [f' "{n}",' for n in sorted(names)] + [']']
    for n in sorted(names):
        checksum = hashlib.sha256(n.encode()).hexdigest()
        out += ['', '[[package]]', f'name = "{n}"', 'version = "0.1.0"',
                'source = "registry+https://github.com/rust-lang/crates.io-index"', f'checksum = "{checksum}"']
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# The popularity corpus as the product embeds it.
popular = {}
with open(os.path.join(root, "data/popularity/top_crates_by_downloads_2024-03-18_ranked.csv")) as f:
    ranked = list(csv.DictReader(f))
for row in ranked:
    popular.setdefault(canonical(row["name"]), int(row["rank"]))
with open(os.path.join(root, "data/popularity/lockvet__crates_top2500_by_downloads_len4plus_2026-08-06.txt")) as f:
    for line in f:
        if line.strip():
            popular.setdefault(canonical(line.strip()), None)

# --- Recall on the labeled malicious names -------------------------------------------------
rows = []
with open(os.path.join(root, "fixtures/lookalike/labels.tsv")) as f:
    lines = [l.rstrip("\n") for l in f if not l.startswith("#") and l.strip()]
header = lines[0].split("\t")
for l in lines[1:]:
    rows.append(dict(zip(header, l.split("\t"))))
scored = [r for r in rows if r["rule"] != "excluded"]
lock = os.path.join(work, "malicious.lock")
synthetic_lockfile(lock, [r["name"] for r in rows])
found, _ = recon(lock)

print(f"look-alike recall on {len(scored)} labeled malicious names of the advisory database "
      f"({len(rows) - len(scored)} more malicious names imitate no identifiable crate and are not scored)")
for split in ("tuning", "held-out"):
    part = [r for r in scored if r["split"] == split]
    in_corpus = [r for r in part if canonical(r["target"]) in popular]
    hit = lambda r: r["name"] in found and canonical(r["target"]) in map(canonical, found[r["name"]][0])
    h_in, h_all = sum(map(hit, in_corpus)), sum(map(hit, part))
    print(f"  {split:8}: {h_in}/{len(in_corpus)} = {100 * h_in / max(1, len(in_corpus)):.0f}% with the target in the corpus "
          f"(target 90%: {'ok' if h_in >= 0.9 * len(in_corpus) else 'MISSED'}); {h_all}/{len(part)} = {100 * h_all / max(1, len(part)):.0f}% of all")
    if split == "tuning" or a.show_held_out:
        for r in part:
            status = "found" if hit(r) else ("WRONG TARGET" if r["name"] in found else "MISSED")
            where = "" if canonical(r["target"]) in popular else "  (target not in the corpus)"
            got = found.get(r["name"], ([], ""))
            print(f"    {status:12} {r['name']} -> {r['target']}{where}  {', '.join(got[0])} {got[1]}")
flagged_excluded = [r["name"] for r in rows if r["rule"] == "excluded" and r["name"] in found]
print(f"  unscored malicious names flagged anyway: {len(flagged_excluded)} {' '.join(flagged_excluded)}")

# --- False positives on the popular crates themselves --------------------------------------
top = [row["name"] for row in ranked if int(row["rank"]) <= a.popular_top]
lock = os.path.join(work, "popular.lock")
synthetic_lockfile(lock, top)
found, wall = recon(lock)
print(f"\nfalse positives on the {len(top)} most downloaded crates: {len(found)} "
      f"(recon of that {len(top) + 1}-package lockfile: {wall:.2f} s)")
for name, (targets, technique) in sorted(found.items()):
    print(f"    {name} -> {', '.join(targets)}  [{technique}]")

# --- False positives on the real lockfiles --------------------------------------------------
dirs = [os.path.join(root, "fixtures/corpus")] + a.corpus
locks, seen = [], set()
for d in dirs:
    for p in sorted(glob.glob(os.path.join(d, "*/Cargo.lock")) + glob.glob(os.path.join(d, "_historical/*.lock"))):
        digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            locks.append(p)
names, packages, flagged = set(), 0, {}
for p in locks:
    text = open(p).read()
    for block in text.split("[[package]]")[1:]:
        n = re.search(r'^name = "([^"]+)"', block, re.M)
        s = re.search(r'^source = "([^"]+)"', block, re.M)
        if n and s and s.group(1).startswith("registry+"):
            names.add(n.group(1))
            packages += 1
    found, _ = recon(p)
    for name, v in found.items():
        flagged.setdefault(name, (v, []))[1].append(os.path.relpath(p, root))
occurrences = sum(len(v[1]) for v in flagged.values())
print(f"\nfalse positives on {len(locks)} real lockfiles ({len(names)} distinct registry crates, {packages} locked packages): "
      f"{len(flagged)} names = {1000 * len(flagged) / max(1, len(names)):.2f} per 1,000 names, "
      f"{occurrences} packages = {1000 * occurrences / max(1, packages):.2f} per 1,000 packages (target 1 per 1,000)")
for name, ((targets, technique), where) in sorted(flagged.items()):
    print(f"    {name} -> {', '.join(targets)}  [{technique}]  in {', '.join(where)}")
