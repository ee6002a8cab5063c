#!/usr/bin/env bash
# The packet-loss figure of results/REFERENCE.md, reproducible (as root, with nftables): the
# sync topology on namespaces (one synchronous standby) at a fixed rate, with no loss and with
# PERCENT% of the standby's packets dropped each way for the whole measured phase, alternated
# N rounds; prints publish (commit) p50/p99/max per run and the medians per setting.
#   scripts/netns-loss-reference.sh [habench binary] [rounds] [seconds] [loss percents...]
set -euo pipefail
bin=${1:-target/release/habench}
n=${2:-3}
secs=${3:-45}
losses=("${@:4}")
[ ${#losses[@]} -gt 0 ] || losses=(1 5)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
csv=results/netns-loss-$(date -u +%Y%m%dT%H%M%SZ).csv
mkdir -p results
echo "loss_pct,round,publish_per_s,p50_ms,p99_ms,max_ms,lost" > "$csv"
one() {
  local pct=$1 round=$2 out="$work/r-$1-$2" fault=()
  [ "$pct" != 0 ] && fault=(--fault "packet-loss@1s:$((secs - 2))s=${pct}%:standby")
  "$bin" run messaging --topology sync --standbys 1 --net namespaces --rate 200 --warmup 5s \
    --duration "${secs}s" --seed "$round" --quiet "${fault[@]}" --out "$out" > /dev/null 2>&1
  python3 - "$out" "$pct" "$round" >> "$csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json")); l = s["latency_us"]["publish"]
print(f'{sys.argv[2]},{sys.argv[3]},{s["throughput"]["publish"]["ops_per_sec"]:.1f},{l["p50"]/1e3:.2f},{l["p99"]/1e3:.2f},{l["max"]/1e3:.1f},{s["check"]["lost"]}')
PY
  tail -1 "$csv"
}
for round in $(seq "$n"); do
  one 0 "$round"
  for pct in "${losses[@]}"; do one "$pct" "$round"; done
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
from collections import defaultdict
by = defaultdict(list)
for r in csv.DictReader(open(sys.argv[1])):
    by[r["loss_pct"]].append(r)
base = statistics.median(float(r["p99_ms"]) for r in by["0"])
for pct, rows in sorted(by.items(), key=lambda kv: int(kv[0])):
    p99 = statistics.median(float(r["p99_ms"]) for r in rows)
    p50 = statistics.median(float(r["p50_ms"]) for r in rows)
    print(f"loss {pct}%: publish p50 {p50:.2f} ms, p99 {p99:.2f} ms (median of {len(rows)}; "
          f"{p99 / base:.1f}x no loss), max {max(float(r['max_ms']) for r in rows):.0f} ms, lost {sum(int(r['lost']) for r in rows)}")
PY
echo "written: $csv"
