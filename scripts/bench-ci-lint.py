#!/usr/bin/env python3
"""Compare cargo-reflex's CI lint with zizmor on the corpus workflows (never run by CI).

For every corpus project with GitHub workflows, runs `cargo reflex audit` (offline, JSON,
CI findings only) and `zizmor --offline` on the same `.github/workflows/`, then prints a
side-by-side table: per file, our codes, zizmor's audits, and where they agree or differ,
followed by totals per category. Occurrences are counted per line: our grouped findings
(`ci-action-unpinned`, `ci-action-archived`: one finding per reference and file with every
line in the evidence) are expanded to one occurrence per line, as zizmor reports them.

Agreement: same file and category, lines within --tolerance; then, per file and category,
leftover occurrences of both tools are paired as "same file, other line" (both tools saw
the problem but point at different lines, e.g. the `env:` holding a token vs the `run:`).

zizmor is optional: without it (`pip install zizmor`) only our side is printed. zizmor runs
with --offline (no network, no GitHub token passed), --no-config and --no-ignores (inline
`# zizmor: ignore[...]` comments are skipped, so both tools judge the same text), regular
persona unless --persona says otherwise.

Usage: scripts/bench-ci-lint.py [--corpus DIR] [--reflex BIN] [--persona regular|auditor]
                                [--json] [--tolerance N] [--details]
"""
import argparse, collections, json, os, re, shutil, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--corpus", default=os.path.join(root, "fixtures/corpus"))
ap.add_argument("--reflex", help="cargo-reflex binary (default: build the workspace's, debug)")
ap.add_argument("--zizmor", default="zizmor")
ap.add_argument("--persona", default="regular", choices=["regular", "pedantic", "auditor"])
ap.add_argument("--tolerance", type=int, default=3, help="lines apart that still agree")
ap.add_argument("--details", action="store_true", help="list every disagreement")
ap.add_argument("--json", action="store_true", help="print the comparison as JSON")
a = ap.parse_args()

# Our codes and zizmor's audits that look at the same problem.
CATEGORIES = {
    "pinned actions": ({"ci-action-unpinned"}, {"unpinned-uses"}),
    "archived actions": ({"ci-action-archived"}, {"archived-uses"}),
    "cache poisoning": ({"ci-cache-in-release"}, {"cache-poisoning"}),
    "trusted publishing": ({"ci-static-registry-token"}, {"use-trusted-publishing"}),
    "template injection": ({"ci-template-injection"}, {"template-injection"}),
    "untrusted checkout / triggers": ({"ci-pull-request-target-checkout"}, {"dangerous-triggers"}),
    "permissions": ({"ci-permissions-broad", "ci-permissions-missing"}, {"excessive-permissions", "undocumented-permissions"}),
    "literal credentials": ({"ci-hardcoded-credential"}, {"hardcoded-container-credentials"}),
}


def category(tool, code):
    for name, (ours, theirs) in CATEGORIES.items():
        if code in (ours if tool == "ours" else theirs):
            return name
    return None


_built = []


def reflex_binary():
    """--reflex, or the workspace's binary built (debug, so it is current) on first use."""
    if a.reflex:
        return a.reflex
    if not _built:
        subprocess.run(["cargo", "build", "--locked", "-q", "-p", "cargo-reflex"], cwd=root, check=True)
        _built.append(os.path.join(root, "target/debug/cargo-reflex"))
    return _built[0]


def rel(project, path):
    i = path.find(".github/")
    return path[i:] if i >= 0 else os.path.relpath(path, project)


