#!/usr/bin/env bash
# The parallel-groups figures of results/REFERENCE.md, reproducible: two single groups behind the
# load balancer with one group's database crashed 20 s into the measurement for 30 s, for good,
# or drained for 30 s (a rolling patch); next to a sync topology with one standby (the same two
# servers) whose primary crashes at 20 s. 200 publishes/s for 60 s, seeds 1-3.
#   scripts/parallel-reference.sh [habench binary]
set -euo pipefail
bin=${1:-target/release/habench}
root=results/parallel-ref-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$root"
run() { local name=$1; shift; echo "== $name: $*" >&2; "$bin" run quick "$@" --rate 200 --warmup 5s --duration 60s --quiet --out "$root/$name" > "$root/$name.out" 2> "$root/$name.err" || echo "  ($name exited non-zero)" >&2; }

for seed in 1 2 3; do
  run "parallel-crash30-seed$seed" --topology parallel --groups 2 --fault crash-group@20s:30s --seed $seed
  run "sync1-crash-seed$seed" --topology sync --standbys 1 --fault crash-primary@20s --seed $seed
  run "parallel-gone-seed$seed" --topology parallel --groups 2 --fault crash-group@20s --seed $seed
  run "parallel-drain30-seed$seed" --topology parallel --groups 2 --fault drain-group@20s:30s --seed $seed
done

python3 - "$root" <<'PY'
import json, os, sys
root = sys.argv[1]
print("| run | acked | failed+unknown publishes | lost | RTO ms | out of rotation ms | failed before out | stranded | delivered | delay p50/max s | never delivered | publishes/s before/during | p99 ms before/during |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name, "summary.json")
    if not os.path.isfile(p): continue
    s = json.load(open(p)); c = s["check"]; pub = s["ops"]["publish"]
    rto = s.get("failover", {}).get("trials", [{}])[0].get("rto_ms")
    m = ((s.get("parallel") or {}).get("maneuvers") or [None])[0]
    row = [name, c["acknowledged"], pub["fail"] + pub["unknown"], c["lost"], f"{rto:.0f}" if rto is not None else "-"]
    if m:
        d = m.get("extra_delay_ms") or {}
        f = lambda v, k=1: "-" if v is None else f"{v:.{k}f}"
        row += [f(m.get("out_after_ms"), 0), m["failed_before_out"], m["stranded"], m["stranded_delivered"],
                f"{f((d.get('p50') or 0) / 1e3)}/{f((d.get('max') or 0) / 1e3)}" if d else "-", m["stranded_never_delivered"],
                f"{m['throughput_before']:.1f}/{m['throughput_during']:.1f}",
                f"{f(m.get('publish_p99_before_ms'))}/{f(m.get('publish_p99_during_ms'))}"]
    else:
        row += ["-"] * 8
    print("| " + " | ".join(str(x) for x in row) + " |" + ("" if s.get("complete") else " (incomplete)"))
PY
