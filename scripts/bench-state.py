#!/usr/bin/env python3
"""The state store at fleet scale (issue 17's targets), on PostgreSQL and SQLite:

  - recording one lockfile (`audit --record`, the real 1,035-package nushell lockfile): the
    store's own time, as cargo-reflex reports it (target <= 50 ms);
  - 50 concurrent writer processes (`audit --record` at once): nothing lost, counts exact;
  - `respond --state` over an inventory of N recorded lockfiles of 1,035 packages each
    (default 10,000; target p50 <= 100 ms on PostgreSQL). The inventory is what cargo-reflex
    recorded, multiplied on the server: each copy is a run of its own repository, one
    package's version (`itoa`) varied per copy, so that package has a row of its own in each.
    Do not run the SQLite variant at 10,000 on a small disk (--no-sqlite, or --records 2000).

Usage: scripts/bench-state.py [--records N] [--writers N] [--queries N] [--binary PATH]
       [--no-sqlite] [--no-postgres]
A PostgreSQL server comes from REFLEX_TEST_POSTGRES_URL, else scripts/postgres-for-tests.sh
starts one (and stops it). The binary defaults to target/release/cargo-reflex.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCK = os.path.join(ROOT, "fixtures/corpus/nushell__nushell/Cargo.lock")


def psql_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return found[-1] if found else shutil.which("psql")


def psql(url, sql):
    out = subprocess.run([psql_bin(), url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr}")
    return out.stdout.strip()


def with_database(admin, name):
    base, _, query = admin.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.split("/")[0]
    return f"{scheme}://{host}/{name}" + (f"?{query}" if query else "")


class Reflex:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.env = dict(os.environ, CARGO_REFLEX_CACHE=os.path.join(work, "cache"), NO_COLOR="1")
        self.env.pop("CARGO_REFLEX_STATE", None)

    def record(self, state, repository, branch="main"):
        """Records the lockfile; returns the store's time in ms (from cargo-reflex's message)."""
        out = subprocess.run(
            [self.binary, "audit", "--offline", "--no-fetch", "--file", LOCK, "--record",
             "--state", state, "--repository", repository, "--branch", branch,
             "--format", "json"],
            capture_output=True, text=True, env=self.env, cwd=self.work)
        m = re.search(r"recorded run \d+ .*\(([\d.]+) ms; ([\d.]+) ms with", out.stderr)
        if out.returncode not in (0, 1) or not m:
            sys.exit(f"recording failed ({out.returncode}): {out.stderr}")
        return float(m.group(1)), float(m.group(2))

    def respond(self, state, query):
        start = time.perf_counter()
        out = subprocess.run([self.binary, "respond", query, "--state", state, "--format", "json"],
                             capture_output=True, text=True, env=self.env, cwd=self.work)
        wall = (time.perf_counter() - start) * 1000
        if out.returncode != 0:
            sys.exit(f"respond failed: {out.stderr}")
        v = json.loads(out.stdout)
        return v["elapsed_ms"], wall, v["lockfiles_scanned"], len(v["projects"])


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# Copies of the seed run (id 1): runs, then their packages, then the newest-record index.
# `{series}` yields g = 1..N-1; each copy varies one package's version (`g` as a patch): that
# package has a row of its own in every copy (schema version 2 stores each distinct package row
# once), the others are the seed's rows, shared.
CLONE_RUNS = """
INSERT INTO runs (repository, branch, commit_id, recorded_at, recorded_us, command, passed,
    deny_level, total, critical, high, medium, low, info, denied, codes, details,
    package_count, tool_version)
SELECT 'fleet-' || g, branch, commit_id, recorded_at, recorded_us + g, command, passed,
    deny_level, total, critical, high, medium, low, info, denied, codes, details,
    package_count, tool_version
FROM runs, {series} WHERE runs.id = {seed}"""
CLONE_ROWS = """
INSERT INTO package_rows (digest, name, version, source, checksum, via, dependents)
SELECT {digest}, d.name, '1.0.' || substr(r.repository, 7), d.source, d.checksum, d.via,
    d.dependents
FROM runs r JOIN run_packages p ON p.run_id = {seed} AND p.name = 'itoa'
JOIN package_rows d ON d.id = p.row_id WHERE r.repository LIKE 'fleet-%' ORDER BY r.id"""
CLONE_PACKAGES = """
INSERT INTO run_packages (run_id, position, name, row_id)
SELECT r.id, p.position, p.name,
    CASE WHEN p.name = 'itoa' THEN (SELECT id FROM package_rows WHERE digest = {digest})
         ELSE p.row_id END