def ours(project):
    """(file, line, code, severity) occurrences of our CI findings."""
    run = subprocess.run(
        [reflex_binary(), "audit", "--manifest-path", os.path.join(project, "Cargo.toml"),
         "--offline", "--no-yanked", "--format", "json", "--now", "2026-11-25", "--color", "never"],
        cwd=root, capture_output=True, text=True, env=clean_env())
    if run.returncode == 2:
        sys.exit(f"cargo-reflex failed on {project}:\n{run.stderr}")
    out = []
    for f in json.loads(run.stdout)["findings"]:
        if not f["code"].startswith("ci-") or "location" not in f:
            continue
        path = rel(project, f["location"]["path"])
        lines = {f["location"].get("line") or 0}
        for e in f.get("evidence", []):
            m = re.search(r"at lines ([\d, ]+)", e)
            if m:
                lines |= {int(x) for x in m.group(1).split(",")}
        out += [(path, line, f["code"], f["severity"]) for line in sorted(lines)]
    return out


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    env["ZIZMOR_OFFLINE"] = "1"
    env["NO_COLOR"] = "1"
    return env


def zizmor(project):
    """(file, line, audit, severity) of zizmor's findings, or None without zizmor."""
    if not shutil.which(a.zizmor):
        return None
    run = subprocess.run(
        [a.zizmor, "--offline", "--no-config", "--no-ignores", "--no-progress",
         "--persona", a.persona, "--format", "json", os.path.join(project, ".github/workflows")],
        capture_output=True, text=True, env=clean_env())
    # zizmor exits 10-14 when it finds something; 1 or 2 are errors.
    if run.returncode not in (0, 10, 11, 12, 13, 14):
        sys.exit(f"zizmor failed on {project} ({run.returncode}):\n{run.stderr[-2000:]}")
    out = []
    for f in json.loads(run.stdout or "[]"):
        for loc in f["locations"]:
            if loc["symbolic"]["kind"] != "Primary":
                continue
            path = rel(project, loc["symbolic"]["key"]["Local"]["verbatim_path"])
            line = loc["concrete"]["location"]["start_point"]["row"] + 1
            out.append((path, line, f["ident"], f["determinations"]["severity"].lower()))
            break
    return out


def compare(mine, theirs):
    """Per (file, category): agreed pairs (near lines), same-file pairs, and leftovers."""
    result = collections.defaultdict(lambda: {"agree": [], "same_file": [], "ours": [], "zizmor": []})
    by = collections.defaultdict(lambda: ([], []))
    for o in mine:
        by[(o[0], category("ours", o[2]) or "ours: " + o[2])][0].append(o)
    for z in theirs:
        by[(z[0], category("zizmor", z[2]) or "zizmor: " + z[2])][1].append(z)
    for key, (os_, zs) in by.items():
        r = result[key]
        zs = list(zs)
        left = []
        for o in os_:
            near = [z for z in zs if abs(z[1] - o[1]) <= a.tolerance]
            if near and not key[1].startswith(("ours:", "zizmor:")):
                z = min(near, key=lambda z: abs(z[1] - o[1]))
                zs.remove(z)
                r["agree"].append((o, z))
            else:
                left.append(o)
        if not key[1].startswith(("ours:", "zizmor:")):
            while left and zs:
                r["same_file"].append((left.pop(0), zs.pop(0)))
        r["ours"] += left
        r["zizmor"] += zs
    return result


projects = sorted(
    os.path.join(a.corpus, d) for d in os.listdir(a.corpus)
    if os.path.isdir(os.path.join(a.corpus, d, ".github", "workflows")))
have_zizmor = shutil.which(a.zizmor) is not None
if have_zizmor:
    version = subprocess.run([a.zizmor, "--version"], capture_output=True, text=True).stdout.strip()
else:
    version = None
    print("zizmor not found (pip install zizmor): printing cargo-reflex's side only\n", file=sys.stderr)

