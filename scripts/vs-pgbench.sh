#!/usr/bin/env bash
# habench's calibration workload against pgbench running the identical statement on the same
# server: closed loop, 4 and 16 clients, synchronous_commit on and off, alternating tools
# (habench first in odd rounds, pgbench first in even ones) so that drift hits both alike; each
# run starts on an empty table after a checkpoint. habench uses its default
# driver for the calibration insert (`wire`); set HABENCH_DRIVER=tokio-postgres to compare that.
#   scripts/vs-pgbench.sh [seconds per run] [rounds] [habench binary]
# LEVELS (default "on off") and CLIENTS (default "4 16") narrow a series to some settings.
# Prints one line per run and writes results/vs-pgbench-<stamp>.csv.
set -euo pipefail
secs=${1:-15}
rounds=${2:-2}
bin=${3:-target/release/habench}
driver=${HABENCH_DRIVER:-wire}
levels=${LEVELS:-on off}
client_counts=${CLIENTS:-4 16}
cd "$(dirname "$0")/.."
. scripts/lib.sh
csv=results/vs-pgbench-$stamp.csv

echo "tool,synchronous_commit,clients,round,tps,mean_latency_ms" > "$csv"
for level in $levels; do
  start_single "$bin" --pg-set synchronous_commit=$level
  run_habench() {
    local out="$work/h-$level-$clients-$round"
    "$bin" run --target-dsn "$dsn" --workload insert --driver "$driver" --payload-bytes 100 --clients $clients \
      --duration ${secs}s --warmup 3s --seed $round --quiet --out "$out" > /dev/null
    read -r tps lat < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]+"/summary.json")); print(s["throughput"]["insert"]["ops_per_sec"], s["latency_us"]["insert"]["mean"]/1000)' "$out")
    echo "habench,$level,$clients,$round,$tps,$lat" | tee -a "$csv"
  }
  run_pgbench() {
    # The same starting point as habench's run, which recreates the table and then checkpoints
    # (every habench run starts from a checkpoint): an empty table, a checkpoint just taken.
    "${as_pg[@]}" "$bindir/psql" -qAt -h 127.0.0.1 -p "$port" -U postgres -c "TRUNCATE mbox.calib" -c "CHECKPOINT" postgres
    pg=$("${as_pg[@]}" "$bindir/pgbench" -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -c $clients -j 2 -T "$secs" -f "$work/insert.sql" postgres 2>&1)
    tps=$(echo "$pg" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    lat=$(echo "$pg" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
    echo "pgbench,$level,$clients,$round,$tps,$lat" | tee -a "$csv"
  }
  for clients in $client_counts; do
    for round in $(seq "$rounds"); do
      # Who goes first alternates from round to round.
      if [ $((round % 2)) = 1 ]; then run_habench; run_pgbench; else run_pgbench; run_habench; fi
    done
  done
  stop_single
done
# Per configuration: the median of the per-round ratios (habench over pgbench of the same round).
python3 - "$csv" <<'PY'
import csv, statistics, sys
from collections import defaultdict
runs = defaultdict(dict)
for r in csv.DictReader(open(sys.argv[1])):
    runs[(r["synchronous_commit"], r["clients"])].setdefault(r["round"], {})[r["tool"]] = r
for (level, clients), rounds in runs.items():
    pairs = [v for v in rounds.values() if len(v) == 2]
    tps = [float(v["habench"]["tps"]) / float(v["pgbench"]["tps"]) for v in pairs]
    lat = [float(v["habench"]["mean_latency_ms"]) / float(v["pgbench"]["mean_latency_ms"]) for v in pairs]
    print(f"synchronous_commit={level} clients={clients}: TPS ratio median {statistics.median(tps):.3f} "
          f"[{min(tps):.2f}-{max(tps):.2f}], mean latency ratio median {statistics.median(lat):.3f} "
          f"[{min(lat):.2f}-{max(lat):.2f}] over {len(pairs)} rounds")
PY
echo "written: $csv"
