#!/usr/bin/env bash
# The Patroni figures of results/REFERENCE.md, reproducible: bring-up times, then every fault
# 5 times (each trial on a fresh cluster) at Patroni's defaults and at tuned timings, then the
# failover-compare scenario. Every run writes its own folder under results/patroni-ref-<stamp>/;
# a table of RTO p50/max, phases, band verdicts and losses is printed at the end.
#   scripts/patroni-reference.sh [habench binary] [trials]
#   ONLY="crash-tuned partition-tuned" scripts/patroni-reference.sh   # some runs only ("bringup" names the bring-up times)
set -euo pipefail
bin=${1:-target/release/habench}
n=${2:-5}
only=${ONLY:-}
root=results/patroni-ref-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$root"

# Bring-up: etcd, leader, 2 streaming replicas and the sync standby assigned.
bringup() {
  local label=$1; shift
  local times=()
  for _ in 1 2 3; do
    local out; out=$(mktemp)
    "$bin" topology up patroni "$@" >"$out" 2>/dev/null &
    local pid=$!
    until [ -s "$out" ]; do kill -0 "$pid" 2>/dev/null || { echo "habench exited early" >&2; exit 1; }; sleep 0.05; done
    times+=("$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["up_ms"]))' "$out")")
    kill -TERM "$pid"; wait "$pid"; rm -f "$out"
  done
  echo "bring-up ms, $label: ${times[*]}" | tee -a "$root/bringup.txt"
}
if [ -z "$only" ] || [[ " $only " == *" bringup "* ]]; then
bringup "defaults (30/10/10), sync on" --sync-mode on
bringup "loop_wait 1, sync on" --sync-mode on --engine-set loop_wait=1
bringup "ttl 20, loop_wait 1, retry_timeout 3, sync on" --sync-mode on --engine-set ttl=20 --engine-set loop_wait=1 --engine-set retry_timeout=3
fi

tuned=(--engine-set ttl=20 --engine-set loop_wait=1 --engine-set retry_timeout=3)
run() {
  local name=$1; shift
  if [ -n "$only" ] && ! [[ " $only " == *" $name "* ]]; then return; fi
  local mode=on
  if [ "${1:-}" = "--mode" ]; then mode=$2; shift 2; fi
  echo "== $name: $*" >&2
  "$bin" run quick --topology patroni --sync-mode "$mode" --rate 200 --warmup 2s --trials "$n" "$@" \
    --quiet --out "$root/$name" > "$root/$name.out" 2> "$root/$name.err" || echo "  ($name exited non-zero)" >&2
}
run crash-defaults --duration 45s --fault crash-primary@5s
run crash-tuned --duration 30s --fault crash-primary@5s "${tuned[@]}"
run kill-defaults --duration 25s --fault kill-primary@5s
run kill-tuned --duration 15s --fault kill-primary@5s "${tuned[@]}"
run kill-tuned-pst0 --duration 15s --fault kill-primary@5s "${tuned[@]}" --engine-set primary_start_timeout=0
run pause25-defaults --duration 40s --fault pause-primary@5s:25s
run pause25-tuned --duration 40s --fault pause-primary@5s:25s "${tuned[@]}"
run switchover-defaults --duration 15s --fault switchover@5s
run switchover-tuned --duration 15s --fault switchover@5s "${tuned[@]}"
run dcs20-defaults --duration 40s --fault dcs-outage@5s:20s
run dcs10-tuned --duration 25s --fault dcs-outage@5s:10s "${tuned[@]}"
run dcs10-tuned-failsafe --duration 25s --fault dcs-outage@5s:10s "${tuned[@]}" --engine-set failsafe_mode=true
run partition25-defaults --duration 40s --fault partition-primary@5s:25s
run partition25-tuned --duration 40s --fault partition-primary@5s:25s "${tuned[@]}"
run crash-tuned-strict --mode strict --duration 30s --fault crash-primary@5s "${tuned[@]}"
run crash-tuned-quorum --mode quorum --duration 30s --fault crash-primary@5s "${tuned[@]}"
if [ -z "$only" ] || [[ " $only " == *" compare "* ]]; then
  "$bin" run failover-compare --quiet --out "$root/compare" > "$root/compare.out" 2> "$root/compare.err" \
    || echo "  (compare exited non-zero)" >&2
fi

python3 "$(dirname "$0")/trials-table.py" "$root"
