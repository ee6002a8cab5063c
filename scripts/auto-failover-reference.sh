#!/usr/bin/env bash
# The pg_auto_failover figures of results/REFERENCE.md, reproducible: bring-up times, then each
# outage N times (every trial on a fresh formation: a monitor and 3 data nodes unless a run says
# --nodes 2), at the monitor's defaults and at tuned timings, with number_sync_standbys=1; then
# the wait_primary window (one standby, killed) alone and with a second fault inside it; the
# primary cut off by a partition; then the engines-compare scenario (Patroni beside
# pg_auto_failover). Every run writes its own folder under results/auto-failover-ref-<stamp>/;
# the table is printed at the end.
#   scripts/auto-failover-reference.sh [habench binary] [trials]
#   ONLY="crash-tuned window" scripts/auto-failover-reference.sh   # some runs only ("bringup", "compare")
set -euo pipefail
bin=${1:-target/release/habench}
n=${2:-5}
only=${ONLY:-}
root=results/auto-failover-ref-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$root"
wanted() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

# Bring-up: the monitor, then 3 data nodes, one primary and two secondaries.
if wanted bringup; then
  times=()
  for _ in $(seq "$n"); do
    out=$(mktemp)
    "$bin" topology up pg_auto_failover --nodes 3 >"$out" 2>/dev/null &
    pid=$!
    until [ -s "$out" ]; do kill -0 "$pid" 2>/dev/null || { echo "habench exited early" >&2; exit 1; }; sleep 0.05; done
    times+=("$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["up_ms"]))' "$out")")
    kill -TERM "$pid"; wait "$pid" || true; rm -f "$out"
  done
  echo "bring-up ms, 3 data nodes: ${times[*]}" | tee -a "$root/bringup.txt"
fi

sync1=(--engine-set number_sync_standbys=1)
tuned=(--engine-set node_considered_unhealthy_timeout=4000 --engine-set primary_demote_timeout=4000
       --engine-set health_check_period=1000)
run() {
  local name=$1; shift
  wanted "$name" || return 0
  local nodes=3 trials=$n
  if [ "${1:-}" = "--nodes" ]; then nodes=$2; shift 2; fi
  if [ "${1:-}" = "--at-most" ]; then trials=$(( $2 < n ? $2 : n )); shift 2; fi
  echo "== $name ($trials trials): $*" >&2
  "$bin" run quick --topology pg_auto_failover --nodes "$nodes" --rate 200 --warmup 2s --trials "$trials" "$@" \
    --quiet --out "$root/$name" > "$root/$name.out" 2> "$root/$name.err" || echo "  ($name exited non-zero)" >&2
}
run crash-tuned --duration 25s --fault crash-primary@5s "${tuned[@]}" "${sync1[@]}"
run kill-tuned --duration 20s --fault kill-primary@5s "${tuned[@]}" "${sync1[@]}"
run crash-defaults --duration 70s --fault crash-primary@5s "${sync1[@]}"
run kill-defaults --duration 25s --fault kill-primary@5s "${sync1[@]}"
run switchover --duration 15s --fault switchover@5s "${sync1[@]}"
run pause25 --duration 40s --fault pause-primary@5s:25s "${tuned[@]}" "${sync1[@]}"
run monitor-outage20 --duration 35s --fault dcs-outage@5s:20s "${sync1[@]}"
# One standby: killing it leaves the primary alone (wait_primary); a second fault inside.
run window --nodes 2 --duration 20s --fault kill-sync-standby@5s "${tuned[@]}"
run restart-engine --duration 20s --fault restart-engine@5s "${tuned[@]}" "${sync1[@]}"
run window-then-kill --nodes 2 --duration 30s --fault kill-sync-standby@5s --fault kill-primary@15s "${tuned[@]}"
# Nothing is left to fail over to: each trial also waits out the drain (about 2 minutes).
run window-then-crash --nodes 2 --at-most 2 --duration 25s --fault kill-sync-standby@5s --fault crash-primary@15s "${tuned[@]}"
# The primary cut from the monitor and the other nodes (clients still reach it): it stops itself
# after wal_sender_timeout + network_partition_timeout; the monitor promotes meanwhile.
run partition-tuned --duration 75s --fault partition-primary@5s:65s "${tuned[@]}" "${sync1[@]}"
run partition-defaults --duration 90s --fault partition-primary@5s:75s "${sync1[@]}"
# The same cut in the kernel (--net namespaces: every node and the monitor a host of its own,
# nftables drops); then the shapes: the primary isolated from every host, clients included, and
# the primary cut from the monitor only (it still reaches its standbys and its clients).
ns=(--net namespaces)
run partition-ns-tuned --duration 75s --fault partition-primary@5s:65s "${ns[@]}" "${tuned[@]}" "${sync1[@]}"
run isolate-ns-tuned --at-most 3 --duration 75s --fault partition@5s:65s=isolate:primary "${ns[@]}" "${tuned[@]}" "${sync1[@]}"
run leader-from-dcs-ns-tuned --at-most 3 --duration 75s --fault partition@5s:65s=leader-from-dcs "${ns[@]}" "${tuned[@]}" "${sync1[@]}"
if wanted compare; then
  "$bin" run engines-compare --quiet --out "$root/compare" > "$root/compare.out" 2> "$root/compare.err" \
    || echo "  (compare exited non-zero)" >&2
fi

python3 "$(dirname "$0")/trials-table.py" "$root"