rows = []
totals = collections.defaultdict(lambda: collections.Counter())
files_seen = 0
for project in projects:
    name = os.path.basename(project)
    mine = ours(project)
    theirs = zizmor(project) or []
    files = sorted(f for f in os.listdir(os.path.join(project, ".github/workflows"))
                   if f.endswith((".yml", ".yaml")))
    files_seen += len(files)
    cmp = compare(mine, theirs)
    for f in files:
        path = ".github/workflows/" + f
        o = collections.Counter(x[2] for x in mine if x[0] == path)
        z = collections.Counter(x[2] for x in theirs if x[0] == path)
        agree = sum(len(v["agree"]) for (p, _), v in cmp.items() if p == path)
        same = sum(len(v["same_file"]) for (p, _), v in cmp.items() if p == path)
        only_o = collections.Counter()
        only_z = collections.Counter()
        for (p, cat), v in cmp.items():
            if p != path:
                continue
            for x in v["ours"]:
                only_o[x[2]] += 1
            for x in v["zizmor"]:
                only_z[x[2]] += 1
        rows.append({"project": name, "file": f, "ours": dict(o), "zizmor": dict(z),
                     "agree": agree, "same_file": same, "only_ours": dict(only_o),
                     "only_zizmor": dict(only_z),
                     "disagreements": [
                         {"category": cat, "ours": v["ours"], "zizmor": v["zizmor"]}
                         for (p, cat), v in cmp.items() if p == path and (v["ours"] or v["zizmor"])]})
    for (p, cat), v in cmp.items():
        t = totals[cat]
        t["agree"] += len(v["agree"])
        t["same_file"] += len(v["same_file"])
        t["ours_only"] += len(v["ours"])
        t["zizmor_only"] += len(v["zizmor"])
        t["ours"] += len(v["agree"]) + len(v["same_file"]) + len(v["ours"])
        t["zizmor"] += len(v["agree"]) + len(v["same_file"]) + len(v["zizmor"])

if a.json:
    json.dump({"zizmor": version, "files": files_seen, "rows": rows,
               "totals": {k: dict(v) for k, v in totals.items()}}, sys.stdout, indent=1)
    print()
    sys.exit(0)


def fmt(counter):
    return ", ".join(f"{k.removeprefix('ci-')}:{n}" for k, n in sorted(counter.items())) or "-"


print(f"cargo-reflex CI lint vs {version or 'zizmor (not installed)'} on {files_seen} workflow files "
      f"of {len(projects)} projects ({os.path.relpath(a.corpus, root)})\n")
print("| file | cargo-reflex | zizmor | agree | same file | only cargo-reflex | only zizmor |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if not r["ours"] and not r["zizmor"]:
        continue
    print(f"| {r['project']}/{r['file']} | {fmt(r['ours'])} | {fmt(r['zizmor'])} | {r['agree']} | "
          f"{r['same_file']} | {fmt(r['only_ours'])} | {fmt(r['only_zizmor'])} |")
    if a.details:
        for d in r["disagreements"]:
            for x in d["ours"]:
                print(f"|  | only cargo-reflex {d['category']}: line {x[1]} {x[2]} ({x[3]}) | | | | | |")
            for x in d["zizmor"]:
                print(f"|  | | only zizmor {d['category']}: line {x[1]} {x[2]} ({x[3]}) | | | | |")

ours_total = sum(t["ours"] for t in totals.values())
zizmor_total = sum(t["zizmor"] for t in totals.values())
print(f"\noccurrences: cargo-reflex {ours_total}, zizmor {zizmor_total}\n")
print("| category | cargo-reflex | zizmor | agree (line) | agree (same file) | only cargo-reflex | only zizmor |")
print("|---|---|---|---|---|---|---|")
shared = [c for c in totals if not c.startswith(("ours:", "zizmor:"))]
for cat in sorted(shared) + sorted(c for c in totals if c.startswith("ours:")) + \
        sorted(c for c in totals if c.startswith("zizmor:")):
    t = totals[cat]
    print(f"| {cat} | {t['ours']} | {t['zizmor']} | {t['agree']} | {t['same_file']} | "
          f"{t['ours_only']} | {t['zizmor_only']} |")
