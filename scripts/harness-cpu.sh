#!/usr/bin/env bash
# What habench's client costs at a fixed rate, against pgbench driving the identical INSERT at
# the same rate, same connections and threads, on the same server: client CPU (/usr/bin/time,
# the whole process), server CPU (the postmaster and every backend, /proc, including backends
# that exited), and the run's total. Tools alternate so that drift hits both alike.
#   scripts/harness-cpu.sh [rate] [seconds] [rounds] [habench binary]
# Prints one line per run and writes results/harness-cpu-<stamp>.csv.
set -euo pipefail
rate=${1:-5000}
secs=${2:-20}
rounds=${3:-3}
bin=${4:-target/release/habench}
clients=16
threads=2
cd "$(dirname "$0")/.."
. scripts/lib.sh
csv=results/harness-cpu-$stamp.csv

# CPU seconds of a server so far: postmaster, live children, and the children it reaped.
server_cpu() {
  python3 - "$1" <<'PY'
import os, sys
pm = sys.argv[1]
tck = os.sysconf("SC_CLK_TCK")
def fields(pid):
    s = open(f"/proc/{pid}/stat").read()
    return s[s.rfind(")") + 2:].split()
f = fields(pm)
ticks = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
for p in os.listdir("/proc"):
    if p.isdigit() and p != pm:
        try:
            g = fields(p)
        except OSError:
            continue
        if g[1] == pm:
            ticks += int(g[11]) + int(g[12])
print(ticks / tck)
PY
}
children() { pgrep -c -P "$1" || true; }

start_single "$bin"
# The table, once (habench installs the schema on every run; pgbench needs it there too).
"$bin" run --target-dsn "$dsn" --workload insert --clients 1 --duration 1s --warmup 0s --quiet --out "$work/init" > /dev/null
base=$(children "$pm")

echo "tool,round,rate,tps,mean_latency_ms,client_cpu_s,server_cpu_s,total_cpu_s,wall_s" > "$csv"
measure() { # tool round command...
  local tool=$1 round=$2; shift 2
  local s0 t0 out
  s0=$(server_cpu "$pm"); t0=$(date +%s.%N)
  out=$(/usr/bin/time -f 'CPU %U %S' "$@" 2>&1)
  local wall; wall=$(python3 -c "import time; print(round(time.time()-$t0, 2))")
  # The run's backends exit after their clients: wait for them (their CPU then counts in the postmaster's).
  for _ in $(seq 100); do [ "$(children "$pm")" -le "$base" ] && break; sleep 0.05; done
  local s1; s1=$(server_cpu "$pm")
  echo "$out" > "$work/last.out"
  python3 - "$tool" "$round" "$rate" "$s0" "$s1" "$wall" "$work" <<'PY' | tee -a "$csv"
import json, re, sys
tool, rnd, rate, s0, s1, wall, work = sys.argv[1:]
out = open(f"{work}/last.out").read()
u, s = re.findall(r"CPU ([0-9.]+) ([0-9.]+)", out)[-1]
client = float(u) + float(s)
server = float(s1) - float(s0)
if tool == "habench":
    sm = json.load(open(f"{work}/h/summary.json"))
    tps = sm["throughput"]["insert"]["ops_per_sec"]
    lat = sm["latency_us"]["insert"]["mean"] / 1000
else:
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    lat = float(re.search(r"latency average = ([0-9.]+) ms", out).group(1))
print(f"{tool},{rnd},{rate},{tps:.0f},{lat:.3f},{client:.2f},{server:.2f},{client + server:.2f},{wall}")
PY
}
for round in $(seq "$rounds"); do
  rm -rf "$work/h"
  measure habench "$round" "$bin" run --target-dsn "$dsn" --workload insert --payload-bytes 100 --rate "$rate" \
    --publishers $clients --threads $threads --duration "${secs}s" --warmup 0s --quiet --out "$work/h"
  measure pgbench "$round" "${as_pg[@]}" "$bindir/pgbench" -n -M prepared -h 127.0.0.1 -p "$port" -U postgres \
    -c $clients -j $threads -R "$rate" -T "$secs" -f "$work/insert.sql" postgres
done
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = lambda tool, k: statistics.median(float(r[k]) for r in rows if r["tool"] == tool)
for k in ("client_cpu_s", "server_cpu_s", "total_cpu_s", "mean_latency_ms", "tps"):
    h, p = med("habench", k), med("pgbench", k)
    print(f"median {k}: habench {h:.2f}, pgbench {p:.2f}, ratio {h / p:.3f}")
PY
echo "written: $csv"
