#!/usr/bin/env bash
# Checks, without Docker, that the Dockerfile's build stage has what it needs: the folders and
# files its COPY lines name exist, and `cargo check --locked --bin pullsim` passes in a folder
# holding only those (so a source file outside them, or a stale Cargo.lock, is caught).
set -euo pipefail
cd "$(dirname "$0")/.."
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# COPY lines of the build stage (before the second FROM), without --from copies.
mapfile -t copies < <(awk '/^FROM/{n++} n==1 && /^COPY / && !/--from/ {for (i=2; i<NF; i++) print $i}' Dockerfile)
[ "${#copies[@]}" -gt 0 ] || { echo "Dockerfile: no COPY lines in the build stage"; exit 1; }
for c in "${copies[@]}"; do
  [ -e "$c" ] || { echo "Dockerfile copies $c, which does not exist"; exit 1; }
  cp -r "$c" "$ctx/"
done
(cd "$ctx" && CARGO_TARGET_DIR="$OLDPWD/target" cargo check --quiet --locked --bin pullsim)
echo "Dockerfile: the build stage's files (${copies[*]}) build pullsim"
