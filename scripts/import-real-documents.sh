#!/usr/bin/env bash
# Imports every real-world document kept beside the repository in ../shared/fixtures/real/
# (kubectl output from real clusters, kubelet and containerd configs, manifests, events; see
# its SOURCES.md), each alone and the GKE ones together, and validates and runs each result.
# One line per file: what it imported, or why it is not used (`pullsim import` exits 2 with
# the reason). Any other exit code (a crash) or a result that does not validate and run fails.
# Usage: scripts/import-real-documents.sh PULLSIM_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: scripts/import-real-documents.sh PULLSIM_BINARY}
real=../shared/fixtures/real
if [ ! -d "$real" ]; then
  echo "import of real documents: skipped: ../shared/fixtures/real not present"
  exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
imported=0 unused=0

# Imports "$@" into $out/scenario.toml, then validates and runs it; prints one line named $label.
check() {
  local label=$1
  shift
  rm -f "$out/scenario.toml"
  local rc=0
  "$bin" import "$@" --out "$out/scenario.toml" --quiet 2>"$out/stderr" || rc=$?
  case $rc in
    0)
      # Warnings (e.g. all replicas on a one-node pool) are expected; failures are not.
      if ! "$bin" validate "$out/scenario.toml" >"$out/validate" 2>&1 ||
        ! "$bin" run "$out/scenario.toml" --out "$out/run" --force --quiet >"$out/run.log" 2>&1; then
        echo "the scenario imported from $label does not validate or run:"
        cat "$out/validate" "$out/run.log" 2>/dev/null
        exit 1
      fi
      local what
      what=$(sed -n '2,/^# Every value/p' "$out/scenario.toml" | grep -c '^#   ' || true)
      printf '  imported   %s: %s (%s file(s) read; validated and ran)\n' "$label" \
        "$(grep -c '^\[\[node_pool\]\]' "$out/scenario.toml") pools, $(grep -c '^\[\[image\]\]' "$out/scenario.toml") images, $(grep -c '^\[\[workload\]\]' "$out/scenario.toml") workloads" "$what"
      imported=$((imported + 1))
      ;;
    2)
      # The reason: the first line of the error, or the first reason listed under it.
      local why
      why=$(grep -v '^error: .*nothing to import:$' "$out/stderr" | head -1 | sed 's/^error: //; s/^ *//')
      why=${why#"$(basename "$label"): "}
      printf '  not used   %s: %s\n' "$label" "$why"
      unused=$((unused + 1))
      ;;
    *)
      echo "import of $label failed with exit code $rc:"
      cat "$out/stderr"
      exit 1
      ;;
  esac
}

echo "each document alone:"
while IFS= read -r f; do
  check "${f#"$real"/}" "$f"
done < <(find "$real" -type f ! -name SOURCES.md | LC_ALL=C sort)

echo "together:"
check "GKE 8-node cluster (nodes, events, the study's manifests)" \
  "$real/nodes/chonks-gke-8nodes-nodelist.json" "$real/events/chonks-gke-run1-8nodes-events.jsonl" \
  "ghcr.io/converged-computing/container-chonks-run1=$real/oci-manifests/chonks-run1-manifests-configs.json"
gke=()
while IFS= read -r f; do gke+=("$f"); done < <(find "$real" -type f -name 'chonks-gke-*' | LC_ALL=C sort)
check "every GKE document (${#gke[@]} files and the study's manifests)" "${gke[@]}" \
  "ghcr.io/converged-computing/container-chonks-run1=$real/oci-manifests/chonks-run1-manifests-configs.json"
check "mysql:5.7.24, the Quay fixture's manifest named by its reference (REF=FILE)" \
  "mysql:5.7.24=$real/oci-manifests/quay-fixture-mysql57-schema2-manifest.json"
check "kubeadm lab (cluster-info dump and /configz transcript)" \
  "$real/nodes/kubeadm-lab-cluster-info-dump.txt" "$real/kubelet-config/kubeadm-lab-configz-transcript.txt"
echo "import of real documents: $imported imported, $unused not used (reason above)"
