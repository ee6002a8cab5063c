#!/usr/bin/env bash
# habench's MessageBox statements against pgbench running the very same SQL (printed by the
# `pgbench_scripts` example from the same scenario) on the same server, client CPU per operation
# and throughput. Tools alternate from round to round (habench first in odd rounds).
#   scripts/vs-pgbench-messagebox.sh [seconds per run] [rounds] [rate] [habench binary]
# 1. publish only, closed loop, 4 clients on 2 threads, synchronous_commit=off: throughput and
#    client CPU per publish (habench: its own CPU over the measured phase, summary cpu.harness;
#    pgbench: its whole process, /usr/bin/time).
# 2. the full load (publish, dequeue, complete) at a fixed open-loop rate: habench's CPU per
#    delivered message against the sum of pgbench's CPU per publish and per dequeue+complete
#    (chained with \gset, batch 1 as the scenario's), each at the same rate.
# 3. one run of each tool with `perf stat` attached inside its measured phase: system calls per
#    publish (the us_per_op column holds that count in these rows).
# PARTS="1 3" runs only those parts (default: all three).
# Writes results/vs-pgbench-messagebox-<stamp>.csv and prints the medians of the per-round ratios.
set -euo pipefail
secs=${1:-15}
rounds=${2:-8}
rate=${3:-2000}
bin=${4:-target/release/habench}
parts=" ${PARTS:-1 2 3} "
want() { [[ "$parts" == *" $1 "* ]]; }
cd "$(dirname "$0")/.."
. scripts/lib.sh
csv=results/vs-pgbench-messagebox-$stamp.csv
cargo build -q --release --example pgbench_scripts
scripts_bin=target/release/examples/pgbench_scripts

