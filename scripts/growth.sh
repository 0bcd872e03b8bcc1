#!/usr/bin/env bash
# Growth check of issue 6: benches/scenarios/large.toml at 1/8, 1/4, 1/2 and the full size
# (625, 1,250, 2,500, 5,000 nodes; 30 pods per node), nodes and pods doubled together.
#
#   scripts/growth.sh           # registries as in large.toml (fixed total egress)
#   scripts/growth.sh --scaled  # registry egress scaled with the cluster (same load per node)
#
# With fixed registries, a bigger cluster is a harder scenario (the rollout lasts longer, so the
# outage catches more pulls and causes more retries): the events grow faster than the cluster.
# With scaled registries the simulated work per node is the same at every size, which isolates
# the simulator's own cost growth. Prints events, loop seconds (best of RUNS, default 3) and
# the ratio to the previous size.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SCALED=0
[[ "${1:-}" == "--scaled" ]] && SCALED=1
cargo build --release --quiet
BIN=target/release/pullsim
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
prev=""
printf "%-6s %-8s %-10s %-9s %-8s %s\n" nodes pods events loop_s ns/event ratio
for frac in 8 4 2 1; do
  nodes=$((5000 / frac))
  a=$((60000 / frac)); b=$((50000 / frac)); c=$((35000 / frac))
  sets=(--set "node_pool.workers.count=$nodes" --set "workload.apps-a.replicas=$a"
        --set "workload.apps-b.replicas=$b" --set "workload.apps-c.replicas=$c")
  if [[ $SCALED == 1 ]]; then
    # 40/40/20 Gbps at 5,000 nodes, in proportion below.
    ab=$((40000 / frac)); cc=$((20000 / frac))
    sets+=(--set "registry.a.registry.example.bandwidth=${ab}Mbps"
           --set "registry.b.registry.example.bandwidth=${ab}Mbps"
           --set "registry.c.registry.example.bandwidth=${cc}Mbps")
  fi
  best=""
  events=""
  for _ in $(seq "$RUNS"); do
    line=$("$BIN" run benches/scenarios/large.toml "${sets[@]}" --stats --out "$OUT/r" | grep '^  events')
    events=$(echo "$line" | awk '{print $2}')
    s=$(echo "$line" | sed 's/.* in \([0-9.]*\)s wall.*/\1/')
    if [[ -z "$best" ]] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
  done
  ratio="-"
  [[ -n "$prev" ]] && ratio=$(awk "BEGIN{printf \"x%.2f\", $best / $prev}")
  per_event=$(awk "BEGIN{printf \"%.0f\", $best * 1e9 / $events}")
  printf "%-6s %-8s %-10s %-9s %-8s %s\n" "$nodes" "$((a + b + c + nodes))" "$events" "$best" "$per_event" "$ratio"
  prev=$best
done
