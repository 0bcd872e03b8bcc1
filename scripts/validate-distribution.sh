#!/usr/bin/env bash
# The published distribution benchmarks, checked with the release build (docs/validation.md):
#   - Kraken's README benchmark at full size (2,600 hosts): p50, p99 and p99.9 of the pull
#     times within 20% of 10 s, 18 s and 22 s;
#   - where ../shared/fixtures/real/pull-measurements/ is present, the observed medians the
#     test suite compares with (tests/it/validation.rs) recomputed from the Spegel benchmark's
#     result files, so the constants there are the files' medians.
# Usage: scripts/validate-distribution.sh [path/to/pullsim]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/pullsim}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$bin" run scenarios/kraken-2600-hosts.toml --out "$out/kraken" --quiet
python3 - "$out/kraken/pulls.csv" <<'PY'
import csv, math, sys
d = sorted(float(r["finished_s"]) - float(r["started_s"]) for r in csv.DictReader(open(sys.argv[1])))
q = lambda p: d[max(1, math.ceil(p * len(d))) - 1]
bad = []
for name, p, published in (("p50", 0.5, 10.0), ("p99", 0.99, 18.0), ("p99.9", 0.999, 22.0)):
    err = abs(q(p) - published) / published
    print(f"kraken {name}: published {published:.1f} s, predicted {q(p):.3f} s, error {err:.0%}")
    if err > 0.20:
        bad.append(name)
sys.exit(f"over 20%: {bad}" if bad else 0)
PY

fixtures=../shared/fixtures/real/pull-measurements
if [ ! -d "$fixtures" ]; then
  echo "spegel benchmark: $fixtures not present, skipped"
  exit 0
fi
python3 - "$fixtures" tests/it/validation.rs <<'PY'
import glob, json, os, re, statistics, sys
fixtures, test = sys.argv[1], open(sys.argv[2]).read()
# ("10MB", 1, [1.43, 1.20], [1.73, 0.11]) lines of SPEGEL_BENCHMARK
rows = re.findall(r'\("(\w+)", (\d), \[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\)', test)
bad = 0
for size, layers, *consts in rows:
    for kind, (c1, c2) in (("baseline", consts[:2]), ("spegel-v0.0.27", consts[2:])):
        prefix = "spegel-results-2024-04-baseline" if kind == "baseline" else "spegel-results-spegel-v0.0.27"
        f = os.path.join(fixtures, f"{prefix}-{size}-{layers}.json")
        bench = json.load(open(f))["benchmarks"]
        med = [statistics.median(m["duration"] / 1e9 for m in b["measurements"]) for b in bench]
        ok = all(abs(m - float(c)) < 0.005 for m, c in zip(med, (c1, c2)))
        bad += not ok
        print(f"spegel {kind} {size}-{layers}: files {med[0]:.2f}/{med[1]:.2f}, tests {c1}/{c2}", "" if ok else "MISMATCH")
sys.exit(1 if bad else 0)
PY
