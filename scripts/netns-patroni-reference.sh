#!/usr/bin/env bash
# The Patroni-on-namespaces figures of results/REFERENCE.md, reproducible (as root, with
# nftables, Patroni and etcd installed by scripts/install-ha-engines.sh): 3 nodes and 3 etcd
# members, each a host of its own, Patroni's default timings, 100 publishes/s; each shape N
# times on a fresh cluster: the leader cut from the DCS with failsafe_mode off and on, halves and
# bridge (nodes and etcd members alternating, the leader first), halves again with synchronous
# mode on.
#   scripts/netns-patroni-reference.sh [habench binary] [runs per case]
# Prints one line per run and writes results/netns-patroni-<stamp>.csv.
set -euo pipefail
bin=${1:-target/release/habench}
n=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p results
csv=results/netns-patroni-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "case,run,rto_ms,demoted_ms,promoted_node,promoted_ms,leader_before,lost,duplicated,two_primaries,acked" > "$csv"
one() {
  local case=$1 run=$2; shift 2
  local out="$work/$case-$run"
  "$bin" run quick --topology patroni --nodes 3 --dcs-members 3 --net namespaces --rate 100 --warmup 2s \
    --duration 60s --quiet "$@" --out "$out" > /dev/null 2>&1
  python3 - "$out" "$case" "$run" >> "$csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json")); t = s["failover"]["trials"][0]
demoted = next((e["at_ms"] for e in t["events"] if e["event"] == "detected"), None)
# The leader when the fault was laid: the first host of its reach (the primary first).
leader = next((e["hosts"][0] for e in t["events"] if e["event"] == "reach"), t["target"])
f = lambda v: "" if v is None else (f"{v:.0f}" if isinstance(v, float) else str(v))
two = s.get("two_primaries") or {}
print(",".join([sys.argv[2], sys.argv[3], f(t.get("rto_ms")), f(demoted), f(t.get("promoted_node")), f(t.get("promoted_ms")),
                leader, str(s["check"]["lost"]), str(s["check"]["duplicated"]), f(two.get("acked")), str(s["check"]["acknowledged"])]))
PY
  tail -1 "$csv"
}
for run in $(seq "$n"); do
  one leader-from-dcs "$run" --fault partition@5s:30s=leader-from-dcs
  one leader-from-dcs-failsafe "$run" --fault partition@5s:30s=leader-from-dcs --engine-set failsafe_mode=true
  one halves "$run" --fault partition@5s:30s=halves
  one halves-sync "$run" --fault partition@5s:30s=halves --sync-mode on
  one bridge "$run" --fault partition@5s:30s=bridge
done
echo "written: $csv"
