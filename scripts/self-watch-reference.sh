#!/usr/bin/env bash
# The REFERENCE figures of "habench watches itself" (release build, as root for the tmpfs):
#  1. a cluster file whose `resume` hangs (`sleep 120`), with the default timeout and with 3 s;
#  2. `kill -STOP` of habench for 2 s in the measured phase of an open-loop run at 200/s;
#  3. ten healthy `habench run quick` runs: stalls over 50 ms and the largest lateness;
#  4. `--out` on a 1 MiB tmpfs.
# Prints each run's key figures (python reads summary.json; no decision is taken here).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
cargo build --release -q
bin=target/release/habench
out=results/self-watch-$stamp
mkdir -p "$out"
figures() {
  python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
h = s.get("harness") or {}
f = (s.get("failover") or {})
print(json.dumps({
  "complete": s["complete"], "compromised": s["compromised"], "reason": s.get("compromised_reason"),
  "stalls": [(x["runtime"], round(x["duration_ms"]), round(x["at_s"], 1), x["measured"]) for x in h.get("stalls", [])],
  "largest_lateness_ms": round(h.get("largest_lateness_ms", 0), 2),
  "rto_ms": [t.get("rto_ms") for t in f.get("trials", [])],
  "failed_faults": f.get("failed_faults"),
  "publish_p99_us": s["latency_us"]["publish"]["p99"], "publish_max_us": s["latency_us"]["publish"]["max"],
  "started_late": (s.get("pacing") or {}).get("started_late"), "outputs": s.get("outputs"),
}))
PY
}

start_single "$bin"
for timeout in default 3s; do
  extra=""
  [ "$timeout" = default ] || extra=", timeout = \"$timeout\""
  printf '[[nodes]]\nname = "n1"\ndsn = "%s"\n[nodes.commands]\npause = "true"\nresume = { run = "sleep 120"%s }\n' \
    "$dsn" "$extra" > "$work/c.toml"
  t0=$(date +%s.%N)
  "$bin" run quick --cluster "$work/c.toml" --fault pause-primary@5s:2s --duration 20s --quiet --json \
    --out "$out/hanging-resume-$timeout" > /dev/null || echo "exit $?"
  echo "hanging resume ($timeout): took $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s;" \
    "sleep processes left (zombies not counted): $(ps -eo stat=,comm= | awk '$2=="sleep" && $1 !~ /Z/' | wc -l)"
  figures "$out/hanging-resume-$timeout"
done
stop_single

"$bin" run quick --rate 200 --duration 20s --quiet --json --out "$out/sigstop" > /dev/null &
pid=$!
until grep -q ',measure,' "$out/sigstop/timeline.csv" 2>/dev/null && [ "$(grep -c ',measure,' "$out/sigstop/timeline.csv")" -ge 5 ]; do sleep 0.1; done
kill -STOP $pid; sleep 2; kill -CONT $pid
wait $pid && status=0 || status=$?
echo "kill -STOP 2 s: exit $status"
figures "$out/sigstop"

for i in $(seq 1 10); do
  "$bin" run quick --seed "$i" --quiet --json --out "$out/healthy-$i" > /dev/null || echo "exit $?"
  echo -n "healthy $i: "; figures "$out/healthy-$i"
done

mkdir -p "$work/tiny"
mount -t tmpfs -o size=1m tmpfs "$work/tiny"
"$bin" run quick --quiet --json --out "$work/tiny/run" > /dev/null 2> "$work/tiny.err" && status=0 || status=$?
echo "1 MiB --out: exit $status; $(grep 'results folder incomplete' "$work/tiny.err" | head -1)"
ls -la "$work/tiny/run" "$work/tiny/run/charts" || true
umount -l "$work/tiny"
