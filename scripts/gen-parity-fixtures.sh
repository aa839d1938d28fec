#!/usr/bin/env bash
# Regenerates fixtures/parity/*.txt from cargo-audit (run once by hand; CI never needs cargo-audit).
# Each line: <advisory-id> <package> <version> <kind>, sorted.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/fixtures/parity"
mkdir -p "$out"
cargo audit --version
for lock in "$root"/fixtures/corpus/*/Cargo.lock "$root"/fixtures/corpus/_historical/*.Cargo.lock; do
  name="$(basename "$(dirname "$lock")")"
  [[ "$name" == _historical ]] && name="$(basename "$lock" .Cargo.lock)"
  cargo audit --db "$root/data/advisory-db" --no-fetch --no-yanked --stale --json --file "$lock" 2>/dev/null |
    python3 -c '
import json, sys
r = json.load(sys.stdin)
rows = set()
for v in r["vulnerabilities"]["list"]:
    rows.add((v["advisory"]["id"], v["package"]["name"], v["package"]["version"], "vulnerability"))
for kind, ws in r["warnings"].items():
    for w in ws:
        if w.get("advisory"):
            rows.add((w["advisory"]["id"], w["package"]["name"], w["package"]["version"], kind))
for row in sorted(rows):
    print(" ".join(row))
' > "$out/$name.txt" || true
  echo "$name: $(wc -l < "$out/$name.txt") advisory matches"
done
