#!/usr/bin/env bash
# The "delay inside the hosts" figure of results/REFERENCE.md, reproducible (as root, with
# nftables): the sync topology (one synchronous standby) with the standby's line through habench's
# link emulator at DELAY one way, on loopback and with --net namespaces (where the link lives in
# the standby's host), alternated N rounds; prints publish (commit) p50/p99 per run and the
# medians per network.
#   scripts/netns-link-reference.sh [habench binary] [rounds] [seconds] [delay]
set -euo pipefail
bin=${1:-target/release/habench}
n=${2:-2}
secs=${3:-15}
delay=${4:-5ms}
cd "$(dirname "$0")/.."
. scripts/lib.sh
csv=results/netns-link-$stamp.csv
echo "net,round,publish_per_s,p50_ms,p99_ms,lost" > "$csv"
one() {
  local net=$1 round=$2 out="$work/r-$1-$2"
  "$bin" run messaging --topology sync --standbys 1 --net "$net" --link "s1=delay:$delay" --rate 200 \
    --warmup 2s --duration "${secs}s" --seed "$round" --quiet --out "$out" > /dev/null 2>&1
  python3 - "$out" "$net" "$round" >> "$csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json")); l = s["latency_us"]["publish"]
print(f'{sys.argv[2]},{sys.argv[3]},{s["throughput"]["publish"]["ops_per_sec"]:.1f},{l["p50"]/1e3:.2f},{l["p99"]/1e3:.2f},{s["check"]["lost"]}')
PY
  tail -1 "$csv"
}
for round in $(seq "$n"); do
  # Who goes first alternates from round to round.
  if [ $((round % 2)) = 1 ]; then one loopback "$round"; one namespaces "$round"
  else one namespaces "$round"; one loopback "$round"; fi
done
python3 - "$csv" "$delay" <<'PY'
import csv, statistics, sys
from collections import defaultdict
by = defaultdict(list)
for r in csv.DictReader(open(sys.argv[1])):
    by[r["net"]].append(r)
for net, rows in by.items():
    p50 = statistics.median(float(r["p50_ms"]) for r in rows)
    p99 = statistics.median(float(r["p99_ms"]) for r in rows)
    print(f"{net}, link delay {sys.argv[2]}: publish p50 {p50:.2f} ms, p99 {p99:.2f} ms (median of {len(rows)}), "
          f"lost {sum(int(r['lost']) for r in rows)}")
PY
echo "written: $csv"
