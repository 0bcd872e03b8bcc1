#!/usr/bin/env bash
# Regenerates the table of scenarios in scenarios/README.md (between the markers
# `<!-- scenario-table:begin -->` and `<!-- scenario-table:end -->`) from real runs: each
# scenario is run in full with the release build, and so is each of its `# table-variant:`
# lines (space-separated KEY=VALUE overrides). What the table shows comes from the scenario's
# own comments: the `# Question:` paragraph, and the summary.json fields named on its
# `# table:` line (`<workload>.<field>` for one workload's figure, `lazy.<field>` for one of
# summary.json `lazy`).
#
#   scripts/scenario-table.sh           rewrite scenarios/README.md
#   scripts/scenario-table.sh --check   exit 1 if the README is not current (writes nothing)
#
# Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "scenario-table.sh: needs jq" >&2; exit 2; }
check=false
[ "${1:-}" = "--check" ] && check=true

cargo build --release --quiet
# Where cargo put it: CARGO_TARGET_DIR when set, as cargo itself reads it.
bin=${CARGO_TARGET_DIR:-target}/release/pullsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The `# Question:` paragraph: from that line to the next `# Word:` line, as one line.
question() {
  sed -n '/^# Question:/,/^# [A-Z][a-z]*:/p' "$1" | sed '$d' \
    | sed 's/^# Question: *//; s/^# *//' | tr '\n' ' ' | sed 's/  */ /g; s/ $//; s/|/\\|/g'
}

# The fields of the `# table:` line, formatted from summary.json in $2. A field is a summary
# field of the whole run, `lazy.<field>`: one of the run's lazy-pulling figures (summary.json
# `lazy`), or `<workload>.<field>`: that workload's figure (summary.json `workloads`), for the
# workload the question is about.
answer() {
  local f=$1 summary=$2 out=()
  for key in $(sed -n 's/^# table: *//p' "$f"); do
    if [[ $key == lazy.* ]]; then
      local m=${key#lazy.} v
      v=$(jq -r --arg m "$m" '.lazy[$m] // "–"' "$summary")
      if [ "$v" = "–" ]; then
        out+=("$key –")
      elif [[ $m == *_bytes ]]; then
        out+=("$key $(jq -r --arg m "$m" '.lazy[$m] / 1e9 * 100 | round / 100' "$summary") GB")
      elif [[ $m == *_s ]]; then
        out+=("$key $v s")
      else
        out+=("$key $v")
      fi
      continue
    fi
    if [[ $key == *.* ]]; then
      local w=${key%%.*} m=${key#*.} v
      v=$(jq -r --arg w "$w" --arg m "$m" '.workloads[$w][$m] | if type == "array" then
            (map(if . == null then "unfinished" else "\(.) s" end) | join(", ")) else . // "–" end' "$summary")
      case $m in
        rollout_s) out+=("$key $v") ;;
        *_s) out+=("$key $v s") ;;
        bytes_pulled) out+=("$key $(jq -r --arg w "$w" '.workloads[$w].bytes_pulled / 1e9 * 100 | round / 100' "$summary") GB") ;;
        *) out+=("$key $v") ;;
      esac
      continue
    fi
    case $key in
      rollouts)
        out+=("rollout $(jq -r '[.rollouts[] | "\(.[0]) \(if .[1] == null then "unfinished" else "\(.[1]) s" end)"] | join(", ")' "$summary")") ;;
      *_s)
        out+=("$key $(jq -r ".$key // \"–\"" "$summary") s") ;;
      bytes_pulled|gc_bytes_freed)
        out+=("$key $(jq -r ".$key / 1e9 * 100 | round / 100" "$summary") GB") ;;
      *)
        out+=("$key $(jq -r ".$key" "$summary")") ;;
    esac
  done
  local IFS=';'
  echo "${out[*]}" | sed 's/;/, /g'
}

rows="$tmp/rows.md"
{
  echo "| scenario | question | command | answer (seed from the file) |"
  echo "| --- | --- | --- | --- |"
} > "$rows"
for f in scenarios/*.toml; do
  name=$(basename "$f" .toml)
  "$bin" run "$f" --out "$tmp/$name" --quiet
  cell="$(answer "$f" "$tmp/$name/summary.json")"
  cmd="\`pullsim run $f\`"
  i=0
  while read -r variant; do
    [ -n "$variant" ] || continue
    i=$((i + 1))
    sets=()
    read -ra kvs <<< "$variant"
    for kv in "${kvs[@]}"; do sets+=(--set "$kv"); done
    "$bin" run "$f" --out "$tmp/$name-v$i" --quiet "${sets[@]}"
    cell="$cell<br>with \`$variant\`: $(answer "$f" "$tmp/$name-v$i/summary.json")"
  done < <(sed -n 's/^# table-variant: *//p' "$f")
  echo "| [$name]($name.toml) | $(question "$f") | $cmd | $cell |" >> "$rows"
done

readme=scenarios/README.md
new="$tmp/README.md"
awk -v rows="$rows" '
  /<!-- scenario-table:begin -->/ { print; while ((getline line < rows) > 0) print line; skip = 1; next }
  /<!-- scenario-table:end -->/ { skip = 0 }
  !skip { print }
' "$readme" > "$new"
if $check; then
  if ! cmp -s "$readme" "$new"; then
    diff -u "$readme" "$new" || true
    echo "scenarios/README.md is not current: run scripts/scenario-table.sh" >&2
    exit 1
  fi
  echo "scenarios/README.md is current"
else
  cp "$new" "$readme"
  echo "rewrote the table in $readme"
fi
