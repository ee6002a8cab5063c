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

python3 - "$root" <<'PY'
import json, os, sys, statistics
root = sys.argv[1]
b = os.path.join(root, "bringup.txt")
if os.path.exists(b):
    print(open(b).read())
print("| run | trials | RTO p50 ms | RTO max ms | detected p50 | promoted/restarted p50 | endpoint ready p50 | predicted band ms | inside | lost | duplicated |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    if not os.path.isdir(d) or name == "compare":
        continue
    trials = []
    for dirpath, _, files in os.walk(d):
        if "summary.json" in files and "trial-" in dirpath:
            s = json.load(open(os.path.join(dirpath, "summary.json")))
            for t in (s.get("failover") or {}).get("trials", []):
                trials.append((t, s.get("check") or {}))
    if not trials:
        print(f"| {name} | 0 | no trial finished | | | | | | | | |")
        continue
    def p50(key):
        v = [t[key] for t, _ in trials if t.get(key) is not None]
        return f"{statistics.median(v):.0f}" if v else "-"
    rto = [t["rto_ms"] for t, _ in trials if t.get("rto_ms") is not None]
    bands = {(t["band"]["lo_ms"], t["band"]["hi_ms"]) for t, _ in trials if t.get("band")}
    inside = sum(1 for t, _ in trials if (t.get("band") or {}).get("inside"))
    lost = sum(c.get("lost", 0) for _, c in trials)
    dup = sum(c.get("duplicated", 0) for _, c in trials)
    band = ", ".join(f"{lo:.0f}-{hi:.0f}" for lo, hi in sorted(bands))
    print(f"| {name} | {len(trials)} | {statistics.median(rto):.0f} | {max(rto):.0f} | {p50('detected_ms')} | {p50('promoted_ms')} "
          f"| {p50('endpoint_ready_ms')} | {band} | {inside}/{len(trials)} | {lost} | {dup} |")
    print("|  | RTO each: " + ", ".join(f"{r:.0f}" for r in rto) + " | | | | | | | | | |")
print()
c = os.path.join(root, "compare", "comparison.md")
if os.path.exists(c):
    print(open(c).read())
PY
