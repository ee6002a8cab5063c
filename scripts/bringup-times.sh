#!/usr/bin/env bash
# Measures how long `habench topology up` takes to bring a topology up (the `up_ms` field of
# its JSON line), N times per topology. Usage: scripts/bringup-times.sh [N] [habench binary]
set -euo pipefail
n=${1:-5}
bin=${2:-target/release/habench}
measure() {
  local label=$1; shift
  local times=()
  for _ in $(seq "$n"); do
    local out; out=$(mktemp)
    "$bin" topology up "$@" >"$out" 2>/dev/null &
    local pid=$!
    until [ -s "$out" ]; do
      kill -0 "$pid" 2>/dev/null || { echo "habench exited early" >&2; exit 1; }
      sleep 0.05
    done
    times+=("$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["up_ms"]))' "$out")")
    kill -TERM "$pid"; wait "$pid"; rm -f "$out"
  done
  printf '%-28s %s\n' "$label" "${times[*]}"
}
echo "bring-up times in ms ($n runs each, $(nproc) cores, $(date -u +%FT%TZ))"
measure "single" single
measure "sync --standbys 2" sync --standbys 2
measure "sync --standbys 2 --quorum any" sync --standbys 2 --quorum any
measure "async --standbys 2" async --standbys 2
measure "shared-disk" shared-disk
measure "log-shipping" log-shipping
