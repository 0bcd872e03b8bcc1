#!/usr/bin/env bash
# Calibrates against every kubelet events file kept beside the repository in
# ../shared/fixtures/real/events/ (see its SOURCES.md): the scenario is `pullsim import` of that
# same events file (its nodes are the ones the events name), then `pullsim calibrate` fits the
# default parameters. One block per file: the fitted values and the MAPE before and after, or
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
for f in "$events"/*; do
  name=$(basename "$f")
  rc=0
  "$bin" import "$f" --out "$out/scenario.toml" --force --quiet 2>"$out/stderr" || rc=$?
  if [ "$rc" = 2 ]; then
    printf '  skipped    %s: import: %s\n' "$name" "$(head -1 "$out/stderr" | sed 's/^error: //')"
    continue
  elif [ "$rc" != 0 ]; then
    echo "import of $name failed with exit code $rc:"
    cat "$out/stderr"
    exit 1
  fi
  rc=0
  "$bin" calibrate "$f" --scenario "$out/scenario.toml" --out "$out/cal" --force \
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
