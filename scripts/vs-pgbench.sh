#!/usr/bin/env bash
# habench's calibration workload against pgbench running the identical statement on the same
# server: closed loop, 4 and 16 clients, synchronous_commit on and off, alternating tools
# (habench, pgbench, habench, pgbench) so that drift hits both alike.
#   scripts/vs-pgbench.sh [seconds per run] [habench binary]
# Prints one line per run and writes results/vs-pgbench-<stamp>.csv.
set -euo pipefail
secs=${1:-15}
bin=${2:-target/release/habench}
bindir=${HABENCH_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
csv=results/vs-pgbench-$stamp.csv
mkdir -p results
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill -TERM ${topo_pid:-0} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

printf '\\set n 100\nINSERT INTO mbox.calib (payload) VALUES (repeat('"'"'x'"'"', :n));\n' > "$work/insert.sql"
chmod 644 "$work/insert.sql"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

echo "tool,synchronous_commit,clients,round,tps,mean_latency_ms" > "$csv"
for level in on off; do
  rm -f "$work/topo.json"
  "$bin" topology up single --pg-set synchronous_commit=$level > "$work/topo.json" 2>"$work/topo.err" &
  topo_pid=$!
  until [ -s "$work/topo.json" ]; do kill -0 $topo_pid || { cat "$work/topo.err"; exit 1; }; sleep 0.1; done
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["port"])' "$work/topo.json")
  dsn="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  for clients in 4 16; do
    for round in 1 2; do
      out="$work/h-$level-$clients-$round"
      "$bin" run --target-dsn "$dsn" --workload insert --payload-bytes 100 --clients $clients \
        --duration ${secs}s --warmup 3s --seed $round --quiet --out "$out" > /dev/null
      read -r tps lat < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]+"/summary.json")); print(s["throughput"]["insert"]["ops_per_sec"], s["latency_us"]["insert"]["mean"]/1000)' "$out")
      echo "habench,$level,$clients,$round,$tps,$lat" | tee -a "$csv"
      pg=$(as_pg "$bindir/pgbench" -n -M prepared -h 127.0.0.1 -p "$port" -U postgres -c $clients -j 2 -T "$secs" -f "$work/insert.sql" postgres 2>&1)
      tps=$(echo "$pg" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
      lat=$(echo "$pg" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
      echo "pgbench,$level,$clients,$round,$tps,$lat" | tee -a "$csv"
    done
  done
  kill -TERM $topo_pid; wait $topo_pid || true
done
echo "written: $csv"