# The publish-only scenario: one stopped host (`instances = 0`: nothing dequeues, as with
# pgbench's publish script; an instance that polls, however rarely, drains the queue back to
# back once its first poll finds a message), one message type routed to it, 2 KiB bodies; the
# full-load one: two instances polling every 100 ms, one message per dequeue (as pgbench's chain).
scenario() { # name instances polling
  cat > "$work/$1.toml" <<EOF
name = "$1"
[messagebox]
cleanup_interval = "1h"
body = { distribution = "fixed", bytes = 2048 }
[[messagebox.hosts]]
name = "send"
instances = $2
batch_size = 1
polling_interval = "$3"
[[messagebox.message_types]]
name = "order"
subscribers = ["send"]
EOF
}
scenario publish 0 1h
scenario full 2 100ms
"$scripts_bin" "$work/publish.toml" send publish > "$work/publish.sql"
"$scripts_bin" "$work/full.toml" send chain > "$work/chain.sql"
chmod 644 "$work"/*.sql
body_hex=$(python3 -c 'print("ab" * 2048)')
pg_vars=(-D type=order -D 'ctx={"type":"order","bytes":2048}' -D "parts={\"\\\\x$body_hex\"}"
  -D intended=1796000000000000 -D instance=send-1)
pgbench_cmd() { echo "${as_pg[@]}" "$bindir/pgbench" -n -M prepared -h 127.0.0.1 -p "$port" -U postgres; }
psql_c() { "${as_pg[@]}" "$bindir/psql" -qAt -h 127.0.0.1 -p "$port" -U postgres -c "$1" postgres; }

echo "part,tool,round,ops_per_sec,client_cpu_s,ops,us_per_op" > "$csv"
row() { echo "$1" | tee -a "$csv"; }

# habench: a run; prints "ops/s cpu_s ops us_per_op" of the measured phase.
habench_run() { # scenario out-dir key(publish|message) flags...
  local scen=$1 out=$2 key=$3; shift 3
  rm -rf "$out"
  "$bin" run "$work/$scen.toml" --target-dsn "$dsn" --duration "${secs}s" --warmup 3s --quiet --out "$out" "$@" > /dev/null
  python3 - "$out/summary.json" "$key" "$secs" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); key = sys.argv[2]; secs = float(sys.argv[3])
h = s["cpu"]["harness"]
op = "publish" if key == "publish" else "complete"
rate = s["throughput"][op]["ops_per_sec"]
per = h["us_per_publish"] if key == "publish" else h["us_per_message"]
print(f"{rate:.0f} {h['cpu_s']:.2f} {rate * secs:.0f} {per:.1f}")
PY
}
# pgbench: a run under /usr/bin/time; prints "tps cpu_s transactions us_per_transaction".
pgbench_run() { # script flags...
  local script=$1; shift
  local out
  out=$(/usr/bin/time -f 'CPU %U %S' $(pgbench_cmd) "${pg_vars[@]}" "$@" -f "$work/$script.sql" postgres 2>&1) || { echo "$out" >&2; return 1; }
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
u, s = re.findall(r"CPU ([0-9.]+) ([0-9.]+)", out)[-1]
n = int(re.search(r"number of transactions actually processed: ([0-9]+)", out).group(1))
tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
cpu = float(u) + float(s)
print(f"{tps:.0f} {cpu:.2f} {n} {cpu / n * 1e6:.1f}")
PY
}
# pgbench's start is habench's: empty tables and a checkpoint just taken (every habench run
# starts from one).
empty_tables() { psql_c "TRUNCATE mbox.spool, mbox.parts, mbox.q_send, mbox.tracking"; psql_c "CHECKPOINT"; }

# 1. Publish only.
start_single "$bin" --pg-set synchronous_commit=off
want 1 && for round in $(seq "$rounds"); do
  h() { read -r a b c d < <(habench_run publish "$work/h" publish --clients 4 --threads 2 --seed "$round"); row "publish,habench,$round,$a,$b,$c,$d"; }
  p() { empty_tables; read -r a b c d < <(pgbench_run publish -c 4 -j 2 -T "$secs"); row "publish,pgbench,$round,$a,$b,$c,$d"; }
  if [ $((round % 2)) = 1 ]; then h; p; else p; h; fi
done

# 2. The full load at a fixed rate. pgbench's chain needs a message in the queue at every
# dequeue: the queue is filled first with more than the run takes.
want 2 && for round in $(seq "$rounds"); do
  h() { read -r a b c d < <(habench_run full "$work/h" message --rate "$rate" --publishers 4 --threads 2 --seed "$round"); row "full,habench,$round,$a,$b,$c,$d"; }
  p() {
    empty_tables
    read -r a b c d < <(pgbench_run publish -c 4 -j 2 -R "$rate" -T "$secs"); row "full,pgbench-publish,$round,$a,$b,$c,$d"
    $(pgbench_cmd) "${pg_vars[@]}" -c 2 -j 2 -t $((rate * secs)) -f "$work/publish.sql" postgres > /dev/null 2>&1
    read -r a b c d < <(pgbench_run chain -c 2 -j 2 -R "$rate" -T "$secs"); row "full,pgbench-chain,$round,$a,$b,$c,$d"
  }
  if [ $((round % 2)) = 1 ]; then h; p; else p; h; fi
done

# 3. System calls per publish over a window inside the measured phase, one run of each
# (perf's counting is not free: kept out of 1.).
if want 3 && command -v perf > /dev/null && [ "$secs" -ge 5 ]; then
  window=$((secs - 3))
  syscalls() { # tool pid ops_per_sec-file-reader
    perf stat -x, -e raw_syscalls:sys_enter -p "$2" -o "$work/perf.$1" -- sleep "$window" 2> /dev/null
  }
  rm -rf "$work/h"
  "$bin" run "$work/publish.toml" --target-dsn "$dsn" --clients 4 --threads 2 --duration "${secs}s" --warmup 3s \
    --quiet --out "$work/h" > /dev/null &
  hpid=$!
  sleep 4
  syscalls habench "$hpid"
  wait "$hpid"
  rate=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["throughput"]["publish"]["ops_per_sec"])' "$work/h/summary.json")
  row "syscalls,habench,1,$rate,,,$(awk -F, -v r="$rate" -v w="$window" '/raw_syscalls/ {printf "%.2f", $1 / (r * w)}' "$work/perf.habench")"
  empty_tables
  $(pgbench_cmd) "${pg_vars[@]}" -c 4 -j 2 -T "$secs" -f "$work/publish.sql" postgres > "$work/pgbench.out" 2>&1 &
  ppid=$!
  sleep 1
  syscalls pgbench "$(pgrep -n -x pgbench)"
  wait "$ppid"
  rate=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out")
  row "syscalls,pgbench,1,$rate,,,$(awk -F, -v r="$rate" -v w="$window" '/raw_syscalls/ {printf "%.2f", $1 / (r * w)}' "$work/perf.pgbench")"
fi
stop_single

python3 - "$csv" <<'PY'
import csv, statistics, sys
from collections import defaultdict
rows = list(csv.DictReader(open(sys.argv[1])))
by = defaultdict(dict)
for r in rows:
    by[(r["part"], r["round"])][r["tool"]] = r
def med(xs):
    return f"{statistics.median(xs):.3f} [{min(xs):.2f}-{max(xs):.2f}]" if xs else "n/a"
pub = [v for (part, _), v in by.items() if part == "publish" and len(v) == 2]
print(f"publish only, 4 clients: throughput ratio habench/pgbench {med([float(v['habench']['ops_per_sec']) / float(v['pgbench']['ops_per_sec']) for v in pub])}, "
      f"CPU per publish ratio {med([float(v['habench']['us_per_op']) / float(v['pgbench']['us_per_op']) for v in pub])} over {len(pub)} rounds")
full = [v for (part, _), v in by.items() if part == "full" and len(v) == 3]
ratio = [float(v["habench"]["us_per_op"]) / (float(v["pgbench-publish"]["us_per_op"]) + float(v["pgbench-chain"]["us_per_op"])) for v in full]
print(f"full load: CPU per message ratio habench/(pgbench publish + dequeue+complete) {med(ratio)} over {len(full)} rounds")
for tool in ("habench", "pgbench"):
    s = [r for r in rows if r["part"] == "syscalls" and r["tool"] == tool]
    if s:
        print(f"system calls per publish, {tool}: {s[0]['us_per_op']}")
PY
echo "written: $csv"
