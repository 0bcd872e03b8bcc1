#!/usr/bin/env bash
# Checks that the test data kept in tests/data/ still equals the project's reference copies
# (vectors, contract examples, the scenario-file contract) where those sit beside the
# repository in ../shared/. Prints what differs and exits 1; says so and exits 0 when the
# reference copies are absent (a plain clone).
set -euo pipefail
cd "$(dirname "$0")/.."
ref=../shared
if [ ! -d "$ref" ]; then
  echo "test data: no $ref beside the repository; nothing to compare"
  exit 0
fi
status=0
check() { # check REF_DIR OURS_DIR GLOB
  local from=$1 ours=$2 glob=$3 f n=0
  for f in "$from"/$glob; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    if ! cmp -s "$f" "$ours/$(basename "$f")"; then
      echo "test data differs from the reference copy: $ours/$(basename "$f") vs $f"
      status=1
    fi
  done
  for f in "$ours"/$glob; do
    [ -e "$from/$(basename "$f")" ] || { echo "test data has no reference copy: $f"; status=1; }
  done
  echo "test data: $n files of $ours compared with $from"
}
check "$ref/vectors" tests/data/vectors '*.json'
check "$ref/examples" tests/data/examples '*.toml'
check "$ref" tests/data/contract 'scenario-format.md'
exit $status
