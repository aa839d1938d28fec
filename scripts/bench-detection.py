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

With --batch-only, only the speed target is measured: one `recon` over a lockfile of the
popular crates, cold (empty cargo-reflex cache) then warm, and rustinel's one `check` of the same
crates, interleaved --runs times; medians, the ratio and the load average are printed.
--skip-top K takes the popular negatives from ranks K+1..K+N (a held-out negative set:
`--skip-top 500 --top 500`).

Usage: scripts/bench-detection.py [--top 500] [--skip-top K] [--no-corpus] [--cache DIR] [--no-build]
                                  [--tools reflex,rustinel,guarddog] [--others-limit N]
                                  [--fetch-only] [--show-held-out] [--json FILE]
       scripts/bench-detection.py --batch-only [--runs 3] [--exe PATH] [--findings FILE] ...
Network: only to fetch index entries and archives missing from the cache.
"""
import argparse, concurrent.futures, csv, glob, hashlib, io, json, os, re, shutil, statistics
import subprocess, sys, tarfile, tempfile, time, tomllib, urllib.request

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--top", type=int, default=500, help="how many of the most downloaded crates (default 500)")
ap.add_argument("--skip-top", type=int, default=0, metavar="K",
                help="take the popular crates from rank K+1 on (held-out negatives: --skip-top 500 --top 500)")
ap.add_argument("--batch-only", action="store_true",
                help="only time one recon (cold, warm) over the popular lockfile against rustinel's one check")
ap.add_argument("--runs", type=int, default=3, help="--batch-only: interleaved runs of each tool (medians)")
ap.add_argument("--exe", help="the cargo-reflex binary (default target/release/cargo-reflex, built first)")
ap.add_argument("--findings", help="--batch-only: write the first cold run's findings (JSON) to this file")
ap.add_argument("--no-corpus", action="store_true", help="skip the crates of the corpus lockfiles")
ap.add_argument("--cache", default=os.path.join(root, "target", "bench-detection"),
                help="archives, index entries and unpacked sources (default target/bench-detection)")
ap.add_argument("--no-build", action="store_true", help="use target/release/cargo-reflex as it is")
ap.add_argument("--tools", default="reflex,rustinel,guarddog", help="comma-separated; missing tools are skipped")
ap.add_argument("--others-limit", type=int, default=None,
                help="run rustinel and GuardDog on the positives and only the first N popular negatives")
ap.add_argument("--fetch-only", action="store_true", help="fill the cache and stop")
ap.add_argument("--list", metavar="FILE", help="write the popular negatives (name, version, archive; tab-separated) and stop")
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


def popular_names(n, skip=0):
    with open(os.path.join(root, "data/popularity/top_crates_by_downloads_2024-03-18_ranked.csv")) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["rank"]))
    return [r["name"] for r in rows[skip:skip + n]]


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


ranks = f"ranks {a.skip_top + 1}..{a.skip_top + a.top}" if a.skip_top else f"the {a.top} most downloaded crates"
log(f"resolving {ranks} (sparse index, cached in {cache}/index)")
with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
    resolved = list(pool.map(lambda n: (n, resolve(n)), popular_names(a.top, a.skip_top)))
popular_items = [r for _, r in resolved if r]
popular, popular_failed = fetch_all(popular_items, "popular")
no_corpus = a.no_corpus or a.batch_only
corpus, corpus_failed = ({}, []) if no_corpus else fetch_all(corpus_packages(), "corpus")
log(f"negatives: {len(popular)} popular archives, {len(corpus)} corpus archives in {cache}/crates")
if a.fetch_only:
    sys.exit(0)
popular_list = [(n, v, popular[(n, v)]) for n, v, _ in popular_items if (n, v) in popular]
corpus_list = [(n, v, p) for (n, v), p in sorted(corpus.items())]
if a.list:
    with open(a.list, "w") as f:
        f.writelines(f"{n}\t{v}\t{p}\n" for n, v, p in popular_list)
    sys.exit(0)


# ---------------------------------------------------------------------------------------------
# Shared by both modes: timing, lockfiles over a fake CARGO_HOME, unpacked sources for rustinel
# ---------------------------------------------------------------------------------------------
def run(cmd, env=None, cwd=None):
    start = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    return r, time.monotonic() - start


exe = os.path.abspath(a.exe) if a.exe else os.path.join(root, "target", "release", "cargo-reflex")
fake_home = tempfile.mkdtemp(prefix="reflex-bench-detection-cargo-home-")
fake_registry = os.path.join(fake_home, "registry", "cache", "index.crates.io-0000000000000000")
os.makedirs(fake_registry)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def lock_text(items, checksum):
    """A lockfile whose root depends on each (name, version, archive), all from crates.io."""
    out = ["version = 4", "", "[[package]]", 'name = "detection-bench-root"', 'version = "0.0.0"', "dependencies = ["]
    multi = {}
    for n, v, _ in items:
        multi[n] = multi.get(n, 0) + 1
    out += [f' "{n} {v}",' if multi[n] > 1 else f' "{n}",' for n, v, _ in items] + ["]"]
    for n, v, p in items:
        out += ["", "[[package]]", f'name = "{n}"', f'version = "{v}"',
                'source = "registry+https://github.com/rust-lang/crates.io-index"', f'checksum = "{checksum(p)}"']
    return "\n".join(out) + "\n"


def lockfile(path, items):
    """A lockfile of `items` for cargo-reflex, their archives linked into the fake CARGO_HOME."""
    for n, v, p in items:
        dst = os.path.join(fake_registry, os.path.basename(p))
        if not os.path.exists(dst):
            os.symlink(p, dst)
    with open(path, "w") as f:
        f.write(lock_text(items, sha256))


def unpack(path):
    """Sources unpacked under cache/src/<name>-<version>/ (for tools that read directories)."""
    base = os.path.basename(path)[: -len(".crate")]
    target = os.path.join(cache, "src", base)
    if not os.path.isdir(target):
        tmp = target + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        with tarfile.open(path) as tar:
            tar.extractall(tmp, filter="data")
        inner = os.path.join(tmp, base)
        os.replace(inner if os.path.isdir(inner) else tmp, target)
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def rustinel_lock(path, items):
    """A lockfile of `items` for rustinel, which reads <cache>/src/<name>-<version>/ (no links)."""
    for _, _, p in items:
        unpack(p)
    with open(path, "w") as f:
        f.write(lock_text(items, lambda p: "0" * 64))


def rustinel_cmd(lock):
    return [rustinel, "rustinel", "check", "--lockfile", lock, "--source-path", os.path.join(cache, "src"),
            "--offline", "--advisory-db", os.path.join(root, "data", "advisory-db"), "--format", "json",
            "--no-timestamp"]


def reflex_batch_cmd(lock, reflex_cache):
    return [exe, "recon", "--file", lock, "--offline", "--no-fetch", "--cache-dir", reflex_cache,
            "--format", "json", "--deny", "none", "--color", "never"]


env = dict(os.environ, CARGO_HOME=fake_home)
rustinel = shutil.which("cargo-rustinel")
if (a.batch_only or "reflex" in tools) and not a.no_build and not a.exe:
    subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"], cwd=root, check=True)


def batch_only():
    """Interleaved cold/warm recon and rustinel check over the popular crates; medians."""
    lock = os.path.join(fake_home, "popular.lock")
    lockfile(lock, popular_list)
    r_lock = os.path.join(fake_home, "popular-rustinel.lock")
    if rustinel and "rustinel" in tools:
        rustinel_lock(r_lock, popular_list)
    times = {"cold": [], "warm": [], "rustinel": []}
    loads = [os.getloadavg()[0]]
    for i in range(a.runs):
        reflex_cache = tempfile.mkdtemp(prefix="reflex-bench-detection-batch-")
        for phase in ("cold", "warm"):
            r, wall = run(reflex_batch_cmd(lock, reflex_cache), env=env)
            if r.returncode not in (0, 1):
                sys.exit(f"recon failed ({r.returncode}): {r.stderr.strip()[:500]}")
            times[phase].append(wall)
            if phase == "cold" and i == 0 and a.findings:
                with open(a.findings, "w") as f:
                    f.write(r.stdout)
        shutil.rmtree(reflex_cache, ignore_errors=True)
        if rustinel and "rustinel" in tools:
            r, wall = run(rustinel_cmd(r_lock))
            if not r.stdout.strip().startswith("{"):
                sys.exit(f"rustinel failed ({r.returncode}): {r.stderr.strip()[:500]}")
            times["rustinel"].append(wall)
        loads.append(os.getloadavg()[0])
        log(f"  run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in times.items() if v)
            + f" (load {loads[-1]:.2f})")
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"# Batch timing, {len(popular_list)} crates ({ranks}), {a.runs} interleaved runs, medians")
    print(f"cargo-reflex: {exe}")
    print(f"- reflex one recon cold: {med['cold']:.2f} s (runs {', '.join(f'{t:.2f}' for t in times['cold'])})")
    print(f"- reflex one recon warm: {med['warm']:.2f} s (runs {', '.join(f'{t:.2f}' for t in times['warm'])})")
    if "rustinel" in med:
        print(f"- rustinel one check: {med['rustinel']:.2f} s (runs {', '.join(f'{t:.2f}' for t in times['rustinel'])})")
        print(f"- ratio reflex cold / rustinel: {med['cold'] / med['rustinel']:.2f}x (target <= 1.5x)")
    print(f"- load average (1 min) before and after each run: {', '.join(f'{x:.2f}' for x in loads)};"
          f" cores: {os.cpu_count()}")
    shutil.rmtree(fake_home, ignore_errors=True)


if a.batch_only:
    batch_only()
    sys.exit(0)


# ---------------------------------------------------------------------------------------------
# Positives: fixture directories packed into .crate archives (as the registry would serve them)
# ---------------------------------------------------------------------------------------------
def manifest_of(d):
    with open(os.path.join(d, "Cargo.toml"), "rb") as f:
        pkg = tomllib.load(f)["package"]
    return pkg["name"], str(pkg["version"])


def pack(d, out_dir):
    """A .crate (gzip tar, `name-version/` prefix, fixed mtimes) of a fixture directory."""
    name, version = manifest_of(d)
    path = os.path.join(out_dir, f"{name}-{version}.crate")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for base, dirs, files in os.walk(d):
            dirs.sort()
            for fn in sorted(files):
                if fn == "LABEL.md":
                    continue  # the label is ours, not part of the imitated crate
                full = os.path.join(base, fn)
                info = tar.gettarinfo(full, arcname=f"{name}-{version}/{os.path.relpath(full, d)}")
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(full, "rb") as f:
                    tar.addfile(info, f)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return name, version, path


mal_dir = os.path.join(root, "fixtures", "malware")
with open(os.path.join(mal_dir, "HELD_OUT")) as f:
    held_out = {l.strip() for l in f if l.strip() and not l.startswith("#")}
positives = []  # (dir name, crate name, version, archive, split)
for d in sorted(glob.glob(os.path.join(mal_dir, "*", "LABEL.md"))):
    d = os.path.dirname(d)
    name, version, path = pack(d, os.path.join(cache, "positives"))
    positives.append((os.path.basename(d), name, version, path, "held-out" if os.path.basename(d) in held_out else "tuning"))
    shutil.rmtree(os.path.join(cache, "src", f"{name}-{version}"), ignore_errors=True)  # re-unpacked from the fixture
missing = held_out - {p[0] for p in positives}
if missing:
    sys.exit(f"HELD_OUT names without a fixture: {sorted(missing)}")
log(f"positives: {len(positives)} ({sum(p[4] == 'tuning' for p in positives)} tuning, {len(held_out)} held-out)")



# ---------------------------------------------------------------------------------------------
# cargo-reflex
# ---------------------------------------------------------------------------------------------
def is_flag(f):
    return f.get("severity") in ("high", "critical") and not f.get("code", "").startswith("advisory-")


results = {"positives": {}, "popular": {}, "corpus": {}, "timing": {}, "tools": {}}
if "reflex" in tools:
    help_r = subprocess.run([exe, "inspect", "--help"], capture_output=True, text=True)
    inspect_flags = help_r.stdout if help_r.returncode == 0 else None
    results["tools"]["reflex"] = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    reflex_cache = tempfile.mkdtemp(prefix="reflex-bench-detection-cache-")
    env = dict(env, CARGO_REFLEX_CACHE=reflex_cache)

    def reflex_one(name, version, path):
        """Findings of one crate: `inspect <archive>` when the binary has it, else recon of a one-crate lockfile."""
        if inspect_flags is not None:
            cmd = [exe, "inspect", path, "--format", "json"]
            for flag, extra in (("--offline", []), ("--deny", ["none"]), ("--color", ["never"]), ("--cache-dir", [reflex_cache])):
                if flag in inspect_flags:
                    cmd += [flag] + extra
        else:
            lock = os.path.join(fake_home, f"one-{name}-{version}.lock")
            lockfile(lock, [(name, version, path)])
            cmd = [exe, "recon", "--file", lock, "--offline", "--no-fetch", "--cache-dir", reflex_cache,
                   "--format", "json", "--deny", "none", "--color", "never"]
        r, wall = run(cmd, env=env)
        try:
            report = json.loads(r.stdout)
            findings = [f for f in report.get("findings", [])
                        if (f.get("package") or {}).get("name", name) in (name, None)]
            err = None if r.returncode in (0, 1) else f"exit {r.returncode}: {r.stderr.strip()[:300]}"
        except json.JSONDecodeError:
            findings, err = [], f"exit {r.returncode}: {r.stderr.strip()[:300]}"
        flags = sorted({f"{f['code']}:{f['severity']}" for f in findings if is_flag(f)})
        return {"flags": flags, "codes": sorted({f"{f['code']}:{f['severity']}" for f in findings}),
                "time": wall, "error": err}

    engine = "inspect" if inspect_flags is not None else "recon (one-crate lockfile; no inspect yet)"
    results["timing"]["reflex_engine"] = engine
    log(f"cargo-reflex: {engine}")
    for label, items in (("positives", [(p[1], p[2], p[3]) for p in positives]), ("popular", popular_list), ("corpus", corpus_list)):
        t0 = time.monotonic()
        for i, (n, v, p) in enumerate(items, 1):
            results[label][f"{n} {v}"] = {"reflex": reflex_one(n, v, p)}
            if i % 250 == 0:
                log(f"  {label}: {i}/{len(items)}")
        results["timing"][f"reflex_{label}_cold"] = time.monotonic() - t0
    # Warm: the same crates again with the same cache (analyses cached by checksum).
    for label, items in (("positives", [(p[1], p[2], p[3]) for p in positives]), ("popular", popular_list)):
        t0 = time.monotonic()
        for n, v, p in items:
            results[label][f"{n} {v}"]["reflex_warm"] = reflex_one(n, v, p)
        results["timing"][f"reflex_{label}_warm"] = time.monotonic() - t0
    # Batch: one recon over a lockfile holding all popular crates, cold (new cache) then warm.
    batch_lock = os.path.join(fake_home, "popular.lock")
    lockfile(batch_lock, popular_list)
    batch_cache = tempfile.mkdtemp(prefix="reflex-bench-detection-batch-")
    for phase in ("cold", "warm"):
        r, wall = run(reflex_batch_cmd(batch_lock, batch_cache), env=env)
        results["timing"][f"reflex_batch_popular_{phase}"] = wall if r.returncode in (0, 1) else None
        if r.returncode not in (0, 1):
            log(f"  batch recon failed ({r.returncode}): {r.stderr.strip()[:300]}")
        elif phase == "cold":
            batch_flags = {}
            for f in json.loads(r.stdout).get("findings", []):
                if is_flag(f) and f.get("package"):
                    batch_flags.setdefault(f"{f['package']['name']} {f['package'].get('version')}", set()).add(f["code"])
            results["timing"]["reflex_batch_popular_flagged"] = {k: sorted(v) for k, v in sorted(batch_flags.items())}


# ---------------------------------------------------------------------------------------------
# cargo-rustinel and GuardDog (optional; never required)
# ---------------------------------------------------------------------------------------------
others_popular = popular_list if a.others_limit is None else popular_list[: a.others_limit]
if "rustinel" in tools and rustinel:
    results["tools"]["rustinel"] = subprocess.run([rustinel, "rustinel", "--version"], capture_output=True, text=True).stdout.strip()
    src_root = tempfile.mkdtemp(prefix="rustinel-src-")

    def rustinel_batch(label, items, phase):
        """One `check` over a lockfile of all items, sources unpacked under one --source-path."""
        lock = os.path.join(src_root, f"{label}.lock")
        rustinel_lock(lock, items)
        r, wall = run(rustinel_cmd(lock))
        try:
            report = json.loads(r.stdout)
        except json.JSONDecodeError:
            log(f"  rustinel {label} failed ({r.returncode}): {r.stderr.strip()[:300]}")
            return
        results["timing"][f"rustinel_{label}_{phase}"] = wall
        if phase != "cold":
            return
        flagged = {}
        for f in report.get("findings", []):
            if f.get("severity") in ("high", "critical") and not f.get("id", "").startswith("advisory"):
                n, _, v = f.get("package", "").rpartition("@")
                flagged.setdefault(f"{n} {v}", set()).add(f["id"])
        for n, v, _ in items:
            results[label].setdefault(f"{n} {v}", {})["rustinel"] = {"flags": sorted(flagged.get(f"{n} {v}", ()))}

    log("cargo-rustinel: extracting sources and checking")
    for label, items in (("positives", [(p[1], p[2], p[3]) for p in positives]), ("popular", others_popular),
                         ("corpus", corpus_list if a.others_limit is None else [])):
        if items:
            for phase in ("cold", "warm"):
                rustinel_batch(label, items, phase)
elif "rustinel" in tools:
    log("cargo-rustinel not installed (cargo install --locked cargo-rustinel): skipped")

guarddog = shutil.which("guarddog")
if "guarddog" in tools and guarddog:
    results["tools"]["guarddog"] = subprocess.run([guarddog, "--version"], capture_output=True, text=True).stdout.strip()
    log("GuardDog: scanning (one process per crate)")

    def guarddog_one(p):
        r, wall = run([guarddog, "crates", "scan", unpack(p), "--output-format", "json", "--no-sandbox"])
        try:
            report = json.loads(r.stdout[r.stdout.index("{"):])
        except ValueError:
            return {"flags": [], "time": wall, "error": f"exit {r.returncode}: {r.stderr.strip()[-300:]}"}
        hits = sorted(rule for rule, m in (report.get("results") or {}).items() if m and rule.startswith("threat-"))
        hits += [f"risk:{x}" for x in sorted(str(k.get('name', k)) if isinstance(k, dict) else str(k) for k in report.get("risks") or [])]
        return {"flags": hits, "time": wall, "error": None}

    for label, items in (("positives", [(p[1], p[2], p[3]) for p in positives]), ("popular", others_popular)):
        t0 = time.monotonic()
        for i, (n, v, p) in enumerate(items, 1):
            results[label].setdefault(f"{n} {v}", {})["guarddog"] = guarddog_one(p)
            if i % 100 == 0:
                log(f"  guarddog {label}: {i}/{len(items)}")
        results["timing"][f"guarddog_{label}_cold"] = time.monotonic() - t0
elif "guarddog" in tools:
    log("GuardDog not installed (pip install guarddog): skipped")


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def flagged(entry, tool):
    e = entry.get(tool)
    return None if e is None else bool(e["flags"])


tool_names = [t for t in ("reflex", "rustinel", "guarddog") if t in tools and
              any(tool in e for e in results["positives"].values() for tool in [t])]
print("# Detection benchmark (scripts/bench-detection.py)")
print(f"tools: " + ", ".join(f"{t} {results['tools'].get(t, '')}".strip() for t in tool_names))
if "reflex" in tool_names:
    print(f"cargo-reflex engine: {results['timing']['reflex_engine']}")
print()
print("## Recall at high or critical, advisories excluded")
print("| split | crates | " + " | ".join(tool_names) + " |")
print("|---|---|" + "---|" * len(tool_names))
for split in ("tuning", "held-out"):
    rows = [p for p in positives if p[4] == split]
    cells = []
    for t in tool_names:
        hit = sum(1 for p in rows if flagged(results["positives"][f"{p[1]} {p[2]}"], t))
        cells.append(f"{hit}/{len(rows)} ({100 * hit / max(1, len(rows)):.0f}%)")
    print(f"| {split} | {len(rows)} | " + " | ".join(cells) + " |")
if "reflex" in tool_names:
    name_codes = ("typosquat", "impersonation", "lookalike", "look-alike", "confusion")
    for split in ("tuning", "held-out"):
        rows = [results["positives"][f"{p[1]} {p[2]}"]["reflex"]["flags"] for p in positives if p[4] == split]
        by_name = sum(1 for f in rows if any(c.startswith(name_codes) for c in f))
        by_code = sum(1 for f in rows if any(not c.startswith(name_codes) for c in f))
        print(f"cargo-reflex {split}: {by_code}/{len(rows)} by what the code does, {by_name}/{len(rows)} by name"
              " (look-alike / impersonation codes)")
print()
print("Per positive (held-out rows shown only with --show-held-out):")
for p in positives:
    e = results["positives"][f"{p[1]} {p[2]}"]
    if p[4] == "held-out" and not a.show_held_out:
        continue
    marks = "  ".join(f"{t}={'FLAG' if flagged(e, t) else 'miss'}" for t in tool_names)
    detail = ", ".join(e.get("reflex", {}).get("flags", [])) or "; ".join(e.get("reflex", {}).get("codes", [])[:6]) or "-"
    err = e.get("reflex", {}).get("error")
    print(f"  [{p[4]}] {p[1]} {p[2]}: {marks}   reflex: {detail}" + (f"  ERROR {err}" if err else ""))
print()
print("## False positives (crates with a high or critical non-advisory finding)")
for label, total in (("popular", len(popular_list)), ("corpus", len(corpus_list))):
    if not total:
        continue
    for t in tool_names:
        ran = {k: e for k, e in results[label].items() if t in e}
        fps = sorted(k for k, e in ran.items() if e[t]["flags"])
        if not ran:
            continue
        per_k = 1000 * len(fps) / len(ran)
        print(f"- {t}, {label}: {len(fps)} of {len(ran)} ({per_k:.1f} per 1,000)")
        for k in fps[:60]:
            print(f"    {k}: {', '.join(results[label][k][t]['flags'])}")
        if len(fps) > 60:
            print(f"    ... {len(fps) - 60} more (see --json)")
if "reflex_batch_popular_flagged" in results["timing"]:
    bf = results["timing"]["reflex_batch_popular_flagged"]
    print(f"- reflex, popular, one recon over one lockfile of them all: {len(bf)} flagged"
          + (": " + "; ".join(f"{k} ({', '.join(v)})" for k, v in list(bf.items())[:20]) if bf else ""))
errors = [(label, k, e["reflex"]["error"]) for label in ("positives", "popular", "corpus")
          for k, e in results[label].items() if e.get("reflex", {}).get("error")]
if errors:
    print(f"- cargo-reflex errors on {len(errors)} crates, e.g. " + "; ".join(f"{k}: {m}" for _, k, m in errors[:5]))
print()
print("## Time (wall, seconds, one crate at a time on this machine)")
tm = results["timing"]


def per_crate(label, key):
    times = [e[key]["time"] for e in results[label].values() if key in e and "time" in e[key]]
    if not times:
        return "-"
    return f"median {statistics.median(times):.3f}, max {max(times):.2f} ({max((e[key]['time'], k) for k, e in results[label].items() if key in e)[1]})"


for label, n in (("positives", len(positives)), ("popular", len(popular_list)), ("corpus", len(corpus_list))):
    if not n:
        continue
    line = [f"{label} ({n} crates)"]
    if f"reflex_{label}_cold" in tm:
        line.append(f"reflex per-crate cold {tm[f'reflex_{label}_cold']:.1f}")
    if f"reflex_{label}_warm" in tm:
        line.append(f"warm {tm[f'reflex_{label}_warm']:.1f}")
    if label == "popular" and tm.get("reflex_batch_popular_cold") is not None:
        line.append(f"reflex one recon cold {tm['reflex_batch_popular_cold']:.2f} / warm {tm.get('reflex_batch_popular_warm') or float('nan'):.2f}")
    if f"rustinel_{label}_cold" in tm:
        line.append(f"rustinel one check {tm[f'rustinel_{label}_cold']:.2f} / again {tm.get(f'rustinel_{label}_warm', float('nan')):.2f}")
    if f"guarddog_{label}_cold" in tm:
        line.append(f"guarddog per-crate {tm[f'guarddog_{label}_cold']:.1f}")
    print("- " + "; ".join(line))
    if "reflex" in tool_names:
        print(f"    reflex per crate: {per_crate(label, 'reflex')}")
if tm.get("rustinel_popular_cold"):
    rp = tm["rustinel_popular_cold"]
    if tm.get("reflex_batch_popular_cold") is not None:
        print(f"- ratio reflex/rustinel, {len(popular_list)} popular, one run over one lockfile, cold: {tm['reflex_batch_popular_cold'] / rp:.2f}x"
              f" (target <= 1.5x); warm: {(tm.get('reflex_batch_popular_warm') or float('nan')) / rp:.2f}x")
    if tm.get("reflex_popular_cold"):
        print(f"- ratio reflex/rustinel, per-crate processes vs one rustinel check, cold: {tm['reflex_popular_cold'] / rp:.2f}x")
if a.json:
    with open(a.json, "w") as f:
        json.dump({"results": results, "positives": [list(p[:3]) + [p[4]] for p in positives]}, f, indent=1)
