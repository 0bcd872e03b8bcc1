#!/usr/bin/env bash
# Calibrates against every kubelet events file kept beside the repository in
# ../shared/fixtures/real/events/ (see its SOURCES.md): the scenario is `pullsim import` of that
# same events file (its nodes are the ones the events name), with the NodeList of the same
# cluster where there is one, then `pullsim calibrate` fits the default parameters on 75% of the
# pulls and reports the error on the other 25% (held out). One block per file: the fitted values and the MAPE before and after, or
# why the file is skipped (import or calibrate exit 2 with the reason). Any other exit code
# fails. A poor fit is reported, not a failure: the point is to see how far the model is.
# Usage: scripts/calibrate-real-events.sh PULLSIM_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: scripts/calibrate-real-events.sh PULLSIM_BINARY}
events=../shared/fixtures/real/events
if [ ! -d "$events" ]; then
  echo "calibration on real events: skipped: ../shared/fixtures/real/events not present"
  exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
nodes=../shared/fixtures/real/nodes
# The NodeList taken of the same cluster as an events file (SOURCES.md), where there is one.
node_list() {
  case $1 in
    chonks-gke-run1-8nodes-events.jsonl) echo "$nodes/chonks-gke-8nodes-nodelist.json" ;;
    chonks-eks-run1-4nodes-events.jsonl) echo "$nodes/chonks-eks-4nodes-nodelist.json" ;;
  esac
}
for f in "$events"/*; do
  name=$(basename "$f")
  inputs=("$f")
  list=$(node_list "$name")
  if [ -n "$list" ] && [ -f "$list" ]; then
    inputs+=("$list")
    printf '  %s with %s\n' "$name" "$(basename "$list")"
  fi
  rc=0
  "$bin" import "${inputs[@]}" --out "$out/scenario.toml" --force --quiet 2>"$out/stderr" || rc=$?
  if [ "$rc" = 2 ]; then
    printf '  skipped    %s: import: %s\n' "$name" "$(head -1 "$out/stderr" | sed 's/^error: //')"
    continue
  elif [ "$rc" != 0 ]; then
    echo "import of $name failed with exit code $rc:"
    cat "$out/stderr"
    exit 1
  fi
  rc=0
  "$bin" calibrate "${inputs[@]}" --scenario "$out/scenario.toml" --holdout 0.25 --out "$out/cal" --force \
    >"$out/stdout" 2>"$out/stderr" || rc=$?
  case $rc in
    0)
      printf '  calibrated %s:\n' "$name"
      sed 's/^/    /' "$out/stdout" | grep -v '^    wrote '
      ;;
    2)
      printf '  skipped    %s: calibrate: %s\n' "$name" "$(grep '^error: ' "$out/stderr" | head -1 | sed 's/^error: //')"
      ;;
    *)
      echo "calibrate of $name failed with exit code $rc:"
      cat "$out/stderr"
      exit 1
      ;;
  esac
done
