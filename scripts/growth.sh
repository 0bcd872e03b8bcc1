#!/usr/bin/env bash
# Growth check of issue 6: benches/scenarios/large.toml at 1/8, 1/4, 1/2 and the full size
# (625, 1,250, 2,500, 5,000 nodes; 30 pods per node), nodes and pods doubled together.
#
#   scripts/growth.sh           # registries as in large.toml (fixed total egress)
#   scripts/growth.sh --scaled  # registry egress scaled with the cluster (same load per node)
#   SIZES="1 2 4" scripts/growth.sh --scaled   # multiples of the full size instead
#
# With fixed registries, a bigger cluster is a harder scenario (the rollout lasts longer, so the
# outage catches more pulls and causes more retries): the events grow faster than the cluster.
# With scaled registries the simulated work per node is the same at every size, which isolates
# the simulator's own cost growth.
#
# The sizes are run in interleaved rounds (every size once per round, ROUNDS rounds, default
# 3) and each size keeps its best loop time: this VM's speed drifts by tens of percent within
# minutes, and timing one size after another (as criterion does) lets a slow phase land on
# one size only and distort the ratio. Prints events, loop seconds, ns/event and the ratio
# to the previous size.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-${RUNS:-3}}
SIZES=${SIZES:-"0.125 0.25 0.5 1"}
SCALED=0
[[ "${1:-}" == "--scaled" ]] && SCALED=1
cargo build --release --quiet
BIN=target/release/pullsim
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
scaled() { awk "BEGIN{printf \"%d\", $1 * $2}"; }
declare -A best events
for _ in $(seq "$ROUNDS"); do
  for m in $SIZES; do
    sets=(--set "node_pool.workers.count=$(scaled 5000 "$m")"
          --set "workload.apps-a.replicas=$(scaled 60000 "$m")"
          --set "workload.apps-b.replicas=$(scaled 50000 "$m")"
          --set "workload.apps-c.replicas=$(scaled 35000 "$m")")
    if [[ $SCALED == 1 ]]; then
      # 40/40/20 Gbps at 5,000 nodes, in proportion at other sizes.
      sets+=(--set "registry.a.registry.example.bandwidth=$(scaled 40000 "$m")Mbps"
             --set "registry.b.registry.example.bandwidth=$(scaled 40000 "$m")Mbps"
             --set "registry.c.registry.example.bandwidth=$(scaled 20000 "$m")Mbps")
    fi
    line=$("$BIN" run benches/scenarios/large.toml "${sets[@]}" --stats --out "$OUT/r" | grep '^  events')
    events[$m]=$(echo "$line" | awk '{print $2}')
    s=$(echo "$line" | sed 's/.* in \([0-9.]*\)s wall.*/\1/')
    if [[ -z "${best[$m]:-}" ]] || awk "BEGIN{exit !($s < ${best[$m]})}"; then best[$m]=$s; fi
  done
done
prev=""
printf "%-7s %-9s %-10s %-9s %-8s %s\n" nodes pods events loop_s ns/event ratio
for m in $SIZES; do
  ratio="-"
  [[ -n "$prev" ]] && ratio=$(awk "BEGIN{printf \"x%.2f\", ${best[$m]} / $prev}")
  per_event=$(awk "BEGIN{printf \"%.0f\", ${best[$m]} * 1e9 / ${events[$m]}}")
  pods=$(( $(scaled 145000 "$m") + $(scaled 5000 "$m") ))
  printf "%-7s %-9s %-10s %-9s %-8s %s\n" "$(scaled 5000 "$m")" "$pods" "${events[$m]}" "${best[$m]}" "$per_event" "$ratio"
  prev=${best[$m]}
done
