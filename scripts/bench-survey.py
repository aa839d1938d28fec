#!/usr/bin/env python3
"""Benchmark: `cargo reflex survey --state` over an inventory of 10,000 recorded runs (issue 17's
target: <= 2 s), on SQLite.

The inventory is what cargo-reflex recorded, multiplied in the file: one real run
(`gate --record` of the 1,035-package nushell lockfile, offline) is copied to N runs of R
repositories (default 10,000 runs of 500 repositories, 20 runs each, one a week, every third
one blocked by the gate), then the newest-record index is rebuilt. The newest run of every
repository keeps the full locked graph (1,035 package rows each); older runs keep their counts,
codes and details but not their package rows, which survey never reads (it asks for the runs
without packages). Plus 5,000 first sightings over 20 weeks and 40 drills of 6 scenarios.

Warm: one run first, then the median of N.
Usage: scripts/bench-survey.py [--runs-recorded N] [--repositories R] [--runs N] [--binary PATH]
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCK = os.path.join(ROOT, "fixtures/corpus/nushell__nushell/Cargo.lock")
WEEK_US = 7 * 86400 * 1_000_000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs-recorded", type=int, default=10_000)
    p.add_argument("--repositories", type=int, default=500)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--binary", default=None, help="default: build and use target/release/cargo-reflex")
    a = p.parse_args()
    if a.binary:
        a.binary = os.path.abspath(a.binary)
    else:
        a.binary = os.path.join(ROOT, "target/release/cargo-reflex")
        subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "cargo-reflex"],
                       cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="reflex-bench-survey-")
    env = dict(os.environ, CARGO_REFLEX_CACHE=os.path.join(work, "cache"), NO_COLOR="1")
    env.pop("CARGO_REFLEX_STATE", None)
    state = os.path.join(work, "state.sqlite")
    seed = subprocess.run(
        [a.binary, "gate", "--offline", "--no-fetch", "--file", LOCK, "--deny", "none",
         "--record", "--state", state, "--repository", "seed", "--branch", "main",
         "--now", "2026-11-30T00:00:00Z", "--format", "json"],
        capture_output=True, text=True, env=env, cwd=work)
    if seed.returncode not in (0, 1):
        sys.exit(f"recording the seed run failed: {seed.stderr}")
    start = time.perf_counter()
    fill(state, a.runs_recorded, a.repositories)
    fill_s = time.perf_counter() - start
    size = os.path.getsize(state)
    cmd = [a.binary, "survey", "--state", state, "--format", "json", "--now", "2026-11-30"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    if out.returncode != 0:
        sys.exit(f"survey failed: {out.stderr}")
    survey = json.loads(out.stdout)
    html = os.path.join(work, "survey.html")
    walls = []
    for _ in range(a.runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env, cwd=work)
        walls.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(cmd + ["--html", html], stdout=subprocess.DEVNULL, check=True, env=env, cwd=work)
    with_html = time.perf_counter() - t
    html_kb = os.path.getsize(html) / 1024
    shutil.rmtree(work)
    o = survey["organisation"]
    m = statistics.median(walls)
    print(f"inventory: {a.runs_recorded} recorded gate runs of {a.repositories} repositories "
          f"(filled in {fill_s:.0f} s, {size / 1e6:.0f} MB SQLite)")
    print(f"survey: {o['repositories']} repositories, {o['gate_runs']} gate runs, "
          f"{o['blocked_changes']} blocked, {o['packages']} packages in the newest records, "
          f"{survey['history']['destinations']} first sightings, {len(survey['history']['drills'])} drills")
    print(f"cargo reflex survey --state (warm): median {m:.2f} s over {a.runs} runs "
          f"(min {min(walls):.2f}, max {max(walls):.2f}); with --html {with_html:.2f} s "
          f"({html_kb:.0f} KiB page); target 2 s: ratio {m / 2:.2f}")


def fill(state, runs, repositories):
    db = sqlite3.connect(state)
    cols = [r[1] for r in db.execute("PRAGMA table_info(runs)") if r[1] != "id"]
    (seed_id, seed_us) = db.execute("SELECT id, recorded_us FROM runs").fetchone()
    per_repo = max(1, runs // repositories)
    db.execute("CREATE TEMP TABLE g (n INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO g VALUES (?)", [(i,) for i in range(runs)])
    # Copy k of repository r is its (k+1)-th weekly run; the newest is copy per_repo-1.
    sel = []
    for c in cols:
        if c == "repository":
            sel.append(f"'acme/repo-' || (n / {per_repo})")
        elif c == "recorded_us":
            sel.append(f"{seed_us} - ({per_repo} - 1 - n % {per_repo}) * {WEEK_US}")
        elif c == "recorded_at":
            sel.append(f"strftime('%Y-%m-%dT%H:%M:%SZ', ({seed_us} - ({per_repo} - 1 - n % {per_repo}) * {WEEK_US}) / 1000000, 'unixepoch')")
        elif c == "passed":
            sel.append("CASE WHEN n % 3 = 1 THEN 0 ELSE 1 END")
        else:
            sel.append(c)
    db.execute(f"INSERT INTO runs ({', '.join(cols)}) SELECT {', '.join(sel)} "
               f"FROM runs, g WHERE runs.id = {seed_id} ORDER BY n")
    db.execute("DELETE FROM latest_runs")
    lcols = [r[1] for r in db.execute("PRAGMA table_info(latest_runs)")]
    db.execute(f"INSERT INTO latest_runs ({', '.join(lcols)}) "
               f"SELECT {', '.join('id' if c == 'run_id' else c for c in lcols)} FROM runs r "
               "WHERE id <> ? AND recorded_us = (SELECT MAX(recorded_us) FROM runs s "
               "WHERE s.repository = r.repository AND s.branch = r.branch)", (seed_id,))
    pcols = [r[1] for r in db.execute("PRAGMA table_info(run_packages)")]
    rest = ", ".join(c for c in pcols if c != "run_id")
    db.execute(f"INSERT INTO run_packages ({', '.join(pcols)}) SELECT l.run_id, {rest} "
               f"FROM latest_runs l, run_packages p WHERE p.run_id = ?", (seed_id,))
    db.execute("DELETE FROM run_packages WHERE run_id = ?", (seed_id,))
    db.execute("DELETE FROM runs WHERE id = ?", (seed_id,))
    db.execute("DELETE FROM latest_runs WHERE repository = 'seed'")
    dcols = [r[1] for r in db.execute("PRAGMA table_info(destinations)")]
    for i in range(5000):
        week = i % 20
        us = seed_us - week * WEEK_US - i
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(us / 1e6))
        row = {"kind": "domain", "value": f"host-{i}.example", "first_seen": at,
               "first_crate": f"crate-{i % 97}", "sightings": 1 + i % 5, "first_seen_us": us}
        db.execute(f"INSERT INTO destinations ({', '.join(dcols)}) VALUES ({', '.join('?' * len(dcols))})",
                   [row.get(c) for c in dcols])
    dr = [r[1] for r in db.execute("PRAGMA table_info(drills)")]
    for d in range(40):
        us = seed_us - (40 - d) * WEEK_US // 2
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(us / 1e6))
        for s in range(6):
            row = {"started": at, "started_us": us, "scenario": f"scenario-{s}",
                   "passed": int((s + d) % 7 != 0), "gate": "blocked", "sandbox": "contained",
                   "monitor": "detected", "time_to_detect_ms": 20.0 + s,
                   "time_to_remediate_s": 600.0 + 10 * d}
            db.execute(f"INSERT INTO drills ({', '.join(dr)}) VALUES ({', '.join('?' * len(dr))})",
                       [row.get(c) for c in dr])
    db.commit()
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    main()
