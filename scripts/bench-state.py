#!/usr/bin/env python3
"""The state store at fleet scale (issue 17's targets), on PostgreSQL and SQLite:

  - 50 concurrent writer processes (`audit --record` at once): nothing lost, counts exact;
  - recording one lockfile (`audit --record`, the real 1,035-package nushell lockfile): the
    store's own time, as cargo-reflex reports it (target <= 50 ms);
  - `respond --state` over an inventory of N recorded lockfiles of 1,035 packages each
    (default 10,000; target p50 <= 100 ms on PostgreSQL), for a crate in no lockfile
    (`url-parse`), a crate in every lockfile that no version matches (`serde@<1.0.100`) and
    one that matches everywhere (`itoa`);
  - `survey --state` over those runs (target <= 2 s);
  - with --migrate: the store rewritten as schema version 1 (each run's package rows in
    full), the time cargo-reflex takes to migrate it on opening, and whether the migrated
    store answers respond exactly as before.

The inventory is what cargo-reflex recorded, multiplied on the server: each copy is a run of
its own repository (`fleet-G`). Two kinds of inventory (--rows):
  - shared: every copy holds the seed's package rows except `itoa`, bumped per copy (a row of
    its own in each): schema version 2 stores each distinct row once, so this flatters a fleet;
  - varied: in each copy a fraction of the packages (--vary, default 0.10, chosen per copy
    and package) is bumped to a version of its own (patch + G): those rows are distinct
    across copies (with --vary 1 nothing is shared, as in a fleet whose workspaces are all
    named differently). Only `x.y.z` versions are bumped; dependents lists are not rewritten.
Each kind starts from a new, empty store (the writers and single recordings are measured
again in each).

With --baseline BINARY (an earlier build) every figure is measured for both binaries,
alternating under the same load, each on its own copy of the same inventory (filled once, by
the baseline's schema, then opened, and migrated if need be, by each binary).

`respond`'s process wall is measured with its answer going to a file (as `> answer.json`);
with --pipe, through a pipe this script reads (the measure before: it adds this script's
reading and decoding of the 6 MB answer to both binaries). The load average is printed as the
measures are taken (this machine's 2 cores are shared).

Usage: scripts/bench-state.py [--records N] [--rows shared,varied] [--vary F] [--migrate]
       [--baseline BINARY] [--writers N] [--queries N] [--binary PATH] [--no-sqlite]
       [--no-postgres] [--pipe] [--min-free-gb GB]
A PostgreSQL server comes from REFLEX_TEST_POSTGRES_URL, else scripts/postgres-for-tests.sh
starts one (and stops it). The binary defaults to target/release/cargo-reflex. Disk, per
10,000 lockfiles and per binary: PostgreSQL 2.0 GB shared, 2.4 GB varied (10 %), 6.8 GB with
--vary 1; SQLite 0.6, 0.9 and 3.8 GB; --migrate needs about 4 GB more (the version 1 rows,
one store at a time) and room for the migration. The script refuses to fill, or to migrate,
when it would leave too little free.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCK = os.path.join(ROOT, "fixtures/corpus/nushell__nushell/Cargo.lock")
QUERIES = ["url-parse", "serde@<1.0.100", "itoa"]
MIN_FREE_GB = 12
MIGRATE_RESERVE_GB = 10


def load():
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


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


def free_gb(path):
    return shutil.disk_usage(path).free / 2**30


class Reflex:
    def __init__(self, binary, work, label=""):
        self.binary = binary
        self.work = work
        self.label = label
        self.env = dict(os.environ, CARGO_REFLEX_CACHE=os.path.join(work, "cache"), NO_COLOR="1")
        self.env.pop("CARGO_REFLEX_STATE", None)

    def run(self, args):
        return subprocess.run([self.binary, *args], capture_output=True, text=True,
                              env=self.env, cwd=self.work)

    def record(self, state, repository, branch="main"):
        """Records the lockfile; returns the store's time in ms (from cargo-reflex's message)."""
        out = self.run(["audit", "--offline", "--no-fetch", "--file", LOCK, "--record",
                        "--state", state, "--repository", repository, "--branch", branch,
                        "--format", "json"])
        m = re.search(r"recorded run \d+ .*\(([\d.]+) ms; ([\d.]+) ms with", out.stderr)
        if out.returncode not in (0, 1) or not m:
            sys.exit(f"recording failed ({out.returncode}): {out.stderr}")
        return float(m.group(1)), float(m.group(2))

    def respond(self, state, query, pipe=False):
        """(ms inside cargo-reflex, process wall ms, the answer without its time). The answer
        goes to a file (the process's own time, as `> answer.json`); with `pipe`, through a
        pipe that this script reads (which adds the script's reading and decoding of 6 MB)."""
        args = [self.binary, "respond", query, "--state", state, "--format", "json"]
        if pipe:
            start = time.perf_counter()
            out = self.run(args[1:])
            wall = (time.perf_counter() - start) * 1000
            text = out.stdout
        else:
            with tempfile.TemporaryFile(dir=self.work) as answer:
                start = time.perf_counter()
                out = subprocess.run(args, stdout=answer, stderr=subprocess.PIPE, text=True,
                                     env=self.env, cwd=self.work)
                wall = (time.perf_counter() - start) * 1000
                answer.seek(0)
                text = answer.read().decode()
        if out.returncode != 0:
            sys.exit(f"respond failed ({out.returncode}): {out.stderr}")
        v = json.loads(text)
        inner = v.pop("elapsed_ms")
        return inner, wall, v

    def survey(self, state):
        start = time.perf_counter()
        out = self.run(["survey", "--state", state, "--format", "json"])
        wall = (time.perf_counter() - start) * 1000
        if out.returncode not in (0, 1):
            sys.exit(f"survey failed ({out.returncode}): {out.stderr}")
        return wall, len(json.loads(out.stdout)["repositories"])


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# The seed's packages (one row per position): what a copy bumps. `head` and `patch` split an
# `x.y.z` version (`bumpable` 0 for any other).
BASE_TABLE = """
CREATE TABLE bench_base (position INTEGER PRIMARY KEY, name TEXT NOT NULL, row_id BIGINT NOT NULL,
    head TEXT NOT NULL, patch BIGINT NOT NULL, bumpable INTEGER NOT NULL)"""
# Whether copy `g` bumps package `b`.
BUMPED = {
    "shared": "b.name = 'itoa'",
    "varied": "b.bumpable = 1 AND ((b.position * 2654435761 + {g} * 40503) % 1000) < {permille}",
}
# Copies of the seed run: runs, the bumped rows (ids chosen: {base} + G * 2048 + position),
# the copies' package entries, then the newest-record index.
CLONE_RUNS = """
INSERT INTO runs (repository, branch, commit_id, recorded_at, recorded_us, command, passed,
    deny_level, total, critical, high, medium, low, info, denied, codes, details,
    package_count, tool_version)
SELECT 'fleet-' || g, branch, commit_id, recorded_at, recorded_us + g, command, passed,
    deny_level, total, critical, high, medium, low, info, denied, codes, details,
    package_count, tool_version
FROM runs, {series} WHERE runs.id = {seed}"""
CLONE_ROWS = """
INSERT INTO package_rows (id, digest, name, version, source, checksum, via, dependents)
SELECT {base} + g * 2048 + b.position, {digest}, d.name, b.head || (b.patch + g), d.source,
    d.checksum, CASE WHEN length(d.via) >= length(d.version)
        THEN substr(d.via, 1, length(d.via) - length(d.version)) || b.head || (b.patch + g)
        ELSE d.via END, d.dependents
FROM {series}, bench_base b JOIN package_rows d ON d.id = b.row_id WHERE {bumped}"""
CLONE_PACKAGES = """
INSERT INTO run_packages (run_id, position, name, row_id)
SELECT r.id, b.position, b.name,
    CASE WHEN {bumped} THEN {base} + r.g * 2048 + b.position ELSE b.row_id END
FROM (SELECT id, CAST(substr(repository, 7) AS INTEGER) AS g FROM runs
      WHERE repository LIKE 'fleet-%') r, bench_base b ORDER BY r.id, b.position"""
CLONE_LATEST = """
INSERT INTO latest_runs ({columns}) SELECT {values} FROM runs WHERE repository LIKE 'fleet-%'"""


def clone_latest(columns):
    """CLONE_LATEST for the columns of the store's `latest_runs` (version 3 added some: they
    are named as in `runs`, except `run_id`)."""
    values = ", ".join("id" if c == "run_id" else c for c in columns)
    return CLONE_LATEST.format(columns=", ".join(columns), values=values)


def base_rows(rows):
    """VALUES of bench_base from (position, name, row_id, version) rows."""
    values = []
    for position, name, row_id, version in rows:
        m = re.fullmatch(r"(\d+\.\d+\.)(\d+)", version)
        head, patch = (m.group(1), int(m.group(2))) if m else ("", 0)
        values.append(f"({position}, '{name}', {row_id}, '{head}', {patch}, {1 if m else 0})")
    return f"INSERT INTO bench_base VALUES {', '.join(values)}"


def clone_sql(kind, vary, series, digest, seed, base, latest_columns):
    bumped = BUMPED[kind].format(g="{g}", permille=int(round(vary * 1000)))
    return [
        CLONE_RUNS.format(series=series, seed=seed),
        CLONE_ROWS.format(series=series, digest=digest, base=base, bumped=bumped.format(g="g")),
        CLONE_PACKAGES.format(base=base, bumped=bumped.format(g="r.g")),
        clone_latest(latest_columns),
    ]


SEED_PACKAGES = """SELECT p.position, p.name, p.row_id, d.version FROM run_packages p
JOIN package_rows d ON d.id = p.row_id WHERE p.run_id = {seed} ORDER BY p.position"""


class Postgres:
    name = "PostgreSQL"

    def __init__(self, admin, dbname):
        self.admin, self.dbname = admin, dbname
        self.url = with_database(admin, dbname)
        psql(admin, f"DROP DATABASE IF EXISTS {dbname}")
        psql(admin, f"CREATE DATABASE {dbname}")

    def state(self):
        return self.url

    def drop(self):
        psql(self.admin, f"DROP DATABASE IF EXISTS {self.dbname}")

    def copy_to(self, other):
        """Replaces `other` (a store of the same server) with a copy of this one."""
        other.drop()
        psql(self.admin, f"CREATE DATABASE {other.dbname} TEMPLATE {self.dbname}")

    def count_writers(self):
        return tuple(int(x) for x in psql(
            self.url, "SELECT (SELECT COUNT(*) FROM runs WHERE repository LIKE 'writer-%'),"
                      " (SELECT COUNT(*) FROM run_packages p JOIN runs r ON r.id = p.run_id"
                      " WHERE r.repository LIKE 'writer-%')").split("|"))

    def fill(self, n, kind, vary):
        seed = psql(self.url, "SELECT MIN(id) FROM runs")
        rows = [line.split("|") for line in psql(
            self.url, SEED_PACKAGES.format(seed=seed)).splitlines()]
        psql(self.url, BASE_TABLE)
        psql(self.url, base_rows(rows))
        base = int(psql(self.url, "SELECT MAX(id) + 1 FROM package_rows"))
        digest = "sha256(convert_to('bench ' || g || ' ' || b.position, 'UTF8'))"
        columns = psql(self.url, "SELECT column_name FROM information_schema.columns WHERE "
                                 "table_name = 'latest_runs' ORDER BY ordinal_position").split()
        for sql in clone_sql(kind, vary, f"generate_series(1, {n - 1}) g", digest, seed, base,
                             columns):
            psql(self.url, sql)
        psql(self.url, "DROP TABLE bench_base")
        psql(self.url, "SELECT setval('package_rows_id_seq', (SELECT MAX(id) FROM package_rows))")
        psql(self.url, "VACUUM ANALYZE")
        return self.describe()

    def describe(self):
        rows = psql(self.url, "SELECT COUNT(*) FROM package_rows")
        size = psql(self.url, "SELECT pg_size_pretty(pg_database_size(current_database()))")
        return f"{size}, {int(rows):,} distinct package rows"

    def to_version_1(self):
        """Rewrites the store as schema version 1 (migrations.rs, V1): each run's rows in full,
        the newest-record table without the columns of version 3."""
        for sql in [
            "ALTER TABLE run_packages RENAME TO rp2",
            "ALTER INDEX run_packages_pkey RENAME TO rp2_pkey",
            "ALTER INDEX run_packages_by_name RENAME TO rp2_by_name",
            """CREATE TABLE run_packages (run_id BIGINT NOT NULL, position INTEGER NOT NULL,
                name TEXT NOT NULL, version TEXT NOT NULL, source TEXT, checksum TEXT,
                via TEXT NOT NULL, dependents TEXT NOT NULL, PRIMARY KEY (run_id, position))""",
            """INSERT INTO run_packages SELECT p.run_id, p.position, d.name, d.version,
                d.source, d.checksum, d.via, d.dependents
                FROM rp2 p JOIN package_rows d ON d.id = p.row_id""",
            "CREATE INDEX run_packages_by_name ON run_packages (name, run_id)",
            "DROP TABLE rp2",
            "DROP TABLE package_rows",
            "ALTER TABLE latest_runs DROP COLUMN IF EXISTS commit_id, "
            "DROP COLUMN IF EXISTS recorded_at, DROP COLUMN IF EXISTS command, "
            "DROP COLUMN IF EXISTS passed, DROP COLUMN IF EXISTS package_count",
            "DELETE FROM schema_version WHERE version > 1",
            "VACUUM ANALYZE",
        ]:
            psql(self.url, sql)
        return psql(self.url, "SELECT pg_size_pretty(pg_database_size(current_database()))")


class Sqlite:
    name = "SQLite"

    def __init__(self, path):
        self.path = path

    def state(self):
        return self.path

    def drop(self):
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)

    def copy_to(self, other):
        other.drop()
        db = self.connect()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        shutil.copyfile(self.path, other.path)

    def connect(self):
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 60000")
        return db

    def count_writers(self):
        return self.connect().execute(
            "SELECT (SELECT COUNT(*) FROM runs WHERE repository LIKE 'writer-%'),"
            " (SELECT COUNT(*) FROM run_packages p JOIN runs r ON r.id = p.run_id"
            " WHERE r.repository LIKE 'writer-%')").fetchone()

    def fill(self, n, kind, vary):
        db = self.connect()
        seed = db.execute("SELECT MIN(id) FROM runs").fetchone()[0]
        rows = db.execute(SEED_PACKAGES.format(seed=seed)).fetchall()
        db.execute("BEGIN")
        db.execute(BASE_TABLE)
        db.execute(base_rows(rows))
        base = db.execute("SELECT MAX(id) + 1 FROM package_rows").fetchone()[0]
        series = (f"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n - 1})"
                  " SELECT g FROM s) t")
        digest = "CAST('bench ' || g || ' ' || b.position AS BLOB)"
        columns = [r[1] for r in db.execute("PRAGMA table_info(latest_runs)")]
        for sql in clone_sql(kind, vary, series, digest, seed, base, columns):
            db.execute(sql)
        db.execute("DROP TABLE bench_base")
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return self.describe()

    def describe(self):
        rows = self.connect().execute("SELECT COUNT(*) FROM package_rows").fetchone()[0]
        return f"{os.path.getsize(self.path) / 2**20:,.0f} MiB, {rows:,} distinct package rows"

    def to_version_1(self):
        """Rewrites the store as schema version 1 (sqlite/migrations.rs, V1)."""
        db = self.connect()
        db.executescript("""
            BEGIN;
            ALTER TABLE run_packages RENAME TO rp2;
            DROP INDEX run_packages_by_name;
            CREATE TABLE run_packages (run_id INTEGER NOT NULL, name TEXT NOT NULL,
                version TEXT NOT NULL, source TEXT, checksum TEXT, via TEXT NOT NULL,
                dependents TEXT NOT NULL);
            INSERT INTO run_packages SELECT p.run_id, d.name, d.version, d.source, d.checksum,
                d.via, d.dependents FROM rp2 p JOIN package_rows d ON d.id = p.row_id
                ORDER BY p.run_id, p.position;
            CREATE INDEX run_packages_by_name ON run_packages (name, run_id);
            CREATE INDEX run_packages_by_run ON run_packages (run_id);
            DROP TABLE rp2;
            DROP TABLE package_rows;
            CREATE TABLE latest_v1 (repository TEXT NOT NULL, branch TEXT NOT NULL,
                run_id INTEGER NOT NULL, recorded_us INTEGER NOT NULL,
                PRIMARY KEY (repository, branch));
            INSERT INTO latest_v1 SELECT repository, branch, run_id, recorded_us FROM latest_runs;
            DROP TABLE latest_runs;
            ALTER TABLE latest_v1 RENAME TO latest_runs;
            DELETE FROM schema_version WHERE version > 1;
            COMMIT;
        """)
        # No VACUUM: the version 1 rows reuse the pages of the tables dropped, and a VACUUM of
        # 4 GB in WAL mode would need 8 GB more disk for a while (a copy and the log).
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return f"{os.path.getsize(self.path) / 2**20:,.0f} MiB"


def concurrent_writers(reflex, store, n):
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        times = [t[0] for t in pool.map(lambda i: reflex.record(store.state(), f"writer-{i}"),
                                         range(n))]
    wall = time.perf_counter() - start
    runs, packages = store.count_writers()
    ok = runs == n and packages == n * 1035
    print(f"  {reflex.label}{n} concurrent writers: {wall:.1f} s wall, store time p50 "
          f"{pct(times, 50):.1f} ms, max {max(times):.1f} ms; runs {runs} (expected {n}), "
          f"packages {packages} (expected {n * 1035}): {'exact' if ok else 'WRONG'}", flush=True)
    return ok


def interleaved(reflexes, stores, times, f):
    """f(reflex, store, i) for i < `times` for each binary, alternating: {label: [results]}."""
    out = {r.label: [] for r in reflexes}
    for i in range(times):
        for r, s in zip(reflexes, stores):
            out[r.label].append(f(r, s, i))
    return out


def report_answers(query, reflexes, results):
    for r in reflexes:
        inner = [x[0] for x in results[r.label]]
        wall = [x[1] for x in results[r.label]]
        v = results[r.label][0][2]
        print(f"  {r.label}respond {query}: {len(v['projects'])} of {v['lockfiles_scanned']} "
              f"lockfiles affected; p50 {pct(inner, 50)} ms in cargo-reflex (p90 "
              f"{pct(inner, 90)} ms), process wall p50 {pct(wall, 50):.0f} ms (p90 "
              f"{pct(wall, 90):.0f} ms)", flush=True)


def migrate(reflexes, store, answers):
    """For each binary in turn: rewrites the store as version 1, times the binary's migration
    on opening and compares its answers with its answers before (one copy at a time: a
    version 1 store of 10,000 lockfiles takes about 4 GB)."""
    ok = True
    for r in reflexes:
        start = time.perf_counter()
        size = store.to_version_1()
        print(f"  rewritten as schema version 1 in {time.perf_counter() - start:.0f} s ({size})",
              flush=True)
        start = time.perf_counter()
        out = r.run(["respond", "url-parse", "--state", store.state(), "--format", "json"])
        took = time.perf_counter() - start
        if out.returncode != 0:
            print(f"  {r.label}migration FAILED ({out.returncode}) after {took:.1f} s: {out.stderr}")
            return False
        said = [line for line in out.stderr.splitlines() if "migrated" in line]
        print(f"  {r.label}its message: {said[0] if said else '(none)'}", flush=True)
        # The answers before were given on the binary's own copy: all but the store's name.
        def unrooted(v):
            return {k: x for k, x in v.items() if k != "roots"}
        after = {q: r.respond(store.state(), q)[2] for q in QUERIES}
        same = all(unrooted(after[q]) == unrooted(answers[q][r.label][0][2]) for q in QUERIES)
        print(f"  {r.label}migration v1 -> current on opening: {took:.1f} s (process wall); "
              f"store now {store.describe()}; respond answers after it: "
              f"{'identical' if same else 'DIFFERENT'} ({', '.join(QUERIES)})", flush=True)
        ok &= same
    return ok


def bench(reflexes, new_store, kind, args):
    """One kind of inventory: a store per binary (`new_store(label)`), filled alike."""
    stores = [new_store(r.label) for r in reflexes]
    print(f"\n== {stores[0].name}, {kind} rows"
          + (f" (vary {args.vary:.2f})" if kind == "varied" else "") + f": {stores[-1].state()}"
          + f" ({load()})", flush=True)
    ok = True
    for r, s in zip(reflexes, stores):
        ok &= concurrent_writers(r, s, args.writers)
    records = interleaved(reflexes, stores, args.queries,
                          lambda r, s, i: r.record(s.state(), f"seed-{i}"))
    for r in reflexes:
        times, whole = [t[0] for t in records[r.label]], [t[1] for t in records[r.label]]
        print(f"  {r.label}recording one lockfile (1,035 packages): store p50 "
              f"{pct(times, 50):.1f} ms, p90 {pct(times, 90):.1f} ms, max {max(times):.1f} ms "
              f"(target <= 50 ms); with reading the lockfile's graph p50 {pct(whole, 50):.1f} ms",
              flush=True)
    if free_gb(reflexes[0].work) < args.min_free_gb + 3 * len(stores):
        sys.exit(f"less than {args.min_free_gb + 3 * len(stores)} GB free: not filling")
    start = time.perf_counter()
    size = stores[0].fill(args.records, kind, args.vary)
    print(f"  inventory filled with {args.records - 1} more lockfiles in "
          f"{time.perf_counter() - start:.0f} s ({size})"
          + (" and copied for each binary" if len(stores) > 1 else ""), flush=True)
    for s in stores[1:]:
        stores[0].copy_to(s)
    # The first answer of each binary opens (and may migrate) its copy; not counted.
    for r, s in zip(reflexes, stores):
        start = time.perf_counter()
        r.respond(s.state(), QUERIES[0])
        if len(stores) > 1:
            print(f"  {r.label}first opening: {time.perf_counter() - start:.1f} s", flush=True)
    answers = {}
    print(f"  answering ({load()})", flush=True)
    for query in QUERIES:
        answers[query] = interleaved(reflexes, stores, args.queries,
                                     lambda r, s, i: r.respond(s.state(), query, args.pipe))
        report_answers(query, reflexes, answers[query])
    surveys = interleaved(reflexes, stores, 5, lambda r, s, i: r.survey(s.state()))
    for r in reflexes:
        print(f"  {r.label}survey of {args.records - 1 + args.writers + args.queries}"
              f" recorded runs ({surveys[r.label][0][1]} repositories): p50 "
              f"{pct([x[0] for x in surveys[r.label]], 50):.0f} ms process wall (target <= 2 s)",
              flush=True)
    print(f"  answered ({load()})", flush=True)
    if len(reflexes) > 1:
        def answer(q, r):
            return {k: v for k, v in answers[q][r.label][0][2].items() if k != "roots"}
        same = all(answer(q, r) == answer(q, reflexes[0]) for q in QUERIES for r in reflexes)
        print(f"  answers of {' and '.join(r.label.strip(': ') for r in reflexes)}: "
              f"{'identical' if same else 'DIFFERENT'} ({', '.join(QUERIES)})", flush=True)
        ok &= same
    if args.migrate:
        for s in stores[:-1]:
            s.drop()
        # Version 1 keeps every run's rows in full (about 4 GB per 10,000 lockfiles), and a
        # migration needs room for the new tables and its sorts besides.
        need = MIGRATE_RESERVE_GB - MIN_FREE_GB + args.min_free_gb + 8 * args.records / 10000
        if free_gb(reflexes[0].work) < need:
            print(f"  migration skipped: less than {need:.0f} GB free")
        else:
            # Each binary's answers were given on its own copy, with the same content.
            ok &= migrate(reflexes, stores[-1], answers)
    for s in stores:
        s.drop()
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, default=10000)
    p.add_argument("--rows", default="shared,varied", help="shared, varied or both")
    p.add_argument("--vary", type=float, default=0.10,
                   help="varied: the share of packages each copy bumps")
    p.add_argument("--migrate", action="store_true",
                   help="also rewrite each store as schema version 1 and time the migration")
    p.add_argument("--writers", type=int, default=50)
    p.add_argument("--queries", type=int, default=11)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/cargo-reflex"))
    p.add_argument("--baseline", metavar="BINARY",
                   help="also measure this binary (an earlier build), alternating with --binary "
                        "under the same load, each on its own copy of the same inventory")
    p.add_argument("--pipe", action="store_true",
                   help="read respond's answers through a pipe (as before: the script's reading "
                        "of 6 MB is then part of the process wall) rather than from a file")
    p.add_argument("--min-free-gb", type=float, default=MIN_FREE_GB,
                   help="the disk space to leave free beside the stores (filling needs 3 GB a "
                        "store more, migrating about 6 GB more per 10,000 lockfiles)")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    kinds = [k for k in args.rows.split(",") if k]
    if any(k not in BUMPED for k in kinds):
        sys.exit(f"--rows takes shared and/or varied, not {args.rows}")
    binaries = ([("before: ", args.baseline)] if args.baseline else []) + [
        ("after: " if args.baseline else "", args.binary)]
    for _, b in binaries:
        if not os.path.exists(b):
            sys.exit(f"{b} missing: cargo build --release --locked -p cargo-reflex")
    work = tempfile.mkdtemp(prefix="reflex-bench-state.")
    reflexes = [Reflex(os.path.abspath(b), work, label) for label, b in binaries]
    started_server = None
    admin = os.environ.get("REFLEX_TEST_POSTGRES_URL")
    if not admin and not args.no_postgres:
        out = subprocess.run([os.path.join(ROOT, "scripts/postgres-for-tests.sh"), "start"],
                             capture_output=True, text=True, check=True).stdout
        found = dict(re.findall(r"export (\w+)='([^']*)'", out))
        admin, started_server = found["REFLEX_TEST_POSTGRES_URL"], found["REFLEX_TEST_POSTGRES_DIR"]
    ok = True
    made = []

    def tracked(store):
        made.append(store)
        return store

    try:
        for kind in kinds:
            if not args.no_postgres:
                ok &= bench(reflexes, lambda label: tracked(Postgres(
                    admin, f"reflex_bench_{os.getpid()}_{kind}_{len(made)}")), kind, args)
            if not args.no_sqlite:
                ok &= bench(reflexes, lambda label: tracked(Sqlite(
                    os.path.join(work, f"state-{kind}-{len(made)}.sqlite"))), kind, args)
    finally:
        for store in made:
            store.drop()
        shutil.rmtree(work, ignore_errors=True)
        if started_server:
            subprocess.run([os.path.join(ROOT, "scripts/postgres-for-tests.sh"), "stop",
                            started_server], check=False)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