FROM runs r JOIN run_packages p ON p.run_id = {seed} WHERE r.repository LIKE 'fleet-%'"""
CLONE_LATEST = """
INSERT INTO latest_runs SELECT repository, branch, id, recorded_us FROM runs
WHERE repository LIKE 'fleet-%'"""


def fill_postgres(url, n):
    seed = psql(url, "SELECT MIN(id) FROM runs")
    digest = "sha256(convert_to('bench ' || r.repository, 'UTF8'))"
    psql(url, CLONE_RUNS.format(series=f"generate_series(1, {n - 1}) g", seed=seed))
    psql(url, CLONE_ROWS.format(digest=digest, seed=seed))
    psql(url, CLONE_PACKAGES.format(digest=digest, seed=seed))
    psql(url, CLONE_LATEST)
    psql(url, "VACUUM ANALYZE")
    return psql(url, "SELECT pg_size_pretty(pg_database_size(current_database()))")


def fill_sqlite(path, n):
    db = sqlite3.connect(path)
    seed = db.execute("SELECT MIN(id) FROM runs").fetchone()[0]
    series = (f"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n - 1})"
               " SELECT g FROM s) t")
    digest = "CAST('bench ' || r.repository AS BLOB)"
    db.execute(CLONE_RUNS.format(series=series, seed=seed))
    db.execute(CLONE_ROWS.format(digest=digest, seed=seed))
    db.execute(CLONE_PACKAGES.format(digest=digest, seed=seed))
    db.execute(CLONE_LATEST)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return f"{os.path.getsize(path) / 2**20:.0f} MiB"


def concurrent_writers(reflex, state, n, count_runs):
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        times = [t[0] for t in pool.map(lambda i: reflex.record(state, f"writer-{i}"), range(n))]
    wall = time.perf_counter() - start
    runs, packages = count_runs()
    ok = runs == n and packages == n * 1035
    print(f"  {n} concurrent writers: {wall:.1f} s wall, store time p50 {pct(times, 50):.1f} ms, "
          f"max {max(times):.1f} ms; runs {runs} (expected {n}), packages {packages} "
          f"(expected {n * 1035}): {'exact' if ok else 'WRONG'}")
    return ok


def bench(name, reflex, state, fill, count_runs, args):
    print(f"\n== {name}: {state}")
    ok = concurrent_writers(reflex, state, args.writers, count_runs)
    both = [reflex.record(state, f"seed-{i}") for i in range(args.queries)]
    times, whole = [t[0] for t in both], [t[1] for t in both]
    print(f"  recording one lockfile (1,035 packages): store p50 {pct(times, 50):.1f} ms, "
          f"p90 {pct(times, 90):.1f} ms, max {max(times):.1f} ms (target <= 50 ms); with reading "
          f"the lockfile's graph p50 {pct(whole, 50):.1f} ms")
    start = time.perf_counter()
    size = fill(args.records)
    print(f"  inventory filled to {args.records} more lockfiles in {time.perf_counter() - start:.0f} s"
          f" ({size})")
    for query in ["itoa", "serde@<1.0.100", "url-parse"]:
        results = [reflex.respond(state, query) for _ in range(args.queries)]
        inner = [r[0] for r in results]
        wall = [r[1] for r in results]
        print(f"  respond {query}: {results[0][3]} of {results[0][2]} lockfiles affected; "
              f"p50 {pct(inner, 50)} ms in cargo-reflex (p90 {pct(inner, 90)} ms), "
              f"process wall p50 {pct(wall, 50):.0f} ms")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, default=10000)
    p.add_argument("--writers", type=int, default=50)
    p.add_argument("--queries", type=int, default=11)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/cargo-reflex"))
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} missing: cargo build --release --locked -p cargo-reflex")
    work = tempfile.mkdtemp(prefix="reflex-bench-state.")
    started_server = None
    admin = os.environ.get("REFLEX_TEST_POSTGRES_URL")
    if not admin:
        out = subprocess.run([os.path.join(ROOT, "scripts/postgres-for-tests.sh"), "start"],
                             capture_output=True, text=True, check=True).stdout
        found = dict(re.findall(r"export (\w+)='([^']*)'", out))
        admin, started_server = found["REFLEX_TEST_POSTGRES_URL"], found["REFLEX_TEST_POSTGRES_DIR"]
    dbname = f"reflex_bench_{os.getpid()}"
    psql(admin, f"CREATE DATABASE {dbname}")
    url = with_database(admin, dbname)
    reflex = Reflex(args.binary, work)
    ok = True
    try:
        if not args.no_postgres:
            ok &= bench("PostgreSQL", reflex, url, lambda n: fill_postgres(url, n),
                        lambda: tuple(int(x) for x in psql(
                            url, "SELECT (SELECT COUNT(*) FROM runs WHERE repository LIKE 'writer-%'),"
                                 " (SELECT COUNT(*) FROM run_packages p JOIN runs r ON r.id = p.run_id"
                                 " WHERE r.repository LIKE 'writer-%')").split("|")), args)
        if not args.no_sqlite:
            path = os.path.join(work, "state.sqlite")

            def count_sqlite():
                db = sqlite3.connect(path)
                return db.execute(
                    "SELECT (SELECT COUNT(*) FROM runs WHERE repository LIKE 'writer-%'),"
                    " (SELECT COUNT(*) FROM run_packages p JOIN runs r ON r.id = p.run_id"
                    " WHERE r.repository LIKE 'writer-%')").fetchone()

            ok &= bench("SQLite", reflex, path, lambda n: fill_sqlite(path, n), count_sqlite, args)
    finally:
        psql(admin, f"DROP DATABASE IF EXISTS {dbname}")
        shutil.rmtree(work, ignore_errors=True)
        if started_server:
            subprocess.run([os.path.join(ROOT, "scripts/postgres-for-tests.sh"), "stop",
                            started_server], check=False)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
